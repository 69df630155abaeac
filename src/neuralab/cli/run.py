"""``neuralab run`` and ``neuralab lr-find``: the experiments of a TOML spec file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from neuralab.cli._app import (
    AddressOpt,
    BackendOpt,
    ExecutorOpt,
    JobsOpt,
    LangOpt,
    OutputOpt,
    QuickOpt,
    ResumeOpt,
    SeedsOpt,
    TrainerOpt,
    _say,
    _user_errors,
    app,
    console,
    state,
)
from neuralab.cli._live import LiveOpt, NoBrowserOpt, maybe_live
from neuralab.cli._running import _run_file, _select_backend
from neuralab.cli.choices import Lang, check_choice


@app.command("run")
def run_command(
    spec: Annotated[Path, typer.Argument(help="TOML experiment file.")],
    experiment: Annotated[
        list[str] | None, typer.Option("--experiment", "-e", help="Run only these experiments.")
    ] = None,
    quick: QuickOpt = False,
    lang: LangOpt = "en",
    backend: BackendOpt = "auto",
    output: OutputOpt = Path("runs"),
    trainer: TrainerOpt = "auto",
    jobs: JobsOpt = 1,
    executor: ExecutorOpt = "local",
    address: AddressOpt = None,
    resume: ResumeOpt = None,
    seeds: SeedsOpt = None,
    live: LiveOpt = False,
    no_browser: NoBrowserOpt = False,
) -> None:
    """Run the experiments of a TOML spec file."""
    with _user_errors():
        from neuralab.config import load_experiments

        experiments = _select(load_experiments(spec), experiment)
    with maybe_live(
        live,
        output=output,
        resume=resume,
        lang=lang,
        title=spec.stem,
        open_page=not no_browser,
    ):
        _run_file(
            experiments,
            name=spec.stem,
            backend=backend,
            quick=quick,
            lang=lang,
            output=output,
            trainer=trainer,
            jobs=jobs,
            executor=executor,
            address=address,
            resume=resume,
            seeds=seeds,
        )


def _select(experiments: Any, names: list[str] | None) -> Any:
    if not names:
        return experiments
    from neuralab.errors import SpecError, did_you_mean

    for n in names:
        if n not in experiments.names():
            raise SpecError(
                f"{experiments.source}: no experiment named {n!r}."
                f"{did_you_mean(n, experiments.names())} "
                f"Experiments: {', '.join(experiments.names())}."
            )
    chosen = tuple(e for e in experiments.experiments if e.name in names)
    return experiments.model_copy(update={"experiments": chosen})


@app.command("lr-find")
def lr_find_command(
    spec: Annotated[Path, typer.Argument(help="TOML experiment file.")],
    experiment: Annotated[
        str | None,
        typer.Option("--experiment", "-e", help="Which experiment (default: the first)."),
    ] = None,
    start_lr: Annotated[float, typer.Option(help="First learning rate.")] = 1e-7,
    end_lr: Annotated[float, typer.Option(help="Last learning rate.")] = 10.0,
    steps: Annotated[int, typer.Option(help="Number of steps (batches).")] = 100,
    lang: LangOpt = "en",
    backend: BackendOpt = "auto",
    output: OutputOpt = Path("runs"),
) -> None:
    """Per-batch learning-rate range test (fastai style) for an experiment."""
    with _user_errors():
        check_choice(Lang, "lang", lang)
        from neuralab.config import load_experiments

        experiments = load_experiments(spec)
        name = experiment or experiments.experiments[0].name
        chosen = _select(experiments, [name]).experiments[0]
        choice = _select_backend(
            backend, chosen.model.layer_types() if chosen.model else (), {chosen.backend}
        )
        from neuralab.runs.lr_find_run import run_lr_find

        result = run_lr_find(
            chosen,
            output=output,
            start_lr=start_lr,
            end_lr=end_lr,
            num_steps=steps,
            lang=lang,
            backend_reason=f"{choice.name}: {choice.reason}",
            where=f"{spec}: experiments ({chosen.name})",
        )
        if not state.quiet:
            table = Table(title=f"Learning-rate suggestions for {chosen.name}")
            table.add_column("method")
            table.add_column("learning rate", justify="right")
            for method, value in result.finder.suggestions.items():
                table.add_row(method, f"{value:.3g}")
            console.print(table)
            if result.finder.stopped_early:
                console.print(f"Stopped after {result.finder.n_steps} steps: the loss diverged.")
        _say(f"Plot: {result.plot}")
        _say(f"Suggestions: {result.json}")
