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

    The seeds of one experiment (the runs of a lab with ``repeat`` or ``--seeds``) count as one
    entry: its curves are their mean with a band, and it is ranked by the mean of their best
    values, with the spread (``std``, ``min``, ``max``, ``seeds``) beside it.

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
    from neuralab.analysis.seeds import seed_stats
    from neuralab.reports.i18n import plot_labels, translator

    t = translator(lang)
    dirs = _run_dirs(paths)
    groups = _seed_groups(dirs)
    labels = [name for (_, name) in groups]
    if len(set(labels)) < len(labels):  # the same experiment from two labs
        labels = [f"{parent.name}/{name}" for (parent, name) in groups]
    members = dict(zip(labels, groups.values(), strict=True))
    runs = [RunDir(d) for d in dirs]
    per_seed = {n: [RunDir(d).read_history() for d in ds] for n, ds in members.items()}
    histories: dict[str, Any] = {n: h if len(h) > 1 else h[0] for n, h in per_seed.items()}
    key = rank_by or (
        "val_loss"
        if all("val_loss" in normalise_keys(h) for hs in per_seed.values() for h in hs)
        else "loss"
    )
    key = {"acc": "accuracy", "val_acc": "val_accuracy"}.get(key, key)
    higher = _higher_is_better(runs, key)
    ranking: list[dict[str, Any]] = []
    for name, seeds in per_seed.items():
        bests, epochs, lengths = [], [], []
        for history in seeds:
            cols = normalise_keys(history)
            if key not in cols:
                continue
            values = cols[key]
            index = int(values.argmax() if higher else values.argmin())
            bests.append(float(values[index]))
            epochs.append(index + 1)
            lengths.append(len(values))
        stats = seed_stats(bests)
        if stats is None:
            continue
        ranking.append(
            {
                "run": name,
                "best": stats.mean,
                "std": stats.std,
                "min": stats.min,
                "max": stats.max,
                "seeds": stats.n,
                "epoch": epochs[0] if len(epochs) == 1 else round(sum(epochs) / len(epochs), 1),
                "epochs": max(lengths),
            }
        )
    # Ranked by the mean over the seeds (one seed: its value).
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
            runs=[(n, ", ".join(str(d) for d in ds)) for n, ds in members.items()],
            ranking=ranking,
            rank_by=key,
            images=images,
            smoothing_std=smoothing_std,
            lang=lang,
        )
        comparison.report = atomic_write_text(Path(output), html)
    return comparison


def _seed_groups(dirs: Sequence[Path]) -> dict[tuple[Path, str], list[Path]]:
    """Runs that are seeds of one experiment of one lab, together (in the order given); any
    other run on its own, named by its folder."""
    groups: dict[tuple[Path, str], list[Path]] = {}
    for d in dirs:
        record = RunDir(d).read_optional(MetricsRecord)
        several = record is not None and record.group and d.name != record.group
        key = (d.parent, record.group) if several and record else (d.parent, d.name)
        groups.setdefault(key, []).append(d)
    return groups


def _higher_is_better(runs: Sequence[RunDir], key: str) -> bool:
    """What the runs' metrics say of ``key`` (recorded when they trained), as Keras's
    EarlyStopping asks the metric; a run without a record (interrupted early) has no say."""
    for run in runs:
        record = run.read_optional(MetricsRecord)
        if record is not None and record.directions:
            return record.direction(key) == "up"
    return False
