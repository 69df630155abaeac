"""One benchmark workload in this process: ``python workloads.py NAME TRAINER``.

The Keras backend comes from ``KERAS_BACKEND`` (one backend per process), so ``run.py``
starts one process per (workload, backend, trainer) and reads the JSON line printed here.
Times exclude imports; they include compilation (it is part of what a user waits for).
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


def _higgs_like(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 28)).astype("float32")
    w = rng.normal(size=28)
    y = ((x @ w + rng.normal(scale=2.0, size=n)) > 0).astype("int64")
    return x, y


class EpochClock:
    """Epoch-end times: the steady cost of an epoch once everything is compiled.

    ``ms_per_epoch`` is (last epoch end - first epoch end) / (epochs - 1): the first epoch
    (with the compiling, for every trainer) is left out. The fused trainer reports epochs
    in bursts after each multi-epoch program, so only the span over many epochs means much.
    """

    def __init__(self) -> None:
        self.ends: list[float] = []

    def __call__(self, epoch: int, logs: dict) -> None:
        self.ends.append(time.perf_counter())

    def ms_per_epoch(self) -> float:
        return 1000 * (self.ends[-1] - self.ends[0]) / (len(self.ends) - 1)


SIZES = {"tiny": [16], "small": [16, 16], "medium": [64, 64, 64], "large": [512, 512, 512, 512]}


def overfitting_model(size: str) -> tuple[float, dict]:
    """The overfitting chapter's size ladder: 10k x 28, batch 500, 100 epochs, validation 1k."""
    import keras

    from neuralab.training.trainer import train

    x, y = _higgs_like(11_000)
    keras.utils.set_random_seed(0)
    layers = [keras.Input((28,))]
    layers += [keras.layers.Dense(u, activation="elu") for u in SIZES[size]]
    model = keras.Sequential([*layers, keras.layers.Dense(1)])
    schedule = keras.optimizers.schedules.InverseTimeDecay(
        0.001, decay_steps=20 * 1000, decay_rate=1
    )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[
            keras.metrics.BinaryCrossentropy(from_logits=True, name="binary_crossentropy"),
            "accuracy",
        ],
    )
    clock = EpochClock()
    start = time.perf_counter()
    result = train(
        model,
        x[1000:],
        y[1000:],
        epochs=100,
        batch_size=500,
        validation_data=(x[:1000], y[:1000]),
        trainer=TRAINER,
        on_epoch_end=clock,
    )
    return time.perf_counter() - start, {
        "val_accuracy": float(result.history["val_accuracy"].iloc[-1]),
        "ms_per_epoch": clock.ms_per_epoch(),
    }


def circles_lab() -> tuple[float, dict]:
    from neuralab.labs import run_lab

    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        lab = run_lab("circles", output=out, trainer=TRAINER)
        seconds = time.perf_counter() - start
    return seconds, {"model_10_test_accuracy": lab["model_10"].metric("test")}


LAB_EPOCH_CAP = 100


def higgs_lab_capped() -> tuple[float, dict]:
    """The whole higgs-overfitting lab (8 models, TensorBoard, reports), epochs capped."""
    from neuralab.labs.registry import load_lab_spec
    from neuralab.runs.file_runner import run_experiment_file

    spec = load_lab_spec("higgs-overfitting")
    capped = spec.model_copy(
        update={
            "experiments": [
                e.model_copy(update={"fit": e.fit.model_copy(update={"epochs": LAB_EPOCH_CAP})})
                for e in spec.experiments
            ]
        }
    )
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        lab = run_experiment_file(capped, name="higgs-overfitting", output=out, trainer=TRAINER)
        seconds = time.perf_counter() - start
    return seconds, {"large_val_accuracy": lab["large"].metric("validation")}


