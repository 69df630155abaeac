"""The learning-rate range test: suggestions worked out by hand, a real run, exact restoration."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
from sklearn.datasets import make_circles

from neuralab.errors import NeuralabError
from neuralab.training.lr_finder import (
    LRFinderResult,
    find_learning_rate,
    suggest_learning_rates,
    suggest_per_epoch_learning_rates,
)

SRC = Path(__file__).resolve().parents[2] / "src"


# --- suggest_learning_rates ----------------------------------------------------------------


def test_minimum_over_ten_on_a_u_shaped_curve():
    lrs = np.logspace(-4, 0, 41)  # 10 points per decade
    loss = (np.log10(lrs) + 2) ** 2 + 0.1  # bottom at 1e-2
    assert suggest_learning_rates(lrs, loss)["minimum/10"] == pytest.approx(1e-3)


def test_steepest_where_a_smooth_drop_is_centred():
    lrs = np.logspace(-4, 0, 41)
    # Flat, a logistic drop centred on 1e-2 (in log10 rate), flat again.
    loss = 1.0 - 1.0 / (1.0 + np.exp(-8 * (np.log10(lrs) + 2)))
    assert suggest_learning_rates(lrs, loss)["steepest"] == pytest.approx(1e-2)


def test_all_four_rules_on_five_points_by_hand():
    lrs = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]  # one decade apart: d log10(rate) = 1
    loss = [2.0, 1.0, 0.9, 0.5, 0.6]
    # np.gradient: [-1.0 (one-sided, ignored), -0.55, -0.25, -0.15, 0.1 (ignored)];
    # the bottom is 0.5 at 1e-1. Longest decreasing subsequence 2.0 > 1.0 > 0.9 > 0.5 ends
    # at index 3 with length 4: start = max(3 - 4, 0) = 0, s = 1, pick 0 + 1 + 0 = 1.
    assert suggest_learning_rates(lrs, loss) == pytest.approx(
        {"minimum/10": 1e-2, "steepest": 1e-3, "valley": 1e-3, "midpoint": 1e-2}
    )


def test_steepest_ignores_drops_after_the_bottom():
    lrs = np.logspace(-4, 0, 41)
    t = np.log10(lrs)
    # Smooth descent, steepest at 1e-3, bottom (0.1) at 1e-2; then, past the bottom, a spike
    # at 10**-1.5 and a fall right after it that is steeper than the real descent.
    loss = 0.55 - 0.45 * np.tanh(2 * (t + 3))
    loss[t >= -2] = 0.1 + 0.01 * (t[t >= -2] + 2)
    loss[np.isclose(t, -1.5)] = 3.0
    found = suggest_learning_rates(lrs, loss)
    assert found["steepest"] == pytest.approx(1e-3)
    assert found["midpoint"] == pytest.approx(np.sqrt(1e-3 * 1e-2))


def test_valley_follows_fastais_index_rule():
    lrs = np.logspace(-5, 0, 10)
    loss = [0.5, 0.6, 0.7, 0.65, 0.6, 0.55, 0.5, 0.45, 0.4, 0.8]
    # Longest decreasing subsequence 0.7 > ... > 0.4 (indices 2..8): end 8, length 7;
    # fastai's start = 8 - 7 = 1, s = 7/3, pick 1 + int(2.33) + int(1.17) = 4.
    assert suggest_learning_rates(lrs, loss)["valley"] == pytest.approx(lrs[4])
    # One decreasing run over all 11 points: fastai's start 10 - 11 = -1 is clamped to 0;
    # s = 10/3, pick 0 + 3 + 1 = 4.
    lrs = np.logspace(-5, 0, 11)
    assert suggest_learning_rates(lrs, np.linspace(1, 0, 11))["valley"] == pytest.approx(lrs[4])


def _fastai_valley(losses: list[float]) -> tuple[int, int]:
    # fastai/callback/schedule.py `valley`, transcribed; returns (index, max_start).
    n = len(losses)
    max_start, max_end = 0, 0
    lds = [1] * n
    for i in range(1, n):
        for j in range(0, i):
            if (losses[i] < losses[j]) and (lds[i] < lds[j] + 1):
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    return max_start + int(sections) + int(sections / 2), max_start


def test_valley_matches_fastai_on_random_curves():
    rng = np.random.default_rng(0)
    compared = 0
    for _ in range(300):
        n = int(rng.integers(3, 20))  # under 20 points: no trimming
        loss = rng.normal(size=n).round(1)  # ties included
        expected, start = _fastai_valley(loss.tolist())
        if start < 0:
            continue  # fastai's start of -1 (valley from the first point): we clamp it to 0
        lrs = np.logspace(-6, 0, n)
        assert suggest_learning_rates(lrs, loss)["valley"] == lrs[expected], loss
        compared += 1
    assert compared > 100


def test_long_curves_leave_out_fastais_ends():
    lrs = np.logspace(-6, 0, 100)
    loss = np.full(100, 1.0)
    loss[3] = 0.01  # in the first 10%: not a candidate
    loss[97] = 0.02  # in the last 5: not a candidate
    loss[50] = 0.5
    assert suggest_learning_rates(lrs, loss)["minimum/10"] == pytest.approx(lrs[50] / 10)


def test_nan_and_inf_points_are_dropped():
    lrs = np.array([1e-3, 1e-2, 1e-1, 1.0, 10.0])
    found = suggest_learning_rates(lrs, [0.5, np.nan, 0.3, 0.4, np.inf])
    assert found["minimum/10"] == pytest.approx(1e-2)


def _bouncy_per_epoch_curve():
    """The circles chapter's per-epoch schedule; the loss falls around 0.02, bottoms out near
    0.1 and diverges past 1, bouncing near the bottom as TensorFlow's run did."""
    epochs = np.arange(100)
    lrs = 1e-4 * 10 ** (epochs / 20)
    x = np.log10(lrs)
    loss = (
        0.12 + 0.58 / (1 + np.exp((x - np.log10(0.02)) * 8)) + 0.6 * np.clip(x + 0.5, 0, None) ** 2
    )
    loss[67] = 0.3  # near divergence epochs bounce: a bad one at lr 0.22 ...
    loss[69] = 0.03  # ... and a lucky one at lr 0.28, far below its neighbours
    return lrs, loss


