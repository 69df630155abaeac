"""The ``neuralab`` command line.

Only this module prints, installs logging handlers and turns a :class:`NeuralabError`
into one red line and exit code 1 (``--debug`` shows the traceback instead).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from neuralab import __version__
from neuralab.errors import NeuralabError

app = typer.Typer(
    name="neuralab",
    help="Build, train, evaluate and compare neural-network classifiers with Keras 3.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

console = Console()
err_console = Console(stderr=True)


class _State:
    quiet = False
    debug = False


state = _State()

F = TypeVar("F", bound=Callable[..., Any])

BackendOpt = Annotated[
    str,
    typer.Option(
        "--backend",
        help="auto | jax | tensorflow | torch (auto: JAX for dense "
        "models, TensorFlow for convolutions on CPU).",
    ),
]
LangOpt = Annotated[str, typer.Option("--lang", help="Report language: en | pt.")]
OutputOpt = Annotated[Path, typer.Option("--output", "-o", help="Folder for run directories.")]
QuickOpt = Annotated[bool, typer.Option("--quick", help="Few epochs: a smoke run.")]
TrainerOpt = Annotated[
    str,
    typer.Option(
        "--trainer",
        help="auto | fused | fit (auto: one compiled program per epoch on JAX when possible, "
        "else Keras model.fit).",
    ),
]


@contextmanager
def _user_errors() -> Iterator[None]:
    try:
        yield
    except NeuralabError as exc:
        if state.debug:
            raise
        err_console.print(
            f"[bold red]Error:[/] {exc}", markup=True, highlight=False, soft_wrap=True
        )
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err_console.print("[yellow]Interrupted.[/] Runs so far are saved and marked incomplete.")
        raise typer.Exit(130) from None


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"neuralab {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bars or tables.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
) -> None:
    """neuralab: course chapters as one-command labs, and the same pieces for your data."""
    state.quiet = quiet
    state.debug = debug
    from rich.logging import RichHandler

    level = logging.DEBUG if debug else logging.WARNING
    logging.basicConfig(
        level=level, format="%(message)s", handlers=[RichHandler(console=err_console)], force=True
    )
    # TensorFlow's C++ logging floods the terminal on import; keep it to errors.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# --------------------------------------------------------------------------- helpers


def _select_backend(requested: str, layer_types: tuple[str, ...], spec_backends: set[str]) -> Any:
    from neuralab.backend import choose_backend, use_backend

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


def _check_trainer(trainer: str) -> None:
    from neuralab.errors import one_of
    from neuralab.training.trainer import TRAINERS

    if trainer not in TRAINERS:
        raise NeuralabError(one_of("trainer", trainer, TRAINERS))


def _check_lang(lang: str) -> None:
    from neuralab.reports.i18n import check_lang

    check_lang(lang)


class _RichProgress:
    """A rich progress bar per experiment (epochs), with the latest loss and accuracy."""

    def __init__(self, progress: Any) -> None:
        self._progress = progress
        self._task: Any = None

    def start(self, description: str, total: int) -> None:
        self._task = self._progress.add_task(description, total=total, info="")

    def advance(self, n: int = 1, **info: Any) -> None:
        shown = "  ".join(
            f"{k} {v:.4f}"
            for k, v in info.items()
            if k in ("loss", "accuracy", "val_loss", "val_accuracy")
        )
        self._progress.update(self._task, advance=n, info=shown)

    def finish(self) -> None:
        if self._task is not None:
            task = self._progress.tasks[self._task]
            self._progress.update(self._task, completed=task.completed, visible=True)


@contextmanager
def _progress_factory() -> Iterator[Callable[[str], Any] | None]:
    if state.quiet:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=20),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[info]}"),
        console=err_console,
    )
    with progress:
        yield lambda name: _RichProgress(progress)


def _say(text: str) -> None:
    """A line that must stay whole (paths): no wrapping, no highlighting."""
    console.print(text, soft_wrap=True, highlight=False, markup=False)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _summary_table(result: Any, lang: str) -> Table:
    from neuralab.reports.i18n import translator

    t = translator(lang)
    table = Table(title=f"{t['results']}: {result.name}", title_justify="left")
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
            f"{run.learning_rate:.3g}" if run.learning_rate else "default",
            _pct(run.metric("train")),
            *([_pct(run.metric("validation"))] if with_validation else []),
            _pct(run.metric("test")),
            f"{_pct(ref.value)} {t[ref.split].lower()}" if ref else "–",
            matched,
        )
    return table


# --------------------------------------------------------------------------- commands


@app.command("labs")
def labs_command() -> None:
    """List the labs."""
    from neuralab.labs.registry import LABS

    table = Table(title="neuralab labs")
    table.add_column("lab")
    table.add_column("what it does")
    table.add_column("seed chapter")
    for info in LABS.values():
        table.add_row(info.name, info.summary, info.seed)
    console.print(table)


def _run_file(
    experiments: Any,
    *,
    name: str,
    backend: str,
    quick: bool,
    lang: str,
    output: Path,
    trainer: str = "auto",
) -> None:
    with _user_errors():
        _check_lang(lang)
        _check_trainer(trainer)
        types = experiments.layer_types()
        choice = _select_backend(backend, types, {e.backend for e in experiments.experiments})
        from neuralab.labs.runner import run_experiment_file

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
            )
        if not state.quiet:
            console.print(_summary_table(result, lang))
            _say(f"Backend: {choice.name} ({choice.reason}). Wall time: {result.wall_time:.1f} s.")
        _say(f"Report: {result.report}")


@app.command("lab")
def lab_command(
    name: Annotated[str, typer.Argument(help="Lab name (see `neuralab labs`).")],
    quick: QuickOpt = False,
    lang: LangOpt = "en",
    backend: BackendOpt = "auto",
    output: OutputOpt = Path("runs"),
    trainer: TrainerOpt = "auto",
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Use the data in this folder or file instead of the lab's default "
            "(e.g. a folder of Fashion-MNIST IDX files).",
        ),
    ] = None,
    fetch: Annotated[
        bool,
        typer.Option(
            "--fetch",
            help="Download the lab's real data into the cache first if it is not there "
            "(as `neuralab data fetch`; $NEURALAB_MIRROR sets a mirror).",
        ),
    ] = False,
) -> None:
    """Run a lab: a course chapter reproduced end to end, with its report."""
    with _user_errors():
        from neuralab.labs.registry import lab_info, load_lab_spec

        if fetch:
            info = lab_info(name)
            if info.remote is None:
                raise NeuralabError(f"the {name!r} lab has no data to fetch.")
            _fetch(info.remote, mirror=None, timeout=30.0)
        experiments = load_lab_spec(name, data=data)
    _run_file(
        experiments,
        name=name,
        backend=backend,
        quick=quick,
        lang=lang,
        output=output,
        trainer=trainer,
    )


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
) -> None:
    """Run the experiments of a TOML spec file."""
    with _user_errors():
        from neuralab.config import load_experiments

        experiments = _select(load_experiments(spec), experiment)
    _run_file(
        experiments,
        name=spec.stem,
        backend=backend,
        quick=quick,
        lang=lang,
        output=output,
        trainer=trainer,
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
        _check_lang(lang)
        from neuralab.config import load_experiments

        experiments = load_experiments(spec)
        name = experiment or experiments.experiments[0].name
        chosen = _select(experiments, [name]).experiments[0]
        choice = _select_backend(
            backend, chosen.model.layer_types() if chosen.model else (), {chosen.backend}
        )
        from neuralab.training.lr_find_run import run_lr_find

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


@app.command("report")
def report_command(
    run_dir: Annotated[Path, typer.Argument(help="A run or lab directory.")],
    lang: LangOpt = "en",
) -> None:
    """Rebuild the HTML report of a run or lab from its stored files alone."""
    with _user_errors():
        _check_lang(lang)
        from neuralab.reports.html import write_report

        path = write_report(run_dir, lang=lang)
        _say(f"Report: {path}")


data_app = typer.Typer(
    help="Data sets: fetch them into the cache.", no_args_is_help=True, add_completion=False
)
app.add_typer(data_app, name="data")


@contextmanager
def _download_progress() -> Iterator[Callable[[str, int, int | None], None] | None]:
    if state.quiet:
        yield None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TransferSpeedColumn,
    )

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=24),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err_console,
    )
    tasks: dict[str, Any] = {}

    def update(name: str, done: int, total: int | None) -> None:
        if name not in tasks:
            tasks[name] = progress.add_task(name, total=total)
        progress.update(tasks[name], completed=done, total=total)

    with progress:
        yield update


@data_app.command("fetch")
def data_fetch_command(
    name: Annotated[str, typer.Argument(help="Data set to download (e.g. fashion-mnist).")],
    mirror: Annotated[
        str | None,
        typer.Option("--mirror", help="Base URL of a mirror serving the same file names."),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the server.")] = 30.0,
) -> None:
    """Download a data set into the cache: verified checksums, resumable, all or nothing."""
    with _user_errors():
        _fetch(name, mirror=mirror, timeout=timeout)


def _fetch(name: str, *, mirror: str | None, timeout: float) -> Path:
    from neuralab.data.download import fetch_dataset
    from neuralab.data.registry import remote_dataset

    remote = remote_dataset(name)
    mirror = mirror or os.environ.get("NEURALAB_MIRROR")
    if mirror:
        remote = remote.with_mirror(mirror)
    with _download_progress() as progress:
        path = fetch_dataset(remote, progress=progress, timeout=timeout)
    _say(f"{name}: {path}")
    return path


def main() -> None:
    """Entry point of the ``neuralab`` command."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
