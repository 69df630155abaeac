"""Redrawing a run's figures from its stored files, in any report language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from neuralab.record import (
    EvaluationRecord,
    LRTestRecord,
    RunDir,
    SpecRecord,
    WeightsRecord,
    files,
)
from neuralab.reports.i18n import plot_labels, translator
from neuralab.reports.views import run_lab_texts


def render_run_figures(run_dir: str | Path, *, lang: str = "en", light: bool = False) -> list[Path]:
    """Draw ``history.png``, ``lr_range.png`` and ``decision_boundary.png`` from files.

    Sources: ``history.csv``, ``lr_test.json`` and ``plots/decision_boundary.npz``; a
    figure whose source is missing is skipped. Keras is not needed. ``light``: none (a lab's
    other seeds: the lab report draws every seed's curves in one figure per experiment, and
    the boundary, confusion matrix and weights of its first seed; ``neuralab report RUN_DIR``
    draws them all for any run).

    Returns:
        The PNG files written.
    """
    from neuralab.analysis.curves import LearningCurvesDisplay
    from neuralab.analysis.figures import save_figure
    from neuralab.analysis.lr_plot import LRRangeDisplay

    run = RunDir.open(run_dir)
    if light:
        return []
    run_dir = run.path
    t = translator(lang)
    labels = plot_labels(lang)
    stored = run.read_optional(SpecRecord)
    name = stored.name if stored and stored.name else run_dir.name
    written: list[Path] = []

    history = run.read_history()
    if len(history):
        report = stored.section("report") if stored else {}
        ylim = report.get("history_ylim")
        label = report.get("baseline_label") or "baseline"
        baseline: dict[str, Any] = {
            "baseline": report.get("baseline"),
            "baseline_label": run_lab_texts(run_dir, lang).translate(str(label)),
        }
        if report.get("history") == "separate":
            # The CNN chapter's plot_loss_curves: one figure per metric, train vs validation.
            curves = history[[c for c in history.columns if c not in ("learning_rate", "lr")]]
            for family in ("loss", "accuracy"):
                if family not in curves.columns:
                    continue
                display = LearningCurvesDisplay.from_history(
                    curves, title=name, metrics=[family]
                ).plot(xlabel=t["epoch"], labels=labels, **baseline)
                path = run.file(files.plot(f"history_{family}"))
                written.append(save_figure(display.figure_, path))
        else:
            display = LearningCurvesDisplay.from_history(
                history, title=f"{t['learning curves']}: {name}"
            ).plot(
                xlabel=t["epoch"],
                labels=labels,
                overlay=report.get("history") == "overlay",
                ylim=tuple(ylim) if ylim else None,
                **baseline,
            )
            written.append(save_figure(display.figure_, run.file(files.plot("history"))))

    lr_test = run.read_optional(LRTestRecord)
    if lr_test:
        suggestions = dict(lr_test.suggestions)
        lr_display = LRRangeDisplay.from_range_test(
            np.asarray(lr_test.learning_rates),
            np.asarray(lr_test.losses),
            suggestions=suggestions,
            smoothed=list(lr_test.smoothed_losses) or None,
            title=f"{t['loss vs lr']}: {name}",
        ).plot(
            xlabel=t["learning rate"],
            ylabel=t["loss"],
            suggestion_labels={k: t.get(k, k) for k in suggestions},
        )
        written.append(save_figure(lr_display.figure_, run.file(files.plot("lr_range"))))

    boundary = run.file(files.BOUNDARY)
    if boundary.exists():
        figure = _boundary_figure(boundary, title=f"{t['decision boundary']}: {name}", t=t)
        written.append(save_figure(figure, run.file(files.plot("decision_boundary"))))
    strip = _boundary_strip_figure(run, title=f"{t['boundary while training']}: {name}", t=t)
    if strip is not None:
        written.append(save_figure(strip, run.file(files.plot("boundary_strip"))))
    written.extend(_evaluation_figures(run, name=name, t=t, labels=labels))
    return written


def _evaluation_figures(
    run: RunDir, *, name: str, t: dict[str, str], labels: dict[str, str]
) -> list[Path]:
    """Confusion matrix, prediction galleries and weight histograms, from their files."""
    from neuralab.analysis.evaluation import ConfusionMatrixDisplay, plot_image_grid
    from neuralab.analysis.figures import save_figure
    from neuralab.analysis.inspection import plot_weight_histograms

    written: list[Path] = []
    evaluation = run.read_optional(EvaluationRecord)
    if evaluation:
        split = t.get(evaluation.split, evaluation.split)
        display = ConfusionMatrixDisplay.from_evaluation(
            evaluation.model_dump(), title=f"{t['confusion matrix']} ({split}): {name}"
        ).plot(labels=labels)
        written.append(save_figure(display.figure_, run.file(files.plot("confusion"))))
    gallery = run.file(files.PREDICTIONS)
    if gallery.exists():
        with np.load(gallery, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        names = [str(c) for c in arrays["class_names"]]
        for key, title in (("first", t["first predictions"]), ("top_losses", t["top losses"])):
            true, pred = arrays[f"{key}_true"], arrays[f"{key}_pred"]
            captions = [
                f"{names[p]} ({100 * c:.0f}%)" + ("" if p == y else f"\n{t['true']}: {names[y]}")
                for p, y, c in zip(pred, true, arrays[f"{key}_confidence"], strict=True)
            ]
            figure = plot_image_grid(
                arrays[f"{key}_x"],
                captions,
                correct=[bool(p == y) for p, y in zip(pred, true, strict=True)],
                title=f"{title}: {name}",
            )
            written.append(save_figure(figure, run.file(files.plot(key))))
    weights = run.read_optional(WeightsRecord)
    if weights and weights.detail:
        detail = weights.detail
        figure = plot_weight_histograms(
            detail, title=f"{t['weights']}: {name} / {detail['layer']}", labels=labels
        )
        written.append(save_figure(figure, run.file(files.plot("weights"))))
    return written


def _boundary_figure(path: Path, *, title: str, t: dict[str, str]) -> Any:
    """The chapter's train/test figure from the grid and points saved with the run."""
    from neuralab.analysis.decision_boundary import plot_boundary_panels

    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    names = [str(s) for s in arrays["splits"] if str(s) in ("train", "test")] or [
        str(s) for s in arrays["splits"]
    ]
    return plot_boundary_panels(
        arrays["xx"],
        arrays["yy"],
        arrays["predictions"],
        [(t[name], arrays[f"x_{name}"], arrays[f"y_{name}"]) for name in names],
        class_names=[str(c) for c in arrays["class_names"]],
        title=title,
    )


