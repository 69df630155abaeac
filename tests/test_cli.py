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


# ----------------------------------------------------------------- issue 16: values refused


def _one_line_error(result, *fragments: str) -> str:
    _assert_user_error(result, *fragments)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert sum(line.startswith("Error:") for line in lines) == 1, result.output
    return " ".join(result.output.split())


def test_negative_regularizer_is_one_line_with_the_key_path(write_toml, tmp_path, tiny_spec_text):
    path = write_toml(
        tiny_spec_text.replace(
            'type = "Dense", units = 4,',
            'type = "Dense", units = 4, kernel_regularizer = {l2 = -1},',
        )
    )
    out = tmp_path / "runs"
    _one_line_error(
        _invoke("run", str(path), "-o", str(out)),
        f"{path}: experiments[0] (small).model.layers[0].kernel_regularizer: Keras rejected the "
        "regularizer {'l2': -1}",
        "Write non-negative factors, e.g. {l2 = 0.001}",
    )
    assert not out.exists()


def test_expectation_on_an_unknown_metric_is_refused_before_training(
    write_toml, tmp_path, tiny_spec_text
):
    path = write_toml(tiny_spec_text + 'expect = [{metric = "test_acuracy", min = 0.9}]\n')
    out = tmp_path / "runs"
    _one_line_error(
        _invoke("run", str(path), "-o", str(out)),
        f"{path}: experiments[0] (small).expect[0].metric: the run measures no 'test_acuracy'.",
        "Did you mean 'test_accuracy'?",
        "Valid names: train_loss, train_accuracy, validation_loss",
    )
    assert not out.exists()


def test_expectation_on_a_compiled_metric_is_accepted(write_toml, tmp_path, tiny_spec_text):
    from neuralab.config import load_experiments
    from neuralab.runs.runner import prepare_experiment

    path = write_toml(
        tiny_spec_text.replace("[defaults.fit]", 'metrics = ["accuracy", "AUC"]\n[defaults.fit]')
        + 'expect = [{metric = "validation_auc", min = 0.5}, {metric = "train_loss", max = 1}]\n'
    )
    prepare_experiment(load_experiments(path).experiments[0])


def test_too_large_test_size_names_the_file_and_key(write_toml, tmp_path, tiny_spec_text):
    path = write_toml(tiny_spec_text.replace("test_size = 40", "test_size = 5000"))
    out = tmp_path / "runs"
    _one_line_error(
        _invoke("run", str(path), "-o", str(out)),
        f"{path}: experiments[0] (small).data.test_size: asks for 5000 of 200 rows, leaving none "
        "to train on. Received: test_size=5000.",
        "Allowed: a row count from 0 to 199 or a fraction in [0, 1)",
    )
    assert not out.exists()


# ----------------------------------------------------------------- issue 16: output not a terminal

IMAGE_SPEC = """
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
"""


def test_data_info_finds_the_truncated_jpeg_a_run_skips_with_one_warning_line(tmp_path, write_toml):
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, n in (("train", 5), ("test", 2)):
        for label in ("pizza", "steak"):
            for i in range(n):
                path = tmp_path / "photos" / split / label / f"{label}_{i}.jpg"
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).save(path)
    broken = tmp_path / "photos" / "train" / "pizza" / "pizza_0.jpg"
    broken.write_bytes(broken.read_bytes()[:400])  # a real JPEG, cut: its header still reads
    result = _invoke("data", "info", str(tmp_path / "photos"))
    assert result.exit_code == 0, result.output
    assert "Unreadable images: 1" in result.output, result.output
    listed = next(line.strip() for line in result.output.splitlines() if str(broken) in line)
    assert listed.startswith(f"{broken} (OSError: ") and listed.endswith(")"), result.output
    reason = listed[len(f"{broken} (") : -1]  # e.g. "OSError: Truncated File Read"
    spec = write_toml(IMAGE_SPEC.format(path=(tmp_path / "photos").as_posix()))
    result = _invoke("--quiet", "run", str(spec), "-o", str(tmp_path / "runs"))
    assert result.exit_code == 0, result.output
    # CliRunner's stderr is not a terminal: each log record is one whole line, and this one
    # comes once although two experiments use the folder.
    mentions = [line for line in result.output.splitlines() if "pizza_0" in line]
    assert mentions == [f"WARNING: skipped unreadable image {broken} ({reason})"], result.output


LONG_NAME = "second_with_a_name_too_long_for_an_eighty_column_table"
SCHEDULE_SPEC = f"""
[defaults]
seed = 1
[defaults.data]
name = "circles"
n_samples = 200
test_size = 40
[defaults.compile]
learning_rate = 0.01
[defaults.fit]
epochs = 3
batch_size = 32

[[experiments]]
name = "first"
model.layers = [
  {{type = "Dense", units = 4, activation = "relu"}},
  {{type = "Dense", units = 1, activation = "sigmoid"}},
]

[[experiments]]
name = "{LONG_NAME}"
model.layers = [
  {{type = "Dense", units = 4, activation = "relu"}},
  {{type = "Dense", units = 1, activation = "sigmoid"}},
]
fit.lr_schedule = "1e-4 * 10**(epoch/20)"
"""


