"""Progress hooks: the library reports progress through this protocol and never prints.

``neuralab.cli`` passes a rich implementation; library users pass nothing (silent) or
their own object with the same three methods.
"""

from __future__ import annotations

from typing import Any, Protocol


class ProgressHook(Protocol):
    """Receives progress of long work (epochs, steps, files)."""

    def start(self, description: str, total: int) -> None: ...

    def advance(self, n: int = 1, **info: Any) -> None: ...

    def finish(self) -> None: ...


class SilentProgress:
    """The default: no output."""

    def start(self, description: str, total: int) -> None:
        return None

    def advance(self, n: int = 1, **info: Any) -> None:
        return None

    def finish(self) -> None:
        return None
