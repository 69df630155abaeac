"""Experiments with several seeds: folders named by seed, one split, mean ± std, verdict counts."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from neuralab.analysis.seeds import in_band, mean_curve, seed_stats
from neuralab.cli import app
from neuralab.config import load_experiments
from neuralab.errors import NeuralabError, SpecError
from neuralab.record import LabDir, MetricsRecord, RunDir, SpecRecord, files
from neuralab.record.events import BoundaryEvent, read_events, strip_epochs
from neuralab.reports.views import load_lab
from neuralab.runs.file_runner import plan_runs, run_experiment_file, with_seeds

SPEC = """
title = "seeds"
[defaults]
seed = 7
[defaults.data]
name = "circles"
n_samples = 300
noise = 0.03
seed = 42
test_size = 60
shuffle = true
[defaults.compile]
loss = "binary_crossentropy"
optimizer = "Adam"
learning_rate = 0.02
metrics = ["accuracy"]
[defaults.fit]
epochs = 6
batch_size = 32

[[experiments]]
name = "deep"
repeat = 3
model.layers = [
  {type = "Dense", units = 4, activation = "relu"},
  {type = "Dense", units = 1, activation = "sigmoid"},
]
expect = [{metric = "train_accuracy", min = 0.0, max = 1.0}]
reference = {value = 1.0, split = "train"}

[[experiments]]
name = "flat"
model.layers = [{type = "Dense", units = 1, activation = "sigmoid"}]

