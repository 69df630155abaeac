"""Multi-class runs end to end: softmax on spirals and blobs, class names from the spec in every
table and figure, one-hot labels, and the clear errors for labels that do not fit."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from neuralab.cli import app
from neuralab.config import load_experiments
from neuralab.data import Dataset, make_blobs
from neuralab.errors import ShapeError
from neuralab.runs import run_experiment

SPIRALS = """
name = "spirals"
seed = 3
data = {name = "spirals", n_samples = 600, n_classes = 3, noise = 0.15, test_size = 0.2, shuffle = true, class_names = ["red", "green", "blue"]}
model.layers = [
  {type = "Dense", units = 64, activation = "relu"},
  {type = "Dense", units = 64, activation = "relu"},
  {type = "Dense", units = 3, activation = "softmax"},
]
compile = {loss = "sparse_categorical_crossentropy", optimizer = "Adam", learning_rate = 0.01}
fit = {epochs = 120, batch_size = 32}
"""


def test_softmax_on_spirals_with_named_classes_everywhere(tmp_path, write_toml):
    spec = load_experiments(write_toml(SPIRALS)).experiments[0]
    result = run_experiment(spec, output=tmp_path)
    assert result.metric("test") >= 0.9, result.metrics
    run = result.path
    with np.load(run / "plots" / "decision_boundary.npz") as grid:
        assert list(grid["class_names"]) == ["red", "green", "blue"]
        assert set(np.unique(grid["predictions"])) == {0, 1, 2}  # argmax of the softmax
    evaluation = json.loads((run / "evaluation.json").read_text())
    assert evaluation["class_names"] == ["red", "green", "blue"]
    assert {"red", "green", "blue"} <= set(evaluation["report"])
    assert np.array(evaluation["confusion"]).shape == (3, 3)
    assert json.loads((run / "metrics.json").read_text())["class_names"] == ["red", "green", "blue"]
    html = (run / "report.html").read_text(encoding="utf-8")
    assert html.count(">blue<") >= 1 and "Confusion matrix" in html
    for png in ("decision_boundary", "confusion", "history", "weights"):
        assert (run / "plots" / f"{png}.png").exists(), png
    assert not (run / "plots" / "predictions.npz").exists()  # 2-D points are not images


def test_onehot_labels_with_categorical_crossentropy(tmp_path, write_toml):
    blobs = make_blobs(300, n_classes=4, seed=0)
    onehot = Dataset(
        x=blobs.x, y=np.eye(4, dtype=np.float32)[blobs.y], name="blobs", source="blobs"
    )
    assert onehot.label_kind == "onehot" and onehot.n_classes == 4
    spec = load_experiments(
        write_toml(
            """
name = "onehot"
data = {name = "blobs", test_size = 60}
model.layers = [{type = "Dense", units = 16, activation = "relu"}, {type = "Dense", units = 4, activation = "softmax"}]
compile = {loss = "categorical_crossentropy", optimizer = "Adam", learning_rate = 0.02}
fit = {epochs = 30}
"""
        )
    ).experiments[0]
    result = run_experiment(spec, output=tmp_path, data=onehot)
    evaluation = json.loads((result.path / "evaluation.json").read_text())
    assert evaluation["n"] == 60 and np.array(evaluation["confusion"]).sum() == 60
    assert abs(evaluation["accuracy"] - result.metric("test")) < 1e-6


def test_onehot_labels_with_a_sparse_loss_is_an_error(tmp_path):
    from neuralab.config import ExperimentSpec, Layer, ModelSpec

    blobs = make_blobs(100, n_classes=3)
    onehot = Dataset(x=blobs.x, y=np.eye(3, dtype=np.float32)[blobs.y], name="blobs")
    spec = ExperimentSpec(
        name="bad",
        data={"name": "blobs"},  # type: ignore[arg-type]
        model=ModelSpec(layers=(Layer("Dense", units=3, activation="softmax"),)),
        compile={"loss": "sparse_categorical_crossentropy"},  # type: ignore[arg-type]
    )
    with pytest.raises(
        ShapeError,
        match=r"the labels are one-hot \(3 columns\) but sparse_categorical_crossentropy expects class ids",
    ):
        run_experiment(spec, output=tmp_path, data=onehot)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            'model.layers = [{type = "Dense", units = 10, activation = "softmax"}]',
            "the output layer has 10 units (one per class) but the data have 3 classes",
        ),
        (
            'model.layers = [{type = "Dense", units = 3, activation = "softmax"}]\n',
            "data.class_names: 10 names given for the 3 classes of the data.",
        ),
    ],
)
def test_a_spec_asking_for_10_classes_on_data_with_3(tmp_path, write_toml, extra, message):
    path = write_toml(
        'name = "ten"\ncompile = {loss = "sparse_categorical_crossentropy"}\n'
        + extra
        + '\n[data]\nname = "blobs"\nn_classes = 3\n'
        + (
            "class_names = ['a','b','c','d','e','f','g','h','i','j']\n"
            if "class_names" in message
            else ""
        )
    )
    result = CliRunner().invoke(app, ["run", str(path), "--output", str(tmp_path / "runs")])
    assert result.exit_code == 1
    assert message in result.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
