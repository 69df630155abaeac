"""CSV files, plain or gzip-compressed, read as a stream: only the rows asked for.

The overfitting chapter's HIGGS data set (``HIGGS.csv.gz``: 2.6 GB, 11 million rows, no
header; column 0 is the label written as a float, ``1.000000000000000000e+00``, then 28
feature columns) uses "the first 1,000 rows for validation, the next 10,000 for training".
``read_csv(path, take=1000)`` and ``read_csv(path, skip=1000, take=10000)`` decompress and
parse only those rows, line by line, and stop: memory is bounded by the rows returned.
Reference: the UCI Machine Learning Repository page "HIGGS" (Baldi, Sadowski and Whiteson,
2014).

Column numbers, in arguments and in error messages, are 0-based indices (``label=0`` is the
first column); line numbers in error messages are 1-based lines of the file, the header
line included.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import math
import os
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, NoReturn, TextIO

import numpy as np

from neuralab.data.dataset import Dataset
from neuralab.errors import DataError, did_you_mean
from neuralab.fileio import replacing

GZIP_MAGIC = b"\x1f\x8b"

# Rows parsed into Python floats before they become one float32 block: bounds the memory
# used on top of the returned arrays.
_BLOCK_ROWS = 4096
_MISSING_MARKERS = frozenset({"na", "n/a", "nan", "null", "none", "?", "-"})
_DELIMITERS = {",": "','", ";": "';'", "\t": "'\\t'", "|": "'|'", " ": "' '"}
_NAME_SUFFIXES = frozenset({".gz", ".csv", ".tsv", ".txt", ".data"})
_MAX_LISTED = 50


# ------------------------------------------------------------------------------ opening
class _Prefixed(io.RawIOBase):
    """A read-only binary stream: first ``head`` (bytes already read), then ``inner``.

    Lets the gzip magic number be sniffed from any file object, seekable or not, without
    reading more than two bytes ahead of the decompressor.
    """

    def __init__(self, head: bytes, inner: BinaryIO) -> None:
        super().__init__()
        self._head = head
        self._inner = inner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            n = min(len(self._head), len(view))
            view[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._inner.read(len(view))
        if not data:
            return 0
        view[: len(data)] = data
        return len(data)


def _read_head(binary: BinaryIO, where: str) -> bytes:
    head = binary.read(2)
    if isinstance(head, str):
        raise DataError(
            f"{where}: the file object is open in text mode. Open it in binary mode "
            "(open(path, 'rb')) so that gzip files can be recognised."
        )
    while 0 < len(head) < 2:
        more = binary.read(2 - len(head))
        if not more:
            break
        head += more
    return head or b""


@contextlib.contextmanager
def _open_text(source: str | os.PathLike[str] | BinaryIO, where: str) -> Iterator[TextIO]:
    """The decoded text of ``source`` (a path or a binary file object), gunzipped if needed.

    A file object passed in is read from its current position and is not closed.
    """
    with contextlib.ExitStack() as stack:
        if isinstance(source, str | os.PathLike):
            path = Path(source)
            if path.is_dir():
                raise DataError(f"{path}: is a folder, not a CSV file. Give the file's path.")
            if not path.is_file():
                raise DataError(f"{path}: no such file.")
            binary: BinaryIO = stack.enter_context(path.open("rb"))
        else:
            binary = source
        head = _read_head(binary, where)
        stream = _Prefixed(head, binary)
        data: io.BufferedIOBase
        if head == GZIP_MAGIC:
            data = gzip.GzipFile(fileobj=stream, mode="rb")
        else:
            data = io.BufferedReader(stream)
        # utf-8-sig drops the byte-order mark spreadsheet programs put before the header.
        text = stack.enter_context(io.TextIOWrapper(data, encoding="utf-8-sig", newline=""))
        yield text


def _describe(source: str | os.PathLike[str] | BinaryIO) -> str:
    if isinstance(source, str | os.PathLike):
        return str(Path(source))
    name = getattr(source, "name", None)
    return str(name) if isinstance(name, str | os.PathLike) else "<stream>"


def _stem(where: str) -> str:
    path = Path(where)
    while path.suffix.lower() in _NAME_SUFFIXES and path.stem:
        path = path.with_suffix("")
    return path.name


# ------------------------------------------------------------------------------ columns
class _Columns:
    """The columns of the file: count, header names, and where messages point."""

    def __init__(self, where: str, count: int, names: list[str] | None, line: int) -> None:
        self.where = where
        self.count = count
        self.names = names
        self.line = line  # the line the column count was taken from

    def label(self, index: int) -> str:
        """``column 5`` or, with a header, ``column 5 ('m_jj')``."""
        if self.names is None:
            return f"column {index}"
        return f"column {index} ({self.names[index]!r})"

    def resolve(self, key: int | str, arg: str) -> int:
        """The 0-based index of column ``key`` (an index, negative allowed, or a name)."""
        if isinstance(key, str):
            return self._by_name(key, arg)
        if isinstance(key, bool) or not isinstance(key, int | np.integer):
            raise DataError(
                f"{self.where}: `{arg}` must be a column index or a header name. "
                f"Received: {arg}={key!r}."
            )
        index = int(key)
        if not -self.count <= index < self.count:
            raise DataError(
                f"{self.where}: {arg}={index} is out of range: line {self.line} has "
                f"{self.count} columns (indices 0 to {self.count - 1}, or -{self.count} to -1)."
            )
        return index % self.count

    def _by_name(self, key: str, arg: str) -> int:
        if self.names is None:
            raise DataError(
                f"{self.where}: {arg}={key!r} is a column name, but header=False. Pass "
                "header=True if line 1 holds the column names, or give 0-based column indices."
            )
        hits = [i for i, name in enumerate(self.names) if name == key]
        if not hits:
            listed = ", ".join(self.names[:_MAX_LISTED])
            more = (
                f", ... ({len(self.names) - _MAX_LISTED} more)"
                if len(self.names) > _MAX_LISTED
                else ""
            )
            raise DataError(
                f"{self.where}: no column named {key!r} ({arg}). The header (line "
                f"{self.line}) has: {listed}{more}.{did_you_mean(key, self.names)}"
            )
        if len(hits) > 1:
            raise DataError(
                f"{self.where}: the header names {len(hits)} columns {key!r} (columns "
                f"{', '.join(str(i) for i in hits)}). Give the column index for {arg} instead."
            )
        return hits[0]


def _delimiter_hint(text: str, delimiter: str) -> str:
    for candidate, shown in _DELIMITERS.items():
        if candidate != delimiter and candidate in text.strip():
            return f" Is the delimiter {shown}? Pass delimiter={shown}."
    return ""


# ------------------------------------------------------------------------------ parsing
class _Rows:
    """Rows parsed so far: checked and turned into float32 / int64 blocks of rows."""

    def __init__(self, columns: _Columns, wanted: list[int], n_classes: int | None) -> None:
        self.columns = columns
        self.wanted = wanted  # label column first, then the feature columns
        self.n_classes = n_classes
        self.pending: list[list[float]] = []
        self.lines: list[int] = []
        self.x_blocks: list[np.ndarray] = []
        self.y_blocks: list[np.ndarray] = []

    def add(self, row: list[str], line: int) -> None:
        try:
            values = [float(row[i]) for i in self.wanted]
        except ValueError:
            self.flush()  # report problems on earlier lines first
            self._raise_not_a_number(row, line)
        self.pending.append(values)
        self.lines.append(line)
        if len(self.pending) >= _BLOCK_ROWS:
            self.flush()

    def _raise_not_a_number(self, row: list[str], line: int) -> NoReturn:
        for i in self.wanted:
            text = row[i]
            try:
                float(text)
            except ValueError:
                where = f"{self.columns.where}:{line}, {self.columns.label(i)}"
                stripped = text.strip()
                if not stripped:
                    _raise_missing(where, "empty value")
                if stripped.lower() in _MISSING_MARKERS:
                    _raise_missing(where, f"missing value ({text!r})")
                raise DataError(f"{where}: {text!r} is not a number.") from None
        raise AssertionError("no column failed to parse")  # pragma: no cover

    def flush(self) -> None:
        if not self.pending:
            return
        block = np.asarray(self.pending, dtype=np.float64)
        self._check(block)
        self.y_blocks.append(block[:, 0].astype(np.int64))
        self.x_blocks.append(block[:, 1:].astype(np.float32))
        self.pending, self.lines = [], []

    def _check(self, block: np.ndarray) -> None:
        bad = ~np.isfinite(block)
        if bad.any():
            row, col = (int(v) for v in np.argwhere(bad)[0])
            value = float(block[row, col])
            what = "NaN (a missing value)" if math.isnan(value) else f"infinite value ({value})"
            _raise_missing(self._where(row, col), what)
        labels = block[:, 0]
        whole = labels == np.floor(labels)
        if not whole.all():
            row = int(np.argmin(whole))
            raise DataError(
                f"{self._where(row, 0)}: label {float(labels[row])!r} is not a whole number. "
                "Labels must be class ids 0, 1, 2, ...; check that this is the label column."
            )
        if (labels < 0).any():
            row = int(np.argmax(labels < 0))
            raise DataError(
                f"{self._where(row, 0)}: label {int(labels[row])} is negative. Labels must be "
                "class ids 0, 1, 2, ...; map the labels to those first."
            )
        if self.n_classes is not None and (labels >= self.n_classes).any():
            row = int(np.argmax(labels >= self.n_classes))
            raise DataError(
                f"{self._where(row, 0)}: label {int(labels[row])} has no class name: "
                f"class_names has {self.n_classes} names (ids 0 to {self.n_classes - 1}). "
                "Pass one name per class."
            )

    def _where(self, row: int, col: int) -> str:
        return f"{self.columns.where}:{self.lines[row]}, {self.columns.label(self.wanted[col])}"

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        self.flush()
        n_features = len(self.wanted) - 1
        if not self.x_blocks:
            return np.empty((0, n_features), np.float32), np.empty((0,), np.int64)
        return np.concatenate(self.x_blocks), np.concatenate(self.y_blocks)


def _raise_missing(where: str, what: str) -> NoReturn:
    raise DataError(
        f"{where}: {what}. Missing and infinite values are not allowed; drop those rows or "
        "impute the values first."
    ) from None


def _records(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each non-blank line."""
    for row in reader:
        if row:
            yield reader.line_num, row


