"""Learning-rate range tests: the per-batch finder (fastai style) and shared suggestions.

The circles chapter runs the range test per epoch (``1e-4 * 10**(epoch/20)`` over 100 epochs)
and reads the rate off the loss-vs-rate plot; :func:`suggest_learning_rates` turns such a curve
into numbers. :func:`find_learning_rate` is the quicker per-batch form: one step per rate,
growing exponentially, stopping when the loss diverges, with the model left exactly as it was.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from neuralab.errors import NeuralabError

if TYPE_CHECKING:
    import keras

StepCallback = Callable[[int, float, float], None]


def suggest_learning_rates(
    learning_rates: Sequence[float] | np.ndarray, losses: Sequence[float] | np.ndarray
) -> dict[str, float]:
    """Suggested learning rates from a loss-vs-rate curve.

    * ``minimum/10``: the rate at the lowest loss divided by 10 (the chapter's rule: "10x
      smaller than the bottom of the curve");
    * ``steepest``: where the loss falls fastest per decade of rate (most negative
      ``d loss / d log10(rate)``) before the bottom of the curve (Leslie Smith's choice);
    * ``valley``: fastai's valley: the longest stretch over which the loss keeps falling
      (longest decreasing subsequence), taken about halfway down it (fastai's index rule);
    * ``midpoint``: halfway (on the log scale) from ``steepest`` to the bottom: a rate at
      which the loss is still falling, below where it bottoms out. On the circles chapter's
      per-epoch test it lands in the 0.01-0.02 the chapter read off its plot.

    Args:
        learning_rates: Rates, increasing, shape ``(n,)``.
        losses: Loss at each rate, shape ``(n,)``; NaN/inf points are dropped, and with
            20 points or more the first 10% and the last 5 are left out (as fastai does).

    Returns:
        ``{"minimum/10": ..., "steepest": ..., "valley": ..., "midpoint": ...}``.

    Raises:
        NeuralabError: fewer than 3 finite points, or lengths differ.
    """
    lrs = np.asarray(learning_rates, dtype=np.float64)
    loss = np.asarray(losses, dtype=np.float64)
    if lrs.shape != loss.shape or lrs.ndim != 1:
        raise NeuralabError(
            f"learning rates and losses must be 1-D and of equal length. Received shapes "
            f"{lrs.shape} and {loss.shape}."
        )
    keep = np.isfinite(loss) & np.isfinite(lrs) & (lrs > 0)
    lrs, loss = lrs[keep], loss[keep]
    if len(lrs) < 3:
        raise NeuralabError(
            f"a learning-rate range test needs at least 3 finite losses to suggest a rate; "
            f"it has {len(lrs)}. Run more steps or epochs, or lower the start rate."
        )
    if len(lrs) >= 20:
        # As fastai: the first 10% (noisy, smoothing not settled) and last 5 points
        # (diverging) are not candidates.
        lrs, loss = lrs[len(lrs) // 10 : -5], loss[len(loss) // 10 : -5]
    bottom = int(np.argmin(loss))
    slope = np.gradient(loss, np.log10(lrs))
    # Steepest descent before the bottom: past it the loss no longer falls, whatever the slope.
    steepest = int(np.argmin(slope[: max(bottom, 1)]))
    return {
        "minimum/10": float(lrs[bottom]) / 10.0,
        "steepest": float(lrs[steepest]),
        "valley": float(lrs[_valley_index(loss)]),
        "midpoint": float(np.sqrt(lrs[steepest] * lrs[bottom])),
    }


def _valley_index(loss: np.ndarray) -> int:
    """fastai's valley point on the longest decreasing run of ``loss``.

    As in fastai's ``valley``: the longest decreasing subsequence ending at ``end`` has
    length L; the valley spans ``[end - L, end]`` and the pick is a third plus a sixth of
    the way along it (``start + s + s // 2`` with ``s = (end - start) / 3``).
    """
    n = len(loss)
    lengths = [1] * n
    best_end = 0
    for i in range(1, n):
        for j in range(i):
            if loss[i] < loss[j] and lengths[i] < lengths[j] + 1:
                lengths[i] = lengths[j] + 1
        if lengths[i] > lengths[best_end]:
            best_end = i
    start = max(best_end - lengths[best_end], 0)
    section = (best_end - start) / 3
    return min(start + int(section) + int(section / 2), n - 1)


@dataclass(repr=False)
class LRFinderResult:
    """What :func:`find_learning_rate` measured."""

    learning_rates: np.ndarray
    losses: np.ndarray
    smoothed_losses: np.ndarray
    suggestions: dict[str, float]
    stopped_early: bool
    best_loss: float
    n_steps: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "learning_rates": self.learning_rates.tolist(),
            "losses": self.losses.tolist(),
            "smoothed_losses": self.smoothed_losses.tolist(),
            "suggestions": self.suggestions,
            "stopped_early": self.stopped_early,
            "best_loss": self.best_loss,
            "n_steps": self.n_steps,
        }

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v:.3g}" for k, v in self.suggestions.items())
        return (
            f"LRFinderResult({shown}, n_steps={self.n_steps}, stopped_early={self.stopped_early})"
        )


def _check(name: str, ok: bool, value: Any, rule: str) -> None:
    if not ok:
        raise NeuralabError(f"`{name}` must be {rule}. Received: {name}={value!r}.")


def find_learning_rate(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int = 100,
    batch_size: int = 32,
    beta: float = 0.98,
    diverge_factor: float = 4.0,
    seed: int = 42,
    callback: StepCallback | None = None,
) -> LRFinderResult:
    """Per-batch learning-rate range test on a compiled model; the model is left unchanged.

    The rate grows exponentially from ``start_lr`` to ``end_lr`` over ``num_steps`` training
    steps, one batch each; the loss is smoothed with a debiased exponential moving average
    and the test stops once it exceeds ``diverge_factor`` times the best smoothed loss.

    The test trains with a fresh optimizer of the same class and settings (a range test
    starts from zero optimizer state); afterwards the model's weights are restored exactly
    and its own optimizer, whose state is never touched, is put back, on every backend, also
    when the test fails or is interrupted.

    Args:
        model: A compiled Keras model (any architecture).
        x: Training features.
        y: Training labels.
        start_lr: First rate (> 0).
        end_lr: Last rate (> start_lr).
        num_steps: Steps (>= 3).
        batch_size: Samples per step.
        beta: Smoothing of the loss, in [0, 1).
        diverge_factor: Stop when smoothed loss > factor * best (> 1).
        seed: Seed of the batch order.
        callback: ``callback(step, lr, loss)`` after each step (progress).

    Returns:
        An :class:`LRFinderResult` with suggestions from :func:`suggest_learning_rates`.

    Raises:
        NeuralabError: invalid arguments or an uncompiled model.
    """
    _check("start_lr", start_lr > 0, start_lr, "positive")
    _check("end_lr", end_lr > start_lr, end_lr, f"greater than start_lr={start_lr!r}")
    _check("num_steps", isinstance(num_steps, int) and num_steps >= 3, num_steps, "an integer >= 3")
    _check(
        "batch_size",
        isinstance(batch_size, int) and batch_size > 0,
        batch_size,
        "a positive integer",
    )
    _check("beta", 0 <= beta < 1, beta, "in [0, 1)")
    _check("diverge_factor", diverge_factor > 1, diverge_factor, "greater than 1")
    original = getattr(model, "optimizer", None)
    if original is None or not getattr(model, "compiled", False):
        raise NeuralabError(
            "The model is not compiled: call model.compile(loss=..., optimizer=...) before "
            "the learning-rate finder."
        )
    n = len(x)
    if n == 0:
        raise NeuralabError("the learning-rate finder needs training data; x is empty.")
    weights = [np.array(v.numpy(), copy=True) for v in model.variables]
    config = {**original.get_config(), "learning_rate": float(start_lr)}
    probe = type(original).from_config(config)
    probe.build(model.trainable_variables)
    rates = start_lr * (end_lr / start_lr) ** (np.arange(num_steps) / (num_steps - 1))
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    cursor = 0
    raw: list[float] = []
    smooth: list[float] = []
    avg, best, stopped = 0.0, math.inf, False
    _swap_optimizer(model, probe)
    try:
        for step, rate in enumerate(rates):
            if cursor + batch_size > n and cursor > 0:
                order, cursor = rng.permutation(n), 0
            index = order[cursor : cursor + batch_size]
            cursor += batch_size
            probe.learning_rate = float(rate)
            logs = model.train_on_batch(x[index], y[index], return_dict=True)
            loss = float(logs["loss"])
            raw.append(loss)
            avg = beta * avg + (1 - beta) * loss
            value = avg / (1 - beta ** (step + 1))
            smooth.append(value)
            if callback is not None:
                callback(step, float(rate), loss)
            if not math.isfinite(value) or value > diverge_factor * best:
                stopped = True
                break
            best = min(best, value)
    finally:
        _swap_optimizer(model, original)
        for variable, saved in zip(model.variables, weights, strict=True):
            variable.assign(saved)
        model.reset_metrics()
    steps = len(raw)
    lrs = rates[:steps]
    smoothed = np.asarray(smooth)
    # Suggest from the part before divergence: the diverged point is not a candidate.
    upto = steps - 1 if stopped and steps > 3 else steps
    return LRFinderResult(
        learning_rates=lrs,
        losses=np.asarray(raw),
        smoothed_losses=smoothed,
        suggestions=suggest_learning_rates(lrs[:upto], smoothed[:upto]),
        stopped_early=stopped,
        best_loss=float(best),
        n_steps=steps,
    )


def _swap_optimizer(model: keras.Model, optimizer: Any) -> None:
    # The compiled train function closes over the optimizer's state; rebuild it.
    model.optimizer = optimizer
    model.train_function = None
    model.stop_training = False
