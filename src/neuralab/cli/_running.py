"""Running an experiment file, shared by ``neuralab lab`` and ``neuralab run``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from neuralab.cli._app import (
    _ctrl_c_stops_runs,
    _pct,
    _say,
    _title,
    _user_errors,
    console,
    err_console,
    state,
)
from neuralab.cli._progress import _progress_factory
from neuralab.cli.choices import Backend, Lang, Trainer, check_choice
from neuralab.errors import NeuralabError


def _select_backend(requested: str, layer_types: tuple[str, ...], spec_backends: set[str]) -> Any:
    from neuralab.backend import choose_backend, use_backend

    check_choice(Backend, "backend", requested)
    if requested == "auto":
        explicit = sorted(b for b in spec_backends if b != "auto")
        if len(explicit) > 1:
            raise NeuralabError(
                f"the experiments ask for different backends {explicit}; one process uses one "
                "backend. Pass --backend to choose, or run them separately."
            )
        if explicit:
            requested = explicit[0]
    choice = use_backend(choose_backend(requested, layer_types=layer_types))
    from neuralab.backend import enable_compilation_cache

    enable_compilation_cache()
    return choice


def _lr_text(run: Any) -> str:
    """The LR cell, as the lab report writes it."""
    from neuralab.reports.views import lr_label

    return lr_label(run.spec.to_dict(), run.learning_rate)


def _summary_table(result: Any, lang: str) -> Table:
    from neuralab.reports.i18n import translator

    t = translator(lang)
    table = Table(title=_title(f"{t['results']}: {result.name}"), title_justify="left")
    table.add_column(t["model"], no_wrap=True)
    table.add_column(t["epochs"], justify="right")
    table.add_column("LR", justify="right")
    table.add_column(f"{t['train']} acc", justify="right")
    with_validation = any(run.metric("validation") is not None for run in result.runs)
    if with_validation:
        table.add_column("Val acc", justify="right")
    table.add_column(f"{t['test']} acc", justify="right")
    table.add_column(t["chapter"], justify="right", no_wrap=True)
    table.add_column(t["match"], justify="center")
    for run in result.runs:
        checks = [e["passed"] for e in run.expectations]
        if not checks or None in checks:
            matched = "–"
        else:
            matched = f"[green]{t['yes']}[/]" if all(checks) else f"[red]{t['no']}[/]"
        ref = run.spec.reference
        table.add_row(
            run.name,
            str(run.training.epochs_run),
            escape(_lr_text(run)),
            _pct(run.metric("train")),
            *([_pct(run.metric("validation"))] if with_validation else []),
            _pct(run.metric("test")),
            f"{_pct(ref.value)} {t[ref.split].lower()}" if ref else "–",
            matched,
        )
    return table


def _run_file(
    experiments: Any,
    *,
    name: str,
    backend: str,
    quick: bool,
    lang: str,
    output: Path,
    trainer: str = "auto",
    jobs: int = 1,
    resume: Path | None = None,
    narrative: dict[str, dict[str, str]] | None = None,
) -> None:
    with _user_errors():
        check_choice(Lang, "lang", lang)
        check_choice(Trainer, "trainer", trainer)
        with _ctrl_c_stops_runs():
            types = experiments.layer_types()
            choice = _select_backend(backend, types, {e.backend for e in experiments.experiments})
            from neuralab.runs.file_runner import run_experiment_file
            from neuralab.runs.stopping import stop_requested

            with _progress_factory() as factory:
                result = run_experiment_file(
                    experiments,
                    name=name,
                    output=output,
                    quick=quick,
                    lang=lang,
                    progress=factory,
                    backend_reason=f"{choice.name}: {choice.reason}",
                    trainer=None if trainer == "auto" else trainer,
                    jobs=jobs,
                    resume=resume,
                    narrative=narrative,
                )
            if not state.quiet:
                console.print(_summary_table(result, lang))
                _say(
                    f"Backend: {choice.name} ({choice.reason}). "
                    f"Wall time: {result.wall_time:.1f} s."
                )
            _say(f"Report: {result.report}")
            if stop_requested():  # came after the runs' last safe point: they are complete
                err_console.print("[yellow]Interrupted[/] after the runs had finished.")
                raise typer.Exit(130)
