"""Resumable training state: what a run needs to continue after a hard kill.

A checkpoint holds the model's variables (weights, and the seed generators' states that drive
dropout and augmentation), the optimizer's variables (its step count, so per-step schedules
continue, and its moments), the state of the callbacks that keep one (EarlyStopping,
ReduceLROnPlateau), the shuffling generator's state, the epochs done and the history so far.
It is one ``.npz`` file written atomically (temporary file, then rename) at epoch or chunk
boundaries, at most every ``every_seconds``. Resuming from it gives the same numbers as a run
that was never stopped: same batches, same dropout masks, same updates.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from neuralab.errors import RunError
from neuralab.fileio import atomic_write_bytes

if TYPE_CHECKING:
    import keras

logger = logging.getLogger(__name__)

#: Checkpoints are written at most this often (seconds) while a run trains.
CHECKPOINT_SECONDS = 2.0
# After a checkpoint that took t seconds to write, the next one waits at least this many t.
WRITE_SHARE_FACTOR = 19.0
_FORMAT = 1

# Attributes that make up a Keras callback's training state (reset by on_train_begin).
_CALLBACK_STATE: dict[str, tuple[str, ...]] = {
    "EarlyStopping": ("wait", "stopped_epoch", "best", "best_epoch"),
    "ReduceLROnPlateau": ("wait", "best", "cooldown_counter"),
}


@dataclass(repr=False)
class TrainingState:
    """Everything needed to continue training where it stopped.

    Attributes:
        epoch: Epochs completed.
        finished: True when training had ended (all epochs, or stopped early); resuming then
            trains nothing and only puts the final weights back.
        history: One logs dict per completed epoch.
        model_values: ``model.variables`` in order.
        optimizer_values: ``model.optimizer.variables`` in order.
        callbacks: Per callback (in the order given to the trainer), its state or None.
        callback_arrays: Per callback, arrays of its state (EarlyStopping's best weights).
        rng: The shuffling generator's ``bit_generator.state`` (fused trainer), or None.
        wall_time: Seconds of training before this checkpoint.
    """

    epoch: int
    finished: bool
    history: list[dict[str, float]]
    model_values: list[np.ndarray]
    optimizer_values: list[np.ndarray]
    callbacks: list[dict[str, Any] | None] = field(default_factory=list)
    callback_arrays: list[list[np.ndarray] | None] = field(default_factory=list)
    rng: dict[str, Any] | None = None
    wall_time: float = 0.0

    def __repr__(self) -> str:
        return (
            f"TrainingState(epoch={self.epoch}, finished={self.finished}, "
            f"variables={len(self.model_values)}+{len(self.optimizer_values)})"
        )


def _to_numpy(value: Any) -> np.ndarray:
    import keras

    return np.array(keras.ops.convert_to_numpy(value))


def capture_state(
    model: keras.Model,
    *,
    epoch: int,
    finished: bool,
    history: Sequence[dict[str, float]],
    callbacks: Sequence[Any] = (),
    rng: np.random.Generator | None = None,
    wall_time: float = 0.0,
) -> TrainingState:
    """The training state of ``model`` now (call at an epoch or chunk boundary)."""
    states: list[dict[str, Any] | None] = []
    arrays: list[list[np.ndarray] | None] = []
    for callback in callbacks:
        names = _CALLBACK_STATE.get(type(callback).__name__)
        if names is None:
            states.append(None)
            arrays.append(None)
            continue
        states.append({name: _plain(getattr(callback, name, None)) for name in names})
        best = getattr(callback, "best_weights", None)
        arrays.append([np.asarray(w) for w in best] if best is not None else None)
    return TrainingState(
        epoch=epoch,
        finished=finished,
        history=[dict(row) for row in history],
        model_values=[_to_numpy(v.value) for v in model.variables],
        optimizer_values=[_to_numpy(v.value) for v in model.optimizer.variables],
        callbacks=states,
        callback_arrays=arrays,
        rng=dict(rng.bit_generator.state) if rng is not None else None,
        wall_time=wall_time,
    )


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    return float(np.asarray(value))


def restore_model(model: keras.Model, state: TrainingState, *, where: str = "") -> None:
    """Put the checkpoint's variables into ``model`` (built and compiled as when it was saved).

    Raises:
        RunError: the model's variables do not match the checkpoint's (another model).
    """
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    for kind, variables, values in (
        ("model", model.variables, state.model_values),
        ("optimizer", model.optimizer.variables, state.optimizer_values),
    ):
        if len(variables) != len(values) or any(
            tuple(v.shape) != a.shape for v, a in zip(variables, values, strict=False)
        ):
            raise RunError(
                f"{where or 'checkpoint'}: its {kind} variables do not match this model's "
                f"({len(values)} saved, {len(variables)} here). The spec changed since the run "
                "was saved; start a new run instead of resuming."
            )
        for variable, value in zip(variables, values, strict=True):
            variable.assign(value)


def restore_callbacks(callbacks: Sequence[Any], state: TrainingState) -> None:
    """Put the callbacks' saved state back (after their ``on_train_begin`` reset it)."""
    for callback, saved, arrays in zip(
        callbacks, state.callbacks, state.callback_arrays, strict=False
    ):
        if saved is None:
            continue
        for name, value in saved.items():
            setattr(callback, name, value)
        if arrays is not None and hasattr(callback, "best_weights"):
            callback.best_weights = [np.array(a) for a in arrays]


def save_checkpoint(path: str | Path, state: TrainingState) -> Path:
    """Write ``state`` to ``path`` (``.npz``) atomically."""
    arrays: dict[str, np.ndarray] = {}
    for i, value in enumerate(state.model_values):
        arrays[f"model_{i}"] = value
    for i, value in enumerate(state.optimizer_values):
        arrays[f"optimizer_{i}"] = value
    for i, group in enumerate(state.callback_arrays):
        for j, value in enumerate(group or ()):
            arrays[f"callback_{i}_{j}"] = value
    meta = {
        "format": _FORMAT,
        "epoch": state.epoch,
        "finished": state.finished,
        "history": state.history,
        "n_model": len(state.model_values),
        "n_optimizer": len(state.optimizer_values),
        "callbacks": state.callbacks,
        "callback_arrays": [None if g is None else len(g) for g in state.callback_arrays],
        "rng": state.rng,
        "wall_time": state.wall_time,
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | Path) -> TrainingState | None:
    """The state saved at ``path``, or None if there is none.

    Raises:
        RunError: the file is not a checkpoint of this format.
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(bytes(data["meta"]).decode("utf-8"))
            if meta.get("format") != _FORMAT:
                raise RunError(
                    f"{path}: checkpoint format {meta.get('format')!r}; this neuralab reads "
                    f"format {_FORMAT}. Delete the file to start the run's training again."
                )
            model_values = [data[f"model_{i}"] for i in range(meta["n_model"])]
            optimizer_values = [data[f"optimizer_{i}"] for i in range(meta["n_optimizer"])]
            callback_arrays = [
                None if n is None else [data[f"callback_{i}_{j}"] for j in range(n)]
                for i, n in enumerate(meta["callback_arrays"])
            ]
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
        raise RunError(
            f"{path}: unreadable checkpoint ({exc}). Delete it to start the run's training again."
        ) from exc
    return TrainingState(
        epoch=int(meta["epoch"]),
        finished=bool(meta["finished"]),
        history=[{k: float(v) for k, v in row.items()} for row in meta["history"]],
        model_values=model_values,
        optimizer_values=optimizer_values,
        callbacks=meta["callbacks"],
        callback_arrays=callback_arrays,
        rng=meta["rng"],
        wall_time=float(meta.get("wall_time", 0.0)),
    )


@dataclass(repr=False)
class CheckpointPolicy:
    """Where and how often :func:`neuralab.training.train` saves resumable state.

    Attributes:
        path: The checkpoint file.
        every_seconds: Minimum seconds between two checkpoints (0: every epoch or chunk).
        interrupted: Tells whether the user asked training to stop; such a stop is not the
            end of training, so the last checkpoint is not marked finished.
    """

    path: Path
    every_seconds: float = CHECKPOINT_SECONDS
    interrupted: Callable[[], bool] = lambda: False


def make_checkpointer(
    policy: CheckpointPolicy,
    *,
    callbacks: Sequence[Any],
    rows: list[dict[str, float]],
    epochs: int,
    rng: np.random.Generator | None,
    chunked: bool,
    wall_before: float = 0.0,
) -> Any:
    """A Keras callback (put last) that saves :class:`TrainingState` at safe points.

    With ``chunked`` (the fused trainer), the model holds the trained weights only at the end
    of a chunk of epochs: the trainer calls ``on_chunk_end(epochs_done)`` there, and
    ``on_epoch_end`` saves nothing.
    """
    import keras

    class _Checkpointer(keras.callbacks.Callback):
        logs_only = True  # saves at chunk ends, when the fused trainer says so
        reads_optimizer_step = False

        def __init__(self) -> None:
            super().__init__()
            self.started = time.perf_counter()
            self.next_due = self.started + policy.every_seconds
            self.epoch = 0

        def _save(self, epochs_done: int, *, finished: bool, force: bool = False) -> None:
            now = time.perf_counter()
            if not force and now < self.next_due:
                return
            state = capture_state(
                self.model,
                epoch=epochs_done,
                finished=finished,
                history=rows[:epochs_done],
                callbacks=callbacks,
                rng=rng,
                wall_time=wall_before + now - self.started,
            )
            save_checkpoint(policy.path, state)
            done = time.perf_counter()
            # At most every `every_seconds`, and writing never takes more than about 5% of
            # the time (a large model's state is hundreds of MB).
            wait = max(policy.every_seconds, WRITE_SHARE_FACTOR * (done - now))
            self.next_due = done + (wait if policy.every_seconds > 0 else 0.0)

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self.epoch = epoch + 1
            if not chunked:
                self._save(epoch + 1, finished=False)

        def on_chunk_end(self, epochs_done: int) -> None:
            self.epoch = epochs_done
            self._save(epochs_done, finished=False)

        def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
            if policy.interrupted():
                # Ctrl-C: the model holds the last epoch's weights; save them to resume from.
                self._save(self.epoch, finished=False, force=True)
                return
            # Training ended (all epochs, or stopped early with the best weights restored):
            # saved when a checkpoint is due, as during training. A kill before the run is
            # complete then retrains at most what a checkpoint would have cost to write (a
            # large model's state is hundreds of MB: seconds to write, at every run's end).
            self._save(self.epoch, finished=True)

    del epochs  # the callback learns the epochs done from the hooks
    return _Checkpointer()
