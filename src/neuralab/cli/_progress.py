"""Progress shown while training, reading table files and downloading (``--quiet`` turns it
off).

In a terminal: rich progress bars on stderr. Elsewhere (a CI log, a file, ``2>&1 | tee``)
a bar cannot redraw and rich would print it only at the end, so progress is written as lines,
each flushed as it happens: one when an experiment (or a file) is done, and one at most every
:data:`LINE_SECONDS` in between.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from neuralab.cli._app import console, err_console, state

#: Not a terminal: at most one progress line this often while an experiment trains.
LINE_SECONDS = 30.0
_SHOWN = ("loss", "accuracy", "val_loss", "val_accuracy")


def _line(text: str) -> None:
    """One whole progress line on stderr, flushed at once."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _bytes(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n} bytes"


def _elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"


class _RichProgress:
    """A rich progress bar per experiment (epochs), with the latest loss and accuracy."""

    def __init__(self, progress: Any) -> None:
        self._progress = progress
        self._task: Any = None

    def start(self, description: str, total: int) -> None:
        self._task = self._progress.add_task(description, total=total, info="")

    def advance(self, n: int = 1, **info: Any) -> None:
        shown = "  ".join(f"{k} {v:.4f}" for k, v in info.items() if k in _SHOWN)
        self._progress.update(self._task, advance=n, info=shown)

    def finish(self) -> None:
        if self._task is not None:
            task = self._progress.tasks[self._task]
            self._progress.update(self._task, completed=task.completed, visible=True)


class _LineProgress:
    """Not a terminal: ``name: 3/3 epochs  loss 0.6931  accuracy 0.5000  [0:00:04]`` when an
    experiment ends, and at most every :data:`LINE_SECONDS` while it trains (the time is
    since the command's progress began)."""

    def __init__(self, name: str, began: float) -> None:
        self.name = name
        self.began = began
        self.total = 0
        self.done = 0
        self.info: dict[str, Any] = {}
        self.last_line = time.monotonic()

    def start(self, description: str, total: int) -> None:
        self.name, self.total, self.done = description, total, 0
        self.last_line = time.monotonic()

    def advance(self, n: int = 1, **info: Any) -> None:
        self.done += n
        self.info.update(info)
        if time.monotonic() - self.last_line >= LINE_SECONDS and self.done < self.total:
            self._write()

    def finish(self) -> None:
        self._write()

    def _write(self) -> None:
        shown = "".join(f"  {k} {self.info[k]:.4f}" for k in _SHOWN if k in self.info)
        elapsed = _elapsed(time.monotonic() - self.began)
        _line(f"{self.name}: {self.done}/{self.total} epochs{shown}  [{elapsed}]")
        self.last_line = time.monotonic()


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


#: ``progress(file_name, bytes_read, total_bytes)``, as the table readers call it.
ReadCallback = Callable[[str, int, int | None], None]


@contextmanager
def _run_progress() -> Iterator[tuple[Callable[[str], Any] | None, ReadCallback | None]]:
    """The progress of ``run``/``lab``: a bar factory per experiment (epochs), and a callback
    for the table files the runs read (bytes read of the file's size).

    In a terminal both draw in one rich display (one live display at a time); elsewhere each
    writes lines (a file's line when it is read, and at most every :data:`LINE_SECONDS`
    while it is); ``--quiet``: neither.
    """
    if state.quiet:
        yield None, None
        return
    if state.progress == "dots" or not err_console.is_terminal:
        with _download_lines(verb="read") as read_lines:
            if state.progress == "dots":
                yield (lambda name: _DotsProgress()), read_lines
            else:
                began = time.monotonic()
                yield (lambda name: _LineProgress(name, began)), read_lines
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        Task,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.text import Text

    class CountColumn(ProgressColumn):
        """``3/5`` epochs, or ``1.0/5.2 MB`` of a file being read."""

        def __init__(self) -> None:
            super().__init__()
            self.counts, self.sizes = MofNCompleteColumn(), DownloadColumn()

        def render(self, task: Task) -> Text:
            return (self.sizes if task.fields.get("unit") == "bytes" else self.counts).render(task)

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=20),
        CountColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[info]}"),
        console=err_console,
    )
    files: dict[str, Any] = {}

    def reading(name: str, done: int, total: int | None) -> None:
        if name not in files:
            files[name] = progress.add_task(f"reading {name}", total=total, info="", unit="bytes")
        progress.update(files[name], completed=done, total=total)

    with progress:
        yield (lambda name: _RichProgress(progress)), reading


@contextmanager
def _download_progress() -> Iterator[Callable[[str, int, int | None], None] | None]:
    if state.quiet:
        yield None
        return
    if not err_console.is_terminal:
        with _download_lines() as write_lines:
            yield write_lines
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


@contextmanager
def _download_lines(verb: str = "") -> Iterator[Callable[[str, int, int | None], None]]:
    """Not a terminal: a line per file when it is complete, and at most every
    :data:`LINE_SECONDS` while it downloads (or is read): ``name: 1.0 MB of 5.2 MB``, then
    ``verb`` (e.g. ``"read"``) and the time."""
    began = time.monotonic()
    word = f" {verb}" if verb else ""
    last_line: dict[str, float] = {}
    done_bytes: dict[str, tuple[int, int | None]] = {}

    def write(name: str) -> None:
        done, total = done_bytes[name]
        of = f" of {_bytes(total)}" if total is not None else ""
        _line(f"{name}: {_bytes(done)}{of}{word}  [{_elapsed(time.monotonic() - began)}]")
        last_line[name] = time.monotonic()

    def update(name: str, done: int, total: int | None) -> None:
        finished = total is not None and done >= total
        if finished and done_bytes.get(name) == (done, total):
            return  # already written
        done_bytes[name] = (done, total)
        if finished or time.monotonic() - last_line.setdefault(name, began) >= LINE_SECONDS:
            write(name)

    try:
        yield update
    finally:
        for name, (done, total) in done_bytes.items():
            if total is None or done < total:  # an unknown size, or stopped: say where it is
                write(name)