def test_not_a_terminal_progress_lines_as_they_happen_and_whole_tables(tmp_path, write_toml):
    import os
    import re
    import subprocess
    import sys

    spec = write_toml(SCHEDULE_SPEC)
    src = Path(__file__).resolve().parents[1] / "src"
    env = {**os.environ, "PYTHONPATH": str(src), "COLUMNS": "80", "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, "-m", "neuralab", "--progress", "bar", "run", str(spec)]
    lines: list[str] = []
    running_when_first_ended = None
    with subprocess.Popen(
        [*command, "-o", str(tmp_path / "runs")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("first: ") and running_when_first_ended is None:
                running_when_first_ended = proc.poll() is None
        returncode = proc.wait(timeout=600)
    output = "\n".join(lines)
    assert returncode == 0, output
    # A progress line per experiment, written (and flushed) when it ends, not at exit.
    for name in ("first", LONG_NAME):
        progress = [line for line in lines if line.startswith(f"{name}: ")]
        assert len(progress) == 1, output
        assert re.fullmatch(
            rf"{name}: 3/3 epochs  loss \d\.\d{{4}}  accuracy \d\.\d{{4}}  val_loss \d\.\d{{4}}  "
            r"val_accuracy \d\.\d{4}  \[\d:\d\d:\d\d\]",
            progress[0],
        ), progress[0]
    assert running_when_first_ended is True, output
    # The summary table is whole at COLUMNS=80: the long name and the schedule in one row.
    assert "…" not in output, output
    row = next(line for line in lines if line.startswith(f"│ {LONG_NAME} "))
    assert "│ 1e-4 * 10**(epoch/20) │" in row, output
    assert max(len(line) for line in lines) > 80


def test_the_summary_table_shows_a_per_epoch_lr_schedule(write_toml, tmp_path, tiny_spec_text):
    spec = write_toml(tiny_spec_text + 'fit.lr_schedule = "1e-3 * 10**(epoch/20)"\n')
    result = _invoke("run", str(spec), "-o", str(tmp_path / "runs"))
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if line.startswith("│ small "))
    assert "│ 1e-3 * 10**(epoch/20) │" in row, result.output
    assert "default" not in row


def test_confusion_matrix_class_names_are_never_cut(monkeypatch):
    import io

    from neuralab.cli import evaluate
    from neuralab.cli._app import _Console

    names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat"]
    names += ["Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    counts = [[1000 * (i == j) for j in range(10)] for i in range(10)]
    for terminal in (False, True):
        out = io.StringIO()
        shown = _Console(file=out, width=80, force_terminal=terminal, color_system=None)
        monkeypatch.setattr(evaluate, "console", shown)
        shown.print(evaluate._confusion_table(names, counts))
        text = out.getvalue()
        assert "…" not in text and all(name in text for name in names), text
        widest = max(len(line) for line in text.splitlines())
        # A terminal of 80 columns: columns by class number, rows "0 T-shirt/top".
        assert widest <= 80 if terminal else widest > 80, text
        assert ("0 T-shirt/top" in text) is terminal, text


def test_fetch_refuses_an_unverified_file_unless_allowed(http_server, monkeypatch):
    import shutil

    from neuralab.data import registry
    from neuralab.data.download import RemoteDataset, RemoteFile, datasets_dir

    http_server.files["/m/notes.txt"] = b"served without any digest header"
    url = http_server.url("/m/notes.txt")
    toy = RemoteDataset("fashion-mnist", (RemoteFile("notes.txt", url, None),))
    monkeypatch.setitem(registry.REMOTE_DATASETS, "fashion-mnist", toy)
    monkeypatch.delenv("NEURALAB_MIRROR", raising=False)
    for command in (["data", "fetch", "fashion-mnist"], ["lab", "fashion-mnist", "--fetch"]):
        result = _invoke(*command)
        _assert_user_error(
            result,
            f"{url}: cannot verify notes.txt",
            "Nothing was downloaded",
            "--allow-unverified",
        )
        assert not datasets_dir().exists() or not any(datasets_dir().iterdir())
    result = _invoke("data", "fetch", "fashion-mnist", "--allow-unverified")
    assert result.exit_code == 0, result.output
    folder = datasets_dir() / "fashion-mnist"
    record = json.loads((folder / "notes.txt.unverified.json").read_text())
    assert record["verified"] is False and record["url"] == url
    warning = [line for line in result.output.splitlines() if "UNVERIFIED" in line]
    assert len(warning) == 1 and warning[0].startswith(f"WARNING: {url}: accepted UNVERIFIED")
    assert "notes.txt: 32 bytes of 32 bytes  [" in result.output  # not a terminal: a line
    # The lab's --fetch takes the flag too (the run then stops at the bad --trainer).
    shutil.rmtree(folder)
    result = _invoke("lab", "fashion-mnist", "--fetch", "--allow-unverified", "--trainer", "x")
    assert result.exit_code == 1, result.output
    assert result.output.splitlines()[-1].startswith("Error: `trainer` must be one of")
    assert (folder / "notes.txt.unverified.json").exists()
