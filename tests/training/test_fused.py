"""The fused whole-epoch trainer means the same as model.fit."""

from __future__ import annotations

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from neuralab.data import make_blobs, make_circles
from neuralab.errors import NeuralabError
from neuralab.training.fused import can_fuse, fused_fit
from neuralab.training.trainer import train

DATA = make_circles(1000, noise=0.03, seed=42)


def _circles_model(*, lr=0.01, regularizer=None, dropout=0.0, width=4):
    keras.utils.set_random_seed(7)
    layers = [
        keras.Input((2,)),
        keras.layers.Dense(width, activation="relu", kernel_regularizer=regularizer),
    ]
    if dropout:
        layers.append(keras.layers.Dropout(dropout))
    layers += [
        keras.layers.Dense(width, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ]
    model = keras.Sequential(layers)
    model.compile(
        loss="binary_crossentropy", optimizer=keras.optimizers.Adam(lr), metrics=["accuracy"]
    )
    return model


def _assert_same(fit_history, fused_history, a, b):
    assert len(fused_history) == len(next(iter(fit_history.values())))
    for key, values in fit_history.items():
        np.testing.assert_allclose(
            [row[key] for row in fused_history], values, rtol=1e-5, atol=1e-6, err_msg=key
        )
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_allclose(wb, wa, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n_train", [800, 790])  # 790: a partial last batch
@pytest.mark.parametrize("variant", ["plain", "l2", "schedule"])
def test_parity_with_fit(n_train, variant):
    lr = (
        keras.optimizers.schedules.InverseTimeDecay(0.01, decay_steps=10, decay_rate=1.0)
        if variant == "schedule"
        else 0.01
    )
    reg = keras.regularizers.L2(0.01) if variant == "l2" else None
    a, b = _circles_model(lr=lr, regularizer=reg), _circles_model(lr=lr, regularizer=reg)
    x, y, val = DATA.x[:n_train], DATA.y[:n_train], (DATA.x[800:], DATA.y[800:])
    fit_history = a.fit(
        x, y, epochs=5, batch_size=32, shuffle=False, validation_data=val, verbose=0
    ).history
    fused_history = fused_fit(b, x, y, epochs=5, batch_size=32, shuffle=False, validation_data=val)
    _assert_same(fit_history, fused_history, a, b)


def test_parity_with_an_epoch_schedule_callback():
    def rate(epoch, lr):
        return 1e-3 * 10 ** (epoch / 20)

    a, b = _circles_model(), _circles_model()
    x, y = DATA.x[:800], DATA.y[:800]
    fit_history = a.fit(
        x,
        y,
        epochs=5,
        shuffle=False,
        verbose=0,
        callbacks=[keras.callbacks.LearningRateScheduler(rate)],
    ).history
    fused_history = fused_fit(
        b, x, y, epochs=5, shuffle=False, callbacks=[keras.callbacks.LearningRateScheduler(rate)]
    )
    assert [row["learning_rate"] for row in fused_history] == pytest.approx(
        [rate(e, 0) for e in range(5)]
    )
    _assert_same(fit_history, fused_history, a, b)


def test_multiclass_parity():
    blobs = make_blobs(500, n_classes=3, seed=0)

    def model():
        keras.utils.set_random_seed(3)
        m = keras.Sequential(
            [
                keras.Input((2,)),
                keras.layers.Dense(8, activation="relu"),
                keras.layers.Dense(3, activation="softmax"),
            ]
        )
        m.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
        return m

    a, b = model(), model()
    fit_history = a.fit(
        blobs.x,
        blobs.y,
        epochs=4,
        batch_size=50,
        shuffle=False,
        validation_data=(blobs.x[:60], blobs.y[:60]),
        verbose=0,
    ).history
    fused_history = fused_fit(
        b,
        blobs.x,
        blobs.y,
        epochs=4,
        batch_size=50,
        shuffle=False,
        validation_data=(blobs.x[:60], blobs.y[:60]),
    )
    _assert_same(fit_history, fused_history, a, b)


def test_dropout_reaches_the_same_band():
    x, y, val = DATA.x[:800], DATA.y[:800], (DATA.x[800:], DATA.y[800:])
    a, b = (
        _circles_model(dropout=0.2, width=16, lr=0.02),
        _circles_model(dropout=0.2, width=16, lr=0.02),
    )
    fit_acc = a.fit(x, y, epochs=40, validation_data=val, verbose=0).history["val_accuracy"][-1]
    fused_acc = fused_fit(b, x, y, epochs=40, validation_data=val, seed=1)[-1]["val_accuracy"]
    assert fit_acc >= 0.95 and fused_acc >= 0.95
    # Dropout is really active in training: train loss (with dropout) differs from evaluation.
    train_loss = fused_fit(b, x, y, epochs=1, seed=2)[-1]["loss"]
    assert train_loss != pytest.approx(b.evaluate(x, y, verbose=0)[0], rel=1e-3)


def test_early_stopping_restores_best_weights():
    model = _circles_model(lr=0.05)
    x, y, val = DATA.x[:800], DATA.y[:800], (DATA.x[800:], DATA.y[800:])
    stop = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=2, restore_best_weights=True, min_delta=0.01
    )
    history = fused_fit(model, x, y, epochs=300, validation_data=val, callbacks=[stop])
    assert len(history) < 300 and stop.stopped_epoch > 0
    best = history[stop.best_epoch]["val_loss"]
    assert model.evaluate(*val, verbose=0)[0] == pytest.approx(best, rel=1e-5)
    # The weights really were rolled back: the best epoch is not the last one.
    assert stop.best_epoch < len(history) - 1
    assert model.evaluate(*val, verbose=0)[0] != pytest.approx(history[-1]["val_loss"], rel=1e-5)


def test_trained_model_saves_and_loads(tmp_path):
    model = _circles_model()
    fused_fit(model, DATA.x[:800], DATA.y[:800], epochs=3)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(
        loaded.predict(DATA.x[:50], verbose=0), model.predict(DATA.x[:50], verbose=0), rtol=1e-6
    )


def test_seeded_shuffle_is_deterministic():
    a, b = _circles_model(), _circles_model()
    ha = fused_fit(a, DATA.x[:800], DATA.y[:800], epochs=3, seed=5)
    hb = fused_fit(b, DATA.x[:800], DATA.y[:800], epochs=3, seed=5)
    assert ha == hb


class _CustomStep(keras.Sequential):
    def train_step(self, state, data):  # pragma: no cover - never called
        return super().train_step(state, data)


class _BatchLogger(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):  # pragma: no cover - never called
        pass


def test_what_cannot_be_fused_says_why_and_falls_back():
    custom = _CustomStep([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    custom.compile(loss="binary_crossentropy", optimizer="adam")
    assert can_fuse(custom) == "the model overrides train_step"
    model = _circles_model()
    assert (
        can_fuse(model, callbacks=[_BatchLogger()])
        == "callback _BatchLogger uses batch-level hooks (on_train_batch_end)"
    )
    assert can_fuse(model, callbacks=[keras.callbacks.TensorBoard()]) is None
    with pytest.raises(
        NeuralabError, match="cannot train this model: the model overrides train_step"
    ):
        fused_fit(custom, DATA.x[:64], DATA.y[:64], epochs=1)
    result = train(custom, DATA.x[:64], DATA.y[:64], epochs=2)
    assert result.trainer == "fit" and result.notes == [
        "model.fit used: the model overrides train_step"
    ]
    with pytest.raises(NeuralabError, match="`trainer='fused'` cannot train this model"):
        train(custom, DATA.x[:64], DATA.y[:64], epochs=1, trainer="fused")


def test_train_uses_the_fused_trainer_by_default_on_jax():
    result = train(
        _circles_model(),
        DATA.x[:800],
        DATA.y[:800],
        epochs=3,
        validation_data=(DATA.x[800:], DATA.y[800:]),
    )
    assert result.trainer == "fused" and result.epochs_run == 3
    assert set(result.history.columns) == {
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
        "learning_rate",
    }


class _Probe(keras.callbacks.Callback):
    """Reads the model at every epoch end; `logs_only` lets the trainer batch epochs."""

    def __init__(self, logs_only):
        super().__init__()
        self.logs_only = logs_only
        self.kernels, self.iterations = [], []

    def on_epoch_end(self, epoch, logs=None):
        self.kernels.append(float(np.abs(self.model.get_weights()[0]).sum()))
        self.iterations.append(int(self.model.optimizer.iterations.value))


def _chunked_and_per_epoch(monkeypatch, epochs, **kwargs):
    # Chunks as long as possible, so the chunked run really puts many epochs in one program.
    monkeypatch.setattr("neuralab.training.fused.CHUNK_SECONDS", 1e9)
    x, y, val = DATA.x[:790], DATA.y[:790], (DATA.x[800:], DATA.y[800:])
    runs = []
    for logs_only in (True, False):
        probe = _Probe(logs_only)
        model = _circles_model(dropout=0.2, width=8)
        callbacks = [probe, *kwargs.get("make_callbacks", list)()]
        history = fused_fit(
            model, x, y, epochs=epochs, validation_data=val, seed=3, callbacks=callbacks
        )
        runs.append((history, model, probe))
    return runs


def _assert_same_rows(a, b):
    assert len(a) == len(b) and all(ra.keys() == rb.keys() for ra, rb in zip(a, b, strict=True))
    for key in a[0]:
        np.testing.assert_allclose([r[key] for r in a], [r[key] for r in b], rtol=1e-5, err_msg=key)


def test_chunks_of_epochs_give_the_same_training_as_one_epoch_per_program(monkeypatch):
    (h_chunk, m_chunk, p_chunk), (h_one, m_one, p_one) = _chunked_and_per_epoch(monkeypatch, 12)
    # One epoch per program: the weights change every epoch. Chunked: epochs 2-12 ran in one
    # program, and the callbacks were replayed after it with the chunk's final weights.
    assert len(set(p_one.kernels)) == 12
    assert len(set(p_chunk.kernels)) == 2
    _assert_same_rows(h_chunk, h_one)
    for wa, wb in zip(m_chunk.get_weights(), m_one.get_weights(), strict=True):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)
    # The optimizer's step count is the epoch's own during the replay (TensorBoard reads
    # the learning rate through it): 25 steps per epoch of 790 rows at batch 32.
    assert p_chunk.iterations == p_one.iterations == [25 * (e + 1) for e in range(12)]


def test_early_stopping_inside_a_chunk_stops_with_that_epochs_weights(monkeypatch):
    def stop():
        return [keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, min_delta=0.01)]

    (h_chunk, m_chunk, _), (h_one, m_one, _) = _chunked_and_per_epoch(
        monkeypatch, 300, make_callbacks=stop
    )
    assert 3 < len(h_one) < 300
    _assert_same_rows(h_chunk, h_one)
    for wa, wb in zip(m_chunk.get_weights(), m_one.get_weights(), strict=True):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)


