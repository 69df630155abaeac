from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np

from neuralab.training.trainer import align_labels

SRC = Path(__file__).resolve().parents[2] / "src"


def test_align_labels_only_for_single_unit_outputs():
    one = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    three = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3)])
    y = np.array([0, 1, 1])
    assert align_labels(one, y).shape == (3, 1)
    assert align_labels(three, y).shape == (3,)
    assert align_labels(one, y.reshape(-1, 1)).shape == (3, 1)


def test_1d_labels_with_a_logits_metric_train_on_tensorflow():
    # TensorFlow's backend rejects target (n,) vs output (n, 1) in BinaryCrossentropy(from_logits)
    # metrics; JAX does not. neuralab's trainer must accept the same labels on both.
    code = textwrap.dedent(
        """
        import numpy as np, keras
        from neuralab.training.trainer import train
        x = np.random.default_rng(0).normal(size=(200, 4)).astype("float32")
        y = (x[:, 0] > 0).astype("int64")
        m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        m.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True), optimizer="adam",
                  metrics=[keras.metrics.BinaryCrossentropy(from_logits=True, name="bce"), "accuracy"])
        r = train(m, x, y, epochs=2, validation_data=(x, y))
        print(r.backend, r.trainer, sorted(r.history.columns))
        """
    )
    env = {
        **os.environ,
        "KERAS_BACKEND": "tensorflow",
        "PYTHONPATH": str(SRC),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (
        "tensorflow fit ['accuracy', 'bce', 'learning_rate', 'loss', 'val_accuracy', 'val_bce', 'val_loss']"
        in proc.stdout
    )


def test_the_checkpoint_at_the_end_of_training_is_written_when_due(tmp_path):
    from neuralab.training.checkpoint import CheckpointPolicy, load_checkpoint
    from neuralab.training.trainer import train

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 2)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")

    def fit(policy: CheckpointPolicy) -> None:
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy")
        train(model, x, y, epochs=3, batch_size=16, checkpoint=policy)

    # None due yet (the first after an hour): nothing is written; a kill before the run is
    # complete retrains these few epochs, instead of every run paying for a write at its end.
    fit(CheckpointPolicy(tmp_path / "later.ckpt", every_seconds=3600))
    assert not (tmp_path / "later.ckpt").exists()
    # Due after every epoch: the end is saved, marked finished.
    fit(CheckpointPolicy(tmp_path / "every.ckpt", every_seconds=0))
    state = load_checkpoint(tmp_path / "every.ckpt")
    assert state is not None and state.finished and state.epoch == 3
    # Stopped by Ctrl-C: saved whether due or not, and not finished (the run resumes).
    fit(CheckpointPolicy(tmp_path / "stop.ckpt", every_seconds=3600, interrupted=lambda: True))
    state = load_checkpoint(tmp_path / "stop.ckpt")
    assert state is not None and not state.finished and state.epoch == 3
