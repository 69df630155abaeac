"""A strip of decision boundaries at a few epochs: how a 2-feature classifier's regions
change while it trains (the circles chapter's "the model is still drawing straight lines"
moment, seen)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from neuralab.analysis.decision_boundary import DecisionBoundaryDisplay
from neuralab.analysis.figures import _pyplot, tight_layout


def plot_boundary_strip(
    frames: Sequence[tuple[int, np.ndarray, Sequence[float]]],
    x: np.ndarray,
    y: np.ndarray,
    *,
    class_names: Sequence[str] | None = None,
    title: str = "",
    epoch_label: str = "epoch",
) -> Any:
    """One small panel per ``(epoch, classes, extent)``: the predicted class on a grid
    (``(n, n)``, row 0 at ``y_min``; ``extent`` is ``(x_min, x_max, y_min, y_max)``) with the
    points ``x`` (``(m, 2)``) coloured by their class ``y``.

    Returns:
        The matplotlib figure.
    """
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(frames), figsize=(2.7 * len(frames), 2.9), squeeze=False)
    for i, (ax, (epoch, classes, extent)) in enumerate(zip(axes[0], frames, strict=True)):
        n = classes.shape[0]
        x_min, x_max, y_min, y_max = extent
        xs = x_min + (np.arange(n) + 0.5) * (x_max - x_min) / n
        ys = y_min + (np.arange(n) + 0.5) * (y_max - y_min) / n
        xx, yy = np.meshgrid(xs, ys)
        DecisionBoundaryDisplay(
            xx=xx,
            yy=yy,
            predictions=np.asarray(classes, dtype=np.int64),
            x=x,
            y=y,
            class_names=class_names,
            title=f"{epoch_label} {epoch}",
        ).plot(ax=ax, xlabel="", ylabel="", legend=i == len(frames) - 1)
        ax.set_xticks([])
        ax.set_yticks([])
        for artist in ax.collections[1:]:
            artist.set_sizes([8])
    if title:
        fig.suptitle(title)
    tight_layout(fig)
    return fig