def test_per_epoch_suggestions_read_a_smoothed_curve():
    lrs, loss = _bouncy_per_epoch_curve()
    raw = suggest_learning_rates(lrs, loss)
    assert raw["minimum/10"] == pytest.approx(lrs[69] / 10)  # the lucky epoch is the bottom
    assert raw["midpoint"] > 0.2  # and drags the midpoint up to it
    smoothed, found = suggest_per_epoch_learning_rates(lrs, loss, smoothing_std=2.0)
    assert smoothed.shape == loss.shape and smoothed[69] > 0.1
    assert 0.01 <= found["steepest"] <= 0.04
    assert 0.01 <= found["midpoint"] <= 0.1
    assert found == suggest_learning_rates(lrs, smoothed)


def test_per_epoch_smoothing_leaves_nan_epochs_out():
    lrs, loss = _bouncy_per_epoch_curve()
    loss[95:] = np.nan  # diverged
    smoothed, found = suggest_per_epoch_learning_rates(lrs, loss)
    assert np.isnan(smoothed[95:]).all() and np.isfinite(smoothed[:95]).all()
    assert 0.01 <= found["midpoint"] <= 0.1


def test_fewer_than_three_finite_points_is_an_error():
    with pytest.raises(
        NeuralabError,
        match=r"needs at least 3 finite losses to suggest a rate; it has 2\. .* "
        r"Received: 4 points, 2 of them NaN/inf",
    ):
        suggest_learning_rates([1e-3, 1e-2, 1e-1, 1.0], [0.5, np.inf, 0.4, np.nan])


def test_mismatched_lengths_is_an_error():
    with pytest.raises(
        NeuralabError,
        match=r"must be 1-D and of equal length. Received: learning_rates.shape=\(3,\), "
        r"losses.shape=\(4,\)",
    ):
        suggest_learning_rates([1e-3, 1e-2, 1e-1], [0.5, 0.4, 0.3, 0.2])


# --- find_learning_rate --------------------------------------------------------------------


@pytest.fixture(scope="module")
def circles() -> tuple[np.ndarray, np.ndarray]:
    x, y = make_circles(400, noise=0.03, random_state=42)
    return x.astype("float32"), y.astype("float32")


def _model(seed: int = 0, learning_rate: float | object = 0.001) -> keras.Model:
    """The circles chapter's Dense(4)-Dense(4)-Dense(1) model, seeded per layer."""

    def init(i: int) -> keras.initializers.Initializer:
        return keras.initializers.GlorotUniform(seed=seed + i)

    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(4, activation="relu", kernel_initializer=init(0)),
            keras.layers.Dense(4, activation="relu", kernel_initializer=init(1)),
            keras.layers.Dense(1, activation="sigmoid", kernel_initializer=init(2)),
        ]
    )
    model.compile(
        loss="binary_crossentropy",
        optimizer=keras.optimizers.Adam(learning_rate),
        metrics=["accuracy"],
    )
    return model


