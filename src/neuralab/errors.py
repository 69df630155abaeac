"""Errors a user can fix.

Every problem caused by user input (a spec, a data file, a flag) is raised as a
:class:`NeuralabError` whose text says what was wrong, where, and how to fix it.
Only :mod:`neuralab.cli` turns it into one red line and exit code 1.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class NeuralabError(Exception):
    """A problem the user can fix; the message says what, where and how."""


class SpecError(NeuralabError):
    """An experiment spec (TOML file or Python objects) is invalid."""


class DataError(NeuralabError):
    """A data set or data file is invalid or does not match what was asked."""


class ShapeError(NeuralabError):
    """Data and model do not fit together (found by the shape doctor)."""


class RunError(NeuralabError):
    """A run directory is missing, unreadable or not writable."""


def did_you_mean(received: str, allowed: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest allowed name, or ``""``.

    Example:
        >>> did_you_mean("Dens", ["Dense", "Dropout"])
        " Did you mean 'Dense'?"
    """
    options = list(allowed)
    lowered = {o.lower(): o for o in options}
    if received.lower() in lowered:
        return f" Did you mean '{lowered[received.lower()]}'?"
    close = difflib.get_close_matches(received, options, n=1, cutoff=0.6)
    if not close:
        close_lower = difflib.get_close_matches(received.lower(), list(lowered), n=1, cutoff=0.6)
        close = [lowered[c] for c in close_lower]
    return f" Did you mean '{close[0]}'?" if close else ""


def one_of(name: str, received: object, allowed: Iterable[str]) -> str:
    """Keras-style message: "`name` must be one of {...}. Received: name=value"."""
    options = sorted(allowed)
    hint = did_you_mean(str(received), options) if isinstance(received, str) else ""
    return (
        f"`{name}` must be one of {{{', '.join(repr(o) for o in options)}}}. "
        f"Received: {name}={received!r}.{hint}"
    )
