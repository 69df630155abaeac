"""Redrawing a run's figures from its stored files, in any report language."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from neuralab.reports.i18n import plot_labels, translator

BOUNDARY_FILE = "plots/decision_boundary.npz"


def render_run_figures(run_dir: str | Path, *, lang: str = "en") -> list[Path]:
    """Draw ``history.png``, ``lr_range.png`` and ``decision_boundary.png`` from files.

    Sources: ``history.csv``, ``lr_test.json`` and ``plots/decision_boundary.npz``; a
    figure whose source is missing is skipped. Keras is not needed.

    Returns:
        The PNG files written.
    """
    import pandas as pd

    from neuralab.analysis.curves import LearningCurvesDisplay
    from neuralab.analysis.figures import save_figure
    from neuralab.analysis.lr_plot import LRRangeDisplay

    run_dir = Path(run_dir)
    t = translator(lang)
    labels = plot_labels(lang)
    spec = _read_json(run_dir / "spec.json") or {}
    name = spec.get("name", run_dir.name)
    written: list[Path] = []

    history_path = run_dir / "history.csv"
    if history_path.exists():
        history = pd.read_csv(history_path, index_col=0)
        if len(history):
            display = LearningCurvesDisplay.from_history(
                history, title=f"{t['learning curves']}: {name}"
            ).plot(xlabel=t["epoch"], labels=labels)
            written.append(save_figure(display.figure_, run_dir / "plots" / "history.png"))

    lr_test = _read_json(run_dir / "lr_test.json")
    if lr_test:
        suggestions = lr_test.get("suggestions", {})
        lr_display = LRRangeDisplay.from_range_test(
            np.asarray(lr_test["learning_rates"]),
            np.asarray(lr_test["losses"]),
            suggestions=suggestions,
            title=f"{t['loss vs lr']}: {name}",
        ).plot(
            xlabel=t["learning rate"],
            ylabel=t["loss"],
            suggestion_labels={k: t.get(k, k) for k in suggestions},
        )
        written.append(save_figure(lr_display.figure_, run_dir / "plots" / "lr_range.png"))

    boundary = run_dir / BOUNDARY_FILE
    if boundary.exists():
        figure = _boundary_figure(boundary, title=f"{t['decision boundary']}: {name}", t=t)
        written.append(save_figure(figure, run_dir / "plots" / "decision_boundary.png"))
    return written


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


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
