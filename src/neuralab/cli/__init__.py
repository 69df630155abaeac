"""The ``neuralab`` command line.

Only this package prints, installs logging handlers and turns a :class:`NeuralabError`
into one red line and exit code 1 (``--debug`` shows the traceback instead).

One module per command group: :mod:`.labs` (labs, lab), :mod:`.run` (run, lr-find),
:mod:`.report` (report, compare), :mod:`.evaluate` (evaluate, predict) and :mod:`.data`
(the ``data`` group); :mod:`._app` holds the typer app and its global options,
:mod:`.choices` the values that options accept.
"""

from __future__ import annotations

from neuralab.cli._app import app as app

# Importing a command module registers its commands: `neuralab --help` lists them in this
# order (command groups such as `data` come after the commands), so keep it unsorted.
# isort: off
from neuralab.cli import labs as labs
from neuralab.cli import run as run
from neuralab.cli import report as report
from neuralab.cli import notebook as notebook
from neuralab.cli import evaluate as evaluate
from neuralab.cli import data as data
from neuralab.cli import play as play

# isort: on

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``neuralab`` command."""
    app()
