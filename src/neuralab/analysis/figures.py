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


def tight_layout(fig: Any) -> None:
    """Lay ``fig`` out tightly when it is drawn (titles and labels inside, panels apart).

    A layout engine runs once, at drawing time; ``fig.tight_layout()`` now and
    ``bbox_inches="tight"`` when saving would draw the figure twice more (each draw lays out
    every text: most of a small figure's cost). A figure that has its own engine keeps it.
    """
    if fig.get_layout_engine() is None:
        fig.set_layout_engine("tight")


def figure_to_png(fig: Any, *, dpi: int = 100) -> bytes:
    """Render ``fig`` to PNG bytes and close it (frees its memory); a figure without a
    layout engine (:func:`tight_layout`) is cropped to what it shows."""
    buffer = io.BytesIO()
    bbox = None if fig.get_layout_engine() is not None else "tight"
    try:
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches=bbox)
    finally:
        _pyplot().close(fig)
    return buffer.getvalue()


def save_figure(fig: Any, path: str | Path, *, dpi: int = 100) -> Path:
    """Write ``fig`` as a PNG at ``path`` atomically (temporary file, then rename)."""
    return atomic_write_bytes(path, figure_to_png(fig, dpi=dpi))
