"""Short HTML summaries of a run and a lab for notebooks (their ``_repr_html_``).

In Jupyter, a :class:`~neuralab.runs.runner.RunResult` or a lab's result shows itself as the
table of its numbers and its figures, drawn from its directory's records alone like the full
reports: figures are the report's PNG files embedded as ``data:`` URIs, so the output is
self-contained and stays in the saved notebook (and in a PDF of it). The language is the
lab's (``lab.json``), else English.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neuralab.record import LabDir, files
from neuralab.reports.html import template_environment
from neuralab.reports.i18n import translator
from neuralab.reports.views import load_lab, load_run

__all__ = ["lab_summary_html", "run_summary_html"]

_STYLE = (
    "<style>.nl-sum table{border-collapse:collapse;margin:6px 0}"
    ".nl-sum th,.nl-sum td{border-bottom:1px solid #e3e7ee;padding:3px 9px;text-align:left}"
    ".nl-sum td.num,.nl-sum th.num{text-align:right}.nl-sum .sub{color:#5b6475}"
    ".nl-sum img{max-width:100%;height:auto;margin:4px 0}</style>"
)

_MACROS = (
    '{% from "macros.html" import pct, num, stat_pct, stat_num, verdict %}'
    '{% macro img(uri, caption) %}{% if uri %}<div><img src="{{ uri }}" alt="{{ caption }}">'
    "</div>{% endif %}{% endmacro %}"
)

_RUN = (
    _MACROS
    + """<div class="nl-sum nl-run">
<p><b>{{ run.name }}</b>{% if run.title %} · {{ run.title }}{% endif %} <span class="sub">·
{{ t.status }}: {{ t[run.status] }}
{% if seed is not none %} · {{ t.seed }} {{ seed }}{% endif %}
{% if run.quick %} · <i>{{ t["quick note"] }}</i>{% endif %}</span></p>
{% if run.metrics %}<table><tr><th></th>
{% for m in metrics %}<th class="num">{{ t.get(m, m) }}</th>{% endfor %}</tr>
{% for split, values in run.metrics.items() %}<tr><th>{{ t.get(split, split) }}</th>
{% for m in metrics %}<td class="num">{% if m == "accuracy" %}{{ pct(values.get(m)) }}
{%- else %}{{ num(values.get(m)) }}{% endif %}</td>{% endfor %}</tr>
{% endfor %}</table>{% endif %}
<p class="sub">{{ t["epochs run"] }}: {{ run.training.epochs_run }}
{% if run.training.best_epoch %} · {{ t["best epoch"] }}: {{ run.training.best_epoch }}{% endif %}
· {{ t["learning rate"] }}: {{ lr }}
· {{ t.parameters }}: {{ "{:,}".format(run.params.total) if run.params else "–" }}
· {{ t["wall time"] }}: {{ num(run.training.wall_time, "%.1f") }} s
{% if run.env %} · {{ t.backend }}: {{ run.env.backend }} ({{ run.training.trainer }})
{%- endif %}</p>
{% if run.reference %}<p>{{ t.chapter }}:
{{ t.accuracy }} ({{ t[run.reference.split] }}) {{ pct(run.reference.value) }}
· {{ t.matched }}: {{ verdict(run.matched, t) }}</p>{% endif %}
{% for f in run.findings %}
<p class="sub">{{ t.get(f.severity, f.severity) }}: {{ f.message }}</p>{% endfor %}
{% for name, caption in figures %}{{ img(run.images.get(name), caption) }}{% endfor %}
<p class="sub">{{ t.report }}: <code>{{ report }}</code></p>
</div>"""
)

_LAB = (
    _MACROS
    + """<div class="nl-sum nl-lab">
