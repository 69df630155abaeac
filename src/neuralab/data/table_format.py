"""How a learner's table is written: encoding, delimiter, decimal mark and header, sniffed.

A spreadsheet exported in Brazil is typically ``;``-separated with a decimal comma
(``7,5``), in Latin-1 (Windows-1252) with an accented header (``nota_média``); one exported
in the US is ``,``-separated with a decimal point, in UTF-8. Both are read without options:

- gzip is recognised from the first two bytes (``1f 8b``), not from the name;
- encoding: UTF-8 (a byte-order mark is dropped), else Windows-1252 / Latin-1 with a note;
- delimiter: the one of ``;``, tab, ``,`` and ``|`` that splits the first lines into the same
  number of fields (the most fields wins);
- decimal mark: a comma when numbers like ``7,5`` outnumber numbers like ``7.5`` (never when
  the delimiter is a comma). With a decimal comma, ``1.234,5`` reads as 1234.5;
- header: line 1 is a header when none of its fields is empty or a number and its values
  look unlike the rows below it; without one the columns are named ``col_1``, ``col_2``, ...

Any of these can be given instead (``delimiter``, ``decimal``, ``encoding``, ``header``).
Rows are then streamed: memory holds one row at a time (plus what the caller keeps).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gzip
import io
import math
import re
import unicodedata
import zlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

from neuralab.data.tabular import GZIP_MAGIC, _Prefixed, _read_head
from neuralab.errors import DataError, one_of

#: ``progress(file_name, bytes_read, total_bytes)`` while a table is read.
ReadProgress = Callable[[str, int, int | None], None]

# The progress that tables read inside :func:`reading_progress` report to: a spec's data set
# is read deep inside a run, where no argument reaches it.
_READING: ContextVar[ReadProgress | None] = ContextVar("neuralab_reading_progress", default=None)

DELIMITERS = {";": "';'", "\t": "tab", ",": "','", "|": "'|'"}
DECIMALS = (".", ",")
#: Cell texts read as a missing value (besides an empty cell), compared in lower case.
MISSING_MARKERS = frozenset({"na", "n/a", "nan", "null", "none", "?", "-"})
_SAMPLE_BYTES = 256 * 1024
_SNIFF_LINES = 50
_PROGRESS_BYTES = 1 << 20
_THOUSANDS = {
    ",": re.compile(r"[+-]?\d{1,3}(\.\d{3})+(,\d*)?"),  # 1.234.567,89
    ".": re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?"),  # 1,234,567.89
}
_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+")
_DECIMAL_POINT = re.compile(r"[+-]?\d*\.\d+([eE][+-]?\d+)?")


@contextlib.contextmanager
def reading_progress(progress: ReadProgress | None) -> Iterator[None]:
    """Tables read inside the block report their progress to ``progress``.

    A spec's ``csv`` data set is read deep inside a run (``neuralab run``/``lab``), where
    no argument reaches the reader; the CLI shows a progress bar this way. A ``progress``
    passed to :func:`~neuralab.data.table.read_table` itself takes precedence. The setting
    belongs to the current thread (or task) only.

    Example:
        >>> with reading_progress(lambda name, done, total: print(name, done, total)):
        ...     run_experiment_file(experiments)  # doctest: +SKIP
    """
    token = _READING.set(progress)
    try:
        yield
    finally:
        _READING.reset(token)


def current_reading_progress() -> ReadProgress | None:
    """The progress of the innermost :func:`reading_progress` block, if any."""
    return _READING.get()


# ------------------------------------------------------------------------------ numbers
def is_missing(text: str) -> bool:
    """An empty cell or a missing-value marker (``NA``, ``NaN``, ``null``, ``?``, ``-``...)."""
    stripped = text.strip()
    return not stripped or stripped.lower() in MISSING_MARKERS


def parse_number(text: str, decimal: str) -> float | None:
    """The number written in ``text`` with decimal mark ``decimal``, or None if it is not one.

    Thousands separators are accepted in their usual places (``1.234,5`` with a decimal
    comma, ``1,234.5`` with a point); ``inf``, ``nan`` and ``1_000`` are not numbers here.
    """
    s = text.strip()
    if decimal == ",":
        if "." in s:
            if not _THOUSANDS[","].fullmatch(s):
                return _plain_float(s)
            s = s.replace(".", "")
        s = s.replace(",", ".")
    elif "," in s:
        if not _THOUSANDS["."].fullmatch(s):
            return None
        s = s.replace(",", "")
    return _plain_float(s)


def _plain_float(s: str) -> float | None:
    if not s or "_" in s:
        return None
    try:
        value = float(s)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def normalize_text(text: str) -> str:
    """A category or class name as compared: stripped, Unicode NFC (``não`` typed either way)."""
    return unicodedata.normalize("NFC", text.strip())


# ------------------------------------------------------------------------------ the format
@dataclass(frozen=True)
class TableFormat:
    """How a table file is written (sniffed or given).

    Attributes:
        encoding: Python codec name (``utf-8``, ``utf-8-sig``, ``cp1252``, ``latin-1``).
        delimiter: Field separator.
        decimal: Decimal mark of its numbers (``.`` or ``,``).
        header: Line 1 holds the column names.
        gzip: The file is gzip-compressed.
        notes: What was sniffed that a reader should know (e.g. not UTF-8).
    """

    encoding: str
    delimiter: str
    decimal: str
    header: bool
    gzip: bool = False
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        """``';'-separated, decimal comma, header on line 1, cp1252`` (for notes and info)."""
        mark = "decimal comma" if self.decimal == "," else "decimal point"
        head = "header on line 1" if self.header else "no header (columns col_1, col_2, ...)"
        shown = DELIMITERS.get(self.delimiter, repr(self.delimiter))
        packed = ", gzip" if self.gzip else ""
        return f"{shown}-separated, {mark}, {head}, {self.encoding}{packed}"


def _check_path(path: Path) -> None:
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a table file. Give the file's path.")
    if not path.is_file():
        raise DataError(f"{path}: no such file.")


class _Counting(io.RawIOBase):
    """A raw file that counts the bytes read from disk (for progress on gzip files too)."""

    def __init__(self, inner: Any, on_read: Callable[[int], None] | None) -> None:
        super().__init__()
        self._inner = inner
        self._on_read = on_read
        self.done = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._inner.read(len(memoryview(buffer)))
        n = len(data)
        memoryview(buffer).cast("B")[:n] = data
        self.done += n
        if self._on_read is not None:
            self._on_read(self.done)
        return n


@contextlib.contextmanager
def open_binary(
    path: Path, progress: ReadProgress | None = None
) -> Iterator[tuple[io.BufferedIOBase, bool]]:
    """The file's bytes, gunzipped when it starts with the gzip magic number."""
    _check_path(path)
    total = path.stat().st_size
    last = [0]

    def on_read(done: int) -> None:
        # Every _PROGRESS_BYTES, and the end once (reads past the end return nothing).
        step = done - last[0] >= _PROGRESS_BYTES or (done >= total > last[0])
        if progress is not None and step:
            last[0] = done
            progress(path.name, done, total)

    with path.open("rb") as raw:
        counting = _Counting(raw, on_read)
        head = _read_head(counting, str(path))  # type: ignore[arg-type]
        stream = _Prefixed(head, counting)  # type: ignore[arg-type]
        packed = head == GZIP_MAGIC
        data: io.BufferedIOBase = (
            gzip.GzipFile(fileobj=stream, mode="rb") if packed else io.BufferedReader(stream)
        )
        with data:
            yield data, packed
        if progress is not None and last[0] < total:  # stopped early (`take`): done all the same
            progress(path.name, total, total)


