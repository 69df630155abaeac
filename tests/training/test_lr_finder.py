from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from neuralab.data import make_blobs
from neuralab.errors import NeuralabError
from neuralab.training.lr_finder import find_learning_rate, suggest_learning_rates

SRC = Path(__file__).resolve().parents[2] / "src"


def test_minimum_over_ten_by_hand():
    lrs = np.logspace(-4, 0, 41)  # 10 points per decade
    loss = (np.log10(lrs) + 2) ** 2 + 0.1  # U-shaped, bottom at 1e-2
    found = suggest_learning_rates(lrs, loss)
    assert found["minimum/10"] == pytest.approx(1e-3)


def test_steepest_by_hand():
    lrs = np.logspace(-4, 0, 41)
    # Flat, then a drop concentrated around 1e-2, then flat again: steepest at 1e-2.
    loss = 1.0 - 1.0 / (1.0 + np.exp(-8 * (np.log10(lrs) + 2)))
    assert suggest_learning_rates(lrs, loss)["steepest"] == pytest.approx(1e-2)


def test_steepest_ignores_drops_after_the_bottom_and_midpoint():
    lrs = np.logspace(-4, 0, 41)
    t = np.log10(lrs)
    # Smooth descent, steepest at 1e-3, bottom (0.1) at 1e-2; then noise after the bottom:
    # a spike at 10**-1.5 and a sharp fall right after it, steeper than the real descent.
    loss = 0.55 - 0.45 * np.tanh(2 * (t + 3))
    loss[t >= -2] = 0.1 + 0.01 * (t[t >= -2] + 2)
    loss[np.isclose(t, -1.5)] = 3.0
    found = suggest_learning_rates(lrs, loss)
    assert found["steepest"] == pytest.approx(1e-3)
    assert found["midpoint"] == pytest.approx(np.sqrt(1e-3 * 1e-2))


def test_valley_on_a_monotone_descent():
    lrs = np.logspace(-5, 0, 11)
    loss = np.linspace(1.0, 0.0, 11)  # one decreasing run over all 11 points
    # fastai's rule: start = end - L = 10 - 11 -> 0; s = 10/3; pick 0 + 3 + 1 = 4.
    assert suggest_learning_rates(lrs, loss)["valley"] == pytest.approx(lrs[4])


def test_nan_points_are_dropped_and_too_few_is_an_error():
    lrs = np.array([1e-3, 1e-2, 1e-1, 1.0])
    found = suggest_learning_rates(lrs, [0.5, 0.3, 0.4, np.nan])
    assert found["minimum/10"] == pytest.approx(1e-3)
    with pytest.raises(
        NeuralabError, match="needs at least 3 finite losses to suggest a rate; it has 2"
    ):
        suggest_learning_rates(lrs, [0.5, np.inf, 0.4, np.nan])


def _model(seed: int = 0, optimizer: str = "adam") -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer, metrics=["accuracy"])
    return model


def test_real_range_test_diverges_and_suggests_inside_the_range():
    data = make_blobs(600, n_classes=3, seed=0)
    result = find_learning_rate(
        _model(optimizer="sgd"), data.x, data.y, start_lr=1e-5, end_lr=1e3, num_steps=120
    )
    assert result.stopped_early and result.n_steps < 120
    ratios = result.learning_rates[1:] / result.learning_rates[:-1]
    np.testing.assert_allclose(ratios, (1e8) ** (1 / 119), rtol=1e-9)
    assert np.all(np.isfinite(result.smoothed_losses[:-1]))
    # Diverged: the last smoothed loss is over 4x the best.
    assert result.smoothed_losses[-1] > 4 * result.best_loss or not np.isfinite(
        result.smoothed_losses[-1]
    )
    # Every suggestion lies where the loss still falls: above the start, below divergence.
    diverged_at = result.learning_rates[-1]
    for name, rate in result.suggestions.items():
        assert 1e-5 < rate < diverged_at, (name, rate, diverged_at)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"start_lr": 0.0}, "`start_lr` must be positive. Received: start_lr=0.0"),
        ({"end_lr": 1e-8}, "`end_lr` must be greater than start_lr=1e-07. Received: end_lr=1e-08"),
        ({"num_steps": 2}, "`num_steps` must be an integer >= 3. Received: num_steps=2"),
        ({"beta": 1.0}, r"`beta` must be in \[0, 1\). Received: beta=1.0"),
        ({"diverge_factor": 1.0}, "`diverge_factor` must be greater than 1"),
    ],
)
def test_argument_checks(kwargs, match):
    with pytest.raises(NeuralabError, match=match):
        find_learning_rate(_model(), np.zeros((8, 2)), np.zeros(8), **kwargs)


def test_uncompiled_model():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.raises(NeuralabError, match="not compiled"):
        find_learning_rate(model, np.zeros((8, 2)), np.zeros(8))


def test_weights_restored_when_interrupted():
    data = make_blobs(200, n_classes=3, seed=1)
    model = _model()
    model.fit(data.x, data.y, epochs=1, verbose=0)
    before = [np.array(v.numpy()) for v in model.variables]
    optimizer = model.optimizer
    state = [np.array(v.numpy()) for v in optimizer.variables]

    def stop(step: int, lr: float, loss: float) -> None:
        if step == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        find_learning_rate(model, data.x, data.y, callback=stop)
    assert model.optimizer is optimizer
    for a, v in zip(before, model.variables, strict=True):
        np.testing.assert_array_equal(a, np.array(v.numpy()))
    for a, v in zip(state, optimizer.variables, strict=True):
        np.testing.assert_array_equal(a, np.array(v.numpy()))


RESTORE_SCRIPT = textwrap.dedent(
    """
    import numpy as np, keras
    from neuralab.data import make_blobs
    from neuralab.training.lr_finder import find_learning_rate

    data = make_blobs(300, n_classes=3, seed=0)
    for schedule in (False, True):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, activation="relu"),
                                  keras.layers.Dropout(0.2), keras.layers.Dense(3, activation="softmax")])
        rate = keras.optimizers.schedules.InverseTimeDecay(0.01, 10, 1.0) if schedule else 0.01
        optimizer = keras.optimizers.Adam(rate)
        model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer, metrics=["accuracy"])
        model.fit(data.x, data.y, epochs=1, verbose=0)  # non-trivial optimizer state
        weights = [np.array(v.numpy()) for v in model.variables]
        state = [np.array(v.numpy()) for v in optimizer.variables]
        find_learning_rate(model, data.x, data.y, num_steps=40)
        assert model.optimizer is optimizer
        assert (optimizer._learning_rate is rate) if schedule else True
        assert all(np.array_equal(a, np.array(v.numpy())) for a, v in zip(weights, model.variables))
        assert all(np.array_equal(a, np.array(v.numpy())) for a, v in zip(state, optimizer.variables))
        model.fit(data.x, data.y, epochs=1, verbose=0)  # still trains afterwards
    print("restored", keras.backend.backend())
    """
)


@pytest.mark.parametrize("backend", ["jax", "tensorflow", "torch"])
def test_weights_and_optimizer_state_restored_exactly_on_every_backend(backend):
    env = {
        **os.environ,
        "KERAS_BACKEND": backend,
        "PYTHONPATH": str(SRC),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    proc = subprocess.run(
        [sys.executable, "-c", RESTORE_SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"restored {backend}" in proc.stdout
