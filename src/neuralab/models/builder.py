"""Building Keras models, losses, optimizers and callbacks from specs.

Every name is checked against Keras itself (``keras.layers``, ``keras.optimizers``,
``keras.losses``, ...), so anything Keras has can be used, and a typo gets the list of
valid names and the nearest one.
"""

from __future__ import annotations

import inspect
import math
import numbers
import re
from collections.abc import Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from neuralab.config import CompileSpec, LayerSpec, LossSpec, ModelSpec
from neuralab.errors import SpecError, did_you_mean
from neuralab.models.presets import preset_layers

if TYPE_CHECKING:
    import keras

# Arguments every layer takes through ``Layer.__init__(**kwargs)``.
_BASE_LAYER_ARGS = ("activity_regularizer", "trainable", "dtype", "autocast", "name")


@cache
def _public_classes(module_name: str, base_name: str) -> dict[str, type]:
    import keras

    module: Any = keras
    for part in module_name.split("."):
        module = getattr(module, part)
    base = getattr(module, base_name)
    out: dict[str, type] = {}
    for name in dir(module):
        obj = getattr(module, name)
        if inspect.isclass(obj) and issubclass(obj, base) and obj is not base:
            out[name] = obj
    return out


def layer_classes() -> dict[str, type]:
    """All public ``keras.layers`` layer classes by name."""
    return _public_classes("layers", "Layer")


def _valid_args(cls: type) -> list[str]:
    names: list[str] = []
    for klass in cls.__mro__:
        init = vars(klass).get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        names.extend(
            p.name
            for p in params
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        )
        if not any(p.kind is p.VAR_KEYWORD for p in inspect.signature(init).parameters.values()):
            break
    return sorted(set(names) | set(_BASE_LAYER_ARGS))


def _regularizer(value: Any, where: str) -> Any:
    if value is None or isinstance(value, str):
        return value
    try:
        return _make_regularizer(value, where)
    except (ValueError, TypeError) as exc:  # Keras's own checks, e.g. a negative factor
        raise SpecError(
            f"{where}: Keras rejected the regularizer {value!r}: {exc}. Write non-negative "
            "factors, e.g. {l2 = 0.001} or {l1 = 1e-5, l2 = 1e-4}."
        ) from exc


def _make_regularizer(value: Any, where: str) -> Any:
    import keras

    if isinstance(value, int | float) and not isinstance(value, bool):
        return keras.regularizers.L2(float(value))
    if isinstance(value, Mapping):
        kind = value.get("type")
        rest = {k: v for k, v in value.items() if k != "type"}
        if kind is None:
            unknown = sorted(set(rest) - {"l1", "l2"})
            if unknown or not rest:
                raise SpecError(
                    f"{where}: a regularizer is written {{l2 = 0.001}}, {{l1 = 1e-5}} or "
                    f"{{l1 = 1e-5, l2 = 1e-4}}. Received: {dict(value)!r}."
                )
            if set(rest) == {"l2"}:
                return keras.regularizers.L2(float(rest["l2"]))
            if set(rest) == {"l1"}:
                return keras.regularizers.L1(float(rest["l1"]))
            return keras.regularizers.L1L2(l1=float(rest["l1"]), l2=float(rest["l2"]))
        return keras.regularizers.get({"class_name": kind, "config": rest})
    raise SpecError(f"{where}: invalid regularizer {value!r}; write {{l2 = 0.001}}.")