def _state(model: keras.Model) -> list[np.ndarray]:
    return [np.array(v.numpy(), copy=True) for v in model.variables + model.optimizer.variables]


def _assert_same(before: list[np.ndarray], model: keras.Model) -> None:
    after = _state(model)
    assert len(before) == len(after)
    for a, b in zip(before, after, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)


@pytest.fixture(scope="module")
def trained(circles) -> keras.Model:
    # Trained to a low loss first (full batch, 150 steps): the test then sees it diverge.
    model = _model(seed=0, learning_rate=0.05)
    model.fit(*circles, epochs=150, batch_size=400, verbose=0)
    return model


def test_real_run_diverges_and_suggests_inside_the_range(trained, circles):
    before = _state(trained)
    result = find_learning_rate(trained, *circles)
    _assert_same(before, trained)
    assert result.stopped_early and 3 < result.n_steps < 100
    lrs = result.learning_rates
    assert len(lrs) == len(result.losses) == len(result.smoothed_losses) == result.n_steps
    assert lrs[0] == pytest.approx(1e-7)
    np.testing.assert_allclose(lrs[1:] / lrs[:-1], 1e8 ** (1 / 99), rtol=1e-12)
    assert np.all(np.isfinite(result.smoothed_losses))
    # Debiased exponential moving average, by hand.
    avg, smoothed = 0.0, []
    for i, loss in enumerate(result.losses):
        avg = 0.98 * avg + 0.02 * loss
        smoothed.append(avg / (1 - 0.98 ** (i + 1)))
    np.testing.assert_allclose(result.smoothed_losses, smoothed, rtol=1e-12)
    # Stopped at the first smoothed loss over 4x the best before it.
    smoothed = result.smoothed_losses
    best_so_far = np.minimum.accumulate(smoothed)
    assert np.all(smoothed[1:-1] <= 4 * best_so_far[:-2])
    assert smoothed[-1] > 4 * best_so_far[-2]
    assert result.best_loss == best_so_far[-2]
    for name, rate in result.suggestions.items():
        assert 1e-7 < rate < 10.0, (name, rate)
    assert result.suggestions == suggest_learning_rates(lrs, result.smoothed_losses)


def test_same_seed_same_curve_because_the_model_is_restored(trained, circles):
    first = find_learning_rate(trained, *circles, num_steps=30, end_lr=1.0)
    second = find_learning_rate(trained, *circles, num_steps=30, end_lr=1.0)
    assert np.array_equal(first.losses, second.losses)
    other = find_learning_rate(trained, *circles, num_steps=30, end_lr=1.0, seed=7)
    assert not np.array_equal(first.losses, other.losses)


def test_full_run_without_divergence_and_result_object(circles):
    steps: list[tuple[int, float, float]] = []
    result = find_learning_rate(
        _model(),
        *circles,
        start_lr=1e-5,
        end_lr=1e-2,
        num_steps=20,
        batch_size=64,
        callback=lambda step, lr, loss: steps.append((step, lr, loss)),
    )
    assert not result.stopped_early and result.n_steps == 20
    assert result.learning_rates[-1] == pytest.approx(1e-2)
    assert [s[0] for s in steps] == list(range(20))
    np.testing.assert_allclose([s[1] for s in steps], result.learning_rates)
    np.testing.assert_allclose([s[2] for s in steps], result.losses)
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["n_steps"] == 20 and data["stopped_early"] is False
    assert set(data["suggestions"]) == {"minimum/10", "steepest", "valley", "midpoint"}
    text = repr(result)
    assert text.startswith("LRFinderResult(suggestions={'minimum/10': ")
    assert "n_steps=20, learning_rates=1e-05..0.01" in text and "stopped_early=False" in text