def fashion_mlp() -> tuple[float, dict]:
    """Fashion-MNIST-sized MLP 300-100-10: 2 epochs of 59k x 784 (random pixels)."""
    import keras

    from neuralab.training.trainer import train

    rng = np.random.default_rng(0)
    x = rng.random((60_000, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, 60_000)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(300, activation="relu"),
            keras.layers.Dense(100, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    clock = EpochClock()
    start = time.perf_counter()
    train(
        model,
        x[1000:],
        y[1000:],
        epochs=2,
        validation_data=(x[:1000], y[:1000]),
        trainer=TRAINER,
        on_epoch_end=clock,
    )
    return time.perf_counter() - start, {"ms_per_epoch": clock.ms_per_epoch()}


def tinyvgg() -> tuple[float, dict]:
    """TinyVGG (CNN Explainer) on 224x224x3, batch 32, 10 steps."""
    from neuralab.training.trainer import train

    rng = np.random.default_rng(0)
    x = rng.random((320, 224, 224, 3), dtype=np.float32)
    y = rng.integers(0, 2, 320)
    model = _tinyvgg_model(rescale=False)
    start = time.perf_counter()
    train(model, x, y, epochs=1, batch_size=32, trainer=TRAINER)
    return time.perf_counter() - start, {}


IMAGE_FOLDER = Path(os.environ.get("NEURALAB_BENCH_IMAGES", "/tmp/neuralab-bench-images"))


def _tinyvgg_model(rescale: bool):  # type: ignore[no-untyped-def]
    import keras

    keras.utils.set_random_seed(0)
    conv = lambda: keras.layers.Conv2D(10, 3, activation="relu")  # noqa: E731
    front = [keras.layers.Rescaling(1 / 255)] if rescale else []
    model = keras.Sequential(
        [
            keras.Input((224, 224, 3)),
            *front,
            conv(),
            conv(),
            keras.layers.MaxPool2D(),
            conv(),
            conv(),
            keras.layers.MaxPool2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def tinyvgg_folder() -> tuple[float, dict]:
    """TinyVGG on 320 real 224x224 JPEG-decoded images, 1 epoch (10 steps of 32).

    Plain: ``model.fit`` on the images as an in-memory float32 array (already / 255).
    neuralab: the cached uint8 memory map streamed batch by batch, Rescaling in the model.
    """
    from neuralab.data.images import load_image_folder
    from neuralab.training.trainer import train

    splits = load_image_folder(
        IMAGE_FOLDER / "train", target_size=(224, 224), cache_dir=IMAGE_FOLDER.parent / "cache"
    )
    x, y = splits.train.x[:320], splits.train.y[:320]
    if TRAINER == "fit":
        model = _tinyvgg_model(rescale=False)
        data = np.asarray(x, dtype=np.float32) / 255.0
        start = time.perf_counter()
        model.fit(data, y, epochs=1, batch_size=32, verbose=0, shuffle=True)
    else:
        model = _tinyvgg_model(rescale=True)
        start = time.perf_counter()
        train(model, x, y, epochs=1, batch_size=32, shuffle=True, trainer="auto")
    return time.perf_counter() - start, {"on_disk": bool(isinstance(x, np.memmap))}


WORKLOADS = {
    **{f"{size}_mlp": (lambda size=size: overfitting_model(size)) for size in SIZES},
    "tinyvgg_folder": tinyvgg_folder,
    "circles_lab": circles_lab,
    "higgs_lab_capped": higgs_lab_capped,
    "fashion_mlp": fashion_mlp,
    "tinyvgg": tinyvgg,
}

if __name__ == "__main__":
    name, TRAINER = sys.argv[1], sys.argv[2]
    if TRAINER != "fit" and os.environ.get("NEURALAB_BENCH_XLA_CACHE"):
        # neuralab as its CLI runs: compiled programs kept on disk across runs.
        from neuralab.backend import enable_compilation_cache

        enable_compilation_cache(os.environ["NEURALAB_BENCH_XLA_CACHE"])
    seconds, extra = WORKLOADS[name]()
    print(json.dumps({"seconds": seconds, **extra}))
