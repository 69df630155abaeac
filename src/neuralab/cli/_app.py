"""The typer app, its global options and what every command shares.

Only the CLI prints, installs logging handlers and turns a :class:`NeuralabError` into one
red line and exit code 1 (``--debug`` shows the traceback instead).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console, ConsoleDimensions
from rich.markup import escape
from rich.text import Text

from neuralab import __version__
from neuralab.cli.choices import (
    Backend,
    Executor,
    Lang,
    Progress,
    Trainer,
    choice_metavar,
    choice_values,
)
from neuralab.errors import NeuralabError

app = typer.Typer(
    name="neuralab",
    help="Build, train, evaluate and compare neural-network classifiers with Keras 3.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Line width when the output is not a terminal: wider than any table we print.
NOT_A_TERMINAL_WIDTH = 10_000


class _Console(Console):
    """A rich console that, when not writing to a terminal (a CI log, a file, ``| tee``),
    never wraps or cuts: there is no screen width to fit, and a cell cut to "defau…" or a
    log record wrapped over four lines is lost for grep. Tables are as wide as their
    content (they do not expand), lines as long as their text. ``$COLUMNS`` still sets the
    width of a terminal."""

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        if self.is_terminal:
            return size
        return ConsoleDimensions(max(size.width, NOT_A_TERMINAL_WIDTH), size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


console = _Console()
err_console = _Console(stderr=True)


class _LineHandler(logging.Handler):
    """Log records as whole lines on stderr (not a terminal): ``WARNING: message``.

    Writes to the ``sys.stderr`` of the moment (CliRunner swaps it) and flushes each record.
    """

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


def _log_handler() -> logging.Handler:
    """Rich's handler in a terminal; whole lines elsewhere (rich wraps a record into columns)."""
    if err_console.is_terminal:
        from rich.logging import RichHandler

        return RichHandler(console=err_console)
    return _LineHandler()


class _State:
    quiet = False
    debug = False
    progress = "bar"


state = _State()

# Choices are parsed as str and checked by neuralab (exit 1, "Did you mean"), not by typer.
BackendOpt = Annotated[
    str,
    typer.Option(
        "--backend",
        metavar=choice_metavar(Backend),
        help="Keras backend (auto: JAX for dense models, TensorFlow for convolutions on CPU).",
    ),
]
LangOpt = Annotated[
    str, typer.Option("--lang", metavar=choice_metavar(Lang), help="Report language.")
]
OutputOpt = Annotated[Path, typer.Option("--output", "-o", help="Folder for run directories.")]
QuickOpt = Annotated[bool, typer.Option("--quick", help="Few epochs: a smoke run.")]
JobsOpt = Annotated[
    int, typer.Option("--jobs", "-j", help="Run experiments in N worker processes.")
]
ExecutorOpt = Annotated[
    str,
    typer.Option(
        "--executor",
        metavar=choice_metavar(Executor),
        help="Where runs train: local (this process, or --jobs N processes) or ray (each run "
        "a Ray task: on a local Ray instance of --jobs CPUs, or on the cluster at --address). "
        "Ray: pip install 'neuralab[ray]'.",
    ),
]
AddressOpt = Annotated[
    str | None,
    typer.Option(
        "--address",
        envvar="RAY_ADDRESS",
        help="With --executor ray: the Ray cluster to join ('auto' for the one `ray start` "
        "began on this machine, or HOST:PORT). Without it a local Ray instance is started "
        "and stopped.",
    ),
]
SeedsOpt = Annotated[
    int | None,
    typer.Option(
        "--seeds",
        help="Run every experiment with N seeds (the spec's seed, then the next ones) and "
        "report each metric as mean ± standard deviation (default: each experiment's "
        "`repeat`).",
    ),
]
ResumeOpt = Annotated[
    Path | None,
    typer.Option(
        "--resume",
        help="A folder this command wrote before (e.g. after a kill): complete runs are kept, "
        "an interrupted one continues from its last checkpoint, missing ones run.",
    ),
]
TrainerOpt = Annotated[
    str,
    typer.Option(
        "--trainer",
        metavar=choice_metavar(Trainer),
        help="Training loop (auto: one compiled program per epoch on JAX when possible, "
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
        err_console.print(  # the message is text: "neuralab[ray]" is not a style
            f"[bold red]Error:[/] {escape(str(exc))}", markup=True, highlight=False, soft_wrap=True
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

    from neuralab.runs.stopping import clear_stop_request, request_stop, stop_requested

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
            metavar=choice_metavar(Progress),
            help="bar (rich progress bars) or dots (a dot per epoch and a full line every "
            "100 epochs, the overfitting chapter's EpochDots).",
        ),
    ] = "bar",
) -> None:
    """neuralab: course chapters as one-command labs, and the same pieces for your data."""
    state.quiet = quiet
    state.debug = debug
    if progress not in choice_values(Progress):
        from neuralab.errors import one_of

        err_console.print(
            f"[bold red]Error:[/] {one_of('progress', progress, choice_values(Progress))}"
        )
        raise typer.Exit(1)
    state.progress = progress
    level = logging.DEBUG if debug else logging.WARNING
    logging.basicConfig(level=level, format="%(message)s", handlers=[_log_handler()], force=True)
    # TensorFlow's C++ logging floods the terminal on import; keep it to errors.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if not debug:  # e.g. tf.function retracing notices from repeated model.predict calls
        logging.getLogger("tensorflow").setLevel(logging.ERROR)


def _title(text: str) -> Text:
    """A table title kept on one line, not wrapped to a narrow table's width (paths stay whole)."""
    return Text(text, style="table.title", no_wrap=True, overflow="ignore")


def _say(text: str) -> None:
    """A line that must stay whole (paths): no wrapping, no highlighting."""
    console.print(text, soft_wrap=True, highlight=False, markup=False)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"