<p><b>{{ lab.title }}</b> <span class="sub">· {{ t.lab }} <code>{{ lab.lab }}</code> ·
{{ t.status }}: {{ t[lab.status] }} · {{ t.backend }}: {{ lab.backend }}
· {{ t["total time"] }}: {{ num(lab.wall_time, "%.1f") }} s</span></p>
{% if lab.quick %}<p><i>{{ t["quick note"] }}</i></p>{% endif %}
<table><tr><th>{{ t.model }}</th><th>{{ t.description }}</th>{% if several %}
<th class="num">{{ t.seeds }}</th>{% endif %}
<th class="num">{{ t.epochs }}</th><th class="num">{{ t["learning rate"] }}</th>
<th class="num">{{ t.parameters }}</th>
<th class="num">{{ t.accuracy }} · {{ t.train }}</th>{% if has_val %}
<th class="num">{{ t.accuracy }} · {{ t.validation }}</th>{% endif %}
<th class="num">{{ t.accuracy }} · {{ t.test }}</th>
<th class="num">{{ t.loss }} · {{ t.test }}</th>
<th class="num">{{ t.chapter }}</th><th>{{ t.matched }}</th></tr>
{% for g in groups %}{% set r = g.first %}
{% set ep = g.runs|map(attribute="training.epochs_run")|list %}
<tr><td>{{ g.name }}</td><td>{{ r.title }}</td>
{% if several %}<td class="num">{{ g.n }}</td>{% endif %}
<td class="num">{{ ep|min }}{% if ep|min != ep|max %}–{{ ep|max }}{% endif %}</td>
<td class="num">{{ lr_labels[g.name] }}</td>
<td class="num">{{ "{:,}".format(r.params.total) if r.params else "–" }}</td>
<td class="num">{{ stat_pct(g.stat("train")) }}</td>{% if has_val %}
<td class="num">{{ stat_pct(g.stat("validation")) }}</td>{% endif %}
<td class="num">{{ stat_pct(g.stat("test")) }}</td>
<td class="num">{{ stat_num(g.stat("test", "loss")) }}</td>
<td class="num">{% if r.reference %}{{ pct(r.reference.value) }}
<span class="sub">({{ t[r.reference.split] }})</span>{% else %}–{% endif %}</td>
<td>{{ verdict(g.matched, t) }}</td></tr>
{% endfor %}</table>
{% for c in lab.compare if c.images %}<p><b>{{ c.title or c.name }}</b></p>
{% for uri in c.images %}{{ img(uri, c.title or c.name) }}{% endfor %}{% endfor %}
{% for g in groups if g.first.lr_test %}
<p><b>{{ t["lr range test"] }}</b> ({{ g.name }})</p>
{{ img(g.first.images.get("lr_range"), t["loss vs lr"]) }}
<p class="sub">{{ t.suggestions }}:
{% for k, v in g.first.lr_test.suggestions.items() %}{{ t.get(k, k) }} {{ "%.3g"|format(v) }}
{% if not loop.last %} · {% endif %}{% endfor %}</p>{% endfor %}
<p class="sub">{{ t.report }}: <code>{{ report }}</code></p>
</div>"""
)

# The run figures a summary shows, in this order, with the report's caption key.
_RUN_FIGURES = (
    ("decision_boundary", "decision boundary"),
    ("history", "learning curves"),
    ("history_loss", "loss"),
    ("history_accuracy", "accuracy"),
    ("lr_range", "loss vs lr"),
    ("confusion", "confusion matrix"),
    ("first", "first predictions"),
    ("top_losses", "top losses"),
)


def _lang_of(path: Path, lang: str | None) -> str:
    """``lang`` if given, else the language of the lab holding ``path`` (or being it)."""
    if lang is not None:
        return lang
    for folder in (path, path.parent):
        if LabDir.is_lab(folder):
            return LabDir(folder).read().lang
    return "en"


def _render(source: str, **context: Any) -> str:
    return _STYLE + template_environment().from_string(source).render(**context)


def run_summary_html(path: str | Path, *, lang: str | None = None) -> str:
    """A run's numbers (each split's accuracy and loss, epochs, learning rate, parameters,
    time, the chapter's number) and its figures, as one self-contained HTML fragment.

    Args:
        path: The run directory.
        lang: ``"en"`` or ``"pt"`` (default: the lab's language, else English).

    Raises:
        RunError: not a run directory.
    """
    from neuralab.reports.views import lr_label

    language = _lang_of(Path(path), lang)
    view = load_run(path, lang=language)
    t = translator(language)
    metrics: list[str] = []
    for values in view.metrics.values():
        metrics += [m for m in values if m not in metrics]
    metrics.sort(key=lambda m: (m != "accuracy", m != "loss", m))
    seed = view.record.seed if view.record.seed is not None else view.spec.get("seed")
    return _render(
        _RUN,
        run=view,
        t=t,
        seed=seed,
        metrics=metrics,
        lr=lr_label(view.spec, view.learning_rate, lang=language),
        figures=[(name, t.get(key, key)) for name, key in _RUN_FIGURES],
        report=str(Path(view.path) / files.REPORT),
    )


def lab_summary_html(path: str | Path, *, lang: str | None = None) -> str:
    """A lab's results table (one row per experiment; mean ± std over seeds), its comparison
    figures and its learning-rate range test, as one self-contained HTML fragment.

    Args:
        path: The lab directory.
        lang: ``"en"`` or ``"pt"`` (default: the lab's language).

    Raises:
        RunError: not a lab directory.
    """
    from neuralab.reports.views import lr_label

    language = _lang_of(Path(path), lang)
    lab = load_lab(path, lang=language)
    groups = lab.groups
    return _render(
        _LAB,
        lab=lab,
        t=translator(language),
        groups=groups,
        several=lab.max_seeds > 1,
        has_val=any("validation" in r.metrics for r in lab.runs),
        lr_labels={
            g.name: lr_label(g.first.spec, g.first.learning_rate, lang=language) for g in groups
        },
        report=str(Path(lab.path) / files.REPORT),
    )
