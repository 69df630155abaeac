"""Learning curves from a Keras history (the chapters' ``pd.DataFrame(history.history).plot()``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from neuralab.analysis.figures import _pyplot, tight_layout

_LR_KEYS = ("learning_rate", "lr")


def _family(column: str) -> str:
    return column[4:] if column.startswith("val_") else column


class LearningCurvesDisplay:
    """One panel per metric (loss, accuracy, ...): train solid, validation dashed.

    A ``learning_rate`` (or ``lr``) column gets its own panel on a log axis.

    Args:
        history: Per-epoch values by name (``loss``, ``val_loss``, ``accuracy``, ...).
        title: Figure title.
        metrics: Metric families to show (default: all, loss first).

    Example:
        >>> LearningCurvesDisplay.from_history(result.history).plot().figure_
    """

    def __init__(
        self,
        history: Mapping[str, Sequence[float]],
        *,
        title: str = "",
        metrics: Sequence[str] | None = None,
    ) -> None:
        self.history = {str(k): np.asarray(v, dtype=np.float64) for k, v in history.items()}
        families: list[str] = []
        for column in self.history:
            fam = _family(column)
            if fam not in families and fam not in _LR_KEYS and fam != "epoch":
                families.append(fam)
        if "loss" in families:
            families.remove("loss")
            families.insert(0, "loss")
        self.metrics = list(metrics) if metrics is not None else families
        self.title = title

    @classmethod
    def from_history(
        cls, history: Any, *, title: str = "", metrics: Sequence[str] | None = None
    ) -> LearningCurvesDisplay:
        """From a DataFrame, a ``keras.callbacks.History`` or a dict of lists."""
        if hasattr(history, "history") and isinstance(history.history, dict):
            history = history.history
        if hasattr(history, "to_dict") and hasattr(history, "columns"):
            history = {c: history[c].to_numpy() for c in history.columns}
        return cls(history, title=title, metrics=metrics)

    def plot(
        self,
        axes: Any = None,
        *,
        xlabel: str = "epoch",
        labels: Mapping[str, str] | None = None,
        overlay: bool = False,
        ylim: tuple[float, float] | None = None,
        baseline: float | None = None,
        baseline_label: str = "baseline",
    ) -> LearningCurvesDisplay:
        """Draw the panels.

        Args:
            axes: A sequence of matplotlib axes, one per panel (created if None).
            xlabel: X axis label.
            labels: Display text for english words ("loss", "accuracy", "learning rate",
                "train", "validation"), e.g. Portuguese.
            overlay: Every curve on one axes (the notebooks' ``DataFrame.plot()``; the
                learning rate is left out), one colour per metric.
            ylim: Y range of the metric axes, e.g. ``(0, 1)``.
            baseline: A reference accuracy drawn as a dotted line on accuracy panels.
            baseline_label: Its legend text.
        """
        plt = _pyplot()
        words = dict(labels or {})

        def say(word: str) -> str:
            return words.get(word, word)

        if overlay:
            return self._plot_overlay(axes, xlabel=xlabel, say=say, ylim=ylim)

        lr_key = next((k for k in _LR_KEYS if k in self.history), None)
        constant_rate = None
        if lr_key is not None:
            rates = self.history[lr_key][np.isfinite(self.history[lr_key])]
            if len(rates) and np.allclose(rates, rates[0], rtol=1e-6, atol=0.0):
                # A flat line says less than a number: the title gives the rate instead.
                constant_rate, lr_key = float(rates[0]), None
        n_panels = len(self.metrics) + (1 if lr_key else 0)
        if axes is None:
            fig, ax_grid = plt.subplots(1, n_panels, figsize=(5.2 * n_panels, 4), squeeze=False)
            axes = list(ax_grid[0])
        else:
            axes = list(np.ravel(axes))
            fig = axes[0].figure
        colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for i, (ax, fam) in enumerate(zip(axes, self.metrics, strict=False)):
            color = colors[i % len(colors)]
            for key, style, who in ((fam, "-", "train"), (f"val_{fam}", "--", "validation")):
                if key in self.history:
                    values = self.history[key]
                    ax.plot(
                        np.arange(1, len(values) + 1),
                        values,
                        style,
                        color=color,
                        label=say(who),
                        linewidth=1.8,
                    )
            ax.set_title(say(fam).capitalize() if fam in words else fam)
            ax.set_xlabel(xlabel)
            ax.xaxis.set_major_locator(_integer_ticks())
            ax.set_ylabel(say(fam))
            ax.grid(True, alpha=0.3)
            if baseline is not None and fam in ("accuracy", "acc", "binary_accuracy"):
                ax.axhline(
                    baseline, color="0.35", linestyle=":", linewidth=1.5, label=baseline_label
                )
            if ylim is not None:
                ax.set_ylim(*ylim)
            ax.legend()
        if lr_key:
            ax = axes[len(self.metrics)]
            values = self.history[lr_key]
            ax.plot(np.arange(1, len(values) + 1), values, color="0.3", label=say("learning rate"))
            ax.set_yscale("log")
            ax.set_title(say("learning rate"))
            ax.set_xlabel(xlabel)
            ax.set_ylabel(say("learning rate"))
            ax.grid(True, alpha=0.3, which="both")
            ax.legend()
        title = self.title
        if constant_rate is not None and self.metrics:
            rate = f"{say('learning rate').lower()} {constant_rate:g}"
            title = f"{title} ({rate})" if title else rate.capitalize()
        if title:
            fig.suptitle(title)
        tight_layout(fig)
        self.axes_ = axes[:n_panels]
        self.figure_ = fig
        return self

    def _plot_overlay(
        self, ax: Any, *, xlabel: str, say: Any, ylim: tuple[float, float] | None
    ) -> LearningCurvesDisplay:
        plt = _pyplot()
        if ax is None:
            fig, ax = plt.subplots(figsize=(8, 5))
        else:
            ax = np.ravel(ax)[0] if isinstance(ax, list | tuple | np.ndarray) else ax
            fig = ax.figure
        colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for i, fam in enumerate(self.metrics):
            color = colors[i % len(colors)]
            for key, style, who in ((fam, "-", "train"), (f"val_{fam}", "--", "validation")):
                if key in self.history:
                    values = self.history[key]
                    ax.plot(
                        np.arange(1, len(values) + 1),
                        values,
                        style,
                        color=color,
                        label=f"{say(fam)} ({say(who)})",
                        linewidth=1.8,
                    )
        ax.set_xlabel(xlabel)
        ax.xaxis.set_major_locator(_integer_ticks())
        ax.set_ylabel(" / ".join(say(f) for f in self.metrics))
        ax.grid(True)
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.legend()
        ax.set_title(self.title)
        tight_layout(fig)
        self.axes_ = [ax]
        self.figure_ = fig
        return self


def _integer_ticks() -> Any:
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)
