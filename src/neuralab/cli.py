"""The ``neuralab`` command line.

Only this module prints, installs logging handlers and turns a :class:`NeuralabError`
into one red line and exit code 1 (``--debug`` shows the traceback instead).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import numpy as np
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
    progress = "bar"


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
JobsOpt = Annotated[
    int, typer.Option("--jobs", "-j", help="Run experiments in N worker processes.")
]
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


@contextmanager
def _ctrl_c_stops_runs() -> Iterator[None]:
    """While runs train, the first Ctrl-C asks them to stop at a safe point; another, at once.

    A ``KeyboardInterrupt`` raised wherever SIGINT lands can be lost inside JAX or Keras (see
    ``neuralab.runs.runner._StopRequest``) and the run would go on to finish and exit 0, so
    the first SIGINT only requests the stop: training ends after the current epoch, the run
    is saved and marked incomplete and ``KeyboardInterrupt`` is raised from a safe point (exit
    130). A second SIGINT raises at once, for a long epoch, compile or data load. A SIGINT
    this process inherited as ignored (a background job of a non-interactive shell) stays
    ignored, as for any program.
    """
    import signal
    import threading

    from neuralab.runs.runner import clear_stop_request, request_stop, stop_requested

    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    ):
        yield
        return

    def on_sigint(signum: int, frame: Any) -> None:
        if stop_requested():
            raise KeyboardInterrupt
        request_stop()
        # os.write, not print: this runs between any two bytecodes, even inside a print.
        os.write(2, b"\nCtrl-C: stopping after this epoch (Ctrl-C again to stop now).\n")

    clear_stop_request()
    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        clear_stop_request()


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
    progress: Annotated[
        str,
        typer.Option(
            "--progress",
            help="bar (rich progress bars) or dots (a dot per epoch and a full line every "
            "100 epochs, the overfitting chapter's EpochDots).",
        ),
    ] = "bar",
) -> None:
    """neuralab: course chapters as one-command labs, and the same pieces for your data."""
    state.quiet = quiet
    state.debug = debug
    if progress not in ("bar", "dots"):
        from neuralab.errors import one_of

        err_console.print(f"[bold red]Error:[/] {one_of('progress', progress, ('bar', 'dots'))}")
        raise typer.Exit(1)
    state.progress = progress
    from rich.logging import RichHandler

    level = logging.DEBUG if debug else logging.WARNING
    logging.basicConfig(
        level=level, format="%(message)s", handlers=[RichHandler(console=err_console)], force=True
    )
    # TensorFlow's C++ logging floods the terminal on import; keep it to errors.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if not debug:  # e.g. tf.function retracing notices from repeated model.predict calls
        logging.getLogger("tensorflow").setLevel(logging.ERROR)


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


class _DotsProgress:
    """The overfitting chapter's EpochDots: a dot per epoch, all metrics every 100 epochs."""

    def __init__(self, every: int = 100) -> None:
        self.every = every
        self.epoch = 0

    def start(self, description: str, total: int) -> None:
        self.epoch = 0
        console.print(f"{description} ({total} epochs max)", highlight=False)

    def advance(self, n: int = 1, **info: Any) -> None:
        if self.epoch % self.every == 0:
            shown = ", ".join(f"{k}:{v:.4f}" for k, v in sorted(info.items()))
            console.print(f"\nEpoch: {self.epoch}, {shown}", highlight=False)
        console.out(".", end="", highlight=False)
        self.epoch += n

    def finish(self) -> None:
        console.print(highlight=False)


@contextmanager
def _progress_factory() -> Iterator[Callable[[str], Any] | None]:
    if state.quiet:
        yield None
        return
    if state.progress == "dots":
        yield lambda name: _DotsProgress()
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
    jobs: int = 1,
) -> None:
    with _user_errors():
        _check_lang(lang)
        _check_trainer(trainer)
        with _ctrl_c_stops_runs():
            types = experiments.layer_types()
            choice = _select_backend(backend, types, {e.backend for e in experiments.experiments})
            from neuralab.labs.runner import run_experiment_file
            from neuralab.runs.runner import stop_requested

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