NOT_A_CONSTANT = """
import os, sys
os.environ["KERAS_BACKEND"] = "jax"
import keras, numpy as np
from neuralab.backend import enable_compilation_cache
from neuralab.training.fused import fused_fit

enable_compilation_cache(sys.argv[1])
x = np.random.default_rng(0).random((20000, 50), dtype=np.float32)  # 4 MB
y = (x.sum(axis=1) > 25).astype("int64")
model = keras.Sequential([keras.Input((50,)), keras.layers.Dense(1, activation="sigmoid")])
model.compile(loss="binary_crossentropy", optimizer="adam")
fused_fit(model, x, y, epochs=2, batch_size=500, validation_data=(x[:1000], y[:1000]))
"""


def test_the_data_are_not_compiled_into_the_program(tmp_path):
    # A closed-over array becomes a constant of the XLA program: compiling it took seconds
    # for Fashion-MNIST and the on-disk compile cache would hold a copy of the data.
    subprocess.run(
        [sys.executable, "-c", NOT_A_CONSTANT, str(tmp_path)],
        env={**os.environ, "KERAS_BACKEND": "jax"},
        check=True,
        capture_output=True,
    )
    entries = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert entries, "the epoch program was not cached"
    assert sum(p.stat().st_size for p in entries) < 1_000_000


def test_the_step_count_is_right_after_chunks_the_recorder_does_not_read(monkeypatch):
    # Without a callback that reads the step count (TensorBoard, a user's), it is not set
    # epoch by epoch inside a chunk; the write-back must still leave the true count, also
    # when EarlyStopping ends training inside a chunk.
    monkeypatch.setattr("neuralab.training.fused.CHUNK_SECONDS", 1e9)
    x, y, val = DATA.x[:790], DATA.y[:790], (DATA.x[800:], DATA.y[800:])
    for callbacks, epochs in (
        ([], 12),
        ([keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, min_delta=0.01)], 300),
    ):
        model = _circles_model(dropout=0.2, width=8)
        result = train(
            model,
            x,
            y,
            epochs=epochs,
            validation_data=val,
            callbacks=callbacks,
            trainer="fused",
            seed=3,
        )
        assert result.epochs_run < 300
        assert int(model.optimizer.iterations.value) == 25 * result.epochs_run
