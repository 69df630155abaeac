"""Experiment specs: one frozen, validated object per concern.

A TOML experiment file (or the same objects built in Python) is parsed once into
:class:`ExperimentSpec` objects. Validation of structure and values happens here,
without importing Keras; names that need Keras (layer classes and their arguments,
optimizers, losses, metrics, callbacks) are resolved by :mod:`neuralab.models.builder`
and :mod:`neuralab.training.trainer`, still before anything trains.

TOML layout::

    title = "My experiments"          # optional
    [defaults]                        # optional, deep-merged into every experiment
    seed = 42
    [defaults.data]
    name = "circles"
    n_samples = 1000

    [[experiments]]
    name = "model_8"
    [experiments.model]
    layers = [
      {type = "Dense", units = 4, activation = "relu"},
      {type = "Dense", units = 1, activation = "sigmoid"},
    ]
    [experiments.compile]
    loss = "binary_crossentropy"
    optimizer = "Adam"
    learning_rate = 0.01
    [experiments.fit]
    epochs = 25

A file with no ``[[experiments]]`` table is one experiment written at the top level.
"""

from __future__ import annotations

import copy
import itertools
import math
import re
import tomllib
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from neuralab.errors import SpecError, did_you_mean, one_of

# Experiment names become directory names: UTF-8 bytes a file system takes in one name.
MAX_NAME_BYTES = 200
#: Most seeds one experiment may run with (``repeat``, ``--seeds``).
MAX_REPEAT = 100
# Tables and arrays within each other in a spec file (a layer's argument list is at 6).
MAX_NESTING = 32


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    def __repr_args__(self) -> Any:  # show only fields that differ from their defaults
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            if value != field.get_default(call_default_factory=True):
                yield name, value


class _Typed(_Spec):
    """Something named by a Keras class or function name, plus its arguments.

    Written in TOML as ``{type = "Dense", units = 4}`` or just ``"Dense"``.
    """

    type: str
    args: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"type": value, "args": {}}
        if isinstance(value, Mapping) and "args" not in value:
            rest = {k: v for k, v in value.items() if k != "type"}
            return {"type": value.get("type"), "args": rest}
        return value

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **self.args}


class LayerSpec(_Typed):
    """One Keras layer: ``type`` is the class name in ``keras.layers``, ``args`` its arguments.

    Regularizers are written ``{l2 = 0.001}``, ``{l1 = 1e-5, l2 = 1e-4}`` or a Keras name.

    Example:
        >>> LayerSpec(type="Dense", args={"units": 4, "activation": "relu"})
    """


def Layer(type: str, /, **args: Any) -> LayerSpec:
    """Shorthand: ``Layer("Dense", units=4, activation="relu")``."""
    return LayerSpec(type=type, args=args)


class CallbackSpec(_Typed):
    """A Keras callback by class name, e.g. ``{type = "EarlyStopping", patience = 10}``."""


class LossSpec(_Typed):
    """A loss by Keras name (``"binary_crossentropy"``) or class with arguments."""


class OptimizerSpec(_Typed):
    """An optimizer by Keras class name (``"Adam"``, ``"SGD"``) with arguments."""


class ScheduleSpec(_Typed):
    """A Keras learning-rate schedule, e.g. ``{type = "InverseTimeDecay", ...}``."""


class DataSpec(_Spec):
    """Which data set to load and how to split it.

    Args:
        name: A registered data set (``neuralab.data.DATASETS``), e.g. ``"circles"``.
        params: Keyword arguments for its loader (TOML: extra keys of ``[data]``).
        test_size: Rows held out for testing at the end (int) or a fraction in (0, 1).
        validation_size: Rows held out for validation from the training part.
        shuffle: Shuffle rows (seeded) before splitting; the chapters slice in order.
        split_seed: Seed of that shuffle (default: the experiment's ``seed``); the runs of
            an experiment's ``repeat`` share the first seed's split.
        class_names: Display names for the classes, in label order.
    """

    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    test_size: float | int = 0
    validation_size: float | int = 0
    shuffle: bool = False
    split_seed: int | None = Field(default=None, ge=0, lt=2**32)
    class_names: tuple[str, ...] | None = None

    @model_validator(mode="before")
    @classmethod
    def _collect_params(cls, value: Any) -> Any:
        if isinstance(value, Mapping) and "params" not in value:
            known = set(cls.model_fields)
            params = {k: v for k, v in value.items() if k not in known}
            rest = {k: v for k, v in value.items() if k in known}
            return {**rest, "params": params}
        return value

    @field_validator("test_size", "validation_size")
    @classmethod
    def _check_size(cls, v: float | int) -> float | int:
        if v < 0 or (isinstance(v, float) and not (math.isfinite(v) and v < 1)):
            raise ValueError("must be a row count >= 0 or a fraction in [0, 1)")
        return v


