from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from neuralab.config import ExperimentSpec, Layer, ModelSpec, load_experiments
from neuralab.data import make_circles
from neuralab.runs import run_experiment
from neuralab.training.trainer import train

SRC = Path(__file__).resolve().parents[2] / "src"


class _StopAt(keras.callbacks.Callback):
    def __init__(self, epoch: int) -> None:
        super().__init__()
        self.stop_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.stop_epoch:
            raise KeyboardInterrupt


def _spec(**fit) -> ExperimentSpec:
    return ExperimentSpec(
        name="exp",
        data={"name": "circles", "n_samples": 200, "test_size": 50},  # type: ignore[arg-type]
        model=ModelSpec(
            layers=(
                Layer("Dense", units=4, activation="relu"),
                Layer("Dense", units=1, activation="sigmoid"),
            )
        ),
        fit={"epochs": 20, **fit},  # type: ignore[arg-type]
    )


def test_ctrl_c_leaves_a_readable_incomplete_run(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        run_experiment(_spec(), output=tmp_path, callbacks=[_StopAt(3)])
    (run,) = tmp_path.iterdir()
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "incomplete" and status["reason"] == "interrupted (Ctrl-C)"
    assert status["epochs_run"] == 3
    assert len(pd.read_csv(run / "history.csv", index_col=0)) == 3
    html = (run / "report.html").read_text()
    assert "Interrupted" in html and "incomplete" in html
    assert not list(run.rglob("*.tmp"))


@pytest.mark.parametrize(
    "moment",
    [
        "run/status.json",  # the run has started: its first epoch is still to be compiled
        "run/history.csv",  # its first epoch is recorded: training is under way
    ],
)
def test_sigint_to_the_cli_process(tmp_path, write_toml, moment, children_take_sigint):
    # Far more epochs than can run before the signal: the run cannot have finished by then.
    spec = write_toml(
        """
data = {name = "circles", n_samples = 400, test_size = 100}
model.layers = [{type = "Dense", units = 4, activation = "relu"}, {type = "Dense", units = 1, activation = "sigmoid"}]
fit.epochs = 1000000000
""",
        name="long.toml",
    )
    out = tmp_path / "runs"
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["PYTHONPATH"] = str(SRC)
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")  # a fresh clone's cold XLA cache
    proc = subprocess.Popen(
        [sys.executable, "-m", "neuralab", "--quiet", "run", str(spec), "-o", str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        pattern = "*/long/" + moment.removeprefix("run/")
        hung = time.monotonic() + 600  # only so that a hung CLI cannot hang the test run
        while not list(out.glob(pattern)) and proc.poll() is None:
            if time.monotonic() > hung:
                pytest.fail(f"no {pattern} after 10 minutes")
            time.sleep(0.05)
        assert proc.poll() is None, (
            f"exited {proc.returncode} before the signal:\n{proc.stderr.read()}"
        )
        proc.send_signal(signal.SIGINT)
        try:
            _, stderr = proc.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            pytest.fail("the SIGINT was lost: the run went on training")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stderr
    assert "Interrupted" in stderr
    run = next(out.glob("*/long"))
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "incomplete" and status["reason"] == "interrupted (Ctrl-C)"
    assert len(pd.read_csv(run / "history.csv", index_col=0)) == status["epochs_run"] >= 1
    lab = json.loads((run.parent / "lab.json").read_text())
    assert lab["status"] == "incomplete"
    assert "incomplete" in (run.parent / "report.html").read_text()
    assert "interrupted (Ctrl-C)" in (run / "report.html").read_text()


def test_train_accepts_any_keras_model():
    data = make_circles(300, noise=0.03, seed=0)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        loss="binary_crossentropy", optimizer=keras.optimizers.Adam(0.03), metrics=["accuracy"]
    )
    result = train(model, data.x, data.y, epochs=60, validation_data=(data.x[:50], data.y[:50]))
    assert result.epochs_run == 60 and result.backend == "jax"
    assert result.history["accuracy"].iloc[-1] > 0.9
    assert result.best_epoch == int(result.history["val_loss"].idxmin())


def test_train_rejects_uncompiled_model():
    from neuralab.errors import NeuralabError

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.raises(NeuralabError, match="not compiled"):
        train(model, np.zeros((4, 2)), np.zeros(4), epochs=1)


def test_early_stopping_from_the_spec(tmp_path):
    spec = _spec(
        epochs=200,
        callbacks=[
            {"type": "EarlyStopping", "monitor": "val_loss", "patience": 2, "min_delta": 0.5}
        ],
    )
    result = run_experiment(spec, output=tmp_path)
    assert result.training.epochs_run < 200


def test_per_epoch_schedule_is_recorded(tmp_path):
    result = run_experiment(_spec(epochs=5, lr_schedule="1e-3 * 2**epoch"), output=tmp_path)
    assert result.training.history["learning_rate"].tolist() == pytest.approx(
        [1e-3, 2e-3, 4e-3, 8e-3, 16e-3]
    )


def test_expectations_are_checked(tmp_path, write_toml):
    path = write_toml(
        """
data = {name = "circles", n_samples = 400, test_size = 100}
model.layers = [{type = "Dense", units = 8, activation = "relu"}, {type = "Dense", units = 1, activation = "sigmoid"}]
compile.learning_rate = 0.03
fit.epochs = 40
expect = [{metric = "test_accuracy", min = 0.95}, {metric = "train_accuracy", max = 0.5}]
""",
    )
    spec = load_experiments(path).experiments[0]
    result = run_experiment(spec, output=tmp_path / "runs")
    assert [e["passed"] for e in result.expectations] == [True, False]


def test_run_experiment_with_a_user_built_model(tmp_path):
    spec = ExperimentSpec(
        name="mine",
        data={"name": "circles", "n_samples": 300, "test_size": 60},
        compile={"learning_rate": 0.03},
        fit={"epochs": 40},
    )  # type: ignore[arg-type]
    keras.utils.set_random_seed(0)
    inputs = keras.Input((2,))
    hidden = keras.layers.Dense(16, activation="relu")(inputs)
    outputs = keras.layers.Dense(1, activation="sigmoid")(hidden)
    model = keras.Model(inputs, outputs)  # functional, not compiled: spec.compile is used
    result = run_experiment(spec, output=tmp_path, model=model)
    assert result.model is model
    assert type(model.optimizer).__name__ == "Adam"
    assert result.metrics["train"]["accuracy"] > 0.8
    assert (result.path / "model.keras").exists()


def test_user_model_is_checked_by_the_shape_doctor(tmp_path):
    from neuralab.errors import ShapeError

    spec = ExperimentSpec(name="mine", data={"name": "blobs", "n_classes": 3, "n_samples": 90})  # type: ignore[arg-type]
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam")
    with pytest.raises(ShapeError, match="3 classes with a 1-unit output"):
        run_experiment(spec, output=tmp_path, model=model)
    assert not any(tmp_path.iterdir())


def test_a_spec_without_model_needs_one(tmp_path):
    from neuralab.errors import SpecError

    spec = ExperimentSpec(name="mine", data={"name": "circles"})  # type: ignore[arg-type]
    with pytest.raises(
        SpecError, match="no model: give `model` in the spec, or pass a keras.Model"
    ):
        run_experiment(spec, output=tmp_path)


def test_keras_schedule_as_learning_rate(tmp_path, write_toml):
    path = write_toml(
        """
data = {name = "circles", n_samples = 320, test_size = 64}
model.layers = [{type = "Dense", units = 4, activation = "relu"}, {type = "Dense", units = 1, activation = "sigmoid"}]
compile.learning_rate = {type = "InverseTimeDecay", initial_learning_rate = 0.01, decay_steps = 8, decay_rate = 1.0}
fit.epochs = 3
""",
    )
    result = run_experiment(load_experiments(path).experiments[0], output=tmp_path / "runs")
    # 256 rows / 32 = 8 steps per epoch: after epoch e the rate is 0.01 / (1 + e).
    assert result.training.history["learning_rate"].tolist() == pytest.approx(
        [0.01 / 2, 0.01 / 3, 0.01 / 4], rel=1e-6
    )
