"""``neuralab compare RUN_DIR...``: histories of any runs side by side, ranked, in one report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuralab.errors import RunError
from neuralab.fileio import atomic_write_text
from neuralab.record import LabDir, MetricsRecord, RunDir, files


@dataclass(repr=False)
class Comparison:
    """Runs compared: their histories, a ranking, and the figures' displays."""

    runs: dict[str, Any]  # name -> history DataFrame
    ranking: list[dict[str, Any]]
    displays: dict[str, Any] = field(default_factory=dict)  # metric -> HistoryComparisonDisplay
    report: Path | None = None

    def __repr__(self) -> str:
        best = self.ranking[0]["run"] if self.ranking else "-"
        return f"Comparison({len(self.runs)} runs, best={best!r}, report={self.report})"


def _run_dirs(paths: Sequence[str | Path]) -> list[Path]:
    """Run folders; a lab folder stands for all its runs."""
    out: list[Path] = []
    for item in paths:
        path = Path(item)
        if LabDir.is_lab(path):
            out += [run.path for run in LabDir.open(path).runs() if run.has(files.HISTORY)]
            continue
        run = RunDir.open(path)  # raises a clear RunError for anything else
        if not run.has(files.HISTORY):
            raise RunError(f"{path}: this run has no {files.HISTORY} (it never finished an epoch).")
        out.append(path)
    if len(out) < 2:
        raise RunError("give at least two runs (or a lab folder) to compare.")
    return out


def compare_runs(
    paths: Sequence[str | Path],
    *,
    metrics: Sequence[str] = ("loss", "accuracy"),
    smoothing_std: float = 0.0,
    logx: bool = False,
    ylim: tuple[float, float] | None = None,
    rank_by: str | None = None,
    output: str | Path | None = None,
    lang: str = "en",
) -> Comparison:
    """Compare runs: one figure per metric (one colour per run kept across figures, training
    solid, validation dashed), a ranking table, and a self-contained HTML report at ``output``.

    Args:
        paths: Run folders (or lab folders: all their runs).
        metrics: Metrics to plot (``acc``/``lr`` aliases accepted).
        smoothing_std: Gaussian smoothing in epochs.
        logx: Log-scale epoch axis.
        ylim: Y range.
        rank_by: History column ranked on its best value (lowest for losses, highest for
            accuracies); default ``val_loss`` when every run has it, else ``loss``.
        output: Report path (default: ``compare-<timestamp>.html`` here); None in Python
            means no report.
        lang: Report language.
    """

    from neuralab.analysis.compare import HistoryComparisonDisplay, normalise_keys
    from neuralab.analysis.figures import figure_to_png
    from neuralab.reports.i18n import plot_labels, translator

    t = translator(lang)
    dirs = _run_dirs(paths)
    names = [d.name if d.parent.name == "" else f"{d.parent.name}/{d.name}" for d in dirs]
    names = [d.name for d in dirs] if len({d.name for d in dirs}) == len(dirs) else names
    runs = [RunDir(d) for d in dirs]
    histories = {n: run.read_history() for n, run in zip(names, runs, strict=True)}
    columns = {n: normalise_keys(h) for n, h in histories.items()}
    key = rank_by or ("val_loss" if all("val_loss" in c for c in columns.values()) else "loss")
    key = {"acc": "accuracy", "val_acc": "val_accuracy"}.get(key, key)
    higher = _higher_is_better(runs, key)
    ranking: list[dict[str, Any]] = []
    for name, cols in columns.items():
        if key not in cols:
            continue
        values = cols[key]
        best_index = int(values.argmax() if higher else values.argmin())
        ranking.append(
            {
                "run": name,
                "best": float(values[best_index]),
                "epoch": best_index + 1,
                "epochs": len(values),
            }
        )
    ranking.sort(key=lambda r: r["best"], reverse=higher)
    displays = {}
    images = {}
    colors = None
    for metric in metrics:
        try:
            display = HistoryComparisonDisplay(
                histories, metric=metric, smoothing_std=smoothing_std, title=t.get(metric, metric)
            ).plot(logx=logx, ylim=ylim, xlabel=t["epoch"], labels=plot_labels(lang), colors=colors)
        except ValueError:
            continue  # no run logged this metric
        colors = display.colors_  # the same colour for a run in every figure
        displays[display.metric] = display
        if output is not None:
            import base64

            images[display.metric] = "data:image/png;base64," + base64.b64encode(
                figure_to_png(display.figure_)
            ).decode("ascii")
    if not displays:
        raise RunError(f"none of the runs logged {', '.join(metrics)}.")
    comparison = Comparison(runs=histories, ranking=ranking, displays=displays)
    if output is not None:
        from neuralab.reports.html import render_comparison_report

        html = render_comparison_report(
            runs=[(n, str(d)) for n, d in zip(names, dirs, strict=True)],
            ranking=ranking,
            rank_by=key,
            images=images,
            smoothing_std=smoothing_std,
            lang=lang,
        )
        comparison.report = atomic_write_text(Path(output), html)
    return comparison


def _higher_is_better(runs: Sequence[RunDir], key: str) -> bool:
    """What the runs' metrics say of ``key`` (recorded when they trained), as Keras's
    EarlyStopping asks the metric; a run without a record (interrupted early) has no say."""
    for run in runs:
        record = run.read_optional(MetricsRecord)
        if record is not None and record.directions:
            return record.direction(key) == "up"
    return False
