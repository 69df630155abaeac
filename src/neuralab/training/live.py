"""Watching a model while it trains: a Keras callback that reports typed events.

:class:`LiveCallback` sends :mod:`neuralab.record.events` to a sink (the run's
``events.jsonl``, the live page) at epoch boundaries: every epoch's logs and, a few times a
second, the decision boundary of 2-feature data (evaluated on a fixed grid in one compiled
call: :class:`GridPredictor`) or the predicted classes of the first images.

On the fused trainer it reads only the logs at each epoch and the model at the end of each
compiled chunk (``on_chunk_end``), so chunks of several epochs stay possible; it asks for
chunks of ``chunk_seconds`` (short enough for 4 updates a second). Epochs that must be seen
exactly (the report's strip, a Step on the play page) end their chunk there: the fused
trainer then runs exactly up to that epoch and goes on from it, with the same numbers.

A :class:`TrainingGate` lets another thread pause, step (one epoch) or stop training at
those boundaries.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from neuralab.data.dataset import Dataset
from neuralab.record.events import (
    GRID_SIZE,
    MAX_POINTS,
    N_SAMPLES,
    BeginEvent,
    BoundaryEvent,
    EndEvent,
    EpochEvent,
    Points,
    PredictionsEvent,
    Thumbnail,
    encode_grid,
)
from neuralab.record.models import FindingRecord

if TYPE_CHECKING:
    import keras

EventSink = Callable[[list[Any]], None]

#: Seconds of training per compiled chunk while watched (4+ updates a second).
LIVE_CHUNK_SECONDS = 0.1
#: At most one boundary or predictions update per this many seconds (watched; unwatched).
UPDATE_SECONDS = 0.1
QUIET_UPDATE_SECONDS = 5.0
#: Frames drawn by eager calls before the grid's program is compiled.
EAGER_FRAMES = 3


# ----------------------------------------------------------------------------- the grid


def grid_extent(x: np.ndarray, *, margin: float = 0.1) -> tuple[float, float, float, float]:
    """``(x_min, x_max, y_min, y_max)``: the points' extent plus ``margin`` of its span."""
    x = np.asarray(x, dtype=np.float64)
    lo, hi = x.min(axis=0), x.max(axis=0)
    span = np.maximum(hi - lo, 1e-6)
    lo, hi = lo - margin * span, hi + margin * span
    return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])


def grid_points(extent: Sequence[float], size: int = GRID_SIZE) -> np.ndarray:
    """Cell centres of a ``size x size`` grid, row by row from ``y_min``: ``(size**2, 2)``."""
    x_min, x_max, y_min, y_max = extent
    xs = x_min + (np.arange(size) + 0.5) * (x_max - x_min) / size
    ys = y_min + (np.arange(size) + 0.5) * (y_max - y_min) / size
    xx, yy = np.meshgrid(xs, ys)
    return np.c_[xx.ravel(), yy.ravel()].astype(np.float32)