def _decode_sample(path: Path, raw: bytes, encoding: str | None) -> tuple[str, str, list[str]]:
    # Cut at the last line break so that no character or row is cut in two.
    if len(raw) >= _SAMPLE_BYTES and b"\n" in raw:
        raw = raw[: raw.rindex(b"\n") + 1]
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise DataError(
                f"`encoding` {encoding!r} is not a text encoding Python knows. Use e.g. "
                f"'utf-8', 'latin-1' or 'cp1252'. Received: encoding={encoding!r}."
            ) from exc
        try:
            return raw.decode(encoding), encoding, []
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{path}: not {encoding} text (byte {exc.start}: {exc.reason}). Leave "
                "`encoding` out to have it sniffed, or give the file's encoding."
            ) from exc
    if raw.startswith(codecs.BOM_UTF8):
        return raw.decode("utf-8-sig", errors="replace"), "utf-8-sig", []
    try:
        return raw.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError:
        pass
    if b"\x00" in raw:
        raise DataError(
            f"{path}: holds binary data (NUL bytes), not text. Is it a CSV file? (UTF-16 "
            "files: save them as UTF-8.)"
        )
    try:
        text, chosen = raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        text, chosen = raw.decode("latin-1"), "latin-1"
    note = (
        f"{path.name} is not UTF-8 text: it was read as Latin-1 ({chosen}), as spreadsheets "
        "save it on Windows. If accents look wrong, give `encoding`."
    )
    return text, chosen, [note]


