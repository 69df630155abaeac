"""Watching training: the live callback's events, exact epochs, pause and step; the numbers
are those of an unwatched run."""

from __future__ import annotations

import threading

import keras
import numpy as np
import pytest

from neuralab.data.dataset import Dataset
from neuralab.data.synthetic import make_circles
from neuralab.training.live import TrainingGate, begin_event, make_live_callback
from neuralab.training.trainer import train

DATA = make_circles(400, noise=0.05, seed=3)
TRAIN, TEST = DATA.take(slice(0, 320)), DATA.take(slice(320, None))
PARTS = [("train", TRAIN), ("test", TEST)]


def _model(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(4, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(0.02), loss="binary_crossentropy", metrics=["accuracy"]
    )
    return model


def _train(callbacks=(), *, epochs: int = 30, trainer: str = "auto"):
    return train(
        _model(),
        TRAIN.x,
        TRAIN.y,
        epochs=epochs,
        validation_data=(TEST.x, TEST.y),
        callbacks=list(callbacks),
        trainer=trainer,
        seed=1,
    )


def _watch(events, **kwargs):
    epochs = kwargs.pop("epochs", 30)
    begin = begin_event(name="m", epochs=epochs, parts=PARTS)
    return make_live_callback(events.extend, begin=begin, parts=PARTS, **kwargs)


@pytest.mark.parametrize("trainer", ["auto", "fit"])
def test_watching_reports_every_epoch_and_exact_frames_without_changing_the_numbers(trainer):
    epochs = 30 if trainer == "auto" else 8
    plain = _train(epochs=epochs, trainer=trainer)
    events: list = []
    watched = _train(
        [_watch(events, exact_epochs=(1, 3, 7), epochs=epochs)], epochs=epochs, trainer=trainer
    )
    assert watched.trainer == ("fused" if trainer == "auto" else "fit")
    assert np.array_equal(plain.history.to_numpy(), watched.history.to_numpy())
    kinds = [e.type for e in events]
    assert kinds[0] == "begin" and kinds[-1] == "end"
    assert [e.epoch for e in events if e.type == "epoch"] == list(range(1, epochs + 1))
    frames = [e for e in events if e.type == "boundary"]
    assert {1, 3, 7, epochs} <= {f.epoch for f in frames}
    begin = events[0]
    assert [p.split for p in begin.points] == ["train", "test"] and len(begin.points[0].x) == 320
    # The last frame is the trained model's decision on its grid.
    classes, confidence = frames[-1].grid.arrays()
    assert classes.shape == (60, 60) and set(np.unique(classes)) <= {0, 1}
    assert confidence.min() >= 0.5 - 1 / 255
    assert events[-1].epochs_run == epochs and not events[-1].interrupted


def test_pause_and_step_stop_at_exact_epochs_and_the_numbers_stay_the_same():
    plain = _train(epochs=40)
    gate = TrainingGate()
    gate.step(1)  # one epoch, then wait
    reached: dict[int, threading.Event] = {e: threading.Event() for e in (1, 2, 5)}
    events: list = []

    def on_update(done: int) -> None:
        if done in reached:
            reached[done].set()

    def steer() -> None:
        assert reached[1].wait(60)
        gate.step(1)
        assert reached[2].wait(60)
        gate.step(3)
        assert reached[5].wait(60)
        gate.resume()

    steering = threading.Thread(target=steer, daemon=True)
    steering.start()
    watched = _train([_watch(events, gate=gate, on_update=on_update, epochs=40)], epochs=40)
    steering.join(60)
    assert np.array_equal(plain.history.to_numpy(), watched.history.to_numpy())
    frames = [e.epoch for e in events if e.type == "boundary"]
    assert frames[:3] == [1, 2, 5]


def test_stopping_ends_training_at_a_boundary_and_says_so():
    gate = TrainingGate()
    gate.step(2)
    events: list = []

    def on_update(done: int) -> None:
        if done == 2:
            gate.stop()

    result = _train([_watch(events, gate=gate, on_update=on_update, epochs=30)], epochs=30)
    assert result.epochs_run == 2
    assert events[-1].type == "end" and events[-1].interrupted


def test_image_data_get_thumbnails_and_predictions():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, size=(40, 8, 8, 1)).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) > 127).astype("int64")
    images = Dataset(x=x, y=y, class_names=("dark", "light"), name="tiles")
    parts = [("train", images.take(slice(0, 30))), ("test", images.take(slice(30, None)))]
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Flatten(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    events: list = []
    begin = begin_event(name="tiles", epochs=3, parts=parts)
    assert len(begin.samples) == 8 and begin.samples[0].png.startswith("data:image/png;base64,")
    assert begin.samples_split == "test" and not begin.points
    callback = make_live_callback(events.extend, begin=begin, parts=parts)
    train(model, parts[0][1].x, parts[0][1].y, epochs=3, callbacks=[callback])
    predictions = [e for e in events if e.type == "predictions"]
    assert predictions and len(predictions[-1].predicted) == 8
    assert predictions[-1].epoch == 3