class GridPredictor:
    """Class ids and their probabilities for fixed inputs, from a model's current weights, in
    one call: compiled once (JAX: ``jax.jit`` over ``model.stateless_call``) for frequent
    updates, or one eager call of the model for a few; never ``model.predict`` per frame.

    Args:
        model: A built Keras model with ``(n, 1)`` (sigmoid) or ``(n, k)`` outputs.
        inputs: The inputs, e.g. :func:`grid_points`.
        from_logits: The outputs are logits (the loss says so).
    """

    def __init__(self, model: keras.Model, inputs: np.ndarray, *, from_logits: bool = False):
        self.model = model
        self.inputs = np.asarray(inputs, dtype=np.float32)
        self.from_logits = from_logits
        self._jitted: Any = None

    def _classify_jax(self, trainable: Any, non_trainable: Any, x: Any) -> tuple[Any, Any]:
        import jax.numpy as jnp

        outputs, _ = self.model.stateless_call(trainable, non_trainable, x, training=False)
        return _classes(jnp, outputs, from_logits=self.from_logits)

    def __call__(self, *, compiled: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """``(classes, confidence)`` for each input row.

        Args:
            compiled: Use (and compile, the first time) the jitted program on JAX; else one
                eager call (no compiling: cheaper for a handful of frames).
        """
        import keras

        if compiled and keras.backend.backend() == "jax":
            if self._jitted is None:
                import jax

                self._inputs_dev = jax.device_put(self.inputs)
                self._jitted = jax.jit(self._classify_jax)
            trainable = [v.value for v in self.model.trainable_variables]
            non_trainable = [v.value for v in self.model.non_trainable_variables]
            classes, confidence = self._jitted(trainable, non_trainable, self._inputs_dev)
            return np.asarray(classes), np.asarray(confidence)
        outputs = keras.ops.convert_to_numpy(self.model(self.inputs, training=False))
        classes, confidence = _classes(np, outputs, from_logits=self.from_logits)
        return np.asarray(classes), np.asarray(confidence)


def _classes(xp: Any, outputs: Any, *, from_logits: bool) -> tuple[Any, Any]:
    """Class ids and the probability of each (one sigmoid unit or ``k`` softmax units)."""
    outputs = xp.asarray(outputs, dtype=xp.float32).reshape((outputs.shape[0], -1))
    if outputs.shape[1] == 1:
        p = outputs[:, 0]
        if from_logits:
            p = 1.0 / (1.0 + xp.exp(-p))
        ids = (p >= 0.5).astype(xp.int32)
        return ids, xp.where(ids == 1, p, 1.0 - p)
    if from_logits:
        shifted = outputs - outputs.max(axis=1, keepdims=True)
        e = xp.exp(shifted)
        outputs = e / e.sum(axis=1, keepdims=True)
    return outputs.argmax(axis=1).astype(xp.int32), outputs.max(axis=1)


# ----------------------------------------------------------------------------- the gate


class TrainingGate:
    """Pause, step and stop, asked from another thread, obeyed at epoch boundaries.

    ``allowed`` is None while training runs freely, else how many more epochs may run before
    training waits (0: paused).
    """

    def __init__(self, *, paused: bool = False) -> None:
        self._cond = threading.Condition()
        self.allowed: int | None = 0 if paused else None
        self.stopped = False

    def pause(self) -> None:
        with self._cond:
            self.allowed = 0
            self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            self.allowed = None
            self._cond.notify_all()

    def step(self, epochs: int = 1) -> None:
        """Run ``epochs`` more epochs, then pause."""
        with self._cond:
            self.allowed = epochs
            self._cond.notify_all()

    def stop(self) -> None:
        """End training at the next boundary (a waiting trainer wakes up)."""
        with self._cond:
            self.stopped = True
            self._cond.notify_all()

    @property
    def paused(self) -> bool:
        return self.allowed == 0 and not self.stopped

    def epoch_done(self) -> bool:
        """Count one epoch; True when it was the last one allowed (training must pause
        exactly after it)."""
        with self._cond:
            if self.allowed is None or self.allowed == 0:
                return False
            self.allowed -= 1
            return self.allowed == 0

    def wait(self, on_pause: Callable[[], None] | None = None, timeout: float = 0.1) -> None:
        """Block while paused (``on_pause`` is called once, when the wait begins)."""
        with self._cond:
            if self.paused and on_pause is not None:
                on_pause()
            while self.paused:
                self._cond.wait(timeout)


# ----------------------------------------------------------------------------- begin


def _points(parts: Iterable[tuple[str, Dataset]]) -> tuple[Points, ...]:
    out = []
    for split, part in parts:
        x, y = np.asarray(part.x), part.class_ids()
        if len(x) > MAX_POINTS:  # an even sample keeps the picture and the payload small
            index = np.linspace(0, len(x) - 1, MAX_POINTS).astype(np.int64)
            x, y = x[index], y[index]
        rounded = np.round(x.astype(np.float64), 5)
        out.append(
            Points(
                split=split,
                x=tuple((float(a), float(b)) for a, b in rounded),
                y=tuple(int(v) for v in y),
            )
        )
    return tuple(out)


def is_image(sample_shape: Sequence[int]) -> bool:
    return len(sample_shape) == 2 or (len(sample_shape) == 3 and sample_shape[-1] in (1, 3, 4))


def _thumbnail(image: np.ndarray, size: int = 64) -> str:
    import base64

    from PIL import Image

    a = np.asarray(image, dtype=np.float64)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim == 3 and a.shape[-1] == 4:
        a = a[..., :3]
    lo, hi = float(a.min()), float(a.max())
    scale = 255.0 if hi > 1.5 else 1.0
    a = np.clip(a / scale if lo >= 0 else (a - lo) / max(hi - lo, 1e-9), 0, 1)
    picture = Image.fromarray(np.rint(a * 255).astype(np.uint8))
    picture.thumbnail((size, size))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def begin_event(
    *,
    name: str,
    epochs: int,
    parts: Sequence[tuple[str, Dataset]],
    group: str = "",
    seed: int | None = None,
    findings: Iterable[Any] = (),
    initial_epoch: int = 0,
) -> BeginEvent:
    """The ``begin`` event of a run on ``parts`` (``(split, data)``, training first): the
    points of 2-feature data, or thumbnails of the first images of the last split."""
    train = parts[0][1]
    shape = train.sample_shape
    points: tuple[Points, ...] = ()
    samples: tuple[Thumbnail, ...] = ()
    samples_split = ""
    if train.plane:
        points = _points(parts)
    elif is_image(shape):
        samples_split, shown = parts[-1]
        ids = shown.class_ids()
        samples = tuple(
            Thumbnail(png=_thumbnail(shown.x[i]), label=int(ids[i]))
            for i in range(min(N_SAMPLES, shown.n_samples))
        )
    return BeginEvent(
        name=name,
        group=group or name,
        seed=seed,
        epochs=epochs,
        initial_epoch=initial_epoch,
        n_features=int(np.prod(shape)) if shape else None,
        class_names=tuple(str(c) for c in train.class_names),
        findings=tuple(
            FindingRecord(severity=f.severity, code=f.code, message=f.message) for f in findings
        ),
        points=points,
        samples=samples,
        samples_split=samples_split,
        splits={split: part.n_samples for split, part in parts},
    )


# ----------------------------------------------------------------------------- the callback


def make_live_callback(
    sink: EventSink,
    *,
    begin: BeginEvent,
    parts: Sequence[tuple[str, Dataset]],
    from_logits: bool = False,
    gate: TrainingGate | None = None,
    exact_epochs: Iterable[int] = (),
    chunk_seconds: float | None = LIVE_CHUNK_SECONDS,
    update_seconds: float = UPDATE_SECONDS,
    compile_frames: bool = True,
    on_update: Callable[[int], None] | None = None,
) -> Any:
    """A Keras callback sending :mod:`neuralab.record.events` to ``sink`` while a model trains.

    Args:
        sink: Called with a list of events at each update (from the training thread).
        begin: The run's ``begin`` event (:func:`begin_event`), sent when training starts.
        parts: ``(split, data)`` pairs: the grid covers their points (2 features); the first
            images of the last one are predicted (image data).
        from_logits: The model outputs logits.
        gate: Pause, step and stop from another thread.
        exact_epochs: 1-based epochs whose boundary must be drawn with exactly that epoch's
            weights (a report's strip).
        chunk_seconds: Seconds per compiled chunk the fused trainer should aim for (None: its
            own default).
        update_seconds: At most one boundary/predictions update per this many seconds.
        compile_frames: Compile the grid's program after a few frames (frequent updates);
            else every frame is one eager call (a handful of frames: no compiling).
        on_update: Called with the epochs done after each update (e.g. a test's counter).
    """
    import keras

    train = parts[0][1]
    shape = train.sample_shape
    exact = frozenset(int(e) for e in exact_epochs)

    class _LiveCallback(keras.callbacks.Callback):
        # The fused trainer may run several epochs per program: the epoch hooks read only the
        # logs, the model is read in on_chunk_end.
        logs_only = True
        reads_optimizer_step = False

        def __init__(self) -> None:
            super().__init__()
            self.chunk_seconds = chunk_seconds
            self.pending: list[Any] = []
            self.start = time.perf_counter()
            self.last_update = -1e9
            self.last_frame_epoch = -1
            self.epochs_done = begin.initial_epoch
            self.chunked: bool | None = None  # None until the trainer shows which it is
            self.waiting_epoch: int | None = None
            self.we_stopped = False
            self.predictor: Any = None
            self.frames = 0
            self.samples: np.ndarray | None = None

        # ----------------------------------------------------------------- helpers
        def _t(self) -> float:
            return round(time.perf_counter() - self.start, 4)

        def _flush(self) -> None:
            if self.pending:
                events, self.pending = self.pending, []
                sink(events)

        def _predictor(self) -> Any:
            if self.predictor is None:
                if train.plane:
                    x_all = np.concatenate([np.asarray(p.x) for _, p in parts])
                    self.extent = grid_extent(x_all)
                    self.predictor = GridPredictor(
                        self.model, grid_points(self.extent), from_logits=from_logits
                    )
                elif is_image(shape) and begin.samples:
                    shown = parts[-1][1]
                    self.predictor = GridPredictor(
                        self.model,
                        np.asarray(shown.x[: len(begin.samples)]),
                        from_logits=from_logits,
                    )
            return self.predictor

        def _frame(self, epoch: int) -> None:
            predictor = self._predictor()
            if predictor is None or epoch == self.last_frame_epoch:
                return
            # A few frames (and the exact epochs, the same with or without a page watching)
            # are eager calls; frequent ones are worth compiling the grid's program.
            self.frames += 1
            compiled = compile_frames and epoch not in exact and self.frames > EAGER_FRAMES
            classes, confidence = predictor(compiled=compiled)
            if train.plane:
                size = round(len(classes) ** 0.5)
                self.pending.append(
                    BoundaryEvent(
                        t=self._t(),
                        epoch=epoch,
                        grid=encode_grid(
                            classes.reshape(size, size),
                            confidence.reshape(size, size),
                            self.extent,
                        ),
                    )
                )
            else:
                self.pending.append(
                    PredictionsEvent(
                        t=self._t(),
                        epoch=epoch,
                        predicted=tuple(int(c) for c in classes),
                        confidence=tuple(round(float(p), 4) for p in confidence),
                    )
                )
            self.last_frame_epoch = epoch

        def _show(self, epoch: int) -> None:
            self._frame(epoch)
            self._flush()

        def _boundary(self, epochs_done: int) -> None:
            """The model holds the weights of ``epochs_done`` epochs: update, then wait while
            paused."""
            self.epochs_done = epochs_done
            now = time.perf_counter()
            forced = epochs_done in exact or (gate is not None and gate.paused)
            if forced or now - self.last_update >= update_seconds:
                self._frame(epochs_done)
                self.last_update = now
            self._flush()
            if on_update is not None:
                on_update(epochs_done)
            if gate is not None:
                if not gate.stopped:
                    gate.wait(on_pause=lambda: self._show(epochs_done))
                if gate.stopped:
                    self.model.stop_training = True

        # ----------------------------------------------------------------- hooks
        def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
            self.start = time.perf_counter()
            self.pending.append(begin.model_copy(update={"t": 0.0}))
            self._flush()

        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            if self.waiting_epoch is not None and self.chunked is None:
                # No chunk ended after the last epoch: model.fit, one epoch at a time (the
                # model still holds that epoch's weights).
                self.chunked = False
                done, self.waiting_epoch = self.waiting_epoch, None
                self._boundary(done)

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            done = epoch + 1
            row = {k: float(v) for k, v in (logs or {}).items()}
            self.pending.append(EpochEvent(t=self._t(), epoch=done, logs=row))
            if gate is not None and gate.stopped:
                self.model.stop_training = True
                return
            pause_here = gate is not None and gate.epoch_done()
            if self.chunked is False:
                self._boundary(done)
                return
            if self.chunked and (pause_here or done in exact) and not self.model.stop_training:
                # End the chunk exactly here; on_chunk_end lets training go on.
                self.model.stop_training = True
                self.we_stopped = True
            if self.chunked is None:
                self.waiting_epoch = done

        def on_chunk_end(self, epochs_done: int) -> None:
            self.chunked = True
            self.waiting_epoch = None
            if self.we_stopped:
                self.model.stop_training = False
                self.we_stopped = False
            self._boundary(epochs_done)

        def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
            if self.waiting_epoch is not None:  # model.fit's last (or only) epoch
                self.epochs_done, self.waiting_epoch = self.waiting_epoch, None
            self._frame(self.epochs_done)
            self.pending.append(
                EndEvent(
                    t=self._t(),
                    epochs_run=self.epochs_done,
                    interrupted=bool(gate is not None and gate.stopped),
                )
            )
            self._flush()

    return _LiveCallback()
