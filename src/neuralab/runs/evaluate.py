"""Evaluating and using a finished run: ``neuralab evaluate`` and ``neuralab predict``.

Both load the run's ``model.keras``. Image runs keep their ``Rescaling`` layer inside the
model, so raw image files go straight in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neuralab.analysis.evaluation import (
    ClassificationEvaluation,
    ConfusionMatrixDisplay,
    plot_image_grid,
    to_probabilities,
)
from neuralab.errors import DataError, RunError, SpecError
from neuralab.record import MetricsRecord, RunDir, SpecRecord
from neuralab.record import files as record_files

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


def load_run_model(path: str | Path) -> tuple[Any, SpecRecord]:
    """The trained model and the stored spec of a complete run.

    Raises:
        RunError: not a run, an incomplete run, or no saved model.
    """
    import keras

    from neuralab.data.augment import custom_objects
    from neuralab.models.preprocessing import custom_objects as table_objects

    run = RunDir.open(path)
    if not run.status.complete:
        raise RunError(
            f"{run.path}: the run is incomplete (it was interrupted), so it has no trained "
            "model to use. Run it again to the end."
        )
    model_file = run.file(record_files.MODEL)
    if not model_file.exists():
        raise RunError(f"{run.path}: no {record_files.MODEL} in this run.")
    spec = run.read(SpecRecord)
    model = keras.saving.load_model(
        model_file, compile=False, custom_objects={**custom_objects(), **table_objects()}
    )
    return model, spec


def _from_logits(spec: dict[str, Any]) -> bool:
    loss = (spec.get("compile") or {}).get("loss")
    return isinstance(loss, dict) and bool(loss.get("from_logits"))


def _class_names(run_dir: Path) -> tuple[str, ...]:
    record = RunDir(run_dir).read_optional(MetricsRecord)
    return record.class_names if record else ()


@dataclass(repr=False)
class RunEvaluation:
    """An evaluation of a run's model on one split, with its displays."""

    run_dir: Path
    evaluation: ClassificationEvaluation
    data_source: str
    files: tuple[str, ...] = ()

    def confusion_display(self, *, title: str = "") -> ConfusionMatrixDisplay:
        return ConfusionMatrixDisplay.from_evaluation(self.evaluation, title=title).plot()

    def __repr__(self) -> str:
        return f"RunEvaluation({self.run_dir.name!r}, {self.evaluation!r})"


def evaluate_run(
    run_dir: str | Path,
    *,
    data: str | Path | None = None,
    split: str = "test",
    lang: str = "en",
    write: bool = True,
) -> RunEvaluation:
    """Evaluate a run's model on its data (``split``) or on other data (``data``: a folder or
    file for the run's data loader, e.g. an image folder).

    With ``write``, the run's ``evaluation.json`` and galleries are replaced and its report
    rebuilt (``neuralab evaluate``).

    Raises:
        RunError, SpecError, DataError: bad run, split or data.
    """
    from neuralab.config import ExperimentSpec
    from neuralab.data.registry import load_dataset
    from neuralab.runs.plots import save_evaluation
    from neuralab.runs.prepare import resolve_splits

    run = RunDir.open(run_dir)
    model, stored = load_run_model(run.path)
    spec = ExperimentSpec.model_validate(stored.spec)
    if stored.quick:
        spec = spec.for_data("quick")
    params = dict(spec.data.params)
    if data is not None:
        import inspect

        from neuralab.data.registry import DATASETS

        loader = DATASETS.get(spec.data.name)
        if loader is None or "path" not in inspect.signature(loader).parameters:
            raise SpecError(
                f"{run.path}: the run's data set {spec.data.name!r} is generated and takes no "
                "--data."
            )
        params["path"] = str(data)
    loaded = load_dataset(spec.data.name, params, where=f"{run.path}: data")
    splits = resolve_splits(loaded, spec, where=str(run.path))
    available = dict(splits.items())
    if split not in available:
        raise SpecError(
            f"{run.path}: no {split!r} split in this run's data; available: {', '.join(available)}."
        )
    part = available[split]
    if tuple(model.input_shape[1:]) != part.sample_shape:
        raise DataError(
            f"{run.path}: the model takes samples of shape {tuple(model.input_shape[1:])} but the "
            f"data have {part.sample_shape}. Use data prepared like the run's."
        )
    from_logits = _from_logits(spec.model_dump())
    if write:
        evaluation = save_evaluation(
            run,
            model,
            splits,
            from_logits=from_logits,
            evaluate_on=split,
            n_predictions=spec.report.predictions,
        )
        from neuralab.reports.html import write_run_report

        write_run_report(run.path, lang=lang)
    else:
        evaluation = ClassificationEvaluation.from_model(
            model, part.x, part.y, part.class_names, from_logits=from_logits, split=split
        )
    if evaluation is None:
        raise DataError(
            f"{run.path}: the labels of this data are not classes; nothing to evaluate."
        )
    return RunEvaluation(run.path, evaluation, part.source, part.files)


