"""The overfitting chapter: the HIGGS ladder's exact sizes and protocol, what the generated data
must show (larger models overfit sooner, L2 shrinks the gap), TensorBoard logs, the cat vs
non-cat lab, `neuralab compare`, EpochDots progress, and sweeps that give the same results
whatever the order or the number of worker processes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from neuralab.analysis.compare import HistoryComparisonDisplay, gaussian_smooth, normalise_keys
from neuralab.cli import app
from neuralab.config import ExperimentFile, load_experiments
from neuralab.labs import load_lab_spec
from neuralab.models.builder import build_model
from neuralab.runs.compare import compare_runs
from neuralab.runs.file_runner import run_experiment_file

LADDER = {"tiny": 481, "small": 753, "medium": 10_241, "large": 803_329, "giant": 3_179_521}


def test_higgs_ladder_sizes_and_protocol():
    spec = load_lab_spec("higgs-overfitting")
    for name, params in LADDER.items():
        assert build_model(spec[name].model, input_shape=(28,)).count_params() == params
    for name in ("l2", "dropout", "combined"):
        assert build_model(spec[name].model, input_shape=(28,)).count_params() == LADDER["large"]
    exp = spec["tiny"]
    assert exp.fit.batch_size == 500 and exp.fit.epochs == 10_000
    assert exp.data.params == {"validation": 1000, "train": 10_000}
    lr = exp.compile.learning_rate
    assert lr.type == "InverseTimeDecay" and lr.args["decay_steps"] == 20 * 1000
    assert exp.compile.loss.args == {"from_logits": True}
    stop, board = exp.fit.callbacks
    assert stop.args == {"monitor": "val_binary_crossentropy", "patience": 200}
    assert board.args == {"log_dir": "sizes/Tiny"}
    assert spec["combined"].fit.callbacks[1].args == {"log_dir": "regularizers/combined"}


def _subset(lab: str, names: list[str], epochs: int) -> ExperimentFile:
    spec = load_lab_spec(lab)
    chosen = []
    for name in names:
        exp = spec[name]
        chosen.append(exp.model_copy(update={"fit": exp.fit.model_copy(update={"epochs": epochs})}))
    return spec.model_copy(update={"experiments": tuple(chosen), "compare": ()})


@pytest.fixture(scope="module")
def higgs_runs(tmp_path_factory):
    experiments = _subset("higgs-overfitting", ["tiny", "large", "l2"], epochs=40)
    return run_experiment_file(experiments, name="higgs", output=tmp_path_factory.mktemp("runs"))


def _gap(history: pd.DataFrame) -> float:
    last = history.iloc[-1]
    return float(last["val_binary_crossentropy"] - last["binary_crossentropy"])


def test_generated_higgs_shows_what_the_chapter_teaches(higgs_runs):
    tiny, large, l2 = (higgs_runs[n].training.history for n in ("tiny", "large", "l2"))
    # The Large model fits the training rows far better and overfits: a much larger gap.
    assert large["binary_crossentropy"].iloc[-1] < tiny["binary_crossentropy"].iloc[-1] - 0.1
    assert _gap(large) > _gap(tiny) + 0.1
    assert large["val_binary_crossentropy"].idxmin() < len(large)  # validation turned up
    # L2 shrinks the gap of the same architecture.
    assert _gap(l2) < _gap(large) - 0.05
    assert higgs_runs["tiny"].splits.train.n_samples == 10_000
    assert higgs_runs["tiny"].splits.validation.n_samples == 1_000
    assert "generated Higgs-like problem" in higgs_runs["tiny"].splits.train.notes[0]
    # TensorBoard logs per epoch, so it does not stop the fused trainer (the default on JAX).
    assert {run.training.trainer for run in higgs_runs.runs} == {"fused"}


def test_tensorboard_logs_per_model_under_the_lab(higgs_runs):
    for sub in ("sizes/Tiny", "sizes/Large", "regularizers/l2"):
        for split in ("train", "validation"):
            events = list((higgs_runs.path / sub / split).glob("events.out.tfevents.*"))
            assert events and events[0].stat().st_size > 200, (sub, split)


def test_lab_report_has_the_per_model_table(higgs_runs):
    html = higgs_runs.report.read_text(encoding="utf-8")
    assert "Training summary" in html and "val_binary_crossentropy" in html
    assert "Gap (val - train)" in html and "803,329" in html


def test_compare_runs_report_ranking_and_colours(higgs_runs, tmp_path):
    dirs = [higgs_runs.path / n for n in ("tiny", "large", "l2")]
    out = tmp_path / "cmp.html"
    result = compare_runs(
        dirs,
        metrics=("binary_crossentropy", "acc"),
        smoothing_std=2,
        logx=True,
        rank_by="val_binary_crossentropy",
        output=out,
    )
    assert {r["run"] for r in result.ranking} == {"large", "l2", "tiny"}
    best = [r["best"] for r in result.ranking]
    assert best == sorted(best)
    loss_colors = result.displays["binary_crossentropy"].colors_
    assert result.displays["accuracy"].colors_ == loss_colors  # one colour per run everywhere
    assert result.displays["binary_crossentropy"].ax_.get_xscale() == "log"
    html = out.read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 2 and "Ranking" in html
    cli = CliRunner().invoke(
        app, ["compare", str(higgs_runs.path), "--output", str(tmp_path / "c2.html")]
    )
    assert cli.exit_code == 0, cli.output
    assert (tmp_path / "c2.html").exists() and "Ranking" in cli.output
    bad = CliRunner().invoke(app, ["compare", str(dirs[0])])
    assert bad.exit_code == 1 and "give at least two runs" in bad.output


def test_smoothing_std_is_in_epochs_and_sets_the_kernel_width():
    impulse = np.zeros(201)
    impulse[100] = 1.0
    for std in (2.0, 5.0, 10.0):
        smooth = gaussian_smooth(impulse, std)
        assert smooth.sum() == pytest.approx(1.0)
        offsets = np.arange(201) - 100
        measured = np.sqrt(np.sum(smooth * offsets**2))
        assert measured == pytest.approx(std, rel=0.02)
    np.testing.assert_array_equal(gaussian_smooth(impulse, 0), impulse)


def test_key_aliases_are_normalised():
    keys = normalise_keys({"acc": [1], "val_acc": [2], "lr": [3], "loss": [4]})
    assert set(keys) == {"accuracy", "val_accuracy", "learning_rate", "loss"}
    display = HistoryComparisonDisplay(
        {"a": {"acc": [0.5, 0.6], "val_acc": [0.4, 0.5]}}, metric="acc"
    )
    assert display.metric == "accuracy"
    display.plot(ylim=(0, 1))
    assert display.ax_.get_ylim() == (0, 1)
    assert [line.get_linestyle() for line in display.ax_.get_lines()] == ["-", "--"]


@pytest.fixture(scope="module")
def cat_runs(tmp_path_factory):
    experiments = _subset("cat-vs-noncat", ["small", "regularized"], epochs=8)
    experiments = experiments.model_copy(update={"compare": load_lab_spec("cat-vs-noncat").compare})
    return run_experiment_file(experiments, name="cats", output=tmp_path_factory.mktemp("runs"))


def test_cat_vs_noncat_lab_offline(cat_runs):
    small = cat_runs["small"]
    assert small.splits.train.sample_shape == (64, 64, 3)
    assert (small.splits.train.n_samples, small.splits.test.n_samples) == (209, 50)
    assert small.splits.train.class_names == ("non-cat", "cat")
    assert {run.training.trainer for run in cat_runs.runs} == {"fused"}
    for name in ("small", "regularized"):
        evaluation = json.loads((cat_runs.path / name / "evaluation.json").read_text())
        assert {"non-cat", "cat"} <= set(evaluation["report"]) and evaluation["n"] == 50
        assert "f1-score" in evaluation["report"]["cat"]
    html = cat_runs.report.read_text(encoding="utf-8")
    assert "Classification report" in html and "Cat vs non-cat: all models" in html
    assert (cat_runs.path / "plots" / "compare_models_accuracy.png").exists()
    assert "generated 64x64 images in the same schema" in html


def test_epoch_dots_progress(write_toml, tmp_path):
    path = write_toml(
        'name = "dots"\ndata = {name = "circles", n_samples = 100}\n'
        'model.layers = [{type = "Dense", units = 1, activation = "sigmoid"}]\n'
        'compile = {loss = "binary_crossentropy"}\nfit = {epochs = 150}\n'
    )
    result = CliRunner().invoke(
        app, ["--progress", "dots", "run", str(path), "--output", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "\nEpoch: 0, accuracy:" in result.output and "\nEpoch: 100, accuracy:" in result.output
    assert "." * 100 in result.output
    bad = CliRunner().invoke(app, ["--progress", "stars", "labs"])
    assert bad.exit_code == 1 and "`progress` must be one of" in bad.output


SWEEP = """
title = "sweep"
[[experiments]]
name = "lr"
seed = 7
data = {name = "moons", n_samples = 300, test_size = 60}
model.layers = [
  {type = "Dense", units = 16, activation = "relu"},
  {type = "Dropout", rate = 0.3},
  {type = "Dense", units = 1, activation = "sigmoid"},
]
compile = {loss = "binary_crossentropy", optimizer = "Adam"}
fit = {epochs = 6, batch_size = 32}
variants = {"compile.learning_rate" = [0.003, 0.01, 0.03]}
"""


def test_variants_expand_into_independent_experiments(write_toml):
    spec = load_experiments(write_toml(SWEEP))
    assert spec.names() == ["lr-learning_rate0.003", "lr-learning_rate0.01", "lr-learning_rate0.03"]
    assert [e.compile.learning_rate for e in spec.experiments] == [0.003, 0.01, 0.03]
    with pytest.raises(
        Exception, match=r"variants.compile.learning_rate: must be a non-empty list"
    ):
        load_experiments(write_toml(SWEEP.replace("[0.003, 0.01, 0.03]", "0.01"), name="bad.toml"))


def test_sweep_results_do_not_depend_on_order_or_jobs(write_toml, tmp_path):
    spec = load_experiments(write_toml(SWEEP))
    reversed_spec = spec.model_copy(update={"experiments": tuple(reversed(spec.experiments))})
    histories = {}
    for label, experiments, jobs in (
        ("seq", spec, 1),
        ("rev", reversed_spec, 1),
        ("jobs2", spec, 2),
    ):
        lab = run_experiment_file(experiments, name=label, output=tmp_path / label, jobs=jobs)
        histories[label] = {r.name: r.training.history for r in lab.runs}
    for name in spec.names():
        pd.testing.assert_frame_equal(histories["seq"][name], histories["rev"][name])
        pd.testing.assert_frame_equal(histories["seq"][name], histories["jobs2"][name])
    assert not histories["seq"][spec.names()[0]].equals(histories["seq"][spec.names()[2]])
