"""The pizza-steak lab: the chapter's models with their exact parameter counts, a quick offline
run on the generated photo folder with every report item, and evaluate / predict / data
commands on real files."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from neuralab.cli import app
from neuralab.data.food import write_food_folder
from neuralab.labs import load_lab_spec
from neuralab.models.builder import build_model
from neuralab.record import LayersRecord, RunDir, SpecRecord
from neuralab.runs.evaluate import evaluate_run, predict_files

# The chapter's model.summary() totals (models 1, 2, 3, 7) and Keras's count for 4, 5 and 6,
# whose tables the chapter does not show.
CHAPTER_PARAMS = {
    "model_1": 31_101,
    "model_2": 602_141,
    "model_3": 15_073_201,
    "model_4": 477_341,
    "model_5": 8_861,
    "model_6": 8_861,
    "model_7": 31_101,
}


def _invoke(*args):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.mark.parametrize(("name", "params"), CHAPTER_PARAMS.items())
def test_chapter_models_have_the_chapters_parameter_counts(name, params):
    spec = load_lab_spec("pizza-steak")[name]
    model = build_model(spec.model, input_shape=(224, 224, 3))
    assert model.count_params() == params


def test_lab_spec_follows_the_chapter():
    spec = load_lab_spec("pizza-steak")
    for exp in spec.experiments:
        assert exp.fit.epochs == 5 and exp.fit.batch_size == 32
        assert (
            exp.compile.optimizer.type == "Adam" and exp.compile.loss.type == "binary_crossentropy"
        )
        assert exp.data.params["target_size"] == [224, 224]
        assert exp.report.baseline == 0.5076
    chapter_augmentation = {
        "rotation_range": 20,
        "shear_range": 0.2,
        "zoom_range": 0.2,
        "width_shift_range": 0.2,
        "height_shift_range": 0.2,
        "horizontal_flip": True,
    }
    assert spec["model_6"].augment == chapter_augmentation == spec["model_7"].augment
    assert not spec["model_5"].augment
    assert [c.name for c in spec.compare] == ["augmentation", "all_models"]


@pytest.fixture(scope="module")
def quick_lab(pizza_notebook):
    """The quick lab that the pizza-steak notebook trained (once for the session, in a
    kernel of its own: the auto backend rule picks TensorFlow for the CNNs there, while the
    tests' own process uses JAX). Attributes: ``lab`` and ``data`` (its NEURALAB_DATA)."""
    return pizza_notebook


def _json(path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_quick_lab_runs_offline_on_the_generated_folder(quick_lab):
    lab = _json(quick_lab.lab / "lab.json")
    assert lab["experiments"] == list(CHAPTER_PARAMS) and lab["status"] == "complete"
    assert lab["backend"] == "tensorflow"
    assert lab["backend_reason"].startswith("tensorflow: CPU with convolutions (Conv2D)")
    for name in CHAPTER_PARAMS:
        metrics = _json(quick_lab.lab / name / "metrics.json")
        assert metrics["training"]["epochs_run"] == 2
        # Convolutions on a CPU train on TensorFlow: model.fit, with the reason recorded.
        assert metrics["training"]["trainer"] == "fit"
        assert "model.fit used: backend is tensorflow, not jax" in metrics["training"]["notes"]
        assert metrics["splits"] == {"train": 120, "test": 40}
        assert metrics["data_name"] == "pizza_steak_generated"
        assert metrics["class_names"] == ["pizza", "steak"]
    html = (quick_lab.lab / "report.html").read_text(encoding="utf-8")
    assert "No photo folder was given, so this ran on a generated stand-in" in html
    assert "Data augmentation: model_5 (without) vs model_6 (with)" in html
    for png in (
        "compare_augmentation_loss",
        "compare_augmentation_accuracy",
        "compare_all_models_accuracy",
    ):
        assert (quick_lab.lab / "plots" / f"{png}.png").stat().st_size > 10_000, png
    run_dir = quick_lab.lab / "model_1"
    for png in ("history_loss", "history_accuracy", "confusion", "first", "top_losses", "weights"):
        assert (run_dir / "plots" / f"{png}.png").exists(), png
    evaluation = _json(run_dir / "evaluation.json")
    assert evaluation["class_names"] == ["pizza", "steak"] and evaluation["n"] == 40
    spec = RunDir(run_dir).read(SpecRecord)
    assert spec.section("report")["baseline"] == 0.5076 and spec.quick is True


def test_rescaling_and_augmentation_sit_in_front_of_the_model(quick_lab):
    def layer_types(name):
        return [r["type"] for r in RunDir(quick_lab.lab / name).read(LayersRecord).layers]

    assert layer_types("model_5")[:2] == ["Rescaling", "Conv2D"]
    augmented = layer_types("model_6")
    assert (
        augmented[0] == "Rescaling" and "RandomRotation" in augmented and "RandomFlip" in augmented
    )
    assert augmented.index("Conv2D") > augmented.index("RandomRotation")


def test_augmentation_acts_on_training_batches_only(quick_lab):
    # A model trained on TensorFlow, loaded here on JAX: the .keras file is portable.
    from neuralab.runs.evaluate import load_run_model

    model, _ = load_run_model(quick_lab.lab / "model_6")
    x = np.random.default_rng(0).integers(0, 256, (4, 64, 64, 3)).astype("float32")
    first = np.asarray(model(x, training=False))
    np.testing.assert_allclose(first, np.asarray(model(x, training=False)))
    front = [
        layer
        for layer in model.layers
        if not layer.name.startswith(("conv", "max", "flat", "dense"))
    ]
    trunk = keras.Sequential([keras.Input((64, 64, 3)), *front])
    np.testing.assert_allclose(np.asarray(trunk(x, training=False)), x / 255, rtol=1e-6)
    assert not np.allclose(np.asarray(trunk(x, training=True)), x / 255, atol=1e-3)


def test_evaluate_command_on_a_lab_run(quick_lab, monkeypatch):
    monkeypatch.setenv("NEURALAB_DATA", str(quick_lab.data))
    run_dir = quick_lab.lab / "model_4"
    result = _invoke("evaluate", str(run_dir))
    assert result.exit_code == 0, result.output
    assert "precision" in result.output and "recall" in result.output
    assert "Confusion matrix" in result.output and "taken for" in result.output
    evaluation = evaluate_run(run_dir, write=False)
    assert evaluation.evaluation.class_names == ("pizza", "steak")
    assert evaluation.confusion_display().figure_ is not None


def test_evaluate_on_another_folder(quick_lab, tmp_path, monkeypatch):
    monkeypatch.setenv("NEURALAB_DATA", str(quick_lab.data))
    other = write_food_folder(tmp_path / "other", n_train=4, n_test=6, seed=3)
    result = evaluate_run(quick_lab.lab / "model_1", data=other, write=False)
    assert len(result.evaluation.y_true) == 12
    assert str(other) in result.data_source


def test_predict_images_of_any_size_and_format(quick_lab, tmp_path):
    from neuralab.data.food import draw_food

    pizza = tmp_path / "my_pizza.png"
    draw_food("pizza", 12345).save(pizza)
    steak = tmp_path / "steak.jpg"
    draw_food("steak", 54321).convert("L").save(steak)
    run_dir = quick_lab.lab / "model_7"
    result = _invoke(
        "predict", str(run_dir), str(pizza), str(steak), "--output", str(tmp_path / "p.png")
    )
    assert result.exit_code == 0, result.output
    assert "my_pizza.png" in result.output and (
        "pizza" in result.output or "steak" in result.output
    )
    assert (tmp_path / "p.png").stat().st_size > 5_000
    predictions = predict_files(run_dir, [pizza, steak])
    assert predictions.probabilities.shape == (2, 2)
    np.testing.assert_allclose(predictions.probabilities.sum(axis=1), 1, rtol=1e-6)
    assert set(predictions.classes) <= {"pizza", "steak"}


def test_predict_bad_inputs(quick_lab, tmp_path):
    run_dir = quick_lab.lab / "model_1"
    result = _invoke("predict", str(run_dir), str(tmp_path / "missing.jpg"))
    assert result.exit_code == 1 and f"{tmp_path / 'missing.jpg'}: no such file." in result.output
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    result = _invoke("predict", str(run_dir), str(bad))
    assert result.exit_code == 1 and f"{bad}: cannot read this image" in result.output


def test_data_info_preview_and_augment_preview(tmp_path):
    root = write_food_folder(tmp_path / "ps", n_train=5, n_test=2, seed=1)
    (root / "train" / "pizza" / "broken.jpg").write_bytes(b"\xff\xd8garbage")
    (root / "train" / "pizza" / "notes.txt").write_text("x")
    result = _invoke("data", "info", str(root))
    assert result.exit_code == 0, result.output
    assert "train" in result.output and "test" in result.output
    assert "Unreadable images: 1" in result.output and "broken.jpg" in result.output
    assert "Ignored (not JPEG/PNG/BMP/GIF): 1" in result.output
    assert "distinct sizes" in result.output
    out = tmp_path / "preview.png"
    result = _invoke("data", "preview", str(root), "--n", "4", "--seed", "0", "--output", str(out))
    assert result.exit_code == 0, result.output
    with Image.open(out) as preview:
        assert preview.size[0] > 300
    out = tmp_path / "aug.png"
    result = _invoke(
        "data", "augment-preview", str(root), "--n", "2", "--size", "64", "--output", str(out)
    )
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 5_000
    result = _invoke("data", "augment-preview", str(root), "--augment", "rotation_rang=20")
    assert result.exit_code == 1 and "rotation_rang" in result.output


def test_data_fetch_pizza_steak_checks_the_size(http_server, tmp_path, monkeypatch):
    http_server.files["/m/pizza_steak.zip"] = b"PK\x05\x06" + b"\x00" * 18  # an empty zip
    monkeypatch.setenv("NEURALAB_DATA", str(tmp_path / "datasets"))
    result = _invoke("--quiet", "data", "fetch", "pizza-steak", "--mirror", http_server.url("/m"))
    assert result.exit_code == 1
    assert "pizza_steak.zip: expected 109,497,985 bytes, got 22." in result.output
    assert not (tmp_path / "datasets" / "pizza-steak").exists()


def test_data_option_with_a_missing_folder(tmp_path):
    result = _invoke(
        "lab", "pizza-steak", "--quick", "--backend", "jax", "--data", str(tmp_path / "nope")
    )
    assert result.exit_code == 1 and "nope: no such folder." in result.output
