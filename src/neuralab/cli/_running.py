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
from neuralab.cli._progress import _run_progress
from neuralab.cli.choices import Backend, Executor, Lang, Trainer, check_choice
from neuralab.errors import NeuralabError
from neuralab.reports.i18n import translator


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


def _lr_text(run: Any, lang: str = "en") -> str:
    """The LR cell, as the lab report writes it."""
    from neuralab.reports.views import lr_label

    return lr_label(run.spec.to_dict(), run.learning_rate, lang=lang)


def _stat_cell(runs: list[Any], split: str) -> str:
    """A metric over the seeds: ``"88.6% ± 8.2"`` (one seed: ``"97.5%"``)."""
    from neuralab.analysis.seeds import seed_stats

    stats = seed_stats([run.metric(split) for run in runs])
    return "–" if stats is None else stats.percent()


def _verdict_cell(runs: list[Any], t: Any) -> str:
    """The chapter verdict: each run's expectations, and with several seeds how many meet
    them (the band is checked on the mean unless the expectation says ``over = "every"``)."""
    from neuralab.analysis.seeds import in_band, seed_stats

    verdicts: list[bool | None] = []
    per_seed = []
    for run in runs:
        checks = [e["passed"] for e in run.expectations]
        per_seed.append(None if not checks or None in checks else all(checks))
    first = runs[0]
    for j, expectation in enumerate(first.spec.expect):
        results = [run.expectations[j] for run in runs if j < len(run.expectations)]
        if not results or any(e["passed"] is None for e in results):
            verdicts.append(None)
        elif expectation.over == "every" or len(runs) == 1:
            verdicts.append(all(e["passed"] for e in results))
        else:
            stats = seed_stats([e["value"] for e in results])
            verdicts.append(
                in_band(stats.mean if stats else None, expectation.min, expectation.max)
            )
    if not verdicts or None in verdicts:
        matched = "–"
    else:
        matched = f"[green]{t['yes']}[/]" if all(verdicts) else f"[red]{t['no']}[/]"
    if len(runs) > 1 and any(v is not None for v in per_seed):
        inside = sum(1 for v in per_seed if v)
        matched += f" ({t['seeds inside'].format(k=inside, n=len(runs))})"
    return matched


def _summary_table(
    result: Any, lang: str, narrative: dict[str, dict[str, str]] | None = None
) -> Table:
    """The results of a file of experiments, titled with the lab's title in ``lang`` (from
    its ``narrative``, as the lab record stores it) or the file's name."""
    t = translator(lang)
    texts = {**(narrative or {}).get("en", {}), **(narrative or {}).get(lang, {})}
    groups: dict[str, list[Any]] = {}
    for run in result.runs:
        groups.setdefault(run.spec.name, []).append(run)
    several = any(len(runs) > 1 for runs in groups.values())
    title = texts.get("title") or result.name
    table = Table(title=_title(f"{t['results']}: {title}"), title_justify="left")
    table.add_column(t["model"], no_wrap=True)
    if several:
        table.add_column(t["seeds"], justify="right")
    table.add_column(t["epochs"], justify="right")
    table.add_column(t["lr"], justify="right")
    table.add_column(t["train acc"], justify="right", no_wrap=True)
    with_validation = any(run.metric("validation") is not None for run in result.runs)
    if with_validation:
        table.add_column(t["validation acc"], justify="right", no_wrap=True)
    table.add_column(t["test acc"], justify="right", no_wrap=True)
    table.add_column(t["chapter"], justify="right", no_wrap=True)
    table.add_column(t["match"], justify="center", no_wrap=True)
    for name, runs in groups.items():
        first = runs[0]
        epochs = sorted({run.training.epochs_run for run in runs})
        ref = first.spec.reference
        table.add_row(
            name,
            *([str(len(runs))] if several else []),
            str(epochs[0]) if len(epochs) == 1 else f"{epochs[0]}–{epochs[-1]}",
            escape(_lr_text(first, lang)),
            _stat_cell(runs, "train"),
            *([_stat_cell(runs, "validation")] if with_validation else []),
            _stat_cell(runs, "test"),
            f"{_pct(ref.value)} {t[ref.split].lower()}" if ref else "–",
            _verdict_cell(runs, t),
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
    seeds: int | None = None,
    executor: str = "local",
    address: str | None = None,
) -> None:
    with _user_errors():
        check_choice(Lang, "lang", lang)
        check_choice(Trainer, "trainer", trainer)
        check_choice(Executor, "executor", executor)
        from neuralab.runs.executors import check_executor

        if executor != "ray":
            address = None  # $RAY_ADDRESS is for Ray
        check_executor(executor, address=address)  # said before anything runs
        with _ctrl_c_stops_runs():
            types = experiments.layer_types()
            choice = _select_backend(backend, types, {e.backend for e in experiments.experiments})
            from neuralab.data.table_format import reading_progress
            from neuralab.runs.file_runner import run_experiment_file
            from neuralab.runs.stopping import stop_requested

            # Table files (`name = "csv"`) are read inside: bytes read, in the same display.
            with _run_progress() as (factory, reading), reading_progress(reading):
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
                    seeds=seeds,
                    executor=executor,
                    address=address,
                )
            if not state.quiet:
                console.print(_summary_table(result, lang, narrative))
                t = translator(lang)
                _say(
                    f"{t['backend']}: {choice.name} ({choice.reason}). "
                    f"{t['wall time']}: {result.wall_time:.1f} s."
                )
            _say(f"{translator(lang)['report']}: {result.report}")
            if stop_requested():  # came after the runs' last safe point: they are complete
                err_console.print("[yellow]Interrupted[/] after the runs had finished.")
                raise typer.Exit(130)
