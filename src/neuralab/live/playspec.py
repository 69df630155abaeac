"""What the play page sends (its form, as JSON) turned into an experiment document and spec.

The page's form is checked field by field with bounds that keep the server responsive, then
written as the same document a TOML file holds (:func:`page_document`) and validated by
:func:`neuralab.config.parse_experiments` like any spec; nothing from the page is evaluated
except a learning-rate schedule, through the bounded evaluator of
:mod:`neuralab.training.schedules`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from neuralab.config import ExperimentSpec, parse_experiments
from neuralab.errors import SpecError, one_of

GENERATED = ("circles", "moons", "spirals", "blobs")
DATA_NAMES = (*GENERATED, "csv")
ACTIVATIONS = (
    "relu",
    "tanh",
    "sigmoid",
    "linear",
    "elu",
    "selu",
    "gelu",
    "silu",
    "leaky_relu",
    "softplus",
)
OPTIMIZERS = ("Adam", "SGD", "RMSprop", "Adagrad", "AdamW", "Nadam")
#: The generated data sets' own seed: changing the training seed keeps the same points.
DATA_SEED = 42
MAX_HIDDEN = 8

DEFAULT_CONFIG: dict[str, Any] = {
    "data": {"name": "circles", "n_samples": 1000, "noise": 0.03, "test_share": 0.2},
    "layers": [
        {"units": 4, "activation": "relu", "dropout": 0.0},
        {"units": 4, "activation": "relu", "dropout": 0.0},
    ],
    "l2": 0.0,
    "optimizer": "Adam",
    "learning_rate": 0.01,
    "batch_size": 32,
    "epochs": 100,
    "seed": 42,
    "lr_schedule": "",
}


@dataclass(frozen=True)
class Upload:
    """A table the page uploaded: where it is kept and what the loader made of it."""

    id: str
    name: str
    path: str
    label: str | None
    n_classes: int
    n_rows: int
    params: dict[str, Any]  # the `csv` data set's keys (path, label)
    exportable: bool = True  # a spec file can name it (this neuralab has the `csv` data set)


def _number(
    table: Mapping[str, Any],
    key: str,
    *,
    where: str,
    low: float,
    high: float,
    integer: bool = False,
    default: Any = None,
) -> Any:
    value = table.get(key, default)
    kind = "a whole number" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecError(f"{where}.{key}: must be {kind}. Received: {key}={value!r}.")
    if integer and (isinstance(value, float) and not value.is_integer()):
        raise SpecError(f"{where}.{key}: must be {kind}. Received: {key}={value!r}.")
    if not math.isfinite(value) or not low <= value <= high:
        raise SpecError(
            f"{where}.{key}: must be from {low:g} to {high:g}. Received: {key}={value!r}."
        )
    return int(value) if integer else float(value)


def _choice(table: Mapping[str, Any], key: str, allowed: tuple[str, ...], *, where: str) -> str:
    value = table.get(key)
    if value not in allowed:
        raise SpecError(f"{where}.{key}: " + one_of(key, value, allowed))
    return str(value)


def n_classes_of(config: Mapping[str, Any], upload: Upload | None = None) -> int:
    """How many classes the page's data have (2 for circles and moons)."""
    data = config.get("data") or {}
    name = data.get("name")
    if name == "csv":
        return upload.n_classes if upload is not None else 2
    if name in ("spirals", "blobs"):
        return _number(data, "n_classes", where="data", low=2, high=8, integer=True, default=3)
    return 2


def _data_table(data: Mapping[str, Any], upload: Upload | None) -> dict[str, Any]:
    where = "data"
    name = _choice(data, "name", DATA_NAMES, where=where)
    share = _number(data, "test_share", where=where, low=0.05, high=0.5, default=0.2)
    split = {"test_size": round(share, 4), "shuffle": True, "split_seed": DATA_SEED}
    if name == "csv":
        if upload is None:
            raise SpecError(
                "data: no table uploaded yet. Choose a CSV file with two numeric feature "
                "columns and a class column."
            )
        return {"name": "csv", **upload.params, **split}
    n = _number(data, "n_samples", where=where, low=20, high=5000, integer=True, default=1000)
    noise_high = 5.0 if name == "blobs" else 1.0
    noise = _number(data, "noise", where=where, low=0.0, high=noise_high, default=0.1)
    table: dict[str, Any] = {"name": name, "n_samples": n}
    if name == "blobs":
        table["n_classes"] = n_classes_of({"data": data})
        table["cluster_std"] = round(noise, 4)
    else:
        if name == "spirals":
            table["n_classes"] = n_classes_of({"data": data})
        table["noise"] = round(noise, 4)
    table["seed"] = DATA_SEED
    return {**table, **split}


