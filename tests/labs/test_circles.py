"""The circles lab reproduces the chapter (full run) and has every part of its report."""

from __future__ import annotations

import json
import shutil

import pytest

from neuralab.errors import RunError
from neuralab.labs import load_lab_spec, run_lab
from neuralab.reports.html import write_run_report
from neuralab.reports.render import ReportWorker, write_lab_report

CHAPTER_MODELS = [f"model_{i}" for i in range(1, 11)]


def test_lab_file_has_the_chapters_models():
    spec = load_lab_spec("circles")
    assert spec.names() == CHAPTER_MODELS
    m1 = spec["model_1"]
    assert m1.fit.epochs == 205 and m1.compile.optimizer.type == "SGD"
    assert spec["model_8"].compile.learning_rate == 0.01 and spec["model_8"].fit.epochs == 25
    assert spec["model_9"].fit.lr_schedule == "1e-4 * 10**(epoch/20)"
    assert spec["model_10"].compile.learning_rate == "suggested:model_9:midpoint"
    assert spec["model_3"].model.layers is not None
    assert [layer.args["units"] for layer in spec["model_3"].model.layers] == [100, 10, 1]
    for name in CHAPTER_MODELS:
        data = spec[name].data
        assert (
            data.params == {"n_samples": 1000, "noise": 0.03, "seed": 42} and data.test_size == 200
        )


@pytest.fixture(scope="module")
def full_lab(tmp_path_factory):
    return run_lab("circles", output=tmp_path_factory.mktemp("runs"))


@pytest.fixture(scope="module")
def one_seed_quick_lab(tmp_path_factory):
    """A small lab for the report machinery (one seed, 5 epochs)."""
    return run_lab("circles", output=tmp_path_factory.mktemp("quick"), quick=True, seeds=1)


def _mean(lab, name, split):
    values = [run.metric(split) for run in lab.seeds(name)]
    return sum(values) / len(values)


def test_full_lab_reproduces_the_chapter_over_five_seeds(full_lab):
    assert [len(full_lab.seeds(name)) for name in CHAPTER_MODELS] == [5] * 10
    assert [run.spec.seed for run in full_lab.seeds("model_7")] == [42, 43, 44, 45, 46]
    # Models 1-6 cannot separate the circles: every seed stays near chance.
    for i in range(1, 6):
        for run in full_lab.seeds(f"model_{i}"):
            assert 0.35 <= run.metric("train") <= 0.65, (i, run.spec.seed, run.metric("train"))
    assert 0.35 <= _mean(full_lab, "model_6", "train") <= 0.65
    # model_7 separates them, but how well depends on the seed: the chapter's 99.1% (seed 42's
    # 98.5% here) is one of the better draws; the mean is lower and the spread wide.
    seven = [run.metric("train") for run in full_lab.seeds("model_7")]
    assert max(seven) >= 0.98 and min(seven) < 0.9 and _mean(full_lab, "model_7", "train") >= 0.8
    # The 10x larger rate of model_8 is the chapter's fix: fast and reliable.
    assert _mean(full_lab, "model_8", "test") >= 0.98
    assert sum(run.metric("test") >= 0.98 for run in full_lab.seeds("model_8")) >= 4
    assert _mean(full_lab, "model_10", "test") >= 0.85
    for run in full_lab.runs:
        # Seeds train as one population where that is faster, else with the fused trainer.
        assert run.training.trainer in ("population", "fused"), (run.name, run.training.notes)
    assert full_lab.seeds("model_7")[0].training.trainer == "population"
    # The range test's seeds train one by one (its per-epoch rate is a callback), each noted.
    assert all(
        "seeds trained one by one" in " ".join(run.training.notes)
        for run in full_lab.seeds("model_9")
    )


def test_full_lab_report_counts_the_seeds_in_the_chapter_s_band(full_lab):
    html = full_lab.report.read_text()
    assert "Seeds: 5 per model" in html
    assert 'no</span><br><span class="sub">1 of 5 seeds' in html  # model_7's 98% band
    assert 'yes</span><br><span class="sub">4 of 5 seeds' in html  # model_8's


