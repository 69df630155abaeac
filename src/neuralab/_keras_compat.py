"""Every private Keras name neuralab uses, in one place, behind one version check.

Keras promises nothing about ``keras.src`` modules or underscored attributes, and neuralab
needs a few of them (to seed without importing TensorFlow, to run Keras's own train step
inside a fused JAX epoch, to swap an optimizer's learning rate and put it back). Each use is
a small named function here, so that a Keras upgrade means reading one module, and each
function first checks, once per process, that the installed Keras is one these were written
against (:data:`SUPPORTED_KERAS`, the range ``pyproject.toml`` declares).

Importing this module does not import Keras; calling any of its functions does.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras

SUPPORTED_KERAS = ">=3.15,<3.16"
"""The Keras versions whose private APIs this module was written against (as in pyproject)."""

_version_checked = False


def check_keras_version() -> None:
    """Warn if the installed Keras is outside :data:`SUPPORTED_KERAS`.

    The compatibility functions call this once, on first use; calling it again checks again.

    Warns:
        UserWarning: naming the installed and the supported versions.
    """
    import keras

    # `packaging` is a dependency of Keras itself.
    from packaging.specifiers import SpecifierSet
    from packaging.version import InvalidVersion, Version

    installed = str(keras.__version__)
    try:
        supported = SpecifierSet(SUPPORTED_KERAS).contains(Version(installed), prereleases=True)
    except InvalidVersion:
        supported = False
    if not supported:
        warnings.warn(
            f"neuralab supports keras{SUPPORTED_KERAS}, but keras {installed} is installed: "
            "private Keras APIs neuralab uses may have changed. Install a supported version, "
            f"e.g. pip install 'keras{SUPPORTED_KERAS}'.",
            stacklevel=2,
        )


def _check_once() -> None:
    global _version_checked
    if not _version_checked:
        _version_checked = True
        check_keras_version()


def set_global_seed(seed: int) -> None:
    """Set Keras's global seed and drop its global ``SeedGenerator`` (rebuilt from the seed).

    The Keras half of ``keras.utils.set_random_seed``, which would also import TensorFlow to
    seed it whenever TensorFlow is installed (``keras/src/utils/rng_utils.py``).
    """
    _check_once()
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator
    from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED

    global_state.set_global_attribute(GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)


def jax_trainer_class() -> type:
    """Keras's ``JAXTrainer``, whose ``train_step``/``test_step`` a plain model inherits.

    Imports JAX (about half a second): call only on the JAX backend.
    """
    _check_once()
    from keras.src.backend.jax.trainer import JAXTrainer

    return JAXTrainer


def stateless_scope(state_mapping: Sequence[tuple[Any, Any]]) -> AbstractContextManager[Any]:
    """A ``StatelessScope`` in which each ``(variable, value)`` pair reads as ``value``."""
    _check_once()
    import keras

    return keras.StatelessScope(state_mapping=list(state_mapping))


def symbolic_build(model: keras.Model, data_batch: tuple[Any, ...]) -> None:
    """Create a model's weights, compiled metrics and loss from one batch, as ``fit`` does.

    ``data_batch`` is ``(x, y)`` or ``(x, y, sample_weight)``; nothing is trained.
    """
    _check_once()
    model._symbolic_build(data_batch=data_batch)


def current_learning_rate_tensor(optimizer: Any) -> Any:
    """The rate the optimizer's next step uses (a schedule evaluated at its step count).

    Inside :func:`stateless_scope` this reads the mapped (traced) optimizer variables.
    """
    _check_once()
    from keras import ops

    return ops.convert_to_tensor(optimizer._get_current_learning_rate())


def stored_learning_rate(optimizer: Any) -> Any:
    """What the optimizer holds as its rate: a variable, a schedule or a callable.

    (The public ``optimizer.learning_rate`` evaluates a schedule instead.)
    """
    _check_once()
    return optimizer._learning_rate


def set_stored_learning_rate(optimizer: Any, value: Any) -> None:
    """Replace what the optimizer holds as its rate, schedule or not.

    The public setter refuses a float when the rate is a schedule. A ``keras.Variable``
    assigned here is tracked among the optimizer's variables (``BaseOptimizer.__setattr__``);
    see :func:`untrack_optimizer_variable` to stop tracking one.
    """
    _check_once()
    optimizer._learning_rate = value


def untrack_optimizer_variable(optimizer: Any, variable: Any) -> None:
    """Remove ``variable`` from ``optimizer.variables`` (it was tracked on assignment)."""
    _check_once()
    optimizer._untrack_variable(variable)


def discard_jax_state(model: keras.Model) -> None:
    """Drop trainer state a step interrupted on JAX left un-synced in the model.

    Otherwise a later ``jax_state_sync()`` (e.g. a callback reading ``self.model``) would
    write it back over the model's variables.
    """
    _check_once()
    if getattr(model, "_jax_state", None) is not None:
        model._jax_state = None


def no_tensorflow_probe() -> AbstractContextManager[None]:
    """Keep ``model.save`` from importing TensorFlow on another backend.

    Keras's serializer asks whether TensorFlow is installed, importing it (2-3 s), only to
    recognise TensorFlow objects; none can exist while TensorFlow is not imported, so the
    answer is "no" for the duration of the save, and the question is left open afterwards.
    """
    _check_once()
    return _no_tensorflow_probe()


@contextmanager
def _no_tensorflow_probe() -> Iterator[None]:
    if "tensorflow" in sys.modules:
        yield
        return
    from keras.src.utils.module_utils import tensorflow as lazy

    if lazy.module is not None or lazy._available is not None:
        yield
        return
    lazy._available = False
    try:
        yield
    finally:
        lazy._available = None


def compiled_metrics(model: keras.Model) -> list[Any]:
    """The metric objects ``model.compile`` made (flattened out of Keras's containers)."""
    _check_once()
    from keras.src.trainers import compile_utils

    found: list[Any] = []
    for metric in getattr(model, "metrics", []) or []:
        if isinstance(metric, compile_utils.CompileMetrics | compile_utils.MetricsList):
            found.extend(metric.metrics)
        else:
            found.append(metric)
    return found


def metric_direction(metric: Any) -> str | None:
    """``"up"`` or ``"down"`` as the metric itself says (the attribute EarlyStopping reads in
    ``MonitorCallback._set_monitor_op``), or None when it does not say."""
    direction = getattr(metric, "_direction", None)
    return direction if direction in ("up", "down") else None


def share_step_functions(models: Sequence[keras.Model]) -> None:
    """Let ``models[1:]`` evaluate and predict with ``models[0]``'s jitted programs (JAX).

    Keras makes (and traces) a ``test_function`` and a ``predict_function`` per model
    instance, although on the JAX backend they take every variable as an argument: the
    program of one model computes exactly what another's would, when both have the same
    variables (number, shape, dtype: a population's members, checked when it was built).
    Sharing them traces the evaluation once for all the seeds of an experiment.
    """
    _check_once()
    import keras

    if keras.backend.backend() != "jax" or len(models) < 2:
        return
    first = models[0]

    def layout(model: keras.Model) -> list[list[tuple[Any, ...]]]:
        return [
            [(tuple(v.shape), str(v.dtype)) for v in part]
            for part in (
                model.trainable_variables,
                model.non_trainable_variables,
                model.metrics_variables,
            )
        ]

    if not first.metrics_variables:
        return  # metrics not built yet: each model traces its own
    expected = layout(first)
    first.make_test_function()
    first.make_predict_function()
    for model in models[1:]:
        if layout(model) != expected:
            continue
        model.test_function = first.test_function
        model.predict_function = first.predict_function