def build_layer(
    spec: LayerSpec, *, where: str = "layer", name: str | None = None
) -> keras.layers.Layer:
    """Create one Keras layer from its spec, checking the class and argument names.

    ``name`` names the layer unless the spec does.

    Raises:
        SpecError: unknown layer class or argument, or a value Keras rejects.
    """
    classes = layer_classes()
    cls = classes.get(spec.type)
    if cls is None:
        raise SpecError(
            f"{where}.type: unknown layer {spec.type!r}.{did_you_mean(spec.type, classes)} "
            f"Valid layers are the classes of keras.layers, e.g. Dense, Conv2D, MaxPool2D, "
            f"Flatten, Dropout, BatchNormalization ({len(classes)} in all)."
        )
    allowed = _valid_args(cls)
    args = dict(spec.args)
    for key in args:
        if key not in allowed:
            raise SpecError(
                f"{where}.{key}: {spec.type} has no argument {key!r}."
                f"{did_you_mean(key, allowed)} Allowed: {', '.join(allowed)}."
            )
    for key in list(args):
        if key.endswith("_regularizer"):
            args[key] = _regularizer(args[key], f"{where}.{key}")
        elif isinstance(args[key], list):
            args[key] = tuple(args[key])  # TOML arrays -> Keras tuples (kernel_size, ...)
    if name is not None and "name" not in args:
        args["name"] = name
    try:
        return cls(**args)
    except (ValueError, TypeError) as exc:
        raise SpecError(
            f"{where}: Keras rejected {spec.type}({_fmt_args(spec.args)}): {exc}"
        ) from exc


def _fmt_args(args: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in args.items())


def resolve_layers(spec: ModelSpec, *, where: str = "model") -> list[LayerSpec]:
    """The model's layers, with a preset expanded."""
    if spec.layers is not None:
        return list(spec.layers)
    return preset_layers(spec.preset or "", spec.preset_args, where=where)


def build_model(
    spec: ModelSpec,
    *,
    input_shape: Sequence[int] | None = None,
    name: str | None = None,
    where: str = "model",
    prefix: Sequence[keras.layers.Layer] = (),
) -> keras.Sequential:
    """Build a Sequential model from a spec.

    Args:
        spec: Layers or preset.
        input_shape: Shape of one sample; ``spec.input_shape`` wins when set.
        name: Model name.
        where: Key path prefix for error messages.
        prefix: Ready-made layers to put first (preprocessing: rescaling, augmentation).

    Returns:
        A built ``keras.Sequential`` (input shape known, so parameters are counted).

    Raises:
        SpecError: unknown layer or argument, invalid value, or no input shape.
    """
    import keras

    layers = resolve_layers(spec, where=where)
    shape = spec.input_shape
    first = dict(layers[0].args)
    for key in ("input_shape", "input_dim"):
        if key in first:
            value = first.pop(key)
            shape = tuple(value) if isinstance(value, list | tuple) else (value,)
            if key == "input_shape" and not isinstance(value, list | tuple):
                raise SpecError(
                    f"{where}.layers[0].input_shape: must be a list of dimensions, e.g. [28, 28]. "
                    f"Received: input_shape={value!r}."
                )
            layers[0] = LayerSpec(type=layers[0].type, args=first)
    for i, layer in enumerate(layers[1:], start=1):
        if "input_shape" in layer.args or "input_dim" in layer.args:
            raise SpecError(
                f"{where}.layers[{i}]: only the first layer may set `input_shape`; "
                "better, set `model.input_shape` (or leave it out: it is taken from the data)."
            )
    if shape is None:
        shape = tuple(input_shape) if input_shape is not None else None
    if shape is None:
        raise SpecError(
            f"{where}.input_shape: the input shape is unknown; set `input_shape` or build the "
            "model for a data set."
        )
    if not all(
        d is None or (isinstance(d, numbers.Integral) and not isinstance(d, bool) and 0 < d < 2**31)
        for d in shape
    ):
        raise SpecError(
            f"{where}.input_shape: dimensions must be positive integers below 2**31. "
            f"Received: {shape!r}."
        )
    names = _names_per_model(layers)
    built = [
        build_layer(layer, where=f"{where}.layers[{i}]", name=names[i])
        for i, layer in enumerate(layers)
    ]
    try:
        return keras.Sequential([keras.Input(shape=tuple(shape)), *prefix, *built], name=name)
    except (ValueError, TypeError) as exc:
        raise SpecError(
            f"{where}: the layers do not fit together for input shape {tuple(shape)}: {exc}"
        ) from exc


