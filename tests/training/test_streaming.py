"""Memory-mapped data (the image cache) are streamed to model.fit batch by batch."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from neuralab.training.streaming import epoch_batches, is_on_disk
from neuralab.training.trainer import train


def _memmap(tmp_path, array, name):
    path = tmp_path / f"{name}.npy"
    np.save(path, array)
    return np.load(path, mmap_mode="r")


def test_epoch_batches_cover_every_row_once_per_epoch_and_reshuffle(tmp_path):
    x = _memmap(tmp_path, np.arange(100, dtype=np.float32).reshape(50, 2), "x")
    y = np.arange(50)
    assert is_on_disk(x) and not is_on_disk(np.array(x))
    batches = epoch_batches(x, y, batch_size=8, shuffle=True, seed=3, epochs=2, sort_rows=True)
    assert len(batches) == 14  # 7 batches (the last one partial) per epoch
    epoch1 = np.concatenate([batches[i][1] for i in range(7)])
    epoch2 = np.concatenate([batches[i][1] for i in range(7, 14)])
    assert sorted(epoch1) == list(range(50)) and sorted(epoch2) == list(range(50))
    assert list(epoch1) != list(epoch2)
    xb, yb = batches[0]
    np.testing.assert_array_equal(xb[:, 0], 2 * yb)  # rows stay paired
    assert list(yb) == sorted(yb)  # rows of a batch read in file order


def test_an_epochs_batches_do_not_depend_on_the_epochs_before():
    # A run resumed at epoch 3 must see the batches an uninterrupted run sees there.
    x, y = np.arange(40.0).reshape(20, 2), np.arange(20)
    whole = epoch_batches(x, y, batch_size=6, shuffle=True, seed=9, epochs=5)
    resumed = epoch_batches(x, y, batch_size=6, shuffle=True, seed=9, initial_epoch=3, epochs=5)
    assert len(resumed) == 2 * 4
    for i in range(len(resumed)):
        np.testing.assert_array_equal(resumed[i][1], whole[3 * 4 + i][1])
    # Read out of order (Keras may peek or prefetch): the same batches.
    later, earlier = whole[19][1], whole[2][1]
    fresh = epoch_batches(x, y, batch_size=6, shuffle=True, seed=9, epochs=5)
    np.testing.assert_array_equal(later, fresh[19][1])
    np.testing.assert_array_equal(earlier, fresh[2][1])
    unshuffled = epoch_batches(x, y, batch_size=6, epochs=2)
    assert list(unshuffled[4][1]) == list(range(6))


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
    real = streaming.epoch_batches
    monkeypatch.setattr(streaming, "STREAM_BYTES", 1024)  # stream even this small array
    monkeypatch.setattr(
        "neuralab.training.trainer.epoch_batches",
        lambda *a, **k: calls.append(k["sort_rows"]) or real(*a, **k),
    )
    assert streaming.should_stream(x) and not streaming.should_stream(x, limit=1 << 30)
    result = train(
        model, x, labels, epochs=8, batch_size=16, validation_data=(x, labels), trainer="fit"
    )
    assert calls == [True]  # training batches read from the memory map in file order
    assert result.trainer == "fit" and result.epochs_run == 8
    assert result.history["val_accuracy"].iloc[-1] > 0.9


def test_a_cache_larger_than_the_limit_streams_on_jax_too(tmp_path, monkeypatch):
    # The fused JAX trainer holds its data on the device; a memory map over the streaming
    # limit must be read batch by batch instead, whatever the trainer asked.
    import neuralab.training.streaming as streaming
    from neuralab.errors import NeuralabError

    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 48)
    x = _memmap(tmp_path, (labels[:, None] * 2.0 + rng.random((48, 3))).astype("float32"), "x")
    monkeypatch.setattr(streaming, "STREAM_BYTES", 256)

    def model():
        net = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
        net.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
        return net

    result = train(model(), x, labels, epochs=2, batch_size=16, trainer="auto")
    assert result.trainer == "fit"
    assert result.notes == [
        "model.fit used: x is a memory map of 0.0 GiB, streamed from disk batch by batch"
    ]
    with pytest.raises(NeuralabError, match="x is a memory map .* streamed from disk"):
        train(model(), x, labels, epochs=1, batch_size=16, trainer="fused")
    small = np.array(x)  # in memory
    assert train(model(), small, labels, epochs=1, batch_size=16).trainer == "fused"