@app.command("lab")
def lab_command(
    name: Annotated[str, typer.Argument(help="Lab name (see `neuralab labs`).")],
    quick: QuickOpt = False,
    lang: LangOpt = "en",
    backend: BackendOpt = "auto",
    output: OutputOpt = Path("runs"),
    trainer: TrainerOpt = "auto",
    jobs: JobsOpt = 1,
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
        jobs=jobs,
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
    jobs: JobsOpt = 1,
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
        jobs=jobs,
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


@app.command("compare")
def compare_command(
    runs: Annotated[list[Path], typer.Argument(help="Run folders (a lab folder: all its runs).")],
    metric: Annotated[
        list[str] | None, typer.Option("--metric", "-m", help="Metric to plot (repeatable).")
    ] = None,
    smoothing_std: Annotated[
        float, typer.Option(help="Gaussian smoothing, standard deviation in epochs.")
    ] = 0.0,
    logx: Annotated[bool, typer.Option("--logx", help="Log-scale epoch axis.")] = False,
    ylim: Annotated[
        tuple[float, float] | None, typer.Option(help="Y range, e.g. --ylim 0.5 0.7.")
    ] = None,
    rank_by: Annotated[
        str | None, typer.Option(help="History column to rank on (default val_loss).")
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", help="Report file.")] = None,
    lang: LangOpt = "en",
) -> None:
    """Compare runs: histories side by side (one colour per run), a ranking, one report."""
    with _user_errors():
        _check_lang(lang)
        from datetime import datetime

        from neuralab.runs.compare import compare_runs

        target = output or Path(f"compare-{datetime.now():%Y%m%d-%H%M%S}.html")
        result = compare_runs(
            runs,
            metrics=tuple(metric or ("loss", "accuracy")),
            smoothing_std=smoothing_std,
            logx=logx,
            ylim=ylim,
            rank_by=rank_by,
            output=target,
            lang=lang,
        )
        if not state.quiet:
            table = Table(title="Ranking")
            table.add_column("#", justify="right")
            table.add_column("run")
            table.add_column("best", justify="right")
            table.add_column("epoch", justify="right")
            for i, row in enumerate(result.ranking, start=1):
                table.add_row(str(i), row["run"], f"{row['best']:.4f}", str(row["epoch"]))
            console.print(table)
        _say(f"Report: {result.report}")


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


@data_app.command("info")
def data_info_command(
    path: Annotated[Path, typer.Argument(help="An image folder (train/test/<class> or <class>).")],
) -> None:
    """Walk an image folder: images per split and class, sizes, ignored and unreadable files."""
    with _user_errors():
        from neuralab.data.images import image_size, scan_image_folder

        folder = scan_image_folder(path)
        kind = "train/test folders" if folder.layout == "split" else "class folders"
        table = Table(title=f"{folder.root} ({kind})")
        table.add_column("split")
        for name in folder.class_names:
            table.add_column(name, justify="right")
        table.add_column("total", justify="right")
        for split, counts in folder.counts().items():
            table.add_row(split, *[str(v) for v in counts.values()], str(sum(counts.values())))
        console.print(table)
        sizes = []
        unreadable = []
        for items in folder.files.values():
            for file, _ in items:
                size = image_size(file)
                if size is None:
                    unreadable.append(file)
                else:
                    sizes.append(size)
        if sizes:
            widths = np.asarray([w for w, _ in sizes])
            heights = np.asarray([h for _, h in sizes])
            _say(
                f"Image sizes: width {widths.min()}-{widths.max()} "
                f"(median {int(np.median(widths))}), "
                f"height {heights.min()}-{heights.max()} (median {int(np.median(heights))}); "
                f"{len(set(sizes))} distinct sizes in {len(sizes)} images."
            )
        _say(f"Unreadable images: {len(unreadable)}" + "".join(f"\n  {f}" for f in unreadable[:10]))
        _say(
            f"Ignored (not JPEG/PNG/BMP/GIF): {len(folder.ignored)}"
            + "".join(f"\n  {f}" for f in folder.ignored[:10])
        )


@data_app.command("preview")
def data_preview_command(
    path: Annotated[Path, typer.Argument(help="An image folder.")],
    n: Annotated[int, typer.Option("--n", help="How many images.")] = 9,
    split: Annotated[str, typer.Option(help="Split to draw from (train, test, all).")] = "train",
    seed: Annotated[int | None, typer.Option(help="Seed for the random choice.")] = None,
    output: Annotated[Path | None, typer.Option("--output", help="PNG file to write.")] = None,
) -> None:
    """Write a grid of random images with their class (the chapter's view_random_image)."""
    with _user_errors():
        from neuralab.analysis.figures import save_figure
        from neuralab.analysis.images import random_images_figure
        from neuralab.data.images import scan_image_folder

        folder = scan_image_folder(path)
        key = split if split in folder.files else next(iter(folder.files))
        if split not in folder.files and split != "all":
            raise NeuralabError(
                f"{folder.root}: no {split!r} split; splits: {', '.join(folder.files)}."
            )
        files = [(p, folder.class_names[c]) for p, c in folder.files[key]]
        figure = random_images_figure(files, n=n, seed=seed, title=f"{folder.root.name}: {key}")
        target = output or Path(f"{folder.root.name}-preview.png")
        _say(f"Preview: {save_figure(figure, target)}")


@data_app.command("augment-preview")
def data_augment_preview_command(
    path: Annotated[Path, typer.Argument(help="An image folder.")],
    augment: Annotated[
        str,
        typer.Option(
            help="ImageDataGenerator-style settings, e.g. 'rotation_range=20, zoom_range=0.2' "
            "(default: the CNN chapter's)."
        ),
    ] = "",
    n: Annotated[int, typer.Option("--n", help="How many images.")] = 4,
    size: Annotated[int, typer.Option(help="Image size (pixels a side).")] = 224,
    seed: Annotated[int, typer.Option(help="Seed.")] = 42,
    output: Annotated[Path | None, typer.Option("--output", help="PNG file to write.")] = None,
) -> None:
    """Write original vs augmented images side by side (the chapter's augmentation figure)."""
    with _user_errors():
        import tomllib

        from neuralab.analysis.figures import save_figure
        from neuralab.analysis.images import augmentation_figure
        from neuralab.data.images import check_target_size, decode_image, scan_image_folder

        settings = dict(CHAPTER_AUGMENTATION)
        if augment.strip():
            try:
                settings = tomllib.loads("\n".join(part.strip() for part in augment.split(",")))
            except tomllib.TOMLDecodeError as exc:
                raise NeuralabError(
                    f"--augment: write key=value pairs separated by commas, e.g. "
                    f"'rotation_range=20, horizontal_flip=true' ({exc}). Received: {augment!r}."
                ) from None
        target_size = check_target_size(size, "size")
        folder = scan_image_folder(path)
        items = folder.files.get("train") or next(iter(folder.files.values()))
        rng = np.random.default_rng(seed)
        chosen, decoded = [], []
        for i in rng.permutation(len(items)):
            try:
                decoded.append(decode_image(items[int(i)][0], target_size))
            except (OSError, ValueError, SyntaxError):
                continue  # unreadable: `neuralab data info` lists those
            chosen.append(int(i))
            if len(chosen) == n:
                break
        originals = np.stack(decoded)
        from neuralab.data.augment import build_augmentation

        pipeline = build_augmentation(settings, where="--augment")
        from neuralab.training.seeding import set_random_seed

        set_random_seed(seed)  # Keras's own imports TensorFlow even on JAX (about 3 s)
        scaled = originals.astype(np.float32) / 255.0
        augmented = np.clip(np.asarray(pipeline(scaled, training=True)), 0.0, 1.0)
        captions = [folder.class_names[items[i][1]] for i in chosen]
        figure = augmentation_figure(
            scaled, augmented, captions, title=", ".join(f"{k}={v}" for k, v in settings.items())
        )
        target = output or Path(f"{folder.root.name}-augmented.png")
        _say(f"Augmentation preview: {save_figure(figure, target)}")


CHAPTER_AUGMENTATION: dict[str, Any] = {
    "rotation_range": 20,
    "shear_range": 0.2,
    "zoom_range": 0.2,
    "width_shift_range": 0.2,
    "height_shift_range": 0.2,
    "horizontal_flip": True,
}


@app.command("evaluate")
def evaluate_command(
    run_dir: Annotated[Path, typer.Argument(help="A run directory (or an experiment of a lab).")],
    data: Annotated[
        Path | None, typer.Option("--data", help="Evaluate on this folder/file instead.")
    ] = None,
    split: Annotated[str, typer.Option(help="Split to evaluate on.")] = "test",
    lang: LangOpt = "en",
) -> None:
    """Confusion matrix, classification report, most-confused pairs and top losses of a run."""
    with _user_errors():
        _check_lang(lang)
        _select_backend_for_run(run_dir)
        from neuralab.runs.evaluate import evaluate_run

        result = evaluate_run(run_dir, data=data, split=split, lang=lang)
        ev = result.evaluation
        if not state.quiet:
            console.print(
                f"[bold]{result.data_source}[/]: accuracy {100 * ev.accuracy:.1f}% "
                f"on {len(ev.y_true):,} samples"
            )
            console.print(ev.report_text(), highlight=False, markup=False)
            matrix = Table(title="Confusion matrix (rows: true, columns: predicted)")
            matrix.add_column("")
            for name in ev.class_names:
                matrix.add_column(name, justify="right")
            for name, row in zip(ev.class_names, ev.confusion_matrix(), strict=True):
                matrix.add_row(name, *[str(v) for v in row])
            console.print(matrix)
            for pair in ev.most_confused(3):
                _say(f"{pair['true']} taken for {pair['predicted']}: {pair['count']} times")
        _say(f"Report: {Path(run_dir) / 'report.html'}")


@app.command("predict")
def predict_command(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
    files: Annotated[list[Path], typer.Argument(help="Image files, or CSV/.npy files of rows.")],
    output: Annotated[
        Path | None, typer.Option("--output", help="PNG of the images with their predictions.")
    ] = None,
) -> None:
    """Predicted class and probability for each input (and a figure for images)."""
    with _user_errors():
        _select_backend_for_run(run_dir)
        from neuralab.analysis.figures import save_figure
        from neuralab.runs.evaluate import predict_files

        result = predict_files(run_dir, files)
        table = Table(title=f"Predictions of {Path(run_dir).name}")
        table.add_column("input", no_wrap=True)
        table.add_column("class")
        table.add_column("probability", justify="right")
        for name, label, p in result.rows():
            table.add_row(name, label, f"{p:.3f}")
        console.print(table)
        if result.images:
            target = output or Path(run_dir) / "plots" / "predictions.png"
            _say(f"Figure: {save_figure(result.figure(title=Path(run_dir).name), target)}")


def _select_backend_for_run(run_dir: Path) -> None:
    """Load a saved model on the backend it was trained with (recorded in env.json)."""
    import json

    env_file = Path(run_dir) / "env.json"
    backend = "auto"
    if env_file.exists():
        backend = json.loads(env_file.read_text(encoding="utf-8")).get("backend", "auto")
    from neuralab.backend import use_backend

    if "keras" not in sys.modules:
        use_backend(backend if backend in ("jax", "tensorflow", "torch") else "jax")


def main() -> None:
    """Entry point of the ``neuralab`` command."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