def test_to_dict_turns_nan_into_none():
    result = LRFinderResult(
        learning_rates=np.array([1e-3, 1e-2]),
        losses=np.array([0.5, np.nan]),
        smoothed_losses=np.array([0.5, np.nan]),
        suggestions={"minimum/10": 1e-4},
        stopped_early=True,
        best_loss=0.5,
        n_steps=2,
    )
    data = result.to_dict()
    assert data["losses"] == [0.5, None] and data["smoothed_losses"] == [0.5, None]
    json.dumps(data, allow_nan=False)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"start_lr": 0.0}, r"`start_lr` must be positive. Received: start_lr=0.0"),
        ({"start_lr": "1e-3"}, r"`start_lr` must be positive. Received: start_lr='1e-3'"),
        (
            {"end_lr": 1e-8},
            r"`end_lr` must be greater than start_lr=1e-07. Received: end_lr=1e-08",
        ),
        ({"num_steps": 2}, r"`num_steps` must be an integer >= 3. Received: num_steps=2"),
        ({"num_steps": 10.0}, r"`num_steps` must be an integer >= 3. Received: num_steps=10.0"),
        ({"batch_size": 0}, r"`batch_size` must be an integer > 0. Received: batch_size=0"),
        ({"beta": 1.0}, r"`beta` must be in \[0, 1\). Received: beta=1.0"),
        ({"beta": -0.1}, r"`beta` must be in \[0, 1\). Received: beta=-0.1"),
        (
            {"diverge_factor": 1.0},
            r"`diverge_factor` must be greater than 1. Received: diverge_factor=1.0",
        ),
    ],
)
def test_argument_checks(kwargs, match):
    with pytest.raises(NeuralabError, match=match):
        find_learning_rate(_model(), np.zeros((8, 2)), np.zeros(8), **kwargs)


def test_uncompiled_model_is_an_error():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)], name="plain")
    with pytest.raises(
        NeuralabError,
        match=r"`model` must be compiled .* call `model.compile\(optimizer=..., loss=...\)` "
        r"first. Received: model='plain' \(not compiled\)",
    ):
        find_learning_rate(model, np.zeros((8, 2)), np.zeros(8))


def test_x_and_y_of_different_lengths_is_an_error():
    with pytest.raises(NeuralabError, match=r"Received: len\(x\)=8, len\(y\)=7"):
        find_learning_rate(_model(), np.zeros((8, 2)), np.zeros(7))


def test_x_that_is_not_arrays_is_an_error():
    with pytest.raises(
        NeuralabError,
        match=r"`x` must be an array of samples .* Received: x of type generator",
    ):
        find_learning_rate(_model(), (row for row in np.zeros((8, 2))), np.zeros(8))


def test_dict_inputs_are_sliced_per_key(circles):
    inputs = keras.Input((2,), name="points")
    outputs = keras.layers.Dense(1, activation="sigmoid")(inputs)
    model = keras.Model({"points": inputs}, outputs)
    model.compile(loss="binary_crossentropy", optimizer="sgd")
    result = find_learning_rate(
        model, {"points": circles[0]}, circles[1], num_steps=5, end_lr=1e-3, batch_size=400
    )
    assert result.n_steps == 5


def test_unbuilt_model_and_optimizer_are_built_first(circles):
    model = keras.Sequential(
        [keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1, activation="sigmoid")]
    )
    model.compile(loss="binary_crossentropy", optimizer="adam")
    result = find_learning_rate(model, *circles, num_steps=10, end_lr=1e-3)
    assert result.n_steps == 10
    # The optimizer state is the fresh one it was built with.
    assert int(model.optimizer.iterations.numpy()) == 0
    assert all(not np.any(v.numpy()) for v in model.optimizer.variables[2:])


@pytest.mark.parametrize("error", [KeyboardInterrupt, ValueError])
def test_error_in_callback_mid_way_restores_everything(trained, circles, error):
    before = _state(trained)
    optimizer = trained.optimizer

    def stop(step: int, lr: float, loss: float) -> None:
        if step == 5:
            raise error("stop")

    with pytest.raises(error):
        find_learning_rate(trained, *circles, callback=stop)
    assert trained.optimizer is optimizer
    _assert_same(before, trained)
    assert float(optimizer.learning_rate.numpy()) == pytest.approx(0.05)


def test_schedule_is_put_back(circles):
    schedule = keras.optimizers.schedules.ExponentialDecay(0.01, decay_steps=10, decay_rate=0.5)
    model = _model(learning_rate=schedule)
    optimizer = model.optimizer
    find_learning_rate(model, *circles, num_steps=10, end_lr=1.0)
    assert optimizer._learning_rate is schedule
    # Only the optimizer's own variables (iterations, two slots per weight): the finder's
    # temporary learning-rate variable is gone, and the state is the fresh one.
    assert len(optimizer.variables) == 1 + 2 * len(model.trainable_variables)
    assert not any(np.any(v.numpy()) for v in optimizer.variables)
    assert float(optimizer.learning_rate) == pytest.approx(0.01)