def _snake_case(name: str) -> str:
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _names_per_model(layers: Sequence[LayerSpec]) -> list[str | None]:
    """Names a fresh Keras session would give the unnamed layers (dense, dense_1, ...).

    Keras numbers layer names per process, so the second model built would have ``dense_3``;
    numbering per model keeps names stable across runs and equal to the chapters' summaries.
    Layers named in the spec keep their name (None here).
    """
    used = {str(layer.args["name"]) for layer in layers if "name" in layer.args}
    counts: dict[str, int] = {}
    names: list[str | None] = []
    for layer in layers:
        if "name" in layer.args:
            names.append(None)
            continue
        base = _snake_case(layer.type)
        while True:
            n = counts.get(base, 0)
            counts[base] = n + 1
            candidate = base if n == 0 else f"{base}_{n}"
            if candidate not in used:
                break
        used.add(candidate)
        names.append(candidate)
    return names


# --------------------------------------------------------------------------- compile


def build_loss(spec: CompileSpec, *, where: str = "compile") -> Any:
    """The Keras loss for ``spec.loss`` (a function name or a class with arguments)."""
    import keras

    name, args = spec.loss.type, spec.loss.args
    classes = _public_classes("losses", "Loss")
    functions = sorted(
        n
        for n in dir(keras.losses)
        if n.islower() and not n.startswith("_") and n not in ("get", "serialize", "deserialize")
    )
    if name in classes:
        try:
            return classes[name](**args)
        except (TypeError, ValueError) as exc:
            raise SpecError(
                f"{where}.loss: Keras rejected {name}({_fmt_args(args)}): {exc}"
            ) from exc
    if name in functions and not args:
        return name
    if name in functions:
        # Function names with arguments: use the class of the same meaning.
        camel = "".join(part.capitalize() for part in name.split("_"))
        camel = camel.replace("crossentropy", "Crossentropy")
        for cname in classes:
            if cname.lower() == camel.lower():
                return build_loss(CompileSpec(loss=LossSpec(type=cname, args=args)), where=where)
    valid = sorted(set(functions) | set(classes))
    raise SpecError(
        f"{where}.loss: unknown loss {name!r}.{did_you_mean(name, valid)} Valid losses: "
        f"{', '.join(valid)}."
    )


def build_optimizer(spec: CompileSpec, learning_rate: Any = None, *, where: str = "compile") -> Any:
    """The Keras optimizer for ``spec.optimizer`` with ``learning_rate`` (number or schedule)."""
    classes = _public_classes("optimizers", "Optimizer")
    classes = {k: v for k, v in classes.items() if k not in ("LossScaleOptimizer",)}
    lowered = {k.lower(): k for k in classes}
    name = spec.optimizer.type
    key = name if name in classes else lowered.get(name.lower())
    if key is None:
        raise SpecError(
            f"{where}.optimizer: unknown optimizer {name!r}.{did_you_mean(name, classes)} "
            f"Valid optimizers: {', '.join(sorted(classes))}."
        )
    args = dict(spec.optimizer.args)
    if learning_rate is not None:
        if "learning_rate" in args:
            raise SpecError(
                f"{where}: the learning rate is given twice, as compile.learning_rate and "
                "compile.optimizer.learning_rate; keep one."
            )
        args["learning_rate"] = learning_rate
    lr = args.get("learning_rate")
    if isinstance(lr, int | float) and not (lr > 0 and math.isfinite(lr)):
        raise SpecError(
            f"{where}.learning_rate: must be a finite positive number, e.g. 0.001. Received: "
            f"learning_rate={lr!r}."
        )
    try:
        return classes[key](**args)
    except (TypeError, ValueError) as exc:
        raise SpecError(
            f"{where}.optimizer: Keras rejected {key}({_fmt_args(args)}): {exc}"
        ) from exc


def build_schedule(value: Mapping[str, Any], *, where: str = "compile.learning_rate") -> Any:
    """A ``keras.optimizers.schedules`` schedule from ``{type = ..., **args}``."""
    classes = _public_classes("optimizers.schedules", "LearningRateSchedule")
    name = str(value.get("type"))
    args = {k: v for k, v in value.items() if k != "type"}
    if name not in classes:
        raise SpecError(
            f"{where}: unknown schedule {name!r}.{did_you_mean(name, classes)} Valid schedules: "
            f"{', '.join(sorted(classes))}."
        )
    try:
        return classes[name](**args)
    except (TypeError, ValueError) as exc:
        raise SpecError(f"{where}: Keras rejected {name}({_fmt_args(args)}): {exc}") from exc


