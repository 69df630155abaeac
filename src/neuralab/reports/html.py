"""HTML reports: pure functions from stored results to text, plus a separate write step.

A report is rebuilt from a run directory's files alone (``neuralab report RUN_DIR``):
figures are redrawn from ``history.csv``, ``lr_test.json`` and the saved decision-boundary
grid, in the requested language, and embedded as base64 PNGs, so the HTML file is
self-contained.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Collection
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from neuralab.errors import RunError
from neuralab.reports.i18n import translator
from neuralab.runs.store import RunDir, atomic_write_text

HISTORY_ROWS = 8


@cache
def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("neuralab.reports", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.ChainableUndefined,
    )


def _version() -> str:
    from neuralab import __version__

    return __version__


def _data_uri(path: Path) -> str | None:
    if not path.exists():
        return None
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def load_run(path: str | Path) -> dict[str, Any]:
    """Everything stored in a run directory, as plain data for the templates.

    Raises:
        RunError: not a run directory.
    """
    import pandas as pd

    run = RunDir.open(path)
    status = run.status
    record: dict[str, Any] = dict(run.read_json("metrics.json", {}) or {})
    spec = run.read_json("spec.json", {}) or {}
    record.setdefault("name", spec.get("name", run.path.name))
    record.setdefault("title", spec.get("title", ""))
    record.setdefault("metrics", {})
    record.setdefault("splits", {})
    record.setdefault("findings", [])
    record.setdefault("expectations", [])
    record.setdefault("training", {})
    record.setdefault("quick", spec.get("quick", False))
    record["status"] = status.get("status", "incomplete")
    record["status_info"] = status
    record["spec"] = spec
    record["env"] = run.read_json("env.json", {}) or {}
    record["summary"] = run.read_text("summary.txt")
    record["lr_test"] = run.read_json("lr_test.json")
    record["evaluation"] = run.read_json("evaluation.json")
    record["layers"] = run.read_json("layers.json")
    record["weights"] = run.read_json("weights.json")
    history_path = run.path / "history.csv"
    record["history"] = (
        pd.read_csv(history_path, index_col=0) if history_path.exists() else pd.DataFrame()
    )
    record["path"] = str(run.path)
    return record


def _images(run_dir: Path) -> dict[str, str | None]:
    plots = run_dir / "plots"
    return {
        name: _data_uri(plots / f"{name}.png")
        for name in (
            "decision_boundary",
            "history",
            "history_loss",
            "history_accuracy",
            "lr_range",
            "confusion",
            "first",
            "top_losses",
            "weights",
        )
    }


def render_run_report(record: dict[str, Any], *, lang: str = "en") -> str:
    """The HTML report of one run (``record`` from :func:`load_run`)."""
    t = translator(lang)
    history = record["history"]
    rows = []
    columns: list[str] = []
    if len(history):
        tail = history.tail(HISTORY_ROWS)
        columns = [str(c) for c in tail.columns]
        rows = [
            [int(idx), *[float(v) for v in row]]
            for idx, row in zip(tail.index, tail.to_numpy(), strict=True)
        ]
    return (
        _environment()
        .get_template("run.html")
        .render(
            lang=lang,
            t=t,
            run=record,
            images=_images(Path(record["path"])),
            history_columns=columns,
            history_rows=rows,
            summary=record["summary"],
            spec_json=json.dumps(record["spec"], indent=2, ensure_ascii=False),
            env_json=json.dumps(record["env"], indent=2, ensure_ascii=False),
            page_title=f"{record.get('title') or record['name']} · neuralab",
            version=_version(),
            generated_at=datetime.now().strftime("%Y-%m-%d %H:%M"),
        )
    )


def write_run_report(path: str | Path, *, lang: str = "en") -> Path:
    """Redraw a run's figures from its files and write ``report.html`` (atomically)."""
    from neuralab.reports.figures import render_run_figures

    run_dir = Path(path)
    render_run_figures(run_dir, lang=lang)
    html = render_run_report(load_run(run_dir), lang=lang)
    return atomic_write_text(run_dir / "report.html", html)


# --------------------------------------------------------------------------- labs

LAB_FILE = "lab.json"


def is_lab_dir(path: str | Path) -> bool:
    return (Path(path) / LAB_FILE).exists()


def load_lab(path: str | Path) -> dict[str, Any]:
    """A lab directory's ``lab.json`` plus every experiment run in it."""
    path = Path(path)
    if not is_lab_dir(path):
        raise RunError(f"{path}: not a lab directory (no {LAB_FILE}).")
    lab = json.loads((path / LAB_FILE).read_text(encoding="utf-8"))
    runs = []
    for name in lab.get("experiments", []):
        run_path = path / name
        if not (run_path / "status.json").exists():
            continue
        record = load_run(run_path)
        record["images"] = _images(run_path)
        checks = [e.get("passed") for e in record.get("expectations", [])]
        record["matched"] = None if not checks or None in checks else all(checks)
        spec = record.get("spec", {})
        lr = (spec.get("compile", {}) or {}).get("learning_rate")
        schedule = (spec.get("fit", {}) or {}).get("lr_schedule")
        if schedule:
            record["lr_label"] = schedule  # a per-epoch function, e.g. the range test's
        elif isinstance(lr, dict):
            record["lr_label"] = lr.get("type", "schedule")
        else:
            record["lr_label"] = lr if isinstance(lr, str) else "default"
        record["fit_summary"] = _fit_summary(record)
        runs.append(record)
    lab["runs"] = runs
    lab["path"] = str(path)
    for comparison in lab.get("compare", []):
        comparison["images"] = [
            uri
            for metric in comparison.get("metrics", [])
            if (uri := _data_uri(path / "plots" / f"compare_{comparison['name']}_{metric}.png"))
        ]
    return lab


