"""The one data type every loader returns."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from neuralab.errors import DataError

LabelKind = Literal["binary", "int", "onehot", "multilabel", "continuous"]


@dataclass(frozen=True, repr=False)
class Dataset:
    """Features and labels with their class names.

    Args:
        x: Features, shape ``(n_samples, *sample_shape)``, float32.
        y: Labels, shape ``(n_samples,)`` of class ids or ``(n_samples, n_classes)`` one-hot.
        class_names: Display name of each class, in label order.
        name: Short name (``"circles"``).
        source: Where the data came from, for reports (``"sklearn make_circles(...)"``).
        notes: Things a reader of the report should know (e.g. a stand-in data set was used).
        rescale: Factor the model applies to ``x`` first (images keep 0-255 pixels and
            carry ``1/255``; neuralab puts a ``Rescaling`` layer in front of the model).
        files: The file each sample came from (image folders), for galleries and reports.
    """

    x: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...] = ()
    name: str = "data"
    source: str = ""
    notes: tuple[str, ...] = field(default=())
    rescale: float | None = None
    files: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y):
            raise DataError(
                f"{self.name}: features and labels differ in length: x has {len(self.x)} "
                f"rows, y has {len(self.y)}. Pass one label per sample."
            )
        if not self.class_names:
            object.__setattr__(
                self, "class_names", tuple(str(i) for i in range(self._infer_n_classes()))
            )

    # ---------------------------------------------------------------- properties
    @property
    def n_samples(self) -> int:
        return len(self.x)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.x.shape[1:])

    @property
    def plane(self) -> bool:
        """Two numeric features: points in a plane, where a decision boundary can be drawn."""
        return self.sample_shape == (2,)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def _infer_n_classes(self) -> int:
        if self.y.ndim == 2:
            return int(self.y.shape[1])
        if self.y.size == 0 or not np.issubdtype(self.y.dtype, np.number):
            return 0
        return int(np.max(self.y)) + 1 if np.all(self.y >= 0) else 0

    @property
    def label_kind(self) -> LabelKind:
        """How the labels are encoded: ``binary`` (0/1 ids), ``int``, ``onehot``, ..."""
        return label_kind(self.y)

    def class_ids(self) -> np.ndarray:
        """Labels as integer class ids, shape ``(n_samples,)``."""
        if self.y.ndim == 2 and self.y.shape[1] > 1:
            return np.argmax(self.y, axis=1)
        return np.asarray(self.y).reshape(len(self.y)).astype(np.int64)

    # ---------------------------------------------------------------- operations
    def take(self, index: np.ndarray | slice) -> Dataset:
        """Rows ``index`` as a new dataset (same class names)."""
        files = tuple(np.asarray(self.files, dtype=object)[index]) if self.files else ()
        return replace(self, x=self.x[index], y=self.y[index], files=files)

    def check_finite(self) -> None:
        """Raise :class:`DataError` if any feature is NaN or infinite."""
        if not np.issubdtype(self.x.dtype, np.floating):
            return
        bad = ~np.isfinite(self.x)
        if bad.any():
            flat = bad.reshape(len(self.x), -1)
            rows = np.flatnonzero(flat.any(axis=1))
            col = int(np.flatnonzero(flat[rows[0]])[0])
            raise DataError(
                f"{self.source or self.name}: features contain {int(bad.sum())} NaN or "
                f"infinite values in {len(rows)} rows (first at row {int(rows[0])}, "
                f"column {col}). Drop or impute those rows before training."
            )

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, n_samples={self.n_samples}, "
            f"sample_shape={self.sample_shape}, n_classes={self.n_classes}, "
            f"labels={self.label_kind!r})"
        )


def label_kind(y: np.ndarray) -> LabelKind:
    """Classify a label array: binary, int, onehot, multilabel or continuous."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 2:
        is_01 = np.isin(y, (0, 1)).all()
        if is_01 and np.all(y.sum(axis=1) == 1):
            return "onehot"
        return "multilabel" if is_01 else "continuous"
    if y.size and np.issubdtype(y.dtype, np.floating) and not np.all(np.mod(y, 1) == 0):
        return "continuous"
    if y.size and np.isin(y, (0, 1)).all():
        return "binary"
    return "int"


@dataclass(frozen=True, repr=False)
class Splits:
    """Train / validation / test parts of one dataset (validation and test may be None)."""

    train: Dataset
    validation: Dataset | None = None
    test: Dataset | None = None

    def items(self) -> list[tuple[str, Dataset]]:
        parts = [("train", self.train), ("validation", self.validation), ("test", self.test)]
        return [(k, v) for k, v in parts if v is not None]

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={v.n_samples}" for k, v in self.items())
        return f"Splits({sizes})"


def _count(size: float | int, n: int, what: str, where: str) -> int:
    key = f"{where}.{what}:" if where else f"`{what}`"
    allowed = (
        f"Allowed: a row count from 0 to {n - 1} or a fraction in [0, 1) that leaves rows "
        "to train on, e.g. 0.2."
    )
    if (isinstance(size, float) and not math.isfinite(size)) or size < 0:
        raise DataError(
            f"{key} must be a row count or a fraction. Received: {what}={size!r}. {allowed}"
        )
    count = round(size * n) if isinstance(size, float) else int(size)
    if count >= n:
        raise DataError(
            f"{key} asks for {count} of {n} rows, leaving none to train on. "
            f"Received: {what}={size!r}. {allowed}"
        )
    return count


def split_dataset(
    data: Dataset,
    *,
    test_size: float | int = 0,
    validation_size: float | int = 0,
    shuffle: bool = False,
    seed: int = 42,
    where: str = "",
) -> Splits:
    """Split into train, validation and test parts.

    Without shuffling, the test rows are the last ``test_size`` rows and validation rows
    the last of the rest: the chapters' ``X[:800], X[800:]``.

    Args:
        data: The dataset.
        test_size: Rows (int) or fraction (float in (0, 1)) for testing.
        validation_size: Rows or fraction (of all rows) for validation.
        shuffle: Shuffle (seeded) before splitting.
        seed: Seed for the shuffle.
        where: Key path of the sizes for error messages, e.g. ``"spec.toml: data"``.

    Returns:
        The splits.

    Raises:
        DataError: a size is negative or not finite, or leaves no training rows.
    """
    n = data.n_samples
    n_test = _count(test_size, n, "test_size", where)
    n_val = _count(validation_size, n - n_test, "validation_size", where)
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    n_train = n - n_test - n_val
    train = data.take(order[:n_train])
    validation = data.take(order[n_train : n_train + n_val]) if n_val else None
    test = data.take(order[n_train + n_val :]) if n_test else None
    return Splits(train=train, validation=validation, test=test)