# --------------------------------------------------------------------------- predict


@dataclass(repr=False)
class Predictions:
    """Predicted class and probability per input."""

    inputs: list[str]
    classes: list[str]
    probabilities: np.ndarray  # (n, n_classes)
    images: list[np.ndarray] = field(default_factory=list)

    @property
    def confidence(self) -> np.ndarray:
        return self.probabilities.max(axis=1)

    def rows(self) -> list[tuple[str, str, float]]:
        return [
            (name, label, float(p))
            for name, label, p in zip(self.inputs, self.classes, self.confidence, strict=True)
        ]

    def figure(self, *, title: str = "") -> Any:
        """Each image with its predicted class and probability (images only)."""
        if not self.images:
            raise DataError("these inputs are not images; there is nothing to draw.")
        captions = [
            f"{Path(name).name}\n{label} ({100 * p:.1f}%)"
            for name, label, p in zip(self.inputs, self.classes, self.confidence, strict=True)
        ]
        return plot_image_grid(np.asarray(self.images), captions, title=title, columns=4)

    def __repr__(self) -> str:
        shown = ", ".join(f"{Path(n).name}: {c} ({p:.2f})" for n, c, p in self.rows()[:3])
        more = ", ..." if len(self.inputs) > 3 else ""
        return f"Predictions({len(self.inputs)} inputs: {shown}{more})"


def _read_rows(path: Path, width: int) -> np.ndarray:
    if path.suffix == ".npy":
        array = np.load(path, allow_pickle=False)
    else:
        try:
            array = np.loadtxt(path, delimiter=",", ndmin=2, dtype=np.float32)
        except ValueError as exc:
            raise DataError(f"{path}: cannot read numbers from this file ({exc}).") from None
    array = np.asarray(array, dtype=np.float32)
    if array.ndim == 1:
        array = array[None, :]
    if array.shape[-1] != width:
        raise DataError(
            f"{path}: rows have {array.shape[-1]} values but the model takes {width} features."
        )
    return array


def predict_files(run_dir: str | Path, files: Sequence[str | Path]) -> Predictions:
    """The run's model on image files (any size: resized to the model's input) or on CSV /
    ``.npy`` files of feature rows.

    Raises:
        RunError, DataError: bad run, missing or unreadable file, wrong number of features.
    """
    from neuralab.data.images import decode_image

    run_path = Path(run_dir)
    model, spec = load_run_model(run_path)
    shape = tuple(model.input_shape[1:])
    names = _class_names(run_path)
    inputs: list[str] = []
    batches: list[np.ndarray] = []
    images: list[np.ndarray] = []
    for item in files:
        path = Path(item)
        if not path.is_file():
            raise DataError(f"{path}: no such file.")
        if path.suffix.lower() in IMAGE_SUFFIXES:
            if len(shape) != 3:
                raise DataError(
                    f"{path}: an image, but this run's model takes samples of shape {shape}."
                )
            try:
                image = decode_image(path, (int(shape[0]), int(shape[1])))
            except (OSError, ValueError, SyntaxError) as exc:
                raise DataError(f"{path}: cannot read this image ({exc}).") from None
            images.append(image)
            batches.append(image[None].astype(np.float32))
            inputs.append(str(path))
        else:
            rows = _read_rows(path, int(np.prod(shape)))
            batches.append(rows.reshape((-1, *shape)))
            inputs += [f"{path}:{i + 1}" for i in range(len(rows))]
    x = np.concatenate(batches)
    outputs = model.predict(x, verbose=0, batch_size=64)
    probabilities = to_probabilities(outputs, from_logits=_from_logits(spec.spec))
    if not names or len(names) != probabilities.shape[1]:
        names = tuple(str(i) for i in range(probabilities.shape[1]))
    classes = [names[i] for i in probabilities.argmax(axis=1)]
    return Predictions(inputs, classes, probabilities, images)