def _check_counts(skip: int, take: int | None) -> None:
    if isinstance(skip, bool) or not isinstance(skip, int | np.integer) or skip < 0:
        raise DataError(f"`skip` must be a whole number, 0 or more. Received: skip={skip!r}.")
    if take is not None and (
        isinstance(take, bool) or not isinstance(take, int | np.integer) or take < 1
    ):
        raise DataError(
            f"`take` must be a whole number, 1 or more, or None for all rows. "
            f"Received: take={take!r}."
        )


def read_csv(
    source: str | Path | BinaryIO,
    *,
    label: int | str = 0,
    features: Sequence[int | str] | None = None,
    header: bool = False,
    skip: int = 0,
    take: int | None = None,
    delimiter: str = ",",
    name: str | None = None,
    class_names: Sequence[str] | None = None,
) -> Dataset:
    """Read rows ``skip .. skip + take - 1`` of a CSV file (plain or gzip) as a dataset.

    The file is read line by line and reading stops as soon as the last row asked for is
    parsed, so the first rows of a multi-gigabyte ``.csv.gz`` cost only their own size.
    Skipped rows are counted and their column count checked, but their values are not
    parsed.

    Args:
        source: A path, or a file object open in binary mode (read from its current
            position, not closed). Gzip is recognised from the first two bytes
            (``1f 8b``), not from the name.
        label: Column of the class ids: a 0-based index (negative counts from the end) or,
            with ``header=True``, a name. Labels may be written as floats (``1.0``,
            ``1.000000000000000000e+00``) but must be whole numbers, 0 or more.
        features: Feature columns (indices or names); by default every column but the
            label, in file order.
        header: Line 1 holds the column names (it is not a data row).
        skip: Data rows to skip (after the header).
        take: Data rows to return after those; None for all the rest.
        delimiter: The field separator (one character).
        name: Data set name for reports; by default the file name without ``.csv.gz``.
        class_names: Name of each class id; labels must then be below their count.

    Returns:
        x: float32 ``(n_rows, n_features)``; y: int64 class ids ``(n_rows,)``; ``source``
        like ``"HIGGS.csv.gz rows 1,001-11,000"`` (1-based data rows).

    Raises:
        DataError: the file is missing or not text; a row has a different number of
            columns; a value is not a number, empty, NaN or infinite; a label is not a
            class id; a column name or index does not exist; or the file has fewer rows
            than ``skip + take``. Messages name the file, line and column.
    """
    where = _describe(source)
    _check_counts(skip, take)
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise DataError(
            f"`delimiter` must be one character (',', ';', '\\t', ...). "
            f"Received: delimiter={delimiter!r}."
        )
    if isinstance(features, str):
        raise DataError(
            f"{where}: `features` must be a list of column indices or names, not one string. "
            f"Received: features={features!r}; use features=[{features!r}]."
        )
    line = 0
    try:
        with _open_text(source, where) as text:
            reader = csv.reader(text, delimiter=delimiter)
            try:
                x, y, first_row = _read_rows(
                    reader,
                    where=where,
                    label=label,
                    features=features,
                    header=header,
                    skip=skip,
                    take=take,
                    delimiter=delimiter,
                    class_names=class_names,
                )
            finally:
                line = reader.line_num
    except csv.Error as exc:
        raise DataError(f"{where}:{line}: cannot be split into fields ({exc}).") from None
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{where}: not UTF-8 text near line {line + 1} ({exc.reason}). Is it a CSV file?"
        ) from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(
            f"{where}: the gzip stream is truncated or corrupt near line {line + 1} ({exc}). "
            "Download the file again."
        ) from None
    except OSError as exc:
        raise DataError(f"{where}: cannot be read ({exc.strerror or exc}).") from None
    shown = Path(where).name if where != "<stream>" else where
    return Dataset(
        x=x,
        y=y,
        class_names=tuple(class_names) if class_names else (),
        name=name if name is not None else (_stem(where) if where != "<stream>" else "csv"),
        source=f"{shown} rows {first_row:,}-{first_row + len(y) - 1:,}",
    )


