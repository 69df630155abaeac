"""Progress shown while training and downloading (``--quiet`` turns it off)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from neuralab.cli._app import console, err_console, state


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