class ModelSpec(_Spec):
    """A model: a list of Keras layers, or a preset by name.

    Args:
        layers: The layers, in order, using Keras's class and argument names.
        preset: A name from ``neuralab.models.PRESETS`` instead of ``layers``.
        preset_args: Arguments for the preset.
        input_shape: Shape of one sample; inferred from the data when omitted.
    """

    layers: tuple[LayerSpec, ...] | None = None
    preset: str | None = None
    preset_args: dict[str, Any] = Field(default_factory=dict)
    input_shape: tuple[int, ...] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> ModelSpec:
        if (self.layers is None) == (self.preset is None):
            raise ValueError("give exactly one of `layers` (a list of layers) or `preset`")
        if self.layers is not None and len(self.layers) == 0:
            raise ValueError("`layers` is empty: add at least one layer, e.g. {type='Dense'}")
        if self.input_shape is not None and any(d <= 0 for d in self.input_shape):
            raise ValueError("`input_shape` dimensions must be positive")
        return self

    def layer_types(self) -> tuple[str, ...]:
        """Layer class names (presets resolved), used by the backend rule."""
        if self.layers is not None:
            return tuple(layer.type for layer in self.layers)
        return preset_layer_types(self.preset or "", self.preset_args)


# Model presets: named functions returning layer specs. They live with the specs, below
# neuralab.models (which re-exports them), because validating a ModelSpec resolves them.


