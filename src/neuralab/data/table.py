"""A learner's own table (CSV, plain or gzip) as a data set: ``data = {name = "csv", ...}``.

The file's format is sniffed (:mod:`neuralab.data.table_format`); then every row is streamed
once, so a file larger than memory costs only the arrays kept (one float32 per cell used).

Columns are *numeric* (a column is numeric when at least 90% of its non-empty values in the
first 1,000 rows are numbers) or *categorical* (``categorical`` lists them; by default, the
others). In the returned :class:`TableDataset`, a numeric column holds its values as read
and a categorical column a code per text: a 24-bit hash of the text (``category_code``), the
same in every file, so a model trained on one file reads another. Missing cells are NaN
until :func:`fill_missing` replaces them.

What a model learns from the training split only (:func:`fit_table`: means and variances,
the categories seen, the values that fill missing cells) goes into the model itself
(:mod:`neuralab.models.preprocessing`), so ``model.keras`` takes raw values.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, NoReturn

import numpy as np

from neuralab.data.dataset import Dataset, Splits
from neuralab.data.table_format import (
    MISSING_MARKERS,
    ReadProgress,
    TableFormat,
    current_reading_progress,
    is_missing,
    normalize_text,
    parse_number,
    sniff_format,
    table_rows,
)
from neuralab.data.tabular import _stem
from neuralab.errors import DataError, did_you_mean, one_of

logger = logging.getLogger(__name__)

Kind = Literal["numeric", "categorical"]
#: What to do with an empty cell: stop and say where, leave the row out, or fill it with the
#: training split's mean (numeric) or most frequent value (categorical).
MISSING_POLICIES = ("error", "drop", "fill")
#: Rows whose values decide whether a column is numeric.
SAMPLE_ROWS = 1000
#: A column is numeric when at least this share of its non-empty sample values are numbers.
NUMERIC_SHARE = 0.9
#: Most distinct values of a categorical column (each becomes an input of the model).
MAX_CATEGORIES = 1000
MAX_CLASSES = 1000
_CODE_SPACE = 2**24 - 1  # codes are exact in float32: 1 .. 2**24 - 1 (0: "unknown")
_BLOCK_ROWS = 4096
_LOG_SECONDS = 10.0
_LISTED = 30


class TableError(DataError):
    """A table problem tied to one key of the spec (``key``: ``label``, ``features``, ...)."""

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


def category_code(text: str) -> int:
    """The code of a category: a hash of its text (stripped, NFC) in ``1 .. 2**24 - 1``.

    The same text has the same code in every file and process; 0 is the "unknown" slot.
    """
    digest = hashlib.blake2b(normalize_text(text).encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "big") % _CODE_SPACE + 1


# ------------------------------------------------------------------------------ the data
@dataclass(frozen=True)
class TableColumn:
    """One feature column: its name, kind and (categorical) the texts found in the file."""

    name: str
    kind: Kind
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, repr=False)
class TableDataset(Dataset):
    """A :class:`Dataset` read from a table, with what its columns are.

    Args:
        columns: The feature columns, in the order of ``x``'s columns.
        label: The label column's name.
        missing: The ``missing`` policy it was read with (NaN stays in ``x`` for ``fill``).
    """

    columns: tuple[TableColumn, ...] = ()
    label: str = ""
    missing: str = "error"

    @property
    def plane(self) -> bool:
        """Two numeric features (a categorical column's codes are not a coordinate)."""
        return super().plane and all(c.kind == "numeric" for c in self.columns)

    def check_finite(self) -> None:
        """NaN marks a missing cell to fill (``missing = "fill"``); anything else is checked."""
        if self.missing != "fill" or np.isinf(self.x).any():
            super().check_finite()

    def __repr__(self) -> str:
        kinds = ", ".join(f"{c.name}: {c.kind}" for c in self.columns)
        return (
            f"TableDataset(name={self.name!r}, n_samples={self.n_samples}, columns=[{kinds}], "
            f"label={self.label!r}, class_names={list(self.class_names)})"
        )


# ------------------------------------------------------------------------------ columns
def _check_names(value: Any, arg: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise TableError(
            f"`{arg}` must be a list of column names. Received: {arg}={value!r}"
            + (f"; write {arg} = [{value!r}]." if isinstance(value, str) else "."),
            key=arg,
        )
    names = [str(v) for v in value]
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise TableError(f"`{arg}` names the column {twice!r} twice.", key=arg)
    return names


def _find(name: str, names: list[str], path: Path, arg: str) -> int:
    wanted = normalize_text(str(name))
    if wanted in names:
        return names.index(wanted)
    listed = ", ".join(names[:_LISTED]) + (
        f", ... ({len(names) - _LISTED} more)" if len(names) > _LISTED else ""
    )
    if names and names[0] == "col_1" and all(n == f"col_{i + 1}" for i, n in enumerate(names)):
        listed += " (line 1 is not a header, so columns are numbered; set header = true if it is)"
    raise TableError(
        f"{path.name} has no column {name!r}.{did_you_mean(wanted, names)} Columns: {listed}.",
        key=arg,
    )


@dataclass
class _Plan:
    """Which columns are read, as what."""

    names: list[str]
    label: int
    features: list[int]
    kinds: list[Kind]
    explicit: set[int]  # listed in `categorical`


def _plan(
    path: Path,
    names: list[str],
    sample: list[tuple[int, list[str]]],
    fmt: TableFormat,
    *,
    label: str,
    features: list[str] | None,
    categorical: list[str] | None,
) -> _Plan:
    if not isinstance(label, str) or not label.strip():
        raise TableError(
            f"`label` must be the name of the column holding the classes. Received: "
            f"label={label!r}. Columns of {path.name}: {', '.join(names[:_LISTED])}.",
            key="label",
        )
    label_index = _find(label, names, path, "label")
    if features is None:
        feature_index = [i for i in range(len(names)) if i != label_index]
    else:
        feature_index = [_find(f, names, path, "features") for f in features]
        if label_index in feature_index:
            raise TableError(
                f"the label column {names[label_index]!r} is also listed in `features`; "
                "a model may not see its own answer. Remove it from `features`.",
                key="features",
            )
    if not feature_index:
        raise TableError(
            f"{path.name} has no column besides the label {names[label_index]!r}, so there "
            "is nothing to learn from. Check the delimiter, or add feature columns.",
            key="features",
        )
    explicit: set[int] = set()
    for name in categorical or []:
        index = _find(name, names, path, "categorical")
        if index not in feature_index:
            raise TableError(
                f"{names[index]!r} is listed in `categorical` but is not a feature"
                + (" (it is the label)." if index == label_index else "; add it to `features`."),
                key="categorical",
            )
        explicit.add(index)
    kinds: list[Kind] = []
    for index in feature_index:
        values = [f[index] for _, f in sample if not is_missing(f[index])]
        if not values:
            where = f"all {len(sample):,} rows" if len(sample) < SAMPLE_ROWS else "its first rows"
            raise TableError(
                f"{path.name}: column {names[index]!r} is empty in {where}. Leave it out "
                "with `features` (list the columns to use) or fill it in.",
                key="features",
            )
        if categorical is not None:
            kinds.append("categorical" if index in explicit else "numeric")
            continue
        numbers = sum(parse_number(v, fmt.decimal) is not None for v in values)
        if numbers >= NUMERIC_SHARE * len(values):
            kinds.append("numeric")
            continue
        distinct = len({normalize_text(v) for v in values})
        if len(values) >= 20 and distinct * 2 > len(values):
            raise TableError(
                f"{path.name}: column {names[index]!r} looks like an identifier or free text: "
                f"{distinct:,} different values in {len(values):,} rows, so as a category it "
                "would teach nothing. Leave it out with `features`, or list it in "
                "`categorical` to use it anyway.",
                key="features",
            )
        kinds.append("categorical")
    return _Plan(names, label_index, feature_index, kinds, explicit)


# ------------------------------------------------------------------------------ reading
class _Reader:
    """Parses rows into float32 blocks, codes categories and counts what it sees."""

    def __init__(self, path: Path, fmt: TableFormat, plan: _Plan, missing: str) -> None:
        self.path, self.fmt, self.plan, self.missing = path, fmt, plan, missing
        n = len(plan.features)
        self.columns = [
            (j, index, kind == "numeric")
            for j, (index, kind) in enumerate(zip(plan.features, plan.kinds, strict=True))
        ]
        self.codes: list[dict[str, float]] = [{} for _ in range(n)]  # cell text -> code
        self.texts: list[dict[int, str]] = [{} for _ in range(n)]  # code -> category
        self.present = [0] * n
        self.labels: dict[str, int] = {}  # class name -> first-seen id
        self.label_ids: dict[str, int] = {}  # cell text -> first-seen id
        self.pending: list[list[float]] = []
        self.pending_y: list[int] = []
        self.blocks: list[np.ndarray] = []
        self.y_blocks: list[np.ndarray] = []
        self.rows = self.dropped = self.filled_rows = 0

    def where(self, line: int, index: int) -> str:
        return f"{self.path}:{line}, column {self.plan.names[index]!r}"

    def add(self, line: int, fields: list[str]) -> None:
        # The loop every cell of the file goes through: plain code, no helper calls on the
        # common path (a number, or a category already seen).
        values: list[float] = []
        first_missing: int | None = None
        comma = self.fmt.decimal == ","
        for j, index, numeric in self.columns:
            text = fields[index].strip()
            if not text or (len(text) <= 4 and text.lower() in MISSING_MARKERS):
                values.append(math.nan)
                if first_missing is None:
                    first_missing = index
                continue
            self.present[j] += 1
            if not numeric:
                code = self.codes[j].get(text)
                values.append(code if code is not None else self._code(j, index, line, text))
                continue
            number: float | None
            if "_" in text or ("." in text if comma else "," in text):
                number = parse_number(text, self.fmt.decimal)
            else:
                try:
                    number = float(text.replace(",", ".") if comma else text)
                except ValueError:
                    number = None
                if number is not None and not math.isfinite(number):
                    number = None
            if number is None:
                self._not_a_number(line, index, text)
            values.append(number)
        label_text = fields[self.plan.label].strip()
        if not label_text or (len(label_text) <= 4 and label_text.lower() in MISSING_MARKERS):
            if self.missing == "drop":
                self.dropped += 1
                return
            raise DataError(
                f"{self.where(line, self.plan.label)}: the label is empty. Every row needs its "
                'class: fill it in, or set missing = "drop" to leave such rows out.'
            )
        if first_missing is not None:
            if self.missing == "drop":
                self.dropped += 1
                return
            if self.missing == "error":
                shown = fields[first_missing].strip()
                what = "empty cell" if not shown else f"missing value ({shown!r})"
                raise DataError(
                    f"{self.where(line, first_missing)}: {what}. Fill it in, or set missing "
                    '= "drop" (leave such rows out) or missing = "fill" (the training mean, '
                    "or most frequent value)."
                )
            self.filled_rows += 1
        label_id = self.label_ids.get(label_text)
        if label_id is None:
            label_id = self._label(label_text)
        self.pending.append(values)
        self.pending_y.append(label_id)
        self.rows += 1
        if len(self.pending) >= _BLOCK_ROWS:
            self.flush()

    def _label(self, text: str) -> int:
        label_id = self.labels.setdefault(normalize_text(text), len(self.labels))
        if len(self.labels) > MAX_CLASSES:
            raise TableError(
                f"{self.path.name}: the label column {self.plan.names[self.plan.label]!r} has "
                f"more than {MAX_CLASSES:,} different values; a classifier's label has a few "
                "classes. Is it the right column?",
                key="label",
            )
        self.label_ids[text] = label_id
        return label_id

    def _not_a_number(self, line: int, index: int, text: str) -> NoReturn:
        mark = "decimal comma" if self.fmt.decimal == "," else "decimal point"
        raise DataError(
            f"{self.where(line, index)}: {text.strip()!r} is not a number, but the column "
            f"holds numbers (read with a {mark}). Fix the value, or list the column in "
            "`categorical` if it holds categories."
        )

    def _code(self, j: int, index: int, line: int, text: str) -> float:
        key = normalize_text(text)
        code = category_code(key)
        known = self.texts[j]
        if code in known and known[code] != key:
            raise DataError(
                f"{self.where(line, index)}: the categories {known[code]!r} and {key!r} have "
                "the same code (a 1 in 16 million chance); rename one of them."
            )
        if len(known) >= MAX_CATEGORIES and index not in self.plan.explicit:
            raise TableError(
                f"{self.where(line, index)}: more than {MAX_CATEGORIES:,} different values "
                "(an identifier or free text?). Leave the column out with `features`.",
                key="features",
            )
        known[code] = key
        self.codes[j][text] = float(code)
        return float(code)

    def flush(self) -> None:
        if self.pending:
            self.blocks.append(np.asarray(self.pending, dtype=np.float32))
            self.y_blocks.append(np.asarray(self.pending_y, dtype=np.int64))
            self.pending, self.pending_y = [], []

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        self.flush()
        width = len(self.plan.features)
        x = np.concatenate(self.blocks) if self.blocks else np.empty((0, width), np.float32)
        y = np.concatenate(self.y_blocks) if self.y_blocks else np.empty((0,), np.int64)
        return x, y


def _class_order(labels: Mapping[str, int], decimal: str) -> tuple[list[str], np.ndarray]:
    """Class names in order and, for each first-seen label id, its class id.

    Labels that are all numbers are ordered by value (``1`` and ``1.0`` are one class, named
    ``1``); text labels alphabetically (``não`` before ``sim``).
    """
    texts = list(labels)
    numbers = [parse_number(t, decimal) for t in texts]
    if all(v is not None for v in numbers):
        values = sorted({float(v) for v in numbers if v is not None})
        names = [str(int(v)) if v == int(v) else repr(v) for v in values]
        order = [values.index(float(v)) for v in numbers if v is not None]
    else:
        names = sorted(texts)
        order = [names.index(t) for t in texts]
    return names, np.asarray(order, dtype=np.int64)


class _Progress:
    """Passes reading progress on (to the caller's ``progress``, else to the enclosing
    :func:`~neuralab.data.table_format.reading_progress` block's), and logs a line at most
    every ``_LOG_SECONDS``."""

    def __init__(self, progress: ReadProgress | None) -> None:
        self.progress = progress if progress is not None else current_reading_progress()
        self.began = self.last = time.monotonic()

    def __call__(self, name: str, done: int, total: int | None) -> None:
        if self.progress is not None:
            self.progress(name, done, total)
        now = time.monotonic()
        if now - self.last >= _LOG_SECONDS:
            self.last = now
            share = f" of {total / 1e6:,.0f} MB" if total else ""
            logger.info("%s: %.0f MB%s read (%.0f s)", name, done / 1e6, share, now - self.began)


def read_table(
    path: str | Path,
    *,
    label: str,
    features: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    missing: str = "error",
    delimiter: str | None = None,
    decimal: str | None = None,
    encoding: str | None = None,
    header: bool | None = None,
    take: int | None = None,
    progress: ReadProgress | None = None,
) -> TableDataset:
    """Read a table file (CSV/TSV, plain or gzip) into a :class:`TableDataset`.

    Args:
        path: The file.
        label: Name of the column holding the classes (numbers or text: ``"sim"``/``"não"``).
            Without a header, columns are named ``col_1``, ``col_2``, ...
        features: Columns to learn from; default every column but the label.
        categorical: Columns holding categories; default the features that are not numeric.
        missing: ``"error"`` (default: stop at the first empty cell, naming file, line and
            column), ``"drop"`` (leave out rows with an empty cell) or ``"fill"`` (fill with
            the training split's mean or most frequent value, inside the model).
        delimiter, decimal, encoding, header: How the file is written; sniffed when None.
        take: Read only the first ``take`` rows kept.
        progress: Called as ``progress(file_name, bytes_read, total_bytes)`` while reading
            (default: the progress of the enclosing
            :func:`~neuralab.data.table_format.reading_progress` block, if any).

    Returns:
        x float32 ``(n_rows, n_features)``, y int64 class ids; class names are the label's
        values (text labels in alphabetical order, numbers by value).

    Raises:
        DataError: with file, line and column: an unknown column (and the nearest name), a
            text in a numeric column, an empty cell (``missing = "error"``), a column empty
            everywhere, a label with one class, a row with a different number of fields.
    """
    path = Path(path)
    if missing not in MISSING_POLICIES:
        raise TableError(one_of("missing", missing, MISSING_POLICIES), key="missing")
    if take is not None and (isinstance(take, bool) or not isinstance(take, int) or take < 1):
        raise TableError(
            f"`take` must be a whole number, 1 or more. Received: take={take!r}.", key="take"
        )
    feature_names = _check_names(features, "features")
    categorical_names = _check_names(categorical, "categorical")
    fmt = sniff_format(path, encoding=encoding, delimiter=delimiter, decimal=decimal, header=header)
    with table_rows(path, fmt, progress=_Progress(progress)) as (names, rows):
        sample = list(itertools.islice(rows, SAMPLE_ROWS))
        if not sample:
            raise DataError(f"{path}: the file has no data rows after its header.")
        plan = _plan(
            path,
            names,
            sample,
            fmt,
            label=label,
            features=feature_names,
            categorical=categorical_names,
        )
        reader = _Reader(path, fmt, plan, missing)
        for line, fields in itertools.chain(sample, rows):
            reader.add(line, fields)
            if take is not None and reader.rows >= take:
                break
    return _dataset(path, fmt, plan, reader, missing)


def _dataset(
    path: Path, fmt: TableFormat, plan: _Plan, reader: _Reader, missing: str
) -> TableDataset:
    for j, index in enumerate(plan.features):
        if reader.present[j] == 0:
            raise TableError(
                f"{path.name}: column {plan.names[index]!r} is empty in every row. Leave it "
                "out with `features` (list the columns to use) or fill it in.",
                key="features",
            )
    x, first_ids = reader.arrays()
    if len(x) == 0:
        raise DataError(
            f'{path}: every row has an empty cell, so missing = "drop" leaves none. Use '
            'missing = "fill", or leave the emptiest columns out with `features`.'
        )
    label_name = plan.names[plan.label]
    if len(reader.labels) < 2:
        only = next(iter(reader.labels))
        raise TableError(
            f"{path.name}: the label column {label_name!r} has one class ({only!r}) in all "
            f"{len(x):,} rows; a classifier needs at least two. Is it the right column?",
            key="label",
        )
    class_names, order = _class_order(reader.labels, fmt.decimal)
    y = order[first_ids]
    columns = tuple(
        TableColumn(
            plan.names[index],
            kind,
            tuple(sorted(reader.texts[j].values())) if kind == "categorical" else (),
        )
        for j, (index, kind) in enumerate(zip(plan.features, plan.kinds, strict=True))
    )
    notes = [*fmt.notes]
    kinds = "; ".join(
        f"{c.name}: {'numbers' if c.kind == 'numeric' else f'{len(c.categories)} categories'}"
        for c in columns
    )
    notes.append(f"{path.name}: {fmt.describe()}. Columns: {kinds}. Label: {label_name}.")
    if reader.dropped:
        notes.append(
            f'{reader.dropped:,} rows with an empty cell were left out (missing = "drop").'
        )
    if reader.filled_rows:
        notes.append(
            f"{reader.filled_rows:,} rows have empty cells, filled with the training split's "
            'mean or most frequent value (missing = "fill").'
        )
    return TableDataset(
        x=x,
        y=y,
        class_names=tuple(class_names),
        name=_stem(str(path)),
        source=f"{path.name} ({len(x):,} rows, {len(columns)} features)",
        notes=tuple(notes),
        columns=columns,
        label=label_name,
        missing=missing,
    )


def csv_table(
    path: str,
    label: str,
    features: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    missing: str = "error",
    delimiter: str | None = None,
    decimal: str | None = None,
    encoding: str | None = None,
    header: bool | None = None,
    take: int | None = None,
) -> TableDataset:
    """The ``csv`` data set of a spec: ``data = {name = "csv", path = "alunos.csv",
    label = "aprovado"}``; see :func:`read_table` for the keys."""
    return read_table(
        path,
        label=label,
        features=features,
        categorical=categorical,
        missing=missing,
        delimiter=delimiter,
        decimal=decimal,
        encoding=encoding,
        header=header,
        take=take,
    )


# ------------------------------------------------------------------------------ fitting
@dataclass(frozen=True)
class ColumnFit:
    """What the training split says about one column.

    ``mean``/``variance`` (numeric) normalise it; ``fill`` replaces a missing value (the
    mean, or the code of the most frequent category); ``vocabulary`` and ``codes`` (sorted
    by code) are the categories seen in training, each a one-hot slot after slot 0, "unknown".
    """

    name: str
    kind: Kind
    mean: float = 0.0
    variance: float = 1.0
    fill: float = 0.0
    vocabulary: tuple[str, ...] = ()
    codes: tuple[int, ...] = ()


@dataclass(frozen=True)
class TableFit:
    """Everything a model needs to take raw rows: columns, label and class names."""

    columns: tuple[ColumnFit, ...]
    label: str
    class_names: tuple[str, ...]
    missing: str = "error"

    def to_config(self) -> dict[str, Any]:
        """A JSON-ready dict (a Keras layer's config)."""
        return {
            "columns": [
                {
                    "name": c.name,
                    "kind": c.kind,
                    "mean": c.mean,
                    "variance": c.variance,
                    "fill": c.fill,
                    "vocabulary": list(c.vocabulary),
                    "codes": list(c.codes),
                }
                for c in self.columns
            ],
            "label": self.label,
            "class_names": list(self.class_names),
            "missing": self.missing,
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TableFit:
        columns = tuple(
            ColumnFit(
                name=str(c["name"]),
                kind=c["kind"],
                mean=float(c["mean"]),
                variance=float(c["variance"]),
                fill=float(c["fill"]),
                vocabulary=tuple(str(v) for v in c["vocabulary"]),
                codes=tuple(int(v) for v in c["codes"]),
            )
            for c in config["columns"]
        )
        return cls(
            columns=columns,
            label=str(config["label"]),
            class_names=tuple(str(n) for n in config["class_names"]),
            missing=str(config.get("missing", "error")),
        )


def fit_table(train: TableDataset) -> TableFit:
    """Statistics of the training split: means and variances of the numeric columns, the
    categories seen, and fill values (missing cells are left out of all of them)."""
    fitted: list[ColumnFit] = []
    for j, column in enumerate(train.columns):
        values = train.x[:, j].astype(np.float64)
        values = values[~np.isnan(values)]
        if column.kind == "numeric":
            mean = float(values.mean()) if len(values) else 0.0
            variance = float(values.var()) if len(values) else 1.0
            # A column constant in training carries no information; keep it at 0.
            fitted.append(
                ColumnFit(column.name, "numeric", mean, variance if variance > 0 else 1.0, mean)
            )
            continue
        codes, counts = np.unique(values.astype(np.int64), return_counts=True)
        texts = {category_code(t): t for t in column.categories}
        fill = float(codes[int(np.argmax(counts))]) if len(codes) else 0.0
        fitted.append(
            ColumnFit(
                column.name,
                "categorical",
                fill=fill,
                vocabulary=tuple(texts[int(c)] for c in codes),
                codes=tuple(int(c) for c in codes),
            )
        )
    return TableFit(tuple(fitted), train.label, train.class_names, train.missing)


def fill_missing(splits: Splits) -> Splits:
    """Missing cells (NaN, ``missing = "fill"``) of every split replaced by the training
    split's mean (numeric) or most frequent category; other data are returned as they are."""
    train = splits.train
    if not isinstance(train, TableDataset) or not any(
        np.isnan(p.x).any() for _, p in splits.items()
    ):
        return splits
    fills = np.asarray([c.fill for c in fit_table(train).columns], dtype=np.float32)
    parts: dict[str, Dataset] = {}
    for key, part in splits.items():
        x = np.where(np.isnan(part.x), fills[None, :], part.x).astype(np.float32)
        parts[key] = replace(part, x=x)
    return Splits(**parts)


# ------------------------------------------------------------------------------ new rows
@dataclass(repr=False)
class NewRows:
    """Rows of a file read for a trained model (``neuralab predict``).

    Attributes:
        x: float32 ``(n_rows, n_features)`` as the model takes them.
        lines: The file line of each row.
        fields: The row's fields as written (for the predictions file).
        names: The file's column names.
        labels: Each row's class name, or None (no label column, an empty label or one that
            is not a class of the model).
        unseen: Per column, the categories the model never saw and the first line of each.
        notes: What a reader should know (e.g. unseen categories, not UTF-8).
    """

    x: np.ndarray
    lines: list[int]
    fields: list[list[str]]
    names: list[str]
    fmt: TableFormat
    labels: list[str | None] | None = None
    unseen: dict[str, dict[str, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"NewRows({len(self.lines)} rows, labels={self.labels is not None})"


def _class_key(text: str, class_names: Sequence[str], decimal: str) -> str | None:
    name = normalize_text(text)
    if name in class_names:
        return name
    number = parse_number(name, decimal)
    if number is not None:
        shown = str(int(number)) if number == int(number) else repr(number)
        if shown in class_names:
            return shown
    return None


def read_new_rows(path: str | Path, fit: TableFit) -> NewRows:
    """Read rows of ``path`` for a model fitted as ``fit``: the training columns by name (in
    any order; others are ignored), categories the model never saw to the "unknown" slot.

    Raises:
        DataError: a training column is missing (naming each, and the nearest names), a text
            in a numeric column or an empty cell the model cannot fill (file, line, column).
    """
    path = Path(path)
    fmt = sniff_format(path)
    lines: list[int] = []
    kept: list[list[str]] = []
    blocks: list[np.ndarray] = []
    pending: list[list[float]] = []
    labels: list[str | None] = []
    unseen: dict[str, dict[str, int]] = {}
    vocabularies = [dict(zip(c.vocabulary, c.codes, strict=True)) for c in fit.columns]
    with table_rows(path, fmt) as (names, rows):
        index = _training_columns(path, names, fit)
        label_index = names.index(fit.label) if fit.label in names else None
        for line, fields in rows:
            values: list[float] = []
            for column, i, vocabulary in zip(fit.columns, index, vocabularies, strict=True):
                text = fields[i]
                if is_missing(text):
                    if fit.missing != "fill":
                        raise DataError(
                            f"{path}:{line}, column {column.name!r}: empty cell. The model was "
                            f'trained with missing = "{fit.missing}", so it has no value to put '
                            'there: fill it in (or train with missing = "fill").'
                        )
                    values.append(math.nan)
                elif column.kind == "numeric":
                    number = parse_number(text, fmt.decimal)
                    if number is None:
                        raise DataError(
                            f"{path}:{line}, column {column.name!r}: {text.strip()!r} is not a "
                            "number; the model was trained on numbers in this column."
                        )
                    values.append(number)
                else:
                    key = normalize_text(text)
                    code = vocabulary.get(key)
                    if code is None:
                        unseen.setdefault(column.name, {}).setdefault(key, line)
                    values.append(float(code or 0))
            pending.append(values)
            lines.append(line)
            kept.append(fields)
            if label_index is not None:
                text = fields[label_index]
                labels.append(
                    None if is_missing(text) else _class_key(text, fit.class_names, fmt.decimal)
                )
            if len(pending) >= _BLOCK_ROWS:
                blocks.append(np.asarray(pending, dtype=np.float32))
                pending = []
    if pending:
        blocks.append(np.asarray(pending, dtype=np.float32))
    if not lines:
        raise DataError(f"{path}: the file has no data rows.")
    notes = [*fmt.notes]
    for name, found in unseen.items():
        shown = ", ".join(f"{t!r} (line {n})" for t, n in list(found.items())[:5])
        more = f" and {len(found) - 5} more" if len(found) > 5 else ""
        notes.append(
            f"column {name!r}: {shown}{more} never appeared in training; read as the "
            '"unknown" category.'
        )
    return NewRows(
        x=np.concatenate(blocks),
        lines=lines,
        fields=kept,
        names=names,
        fmt=fmt,
        labels=labels if label_index is not None else None,
        unseen=unseen,
        notes=notes,
    )


def _training_columns(path: Path, names: list[str], fit: TableFit) -> list[int]:
    absent = [c.name for c in fit.columns if c.name not in names]
    if absent:
        hints = "".join(
            f"{hint[:-1]} for {name!r}?" for name in absent if (hint := did_you_mean(name, names))
        )
        raise DataError(
            f"{path}: missing the training column{'s' if len(absent) > 1 else ''} "
            f"{', '.join(repr(a) for a in absent)}; the model needs every column it was "
            f"trained on ({', '.join(c.name for c in fit.columns)}). The file has: "
            f"{', '.join(names[:_LISTED])}.{hints}"
        )
    return [names.index(c.name) for c in fit.columns]


# ------------------------------------------------------------------------------ info
@dataclass
class ColumnInfo:
    """One column as ``neuralab data info`` shows it."""

    name: str
    kind: str
    values: int = 0
    missing: int = 0
    numbers: int = 0
    minimum: float = math.inf
    maximum: float = -math.inf
    distinct: dict[str, int] = field(default_factory=dict)
    capped: bool = False


@dataclass(repr=False)
class TableInfo:
    """A table file at a glance: format, columns, missing counts, class balance, first rows."""

    path: Path
    fmt: TableFormat
    n_rows: int
    columns: list[ColumnInfo]
    label: str | None
    first_rows: list[list[str]]

    def class_counts(self) -> dict[str, int]:
        column = next((c for c in self.columns if c.name == self.label), None)
        if column is None:
            return {}
        return dict(sorted(column.distinct.items(), key=lambda kv: (-kv[1], kv[0])))

    def __repr__(self) -> str:
        return f"TableInfo({self.path.name!r}, {self.n_rows} rows, {len(self.columns)} columns)"


def describe_table(
    path: str | Path,
    *,
    label: str | None = None,
    n_first: int = 5,
    progress: ReadProgress | None = None,
    max_distinct: int = 50,
) -> TableInfo:
    """Read a whole table once: each column's kind (as the loader would take it), values,
    missing cells, range or distinct values; the label's class balance (``label``, default
    the last column); the first ``n_first`` rows."""
    path = Path(path)
    fmt = sniff_format(path)
    with table_rows(path, fmt, progress=_Progress(progress)) as (names, rows):
        label_name = names[-1] if label is None else names[_find(label, names, path, "label")]
        info = [ColumnInfo(name, "") for name in names]
        first: list[list[str]] = []
        n_rows = 0
        for _, fields in rows:
            n_rows += 1
            if len(first) < n_first:
                first.append(fields)
            for column, text in zip(info, fields, strict=True):
                _count(column, text, fmt.decimal, max_distinct, keep=column.name == label_name)
    if n_rows == 0:
        raise DataError(f"{path}: the file has no data rows after its header.")
    for column in info:
        if column.values == 0:
            column.kind = "empty"
        elif column.numbers >= NUMERIC_SHARE * column.values:
            column.kind = "numeric"
        else:
            column.kind = "categorical"
    return TableInfo(path, fmt, n_rows, info, label_name, first)


def _count(column: ColumnInfo, text: str, decimal: str, cap: int, *, keep: bool) -> None:
    if is_missing(text):
        column.missing += 1
        return
    column.values += 1
    number = parse_number(text, decimal)
    if number is not None:
        column.numbers += 1
        column.minimum = min(column.minimum, number)
        column.maximum = max(column.maximum, number)
    key = normalize_text(text)
    if key in column.distinct:
        column.distinct[key] += 1
    elif len(column.distinct) < (MAX_CLASSES if keep else cap):
        column.distinct[key] = 1
    else:
        column.capped = True


def iter_kinds(data: TableDataset) -> Iterator[tuple[str, Kind]]:
    """(name, kind) of each feature column."""
    for column in data.columns:
        yield column.name, column.kind
