"""Training any compiled Keras model and returning a result object (never printing)."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from neuralab.errors import NeuralabError, one_of
from neuralab.training.checkpoint import (
    CheckpointPolicy,
    TrainingState,
    make_checkpointer,
    restore_callbacks,
    restore_model,
)
from neuralab.training.schedules import EpochSchedule
from neuralab.training.streaming import array_batches, epoch_batches, is_on_disk, should_stream

if TYPE_CHECKING:
    import keras

logger = logging.getLogger(__name__)

EpochHook = Callable[[int, dict[str, float]], None]
TRAINERS = ("auto", "fused", "fit")


@dataclass(repr=False)
class TrainingResult:
    """What one training run produced.

    Attributes:
        history: One row per epoch (index 1..epochs_run): ``loss``, metrics, ``val_*``
            and ``learning_rate``.
        epochs_run: Epochs completed (fewer than asked after early stopping or Ctrl-C).
        best_epoch: 1-based epoch with the lowest ``monitor`` value.
        monitor: ``val_loss`` when there was validation data, else ``loss``.
        wall_time: Seconds spent in training.
        backend: Keras backend used.
        trainer: ``"fused"`` (one compiled program per epoch, JAX) or ``"fit"``.
        notes: Why ``model.fit`` was used instead of the fused trainer, and similar.
        interrupted: True when training was stopped by Ctrl-C.
        resumed_from: Epochs restored from a checkpoint before training went on (or None).
    """

    history: pd.DataFrame
    epochs_run: int
    best_epoch: int | None
    monitor: str
    wall_time: float
    backend: str
    trainer: str = "fit"
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)
    resumed_from: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "epochs_run": self.epochs_run,
            "best_epoch": self.best_epoch,
            "monitor": self.monitor,
            "wall_time": round(self.wall_time, 3),
            "backend": self.backend,
            "trainer": self.trainer,
            "interrupted": self.interrupted,
            "resumed_from": self.resumed_from,
            "notes": self.notes,
        }

    def __repr__(self) -> str:
        last = self.history.iloc[-1].to_dict() if len(self.history) else {}
        shown = ", ".join(f"{k}={v:.4g}" for k, v in last.items() if k != "learning_rate")
        return (
            f"TrainingResult(epochs_run={self.epochs_run}, best_epoch={self.best_epoch}, "
            f"{shown}, wall_time={self.wall_time:.2f}s, backend={self.backend!r})"
        )


def current_learning_rate(model: keras.Model) -> float:
    """The optimizer's learning rate now (schedules evaluated at the current step)."""
    import keras

    value = model.optimizer.learning_rate
    return float(keras.ops.convert_to_numpy(value))


def metric_directions(
    model: keras.Model, columns: Sequence[str] = ()
) -> dict[str, Literal["up", "down"]]:
    """Whether higher (``up``) or lower (``down``) is better, per metric name, as each
    compiled Keras metric says (the rule ``EarlyStopping(mode="auto")`` follows); losses go
    down. History columns the metrics do not name (``learning_rate``) are left out.
    """
    from neuralab._keras_compat import compiled_metrics, metric_direction

    directions: dict[str, Literal["up", "down"]] = {"loss": "down"}
    for metric in compiled_metrics(model):
        found = metric_direction(metric)
        if found == "up":
            directions[metric.name] = "up"
        elif found == "down" or "loss" in metric.name or "error" in metric.name:
            directions[metric.name] = "down"
    for column in columns:
        base = str(column).removeprefix("val_")
        if base.endswith("loss") and base not in directions:
            directions[base] = "down"
    return directions


def align_labels(model: keras.Model, y: np.ndarray) -> np.ndarray:
    """Give 1-D labels the model's ``(n, 1)`` output shape for a single-unit output.

    Keras's TensorFlow backend rejects ``target.shape=(n,)`` against ``output.shape=(n, 1)``
    in some losses and metrics (e.g. ``metrics.BinaryCrossentropy(from_logits=True)``) that
    JAX accepts; the same labels must work on every backend.
    """
    y = np.asarray(y)
    shape = getattr(model, "output_shape", None)
    if y.ndim == 1 and isinstance(shape, tuple) and len(shape) == 2 and shape[-1] == 1:
        return y.reshape(-1, 1)
    return y


