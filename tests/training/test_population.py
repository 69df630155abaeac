"""A seed population means the same as the separate fused runs of its seeds."""

from __future__ import annotations

import sys

import keras
import numpy as np
import pytest

from neuralab.data import make_blobs, make_circles
from neuralab.errors import NeuralabError
from neuralab.training.population import (
    can_populate,
    explain_population_choice,
    population_pays,
    train_population,
)
from neuralab.training.seeding import set_random_seed
from neuralab.training.trainer import train

DATA = make_circles(1000, noise=0.03, seed=42)
TRAIN, VALIDATION = (DATA.x[:800], DATA.y[:800]), (DATA.x[800:], DATA.y[800:])
SEEDS = (42, 7, 123)


def _circles_model(seed, *, lr=0.01, regularizer=None, dropout=0.0, width=4, optimizer=None):
    """The circles lab's model_7 shape, built as a separate run builds it: seeded first."""
    set_random_seed(seed)
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
        loss="binary_crossentropy",
        optimizer=optimizer() if optimizer else keras.optimizers.Adam(lr),
        metrics=["accuracy"],
    )
    return model


def _blobs_model(seed):
    set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def _assert_member_equals_its_run(population, separate):
    """Every history value and every weight within 1e-5 relative. The absolute 1e-7 is for
    values near zero only (a bias or a loss rounding to ~1e-8), where a relative bound on
    float32 rounding means nothing; it is 100x below any value these models produce."""
    for (member, result), (model, expected) in zip(population, separate, strict=True):
        assert result.trainer == "population" and expected.trainer == "fused"
        assert list(result.history.columns) == list(expected.history.columns)
        assert result.history.index.name == "epoch" and result.history.index[0] == 1
        assert result.epochs_run == expected.epochs_run
        assert result.best_epoch == expected.best_epoch and result.monitor == expected.monitor
        for key in expected.history.columns:
            np.testing.assert_allclose(
                result.history[key], expected.history[key], rtol=1e-5, atol=1e-7, err_msg=key
            )
        for got, want in zip(member.get_weights(), model.get_weights(), strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
        assert int(member.optimizer.iterations.value) == int(model.optimizer.iterations.value)


def _compare(make_model, x, y, *, seeds=SEEDS, **fit):
    """Train a population and each seed's separate fused run; return both."""
    members = [make_model(seed) for seed in seeds]
    results = train_population(members, x, y, seeds=seeds, **fit)
    separate = []
    for seed in seeds:
        model = make_model(seed)
        separate.append((model, train(model, x, y, trainer="fused", seed=seed, **fit)))
    return list(zip(members, results, strict=True)), separate


CASES = {
    # name: (model kwargs, training rows, fit kwargs)
    "adam, full batches, shuffled": ({}, 800, {"shuffle": True}),
    "L2 and a rate schedule, partial last batch, unshuffled": (
        {
            "regularizer": keras.regularizers.L2(0.01),
            "optimizer": lambda: keras.optimizers.Adam(
                keras.optimizers.schedules.InverseTimeDecay(0.01, decay_steps=10, decay_rate=1.0)
            ),
        },
        790,
        {"shuffle": False},
    ),
    # Each member's Dropout draws from its own seed generator (a non-trainable variable,
    # stacked like the weights), and JAX's random bits under vmap are each key's own bits:
    # the masks are the separate run's, so dropout is equal too, not merely close.
    "dropout, partial last batch, shuffled, no validation": (
        {"dropout": 0.2, "width": 8},
        790,
        {"shuffle": True, "validation": False},
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_each_member_equals_its_separate_fused_run(case):
    model_kwargs, n_train, fit = CASES[case]
    fit = dict(fit)
    validation = VALIDATION if fit.pop("validation", True) else None
    population, separate = _compare(
        lambda seed: _circles_model(seed, **model_kwargs),
        TRAIN[0][:n_train],
        TRAIN[1][:n_train],
        epochs=3,
        validation_data=validation,
        **fit,
    )
    _assert_member_equals_its_run(population, separate)
    if validation is None:
        assert "val_loss" not in population[0][1].history
    else:
        # Each member's own weights are in its Keras model.
        member, result = population[1]
        assert member.evaluate(*validation, verbose=0)[0] == pytest.approx(
            result.history["val_loss"].iloc[-1], rel=1e-5
        )
    # The members differ (their own initial weights and batch orders).
    assert population[0][1].history["loss"].iloc[-1] != population[2][1].history["loss"].iloc[-1]


def test_multiclass_softmax_members_equal_their_runs():
    blobs = make_blobs(500, n_classes=3, seed=0)
    population, separate = _compare(
        _blobs_model,
        blobs.x[:440],
        blobs.y[:440],
        epochs=3,
        batch_size=50,  # 8 full batches and one of 40
        validation_data=(blobs.x[440:], blobs.y[440:]),
    )
    _assert_member_equals_its_run(population, separate)


def test_a_population_of_one_is_its_separate_run():
    population, separate = _compare(
        _circles_model, *TRAIN, seeds=(5,), epochs=2, validation_data=VALIDATION
    )
    _assert_member_equals_its_run(population, separate)


def test_a_stop_request_ends_every_member_after_that_epoch(monkeypatch):
    # Chunks as long as possible: epochs 2-6 run in one program, and the stop at epoch 3 is
    # inside it, so the population re-runs that chunk to exactly epoch 3.
    monkeypatch.setattr("neuralab.training.population.CHUNK_SECONDS", 1e9)
    members = [_circles_model(seed) for seed in SEEDS]
    calls = []

    def hook(member, epoch, logs):
        calls.append((member, epoch))
        if member == 1 and epoch == 3:
            members[1].stop_training = True  # as the runner's Ctrl-C request does

    results = train_population(
        members, *TRAIN, seeds=SEEDS, epochs=6, validation_data=VALIDATION, on_epoch_end=hook
    )
    assert calls == [(m, e) for e in (1, 2, 3) for m in range(3)]
    assert [r.epochs_run for r in results] == [3, 3, 3]
    separate = []
    for seed in SEEDS:
        model = _circles_model(seed)
        result = train(
            model, *TRAIN, epochs=3, validation_data=VALIDATION, trainer="fused", seed=seed
        )
        separate.append((model, result))
    _assert_member_equals_its_run(list(zip(members, results, strict=True)), separate)


def test_ctrl_c_keeps_the_epochs_done_in_every_member():
    members = [_circles_model(seed) for seed in SEEDS]

    def hook(member, epoch, logs):
        if epoch == 1 and member == 2:
            raise KeyboardInterrupt

    results = train_population(members, *TRAIN, seeds=SEEDS, epochs=50, on_epoch_end=hook)
    # The first program runs one epoch (then chunks are sized by its time).
    assert [(r.interrupted, r.epochs_run) for r in results] == [(True, 1)] * 3
    # Each model holds the state of that epoch: 25 steps of 32 rows.
    assert [int(m.optimizer.iterations.value) for m in members] == [25] * 3


def test_member_callbacks_and_the_result_record():
    members = [_circles_model(seed) for seed in SEEDS[:2]]
    histories = [keras.callbacks.History(), keras.callbacks.History()]
    results = train_population(
        members,
        *TRAIN,
        seeds=SEEDS[:2],
        epochs=2,
        validation_data=VALIDATION,
        callbacks=[[histories[0]], [histories[1]]],
    )
    for history, result in zip(histories, results, strict=True):
        assert history.history["val_loss"] == pytest.approx(list(result.history["val_loss"]))
    assert histories[0].model is members[0] and histories[1].model is members[1]
    first = results[0]
    assert first.backend == "jax" and not first.interrupted
    assert first.notes[0].startswith("trained as member 1 of a population of 2 seeds (42, 7)")
    assert results[0].wall_time == results[1].wall_time > 0


def _functional(skip):
    inputs = keras.Input((2,))
    a = keras.layers.Dense(4)(inputs)
    b = keras.layers.Dense(4)(a)
    outputs = keras.layers.Dense(1)(keras.layers.Add()([a, b] if skip else [b, b]))
    model = keras.Model(inputs, outputs)
    model.compile(loss="mse", optimizer="adam")
    return model


def test_functional_models_are_compared_by_their_connections_not_names():
    # The second model's layers are numbered on from the first's (dense_3, ...).
    assert can_populate([_functional(True), _functional(True)]) is None
    assert can_populate([_functional(True), _functional(False)]) == (
        "model 1 differs from model 0 in its layers"
    )


def test_what_cannot_train_as_a_population_says_why():
    tensorflow_before = "tensorflow" in sys.modules
    a, b = _circles_model(1), _circles_model(2)
    assert can_populate([a, b], x=TRAIN[0], y=TRAIN[1]) is None
    # Comparing the models (Keras's serializer) does not import TensorFlow (seconds).
    if not tensorflow_before:
        assert "tensorflow" not in sys.modules
    assert can_populate([a]) is None
    assert can_populate([]) == "there are no models"
    assert can_populate([a, a]).startswith("the same model object is given twice")
    wider = _circles_model(2, width=8)
    assert can_populate([a, b, wider]) == "model 2 differs from model 0 in its layers"
    other_rate = _circles_model(2, lr=0.1)
    assert can_populate([a, other_rate]) == "model 1 differs from model 0 in its optimizer"
    sgd = _circles_model(2, optimizer=lambda: keras.optimizers.SGD(0.01))
    assert can_populate([a, sgd]) == "model 1 differs from model 0 in its optimizer"
    other_loss = _circles_model(2)
    other_loss.compile(loss="mse", optimizer=keras.optimizers.Adam(0.01), metrics=["accuracy"])
    assert can_populate([a, other_loss]) == "model 1 differs from model 0 in its loss or metrics"
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=3)
    assert can_populate([a, b], callbacks=[stop]) == (
        "callback EarlyStopping stops each seed at its own epoch"
    )
    scheduler = keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr)
    assert can_populate([a, b], callbacks=[scheduler]) == (
        "callback LearningRateScheduler reads or changes the model between epochs"
    )
    assert can_populate([a, b], x=[[0.0, 1.0]]) == "x is a list, not a NumPy array"
    with pytest.raises(
        NeuralabError,
        match="cannot train as one population: model 1 differs from model 0 in its layers",
    ):
        train_population([a, wider], *TRAIN, epochs=1, seeds=[1, 2])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epochs": 0}, "Received: epochs=0"),
        ({"batch_size": 0}, "Received: batch_size=0"),
        ({"seeds": [1]}, r"one seed per model \(2\). Received: seeds=\[1\]"),
        ({"callbacks": [[]]}, r"one list per model \(2\). Received: 1 lists"),
    ],
)
def test_invalid_arguments_are_refused(kwargs, message):
    models = [_circles_model(1), _circles_model(2)]
    with pytest.raises(NeuralabError, match=message):
        train_population(models, *TRAIN, **{"epochs": 1, "seeds": [1, 2], **kwargs})
    with pytest.raises(NeuralabError, match="`models` is empty"):
        train_population([], *TRAIN, epochs=1, seeds=[])


