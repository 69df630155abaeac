"""HTML reports: pure functions from typed views of stored records to text, plus a write step.

A report is rebuilt from a run directory's files alone (``neuralab report RUN_DIR``):
figures are redrawn from ``history.csv``, ``lr_test.json`` and the saved decision-boundary
grid, in the requested language, and embedded as base64 PNGs, so the HTML file is
self-contained. Templates are rendered with ``StrictUndefined``: a missing field is an error.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from neuralab.fileio import atomic_write_text
from neuralab.record import files
from neuralab.reports.i18n import translator
from neuralab.reports.views import LabView, RunView, load_lab, load_run

__all__ = [
    "load_lab",
    "load_run",
    "render_comparison_report",
    "render_lab_report",
    "render_run_report",
    "template_environment",
    "write_run_report",
]

HISTORY_ROWS = 8


@cache
def template_environment() -> Any:
    """The Jinja environment of the report templates (autoescaped, ``StrictUndefined``)."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("neuralab.reports", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )


_environment = template_environment


def _version() -> str:
    from neuralab import __version__

    return __version__


def version_name() -> str:
    """neuralab's version, as the reports' footers show it."""
    return _version()


def render_run_report(view: RunView, *, lang: str | None = None, light: bool = False) -> str:
    """The HTML report of one run (``view`` from :func:`load_run`) in ``lang`` (default: the
    view's language; another one reloads the run in it)."""
    if lang is not None and lang != view.lang:
        view = load_run(view.path, lang=lang)
    lang = view.lang
    t = translator(lang)
    history = view.history
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
            run=view,
            light=light,
            images=view.images,
            history_columns=columns,
            history_rows=rows,
            summary=view.summary,
            spec_json=json.dumps(view.spec, indent=2, ensure_ascii=False),
            env_json=_env_json(view),
            page_title=f"{view.title or view.name} · neuralab",
            version=_version(),
            generated_at=datetime.now().strftime("%Y-%m-%d %H:%M"),
        )
    )


def _env_json(view: RunView | None) -> str:
    env = view.env.model_dump(mode="json") if view is not None and view.env else {}
    return json.dumps(env, indent=2, ensure_ascii=False)


def write_run_report(path: str | Path, *, lang: str = "en", light: bool = False) -> Path:
    """Redraw a run's figures from its files and write ``report.html`` (atomically);
    ``light``: its numbers only, no figure (see
    :func:`~neuralab.reports.figures.render_run_figures`)."""
    from neuralab.reports.figures import render_run_figures

    run_dir = Path(path)
    render_run_figures(run_dir, lang=lang, light=light)
    html = render_run_report(load_run(run_dir, lang=lang), light=light)
    return atomic_write_text(run_dir / files.REPORT, html)


# --------------------------------------------------------------------------- labs


def render_lab_report(lab: LabView, *, lang: str | None = None) -> str:
    """The HTML report of a lab (``lab`` from :func:`load_lab`) in ``lang`` (default: the
    view's language; another one reloads the lab in it)."""
    if lang is not None and lang != lab.lang:
        lab = load_lab(lab.path, lang=lang)
    lang = lab.lang
    t = translator(lang)
    return (
        _environment()
        .get_template("lab.html")
        .render(
            lang=lang,
            t=t,
            lab=lab,
            runs=lab.runs,
            groups=lab.groups,
            report_file=files.REPORT,
            narrative=lab.texts.local,
            env_json=_env_json(lab.runs[0] if lab.runs else None),
            page_title=f"{lab.title} · neuralab",
            version=_version(),
            generated_at=datetime.now().strftime("%Y-%m-%d %H:%M"),
        )
    )


# Below this many runs, worker processes cost more to start than they save.
PARALLEL_REPORTS_FROM = 4


def render_comparison_report(
    *,
    runs: list[tuple[str, str]],
    ranking: list[dict[str, Any]],
    rank_by: str,
    images: dict[str, str],
    smoothing_std: float,
    lang: str = "en",
) -> str:
    """The HTML report of ``neuralab compare``: the ranking table and one figure per metric."""
    t = translator(lang)
    return (
        _environment()
        .get_template("compare.html")
        .render(
            lang=lang,
            t=t,
            runs=runs,
            ranking=ranking,
            rank_by=rank_by,
            images=images,
            smoothing_std=smoothing_std,
            page_title=f"{t['comparison']} · neuralab",
            version=_version(),
            generated_at=datetime.now().strftime("%Y-%m-%d %H:%M"),
        )
    )
