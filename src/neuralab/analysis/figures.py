"""Figure helpers: a lazily imported, headless pyplot and atomic PNG output."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

from neuralab.fileio import atomic_write_bytes


def _pyplot() -> Any:
    """``matplotlib.pyplot``, on the Agg backend unless running inside IPython/Jupyter."""
    import matplotlib

    if "IPython" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def figure_to_png(fig: Any, *, dpi: int = 100) -> bytes:
    """Render ``fig`` to PNG bytes and close it (frees its memory)."""
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    finally:
        _pyplot().close(fig)
    return buffer.getvalue()


def save_figure(fig: Any, path: str | Path, *, dpi: int = 100) -> Path:
    """Write ``fig`` as a PNG at ``path`` atomically (temporary file, then rename)."""
    return atomic_write_bytes(path, figure_to_png(fig, dpi=dpi))
