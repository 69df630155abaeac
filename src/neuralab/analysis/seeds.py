"""Results over several seeds: mean, spread and how many seeds fall in a band.

One seed's number is one draw: the circles chapter's model_7 reaches 74% with one seed and
99% with another. These helpers summarise the runs of one experiment (``repeat = N``) the
same way for the terminal table, the lab report and ``compare``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class SeedStats:
    """A metric over the seeds of one experiment.

    ``std`` is the sample standard deviation (``ddof=1``, the spread one would expect from
    another set of seeds); it is 0 for a single seed.
    """

    n: int
    mean: float
    std: float
    min: float
    max: float

    def percent(self) -> str:
        """``"88.6% ± 8.2"`` (one seed: ``"88.6%"``)."""
        if self.n == 1:
            return f"{self.mean:.1%}"
        return f"{self.mean:.1%} ± {100 * self.std:.1f}"

    def number(self, fmt: str = "{:.4f}") -> str:
        """``"0.3120 ± 0.0400"`` (one seed: the value)."""
        if self.n == 1:
            return fmt.format(self.mean)
        return f"{fmt.format(self.mean)} ± {fmt.format(self.std)}"


def seed_stats(values: Sequence[float | None]) -> SeedStats | None:
    """Mean, standard deviation, min and max of the values that exist (None and NaN are
    runs that did not measure the metric); None when there are none."""
    kept = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not kept:
        return None
    array = np.asarray(kept)
    std = float(array.std(ddof=1)) if len(array) > 1 else 0.0
    return SeedStats(
        n=len(array),
        mean=float(array.mean()),
        std=std,
        min=float(array.min()),
        max=float(array.max()),
    )


def in_band(value: float | None, low: float | None, high: float | None) -> bool | None:
    """``low <= value <= high`` (an absent bound does not limit); None without a value."""
    if value is None or not math.isfinite(value):
        return None
    return (low is None or value >= low) and (high is None or value <= high)


def mean_curve(
    histories: Sequence[pd.DataFrame], key: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Epochs, mean and standard deviation of ``key`` over the histories that logged it.

    Runs that stopped early (EarlyStopping) end sooner: each epoch averages the runs that
    reached it, and the band ends where fewer than two runs remain.
    """
    series = [h[key].to_numpy(dtype=float) for h in histories if key in h]
    if not series:
        return None
    longest = max(len(s) for s in series)
    table = np.full((len(series), longest), np.nan)
    for i, s in enumerate(series):
        table[i, : len(s)] = s
    counts = np.sum(~np.isnan(table), axis=0)
    mean = np.nanmean(table, axis=0)
    std = np.full(longest, np.nan)
    several = counts > 1
    if several.any():
        centered = np.where(np.isnan(table), 0.0, table - mean)
        std[several] = np.sqrt((centered[:, several] ** 2).sum(axis=0) / (counts[several] - 1))
    return np.arange(1, longest + 1), mean, std
