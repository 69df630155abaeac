"""Memory-mapped data (the image cache) are streamed to model.fit batch by batch."""

from __future__ import annotations

import keras
import numpy as np

from neuralab.training.streaming import array_batches, is_on_disk
from neuralab.training.trainer import train


def _memmap(tmp_path, array, name):
    path = tmp_path / f"{name}.npy"
    np.save(path, array)
    return np.load(path, mmap_mode="r")


def test_batches_cover_every_row_once_per_epoch_and_reshuffle(tmp_path):
    x = _memmap(tmp_path, np.arange(100, dtype=np.float32).reshape(50, 2), "x")
    y = np.arange(50)
    assert is_on_disk(x) and not is_on_disk(np.array(x))
    batches = array_batches(x, y, batch_size=8, shuffle=True, seed=3)
    assert len(batches) == 7
    epoch1 = np.concatenate([batches[i][1] for i in range(len(batches))])
    assert sorted(epoch1) == list(range(50))
    batches.on_epoch_end()
    epoch2 = np.concatenate([batches[i][1] for i in range(len(batches))])
    assert sorted(epoch2) == list(range(50)) and list(epoch1) != list(epoch2)
    xb, yb = batches[0]
    np.testing.assert_array_equal(xb[:, 0], 2 * yb)  # rows stay paired


def test_training_on_memory_mapped_images_uses_the_streaming_path(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 64)
    images = (rng.random((64, 8, 8, 3)) * 60 + labels[:, None, None, None] * 150).astype(np.uint8)
    x = _memmap(tmp_path, images, "images")
    model = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Flatten(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        loss="binary_crossentropy", optimizer=keras.optimizers.Adam(0.05), metrics=["accuracy"]
    )
    import neuralab.training.streaming as streaming

    calls = []
    real = streaming.array_batches
    monkeypatch.setattr(streaming, "STREAM_BYTES", 1024)  # stream even this small array
    monkeypatch.setattr(
        "neuralab.training.trainer.array_batches", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    assert streaming.should_stream(x) and not streaming.should_stream(x, limit=1 << 30)
    result = train(
        model, x, labels, epochs=8, batch_size=16, validation_data=(x, labels), trainer="fit"
    )
    assert len(calls) == 2  # training and validation batches
    assert result.trainer == "fit" and result.epochs_run == 8
    assert result.history["val_accuracy"].iloc[-1] > 0.9
