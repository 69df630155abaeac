"""A table of two columns draws a decision boundary only when both are numbers."""

from __future__ import annotations

from pathlib import Path

from neuralab.config import load_experiments
from neuralab.record import files
from neuralab.runs.file_runner import run_experiment_file

SPEC = """
[[experiments]]
name = "{name}"
data = {{name = "csv", path = "{csv}", label = "classe"}}
model.layers = [
  {{type = "Dense", units = 4, activation = "relu"}},
  {{type = "Dense", units = 1, activation = "sigmoid"}},
]
fit.epochs = 3
"""


def _table(path: Path, second: str) -> Path:
    header = "turno" if second == "text" else "x2"
    rows = [f"x1;{header};classe"]
    for i in range(60):
        other = ("manhã", "tarde")[i % 2] if second == "text" else f"{(i % 7) / 7:.3f}"
        rows.append(f"{i / 60:.3f};{other};{('sim', 'não')[i % 2]}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_only_two_numeric_columns_get_a_decision_boundary(tmp_path):
    for name, second, drawn in (("numbers", "numbers", True), ("turnos", "text", False)):
        csv = _table(tmp_path / f"{name}.csv", second)
        spec = tmp_path / f"{name}.toml"
        spec.write_text(SPEC.format(name=name, csv=csv.name), encoding="utf-8")
        run = run_experiment_file(load_experiments(spec), name=name, output=tmp_path / "runs")
        result = run[name]
        assert result.splits.train.sample_shape == (2,)
        assert result.splits.train.plane is drawn
        assert (result.path / files.BOUNDARY).exists() is drawn
        assert (result.path / "plots" / "decision_boundary.png").exists() is drawn
        html = (result.path / files.REPORT).read_text(encoding="utf-8")
        assert html.count("<img") >= 2  # curves and confusion matrix either way