def _boundary_strip_figure(run: RunDir, *, title: str, t: dict[str, str]) -> Any:
    """The boundary at a few epochs (:func:`~neuralab.record.events.strip_epochs`), from the
    run's events (2-feature data); None when the run has no such frames."""
    from neuralab.analysis.boundary_strip import plot_boundary_strip
    from neuralab.errors import RunError
    from neuralab.record.events import read_events, strip_epochs

    if not run.has(files.EVENTS):
        return None
    try:
        events = read_events(run.file(files.EVENTS))
    except RunError:
        return None  # an unreadable events file costs the strip, not the report
    begin = next((e for e in events if e.type == "begin" and e.points), None)
    if begin is None:
        return None
    wanted = set(strip_epochs(begin.epochs))
    frames = {e.epoch: e.grid for e in events if e.type == "boundary" and e.epoch in wanted}
    if len(frames) < 2:
        return None
    train = begin.points[0]
    return plot_boundary_strip(
        [
            (epoch, grid.arrays()[0], (grid.x_min, grid.x_max, grid.y_min, grid.y_max))
            for epoch, grid in sorted(frames.items())
        ],
        np.asarray(train.x),
        np.asarray(train.y),
        class_names=list(begin.class_names),
        title=title,
        epoch_label=t["epoch"],
    )
