"""Loss against learning rate on a log axis, with the suggested rates marked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from neuralab.analysis.figures import _pyplot


class LRRangeDisplay:
    """The learning-rate range test plot (the chapter's ``plt.semilogx(lrs, loss)``).

    Args:
        learning_rates: Rates tried, increasing.
        losses: Loss at each rate.
        suggestions: Named suggested rates (``{"minimum/10": 0.005, ...}``) to mark.
        smoothed: Smoothed losses (per-batch finder), drawn solid over the raw ones.
        title: Axes title.
    """

    def __init__(
        self,
        learning_rates: Any,
        losses: Any,
        *,
        suggestions: Mapping[str, float] | None = None,
        smoothed: Any = None,
        title: str = "",
    ) -> None:
        self.learning_rates = np.asarray(learning_rates, dtype=np.float64)
        self.losses = np.asarray(losses, dtype=np.float64)
        self.smoothed = None if smoothed is None else np.asarray(smoothed, dtype=np.float64)
        self.suggestions = dict(suggestions or {})
        self.title = title

    @classmethod
    def from_range_test(
        cls,
        learning_rates: Any,
        losses: Any,
        *,
        suggestions: Mapping[str, float] | None = None,
        smoothed: Any = None,
        title: str = "",
    ) -> LRRangeDisplay:
        return cls(learning_rates, losses, suggestions=suggestions, smoothed=smoothed, title=title)

    def plot(
        self,
        ax: Any = None,
        *,
        xlabel: str = "learning rate",
        ylabel: str = "loss",
        suggestion_labels: Mapping[str, str] | None = None,
    ) -> LRRangeDisplay:
        """Draw the curve and a vertical line plus marker per suggestion."""
        plt = _pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 5.5))
        curve = self.smoothed if self.smoothed is not None else self.losses
        if self.smoothed is not None:
            ax.plot(self.learning_rates, self.losses, color="0.6", alpha=0.5, linewidth=1)
        ax.plot(self.learning_rates, curve, color="tab:blue", linewidth=2)
        ax.set_xscale("log")
        finite = curve[np.isfinite(curve)]
        if finite.size:
            low, high = float(finite.min()), float(np.percentile(finite, 95))
            pad = 0.08 * max(high - low, 1e-12)
            ax.set_ylim(
                low - pad, max(high, float(curve[0]) if np.isfinite(curve[0]) else high) + pad
            )
        markers = ["o", "s", "^", "D"]
        colors = ["tab:red", "tab:green", "tab:purple", "tab:orange"]
        names = dict(suggestion_labels or {})
        for i, (key, rate) in enumerate(self.suggestions.items()):
            y = float(np.interp(np.log10(rate), np.log10(self.learning_rates), curve))
            color = colors[i % len(colors)]
            ax.axvline(rate, color=color, linestyle=":", linewidth=1.2)
            ax.plot(
                [rate],
                [y],
                marker=markers[i % len(markers)],
                color=color,
                markersize=8,
                linestyle="none",
                label=f"{names.get(key, key)}: {rate:.2e}",
            )
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if self.title:
            ax.set_title(self.title)
        ax.grid(True, which="both", alpha=0.3)
        if self.suggestions:
            ax.legend()
        self.ax_ = ax
        self.figure_ = ax.figure
        return self
