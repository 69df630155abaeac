"""A file of experiments: prepared once, the metric's own direction, records only."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import jinja2
import pandas as pd
import pytest
from PIL import Image

from neuralab.config import load_experiments
from neuralab.record import MetricsRecord, RunDir, files
from neuralab.reports.html import template_environment
from neuralab.reports.views import fit_summary, load_run
from neuralab.runs.compare import compare_runs
from neuralab.runs.file_runner import run_experiment_file

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "neuralab"

IMAGES = """
title = "images"
[defaults]
seed = 1
[defaults.data]
name = "image_folder"
path = "{path}"
target_size = 12
[defaults.fit]
epochs = 1
batch_size = 8
trainer = "fit"
[[experiments]]
name = "a"
model.layers = [{{type = "Flatten"}}, {{type = "Dense", units = 1, activation = "sigmoid"}}]
[[experiments]]
name = "b"
model.layers = [{{type = "Flatten"}}, {{type = "Dense", units = 2}}, {{type = "Dense", units = 1, activation = "sigmoid"}}]
[[experiments]]
name = "c"
model.layers = [{{type = "Flatten"}}, {{type = "Dense", units = 3}}, {{type = "Dense", units = 1, activation = "sigmoid"}}]
"""


def _folder(root: Path) -> Path:
    for split, n in (("train", 6), ("test", 2)):
        for label, color in (("pizza", (220, 40, 30)), ("steak", (90, 50, 30))):
            for i in range(n):
                path = root / split / label / f"{label}_{i}.jpg"
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.new("RGB", (20 + i, 18), color).save(path)
    broken = root / "train" / "pizza" / "pizza_0.jpg"
    broken.write_bytes(broken.read_bytes()[:120])  # truncated
    return root


def test_each_experiment_is_prepared_once_and_a_bad_image_is_reported_once(
    tmp_path, monkeypatch, caplog
):
    monkeypatch.setenv("NEURALAB_DATA", str(tmp_path / "cache" / "datasets"))
    folder = _folder(tmp_path / "photos")
    spec = tmp_path / "images.toml"
    spec.write_text(IMAGES.format(path=folder.as_posix()), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="neuralab.data.images"):
        lab = run_experiment_file(load_experiments(spec), name="images", output=tmp_path / "out")
    skipped = [r for r in caplog.records if "pizza_0.jpg" in r.getMessage()]
    assert len(skipped) == 1, [r.getMessage() for r in skipped]
    assert [run.name for run in lab.runs] == ["a", "b", "c"]
    assert all(run.metrics["train"] for run in lab.runs)
    # Every run trained on the same 11 readable images.
    assert {RunDir(run.path).read(MetricsRecord).splits["train"] for run in lab.runs} == {11}


CIRCLES = """
[defaults]
seed = 3
[defaults.data]
name = "circles"
n_samples = 200
test_size = 50
[defaults.fit]
epochs = {epochs}
batch_size = 16
[defaults.compile]
learning_rate = {lr}
metrics = ["accuracy", {{type = "AUC", name = "auc"}}]
[[experiments]]
name = "m"
model.layers = [{{type = "Dense", units = 4, activation = "relu"}}, {{type = "Dense", units = 1, activation = "sigmoid"}}]
fit.callbacks = [{{type = "EarlyStopping", monitor = "val_accuracy", patience = 100}}]
"""


def _run(tmp_path: Path, name: str, *, epochs: int, lr: float) -> Path:
    spec = tmp_path / f"{name}.toml"
    spec.write_text(CIRCLES.format(epochs=epochs, lr=lr), encoding="utf-8")
    lab = run_experiment_file(load_experiments(spec), name=name, output=tmp_path / name)
    return lab.runs[0].path


def test_the_metric_says_whether_higher_is_better(tmp_path):
    good = _run(tmp_path, "good", epochs=12, lr=0.05)
    record = RunDir(good).read(MetricsRecord)
    # Recorded from the Keras metric objects, as EarlyStopping(mode="auto") decides.
    assert record.directions == {"loss": "down", "accuracy": "up", "auc": "up"}
    view = load_run(good)
    summary = view.fit_summary
    assert summary is not None and summary.monitor == "val_accuracy"
    assert summary.best_epoch == int(view.history["val_accuracy"].idxmax())
    # A metric the old rule ("acc" in the name means higher is better) got wrong.
    history = pd.DataFrame(
        {"auc": [0.6, 0.9, 0.8], "val_auc": [0.6, 0.7, 0.95]},
        index=pd.RangeIndex(1, 4, name="epoch"),
    )
    spec = {"fit": {"callbacks": [{"type": "EarlyStopping", "monitor": "val_auc"}]}}
    found = fit_summary(history, spec, record)
    assert found is not None and found.best_epoch == 3 and found.best_value == 0.95
    # `compare` ranks by the recorded direction: the higher validation accuracy first.
    worse = _run(tmp_path, "worse", epochs=1, lr=0.0001)
    ranking = compare_runs([worse, good], rank_by="val_accuracy", output=None).ranking
    assert ranking[0]["run"].startswith("good-") and ranking[0]["best"] > ranking[1]["best"]
    ranking = compare_runs([worse, good], rank_by="val_auc", output=None).ranking
    assert ranking[0]["run"].startswith("good-")
    ranking = compare_runs([worse, good], rank_by="val_loss", output=None).ranking
    assert ranking[0]["run"].startswith("good-") and ranking[0]["best"] < ranking[1]["best"]


def test_templates_fail_on_a_missing_field_instead_of_printing_nothing(tmp_path):
    run = _run(tmp_path, "strict", epochs=1, lr=0.01)
    view = load_run(run)
    environment = template_environment()
    assert environment.undefined is jinja2.StrictUndefined
    with pytest.raises(jinja2.UndefinedError, match="no_such_field"):
        environment.from_string("{{ run.no_such_field }}").render(run=view)
    assert environment.from_string("{{ run.training.epochs_run }}").render(run=view) == "1"


def _string_constants(tree: ast.AST) -> list[tuple[int, str]]:
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if id(node) not in docstrings
    ]


def test_only_the_record_names_the_files_of_a_run():
    names = {
        value
        for key, value in vars(files).items()
        if key.isupper() and isinstance(value, str) and "." in value
    }
    assert {"metrics.json", "history.csv", "lab.json", "checkpoint.npz"} <= names
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent.name == "record":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for line, value in _string_constants(tree):
            if any(value == n or value.endswith("/" + n) for n in names):
                found.append(f"{path.relative_to(PACKAGE)}:{line}: {value!r}")
    assert not found, "spell these through neuralab.record.files:\n" + "\n".join(found)


def test_a_quick_lab_records_what_was_capped():
    from neuralab.labs import load_lab_spec
    from neuralab.runs.file_runner import _quick_caps

    assert _quick_caps(load_lab_spec("higgs-overfitting")) == (
        "data.validation = 500",
        "data.train = 1000",
        "fit.epochs = 10",
    )
    assert any(c.startswith("fit.epochs") for c in _quick_caps(load_lab_spec("fashion-mnist")))
