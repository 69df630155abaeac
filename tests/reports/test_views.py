"""Lab reports drawn from records alone: comparison figures that keep or fit the y range."""

from __future__ import annotations

import numpy as np
import pandas as pd

from neuralab.analysis.compare import HistoryComparisonDisplay
from neuralab.record import ComparisonRecord, LabDir, LabRecord, RunDir
from neuralab.reports.html import render_lab_report
from neuralab.reports.render import write_lab_report
from neuralab.reports.views import load_lab


def _history(low: float) -> pd.DataFrame:
    epochs = np.arange(1, 31)
    loss = low + 0.3 * np.exp(-epochs / 5)
    return pd.DataFrame({"loss": loss, "val_loss": loss + 0.02})


def test_the_chapters_range_is_kept_only_when_the_curves_fall_in_it():
    inside = HistoryComparisonDisplay({"a": _history(0.55), "b": _history(0.6)}, metric="loss")
    assert inside.fits((0.5, 0.7))
    inside.plot(ylim=(0.5, 0.7))
    assert not inside.ylim_fitted_ and inside.ax_.get_ylim() == (0.5, 0.7)
    below = HistoryComparisonDisplay({"a": _history(0.2), "b": _history(0.55)}, metric="loss")
    below.plot(ylim=(0.5, 0.7))
    assert below.ylim_fitted_
    low, high = below.ax_.get_ylim()
    assert low < 0.2 and high > 0.5  # every curve is on the axes


def _lab(tmp_path, low: float):
    lab = tmp_path / f"lab-{low}"
    lab.mkdir()
    LabDir(lab).write(
        LabRecord(
            lab="higgs-overfitting",
            experiments=("tiny", "large"),
            compare=(
                ComparisonRecord(
                    name="sizes",
                    title="Sizes",
                    experiments=("tiny", "large"),
                    metrics=("loss",),
                    ylim=(0.5, 0.7),
                ),
            ),
        )
    )
    for name in ("tiny", "large"):
        run = RunDir.at(lab / name)
        run.write_history(_history(low))
    return lab


def test_a_lab_report_says_when_the_axes_fit_other_data(tmp_path):
    chapter_like = _lab(tmp_path, 0.55)
    other = _lab(tmp_path, 0.2)
    write_lab_report(other, lang="pt", jobs=1)
    html = (other / "report.html").read_text(encoding="utf-8")
    assert "As curvas ficam fora do intervalo do capítulo (0.5 a 0.7)" in html
    assert load_lab(other).compare[0].fitted_range == (0.5, 0.7)
    assert load_lab(chapter_like).compare[0].fitted_range is None
    html = render_lab_report(load_lab(chapter_like), lang="en")
    assert "fall outside the chapter's range" not in html