def test_population_pays_for_small_dense_models_only():
    model_7 = _circles_model(1)
    assert population_pays(model_7, members=5, batch_size=32, n_rows=800)
    assert not population_pays(model_7, members=1, batch_size=32, n_rows=800)
    set_random_seed(0)
    # The overfitting lab's Medium: 10,241 parameters, batch 500.
    hidden = [keras.layers.Dense(64, activation="elu") for _ in range(3)]
    medium = keras.Sequential([keras.Input((28,)), *hidden, keras.layers.Dense(1)])
    assert not population_pays(medium, members=5, batch_size=500, n_rows=10_000)
    conv = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3)])
    assert not population_pays(conv, members=5, batch_size=32, n_rows=800)
    assert explain_population_choice(model_7, members=5, batch_size=32, n_rows=800) == (
        "population: 5 seeds of a model doing 1,184 multiply-adds per step (at most "
        "1,000,000 pay, benchmarks/population.py)"
    )
    # 37 parameters x 20 rows: a step holds at most the training rows.
    assert "740 multiply-adds" in explain_population_choice(
        model_7, members=2, batch_size=32, n_rows=20
    )
    assert explain_population_choice(medium, members=5, batch_size=500, n_rows=10_000) == (
        "separate runs: 5 seeds of a model doing 5,120,500 multiply-adds per step (at most "
        "1,000,000 pay, benchmarks/population.py)"
    )
    assert explain_population_choice(conv, members=5, batch_size=32, n_rows=800) == (
        "separate runs: populations of Conv2D layers were not measured"
    )
    assert explain_population_choice(model_7, members=1, batch_size=32, n_rows=800) == (
        "separate runs: one seed"
    )
