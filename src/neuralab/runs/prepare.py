"""Preparing an experiment: data loaded and split, model built and compiled, shape doctor run.

Nothing trains here and nothing is written: a bad spec is refused before a run directory exists.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from neuralab.config import SUGGESTED_PREFIX, ExperimentSpec, ScheduleSpec
from neuralab.data.dataset import Dataset, Splits, split_dataset
from neuralab.data.registry import load_dataset
from neuralab.data.table import TableDataset, fill_missing, fit_table
from neuralab.errors import SpecError, did_you_mean
from neuralab.models.shape_doctor import Finding, check_model_fits_data
from neuralab.runs.stopping import _stop_point
from neuralab.training.seeding import set_random_seed

if TYPE_CHECKING:
    import keras

logger = logging.getLogger(__name__)

QUICK_EPOCHS = 5
DEFAULT_SUGGESTION = "minimum/10"


@dataclass(repr=False)
class PreparedExperiment:
    """A validated experiment, ready to train: data split, model built and compiled."""

    spec: ExperimentSpec
    splits: Splits
    model: keras.Model
    loss: Any
    learning_rate: Any
    findings: list[Finding]
    validation: tuple[str, Dataset] | None
    callbacks: list[Any]
    epochs: int

    def __repr__(self) -> str:
        return f"PreparedExperiment({self.spec.name!r}, {self.splits!r}, epochs={self.epochs})"


def resolve_learning_rate(
    spec: ExperimentSpec, suggestions: Mapping[str, Mapping[str, float]], where: str
) -> Any:
    from neuralab.models.builder import build_schedule

    lr = spec.compile.learning_rate
    if isinstance(lr, ScheduleSpec):
        return build_schedule(lr.to_dict(), where=f"{where}.compile.learning_rate")
    if isinstance(lr, str):
        target, _, method = lr[len(SUGGESTED_PREFIX) :].partition(":")
        method = method or DEFAULT_SUGGESTION
        found = suggestions.get(target)
        if found is None:
            raise SpecError(
                f"{where}.compile.learning_rate: {lr!r} needs the learning-rate range test of "
                f"experiment {target!r} to run first (in the same file, earlier)."
            )
        if method not in found:
            raise SpecError(
                f"{where}.compile.learning_rate: unknown suggestion {method!r}. Available: "
                f"{', '.join(sorted(found))}."
            )
        return float(found[method])
    return lr


def resolve_splits(loaded: Dataset | Splits, spec: ExperimentSpec, *, where: str) -> Splits:
    """Apply ``spec.data`` (class names, test and validation sizes) to loaded data.

    A data set that comes split (Fashion-MNIST's train and test files) keeps its splits:
    asking for a test or validation split it already has is an error; a validation split it
    lacks is taken from the end of its training part.
    """
    from dataclasses import replace

    seed = spec.data.split_seed if spec.data.split_seed is not None else spec.seed
    parts = loaded.items() if isinstance(loaded, Splits) else [("data", loaded)]
    for _, part in parts:
        part.check_finite()
    names = spec.data.class_names
    if names is not None:
        n_classes = parts[0][1].n_classes
        if len(names) != n_classes:
            raise SpecError(
                f"{where}.data.class_names: {len(names)} names given for the {n_classes} "
                f"classes of the data. Received: class_names={list(names)}."
            )
    if isinstance(loaded, Splits):
        for key, present in (("test_size", loaded.test), ("validation_size", loaded.validation)):
            if getattr(spec.data, key) and present is not None:
                raise SpecError(
                    f"{where}.data.{key}: the {spec.data.name!r} data set comes with its own "
                    f"{key.removesuffix('_size')} split; remove `{key}`."
                )
        splits = loaded
        if spec.data.validation_size and loaded.validation is None:
            carved = split_dataset(
                loaded.train,
                validation_size=spec.data.validation_size,
                shuffle=spec.data.shuffle,
                seed=seed,
                where=f"{where}.data",
            )
            splits = Splits(train=carved.train, validation=carved.validation, test=loaded.test)
    else:
        splits = split_dataset(
            loaded,
            test_size=spec.data.test_size,
            validation_size=spec.data.validation_size,
            shuffle=spec.data.shuffle,
            seed=seed,
            where=f"{where}.data",
        )
    if names is not None:
        splits = Splits(
            **{key: replace(part, class_names=tuple(names)) for key, part in splits.items()}
        )
    return fill_missing(splits)  # a table's empty cells, from its training split


def _input_layers(spec: ExperimentSpec, data: Dataset, *, where: str) -> list[Any]:
    """Layers put in front of the spec's model: for a table, ``TableEncoding`` (normalisation
    and one-hot categories fitted on the training split); ``Rescaling`` for data that carry a
    rescale factor (image folders: 1/255); and the ``augment`` section's augmentation layers
    (active only while training, so validation and test data are never augmented)."""
    import keras

    layers: list[Any] = []
    if isinstance(data, TableDataset):
        from neuralab.models.preprocessing import table_encoding

        layers.append(table_encoding(fit_table(data)))
    if data.rescale is not None:
        layers.append(keras.layers.Rescaling(data.rescale, name="rescaling"))
    if spec.augment:
        from neuralab.data.augment import augmentation_layers

        if len(data.sample_shape) != 3:
            raise SpecError(
                f"{where}.augment: image augmentation needs images (height, width, channels); "
                f"the data's samples have shape {data.sample_shape}."
            )
        layers += augmentation_layers(spec.augment, where=f"{where}.augment")
    return layers


def _load(spec: ExperimentSpec, *, where: str, cache: dict[str, Any] | None) -> Dataset | Splits:
    import json

    key = json.dumps([spec.data.name, spec.data.params], sort_keys=True, default=str)
    if cache is not None and key in cache:
        found: Dataset | Splits = cache[key]
        return found
    loaded = load_dataset(spec.data.name, spec.data.params, where=f"{where}.data")
    if cache is not None:
        cache[key] = loaded
    return loaded


def prepare_experiment(
    spec: ExperimentSpec,
    *,
    suggestions: Mapping[str, Mapping[str, float]] | None = None,
    data: Dataset | Splits | None = None,
    model: keras.Model | None = None,
    quick: bool = False,
    where: str = "",
    data_cache: dict[str, Any] | None = None,
) -> PreparedExperiment:
    """Load data, build and compile the model, and run the shape doctor; nothing trains.

    Args:
        spec: The experiment.
        suggestions: Learning-rate suggestions of earlier range tests, by experiment name.
        data: Use this data set instead of loading ``spec.data``.
        model: Use this Keras model instead of building ``spec.model``. If it is not
            compiled yet, it is compiled with ``spec.compile``.
        quick: Cap epochs at ``QUICK_EPOCHS`` (for tests and smoke runs).
        where: Prefix for error messages (file and experiment).
        data_cache: Data sets loaded so far, by loader and parameters: experiments of one
            file that read the same data load (and warn about a bad file) once.

    Raises:
        SpecError, DataError, ShapeError: with the key path and the fix.
    """

    from neuralab.models.builder import (
        build_callback,
        build_loss,
        build_metrics,
        build_model,
        build_optimizer,
    )

    _stop_point()
    where = where or f"experiment {spec.name!r}"
    quick_epochs = QUICK_EPOCHS
    if quick:
        # A lab's own quick settings (`when.quick`) choose the epochs; otherwise they are capped.
        quick_fit = (spec.when.get("quick") or {}).get("fit") or {}
        if "epochs" in quick_fit:
            quick_epochs = int(quick_fit["epochs"])
        spec = spec.for_data("quick")
    loaded = data if data is not None else _load(spec, where=where, cache=data_cache)
    splits = resolve_splits(loaded, spec, where=where)
    spec = spec.for_data(splits.train.name)
    # Seed before building: weight initialisation draws from Keras's global seed.
    set_random_seed(spec.seed)
    if model is None:
        if spec.model is None:
            raise SpecError(
                f"{where}.model: no model: give `model` in the spec, or pass a keras.Model."
            )
        model = build_model(
            spec.model,
            input_shape=splits.train.sample_shape,
            name=spec.name,
            where=f"{where}.model",
            prefix=_input_layers(spec, splits.train, where=where),
        )
    user_compiled = model is not None and getattr(model, "optimizer", None) is not None
    if user_compiled:
        loss = model.loss
        learning_rate = None
    else:
        loss = build_loss(spec.compile, where=f"{where}.compile")
        learning_rate = resolve_learning_rate(spec, suggestions or {}, where)
    findings = check_model_fits_data(model, splits.train, loss=loss, where=where)
    callbacks = [
        build_callback(cb.type, cb.args, where=f"{where}.fit.callbacks[{i}]")
        for i, cb in enumerate(spec.fit.callbacks)
    ]
    if not user_compiled:
        optimizer = build_optimizer(spec.compile, learning_rate, where=f"{where}.compile")
        metrics = build_metrics(spec.compile, where=f"{where}.compile")
        model.compile(loss=loss, optimizer=optimizer, metrics=metrics)
        check_expectation_names(spec, metrics, where=where)
    choice = spec.fit.validation
    validation: tuple[str, Dataset] | None = None
    if choice in ("auto", "validation") and splits.validation is not None:
        validation = ("validation", splits.validation)
    elif choice in ("auto", "test") and splits.test is not None:
        validation = ("test", splits.test)
    elif choice in ("validation", "test"):
        raise SpecError(
            f"{where}.fit.validation: {choice!r} needs a {choice} split; set "
            f"data.{choice}_size, or use validation = 'auto'."
        )
    epochs = min(spec.fit.epochs, quick_epochs) if quick else spec.fit.epochs
    _stop_point()
    return PreparedExperiment(
        spec=spec,
        splits=splits,
        model=model,
        loss=loss,
        learning_rate=learning_rate,
        findings=findings,
        validation=validation,
        callbacks=callbacks,
        epochs=epochs,
    )


def check_expectation_names(spec: ExperimentSpec, metrics: Sequence[Any], *, where: str) -> None:
    """Refuse ``expect`` bands on metrics the run will not measure (before it trains).

    Valid names are ``train_``, ``validation_`` or ``test_`` followed by ``loss`` or a
    compiled metric's name (``metrics`` as given to ``model.compile``).
    """
    names = ["loss", *(m if isinstance(m, str) else str(m.name) for m in metrics)]
    valid = [f"{split}_{name}" for split in ("train", "validation", "test") for name in names]
    for i, exp in enumerate(spec.expect):
        if exp.metric not in valid:
            raise SpecError(
                f"{where}.expect[{i}].metric: the run measures no {exp.metric!r}."
                f"{did_you_mean(exp.metric, valid)} Valid names: {', '.join(valid)} (a split, "
                "then `loss` or a name from `compile.metrics`)."
            )
