"""The fashion-mnist lab: the notebook's model (266,610 parameters), offline on digits with the
expected accuracy, and on Fashion-MNIST IDX files written here, with every report item."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from neuralab.cli import app
from neuralab.data.idx import write_idx
from neuralab.labs import load_lab_spec, run_lab
from neuralab.models.builder import build_model, count_params
from neuralab.record import LayersRecord, RunDir


def test_the_notebooks_model_and_summary_table():
    spec = load_lab_spec("fashion-mnist")["mlp"]
    model = build_model(spec.model, input_shape=(28, 28))
    # The notebook's model.summary(): flatten 0, dense 235,500, dense_1 30,100, dense_2 1,010.
    assert [layer.count_params() for layer in model.layers] == [0, 235_500, 30_100, 1_010]
    assert count_params(model)["total"] == 266_610
    assert spec.compile.loss.type == "sparse_categorical_crossentropy"
    assert spec.compile.optimizer.type == "SGD"
    assert spec.fit.epochs == 30 and spec.data.params == {"validation": 1000}
    assert spec.for_data("digits").fit.epochs == 200  # the stand-in's own setting
    assert spec.for_data("fashion-mnist") == spec


def write_learnable_fashion(folder, n_train=1400, n_test=300, seed=0):
    """Fashion-MNIST-shaped IDX files whose classes can be told apart: class k has a bright
    band at rows 2k..2k+5 over noise."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)

    def make(n):
        y = rng.integers(0, 10, n).astype(np.uint8)
        x = rng.integers(0, 90, (n, 28, 28)).astype(np.uint8)
        for i, k in enumerate(y):
            x[i, 2 * k : 2 * k + 6, 4:24] = 230
        return x, y

    for prefix, n in (("train", n_train), ("t10k", n_test)):
        x, y = make(n)
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", x)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", y)


@pytest.fixture(scope="module")
def offline_lab(tmp_path_factory):
    return run_lab("fashion-mnist", output=tmp_path_factory.mktemp("runs"))


def test_offline_lab_runs_on_digits_with_the_expected_accuracy(offline_lab):
    run = offline_lab["mlp"]
    assert run.splits.train.name == "digits"
    assert run.training.epochs_run == 200
    assert run.metric("test") >= 0.95, run.metrics
    assert [e["passed"] for e in run.expectations] == [True]  # the digits band only
    assert run.params["total"] == 64 * 300 + 300 + 30_100 + 1_010


def test_offline_report_has_every_item(offline_lab):
    html = offline_lab.report.read_text(encoding="utf-8")
    run_dir = offline_lab.path / "mlp"
    assert "Fashion-MNIST was not found" in html and "scikit-learn&#39;s digits" in html
    assert "the notebook divided only the training and validation images by 255" in html
    for section in (
        "Confusion matrix",
        "Classification report",
        "Most confused pairs",
        "First predictions",
        "Top losses",
        "Layers",
        "Output shape",
        "Weights",
    ):
        assert section in html, section
    for png in ("history", "confusion", "first", "top_losses", "weights"):
        assert (run_dir / "plots" / f"{png}.png").stat().st_size > 5_000, png
    evaluation = json.loads((run_dir / "evaluation.json").read_text())
    assert evaluation["split"] == "test" and evaluation["n"] == 360
    assert np.array(evaluation["confusion"]).sum() == 360
    assert abs(evaluation["accuracy"] - offline_lab["mlp"].metric("test")) < 1e-6
    assert set(evaluation["report"]) >= {"0", "9", "macro avg", "weighted avg"}
    layers = RunDir(run_dir).read(LayersRecord).layers
    assert [(r["type"], r["output_shape"], r["params"]) for r in layers] == [
        ("Flatten", "(None, 64)", 0),
        ("Dense", "(None, 300)", 19_500),
        ("Dense", "(None, 100)", 30_100),
        ("Dense", "(None, 10)", 1_010),
    ]
    weights = json.loads((run_dir / "weights.json").read_text())
    detail = weights["detail"]
    assert detail["layer"] == layers[1]["name"]  # weights_layer = 1, the notebook's layers[1]
    kernel = detail["weights"][0]
    assert kernel["shape"] == [64, 300] and sum(kernel["histogram"]["counts"]) == 64 * 300
    assert 0 < kernel["std"] < 1


def _fashion_lab_from_the_cli(tmp_path, *extra):
    """`neuralab --quiet lab fashion-mnist --quick` on written IDX files; (result, lab folder)."""
    write_learnable_fashion(tmp_path / "fm")
    out = tmp_path / "runs"
    args = ["--quiet", "lab", "fashion-mnist", "--quick", "--data", str(tmp_path / "fm"), *extra]
    result = CliRunner().invoke(app, [*args, "--output", str(out)], catch_exceptions=False)
    return result, next(out.iterdir(), None) if out.exists() else None


