"""What resumable checkpoints cost: ``python checkpointing.py WORKLOAD MODE``.

One process per (workload, mode); the Keras backend comes from ``KERAS_BACKEND``. MODE is
``off`` (no checkpoint), ``default`` (at most every 2 s, as runs do) or ``every`` (after every
epoch, or every compiled chunk of epochs). Prints a JSON line: training seconds (compiling
included, imports not), checkpoints written, and the checkpoint file's size.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# name: (hidden layers, epochs, batch size, trainer)
WORKLOADS = {
    "tiny_fused": ([16], 100, 500, "fused"),
    "large_fused": ([512, 512, 512, 512], 30, 500, "fused"),
    "medium_fit": ([64, 64, 64], 20, 500, "fit"),
}


def main(workload: str, mode: str) -> None:
    import keras

    from neuralab.training import checkpoint as checkpoint_module
    from neuralab.training.checkpoint import CheckpointPolicy
    from neuralab.training.trainer import train

    hidden, epochs, batch_size, trainer = WORKLOADS[workload]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(11_000, 28)).astype("float32")
    y = ((x @ rng.normal(size=28) + rng.normal(scale=2.0, size=11_000)) > 0).astype("int64")
    keras.utils.set_random_seed(0)
    layers = [keras.Input((28,)), *[keras.layers.Dense(u, activation="elu") for u in hidden]]
    model = keras.Sequential([*layers, keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    writes = [0]
    real_save = checkpoint_module.save_checkpoint

    def counting_save(path, state):  # type: ignore[no-untyped-def]
        writes[0] += 1
        return real_save(path, state)

    checkpoint_module.save_checkpoint = counting_save
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "checkpoint.npz"
        policy = None
        if mode != "off":
            policy = CheckpointPolicy(path, every_seconds=0.0 if mode == "every" else 2.0)
        start = time.perf_counter()
        train(
            model,
            x[1000:],
            y[1000:],
            epochs=epochs,
            batch_size=batch_size,
            validation_data=(x[:1000], y[:1000]),
            trainer=trainer,
            checkpoint=policy,
        )
        seconds = time.perf_counter() - start
        size = path.stat().st_size if path.exists() else 0
    print(json.dumps({"seconds": seconds, "checkpoints": writes[0], "bytes": size}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
