"""Progress bars in Jupyter: one bar per experiment, updated in place in the cell's output.

The library's runs are silent by default (they take a progress hook and never print); in a
notebook, pass :func:`progress_bars` to a lab or a file of experiments, or one of its bars to
a single run::

    lab = neuralab.run_lab("circles", quick=True, progress=progress_bars())
    bars = progress_bars()
    run = neuralab.run_experiment(spec, progress=bars(spec.name))

Each bar is a small HTML object shown with ``IPython.display`` and updated through its
display id (at most every :data:`REFRESH_SECONDS`, and once at the end), so it needs no
widget library, and the saved notebook keeps each bar's final state (epochs done, the last
loss and accuracy, the time). Outside a Jupyter kernel (a script, a terminal), each bar
prints one line when its experiment ends.
"""

from __future__ import annotations

import html
import sys
import time
from collections.abc import Callable
from typing import Any

__all__ = ["REFRESH_SECONDS", "ProgressBar", "progress_bars"]

#: Shortest time between two redraws of a bar (epochs of small models take milliseconds).
REFRESH_SECONDS = 0.25
_SHOWN = ("loss", "accuracy", "val_loss", "val_accuracy")


def _in_kernel() -> bool:
    """True inside a Jupyter kernel (where display ids update outputs in place)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class ProgressBar:
    """One experiment's bar: a :class:`~neuralab.training.progress.ProgressHook`.

    Shows as ``model_1  ▰▰▰▰▱  4/5 epochs  loss 0.6931  accuracy 0.5000  1.2 s`` (HTML in
    Jupyter, that line as text elsewhere).
    """

    def __init__(self, name: str, *, live: bool | None = None) -> None:
        self.name = name
        self.total = 0
        self.done = 0
        self.info: dict[str, float] = {}
        self._live = _in_kernel() if live is None else live
        self._handle: Any = None
        self._began = time.monotonic()
        self._drawn = 0.0
        self._finished = False

    # ProgressHook
    def start(self, description: str, total: int) -> None:
        self.name, self.total, self.done = description, total, 0
        self._began = time.monotonic()
        self._finished = False
        if self._live:
            from IPython.display import display

            self._handle = display(self, display_id=True)
            self._drawn = time.monotonic()

    def advance(self, n: int = 1, **info: Any) -> None:
        self.done += n
        self.info.update({k: float(v) for k, v in info.items() if k in _SHOWN})
        if self._handle is not None and time.monotonic() - self._drawn >= REFRESH_SECONDS:
            self._redraw()

    def finish(self) -> None:
        self._finished = True
        if self._handle is not None:
            self._redraw()
        elif not self._live:
            print(self.line(), flush=True)

    # What it shows
    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._began

    def line(self) -> str:
        """The bar as one line of text."""
        shown = "".join(f"  {k} {self.info[k]:.4f}" for k in _SHOWN if k in self.info)
        return f"{self.name}: {self.done}/{self.total} epochs{shown}  [{self.elapsed:.1f} s]"

    def _redraw(self) -> None:
        self._handle.update(self)
        self._drawn = time.monotonic()

    def __repr__(self) -> str:
        return self.line()

    def _repr_html_(self) -> str:
        shown = " ".join(
            f"<span style='margin-left:10px'>{k} {self.info[k]:.4f}</span>"
            for k in _SHOWN
            if k in self.info
        )
        total = max(self.total, 1)
        done = min(self.done, total)
        return (
            "<div style='font-family:monospace;white-space:nowrap'>"
            f"<b>{html.escape(self.name)}</b> "
            f"<progress value='{done}' max='{total}' style='width:180px;vertical-align:middle'>"
            f"</progress> {self.done}/{self.total} epochs{shown}"
            f"<span style='margin-left:10px;color:#5b6475'>{self.elapsed:.1f} s</span></div>"
        )


def progress_bars(*, live: bool | None = None) -> Callable[[str], ProgressBar]:
    """A progress factory for ``run_lab`` and ``run_experiment_file`` (``progress=``): a new
    :class:`ProgressBar` for each experiment.

    Args:
        live: Draw HTML bars updated in place (default: when running in a Jupyter kernel);
            ``False`` prints one line per finished experiment instead.

    Returns:
        ``factory(experiment_name) -> ProgressBar``.
    """

    def factory(name: str) -> ProgressBar:
        return ProgressBar(name, live=live)

    return factory