def _check_count(name: str, value: int, limit: int = 100) -> None:
    """A preset's repeat count: an integer from 0 to ``limit`` (not a loop of a billion)."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= limit:
        raise ValueError(
            f"`{name}` must be an integer from 0 to {limit}. Received: {name}={value!r}"
        )


def mlp(
    *,
    hidden_units: Sequence[int] = (4, 4),
    activation: str = "relu",
    n_outputs: int = 1,
    output_activation: str = "sigmoid",
    dropout: float = 0.0,
    flatten: bool = False,
) -> list[LayerSpec]:
    """A multilayer perceptron: ``[Flatten] -> Dense(h, activation) [-> Dropout] ... -> Dense``.

    Args:
        hidden_units: Units of each hidden layer.
        activation: Hidden activation.
        n_outputs: Output units (1 for binary, n_classes for softmax).
        output_activation: Output activation (``sigmoid``, ``softmax``, or ``linear`` for logits).
        dropout: Dropout rate after each hidden layer (0 for none).
        flatten: Start with ``Flatten`` (for image inputs).
    """
    layers: list[LayerSpec] = [Layer("Flatten")] if flatten else []
    for units in hidden_units:
        layers.append(Layer("Dense", units=int(units), activation=activation))
        if dropout:
            layers.append(Layer("Dropout", rate=float(dropout)))
    layers.append(Layer("Dense", units=int(n_outputs), activation=output_activation))
    return layers


def logistic_regression(
    *, n_outputs: int = 1, output_activation: str = "sigmoid"
) -> list[LayerSpec]:
    """One Dense layer: logistic (or softmax) regression."""
    return [Layer("Dense", units=int(n_outputs), activation=output_activation)]


def tinyvgg(
    *,
    filters: int = 10,
    kernel_size: int = 3,
    pool_size: int = 2,
    blocks: int = 2,
    n_outputs: int = 1,
    output_activation: str = "sigmoid",
) -> list[LayerSpec]:
    """TinyVGG, the CNN Explainer's network (the CNN chapter's model_1 and model_7).

    Each block is ``Conv2D(filters, kernel_size, relu) x 2 -> MaxPool2D(pool_size)``; then
    ``Flatten -> Dense(n_outputs)``. At 224x224x3 with the defaults: 31,101 parameters.
    """
    _check_count("blocks", blocks)
    layers: list[LayerSpec] = []
    for _ in range(blocks):
        layers += [
            Layer("Conv2D", filters=filters, kernel_size=kernel_size, activation="relu"),
            Layer("Conv2D", filters=filters, kernel_size=kernel_size, activation="relu"),
            Layer("MaxPool2D", pool_size=pool_size),
        ]
    return [
        *layers,
        Layer("Flatten"),
        Layer("Dense", units=n_outputs, activation=output_activation),
    ]


def conv_stack(
    *,
    filters: int = 10,
    kernel_size: int = 3,
    convolutions: int = 3,
    pooling: bool = False,
    n_outputs: int = 1,
    output_activation: str = "sigmoid",
) -> list[LayerSpec]:
    """``Conv2D(filters, kernel_size, relu)`` x ``convolutions`` (each followed by
    ``MaxPool2D`` if ``pooling``), then ``Flatten -> Dense``: the CNN chapter's model_4
    (no pooling: 477,341 parameters at 224x224x3) and model_5/model_6 (pooling: 8,861)."""
    _check_count("convolutions", convolutions)
    layers: list[LayerSpec] = []
    for _ in range(convolutions):
        layers.append(Layer("Conv2D", filters=filters, kernel_size=kernel_size, activation="relu"))
        if pooling:
            layers.append(Layer("MaxPool2D", pool_size=2))
    return [
        *layers,
        Layer("Flatten"),
        Layer("Dense", units=n_outputs, activation=output_activation),
    ]


PRESETS: dict[str, Callable[..., list[LayerSpec]]] = {
    "mlp": mlp,
    "logistic_regression": logistic_regression,
    "tinyvgg": tinyvgg,
    "conv_stack": conv_stack,
}


def preset_layers(
    name: str, args: Mapping[str, Any] | None = None, *, where: str = "model"
) -> list[LayerSpec]:
    """Resolve a preset name and arguments into layers.

    Raises:
        SpecError: unknown preset or argument.
    """
    if name not in PRESETS:
        raise SpecError(f"{where}.preset: " + one_of("preset", name, PRESETS))
    try:
        return PRESETS[name](**dict(args or {}))
    except TypeError as exc:
        import inspect

        allowed = list(inspect.signature(PRESETS[name]).parameters)
        bad = next((k for k in (args or {}) if k not in allowed), None)
        hint = did_you_mean(bad, allowed) if bad else ""
        raise SpecError(
            f"{where}.preset_args: {exc}.{hint} Allowed for {name!r}: {', '.join(allowed)}."
        ) from exc
    except ValueError as exc:  # a value of the wrong kind, e.g. hidden_units = "many"
        detail = (
            str(exc)
            if "Received:" in str(exc)
            else (
                f"invalid value for the {name!r} preset: {exc}. "
                f"Received: preset_args={dict(args or {})!r}"
            )
        )
        raise SpecError(f"{where}.preset_args: {detail}.") from exc


def preset_layer_types(name: str, args: Mapping[str, Any] | None = None) -> tuple[str, ...]:
    return tuple(layer.type for layer in preset_layers(name, args))


SUGGESTED_PREFIX = "suggested:"
SUGGESTIONS = ("minimum/10", "steepest", "valley", "midpoint")


class CompileSpec(_Spec):
    """Arguments of ``model.compile``.

    ``learning_rate`` is a number, a Keras schedule (``{type = "InverseTimeDecay", ...}``),
    or ``"suggested:NAME[:METHOD]"``: the rate suggested by the learning-rate range test of
    the earlier experiment NAME in the same file (METHOD: ``minimum/10`` (default),
    ``steepest``, ``valley`` or ``midpoint``).
    """

    loss: LossSpec = LossSpec(type="binary_crossentropy")
    optimizer: OptimizerSpec = OptimizerSpec(type="Adam")
    learning_rate: float | str | ScheduleSpec | None = None
    metrics: tuple[str | CallbackSpec, ...] = ("accuracy",)

    @field_validator("learning_rate")
    @classmethod
    def _check_lr(cls, v: Any) -> Any:
        if isinstance(v, str):
            if not v.startswith(SUGGESTED_PREFIX) or not v[len(SUGGESTED_PREFIX) :]:
                raise ValueError(
                    "must be a positive number, a schedule table, or 'suggested:EXPERIMENT'"
                )
        elif isinstance(v, int | float) and not (v > 0 and math.isfinite(v)):
            raise ValueError("must be a finite positive number, e.g. 0.001")
        return v


class FitSpec(_Spec):
    """Arguments of ``model.fit`` plus neuralab's additions.

    Args:
        epochs: Number of epochs (> 0).
        batch_size: Samples per step (> 0).
        shuffle: Shuffle the training rows every epoch (seeded).
        validation: Which split validates: ``"auto"`` (validation split if any, else the
            test split, else none), ``"validation"``, ``"test"`` or ``"none"``.
        lr_schedule: Per-epoch learning rate as an expression in ``epoch`` (0-based) and
            ``lr``, like the chapter's ``1e-4 * 10**(epoch/20)``.
        callbacks: Keras callbacks by class name with arguments.
        lr_range_test: Treat this run as a learning-rate range test (plot loss against the
            rate and suggest one); requires ``lr_schedule``.
        trainer: ``"auto"`` (compiled whole-epoch trainer on JAX when possible, else
            ``model.fit``), ``"fused"`` or ``"fit"``.
        checkpoint_seconds: Keep a resumable checkpoint at most this often while training
            (seconds; 0: after every epoch, or every compiled chunk of epochs). It does not
            change the results, so a run may be resumed with another value.
    """

    epochs: int = Field(default=10, gt=0)
    batch_size: int = Field(default=32, gt=0)
    shuffle: bool = True
    validation: Literal["auto", "validation", "test", "none"] = "auto"
    lr_schedule: str | None = None
    callbacks: tuple[CallbackSpec, ...] = ()
    lr_range_test: bool = False
    trainer: Literal["auto", "fused", "fit"] = "auto"
    checkpoint_seconds: float = Field(default=2.0, ge=0, allow_inf_nan=False)

    @field_validator("lr_schedule")
    @classmethod
    def _parse_schedule(cls, v: str | None) -> str | None:
        if v is not None:
            from neuralab.training.schedules import EpochSchedule

            try:
                EpochSchedule(v)
            except SpecError as exc:  # as a ValueError, pydantic adds the key path
                raise ValueError(str(exc)) from exc
        return v

    @model_validator(mode="after")
    def _range_needs_schedule(self) -> FitSpec:
        if self.lr_range_test and self.lr_schedule is None:
            raise ValueError(
                "`lr_range_test = true` needs `lr_schedule`, e.g. '1e-4 * 10**(epoch/20)'"
            )
        return self


class ExpectSpec(_Spec):
    """An expected result band, checked after training: ``min <= metric <= max``.

    ``metric`` is ``train_``, ``validation_`` or ``test_`` followed by a compiled metric
    name or ``loss``, e.g. ``test_accuracy``. ``data`` limits the band to runs on that data
    set (a lab with an offline stand-in expects different numbers from each). With several
    seeds (``repeat``), ``over = "mean"`` checks the mean over the seeds and ``"every"``
    requires each seed to fall in the band; the verdict counts the seeds inside either way.
    """

    metric: str
    min: float | None = None
    max: float | None = None
    data: str | None = None
    over: Literal["mean", "every"] = "mean"

    @model_validator(mode="after")
    def _bounds(self) -> ExpectSpec:
        if self.min is None and self.max is None:
            raise ValueError("give `min`, `max` or both")
        return self


class ReferenceSpec(_Spec):
    """A published result to show next to ours (e.g. the chapter's accuracy)."""

    value: float
    metric: str = "accuracy"
    split: Literal["train", "test", "validation"] = "train"
    loss: float | None = None
    note: str = ""


class ReportSpec(_Spec):
    """What a run's report shows besides its defaults.

    Args:
        history: ``"panels"`` (one panel per metric), ``"overlay"`` (every curve on one
            axes, the notebooks' ``pd.DataFrame(history.history).plot()``) or ``"separate"``
            (one figure for the loss, one for the accuracy: the CNN chapter's
            ``plot_loss_curves``).
        baseline: An accuracy to beat, drawn as a line on accuracy plots (e.g. 0.5076).
        baseline_label: Its legend text.
        history_ylim: Y range of the overlay, e.g. ``[0, 1]`` (the notebook's ``set_ylim``).
        weights_layer: Layer (name or index) whose weights get a histogram; default the
            first layer with weights.
        predictions: How many of the first evaluation samples to show with their predicted
            class (images only).
        evaluate_on: Split for the confusion matrix and classification report (``auto``:
            test, else validation, else train).
    """

    history: Literal["panels", "overlay", "separate"] = "panels"
    history_ylim: tuple[float, float] | None = None
    baseline: float | None = None
    baseline_label: str = "baseline"
    weights_layer: str | int | None = None
    predictions: int = Field(default=10, ge=0, le=100)
    evaluate_on: Literal["auto", "test", "validation", "train"] = "auto"


def check_name(name: str) -> str:
    """An experiment name, NFC-normalized; it becomes a directory name.

    Letters and digits of any script (``modelo_ção``, ``模型``), then also ``_``, ``-``,
    ``.`` and combining marks. Refused: path separators, ``..``, a leading dot or dash,
    spaces and control or invisible format characters.

    Raises:
        ValueError: naming the first character not allowed.
    """
    name = unicodedata.normalize("NFC", name)
    rule = (
        "must start with a letter or digit and contain only letters, digits, '_', '-' and '.' "
        "(no '..'), e.g. 'model_1'"
    )
    if not name:
        raise ValueError(f"{rule}; it is empty")
    if unicodedata.category(name[0])[0] not in "LN":
        raise ValueError(f"{rule}; it starts with {name[0]!r}. Received: name={name!r}")
    for char in name:
        if unicodedata.category(char)[0] not in "LMN" and char not in "_-.":
            raise ValueError(f"{rule}; {char!r} is not allowed. Received: name={name!r}")
    if ".." in name:
        raise ValueError(f"{rule}; '..' is not allowed. Received: name={name!r}")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise ValueError(
            f"is {len(name.encode('utf-8'))} bytes long in UTF-8; at most {MAX_NAME_BYTES} "
            f"are allowed (it becomes a directory name). Received: name={name[:40]!r}..."
        )
    return name


class ExperimentSpec(_Spec):
    """One trainable experiment: data, model, compile, fit, seed and backend.

    ``model`` may be left out in Python when a ready-made ``keras.Model`` is passed to
    :func:`neuralab.run_experiment`; an experiment file must give it. ``repeat = N`` trains
    it with N seeds (:meth:`seeds`): the spec's seed, then the next ones; the data and their
    split stay those of the spec's seed, so the spread is the training's own.
    """

    name: str
    title: str = ""
    description: str = ""
    seed: int = Field(default=42, ge=0, lt=2**32)  # numpy and Keras take 32-bit seeds
    repeat: int = Field(default=1, ge=1, le=MAX_REPEAT)
    backend: Literal["auto", "jax", "tensorflow", "torch"] = "auto"
    data: DataSpec
    model: ModelSpec | None = None
    compile: CompileSpec = CompileSpec()
    fit: FitSpec = FitSpec()
    expect: tuple[ExpectSpec, ...] = ()
    reference: ReferenceSpec | None = None
    report: ReportSpec = ReportSpec()
    augment: dict[str, Any] = Field(default_factory=dict)
    when: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _check_name(cls, v: str) -> str:
        return check_name(v)

    def to_dict(self) -> dict[str, Any]:
        """A plain, TOML/JSON-ready dict that parses back to an equal spec."""
        return _plain(self.model_dump(mode="json"))

    def seeds(self) -> tuple[int, ...]:
        """The seeds of its ``repeat`` runs: ``seed``, ``seed + 1``, ... (modulo 2**32)."""
        return tuple((self.seed + k) % 2**32 for k in range(self.repeat))

    def with_seed(self, seed: int) -> ExperimentSpec:
        """This experiment's run with ``seed``: a new initialisation and batch order on the
        data split of the spec's own seed (``data.split_seed``)."""
        if self.repeat == 1 and seed == self.seed:
            return self
        split_seed = self.data.split_seed if self.data.split_seed is not None else self.seed
        data = self.data.model_copy(update={"split_seed": split_seed})
        return self.model_copy(update={"seed": seed, "data": data})

    def for_data(self, data_name: str) -> ExperimentSpec:
        """This spec with the overrides of ``when.<data_name>`` applied (itself if none).

        A lab whose data have an offline stand-in (Fashion-MNIST -> digits) trains the
        stand-in with settings of its own, e.g. ``[experiments.when.digits] fit.epochs = 150``;
        ``when.quick`` applies to ``--quick`` runs (e.g. smaller images).
        """
        override = self.when.get(data_name)
        if not override:
            return self
        base = {k: v for k, v in self.model_dump(mode="python").items() if k != "when"}
        merged = deep_merge(_plain(base), override)
        merged["when"] = {k: v for k, v in self.when.items() if k != data_name}
        return type(self).model_validate(merged)


class CompareSpec(_Spec):
    """A figure comparing the histories of some experiments of the file (``[[compare]]``).

    Args:
        name: Identifier (also the narrative key).
        title: Figure title.
        experiments: Names of the experiments to compare.
        metrics: One figure per metric (validation dashed, training solid).
        smoothing_std: Gaussian smoothing, in epochs.
        logx: Log-scale epochs axis.
        ylim: Y range.
    """

    name: str
    title: str = ""
    experiments: tuple[str, ...]
    metrics: tuple[str, ...] = ("loss", "accuracy")
    smoothing_std: float = Field(default=0.0, ge=0)
    logx: bool = False
    ylim: tuple[float, float] | None = None


class ExperimentFile(_Spec):
    """All experiments of one file (a lab is such a file)."""

    title: str = ""
    description: str = ""
    source: str = "<python>"
    experiments: tuple[ExperimentSpec, ...]
    compare: tuple[CompareSpec, ...] = ()

    def __getitem__(self, name: str) -> ExperimentSpec:
        for exp in self.experiments:
            if exp.name == name:
                return exp
        raise KeyError(name)

    def names(self) -> list[str]:
        return [e.name for e in self.experiments]

    def layer_types(self) -> tuple[str, ...]:
        """Layer class names of every model in the file (for the backend rule)."""
        return tuple(t for e in self.experiments if e.model for t in e.model.layer_types())


def _plain(value: Any) -> Any:
    """Undo the Typed nesting so dumps read like the TOML users write."""
    if isinstance(value, dict):
        if set(value) == {"type", "args"} and isinstance(value["args"], dict):
            return {"type": value["type"], **_plain(value["args"])}
        if "params" in value and "name" in value and "test_size" in value:
            params = value.pop("params")
            return {**_plain(value), **_plain(params)}
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# --------------------------------------------------------------------------- parsing


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into a copy of ``base``; tables merge, everything else replaces."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _format_loc(loc: Sequence[int | str], labels: Mapping[int, str]) -> str:
    parts: list[str] = []
    for i, item in enumerate(loc):
        if isinstance(item, int):
            label = labels.get(item) if i == 1 and loc[0] == "experiments" else None
            parts.append(f"[{item}]" + (f" ({label})" if label else ""))
        elif item in ("function-after", "function-before", "function-plain") or "[" in item:
            continue  # pydantic's internal validator names
        else:
            parts.append(("." if parts else "") + item)
    return "".join(parts).replace(".args.", ".").replace(".params.", ".")


def _allowed_keys(loc: Sequence[int | str]) -> list[str]:
    """The keys allowed at the table that holds ``loc`` (for unknown-key messages)."""
    models: dict[str, type[_Spec]] = {
        "": ExperimentSpec,
        "data": DataSpec,
        "model": ModelSpec,
        "compile": CompileSpec,
        "fit": FitSpec,
        "reference": ReferenceSpec,
        "expect": ExpectSpec,
    }
    names = [str(p) for p in loc[:-1] if isinstance(p, str) and p != "experiments"]
    key = names[-1] if names else ""
    model = models.get(key, ExperimentSpec)
    return sorted(model.model_fields)


def spec_error_from_validation(
    exc: ValidationError, *, source: str, labels: Mapping[int, str] | None = None
) -> SpecError:
    """Turn pydantic's errors into one message naming file, key path, value and fix."""
    lines = []
    for err in exc.errors():
        loc = err["loc"]
        path = _format_loc(loc, labels or {})
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            bad = str(loc[-1])
            allowed = _allowed_keys(loc)
            lines.append(
                f"{path}: unknown key {bad!r}.{did_you_mean(bad, allowed)} "
                f"Allowed keys: {', '.join(allowed)}."
            )
        elif err["type"] == "missing":
            lines.append(f"{path}: required key is missing.")
        else:
            key = next((str(p) for p in reversed(loc) if isinstance(p, str)), "value")
            if "Received:" in msg:  # a message of our own, already complete
                lines.append(f"{path or '(top level)'}: {msg}")
                continue
            lines.append(f"{path or '(top level)'}: {msg}. Received: {key}={err.get('input')!r}.")
    first, *rest = lines
    more = f" (and {len(rest)} more: {'; '.join(rest)})" if rest else ""
    return SpecError(f"{source}: {first}{more}")


def _variant_label(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "x".join(_variant_label(v) for v in value)
    if isinstance(value, Mapping):
        return "_".join(f"{k}{_variant_label(v)}" for k, v in value.items())
    return re.sub(r"[^A-Za-z0-9_.-]", "", str(value)) or "value"


def expand_variants(items: Sequence[Any], *, source: str = "<python>") -> list[Any]:
    """Expand each experiment's ``variants`` table into one experiment per combination.

    ``variants = {"compile.learning_rate" = [0.001, 0.01], "fit.epochs" = [10, 20]}`` on
    experiment ``lr`` gives ``lr-learning_rate0.001-epochs10`` and three more: independent
    runs, each seeded with its own ``seed``, so their results do not depend on the order or
    on how many run at once (``--jobs``).
    """
    out: list[Any] = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping) or "variants" not in item:
            out.append(item)
            continue
        variants = item["variants"]
        where = f"{source}: experiments[{index}] ({item.get('name')}).variants"
        if not isinstance(variants, Mapping) or not variants:
            raise SpecError(
                f"{where}: must be a table of key path -> list of values, e.g. "
                f'variants = {{"compile.learning_rate" = [0.001, 0.01]}}. Received: {variants!r}.'
            )
        for key, values in variants.items():
            if not isinstance(values, list) or not values:
                raise SpecError(
                    f"{where}.{key}: must be a non-empty list of values. Received: {values!r}."
                )
        keys = list(variants)
        base = {k: v for k, v in item.items() if k != "variants"}
        for combo in itertools.product(*(variants[k] for k in keys)):
            variant = copy.deepcopy(base)
            for key, value in zip(keys, combo, strict=True):
                target = variant
                *parents, leaf = key.split(".")
                for part in parents:
                    target = target.setdefault(part, {})
                    if not isinstance(target, dict):
                        raise SpecError(f"{where}.{key}: {part!r} is not a table.")
                target[leaf] = copy.deepcopy(value)
            suffix = "-".join(
                f"{k.split('.')[-1]}{_variant_label(v)}" for k, v in zip(keys, combo, strict=True)
            )
            variant["name"] = f"{base.get('name', 'experiment')}-{suffix}"
            out.append(variant)
    return out


def _check_nesting(document: Mapping[str, Any], source: str) -> None:
    """Refuse documents nested deeper than any spec needs (before recursive code sees them)."""
    stack: list[tuple[Any, str, int]] = [(document, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_NESTING:
            raise SpecError(
                f"{source}: {path}: nested more than {MAX_NESTING} levels deep (tables or "
                "arrays within each other); an experiment spec needs far fewer."
            )
        if isinstance(value, Mapping):
            stack += [(v, f"{path}.{k}" if path else str(k), depth + 1) for k, v in value.items()]
        elif isinstance(value, list | tuple):
            stack += [(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]


def _label(name: Any) -> str:
    """An experiment's name for the key paths of messages: printable and short."""
    text = str(name)
    if not text.isprintable():
        text = repr(text)[1:-1]
    return text if len(text) <= 40 else f"{text[:37]}..."


def parse_experiments(document: Mapping[str, Any], *, source: str = "<python>") -> ExperimentFile:
    """Validate a parsed TOML document (a dict) into an :class:`ExperimentFile`.

    Raises:
        SpecError: naming ``source``, the key path, the value received and what is allowed.
    """
    _check_nesting(document, source)
    doc = dict(document)
    header_keys = {"title", "description", "defaults", "experiments", "compare"}
    if "experiments" in doc:
        unknown = sorted(set(doc) - header_keys)
        if unknown:
            raise SpecError(
                f"{source}: unknown top-level key {unknown[0]!r}."
                f"{did_you_mean(unknown[0], sorted(header_keys))} A file with "
                "[[experiments]] allows only title, description, defaults and experiments "
                "at the top level; put shared settings under [defaults]."
            )
        raw = doc["experiments"]
        if not isinstance(raw, list) or not raw:
            raise SpecError(
                f"{source}: `experiments` must be a non-empty array of tables "
                f"([[experiments]]). Received: {raw!r}."
            )
        defaults = doc.get("defaults", {})
        if not isinstance(defaults, Mapping):
            raise SpecError(f"{source}: `defaults` must be a table. Received: {defaults!r}.")
        items = [deep_merge(defaults, e) if isinstance(e, Mapping) else e for e in raw]
        title, description = doc.get("title", ""), doc.get("description", "")
    else:
        single = {k: v for k, v in doc.items()}
        items = [single]
        title, description = single.get("title", ""), single.get("description", "")
        if "name" not in single:
            single["name"] = Path(source).stem if source != "<python>" else "experiment"
    items = expand_variants(items, source=source)
    labels = {i: _label(e.get("name")) for i, e in enumerate(items) if isinstance(e, Mapping)}
    try:
        parsed = ExperimentFile.model_validate(
            {
                "title": title,
                "description": description,
                "source": source,
                "experiments": items,
                "compare": doc.get("compare", []) if "experiments" in doc else [],
            }
        )
    except ValidationError as exc:
        raise spec_error_from_validation(exc, source=source, labels=labels) from exc
    except SpecError as exc:  # raised inside a validator, not as a ValueError
        raise SpecError(f"{source}: {exc}") from exc
    _check_cross_references(parsed)
    return parsed


def _check_cross_references(parsed: ExperimentFile) -> None:
    names = parsed.names()
    for i, comparison in enumerate(parsed.compare):
        for name in comparison.experiments:
            if name not in names:
                raise SpecError(
                    f"{parsed.source}: compare[{i}] ({comparison.name}).experiments: no "
                    f"experiment named {name!r}.{did_you_mean(name, names)} Experiments: "
                    f"{', '.join(names)}."
                )
    seen: dict[str, ExperimentSpec] = {}
    for i, exp in enumerate(parsed.experiments):
        where = f"{parsed.source}: experiments[{i}] ({exp.name})"
        if exp.model is None:
            raise SpecError(
                f"{where}.model: required key is missing. Give `model.layers = [...]` or "
                '`model.preset = "mlp"`.'
            )
        for data_name in exp.when:
            try:
                exp.for_data(data_name)
            except ValidationError as err:
                inner = spec_error_from_validation(err, source="")
                raise SpecError(
                    f"{where}.when.{data_name}: {str(inner).removeprefix(': ')}"
                ) from None
        if exp.name in seen:
            raise SpecError(
                f"{where}.name: the name {exp.name!r} is used twice; experiment names "
                "must be unique within a file."
            )
        lr = exp.compile.learning_rate
        if isinstance(lr, str):
            target, _, method = lr[len(SUGGESTED_PREFIX) :].partition(":")
            if method and method not in SUGGESTIONS:
                raise SpecError(
                    f"{where}.compile.learning_rate: unknown suggestion {method!r}. Write "
                    f"'suggested:{target}' or 'suggested:{target}:METHOD' with METHOD one of "
                    f"{', '.join(SUGGESTIONS)}. Received: learning_rate={lr!r}."
                )
            earlier = seen.get(target)
            if earlier is None or not earlier.fit.lr_range_test:
                candidates = [n for n, e in seen.items() if e.fit.lr_range_test]
                raise SpecError(
                    f"{where}.compile.learning_rate: {lr!r} must name an earlier "
                    "experiment with `fit.lr_range_test = true`. Received: "
                    f"learning_rate={lr!r}. Candidates: {candidates or 'none'}."
                    + did_you_mean(target, candidates)
                )
        seen[exp.name] = exp


def load_experiments(path: str | Path) -> ExperimentFile:
    """Read and validate a TOML experiment file.

    Args:
        path: The ``.toml`` file.

    Returns:
        The validated experiments.

    Raises:
        SpecError: missing/unreadable file, malformed TOML (with line and column), or an
            invalid value (with the key path, the value received and what is allowed).
    """
    path = Path(path)
    if not path.exists():
        raise SpecError(
            f"{path}: spec file not found. Check the path, or list labs with `neuralab labs`."
        )
    if path.is_dir():
        raise SpecError(f"{path}: is a directory; expected a TOML experiment file.")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read the spec file ({exc}).") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: malformed TOML: {exc}.") from exc
    except RecursionError as exc:  # tomllib parses nested arrays and tables recursively
        raise SpecError(
            f"{path}: malformed TOML: arrays or tables nested too deeply to read; an "
            f"experiment file nests at most {MAX_NESTING} levels."
        ) from exc
    return _resolve_data_paths(parse_experiments(document, source=str(path)), path.parent)


def _resolve_data_paths(parsed: ExperimentFile, folder: Path) -> ExperimentFile:
    """A relative ``data.path`` is relative to the spec file's folder, not to the working
    directory, so a spec and its table can be moved (or opened from a notebook) together."""

    def resolve(value: Any) -> Any:
        if isinstance(value, str) and value:
            return str((folder / Path(value).expanduser()).absolute())
        return value

    experiments = []
    for exp in parsed.experiments:
        if "path" in exp.data.params:
            params = {**exp.data.params, "path": resolve(exp.data.params["path"])}
            exp = exp.model_copy(update={"data": exp.data.model_copy(update={"params": params})})
        when = {}  # `[experiments.when.quick] data.path = "small.csv"`: the same folder
        for data_name, override in exp.when.items():
            data = override.get("data")
            if isinstance(data, dict) and "path" in data:
                override = {**override, "data": {**data, "path": resolve(data["path"])}}
            when[data_name] = override
        if when != exp.when:
            exp = exp.model_copy(update={"when": when})
        experiments.append(exp)
    return parsed.model_copy(update={"experiments": tuple(experiments)})
