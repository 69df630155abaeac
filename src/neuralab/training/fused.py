"""A whole-epoch compiled trainer for the JAX backend.

``model.fit`` runs one jitted step per batch and returns to Python between steps; for the
small models of the labs, that per-step overhead, not arithmetic, is most of the time.
Here one epoch (every training step via ``jax.lax.scan``, the last partial batch, and the
validation pass) is one XLA program built from Keras's own stateless ``train_step`` and
``test_step``, over the user's real model, optimizer, loss, metrics and regularizers.

Meaning is the same as ``model.fit``: per-epoch logs are the running averages Keras reports
(``loss``, compiled metrics, ``val_*``), callbacks run at epoch boundaries with the trained
weights in the model (EarlyStopping with ``restore_best_weights``, LearningRateScheduler,
TensorBoard with ``update_freq="epoch"``, user callbacks), and the model is left trained.
The batch order comes from a seeded per-epoch permutation (not Keras's own shuffle).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from neuralab._keras_compat import (
    current_learning_rate_tensor,
    jax_trainer_class,
    stateless_scope,
    symbolic_build,
)
from neuralab.errors import NeuralabError

if TYPE_CHECKING:
    import keras

logger = logging.getLogger(__name__)

# Epochs per program at most, and at most this many shuffled row indices held for a chunk.
MAX_CHUNK = 100
_ORDER_ELEMENTS = 4_000_000
# A chunk of epochs is sized to take about this long (progress, Ctrl-C, history.csv).
CHUNK_SECONDS = 1.0

_BATCH_HOOKS = (
    "on_batch_begin",
    "on_batch_end",
    "on_train_batch_begin",
    "on_train_batch_end",
)


def _overrides(obj: Any, base: type, names: Sequence[str]) -> list[str]:
    return [n for n in names if getattr(type(obj), n, None) is not getattr(base, n, None)]


def can_fuse(
    model: keras.Model,
    *,
    callbacks: Sequence[Any] = (),
    x: Any = None,
    y: Any = None,
    validation_x: Any = None,
) -> str | None:
    """None if :func:`fused_fit` can train ``model``, else the reason it cannot."""
    import keras

    if keras.backend.backend() != "jax":
        # Checked before importing Keras's JAX trainer: that import loads JAX (about half a
        # second), which a TensorFlow or PyTorch run never needs.
        return f"backend is {keras.backend.backend()}, not jax"
    jax_trainer = jax_trainer_class()

    if getattr(model, "optimizer", None) is None:
        return "the model is not compiled"
    for method in ("train_step", "test_step", "compute_loss"):
        base = jax_trainer if method != "compute_loss" else keras.Model
        if getattr(type(model), method, None) is not getattr(base, method, None):
            return f"the model overrides {method}"
    if getattr(model, "steps_per_execution", 1) != 1:
        return "steps_per_execution is not 1"
    for callback in callbacks:
        hooks = _overrides(callback, keras.callbacks.Callback, _BATCH_HOOKS)
        if not hooks:
            continue
        if isinstance(callback, keras.callbacks.TensorBoard) and _tensorboard_epoch_only(callback):
            continue
        return f"callback {type(callback).__name__} uses batch-level hooks ({', '.join(hooks)})"
    for name, value in (("x", x), ("y", y)):
        if value is not None and not isinstance(value, np.ndarray):
            return f"{name} is a {type(value).__name__}, not a NumPy array"
    from neuralab.training.streaming import should_stream

    for name, value in (("x", x), ("validation x", validation_x)):
        if value is not None and should_stream(value):
            # The fused program holds its data on the device: a cache larger than memory is
            # streamed from disk batch by batch instead.
            return (
                f"{name} is a memory map of {value.nbytes / 2**30:.1f} GiB, streamed from disk "
                "batch by batch"
            )
    return None


def _tensorboard_epoch_only(callback: Any) -> bool:
    return getattr(callback, "update_freq", "epoch") == "epoch" and not getattr(
        callback, "_profile_batch", 0
    )


def _state(model: keras.Model, *, optimizer: bool) -> tuple[Any, ...]:
    parts = [
        [v.value for v in model.trainable_variables],
        [v.value for v in model.non_trainable_variables],
    ]
    if optimizer:
        parts.append([v.value for v in model.optimizer.variables])
    parts.append([v.value for v in model.metrics_variables])
    return tuple(parts)


def _write_back(model: keras.Model, state: tuple[Any, ...]) -> None:
    trainable, non_trainable, optimizer_vars, metrics_vars = state
    for variable, value in zip(model.trainable_variables, trainable, strict=True):
        variable.assign(value)
    for variable, value in zip(model.non_trainable_variables, non_trainable, strict=True):
        variable.assign(value)
    for variable, value in zip(model.optimizer.variables, optimizer_vars, strict=True):
        variable.assign(value)
    for variable, value in zip(model.metrics_variables, metrics_vars, strict=True):
        variable.assign(value)


def fused_fit(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    batch_size: int = 32,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    shuffle: bool = True,
    seed: int = 0,
    callbacks: Sequence[Any] = (),
    initial_epoch: int = 0,
    rng: np.random.Generator | None = None,
) -> list[dict[str, float]]:
    """Train with one compiled program per epoch; returns one logs dict per epoch.

    Args:
        model: A compiled Keras model on the JAX backend.
        x: Training features (NumPy).
        y: Training labels (NumPy).
        epochs: Epochs to run (fewer if a callback sets ``model.stop_training``).
        batch_size: Samples per step; the last batch may be smaller, as in ``fit``.
        validation_data: ``(x_val, y_val)`` evaluated after every epoch (batched like
            ``fit``: ``batch_size`` samples per step).
        shuffle: Shuffle the training rows every epoch (seeded by ``seed`` and the epoch).
        seed: Seed of the shuffling.
        callbacks: Keras callbacks; their epoch-level hooks are called, and
            ``on_chunk_end(epochs_done)`` of those that have one after each compiled program
            (the model then holds the weights of ``epochs_done`` epochs).
        initial_epoch: Epochs already done (resuming: the model and ``rng`` hold their state).
        rng: The shuffling generator (default: seeded by ``seed``); it draws one permutation
            per epoch, so its state at a chunk's end belongs to the epochs done.

    Returns:
        Per-epoch logs with the keys ``model.fit``'s History has.

    Raises:
        NeuralabError: the model cannot be trained this way (:func:`can_fuse` says why).
    """
    import jax
    import keras

    reason = can_fuse(model, callbacks=callbacks, x=x, y=y)
    if reason is not None:
        raise NeuralabError(f"the fused trainer cannot train this model: {reason}.")
    n = len(x)
    if n == 0:
        raise NeuralabError("the training data are empty.")
    batch_size = min(batch_size, n)
    n_full, remainder = divmod(n, batch_size)
    data = _device_data(x, y, validation_data)
    symbolic_build(model, (x[:batch_size], y[:batch_size]))
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    model.reset_metrics()
    run_epoch = _make_run_epoch(
        model,
        n=n,
        batch_size=batch_size,
        n_validation=len(validation_data[0]) if validation_data is not None else None,
        metrics_zero=[v.value for v in model.metrics_variables],
    )
    # No buffer donation: a Ctrl-C landing between the call and the write-back must not leave
    # the Keras variables pointing at donated (deleted) buffers.
    epochs_fn = jax.jit(_make_run_epochs(run_epoch))
    # History last: it records the logs as the other callbacks left them (e.g. the rate
    # LearningRateScheduler adds), exactly as model.fit's History does.
    recorder = keras.callbacks.History()
    steps = n_full + (1 if remainder else 0)
    callback_list = keras.callbacks.CallbackList(
        [*callbacks, recorder], model=model, epochs=epochs, steps=steps, verbose=0
    )
    # Several epochs per program when every callback only reads the logs; else one, with the
    # trained weights in the model (and any change a callback makes read back) every epoch.
    chunked = all(_logs_only(c) for c in callbacks)
    # Within a chunk, the optimizer's step count is set epoch by epoch only for callbacks that
    # read it (TensorBoard: the rate and steps/s); an assignment costs about 1 ms, more than a
    # small model's epoch. The write-back leaves the chunk's last count in any case.
    per_epoch_steps = chunked and any(not _ignores_iterations(c) for c in callbacks)
    capacity = min(epochs, max(1, _ORDER_ELEMENTS // n), MAX_CHUNK) if chunked else 1
    rng = rng if rng is not None else np.random.default_rng(seed)
    chunk_ends = [hook for c in callbacks if (hook := getattr(c, "on_chunk_end", None))]
    # A callback may ask for shorter chunks (the live page: several updates a second).
    chunk_seconds = min([CHUNK_SECONDS, *(c.chunk_seconds for c in callbacks if _asks_chunk(c))])
    model.stop_training = False
    callback_list.on_train_begin()
    logs: dict[str, float] = {}
    epoch, count = initial_epoch, 1
    state = _state(model, optimizer=True)
    iterations = model.optimizer.iterations
    while epoch < epochs and not model.stop_training:
        count = min(count, epochs - epoch)
        if not chunked:
            callback_list.on_epoch_begin(epoch)
            state = _state(model, optimizer=True)  # a callback may have changed the rate
        rng_start = rng.bit_generator.state
        orders = np.empty((capacity, n), dtype=np.int32)
        for i in range(capacity):
            orders[i] = rng.permutation(n) if shuffle and i < count else np.arange(n)
        orders_dev = jax.device_put(orders)
        start_state, start_iteration = state, int(iterations.value)
        started = time.perf_counter()
        state, stacked = epochs_fn(state, orders_dev, np.int32(count), data)
        per_epoch = jax.device_get(stacked)
        elapsed = time.perf_counter() - started
        _write_back(model, state)
        for i in range(count):
            logs = _epoch_logs(per_epoch, i)
            if chunked:
                callback_list.on_epoch_begin(epoch + i)
                if per_epoch_steps:  # TensorBoard reads the epoch's own rate and step
                    iterations.assign(start_iteration + (i + 1) * steps)
            callback_list.on_epoch_end(epoch + i, logs)
            if model.stop_training and i < count - 1:
                # Stopped inside the chunk: train exactly i + 1 epochs from its start instead.
                state, _ = epochs_fn(start_state, orders_dev, np.int32(i + 1), data)
                _write_back(model, state)
                count = i + 1
                if shuffle:  # the generator as if it had drawn only these epochs' orders
                    rng.bit_generator.state = rng_start
                    for _ in range(count):
                        rng.permutation(n)
                break
        epoch += count
        for hook in chunk_ends:
            hook(epoch)
        if chunked:  # about a second per program: progress and Ctrl-C stay responsive
            seconds = max(elapsed, 1e-6) / count
            count = int(min(capacity, max(1.0, chunk_seconds / seconds)))
    callback_list.on_train_end(logs)
    keys = list(recorder.history)
    return [{k: float(recorder.history[k][i]) for k in keys} for i in range(len(recorder.epoch))]


def _device_data(
    x: np.ndarray, y: np.ndarray, validation_data: tuple[np.ndarray, np.ndarray] | None
) -> dict[str, Any]:
    """The arrays an epoch program reads (``x``, ``y`` and ``xv``, ``yv``), on the device."""
    import jax

    # device_put, not jnp.asarray: no small program per array to look up (about 10 ms each).
    data: dict[str, Any] = {"x": jax.device_put(_floatx(x)), "y": jax.device_put(y)}
    if validation_data is not None:
        xv, yv = validation_data
        data["xv"], data["yv"] = jax.device_put(_floatx(xv)), jax.device_put(yv)
    return data


def _make_run_epoch(
    model: keras.Model,
    *,
    n: int,
    batch_size: int,
    n_validation: int | None,
    metrics_zero: Sequence[Any],
) -> Callable[..., tuple[tuple[Any, ...], Any, Any, Any]]:
    """``run_epoch(state, order, data) -> (state, logs, val_logs, rate)``: one epoch of
    ``model`` (every step, the partial last batch, validation), traceable by JAX.

    ``state`` is :func:`_state` with the optimizer; ``order`` the ``n`` row indices in batch
    order; ``data`` from :func:`_device_data` (``batch_size`` at most ``n``).
    """
    import jax

    n_full, remainder = divmod(n, batch_size)
    has_val = n_validation is not None
    v_full, v_rem = divmod(n_validation or 0, batch_size)

    def batches(a: Any, count: int) -> Any:
        return a[: count * batch_size].reshape((count, batch_size, *a.shape[1:]))

    # The data are arguments of the programs, never closed over: a closed-over array would be
    # compiled into the program as a constant (minutes and gigabytes for image data).
    def run_epoch(
        state: tuple[Any, ...], order: Any, data: dict[str, Any]
    ) -> tuple[tuple[Any, ...], Any, Any, Any]:
        x_dev, y_dev = data["x"], data["y"]
        trainable, non_trainable, optimizer_vars, _ = state
        state = (trainable, non_trainable, optimizer_vars, metrics_zero)

        def train_body(carry: Any, rows: Any) -> Any:
            # Each step gathers its own rows: no shuffled copy of the whole data per epoch.
            logs, carry = model.train_step(carry, (x_dev[rows], y_dev[rows]))
            return carry, logs

        logs = None
        if n_full:
            state, all_logs = jax.lax.scan(train_body, state, batches(order, n_full))
            logs = jax.tree_util.tree_map(lambda v: v[-1], all_logs)
        if remainder:
            tail = order[n_full * batch_size :]
            logs, state = model.train_step(state, (x_dev[tail], y_dev[tail]))
        val_logs = None
        if has_val:
            trainable, non_trainable, optimizer_vars, _ = state
            test_state = (trainable, non_trainable, metrics_zero)
            xv_dev, yv_dev = data["xv"], data["yv"]

            def test_body(carry: Any, batch: Any) -> Any:
                logs, carry = model.test_step(carry, batch)
                return carry, logs

            if v_full:
                test_state, all_val = jax.lax.scan(
                    test_body, test_state, (batches(xv_dev, v_full), batches(yv_dev, v_full))
                )
                val_logs = jax.tree_util.tree_map(lambda v: v[-1], all_val)
            if v_rem:
                val_logs, test_state = model.test_step(
                    test_state, (xv_dev[v_full * batch_size :], yv_dev[v_full * batch_size :])
                )
            state = (trainable, non_trainable, optimizer_vars, test_state[2])
        return state, logs, val_logs, _learning_rate(model.optimizer, state[2])

    return run_epoch


def _make_run_epochs(
    run_epoch: Callable[..., tuple[Any, ...]], *, members: int | None = None
) -> Callable[..., tuple[Any, Any]]:
    """``run_epochs(state, orders, count, data) -> (state, logs)``: ``count`` epochs (at most
    ``len(orders)``) in one program, the logs stacked per epoch.

    With ``members``, every leaf of ``state`` and each ``orders[i]`` carry a leading axis of
    that many members (seed populations): the epoch is ``jax.vmap``-ed over it, the data
    shared, and the logs are stacked ``(epochs, members, ...)``.
    """
    import jax
    import jax.extend
    import jax.numpy as jnp

    def one(a: Any) -> Any:  # one member's shape, for tracing the epoch once
        return jax.ShapeDtypeStruct(a.shape[1:], a.dtype) if members else a

    def run_epochs(
        state: tuple[Any, ...], orders: Any, count: Any, data: dict[str, Any]
    ) -> tuple[Any, Any]:
        # Keras traces the epoch once; the loop body replays that trace.
        closed, shapes = jax.make_jaxpr(run_epoch, return_shape=True)(
            jax.tree_util.tree_map(one, state), one(orders[0]), data
        )
        epoch_fn = jax.extend.core.jaxpr_as_fun(closed)
        out_tree = jax.tree_util.tree_structure(shapes)

        def epoch(state: Any, order: Any, data: Any) -> Any:
            out = epoch_fn(*jax.tree_util.tree_leaves((state, order, data)))
            return jax.tree_util.tree_unflatten(out_tree, out)

        if members:
            epoch = jax.vmap(epoch, in_axes=(0, 0, None))
        lead = (members,) if members else ()
        logs0 = jax.tree_util.tree_map(
            lambda s: jnp.zeros((len(orders), *lead, *s.shape), s.dtype), shapes[1:]
        )

        def body(i: Any, carry: Any) -> Any:
            state, stacked = carry
            state, *logs = epoch(state, orders[i], data)
            stacked = jax.tree_util.tree_map(lambda b, v: b.at[i].set(v), stacked, tuple(logs))
            return state, stacked

        return jax.lax.fori_loop(0, count, body, (state, logs0))

    return run_epochs


def _epoch_logs(stacked: Any, i: int) -> dict[str, float]:
    train_logs, val_logs, rate = stacked
    logs = {k: float(v[i]) for k, v in train_logs.items()}
    # The rate at the epoch's end, computed in the program: evaluating a Keras schedule
    # eagerly afterwards costs more than the epoch itself for small models.
    logs["learning_rate"] = float(rate[i])
    if val_logs is not None:
        logs.update({f"val_{k}": float(v[i]) for k, v in val_logs.items()})
    return logs


def _asks_chunk(callback: Any) -> bool:
    """The callback sets ``chunk_seconds``: the longest compiled chunk it wants (seconds)."""
    value = getattr(callback, "chunk_seconds", None)
    return isinstance(value, int | float) and value > 0


def _logs_only(callback: Any) -> bool:
    """True for callbacks whose epoch hooks read only the logs (not weights, not the rate)."""
    import keras

    if getattr(callback, "logs_only", False):  # neuralab's own recorders say so
        return True
    kind = type(callback)
    if kind in (keras.callbacks.History, keras.callbacks.TerminateOnNaN, keras.callbacks.CSVLogger):
        return True
    if kind is keras.callbacks.EarlyStopping:
        return not callback.restore_best_weights
    if kind is keras.callbacks.TensorBoard:
        return (
            _tensorboard_epoch_only(callback)
            and not callback.histogram_freq
            and not callback.embeddings_freq
        )
    return False


def _ignores_iterations(callback: Any) -> bool:
    """True for log-only callbacks known not to read the optimizer's step count."""
    import keras

    if getattr(callback, "reads_optimizer_step", True) is False:  # neuralab's recorders
        return True
    return type(callback) in (
        keras.callbacks.History,
        keras.callbacks.TerminateOnNaN,
        keras.callbacks.CSVLogger,
        keras.callbacks.EarlyStopping,
    )


def _learning_rate(optimizer: Any, optimizer_vars: Sequence[Any]) -> Any:
    """The optimizer's current learning rate, read from traced optimizer state."""
    with stateless_scope(list(zip(optimizer.variables, optimizer_vars, strict=True))):
        return current_learning_rate_tensor(optimizer)


def _floatx(a: np.ndarray) -> np.ndarray:
    import keras

    if np.issubdtype(a.dtype, np.floating) and a.dtype != np.dtype(keras.config.floatx()):
        return a.astype(keras.config.floatx())
    return a
