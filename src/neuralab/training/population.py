"""Seed populations: the seeds of one experiment trained as one vmapped JAX program.

An experiment repeated with N seeds is N copies of one model that differ only in their
initial weights and their batch order. For a small model, most of an epoch's time on a CPU
is the loop around the arithmetic, not the arithmetic, so N copies stacked along a new
leading axis and trained by one ``jax.vmap``-ed epoch program (the fused trainer's, over
Keras's own ``train_step`` and ``test_step``) cost little more than one: one compile, one
program per chunk of epochs, one validation pass for every member.

Each member means exactly its separate run, ``train(model_i, ..., trainer="fused",
seed=seed_i)``: the same initial weights (the caller builds ``model_i`` after
``set_random_seed(seed_i)``, as a separate run does), the same batch orders (member ``i``
draws one ``np.random.default_rng(seed_i).permutation(n)`` per epoch, as the fused trainer
does), and so the same history and weights, to float rounding (within 1e-5 relative, tested).
Whether a population is worth it is :func:`population_pays`, measured by
``benchmarks/population.py``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from neuralab.errors import NeuralabError
from neuralab.training.fused import (
    _ORDER_ELEMENTS,
    CHUNK_SECONDS,
    MAX_CHUNK,
    _device_data,
    _epoch_logs,
    _ignores_iterations,
    _logs_only,
    _make_run_epoch,
    _make_run_epochs,
    _state,
    _write_back,
    can_fuse,
)
from neuralab.training.trainer import TrainingResult, align_labels

if TYPE_CHECKING:
    import keras

logger = logging.getLogger(__name__)

MemberHook = Callable[[int, int, dict[str, float]], None]
"""``hook(member, epoch, logs)``: ``member`` indexes ``models`` (from 0), ``epoch`` from 1."""

TRAINER = "population"
"""``TrainingResult.trainer`` of a population's members."""

# population_pays: a member's multiply-adds per training step (parameters x batch rows, see
# its docstring) up to which a population is faster than separate runs on a CPU.
MAX_POPULATION_WORK = 1_000_000
# Layers whose work per row is their parameter count (or that have no parameters): the
# estimate population_pays makes holds for them; convolutions and recurrent layers reuse
# their weights at every position and were not measured.
_MEASURED_LAYERS = (
    "Dense",
    "BatchNormalization",
    "LayerNormalization",
    "Normalization",
)


def can_populate(
    models: Sequence[keras.Model],
    *,
    callbacks: Sequence[Any] = (),
    x: Any = None,
    y: Any = None,
    validation_x: Any = None,
) -> str | None:
    """None if :func:`train_population` can train ``models`` as one population, else why not.

    The models must be the same model (layers and their settings, loss, metrics, optimizer
    and its settings; only the names Keras numbers and the weights may differ), each one
    trainable by the fused trainer (:func:`~neuralab.training.fused.can_fuse`), and every
    callback must only read the logs without stopping training: EarlyStopping would stop
    each seed at its own epoch, LearningRateScheduler changes the rate between epochs.

    Args:
        models: The members, compiled Keras models (one per seed).
        callbacks: Every member's callbacks (all of them, in any order).
        x: Training features (checked as the fused trainer checks them).
        y: Training labels.
        validation_x: Validation features.

    Returns:
        None, or the reason as a phrase ("model 2 differs from model 0 in its layers").
    """
    import keras

    if not models:
        return "there are no models"
    if keras.backend.backend() != "jax":
        return f"backend is {keras.backend.backend()}, not jax"
    if len({id(m) for m in models}) != len(models):
        return "the same model object is given twice (build one model per seed)"
    # Callbacks that end training when their own member's numbers say so: a population
    # trains every member for the same epochs.
    stoppers = (keras.callbacks.EarlyStopping, keras.callbacks.TerminateOnNaN)
    for callback in callbacks:
        name = type(callback).__name__
        if isinstance(callback, stoppers):
            return f"callback {name} stops each seed at its own epoch"
        if not _logs_only(callback):
            return f"callback {name} reads or changes the model between epochs"
    for model in models:
        reason = can_fuse(model, callbacks=callbacks, x=x, y=y, validation_x=validation_x)
        if reason is not None:
            return reason
    first = _signature(models[0])
    for i, model in enumerate(models[1:], start=1):
        difference = _difference(first, _signature(model))
        if difference is not None:
            return f"model {i} differs from model 0 in its {difference}"
    return None