def _layers(config: Mapping[str, Any], n_classes: int) -> list[dict[str, Any]]:
    hidden = config.get("layers", [])
    if not isinstance(hidden, list) or len(hidden) > MAX_HIDDEN:
        raise SpecError(
            f"layers: must be a list of at most {MAX_HIDDEN} hidden layers. Received: "
            f"{type(hidden).__name__} of {len(hidden) if isinstance(hidden, list) else '?'}."
        )
    l2 = _number(config, "l2", where="model", low=0.0, high=1.0, default=0.0)
    regularizer = {"kernel_regularizer": {"l2": l2}} if l2 > 0 else {}
    layers: list[dict[str, Any]] = []
    for i, layer in enumerate(hidden):
        where = f"layers[{i}]"
        if not isinstance(layer, Mapping):
            raise SpecError(f"{where}: must be a table of units, activation and dropout.")
        units = _number(layer, "units", where=where, low=1, high=256, integer=True)
        activation = _choice(layer, "activation", ACTIVATIONS, where=where)
        dropout = _number(layer, "dropout", where=where, low=0.0, high=0.9, default=0.0)
        layers.append({"type": "Dense", "units": units, "activation": activation, **regularizer})
        if dropout > 0:
            layers.append({"type": "Dropout", "rate": round(dropout, 4)})
    if n_classes == 2:
        layers.append({"type": "Dense", "units": 1, "activation": "sigmoid", **regularizer})
    else:
        layers.append({"type": "Dense", "units": n_classes, "activation": "softmax", **regularizer})
    return layers


def page_document(
    config: Mapping[str, Any], *, upload: Upload | None = None, epochs: int | None = None
) -> dict[str, Any]:
    """The experiment document (what a TOML spec file holds) for the page's form.

    Args:
        config: The page's form as JSON (see ``DEFAULT_CONFIG``).
        upload: The uploaded table, when ``data.name`` is ``csv``.
        epochs: Epochs to write instead of the form's (the epochs trained so far).

    Raises:
        SpecError: a field is missing, of the wrong kind or out of bounds (named).
    """
    if not isinstance(config, Mapping):
        raise SpecError("the page sent no form (expected a JSON object).")
    data = config.get("data")
    if not isinstance(data, Mapping):
        raise SpecError("data: missing; choose a data set.")
    n_classes = n_classes_of(config, upload)
    data_table = _data_table(data, upload)
    optimizer = _choice(config, "optimizer", OPTIMIZERS, where="compile")
    learning_rate = _number(config, "learning_rate", where="compile", low=1e-6, high=10.0)
    batch_size = _number(config, "batch_size", where="fit", low=1, high=4096, integer=True)
    form_epochs = _number(config, "epochs", where="fit", low=1, high=5000, integer=True)
    seed = _number(config, "seed", where="experiment", low=0, high=2**32 - 1, integer=True)
    schedule = config.get("lr_schedule") or ""
    if not isinstance(schedule, str) or len(schedule) > 200:
        raise SpecError("fit.lr_schedule: must be an expression of at most 200 characters.")
    fit: dict[str, Any] = {"epochs": int(epochs or form_epochs), "batch_size": batch_size}
    if schedule.strip():
        fit["lr_schedule"] = schedule.strip()
    hidden = [layer for layer in _layers(config, n_classes) if layer["type"] == "Dense"][:-1]
    shape = "-".join(f"{layer['units']} {layer['activation']}" for layer in hidden) or "linear"
    return {
        "name": f"play_{data_table['name']}",
        "title": f"neuralab play: {data_table['name']}, {shape}",
        "seed": seed,
        "data": data_table,
        "model": {"layers": _layers(config, n_classes)},
        "compile": {
            "loss": "binary_crossentropy" if n_classes == 2 else "sparse_categorical_crossentropy",
            "optimizer": optimizer,
            "learning_rate": learning_rate,
            "metrics": ["accuracy"],
        },
        "fit": fit,
    }


def document_spec(document: Mapping[str, Any]) -> ExperimentSpec:
    """Validate a page document as an experiment spec (the same checks as a TOML file's).

    Raises:
        SpecError: naming the key and the fix.
    """
    return parse_experiments(dict(document), source="page").experiments[0]