def _make_recorder(on_epoch_end: EpochHook | None, rows: list[dict[str, float]]) -> Any:
    import keras

    class _Recorder(keras.callbacks.Callback):
        """Records every epoch's logs plus the learning rate, even if fit is interrupted."""

        logs_only = True  # reads nothing but the logs: the fused trainer may batch epochs
        reads_optimizer_step = False  # the fused trainer gives the rate in the logs

        def __init__(self) -> None:
            super().__init__()
            self.rows = rows

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            row = {k: float(v) for k, v in (logs or {}).items()}
            if "learning_rate" not in row:  # the fused trainer reports it itself
                row["learning_rate"] = current_learning_rate(self.model)
            self.rows.append(row)
            if on_epoch_end is not None:
                on_epoch_end(epoch + 1, row)

    return _Recorder()


def _lr_callback(schedule: EpochSchedule) -> Any:
    import keras

    def _rate(epoch: int, lr: float) -> float:
        value = schedule(epoch, float(lr))
        if not math.isfinite(value) or value <= 0:
            raise NeuralabError(
                f"`lr_schedule` {schedule.expression!r} gave {value!r} at epoch {epoch}; a "
                "learning rate must be a positive finite number."
            )
        return value

    return keras.callbacks.LearningRateScheduler(_rate)


def train(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    batch_size: int = 32,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    shuffle: bool = True,
    lr_schedule: str | EpochSchedule | None = None,
    callbacks: Sequence[Any] = (),
    on_epoch_end: EpochHook | None = None,
    trainer: str = "auto",
    seed: int = 0,
    checkpoint: CheckpointPolicy | None = None,
    resume: TrainingState | None = None,
) -> TrainingResult:
    """Train a compiled Keras model with ``model.fit`` and record everything per epoch.

    Works with any user-built ``keras.Model``. Ctrl-C stops training cleanly: the epochs
    completed so far are returned with ``interrupted=True`` and the model keeps its weights.

    Args:
        model: A compiled Keras model.
        x: Training features, ``(n_samples, ...)``.
        y: Training labels.
        epochs: Number of epochs (> 0).
        batch_size: Samples per step (> 0).
        validation_data: ``(x_val, y_val)`` evaluated after every epoch.
        shuffle: Shuffle the training data every epoch.
        lr_schedule: Per-epoch learning rate, e.g. ``"1e-4 * 10**(epoch/20)"``.
        callbacks: Extra Keras callbacks (EarlyStopping, TensorBoard, ...).
        on_epoch_end: ``hook(epoch, logs)`` called after each epoch (for progress bars).
        trainer: ``"auto"`` (the compiled whole-epoch trainer on JAX when the model and
            callbacks allow it, else ``model.fit``), ``"fused"`` (require it) or ``"fit"``.
        seed: Seed of the per-epoch shuffling (both trainers draw their own seeded orders,
            so a resumed run sees the same batches as one that never stopped).
        checkpoint: Save resumable state at epoch or chunk boundaries (see
            :class:`~neuralab.training.checkpoint.CheckpointPolicy`).
        resume: Continue from this saved state: the model (built and compiled as when it was
            saved) gets its variables back, callbacks their state, and training goes on from
            the epoch after the last saved one. The result equals an uninterrupted run's.

    Returns:
        A :class:`TrainingResult`.

    Raises:
        NeuralabError: the model is not compiled, or ``epochs``/``batch_size`` invalid.
    """
    import keras

    if not isinstance(epochs, int) or epochs <= 0:
        raise NeuralabError(f"`epochs` must be a positive integer. Received: epochs={epochs!r}.")
    if not isinstance(batch_size, int) or batch_size <= 0:
        raise NeuralabError(
            f"`batch_size` must be a positive integer. Received: batch_size={batch_size!r}."
        )
    if trainer not in TRAINERS:
        raise NeuralabError(one_of("trainer", trainer, TRAINERS))
    if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", True):
        raise NeuralabError(
            "The model is not compiled: call model.compile(loss=..., optimizer=...) first."
        )
    y = align_labels(model, y)
    if validation_data is not None:
        validation_data = (validation_data[0], align_labels(model, validation_data[1]))
    rows: list[dict[str, float]] = [dict(r) for r in resume.history] if resume else []
    initial_epoch = resume.epoch if resume else 0
    if resume is not None:
        restore_model(model, resume)
    recorder = _make_recorder(on_epoch_end, rows)
    all_callbacks: list[Any] = list(callbacks)
    if lr_schedule is not None:
        schedule = (
            lr_schedule if isinstance(lr_schedule, EpochSchedule) else EpochSchedule(lr_schedule)
        )
        all_callbacks.insert(0, _lr_callback(schedule))
    # First, so an epoch is recorded even if a later callback interrupts training.
    all_callbacks.insert(0, recorder)
    notes: list[str] = []
    used = "fit"
    if trainer != "fit":
        from neuralab.training.fused import can_fuse

        reason = can_fuse(
            model,
            callbacks=all_callbacks,
            x=x,
            y=y,
            validation_x=validation_data[0] if validation_data is not None else None,
        )
        if reason is None:
            used = "fused"
        elif trainer == "fused":
            raise NeuralabError(
                f"`trainer='fused'` cannot train this model: {reason}. Use trainer='auto' or 'fit'."
            )
        else:
            logger.info("fused trainer not used: %s; using model.fit", reason)
            notes.append(f"model.fit used: {reason}")
    rng = np.random.default_rng(seed)
    if resume is not None and resume.rng is not None and used == "fused":
        rng.bit_generator.state = resume.rng
    if checkpoint is not None:
        all_callbacks.append(
            make_checkpointer(
                checkpoint,
                callbacks=callbacks,
                rows=rows,
                epochs=epochs,
                rng=rng if used == "fused" else None,
                chunked=used == "fused",
                wall_before=resume.wall_time if resume else 0.0,
            )
        )
    if resume is not None:
        all_callbacks.append(_restorer(list(callbacks), resume))
    interrupted = False
    start = time.perf_counter()
    try:
        if resume is not None and (resume.finished or initial_epoch >= epochs):
            pass  # training had ended: the restored variables are the final ones
        elif used == "fused":
            from neuralab.training.fused import fused_fit

            fused_fit(
                model,
                x,
                y,
                epochs=epochs,
                batch_size=batch_size,
                validation_data=validation_data,
                shuffle=shuffle,
                seed=seed,
                callbacks=all_callbacks,
                initial_epoch=initial_epoch,
                rng=rng,
            )
        else:
            _fit(
                model,
                x,
                y,
                epochs=epochs,
                initial_epoch=initial_epoch,
                batch_size=batch_size,
                validation_data=validation_data,
                shuffle=shuffle,
                seed=seed,
                callbacks=all_callbacks,
            )
    except KeyboardInterrupt:
        interrupted = True
        logger.warning("training interrupted after %d epochs", len(recorder.rows))
    wall = time.perf_counter() - start + (resume.wall_time if resume else 0.0)
    history = pd.DataFrame(recorder.rows)
    history.index = pd.RangeIndex(1, len(history) + 1, name="epoch")
    monitor = "val_loss" if "val_loss" in history else "loss"
    best = None
    if len(history) and history[monitor].notna().any():
        best = int(history[monitor].idxmin())
    return TrainingResult(
        history=history,
        epochs_run=len(history),
        best_epoch=best,
        monitor=monitor,
        wall_time=wall,
        backend=keras.backend.backend(),
        trainer=used,
        interrupted=interrupted,
        notes=notes,
        resumed_from=initial_epoch if resume is not None else None,
    )