[[compare]]
name = "both"
experiments = ["deep", "flat"]
"""


def test_the_issue_s_model_7_accuracies_give_mean_and_sample_spread():
    # The circles chapter's model_7 with seeds 0-7 (the issue's numbers).
    stats = seed_stats([0.795, 0.845, 0.935, 0.74, 0.88, 0.95, 0.955, 0.99, None])
    assert stats is not None
    assert stats.n == 8
    assert stats.mean == pytest.approx(0.88625)
    assert stats.std == pytest.approx(
        np.std([0.795, 0.845, 0.935, 0.74, 0.88, 0.95, 0.955, 0.99], ddof=1)
    )
    assert (stats.min, stats.max) == (0.74, 0.99)
    assert stats.percent() == "88.6% ± 8.7"
    assert seed_stats([0.975]).percent() == "97.5%"
    assert seed_stats([None, float("nan")]) is None
    assert in_band(0.9, 0.85, None) is True
    assert in_band(0.8, 0.85, 1.0) is False
    assert in_band(None, 0.85, 1.0) is None


def test_mean_curve_averages_the_seeds_that_reached_each_epoch():
    import pandas as pd

    a = pd.DataFrame({"loss": [1.0, 0.5, 0.25]})
    b = pd.DataFrame({"loss": [3.0, 1.5]})  # stopped early
    epochs, mean, std = mean_curve([a, b], "loss")
    np.testing.assert_array_equal(epochs, [1, 2, 3])
    np.testing.assert_allclose(mean, [2.0, 1.0, 0.25])
    np.testing.assert_allclose(std[:2], [np.sqrt(2), np.sqrt(0.5)])
    assert np.isnan(std[2])  # one seed left: no band


def test_runs_are_planned_per_seed_in_folders_named_by_the_seed(write_toml):
    experiments = load_experiments(write_toml(SPEC))
    planned = plan_runs(experiments)
    assert [(p.folder, p.spec.seed, p.group) for p in planned] == [
        ("deep-seed7", 7, "deep"),
        ("deep-seed8", 8, "deep"),
        ("deep-seed9", 9, "deep"),
        ("flat", 7, "flat"),
    ]
    # Every seed trains on the split of the spec's own seed.
    assert {p.spec.data.split_seed for p in planned[:3]} == {7}
    assert [p.folder for p in plan_runs(with_seeds(experiments, 2))] == [
        "deep-seed7",
        "deep-seed8",
        "flat-seed7",
        "flat-seed8",
    ]


def test_a_seed_folder_that_is_another_experiment_s_name_is_refused(write_toml):
    text = SPEC.replace('name = "flat"', 'name = "deep-seed8"').replace(
        'experiments = ["deep", "flat"]', 'experiments = ["deep", "deep-seed8"]'
    )
    experiments = load_experiments(write_toml(text))
    with pytest.raises(
        SpecError,
        match=r"experiments\[0\] \(deep\)\.repeat: the run with seed 8 "
        r"would be written to 'deep-seed8', the folder of the experiment of that name",
    ):
        plan_runs(experiments)


@pytest.mark.parametrize("bad", [0, 101, True])
def test_seeds_out_of_range_are_refused(write_toml, bad):
    experiments = load_experiments(write_toml(SPEC))
    with pytest.raises(NeuralabError, match=r"`seeds` must be an integer from 1 to 100"):
        with_seeds(experiments, bad)


def test_cli_seeds_out_of_range_is_one_line_and_exit_1(write_toml, tmp_path):
    result = CliRunner().invoke(
        app, ["run", str(write_toml(SPEC)), "--seeds", "0", "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 1
    assert "`seeds` must be an integer from 1 to 100. Received: seeds=0." in result.output
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("seeds")
    spec = root / "seeds.toml"
    spec.write_text(SPEC, encoding="utf-8")
    result = CliRunner().invoke(app, ["run", str(spec), "-o", str(root / "out")])
    assert result.exit_code == 0, result.output
    (path,) = (root / "out").iterdir()
    return path, result.output


def test_each_seed_is_its_own_recorded_run_of_one_group(lab):
    path, _ = lab
    record = LabDir(path).read()
    assert record.experiments == ("deep-seed7", "deep-seed8", "deep-seed9", "flat")
    assert record.groups == {"deep": ("deep-seed7", "deep-seed8", "deep-seed9"), "flat": ("flat",)}
    seeds = []
    for folder in record.groups["deep"]:
        run = RunDir(path / folder)
        metrics = run.read(MetricsRecord)
        stored = run.read(SpecRecord)
        assert metrics.group == stored.group == "deep"
        assert metrics.seed == stored.seed == stored.spec["seed"]
        assert stored.spec["data"]["split_seed"] == 7
        assert metrics.splits == {"train": 240, "test": 60}
        seeds.append(metrics.seed)
    assert seeds == [7, 8, 9]
    accuracies = {
        RunDir(path / f).read(MetricsRecord).metrics["train"]["accuracy"]
        for f in record.groups["deep"]
    }
    assert len(accuracies) > 1  # other seeds, other numbers


def test_the_spec_s_own_seed_gives_the_numbers_of_a_one_seed_run(lab, write_toml, tmp_path):
    path, _ = lab
    single = run_experiment_file(
        load_experiments(write_toml(SPEC.replace("repeat = 3", "repeat = 1"))),
        name="single",
        output=tmp_path,
    )
    one = single["deep"].metrics
    first = RunDir(path / "deep-seed7").read(MetricsRecord).metrics
    for split in ("train", "test"):
        for key in ("accuracy", "loss"):
            assert first[split][key] == pytest.approx(one[split][key], rel=1e-6)


def test_the_terminal_table_shows_mean_spread_and_seeds_inside(lab):
    path, output = lab
    record = LabDir(path)
    values = [
        RunDir(path / f).read(MetricsRecord).metrics["test"]["accuracy"]
        for f in record.read().groups["deep"]
    ]
    stats = seed_stats(values)
    row = next(line for line in output.splitlines() if line.startswith("│ deep "))
    assert stats.percent() in row
    assert "yes (3 of 3 seeds)" in row
    assert "│     3 │" in row  # the Seeds column


def test_the_lab_report_shows_groups_with_bands_and_the_seed_it_draws(lab):
    path, _ = lab
    view = load_lab(path)
    assert [g.name for g in view.groups] == ["deep", "flat"]
    deep = view.groups[0]
    assert deep.n == 3 and deep.seeds == [7, 8, 9]
    assert deep.matched is True and deep.seeds_inside == 3
    assert deep.history_image is not None  # the seeds' curves: mean and band
    html = (path / "report.html").read_text(encoding="utf-8")
    assert deep.stat("test").percent().split(" ±")[0] in html
    assert "3 of 3 seeds" in html
    assert "Seeds: 1–3 per model" in html
    # Where the chapter's number sits among the seeds (none reaches 100% in 6 epochs).
    assert "above every seed" in html
    assert "Figures of seed 7 (1 of 3)" in html
    assert 'href="deep-seed8/report.html"' in html
    run_html = (path / "deep-seed8" / "report.html").read_text(encoding="utf-8")
    assert "seed 8 (one of the experiment&#39;s 3 seeds)" in run_html
    # The other seeds' reports hold their numbers; every seed's curves are in the lab's figure
    # of the experiment, the model's figures are drawn for the first seed, and for any seed on
    # demand (`neuralab report RUN_DIR`).
    assert "One of the experiment&#39;s other seeds: its numbers are here" in run_html
    assert "val_accuracy" in run_html  # its history table
    assert not (path / "deep-seed8" / "plots" / "history.png").exists()
    assert not (path / "deep-seed8" / "plots" / "decision_boundary.png").exists()
    assert (path / "deep-seed7" / "plots" / "history.png").exists()
    # The first seed trained in a population still draws the boundary while training.
    assert (path / "deep-seed7" / "plots" / "boundary_strip.png").exists()
    assert (path / "deep-seed7" / "plots" / "decision_boundary.png").exists()
    legend = json.dumps(sorted(p.name for p in (path / "plots").iterdir()))
    assert "seeds_deep.png" in legend and "compare_both_loss.png" in legend


def test_report_draws_any_seeds_figures_on_demand(lab, tmp_path):
    path, _ = lab
    copy = shutil.copytree(path / "deep-seed8", tmp_path / "deep-seed8")
    result = CliRunner().invoke(app, ["report", str(copy)])
    assert result.exit_code == 0, result.output
    assert (copy / "plots" / "history.png").exists()
    assert (copy / "plots" / "decision_boundary.png").exists()
    html = (copy / "report.html").read_text(encoding="utf-8")
    assert "One of the experiment&#39;s other seeds" not in html


def test_resuming_with_other_seeds_is_refused_naming_the_runs(lab, tmp_path):
    path, _ = lab
    spec = Path(path).parent.parent / "seeds.toml"
    result = CliRunner().invoke(app, ["run", str(spec), "--seeds", "2", "--resume", str(path)])
    assert result.exit_code == 1
    assert (
        "cannot resume: its runs are ['deep-seed7', 'deep-seed8', 'deep-seed9', 'flat'], now ['deep-seed7', 'deep-seed8', 'flat-seed7', 'flat-seed8'] (the same experiments and seeds are needed: pass the same --seeds)"
        in " ".join(result.output.split())
    )


def test_compare_ranks_an_experiment_s_seeds_by_their_mean_and_shows_the_spread(lab, tmp_path):
    path, _ = lab
    out = tmp_path / "compare.html"
    result = CliRunner().invoke(app, ["compare", str(path), "--output", str(out)])
    assert result.exit_code == 0, result.output
    from neuralab.runs.compare import compare_runs

    comparison = compare_runs([path], output=None)
    rows = {r["run"]: r for r in comparison.ranking}
    assert set(rows) == {"deep", "flat"}
    assert rows["deep"]["seeds"] == 3 and rows["flat"]["seeds"] == 1
    bests = [
        RunDir(path / f).read_history()["val_loss"].min()
        for f in ("deep-seed7", "deep-seed8", "deep-seed9")
    ]
    assert rows["deep"]["best"] == pytest.approx(np.mean(bests))
    assert rows["deep"]["std"] == pytest.approx(np.std(bests, ddof=1))
    assert [r["best"] for r in comparison.ranking] == sorted(r["best"] for r in comparison.ranking)
    assert comparison.displays["loss"].seeds == {"deep": 3, "flat": 1}
    row = next(line for line in result.output.splitlines() if "│ deep " in line)
    assert f"{rows['deep']['best']:.4f} ± {rows['deep']['std']:.4f}" in row
    html = out.read_text(encoding="utf-8")
    assert f"{rows['deep']['best']:.4f} ± {rows['deep']['std']:.4f}" in html


def test_small_models_seeds_train_as_one_population_equal_to_separate_runs(
    lab, write_toml, tmp_path
):
    path, _ = lab
    for folder in ("deep-seed7", "deep-seed8", "deep-seed9"):
        training = RunDir(path / folder).read(MetricsRecord).training
        assert training.trainer == "population", training.notes
        assert "population of 3 seeds (7, 8, 9)" in training.notes[0]
    # Each member is the separate run with its seed (same initialisation and batch order).
    for seed in (8, 9):
        text = SPEC.replace("repeat = 3", "repeat = 1")
        text = text.replace(
            'name = "deep"\n', f'name = "deep"\nseed = {seed}\ndata.split_seed = 7\n'
        )
        alone = run_experiment_file(
            load_experiments(write_toml(text, f"alone{seed}.toml")),
            name=f"alone{seed}",
            output=tmp_path,
            trainer="fused",
        )["deep"]
        assert alone.training.trainer == "fused"
        member = RunDir(path / f"deep-seed{seed}")
        np.testing.assert_allclose(
            member.read_history().to_numpy(),
            alone.training.history.to_numpy(),
            rtol=1e-5,
            atol=1e-7,
        )
        metrics = member.read(MetricsRecord).metrics
        for split in ("train", "test"):
            for key in ("accuracy", "loss"):
                assert metrics[split][key] == pytest.approx(alone.metrics[split][key], rel=1e-5)
        # The report's strip: the same boundaries at the same epochs.
        frames = _boundaries(member.path)
        assert sorted(frames) == [1, 2, 4, 6] == list(strip_epochs(6))
        theirs = _boundaries(alone.path)
        for epoch, grid in frames.items():
            assert grid.classes == theirs[epoch].classes, epoch
            mine = np.frombuffer(base64.b64decode(grid.confidence), np.uint8).astype(int)
            other = np.frombuffer(base64.b64decode(theirs[epoch].confidence), np.uint8)
            assert np.abs(mine - other).max() <= 1, epoch


def _boundaries(run: Path) -> dict[int, Any]:
    """The boundary grids of a run's events, by epoch (the last one of each epoch)."""
    return {
        e.epoch: e.grid for e in read_events(run / files.EVENTS) if isinstance(e, BoundaryEvent)
    }


def test_seeds_train_one_by_one_with_the_reason_recorded_when_a_population_cannot(
    write_toml, tmp_path
):
    experiments = load_experiments(write_toml(SPEC))
    lab = run_experiment_file(
        with_seeds(experiments.model_copy(update={"experiments": experiments.experiments[:1]}), 2),
        name="fit",
        output=tmp_path,
        trainer="fit",
    )
    for run in lab.seeds("deep"):
        assert run.training.trainer == "fit"
        assert "seeds trained one by one: the trainer is model.fit" in run.training.notes


def test_neuralab_report_draws_every_figure_of_another_seed(lab, tmp_path):
    import shutil

    path, _ = lab
    copy = shutil.copytree(path / "deep-seed9", tmp_path / "deep-seed9")
    result = CliRunner().invoke(app, ["report", str(copy)])
    assert result.exit_code == 0, result.output
    assert (copy / "plots" / "decision_boundary.png").exists()
    assert "other seeds" not in (copy / "report.html").read_text(encoding="utf-8")