def _read_rows(
    reader: Any,
    *,
    where: str,
    label: int | str,
    features: Sequence[int | str] | None,
    header: bool,
    skip: int,
    take: int | None,
    delimiter: str,
    class_names: Sequence[str] | None,
) -> tuple[np.ndarray, np.ndarray, int]:
    records = _records(reader)
    first = next(records, None)
    if first is None:
        raise DataError(f"{where}: the file is empty.")
    first_line, first_fields = first
    names = [field.strip() for field in first_fields] if header else None
    columns = _Columns(where, len(first_fields), names, first_line)
    label_index = columns.resolve(label, "label")
    if features is None:
        feature_index = [i for i in range(columns.count) if i != label_index]
    else:
        feature_index = [columns.resolve(f, "features") for f in features]
    if not feature_index:
        raise DataError(
            f"{where}: line {first_line} has only one column ({first_fields[0]!r}), so there "
            f"are no feature columns.{_delimiter_hint(first_fields[0], delimiter)}"
        )
    rows = _Rows(columns, [label_index, *feature_index], len(class_names) if class_names else None)
    data_records: Iterator[tuple[int, list[str]]] = records
    if not header:
        data_records = _chain(first, records)
    stop = None if take is None else skip + take
    seen = 0
    for line, fields in data_records:
        if len(fields) != columns.count:
            raise DataError(
                f"{where}:{line}: expected {columns.count} columns (like line {first_line}), "
                f"found {len(fields)}. Check the delimiter or repair the row."
            )
        seen += 1
        if seen <= skip:
            continue
        rows.add(fields, line)
        if seen == stop:
            break
    after = " after the header" if header else ""
    if seen == 0:
        raise DataError(f"{where}: the file has no data rows{after}.")
    if stop is not None and seen < stop:
        raise DataError(
            f"{where}: asks for rows {skip + 1:,} to {stop:,} (skip={skip}, take={take}) but "
            f"the file has only {seen:,} data rows{after}. Use a smaller skip or take."
        )
    if seen <= skip:
        raise DataError(
            f"{where}: asks for the rows after row {skip:,} (skip={skip}) but the file has "
            f"only {seen:,} data rows{after}. Use a smaller skip."
        )
    x, y = rows.arrays()
    return x, y, skip + 1