# --- exact restoration on every backend -----------------------------------------------------

RESTORE_SCRIPT = textwrap.dedent(
    """
    import numpy as np, keras
    from neuralab.training.lr_finder import find_learning_rate

    # Two noisy circles (importing sklearn would add seconds to each backend's run).
    rng = np.random.default_rng(42)
    angle, y = rng.uniform(0, 2 * np.pi, 400), np.arange(400) % 2
    radius = np.where(y == 1, 0.8, 1.0)
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    x, y = (x + rng.normal(0, 0.03, x.shape)).astype("float32"), y.astype("float32")


    def build(schedule):
        init = [keras.initializers.GlorotUniform(seed=i) for i in range(3)]
        model = keras.Sequential([
            keras.Input((2,)),
            keras.layers.Dense(4, activation="relu", kernel_initializer=init[0]),
            keras.layers.Dropout(0.1, seed=1),  # seed-generator state is model state too
            keras.layers.Dense(4, activation="relu", kernel_initializer=init[1]),
            keras.layers.Dense(1, activation="sigmoid", kernel_initializer=init[2]),
        ])
        rate = (keras.optimizers.schedules.ExponentialDecay(0.01, 10, 0.5)
                if schedule else 0.01)
        model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(rate),
                      metrics=["accuracy"])
        model.fit(x, y, epochs=1, batch_size=40, shuffle=False, verbose=0)
        return model, rate


    def state(model):
        return [np.array(v.numpy(), copy=True)
                for v in model.variables + model.optimizer.variables]


    def same(a, b):
        return len(a) == len(b) and all(
            u.dtype == v.dtype and np.array_equal(u, v) for u, v in zip(a, b))


    def stop(step, lr, loss):
        if step == 5:
            raise KeyboardInterrupt


    for schedule in (False, True):
        model, rate = build(schedule)
        optimizer = model.optimizer
        before = state(model)
        # Where one more epoch leads without the finder (then back to `before`).
        model.fit(x, y, epochs=1, batch_size=40, shuffle=False, verbose=0)
        reference = state(model)
        for v, value in zip(model.variables + optimizer.variables, before):
            v.assign(value)
        # batch_size as in fit: the compiled step is reused, not compiled again.
        result = find_learning_rate(model, x, y, num_steps=30, batch_size=40)
        assert result.n_steps >= 3, result
        assert model.optimizer is optimizer
        assert same(before, state(model)), "not restored after a run"
        if schedule:
            assert optimizer._learning_rate is rate
        else:
            assert float(optimizer.learning_rate.numpy()) == np.float32(0.01)
            try:
                find_learning_rate(model, x, y, batch_size=40, callback=stop)
            except KeyboardInterrupt:
                pass
            assert same(before, state(model)), "not restored after an interruption"
        # Training goes on exactly as if the finder had never run (with the schedule).
        model.fit(x, y, epochs=1, batch_size=40, shuffle=False, verbose=0)
        assert same(reference, state(model)), "later training differs"
    print("restored", keras.backend.backend())
    """
)


BACKENDS = ["jax", "tensorflow", "torch"]


@pytest.fixture(scope="module")
def restore_runs():
    """The restoration script, started on all three backends at once (each takes ~12 s)."""
    path = os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH")) if p)
    xla_flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_cpu_multi_thread_eigen=false"
    # One thread each: three processes sharing a few cores, tiny models; thread pools
    # fighting over the cores made this twice as slow.
    single_thread = {
        "OMP_NUM_THREADS": "1",
        "TF_NUM_INTRAOP_THREADS": "1",
        "TF_NUM_INTEROP_THREADS": "1",
        "XLA_FLAGS": xla_flags.strip(),
    }
    procs = {
        backend: subprocess.Popen(
            [sys.executable, "-c", RESTORE_SCRIPT],
            env={
                **os.environ,
                **single_thread,
                "KERAS_BACKEND": backend,
                "PYTHONPATH": path,
                "TF_CPP_MIN_LOG_LEVEL": "3",
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for backend in BACKENDS
    }
    yield procs
    for proc in procs.values():
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.mark.parametrize("backend", BACKENDS)
def test_weights_and_optimizer_state_restored_exactly_on_every_backend(restore_runs, backend):
    stdout, stderr = restore_runs[backend].communicate(timeout=300)
    assert restore_runs[backend].returncode == 0, stderr[-3000:]
    assert f"restored {backend}" in stdout