def _fit_summary(record: dict[str, Any]) -> dict[str, Any] | None:
    """Best epoch and the train/validation gap there, from the run's history.

    The monitored value is the EarlyStopping callback's ``monitor`` if the run has one, else
    ``val_loss``; the gap is the validation value minus its training counterpart at the best
    epoch (how much worse the model does on data it has not seen).
    """
    history = record.get("history")
    if history is None or not len(history):
        return None
    monitor = "val_loss"
    for callback in (record.get("spec", {}).get("fit", {}) or {}).get("callbacks", []) or []:
        if callback.get("type") == "EarlyStopping":
            monitor = callback.get("monitor", "val_loss")
    if monitor not in history:
        monitor = "val_loss" if "val_loss" in history else "loss"
    series = history[monitor]
    if not series.notna().any():
        return None
    higher_is_better = "acc" in monitor
    best = int(series.idxmax() if higher_is_better else series.idxmin())
    row = history.loc[best]
    train_key = monitor.removeprefix("val_")
    gap = (
        float(row[monitor] - row[train_key])
        if monitor.startswith("val_") and train_key in history
        else None
    )
    return {
        "monitor": monitor,
        "best_epoch": best,
        "best_value": float(row[monitor]),
        "val_accuracy": float(row["val_accuracy"]) if "val_accuracy" in history else None,
        "train_value": float(row[train_key]) if train_key in history else None,
        "gap": gap,
        "final_gap": (
            float(history[monitor].iloc[-1] - history[train_key].iloc[-1])
            if monitor.startswith("val_") and train_key in history
            else None
        ),
    }


def render_lab_report(lab: dict[str, Any], *, lang: str = "en") -> str:
    """The HTML report of a lab (``lab`` from :func:`load_lab`)."""
    from neuralab.labs.registry import lab_narrative

    t = translator(lang)
    env = lab["runs"][0]["env"] if lab["runs"] else {}
    return (
        _environment()
        .get_template("lab.html")
        .render(
            lang=lang,
            t=t,
            lab=lab,
            runs=lab["runs"],
            narrative=lab_narrative(lab.get("lab", ""), lang),
            env_json=json.dumps(env, indent=2, ensure_ascii=False),
            page_title=f"{lab.get('title', '')} · neuralab",
            version=_version(),
            generated_at=datetime.now().strftime("%Y-%m-%d %H:%M"),
        )
    )


# Below this many runs, worker processes cost more to start than they save.
PARALLEL_REPORTS_FROM = 4


def write_lab_report(
    path: str | Path,
    *,
    lang: str = "en",
    jobs: int | None = None,
    written: Collection[Path] = (),
) -> Path:
    """Redraw every experiment's figures, write its report, then the lab's ``report.html``.

    Drawing figures is most of a small lab's report time and is single-threaded, so the
    runs' reports are written in ``jobs`` worker processes (default: one per CPU, at most 4)
    when there are at least ``PARALLEL_REPORTS_FROM`` of them. Runs in ``written`` already
    have their report (drawn by a :class:`~neuralab.reports.render.ReportWorker` while the
    lab ran) and are not drawn again.
    """
    path = Path(path)
    lab = json.loads((path / LAB_FILE).read_text(encoding="utf-8"))
    done = {Path(p) for p in written}
    runs = [
        path / n
        for n in lab.get("experiments", [])
        if (path / n / "status.json").exists() and path / n not in done
    ]
    jobs = min(os.cpu_count() or 1, 4) if jobs is None else jobs
    if len(runs) < PARALLEL_REPORTS_FROM:
        jobs = 1
    from neuralab.reports.render import write_run_reports

    write_run_reports(runs, lang=lang, jobs=jobs)
    _comparison_figures(path, lab, lang=lang)
    html = render_lab_report(load_lab(path), lang=lang)
    return atomic_write_text(path / "report.html", html)


def _comparison_figures(path: Path, lab: dict[str, Any], *, lang: str) -> None:
    """The lab's ``[[compare]]`` figures, from the runs' ``history.csv`` files."""
    from neuralab.analysis.compare import HistoryComparisonDisplay
    from neuralab.analysis.figures import save_figure
    from neuralab.reports.i18n import plot_labels

    t = translator(lang)
    for comparison in lab.get("compare", []):
        runs = [path / n for n in comparison["experiments"] if (path / n / "history.csv").exists()]
        if len(runs) < 2:
            continue
        heading = comparison.get("title") or comparison["name"]
        for metric in comparison.get("metrics", []):
            try:
                display = HistoryComparisonDisplay.from_runs(
                    runs,
                    metric=metric,
                    smoothing_std=comparison.get("smoothing_std", 0.0),
                    title=f"{heading}: {t.get(metric, metric)}",
                ).plot(
                    logx=comparison.get("logx", False),
                    ylim=tuple(comparison["ylim"]) if comparison.get("ylim") else None,
                    xlabel=t["epoch"],
                    labels=plot_labels(lang),
                )
            except ValueError:  # the runs did not log this metric
                continue
            save_figure(
                display.figure_, path / "plots" / f"compare_{comparison['name']}_{metric}.png"
            )


def write_report(path: str | Path, *, lang: str = "en") -> Path:
    """Rebuild the report of a run or lab directory from its files alone."""
    path = Path(path)
    if is_lab_dir(path):
        return write_lab_report(path, lang=lang)
    return write_run_report(path, lang=lang)