def _sample_records(text: str, delimiter: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[list[str]] = []
    try:
        for row in reader:
            if row and any(field.strip() for field in row):
                records.append(row)
            if len(records) >= _SNIFF_LINES:
                break
    except csv.Error:
        pass
    return records


def _sniff_delimiter(path: Path, text: str) -> str:
    best: tuple[int, int, int] | None = None  # (all lines agree, fields, preference)
    chosen = ""
    for rank, candidate in enumerate(DELIMITERS):
        records = _sample_records(text, candidate)
        counts = [len(r) for r in records]
        if not counts:
            continue
        consistent = all(c == counts[0] for c in counts)
        fields = counts[0] if consistent else max(set(counts), key=counts.count)
        key = (int(consistent), fields, -rank)
        if fields >= 2 and (best is None or key > best):
            best, chosen = key, candidate
    if best is None:
        first = text.splitlines()[0] if text.strip() else ""
        raise DataError(
            f"{path}: cannot tell the delimiter: line 1 ({first[:60]!r}) is one field for "
            "each of ';', tab, ',' and '|'. A table needs a label column and at least one "
            "feature column; give `delimiter` if it is another character."
        )
    return chosen


def _sniff_decimal(records: list[list[str]], delimiter: str) -> str:
    if delimiter == ",":
        return "."
    comma = point = 0
    for row in records:
        for field in row:
            s = field.strip()
            if _DECIMAL_COMMA.fullmatch(s) or _THOUSANDS[","].fullmatch(s):
                comma += 1
            elif _DECIMAL_POINT.fullmatch(s):
                point += 1
    return "," if comma > point else "."


def _sniff_header(records: list[list[str]], decimal: str) -> bool:
    first, rest = records[0], records[1:]
    if any(is_missing(f) or parse_number(f, decimal) is not None for f in first):
        return False
    names_over_numbers = repeated = False
    for i, name in enumerate(first):
        column = [r[i] for r in rest if i < len(r) and not is_missing(r[i])]
        numbers = sum(parse_number(v, decimal) is not None for v in column)
        names_over_numbers |= bool(column) and numbers * 2 >= len(column)
        repeated |= normalize_text(name) in {normalize_text(v) for v in column}
    # A text above a column of numbers is a name; a text found again below is a value.
    return names_over_numbers or not repeated


def sniff_format(
    path: str | Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    decimal: str | None = None,
    header: bool | None = None,
) -> TableFormat:
    """Sniff what is not given from the first 256 KB of the (decompressed) file.

    Raises:
        DataError: no such file, not text, an invalid option, or no delimiter splits it.
    """
    path = Path(path)
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1):
        raise DataError(
            f"`delimiter` must be one character, e.g. ';', ',' or '\\t'. "
            f"Received: delimiter={delimiter!r}."
        )
    if decimal is not None and decimal not in DECIMALS:
        raise DataError(one_of("decimal", decimal, DECIMALS))
    if header is not None and not isinstance(header, bool):
        raise DataError(
            f"`header` must be true or false (leave it out to have it sniffed). "
            f"Received: header={header!r}."
        )
    try:
        with open_binary(path) as (data, packed):
            raw = data.read(_SAMPLE_BYTES)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: the gzip stream is corrupt or truncated ({exc}).") from exc
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc}).") from exc
    text, chosen, notes = _decode_sample(path, raw, encoding)
    if not text.strip():
        raise DataError(f"{path}: the file is empty.")
    delimiter = delimiter or _sniff_delimiter(path, text)
    records = _sample_records(text, delimiter)
    if decimal is None:
        decimal = _sniff_decimal(records[1:] or records, delimiter)
    if header is None:
        header = _sniff_header(records, decimal)
    return TableFormat(chosen, delimiter, decimal, header, packed, tuple(notes))