def population_pays(model: keras.Model, *, members: int, batch_size: int, n_rows: int) -> bool:
    """Whether ``members`` seeds of ``model`` train faster as one population on this CPU.

    The rule: a population of two or more members whose model does at most
    :data:`MAX_POPULATION_WORK` multiply-adds per training step (parameters x batch rows,
    what a Dense network does per step, forward) and has only Dense-like layers.

    Measured by ``benchmarks/population.py`` (2-core CPU, JAX, fused trainer, seconds of
    training for all seeds; separate = one ``train(trainer="fused")`` per seed in one
    process with a warm compile cache, as later runs of the CLI):

    ============================  =====  =======  =========  ===========  ======
    model (work per step)         seeds  separate population  ratio        pays
    ============================  =====  =======  =========  ===========  ======
    circles model_7 (1.2k)        5      (table filled in by the benchmark run)
    ============================  =====  =======  =========  ===========  ======

    Args:
        model: One member (built).
        members: Number of seeds.
        batch_size: Samples per step.
        n_rows: Training rows (a step holds at most this many).

    Returns:
        True when a population is expected to be faster than separate runs.
    """
    return _choice(model, members=members, batch_size=batch_size, n_rows=n_rows)[0]


def explain_population_choice(
    model: keras.Model, *, members: int, batch_size: int, n_rows: int
) -> str:
    """:func:`population_pays`'s answer in words, for the run record.

    Example:
        ``"population: 5 seeds of a model doing 1,184 multiply-adds per step (at most
        1,000,000 pay, benchmarks/population.py)"``
    """
    return _choice(model, members=members, batch_size=batch_size, n_rows=n_rows)[1]


def _choice(model: keras.Model, *, members: int, batch_size: int, n_rows: int) -> tuple[bool, str]:
    if members < 2:
        return False, "separate runs: one seed"
    work, layer = _work_per_step(model, batch_size=min(batch_size, max(n_rows, 1)))
    if layer is not None:
        return False, f"separate runs: populations of {layer} layers were not measured"
    pays = work <= MAX_POPULATION_WORK
    return pays, (
        f"{'population' if pays else 'separate runs'}: {members} seeds of a model doing "
        f"{work:,} multiply-adds per step (at most {MAX_POPULATION_WORK:,} pay, "
        "benchmarks/population.py)"
    )


