"""Comparing training histories of several runs (TensorFlow docs' ``HistoryPlotter``, done right).

One colour per run, kept across every figure; training solid, validation dashed; a run given
as several seeds' histories is drawn as their mean with a band of one standard deviation; optional
Gaussian smoothing whose ``smoothing_std`` is in epochs and really sets the kernel width; an
optional log x axis and y limits; the key aliases ``acc``/``accuracy`` and ``lr``/
``learning_rate`` normalised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from neuralab.analysis.figures import _pyplot, tight_layout

KEY_ALIASES = {
    "acc": "accuracy",
    "val_acc": "val_accuracy",
    "lr": "learning_rate",
}


def normalise_keys(history: Any) -> dict[str, np.ndarray]:
    """A history (DataFrame, ``keras.callbacks.History`` or dict) with canonical key names."""
    if hasattr(history, "history") and isinstance(history.history, dict):
        history = history.history
    if hasattr(history, "columns"):
        history = {str(c): history[c].to_numpy() for c in history.columns}
    out: dict[str, np.ndarray] = {}
    for key, values in dict(history).items():
        out[KEY_ALIASES.get(str(key), str(key))] = np.asarray(values, dtype=np.float64)
    return out


def gaussian_smooth(values: np.ndarray, std: float) -> np.ndarray:
    """Smooth with a Gaussian kernel of standard deviation ``std`` epochs (edges: nearest).

    ``std <= 0`` returns the values unchanged. The kernel spans +-4 std, so its width truly
    follows ``std`` (the TensorFlow docs' plotter used a fixed window).
    """
    values = np.asarray(values, dtype=np.float64)
    if std <= 0 or len(values) < 2:
        return values
    radius = max(1, int(np.ceil(4 * std)))
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (offsets / std) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(values, radius, mode="edge")
    return np.convolve(padded, kernel, mode="valid")


class HistoryComparisonDisplay:
    """Curves of one metric for several runs.

    Args:
        histories: Run name -> history (DataFrame, dict or Keras History), or a list of the
            histories of its seeds (drawn as their mean with a band of +-1 standard deviation).
        metric: ``loss``, ``accuracy``, or any logged name (aliases allowed).
        smoothing_std: Gaussian smoothing in epochs (0: none).
        title: Figure title.

    Example:
        >>> HistoryComparisonDisplay({"small": h1, "large": h2}, metric="loss").plot(logx=True)
    """

    def __init__(
        self,
        histories: Mapping[str, Any],
        *,
        metric: str = "loss",
        smoothing_std: float = 0.0,
        title: str = "",
    ) -> None:
        self.histories: dict[str, dict[str, np.ndarray]] = {}
        self.bands: dict[str, dict[str, np.ndarray]] = {}
        self.members: dict[str, list[dict[str, np.ndarray]]] = {}
        self.seeds: dict[str, int] = {}
        for name, given in histories.items():
            several = isinstance(given, list | tuple)
            members = [normalise_keys(h) for h in (given if several else [given])]
            self.seeds[name] = len(members)
            if len(members) == 1:
                self.histories[name] = members[0]
                continue
            self.histories[name], self.bands[name] = _mean_and_std(members)
            self.members[name] = members
        self.metric = KEY_ALIASES.get(metric, metric)
        self.smoothing_std = float(smoothing_std)
        self.title = title

    @classmethod
    def from_runs(cls, run_dirs: Sequence[str | Path], **kwargs: Any) -> HistoryComparisonDisplay:
        """Read each run's history (the run folder's name labels it)."""
        from neuralab.record import RunDir

        histories = {Path(run).name: RunDir.open(run).read_history() for run in run_dirs}
        return cls(histories, **kwargs)

    def plot(
        self,
        ax: Any = None,
        *,
        logx: bool = False,
        ylim: tuple[float, float] | None = None,
        xlabel: str = "epoch",
        labels: Mapping[str, str] | None = None,
        colors: Mapping[str, str] | None = None,
        baseline: float | None = None,
        baseline_label: str = "baseline",
        each_seed: bool = False,
    ) -> HistoryComparisonDisplay:
        """Draw; ``colors`` maps run names to colours (default: one per run, in order);
        ``each_seed``: also each seed's own curve, thin, behind the mean and its band.

        ``ylim`` is kept only when it shows every curve's lowest point (:meth:`fits`);
        otherwise the axis fits the data and ``ylim_fitted_`` is True.
        """
        plt = _pyplot()
        words = dict(labels or {})
        if ax is None:
            fig, ax = plt.subplots(figsize=(8, 5))
        else:
            fig = ax.figure
        cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        self.colors_ = {
            name: (colors or {}).get(name, cycle[i % len(cycle)])
            for i, name in enumerate(self.histories)
        }
        drawn = 0
        for name, history in self.histories.items():
            for key, style, who in (
                (self.metric, "-", "train"),
                (f"val_{self.metric}", "--", "validation"),
            ):
                if key not in history:
                    continue
                values = gaussian_smooth(history[key], self.smoothing_std)
                epochs = np.arange(1, len(values) + 1)
                label = f"{name} ({words.get(who, who)})"
                band = self.bands.get(name, {}).get(key)
                if band is not None:
                    label = f"{name} ({words.get(who, who)}, {words.get('mean of', 'mean of')} "
                    label += f"{self.seeds[name]} {words.get('seeds', 'seeds')})"
                    if each_seed:
                        for k, member in enumerate(self.members[name]):
                            if key in member:
                                own = gaussian_smooth(member[key], self.smoothing_std)
                                ax.plot(
                                    np.arange(1, len(own) + 1),
                                    own,
                                    style,
                                    color=self.colors_[name],
                                    alpha=0.35,
                                    linewidth=0.7,
                                    label=f"{words.get('each seed', 'each seed')} "
                                    f"({words.get(who, who)})"
                                    if k == 0
                                    else None,
                                )
                    spread = gaussian_smooth(np.nan_to_num(band), self.smoothing_std)
                    ax.fill_between(
                        epochs,
                        values - spread,
                        values + spread,
                        color=self.colors_[name],
                        alpha=0.15 if style == "-" else 0.08,
                        linewidth=0,
                    )
                ax.plot(epochs, values, style, color=self.colors_[name], label=label, linewidth=1.6)
                drawn += 1
        if not drawn:
            raise ValueError(f"no run logged {self.metric!r} or 'val_{self.metric}'")
        if baseline is not None and self.metric in ("accuracy", "binary_accuracy"):
            ax.axhline(baseline, color="0.35", linestyle=":", linewidth=1.5, label=baseline_label)
        if logx:
            ax.set_xscale("log")
        else:
            from matplotlib.ticker import MaxNLocator

            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        self.ylim_fitted_ = ylim is not None and not self.fits(ylim)
        if ylim is not None and not self.ylim_fitted_:
            ax.set_ylim(*ylim)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(words.get(self.metric, self.metric))
        ax.grid(True, alpha=0.3, which="both")
        ax.legend(fontsize=8, ncol=2 if len(self.histories) > 4 else 1)
        smoothed = words.get("smoothed", "smoothed, std {std:g} epochs")
        smoothing = f" ({smoothed.format(std=self.smoothing_std)})" if self.smoothing_std else ""
        ax.set_title((self.title or words.get(self.metric, self.metric)) + smoothing)
        tight_layout(fig)
        self.ax_ = ax
        self.figure_ = fig
        return self

    def fits(self, ylim: tuple[float, float]) -> bool:
        """True when every curve's lowest (smoothed) point lies within ``ylim``.

        A chapter's range (the overfitting chapter's 0.5-0.7 for the cross-entropy) frames
        its curves' minima; curves of other data may sit wholly outside it, and an axis
        limited to it would then show nothing.
        """
        low, high = ylim
        for history in self.histories.values():
            for key in (self.metric, f"val_{self.metric}"):
                if key in history:
                    values = gaussian_smooth(history[key], self.smoothing_std)
                    lowest = float(np.nanmin(values))
                    if not low <= lowest <= high:
                        return False
        return True


def _mean_and_std(
    members: Sequence[dict[str, np.ndarray]],
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per key, the mean and standard deviation over the seeds' histories (epoch by epoch,
    over the seeds that reached the epoch)."""
    import pandas as pd

    from neuralab.analysis.seeds import mean_curve

    frames = [pd.DataFrame({k: pd.Series(v) for k, v in m.items()}) for m in members]
    keys = sorted({k for m in members for k in m})
    means: dict[str, np.ndarray] = {}
    stds: dict[str, np.ndarray] = {}
    for key in keys:
        curve = mean_curve(frames, key)
        if curve is not None:
            _, means[key], stds[key] = curve
    return means, stds


def seed_curves_figure(
    name: str,
    histories: Sequence[Any],
    *,
    metrics: Sequence[str] = ("loss", "accuracy"),
    title: str = "",
    xlabel: str = "epoch",
    labels: Mapping[str, str] | None = None,
) -> Any:
    """One panel per metric: the mean over the seeds' ``histories`` with a band of one
    standard deviation, and each seed's own curve thin; training solid and validation dashed.
    None if no metric was logged."""
    plt = _pyplot()
    display = HistoryComparisonDisplay({name: list(histories)}, metric=metrics[0])
    logged = [
        m
        for m in metrics
        if KEY_ALIASES.get(m, m) in display.histories[name]
        or f"val_{KEY_ALIASES.get(m, m)}" in display.histories[name]
    ]
    if not logged:
        return None
    words = dict(labels or {})
    fig, axes = plt.subplots(1, len(logged), figsize=(6.5 * len(logged), 4.2), squeeze=False)
    for ax, metric in zip(axes[0], logged, strict=True):
        heading = f"{title}: {words.get(metric, metric)}" if title else ""
        HistoryComparisonDisplay({name: list(histories)}, metric=metric, title=heading).plot(
            ax, xlabel=xlabel, labels=labels, each_seed=True
        )
    return fig
