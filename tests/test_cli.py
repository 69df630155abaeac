from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from neuralab import __version__
from neuralab.cli import app

runner = CliRunner()


def _invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def _only_dir(root: Path) -> Path:
    dirs = [p for p in root.iterdir() if p.is_dir()]
    assert len(dirs) == 1, dirs
    return dirs[0]


def test_version():
    result = _invoke("--version")
    assert result.exit_code == 0, result.output
    assert __version__ in result.output


def test_labs_lists_circles():
    result = _invoke("labs")
    assert result.exit_code == 0, result.output
    assert "circles" in result.output and "circles-chapter.md" in result.output


def test_lab_help_lists_the_choices():
    result = runner.invoke(app, ["lab", "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    for choices in ("<auto|jax|tensorflow|torch>", "<auto|fused|fit>", "<en|pt>"):
        assert choices in result.output, result.output
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "<bar|dots>" in result.output, result.output


def test_choices_match_what_the_library_accepts():
    from neuralab.backend import BACKENDS
    from neuralab.cli.choices import Backend, Lang, Trainer, choice_values
    from neuralab.reports.i18n import LANGUAGES
    from neuralab.training.trainer import TRAINERS

    assert set(choice_values(Backend)) == set(BACKENDS)
    assert set(choice_values(Trainer)) == set(TRAINERS)
    assert set(choice_values(Lang)) == set(LANGUAGES)


def test_cli_modules_stay_short():
    import neuralab.cli

    modules = sorted(Path(neuralab.cli.__file__).parent.glob("*.py"))
    assert len(modules) > 5, modules
    lengths = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in modules}
    assert all(n < 400 for n in lengths.values()), lengths


def test_run_writes_a_complete_run_directory(tiny_spec, tmp_path):
    out = tmp_path / "runs"
    result = _invoke("--quiet", "run", str(tiny_spec), "--output", str(out))
    assert result.exit_code == 0, result.output
    lab_dir = _only_dir(out)
    assert result.output.strip().endswith(str(lab_dir / "report.html"))
    run = lab_dir / "small"
    for name in (
        "spec.json",
        "history.csv",
        "metrics.json",
        "model.keras",
        "summary.txt",
        "env.json",
        "report.html",
        "plots/history.png",
        "plots/decision_boundary.png",
    ):
        assert (run / name).exists(), name
    assert json.loads((run / "status.json").read_text())["status"] == "complete"
    history = pd.read_csv(run / "history.csv", index_col=0)
    assert list(history.index) == [1, 2, 3]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"} <= set(history.columns)
    assert history["learning_rate"].tolist() == pytest.approx([0.01] * 3)
    env = json.loads((run / "env.json").read_text())
    assert env["backend"] == "jax" and env["seed"] == 1 and "keras" in env["packages"]
    assert "Total params: 17" in (run / "summary.txt").read_text()
    html = (lab_dir / "report.html").read_text()
    assert "data:image/png;base64," in html and "small" in html
    # No temporary files left behind.
    assert not [p for p in lab_dir.rglob(".*") if p.is_file()]


def test_report_rebuilds_from_files_in_portuguese(tiny_spec, tmp_path):
    out = tmp_path / "runs"
    assert _invoke("--quiet", "run", str(tiny_spec), "-o", str(out)).exit_code == 0
    run = _only_dir(out) / "small"
    (run / "report.html").unlink()
    (run / "plots" / "history.png").unlink()
    result = _invoke("report", str(run), "--lang", "pt")
    assert result.exit_code == 0, result.output
    html = (run / "report.html").read_text()
    for word in ("Perda", "Acurácia", "Treino", "Teste", "Relatório do treino"):
        assert word in html
    assert (run / "plots" / "history.png").exists()


# ----------------------------------------------------------------- bad input: one line, exit 1


def _assert_user_error(result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    text = " ".join(result.output.split())
    assert text.startswith("Error:"), text
    for fragment in fragments:
        assert fragment in text, text


def test_missing_spec(tmp_path):
    result = _invoke("run", str(tmp_path / "missing.toml"))
    _assert_user_error(result, "missing.toml: spec file not found")


def test_malformed_toml(write_toml):
    path = write_toml("[fit\nepochs = 3\n")
    _assert_user_error(_invoke("run", str(path)), "malformed TOML", "line 1")


def test_unknown_layer_writes_nothing(write_toml, tmp_path, tiny_spec_text):
    path = write_toml(
        tiny_spec_text.replace('type = "Dense", units = 4', 'type = "Dence", units = 4')
    )
    out = tmp_path / "runs"
    result = _invoke("run", str(path), "-o", str(out))
    _assert_user_error(
        result,
        "experiments[0] (small).model.layers[0].type: unknown layer 'Dence'",
        "Did you mean 'Dense'?",
    )
    assert not out.exists()


def test_shape_doctor_stops_before_training(write_toml, tmp_path):
    path = write_toml(
        """
[[experiments]]
name = "three"
data = {name = "blobs", n_classes = 3, n_samples = 90}
model.layers = [{type = "Dense", units = 1, activation = "sigmoid"}]
"""
    )
    result = _invoke("run", str(path), "-o", str(tmp_path / "runs"))
    _assert_user_error(result, "data and model do not fit", "3 classes with a 1-unit output")
    assert not (tmp_path / "runs").exists()


def test_output_not_writable(tiny_spec, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    result = _invoke("run", str(tiny_spec), "-o", str(blocker / "runs"))
    _assert_user_error(result, "output directory is not writable", "--output DIR")


def test_unknown_lab():
    _assert_user_error(_invoke("lab", "circle"), "`lab` must be one of", "Did you mean 'circles'?")


def test_bad_backend_and_lang(tiny_spec):
    _assert_user_error(
        _invoke("run", str(tiny_spec), "--backend", "jaxx"), "`backend` must be one of"
    )
    _assert_user_error(
        _invoke("run", str(tiny_spec), "--lang", "fr"), "`lang` must be one of {'en', 'pt'}"
    )


def test_other_backend_than_the_imported_one(tiny_spec):
    # Keras is already imported with JAX in this process: a clear message, not a crash.
    _assert_user_error(
        _invoke("run", str(tiny_spec), "--backend", "tensorflow"),
        "already imported with the 'jax' backend",
    )


def test_unknown_experiment_name(tiny_spec):
    _assert_user_error(
        _invoke("run", str(tiny_spec), "-e", "smal"),
        "no experiment named 'smal'",
        "Did you mean 'small'?",
    )


def test_report_on_a_folder_that_is_not_a_run(tmp_path):
    _assert_user_error(_invoke("report", str(tmp_path)), "not a neuralab run directory")


def test_debug_shows_the_traceback(tmp_path):
    from neuralab.errors import SpecError

    with pytest.raises(SpecError):
        runner.invoke(
            app, ["--debug", "run", str(tmp_path / "missing.toml")], catch_exceptions=False
        )


def test_lr_find_writes_suggestions(tiny_spec, tmp_path):
    out = tmp_path / "runs"
    result = _invoke("lr-find", str(tiny_spec), "-o", str(out), "--steps", "30")
    assert result.exit_code == 0, result.output
    found = json.loads((_only_dir(out) / "lr_find.json").read_text())
    assert set(found["suggestions"]) == {"minimum/10", "steepest", "valley", "midpoint"}
    rates = found["learning_rates"]
    assert len(rates) == found["n_steps"] <= 30 and rates[0] == pytest.approx(1e-7)
    # Each suggestion is a rate that was tried (minimum/10: one tenth of one).
    assert min(abs(r - 10 * found["suggestions"]["minimum/10"]) / r for r in rates) < 1e-9
    for key in ("steepest", "valley"):
        assert min(abs(r - found["suggestions"][key]) / r for r in rates) < 1e-9
    assert found["suggestions"]["midpoint"] >= found["suggestions"]["steepest"]
    assert (_only_dir(out) / "plots" / "lr_find.png").exists()