def test_model_10_uses_the_range_tests_suggestion(full_lab):
    suggestion = full_lab["model_9"].lr_test["suggestions"]["midpoint"]
    assert full_lab["model_10"].learning_rate == pytest.approx(suggestion)
    # The chapter read 0.01-0.02 off its plot; the midpoint lands near that range.
    assert 0.008 <= suggestion <= 0.04
    lrs = full_lab["model_9"].training.history["learning_rate"].to_numpy()
    assert lrs[0] == pytest.approx(1e-4) and lrs[20] == pytest.approx(1e-3) and len(lrs) == 100


def test_full_lab_report(full_lab):
    html = full_lab.report.read_text()
    for name in CHAPTER_MODELS:
        assert f'id="{name}"' in html
    assert (
        html.count("data:image/png;base64,") >= 10 * 3 + 1
    )  # boundary, curves and the seeds' band per model, LR test
    assert "Learning-rate range test" in html and "minimum/10" in html
    lab = json.loads((full_lab.path / "lab.json").read_text())
    assert lab["status"] == "complete" and lab["backend"] == "jax"
    for name in CHAPTER_MODELS:
        for seed in range(42, 47):
            status = json.loads((full_lab.path / f"{name}-seed{seed}" / "status.json").read_text())
            assert status["status"] == "complete"


def test_run_reports_drawn_in_worker_processes_equal_drawing_them_here(
    one_seed_quick_lab, tmp_path
):
    # run_lab drew the 10 run reports in worker processes; redraw copies of three (every kind
    # of figure between them) in this process.
    lab = one_seed_quick_lab
    copy = shutil.copytree(lab.path, tmp_path / "lab")
    for name in ("model_1", "model_8", "model_9"):
        write_run_report(copy / name)
    pngs = sorted(
        p for n in ("model_1", "model_8", "model_9") for p in lab.path.glob(f"{n}/plots/*.png")
    )
    assert len(pngs) >= 12
    for png in pngs:
        assert (copy / png.relative_to(lab.path)).read_bytes() == png.read_bytes(), png


def test_background_report_worker_lists_what_it_wrote(one_seed_quick_lab, tmp_path):
    copy = shutil.copytree(one_seed_quick_lab.path, tmp_path / "lab")
    for name in ("model_1", "model_2"):
        (copy / name / "report.html").unlink()
    (copy / "model_2" / "lr_test.json").write_text("{not json")
    with ReportWorker(lang="pt") as worker:
        worker.submit(copy / "model_1")
        worker.submit(copy / "model_2")  # fails: not listed, so the caller draws it and names it
        written = worker.close()
    assert written == {copy / "model_1"}
    assert "Acurácia" in (copy / "model_1" / "report.html").read_text()
    assert not (copy / "model_2" / "report.html").exists()
    # A lab report skips the runs written already and draws the rest (here: the failing one).
    (copy / "model_3" / "report.html").unlink()
    (copy / "model_2" / "lr_test.json").unlink()
    others = {copy / f"model_{i}" for i in range(3, 11)}  # their reports are there already
    write_lab_report(copy, written=written | others, jobs=1)
    assert (copy / "model_2" / "report.html").exists()
    assert not (copy / "model_3" / "report.html").exists()


def test_a_run_whose_report_fails_is_named(one_seed_quick_lab, tmp_path):
    copy = shutil.copytree(one_seed_quick_lab.path, tmp_path / "lab")
    (copy / "model_3" / "lr_test.json").write_text("{not json")
    drawn = {copy / f"model_{i}" for i in range(5, 11)}  # four runs left: two workers draw
    with pytest.raises(RunError) as caught:
        write_lab_report(copy, jobs=2, written=drawn)
    assert str(caught.value) == (
        f"could not write these reports:\n{copy / 'model_3'}: RunError: "
        f"{copy / 'model_3' / 'lr_test.json'}: unreadable JSON "
        "(Expecting property name enclosed in double quotes: line 1 column 2 (char 1))."
    )
