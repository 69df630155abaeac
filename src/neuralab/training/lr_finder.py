"""Learning-rate range tests: the per-batch finder (fastai style) and shared suggestions.

The circles chapter runs the range test per epoch (``1e-4 * 10**(epoch/20)`` over 100 epochs)
and reads the rate off the loss-vs-rate plot; :func:`suggest_learning_rates` turns such a curve
into numbers. :func:`find_learning_rate` is the quicker per-batch form (fastai's ``lr_find``):
one training step per rate, the rate growing exponentially, stopping when the loss diverges,
with the model and its optimizer left exactly as they were.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from neuralab._keras_compat import (
    discard_jax_state,
    set_stored_learning_rate,
    stored_learning_rate,
    symbolic_build,
    untrack_optimizer_variable,
)
from neuralab.errors import NeuralabError

if TYPE_CHECKING:
    import keras

logger = logging.getLogger(__name__)

StepCallback = Callable[[int, float, float], None]
"""``callback(step, learning_rate, loss)``, called after each step of the finder."""

_MIN_POINTS = 3


def suggest_learning_rates(
    learning_rates: Sequence[float] | np.ndarray, losses: Sequence[float] | np.ndarray
) -> dict[str, float]:
    """Suggested learning rates from a loss-vs-rate curve.

    Shared by the per-batch finder (:func:`find_learning_rate`, on its smoothed losses) and
    the circles chapter's per-epoch range test. Points whose loss (or rate) is NaN or
    infinite are dropped first. With 20 points or more, the first 10% (noisy: training has
    barely started) and the last 5 (diverging) are then left out, as fastai's ``lr_find``
    does; shorter curves are used whole.

    * ``"minimum/10"``: the rate at the lowest loss divided by 10 (the chapter's rule: "10x
      smaller than the bottom of the curve"; fastai's ``minimum``).
    * ``"steepest"``: the rate where the loss falls fastest per decade, the most negative
      ``d loss / d log10(rate)`` (``np.gradient`` on the log rates), leaving out the first
      and last points (one-sided differences) and everything after the bottom of the curve
      (past the bottom a drop is noise in a diverging loss, not a good rate).
    * ``"valley"``: fastai's ``valley``: the longest decreasing subsequence of the loss
      (O(n²), as fastai), ending at index ``end`` with length ``L``, spans
      ``[start, end]`` with ``start = max(end - L, 0)``; the pick is
      ``start + int(s) + int(s / 2)`` with ``s = (end - start) / 3``, about halfway along
      it (fastai's exact index rule; fastai's text says "roughly 2/3"). The ``max(..., 0)``
      is ours: fastai's ``end - L`` can be -1, which would wrap round to the last point.
    * ``"midpoint"``: halfway on the log scale from ``steepest`` to the bottom of the curve
      (their geometric mean): a rate at which the loss still falls clearly, below where it
      bottoms out. On the circles chapter's per-epoch test it lands in the 0.01-0.02 the
      chapter read off its plot.

    Args:
        learning_rates: Rates tried, increasing, shape ``(n,)``.
        losses: Loss at each rate, shape ``(n,)``.

    Returns:
        ``{"minimum/10": ..., "steepest": ..., "valley": ..., "midpoint": ...}``, as floats.

    Raises:
        NeuralabError: If the inputs are not 1-D of equal length, or fewer than 3 finite
            points remain.

    Example:
        >>> lrs = np.logspace(-4, 0, 41)
        >>> suggest_learning_rates(lrs, (np.log10(lrs) + 2) ** 2)["minimum/10"]  # bottom 1e-2
        0.001
    """
    lrs = np.asarray(learning_rates, dtype=np.float64)
    loss = np.asarray(losses, dtype=np.float64)
    if lrs.ndim != 1 or lrs.shape != loss.shape:
        raise NeuralabError(
            "`learning_rates` and `losses` must be 1-D and of equal length. "
            f"Received: learning_rates.shape={lrs.shape}, losses.shape={loss.shape}"
        )
    keep = np.isfinite(loss) & np.isfinite(lrs) & (lrs > 0)
    lrs, loss = lrs[keep], loss[keep]
    if len(loss) < _MIN_POINTS:
        raise NeuralabError(
            f"A learning-rate range test needs at least {_MIN_POINTS} finite losses to "
            f"suggest a rate; it has {len(loss)}. Run more steps (or epochs), or lower the "
            f"start rate so that the loss does not diverge at once. Received: "
            f"{int(keep.size)} points, {int(keep.size - keep.sum())} of them NaN/inf"
        )
    if len(loss) >= 20:
        lrs, loss = lrs[len(lrs) // 10 : -5], loss[len(loss) // 10 : -5]
    bottom = int(np.argmin(loss))
    steepest = _steepest_index(lrs, loss, bottom)
    return {
        "minimum/10": float(lrs[bottom]) / 10.0,
        "steepest": float(lrs[steepest]),
        "valley": float(lrs[_valley_index(loss)]),
        "midpoint": float(np.sqrt(lrs[steepest] * lrs[bottom])),
    }


def suggest_per_epoch_learning_rates(
    learning_rates: Sequence[float] | np.ndarray,
    losses: Sequence[float] | np.ndarray,
    *,
    smoothing_std: float = 2.0,
) -> tuple[np.ndarray, dict[str, float]]:
    """Suggestions of a per-epoch range test (the circles chapter's), read off smoothed losses.

    Near divergence single epoch losses bounce (Adam at high rates), and one lucky epoch past
    the real bottom would set the bottom and the steepest fall (seen on TensorFlow: a
    'midpoint' of 0.25 instead of 0.045). So the curve is smoothed with a Gaussian of
    ``smoothing_std`` epochs first (NaN/inf epochs left out of the smoothing), as the
    per-batch finder reads its moving average, then passed to :func:`suggest_learning_rates`.

    Returns:
        ``(smoothed_losses, suggestions)``; ``smoothed_losses`` has the shape of ``losses``
        (NaN where the loss was not finite).
    """
    from neuralab.analysis.compare import gaussian_smooth

    loss = np.asarray(losses, dtype=np.float64)
    smoothed = np.full_like(loss, np.nan)
    finite = np.isfinite(loss)
    smoothed[finite] = gaussian_smooth(loss[finite], smoothing_std)
    return smoothed, suggest_learning_rates(learning_rates, smoothed)


def _steepest_index(lrs: np.ndarray, loss: np.ndarray, bottom: int) -> int:
    """Index of the most negative ``d loss / d log10(rate)`` among interior points <= bottom."""
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.gradient(loss, np.log10(lrs))
    slope = np.where(np.isfinite(slope), slope, np.inf)  # repeated rates: no slope
    last = min(max(bottom, 1), len(loss) - 2)  # at least one interior candidate
    return 1 + int(np.argmin(slope[1 : last + 1]))


def _valley_index(loss: np.ndarray) -> int:
    """fastai's ``valley`` index: about halfway along the longest decreasing subsequence."""
    n = len(loss)
    lengths = np.ones(n, dtype=np.int64)
    end = 0
    for i in range(1, n):
        # Longest decreasing subsequence ending at i: extend the best one ending higher up.
        higher = loss[:i] > loss[i]
        if higher.any():
            lengths[i] = lengths[:i][higher].max() + 1
        if lengths[i] > lengths[end]:
            end = i
    start = max(end - int(lengths[end]), 0)
    section = (end - start) / 3
    return start + int(section) + int(section / 2)


def _json_float(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


@dataclass(repr=False)
class LRFinderResult:
    """What :func:`find_learning_rate` measured.

    Attributes:
        learning_rates: Rate of each step taken, shape ``(n_steps,)``.
        losses: Raw training loss of each step's batch, shape ``(n_steps,)``.
        smoothed_losses: Debiased exponential moving average of ``losses``.
        suggestions: :func:`suggest_learning_rates` of the smoothed curve.
        stopped_early: Whether the loss diverged (smoothed loss over ``diverge_factor``
            times the best, or NaN/inf), which ended the test at step ``n_steps``.
        best_loss: Lowest smoothed loss.
        n_steps: Steps taken (``num_steps``, or fewer when the loss diverged).
    """

    learning_rates: np.ndarray
    losses: np.ndarray
    smoothed_losses: np.ndarray
    suggestions: dict[str, float]
    stopped_early: bool
    best_loss: float
    n_steps: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (lists of floats; NaN/inf become ``None``)."""
        return {
            "learning_rates": [_json_float(v) for v in self.learning_rates.tolist()],
            "losses": [_json_float(v) for v in self.losses.tolist()],
            "smoothed_losses": [_json_float(v) for v in self.smoothed_losses.tolist()],
            "suggestions": {k: _json_float(v) for k, v in self.suggestions.items()},
            "stopped_early": bool(self.stopped_early),
            "best_loss": _json_float(self.best_loss),
            "n_steps": int(self.n_steps),
        }

    def __repr__(self) -> str:
        shown = ", ".join(f"{k!r}: {v:.3g}" for k, v in self.suggestions.items())
        lrs = self.learning_rates
        tried = f"{lrs[0]:.3g}..{lrs[-1]:.3g}" if len(lrs) else "none"
        return (
            f"LRFinderResult(suggestions={{{shown}}}, n_steps={self.n_steps}, "
            f"learning_rates={tried}, best_loss={self.best_loss:.4g}, "
            f"stopped_early={self.stopped_early})"
        )


def _check(name: str, ok: bool, value: Any, rule: str) -> None:
    if not ok:
        raise NeuralabError(f"`{name}` must be {rule}. Received: {name}={value!r}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def find_learning_rate(
    model: keras.Model,
    x: Any,
    y: Any,
    *,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int = 100,
    batch_size: int = 32,
    beta: float = 0.98,
    diverge_factor: float = 4.0,
    seed: int | None = 42,
    callback: StepCallback | None = None,
) -> LRFinderResult:
    """Per-batch learning-rate range test (fastai's ``lr_find``); the model is left unchanged.

    Step ``i`` (from 0) trains one batch with the model's own optimizer at rate
    ``start_lr * (end_lr / start_lr) ** (i / (num_steps - 1))``. Batches come from a seeded
    permutation of the samples, reshuffled when fewer than ``batch_size`` remain (every
    batch has the same size). The loss is smoothed with a debiased exponential moving
    average (``avg = beta * avg + (1 - beta) * loss``, ``smoothed = avg / (1 - beta**(i+1))``)
    and the test stops once the smoothed loss exceeds ``diverge_factor`` times the best so
    far, or the loss is NaN/inf.

    Afterwards, also when the test fails or is interrupted (``KeyboardInterrupt``), every
    model variable (weights, non-trainable state, dropout seed state) and every optimizer
    variable (slots, ``iterations``, learning rate) is restored bit for bit, on every
    backend; a learning-rate schedule, swapped for a settable rate during the test, is put
    back; the metrics are reset. A later ``fit`` continues exactly as if the test never ran.
    (State outside the model and optimizer, such as Keras's global seed generator, is not
    touched by the test's own code and not restored.)

    Args:
        model: A compiled Keras model (built or not).
        x: Training features, shape ``(n_samples, ...)`` (or a list/dict of such arrays).
        y: Training targets, shape ``(n_samples, ...)``.
        start_lr: First rate, > 0. Defaults to ``1e-7``.
        end_lr: Last rate, > ``start_lr``. Defaults to ``10.0``.
        num_steps: Steps (rates) at most, >= 3. Defaults to 100.
        batch_size: Samples per step, > 0 (the whole data set when larger). Defaults to 32.
        beta: Smoothing of the loss, in [0, 1) (0: no smoothing). Defaults to 0.98.
        diverge_factor: Stop when the smoothed loss exceeds this times the best, > 1.
            Defaults to 4.0.
        seed: Seed of the batch order. Defaults to 42.
        callback: ``callback(step, learning_rate, loss)`` after each step, for progress.

    Returns:
        An :class:`LRFinderResult` with suggestions from :func:`suggest_learning_rates` on
        the smoothed losses.

    Raises:
        NeuralabError: If an argument is invalid, the model is not compiled, ``x`` and
            ``y`` differ in length, or fewer than 3 finite losses were measured.

    Example:
        >>> result = find_learning_rate(model, x_train, y_train, num_steps=100)
        >>> model.optimizer.learning_rate = result.suggestions["minimum/10"]
    """
    _check("start_lr", _is_number(start_lr) and 0 < start_lr < math.inf, start_lr, "positive")
    _check(
        "end_lr",
        _is_number(end_lr) and start_lr < end_lr < math.inf,
        end_lr,
        f"greater than start_lr={start_lr!r}",
    )
    _check("num_steps", _is_int(num_steps) and num_steps >= 3, num_steps, "an integer >= 3")
    _check("batch_size", _is_int(batch_size) and batch_size > 0, batch_size, "an integer > 0")
    _check("beta", _is_number(beta) and 0 <= beta < 1, beta, "in [0, 1)")
    _check(
        "diverge_factor",
        _is_number(diverge_factor) and diverge_factor > 1,
        diverge_factor,
        "greater than 1",
    )
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        raise NeuralabError(
            "`model` must be compiled before finding its learning rate: call "
            "`model.compile(optimizer=..., loss=...)` first. "
            f"Received: model={getattr(model, 'name', model)!r} (not compiled)"
        )
    n_samples = _n_samples("x", x)
    n_targets = _n_samples("y", y)
    if n_samples == 0 or n_samples != n_targets:
        raise NeuralabError(
            "`x` and `y` must hold the same number (> 0) of samples. "
            f"Received: len(x)={n_samples}, len(y)={n_targets}"
        )

    rates = start_lr * (end_lr / start_lr) ** (np.arange(num_steps) / (num_steps - 1))
    rng = np.random.default_rng(seed)
    batches = _batches(n_samples, min(batch_size, n_samples), rng)
    first = next(batches)
    _build(model, _take(x, first), _take(y, first))
    optimizer = model.optimizer
    saved = _Snapshot(model)

    raw: list[float] = []
    smooth: list[float] = []
    avg, best, diverged = 0.0, math.inf, False
    try:
        _use_settable_learning_rate(model, float(rates[0]))
        index = first
        for step, rate in enumerate(rates):
            if step:
                index = next(batches)
            optimizer.learning_rate = float(rate)
            logs = model.train_on_batch(_take(x, index), _take(y, index), return_dict=True)
            loss = float(logs["loss"])
            avg = beta * avg + (1 - beta) * loss
            smoothed = avg / (1 - beta ** (step + 1))
            raw.append(loss)
            smooth.append(smoothed)
            if callback is not None:
                callback(step, float(rate), loss)
            if not (math.isfinite(loss) and math.isfinite(smoothed)) or (
                smoothed > diverge_factor * best
            ):
                diverged = True
                break
            best = min(best, smoothed)
    finally:
        saved.restore()
    n_steps = len(raw)
    logger.debug("learning-rate finder: %d steps, diverged=%s", n_steps, diverged)
    learning_rates = rates[:n_steps].copy()
    smoothed_losses = np.asarray(smooth, dtype=np.float64)
    return LRFinderResult(
        learning_rates=learning_rates,
        losses=np.asarray(raw, dtype=np.float64),
        smoothed_losses=smoothed_losses,
        suggestions=suggest_learning_rates(learning_rates, smoothed_losses),
        stopped_early=diverged,
        best_loss=float(best),
        n_steps=n_steps,
    )


def _n_samples(name: str, data: Any) -> int:
    import keras

    leaves = keras.tree.flatten(data)
    if not leaves or not all(hasattr(a, "__len__") and np.ndim(a) >= 1 for a in leaves):
        raise NeuralabError(
            f"`{name}` must be an array of samples (or a list or dict of such arrays), "
            f"not a dataset or generator. Received: {name} of type {type(data).__name__}"
        )
    return len(leaves[0])


def _take(data: Any, index: np.ndarray) -> Any:
    import keras

    return keras.tree.map_structure(lambda a: np.asarray(a)[index], data)


def _batches(n_samples: int, batch_size: int, rng: np.random.Generator) -> Any:
    """Endless equal-sized batches of indices from seeded permutations."""
    while True:
        order = rng.permutation(n_samples)
        # A short last batch would be noisier (and re-trace a compiled step): skip it.
        for start in range(0, n_samples - batch_size + 1, batch_size):
            yield order[start : start + batch_size]


def _build(model: keras.Model, x: Any, y: Any) -> None:
    """Create the model's and optimizer's variables now, so that the snapshot holds them all."""
    if not model.built:
        # What train_on_batch would do on its first call (weights, metrics, optimizer).
        symbolic_build(model, (x, y, None))
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)


def _inner(optimizer: Any) -> Any:
    # A LossScaleOptimizer keeps the learning rate in the optimizer it wraps.
    return getattr(optimizer, "inner_optimizer", optimizer)


def _use_settable_learning_rate(model: keras.Model, rate: float) -> None:
    """Give the optimizer a learning-rate variable if it has a schedule (or callable).

    ``BaseOptimizer.learning_rate``'s setter refuses a float when the rate is a
    ``LearningRateSchedule``. Storing a variable as the rate tracks it among the
    optimizer's variables (``BaseOptimizer.__setattr__``), which the JAX trainer needs to
    see a new value at every step; :meth:`_Snapshot.restore` puts the schedule back.
    """
    import keras

    target = _inner(model.optimizer)
    if isinstance(stored_learning_rate(target), keras.Variable):
        return
    set_stored_learning_rate(
        target,
        keras.Variable(rate, name="learning_rate", dtype=keras.config.floatx(), trainable=False),
    )
    # The compiled train step read the schedule; trace it again with the variable.
    model.train_function = None


class _Snapshot:
    """Exact copies of a model's and its optimizer's variables, and the learning rate."""

    def __init__(self, model: keras.Model) -> None:
        self.model = model
        optimizer = model.optimizer
        self.variables = list(model.variables) + list(optimizer.variables)
        self.values = [np.array(v.numpy(), copy=True) for v in self.variables]
        self.target = _inner(optimizer)
        self.learning_rate = stored_learning_rate(self.target)

    def restore(self) -> None:
        model, target = self.model, self.target
        # A step interrupted on JAX leaves un-synced trainer state that a later
        # jax_state_sync() (e.g. a callback's `self.model`) would write back over ours.
        discard_jax_state(model)
        swapped = stored_learning_rate(target)
        if swapped is not self.learning_rate:
            set_stored_learning_rate(target, self.learning_rate)
            untrack_optimizer_variable(target, swapped)
            # The compiled train step read the temporary variable; trace it again.
            model.train_function = None
        for variable, value in zip(self.variables, self.values, strict=True):
            variable.assign(value)
        # Allow a later fit to start from clean metrics (train_on_batch left the last batch's).
        model.reset_metrics()