# ------------------------------------------------------------------------------ rows
def column_names(first_row: list[str], header: bool) -> list[str]:
    """Header names (blank ones ``col_N``, repeats ``name.1``), or ``col_1``... without one."""
    if not header:
        return [f"col_{i + 1}" for i in range(len(first_row))]
    names: list[str] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(first_row):
        name = normalize_text(raw) or f"col_{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        seen.setdefault(name, 0)
        names.append(name)
    return names


@contextlib.contextmanager
def table_rows(
    path: str | Path, fmt: TableFormat, *, progress: ReadProgress | None = None
) -> Iterator[tuple[list[str], Iterator[tuple[int, list[str]]]]]:
    """The column names and an iterator of ``(line, fields)`` over the data rows.

    Every row is checked to have as many fields as the first; blank lines are skipped.
    Errors while reading name the file and the line (decoding, quoting, gzip).
    """
    path = Path(path)
    line = [0]

    def rows(reader: Any, first: list[str] | None) -> Iterator[tuple[int, list[str]]]:
        width = None if first is None else len(first)
        width_line = 1
        try:
            for row in reader:
                line[0] = reader.line_num
                if not row or (not row[0].strip() and not any(f.strip() for f in row)):
                    continue  # a blank line, or only delimiters (";;;")
                if width is None:
                    width, width_line = len(row), reader.line_num
                elif len(row) != width:
                    raise DataError(
                        f"{path}:{reader.line_num}: expected {width} fields (like line "
                        f"{width_line}), found {len(row)}. Check the delimiter "
                        f"({DELIMITERS.get(fmt.delimiter, repr(fmt.delimiter))}), the quotes, "
                        "or repair the row."
                    )
                yield reader.line_num, row
        except csv.Error as exc:
            raise DataError(f"{path}:{line[0] + 1}: cannot be split into fields ({exc}).") from exc
        except UnicodeDecodeError as exc:
            other = "cp1252" if fmt.encoding.startswith("utf-8") else "utf-8"
            raise DataError(
                f"{path}: not {fmt.encoding} text near line {line[0] + 1} ({exc.reason}), "
                f"although the start of the file is. Give `encoding` (e.g. {other!r})."
            ) from exc
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise DataError(
                f"{path}: the gzip stream is truncated or corrupt near line {line[0] + 1} "
                f"({exc}). Download or compress the file again."
            ) from exc

    try:
        with open_binary(path, progress) as (data, _):
            text = io.TextIOWrapper(cast(BinaryIO, data), encoding=fmt.encoding, newline="")
            reader = csv.reader(text, delimiter=fmt.delimiter)
            names: list[str] = []
            stream = rows(reader, None)
            first = next(stream, None)
            if first is None:
                raise DataError(f"{path}: the file is empty.")
            names = column_names(first[1], fmt.header)

            def data_rows() -> Iterator[tuple[int, list[str]]]:
                if not fmt.header:
                    yield first
                yield from stream

            yield names, data_rows()
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc}).") from exc