def _chain(
    first: tuple[int, list[str]], rest: Iterator[tuple[int, list[str]]]
) -> Iterator[tuple[int, list[str]]]:
    yield first
    yield from rest


# ------------------------------------------------------------------------------ HIGGS-like
def make_higgs_like(
    n_rows: int = 11_000, *, n_features: int = 28, label_noise: float = 0.2, seed: int = 42
) -> tuple[np.ndarray, np.ndarray]:
    """A HIGGS-like binary problem: learnable in part, with noisy labels to overfit on.

    Features are standard Gaussian. A fixed random teacher network (one hidden layer of 16
    tanh units; weights and biases give pre-activations of standard deviation about 3, so
    the units saturate off-centre) scores each row; rows above the median score are class
    1. Without noise a logistic regression gets about 83% of fresh rows right and a small
    MLP about 89%. Then ``label_noise`` of the labels
    (an exact count, chosen at random) are flipped, so no model can beat
    ``1 - label_noise`` accuracy on fresh rows, while a large enough model can memorise
    its training rows: train accuracy climbs well above validation accuracy.

    Args:
        n_rows: Rows to make.
        n_features: Feature columns (HIGGS has 28).
        label_noise: Fraction of labels flipped, in [0, 0.5).
        seed: Seed of the teacher, the features and the flips.

    Returns:
        x float32 ``(n_rows, n_features)``, y int64 ``(n_rows,)`` in {0, 1}.
    """
    for arg, value in (("n_rows", n_rows), ("n_features", n_features)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise DataError(f"`{arg}` must be a positive integer. Received: {arg}={value!r}.")
    if not 0 <= label_noise < 0.5:
        raise DataError(
            f"`label_noise` must be in [0, 0.5) (a fraction of labels to flip). "
            f"Received: label_noise={label_noise!r}."
        )
    rng = np.random.default_rng(seed)
    hidden = 16
    w1 = rng.normal(size=(n_features, hidden)) * (2.0 / math.sqrt(n_features))
    b1 = rng.normal(size=hidden) * 2.0
    w2 = rng.normal(size=hidden)
    x = rng.normal(size=(n_rows, n_features)).astype(np.float32)
    score = np.tanh(x.astype(np.float64) @ w1 + b1) @ w2
    y = (score > np.median(score)).astype(np.int64)
    flipped = rng.choice(n_rows, size=round(label_noise * n_rows), replace=False)
    y[flipped] = 1 - y[flipped]
    return x, y


def write_higgs_like_csv(
    path: str | Path, n_rows: int = 11_000, *, seed: int = 42, **kw: Any
) -> Path:
    """Write :func:`make_higgs_like` rows as a gzip CSV laid out like ``HIGGS.csv.gz``.

    No header; the label first, then the features, each written like the real file
    (``1.000000000000000000e+00,8.692932128906250000e-01,...``). The output is always
    gzip-compressed, whatever the name, and byte-for-byte the same for the same
    arguments. It is written to a temporary file beside ``path``, then renamed onto it.

    Args:
        path: The file to write (its folder is created).
        n_rows: Rows to write.
        seed: Seed of :func:`make_higgs_like`.
        **kw: Other arguments of :func:`make_higgs_like` (``n_features``, ``label_noise``).

    Returns:
        ``path``.
    """
    path = Path(path)
    x, y = make_higgs_like(n_rows, seed=seed, **kw)
    table = np.column_stack([y.astype(np.float64), x.astype(np.float64)])
    row_format = ",".join(["%.18e"] * table.shape[1]) + "\n"
    # The name stored in the gzip header is the final one, not the temporary one.
    with (
        replacing(path) as tmp,
        open(tmp, "wb") as raw,
        gzip.GzipFile(path.name, "wb", compresslevel=6, fileobj=raw, mtime=0) as gz,
    ):
        for start in range(0, len(table), _BLOCK_ROWS):
            block = table[start : start + _BLOCK_ROWS]
            text = (row_format * len(block)) % tuple(block.ravel().tolist())
            gz.write(text.encode("ascii"))
    return path