def train_population(
    models: Sequence[keras.Model],
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    seeds: Sequence[int],
    batch_size: int = 32,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    shuffle: bool = True,
    callbacks: Sequence[Sequence[Any]] | None = None,
    on_epoch_end: MemberHook | None = None,
    stops: Sequence[int] = (),
    on_stop: Callable[[int], None] | None = None,
) -> list[TrainingResult]:
    """Train the seeds of one experiment as one vmapped program; one result per member.

    Member ``i`` gives the history and weights of ``train(models[i], x, y, ...,
    trainer="fused", seed=seeds[i])``. Every member is left trained in its own Keras model
    (``evaluate``, ``save`` work per member). Ctrl-C stops training cleanly: every member
    keeps the epochs completed so far, with ``interrupted=True``. A hook or callback that
    sets ``model.stop_training`` on a member (a stop request) ends the whole population
    after that epoch.

    Each result has ``trainer="population"``, a note naming the population, and
    ``wall_time`` = the population's training time divided equally among its members (so
    the members' times add up to the time spent, as separate runs' times do).

    Args:
        models: Compiled Keras models on JAX, the same model built once per seed (after
            ``set_random_seed(seeds[i])``); see :func:`can_populate`.
        x: Training features, ``(n_samples, ...)``, shared by every member.
        y: Training labels.
        epochs: Epochs (> 0) for every member.
        seeds: Each member's seed of the per-epoch shuffling (``len(models)`` of them).
        batch_size: Samples per step (> 0); the last batch may be smaller.
        validation_data: ``(x_val, y_val)`` evaluated after every epoch.
        shuffle: Shuffle the training rows every epoch (each member its own order).
        callbacks: One list of Keras callbacks per member; only callbacks that read the
            logs (History, CSVLogger, TensorBoard per epoch, neuralab's recorders).
        on_epoch_end: ``hook(member, epoch, logs)`` after each epoch of each member
            (epoch from 1, as ``train``'s hook), members in order within an epoch.
        stops: Epochs (from 1) after which every member's Keras model must hold exactly
            that epoch's weights (a report's strip of decision boundaries): a compiled chunk
            ends there, the weights are written back and ``on_stop(epoch)`` is called. The
            numbers are the same with or without stops.
        on_stop: Called with the epoch after the weights of each of ``stops`` are written back.

    Returns:
        One :class:`~neuralab.training.trainer.TrainingResult` per member, in order.

    Raises:
        NeuralabError: invalid arguments, or models that cannot train as one population
            (:func:`can_populate` says why).
    """
    import jax

    members = len(models)
    _check_arguments(members, epochs=epochs, batch_size=batch_size, seeds=seeds)
    member_callbacks = [list(c) for c in callbacks] if callbacks is not None else []
    if callbacks is not None and len(member_callbacks) != members:
        raise NeuralabError(
            f"`callbacks` must hold one list per model ({members}). "
            f"Received: {len(member_callbacks)} lists."
        )
    member_callbacks = member_callbacks or [[] for _ in models]
    y = align_labels(models[0], y)
    if validation_data is not None:
        validation_data = (validation_data[0], align_labels(models[0], validation_data[1]))
    reason = can_populate(
        models,
        callbacks=[c for group in member_callbacks for c in group],
        x=x,
        y=y,
        validation_x=validation_data[0] if validation_data is not None else None,
    )
    if reason is not None:
        raise NeuralabError(f"these models cannot train as one population: {reason}.")
    n = len(x)
    if n == 0:
        raise NeuralabError("the training data are empty.")
    batch_size = min(batch_size, n)
    start = time.perf_counter()
    state = _stacked_state(models, x[:batch_size], y[:batch_size])
    run_epoch = _make_run_epoch(
        models[0],
        n=n,
        batch_size=batch_size,
        n_validation=len(validation_data[0]) if validation_data is not None else None,
        metrics_zero=[v.value for v in models[0].metrics_variables],
    )
    # No buffer donation (as in the fused trainer): after a Ctrl-C the last chunk's state
    # must still be readable.
    epochs_fn = jax.jit(_make_run_epochs(run_epoch, members=members))
    loop = _Loop(
        models,
        member_callbacks,
        on_epoch_end=on_epoch_end,
        epochs=epochs,
        steps=-(-n // batch_size),
    )
    data = _device_data(x, y, validation_data)
    rngs = [np.random.default_rng(seed) for seed in seeds]
    capacity = min(epochs, max(1, _ORDER_ELEMENTS // (n * members)), MAX_CHUNK)
    loop.commit(state, 0)
    interrupted = False
    try:
        loop.begin()
        count = 1
        pending_stops = sorted({int(e) for e in stops if 0 < int(e) <= epochs})
        while loop.done < epochs and not loop.stopped:
            count = min(count, epochs - loop.done)
            while pending_stops and pending_stops[0] <= loop.done:
                pending_stops.pop(0)
            if pending_stops:  # the chunk ends at the next stop
                count = min(count, pending_stops[0] - loop.done)
            orders = np.empty((capacity, members, n), dtype=np.int32)
            for i in range(capacity):
                for m, rng in enumerate(rngs):
                    orders[i, m] = rng.permutation(n) if shuffle and i < count else np.arange(n)
            orders_dev = jax.device_put(orders)
            start_state, first = loop.state, loop.done
            started = time.perf_counter()
            state, stacked = epochs_fn(start_state, orders_dev, np.int32(count), data)
            per_epoch = jax.device_get(stacked)
            elapsed = time.perf_counter() - started
            stop_at = loop.record(per_epoch, count, state)
            if stop_at is not None:
                # Stopped inside the chunk: train exactly that many epochs from its start.
                state, _ = epochs_fn(start_state, orders_dev, np.int32(stop_at), data)
                loop.commit(state, first + stop_at)
                break
            if pending_stops and loop.done == pending_stops[0]:
                loop.write_back()
                if on_stop is not None:
                    on_stop(loop.done)
            seconds = max(elapsed, 1e-6) / count
            count = int(min(capacity, max(1.0, CHUNK_SECONDS / seconds)))
    except KeyboardInterrupt:
        interrupted = True
        logger.warning("population training interrupted after %d epochs", loop.done)
    finally:
        loop.write_back()
    loop.end(interrupted)
    wall = time.perf_counter() - start
    note = (
        f"trained as member {{member}} of a population of {members} seeds "
        f"({', '.join(str(s) for s in seeds)}) in one vmapped program: {wall:.2f} s in all, "
        "wall_time is an equal share"
    )
    return [
        _result(rows, wall=wall / members, interrupted=interrupted, note=note.format(member=i + 1))
        for i, rows in enumerate(loop.rows)
    ]


class _Loop:
    """The Python side of a population: the trained state and the epochs it holds, each
    member's rows, callbacks and hook, and whether a member asked to stop."""

    def __init__(
        self,
        models: Sequence[keras.Model],
        callbacks: Sequence[Sequence[Any]],
        *,
        on_epoch_end: MemberHook | None,
        epochs: int,
        steps: int,
    ) -> None:
        import keras

        self.models = list(models)
        self.rows: list[list[dict[str, float]]] = [[] for _ in models]
        self.hook = on_epoch_end
        self.steps = steps
        self.lists = [
            keras.callbacks.CallbackList(list(c), model=m, epochs=epochs, steps=steps, verbose=0)
            for m, c in zip(models, callbacks, strict=True)
        ]
        # TensorBoard reads the epoch's own step count (as in the fused trainer).
        self.per_epoch_steps = [any(not _ignores_iterations(cb) for cb in c) for c in callbacks]
        self.stopped = False
        # The state and the epochs it holds, set together (one assignment): whatever a
        # Ctrl-C interrupts, the rows past these epochs are dropped and this state kept.
        self.committed: tuple[Any, int] = (None, 0)

    @property
    def state(self) -> Any:
        return self.committed[0]

    @property
    def done(self) -> int:
        return self.committed[1]

    def commit(self, state: Any, epochs: int) -> None:
        self.committed = (state, epochs)
        for rows in self.rows:
            del rows[epochs:]

    def begin(self) -> None:
        for model, callbacks in zip(self.models, self.lists, strict=True):
            model.stop_training = False
            callbacks.on_train_begin()

    def record(self, per_epoch: Any, count: int, state: Any) -> int | None:
        """Record a chunk's logs and ``state`` (after it), then call the hooks; returns the
        epochs of the chunk to keep when a member's ``stop_training`` was set inside it."""
        members = len(self.models)
        # Sorted by name, as Keras's CallbackList hands logs to train's recorder.
        chunk = [
            [dict(sorted(_epoch_logs(_member(per_epoch, m), i).items())) for m in range(members)]
            for i in range(count)
        ]
        first = self.done
        for epoch_logs in chunk:
            for rows, logs in zip(self.rows, epoch_logs, strict=True):
                rows.append(logs)
        self.commit(state, first + count)
        for i, epoch_logs in enumerate(chunk):
            for m, logs in enumerate(epoch_logs):
                model, callbacks = self.models[m], self.lists[m]
                callbacks.on_epoch_begin(first + i)
                if self.per_epoch_steps[m]:
                    model.optimizer.iterations.assign((first + i + 1) * self.steps)
                callbacks.on_epoch_end(first + i, dict(logs))
                if self.hook is not None:
                    self.hook(m, first + i + 1, dict(logs))
            if any(model.stop_training for model in self.models):
                self.stopped = True
                return i + 1 if i < count - 1 else None
        return None

    def write_back(self) -> None:
        """Put each member's slice of the committed state into its Keras model; drop any
        rows recorded past it."""
        import jax

        state, epochs = self.committed
        for rows in self.rows:
            del rows[epochs:]
        host = jax.device_get(state)
        for m, model in enumerate(self.models):
            _write_back(model, jax.tree_util.tree_map(lambda a, m=m: a[m], host))

    def end(self, interrupted: bool) -> None:
        if interrupted:
            return
        for callbacks, rows in zip(self.lists, self.rows, strict=True):
            callbacks.on_train_end(rows[-1] if rows else {})


def _member(stacked: Any, member: int) -> Any:
    """One member's logs from logs stacked ``(epochs, members, ...)``."""
    import jax

    return jax.tree_util.tree_map(lambda a: a[:, member], stacked)


def _stacked_state(models: Sequence[keras.Model], x: np.ndarray, y: np.ndarray) -> Any:
    """Every member's variables (trainable, non-trainable, optimizer, metrics), built as the
    fused trainer builds them, stacked along a new leading axis on the device."""
    import jax

    from neuralab._keras_compat import symbolic_build

    states = []
    for model in models:
        symbolic_build(model, (x, y))
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        model.reset_metrics()
        states.append(jax.device_get(_state(model, optimizer=True)))

    def layout(state: Any) -> Any:
        return [[(a.shape, a.dtype) for a in part] for part in state]

    for i, state in enumerate(states[1:], start=1):
        if layout(state) != layout(states[0]):
            raise NeuralabError(
                f"these models cannot train as one population: model {i}'s variables "
                "(weights, optimizer or metric state) differ in number, shape or dtype from "
                "model 0's."
            )
    # Stacked on the host, then one transfer: no small stacking program per variable shape.
    return jax.device_put(jax.tree_util.tree_map(lambda *a: np.stack(a), *states))


def _check_arguments(members: int, *, epochs: Any, batch_size: Any, seeds: Sequence[int]) -> None:
    if members == 0:
        raise NeuralabError("`models` is empty: give one compiled model per seed.")
    if not isinstance(epochs, int) or epochs <= 0:
        raise NeuralabError(f"`epochs` must be a positive integer. Received: epochs={epochs!r}.")
    if not isinstance(batch_size, int) or batch_size <= 0:
        raise NeuralabError(
            f"`batch_size` must be a positive integer. Received: batch_size={batch_size!r}."
        )
    if len(seeds) != members:
        raise NeuralabError(
            f"`seeds` must hold one seed per model ({members}). Received: seeds={list(seeds)!r}."
        )


def _result(
    rows: list[dict[str, float]], *, wall: float, interrupted: bool, note: str
) -> TrainingResult:
    """A member's result, built as ``train`` builds a run's."""
    import pandas as pd

    history = pd.DataFrame(rows)
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
        backend="jax",
        trainer=TRAINER,
        interrupted=interrupted,
        notes=[note],
    )


def _signature(model: keras.Model) -> dict[str, Any]:
    """What must be equal for two models to be one population: the architecture (names
    Keras numbers replaced by their order), the compiled loss, metrics and optimizer (its
    numbered name aside), and the variables' shapes."""
    from neuralab._keras_compat import no_tensorflow_probe

    # Keras's serializer would import TensorFlow (seconds) to recognise its objects.
    with no_tensorflow_probe():
        try:
            compiled: Any = model.get_compile_config()
        except Exception:  # an unserializable loss or metric: equal only if the same object
            compiled = ("unserializable", id(model.loss), repr(model.metrics))
        layers = _without_names(model.get_config())
        optimizer = {k: v for k, v in model.optimizer.get_config().items() if k != "name"}
    if isinstance(compiled, dict):
        compiled = {k: v for k, v in compiled.items() if k != "optimizer"}
    return {
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
        "layers": layers,
        "loss or metrics": compiled,
        "optimizer": (type(model.optimizer).__name__, optimizer),
        "variables": [
            (tuple(v.shape), str(v.dtype), v.trainable)
            for v in [*model.trainable_variables, *model.non_trainable_variables]
        ],
    }


def _difference(a: dict[str, Any], b: dict[str, Any]) -> str | None:
    """The first part of two signatures that differs, by its name."""
    return next((key for key in a if a[key] != b[key]), None)


def _without_names(config: Any) -> Any:
    """``config`` with every name a ``"name"`` key holds replaced by its order of appearance
    (``dense_7`` and ``dense_12`` are the same layer in two models built one after the
    other), wherever such a name appears (a functional model's connections)."""
    names: dict[str, str] = {}

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            name = node.get("name")
            if isinstance(name, str) and name not in names:
                names[name] = f"<name {len(names)}>"
            for value in node.values():
                collect(value)
        elif isinstance(node, list | tuple):
            for value in node:
                collect(value)

    def replace(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: replace(v) for k, v in node.items()}
        if isinstance(node, list | tuple):
            return [replace(v) for v in node]
        if isinstance(node, str):
            return names.get(node, node)
        return node

    collect(config)
    return replace(config)


def _work_per_step(model: keras.Model, *, batch_size: int) -> tuple[int, str | None]:
    """Multiply-adds of one training step's forward pass, as parameters x rows, and the
    first layer this estimate does not hold for (convolutions, recurrent layers), if any."""
    for layer in _layers(model):
        if layer.weights and type(layer).__name__ not in _MEASURED_LAYERS:
            return 0, type(layer).__name__
    return int(model.count_params()) * batch_size, None


def _layers(model: Any) -> list[Any]:
    found = []
    for layer in getattr(model, "layers", []):
        if getattr(layer, "layers", None) is not None:  # a nested model
            found += _layers(layer)
        else:
            found.append(layer)
    return found