def build_metrics(spec: CompileSpec, *, where: str = "compile") -> list[Any]:
    """Metric names are passed to Keras as given; classes with arguments are created.

    A class gets its snake-case name (``AUC`` -> ``auc``) unless it is given one: Keras
    numbers some per process (``auc_1`` for the second ``AUC()``), and the history columns
    and ``expect`` bands need the same name in every run.
    """
    import keras

    classes = _public_classes("metrics", "Metric")
    functions = {n for n in dir(keras.metrics) if n.islower() and not n.startswith("_")}
    out: list[Any] = []
    for i, metric in enumerate(spec.metrics):
        if isinstance(metric, str):
            if metric in ("accuracy", "acc") or metric in functions or metric in classes:
                named = metric in classes
                out.append(classes[metric](name=_snake_case(metric)) if named else metric)
                continue
            valid = sorted(functions | set(classes) | {"accuracy"})
            raise SpecError(
                f"{where}.metrics[{i}]: unknown metric {metric!r}.{did_you_mean(metric, valid)}"
                " Use a keras.metrics name such as 'accuracy' or 'AUC'."
            )
        cls = classes.get(metric.type)
        if cls is None:
            raise SpecError(
                f"{where}.metrics[{i}]: unknown metric class {metric.type!r}."
                f"{did_you_mean(metric.type, classes)}"
            )
        try:
            out.append(cls(**{"name": _snake_case(metric.type), **metric.args}))
        except (TypeError, ValueError) as exc:
            raise SpecError(f"{where}.metrics[{i}]: Keras rejected {metric.type}: {exc}") from exc
    return out


def build_callback(type_name: str, args: Mapping[str, Any], *, where: str) -> Any:
    """A Keras callback by class name."""
    classes = _public_classes("callbacks", "Callback")
    skip = {"History", "ProgbarLogger", "CallbackList", "LambdaCallback", "RemoteMonitor"}
    classes = {k: v for k, v in classes.items() if k not in skip}
    cls = classes.get(type_name)
    if cls is None:
        raise SpecError(
            f"{where}.type: unknown callback {type_name!r}.{did_you_mean(type_name, classes)} "
            f"Valid callbacks: {', '.join(sorted(classes))}."
        )
    _check_argument_kinds(cls, args, where=where)
    try:
        return cls(**dict(args))
    except (TypeError, ValueError) as exc:
        raise SpecError(f"{where}: Keras rejected {type_name}({_fmt_args(args)}): {exc}") from exc


def _check_argument_kinds(cls: type, args: Mapping[str, Any], *, where: str) -> None:
    """Refuse an argument whose kind differs from its default's (a number, a flag, a name).

    Keras stores most callback arguments as given and uses them only while training
    (``EarlyStopping(patience="x")`` fails at the end of the first epoch); checked here, the
    mistake is named before anything runs.
    """
    import inspect

    try:
        parameters = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return
    for name, value in args.items():
        parameter = parameters.get(name)
        if parameter is None or value is None:
            continue
        default = parameter.default
        if isinstance(default, bool):
            ok, kind = isinstance(value, bool), "true or false"
        elif isinstance(default, int | float):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            kind = "a number"
        elif isinstance(default, str):
            ok, kind = isinstance(value, str), "a string"
        else:
            continue
        if not ok:
            raise SpecError(
                f"{where}.{name}: `{name}` must be {kind} (the default is {default!r}). "
                f"Received: {name}={value!r}."
            )


def count_params(model: keras.Model) -> dict[str, int]:
    """Trainable, non-trainable and total parameter counts."""
    import numpy as np

    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    frozen = int(sum(np.prod(w.shape) for w in model.non_trainable_weights))
    return {"trainable": trainable, "non_trainable": frozen, "total": trainable + frozen}


def model_summary(model: keras.Model) -> str:
    """``model.summary()`` as plain text."""
    lines: list[str] = []
    model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line), line_length=90)
    return "\n".join(lines)