def _fit(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    initial_epoch: int,
    batch_size: int,
    validation_data: tuple[np.ndarray, np.ndarray] | None,
    shuffle: bool,
    seed: int,
    callbacks: list[Any],
) -> None:
    """``model.fit`` over neuralab's own seeded epoch orders (:func:`epoch_batches`).

    Keras's own shuffling draws from a random state that a new process cannot put back at
    epoch ``k``; these orders depend on ``(seed, epoch)`` only, so a resumed run trains on the
    same batches. Memory maps larger than ``STREAM_BYTES`` are read batch by batch, smaller
    ones once into memory.
    """
    stream = should_stream(x)
    if is_on_disk(x) and not stream:  # small enough: one read beats batch-by-batch reads
        x = np.asarray(x)
    batches = epoch_batches(
        x,
        y,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        initial_epoch=initial_epoch,
        epochs=epochs,
        sort_rows=stream,
    )
    val: Any = validation_data
    if val is not None and is_on_disk(val[0]) and should_stream(val[0]):
        val = array_batches(val[0], val[1], batch_size=max(batch_size, 64))
    elif val is not None and is_on_disk(val[0]):
        val = (np.asarray(val[0]), val[1])
    model.fit(
        batches,
        epochs=epochs,
        initial_epoch=initial_epoch,
        steps_per_epoch=math.ceil(len(x) / batch_size),
        validation_data=val,
        validation_batch_size=None if val is None or not isinstance(val, tuple) else batch_size,
        callbacks=callbacks,
        shuffle=False,  # the order is the batches' own; Keras would shuffle whole batches
        verbose=0,
    )


def _restorer(callbacks: list[Any], state: TrainingState) -> Any:
    """A callback (put last) giving the others their saved state after their reset."""
    import keras

    class _Restorer(keras.callbacks.Callback):
        logs_only = True
        reads_optimizer_step = False

        def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
            restore_callbacks(callbacks, state)

    return _Restorer()