def test_trainer_fit_switches_a_lab_back_to_model_fit(tmp_path):
    result, lab_dir = _fashion_lab_from_the_cli(tmp_path, "--trainer", "fit")
    assert result.exit_code == 0, result.output
    metrics = json.loads((lab_dir / "mlp" / "metrics.json").read_text())
    assert metrics["training"]["trainer"] == "fit"
    assert not any(n.startswith("model.fit used") for n in metrics["training"]["notes"])
    assert metrics["training"]["epochs_run"] == 5
    assert metrics["metrics"]["test"]["accuracy"] > 0.5
    result, _ = _fashion_lab_from_the_cli(tmp_path / "typo", "--trainer", "fuse")
    assert result.exit_code == 1
    assert "`trainer` must be one of" in result.output and "Did you mean 'fused'?" in result.output


def test_lab_on_fashion_idx_files_from_the_cli(tmp_path):
    result, lab_dir = _fashion_lab_from_the_cli(tmp_path)
    assert result.exit_code == 0, result.output
    metrics = json.loads((lab_dir / "mlp" / "metrics.json").read_text())
    assert metrics["splits"] == {"train": 400, "validation": 1000, "test": 300}
    assert metrics["data_name"] == "fashion-mnist" and metrics["data_notes"] == []
    assert metrics["class_names"][9] == "Ankle boot"
    assert metrics["metrics"]["test"]["accuracy"] > 0.5  # learnable bands, 5 quick epochs
    assert metrics["training"]["trainer"] == "fused"
    evaluation = json.loads((lab_dir / "mlp" / "evaluation.json").read_text())
    assert evaluation["class_names"][0] == "T-shirt/top"
    html = (lab_dir / "report.html").read_text(encoding="utf-8")
    assert "fashion-mnist IDX files in" in html and "Ankle boot" in html
    assert "Fashion-MNIST was not found" not in html


def test_data_option_for_a_lab_that_generates_its_data(tmp_path):
    result = CliRunner().invoke(app, ["lab", "circles", "--data", str(tmp_path)])
    assert result.exit_code == 1
    assert "the 'circles' lab generates its own data and takes no --data" in result.output


def test_data_option_with_a_folder_that_lacks_the_files(tmp_path):
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(app, ["lab", "fashion-mnist", "--data", str(tmp_path / "empty")])
    assert result.exit_code == 1
    assert "missing IDX file(s) train-images-idx3-ubyte" in result.output
    assert not (tmp_path / "runs").exists()


def test_fetch_against_a_local_mirror_with_wrong_files(http_server, tmp_path, monkeypatch):
    for name in (
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ):
        http_server.files[f"/mirror/{name}"] = b"not the real file"
    monkeypatch.setenv("NEURALAB_DATA", str(tmp_path / "datasets"))
    result = CliRunner().invoke(
        app, ["--quiet", "data", "fetch", "fashion-mnist", "--mirror", http_server.url("/mirror")]
    )
    assert result.exit_code == 1
    assert (
        "train-images-idx3-ubyte.gz: checksum mismatch: expected md5 8d4fb7e6c68d591d4c3dfef9ec88bf0d"
        in result.output
    )
    assert not (tmp_path / "datasets" / "fashion-mnist").exists()
    assert http_server.requests[0] == ("/mirror/train-images-idx3-ubyte.gz", None)


def test_fetch_unknown_dataset():
    result = CliRunner().invoke(app, ["data", "fetch", "fashion"])
    assert result.exit_code == 1
    assert (
        "`name` must be one of {'fashion-mnist', 'pizza-steak'}. Received: name='fashion'. Did you mean 'fashion-mnist'?"
        in result.output
    )


def test_lab_fetch_uses_the_mirror_and_fails_cleanly(http_server, tmp_path, monkeypatch):
    monkeypatch.setenv("NEURALAB_MIRROR", http_server.url("/m"))
    monkeypatch.setenv("NEURALAB_DATA", str(tmp_path / "datasets"))
    result = CliRunner().invoke(
        app, ["--quiet", "lab", "fashion-mnist", "--fetch", "--output", str(tmp_path / "runs")]
    )
    assert result.exit_code == 1
    assert (
        "downloading " + http_server.url("/m/train-images-idx3-ubyte.gz") + " failed: Not Found"
        in result.output
    )
    assert (
        not (tmp_path / "runs").exists() and not (tmp_path / "datasets" / "fashion-mnist").exists()
    )
    result = CliRunner().invoke(app, ["lab", "circles", "--fetch"])
    assert result.exit_code == 1 and "the 'circles' lab has no data to fetch." in result.output
