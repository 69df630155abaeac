"""A table uploaded from the play page: kept under a folder, read by neuralab's own loader.

Nothing here parses the file: it is written to disk as received (size capped by the
server), then read by the data loader a spec's ``data = {name = "csv", ...}`` uses, so the
page shows the same messages a spec file would get. The kept copy is what an exported spec
names, so ``neuralab run`` reads the same rows.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from neuralab.data.dataset import Dataset
from neuralab.errors import DataError
from neuralab.fileio import atomic_write_bytes
from neuralab.live.playspec import Upload

#: Largest upload accepted (bytes).
MAX_UPLOAD_BYTES = 5 * 2**20
#: Most rows an uploaded table may have (the page trains on them interactively).
MAX_ROWS = 20_000
MAX_CLASSES = 8


def _safe_name(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(name or "table.csv").name).strip("._")
    return (stem or "table.csv")[:60]


def _last_column(path: Path) -> str | None:
    """The last column's name, as the table loader sniffs the header (None: no such loader)."""
    try:
        from neuralab.data.table_format import sniff_format, table_rows

        with table_rows(path, sniff_format(path)) as (names, _rows):
            return str(list(names)[-1]) if list(names) else None
    except (ImportError, TypeError, AttributeError):  # an older neuralab: no table loader
        return None


def _read(path: Path, label: str | None, where: str) -> tuple[Dataset, dict[str, object], bool]:
    """The table as a data set, with the ``csv`` data set's keys naming it."""
    from neuralab.data.registry import DATASETS, load_dataset

    if "csv" in DATASETS:
        label = label or _last_column(path)
        if label:
            params: dict[str, object] = {"path": str(path), "label": label}
            loaded = load_dataset("csv", params, where=where)
            if isinstance(loaded, Dataset):
                return loaded, params, True
    # No `csv` data set in this neuralab: the CSV reader of the other tables (the class in the
    # last column or the one named; line 1 is a header when it is not numbers).
    from neuralab.data.tabular import read_csv

    try:
        data = read_csv(path, label=label or -1, header=bool(label))
    except DataError as exc:
        if label or ":1," not in str(exc):
            raise
        data = read_csv(path, label=-1, header=True)
    return data, {"path": str(path), "label": label or -1}, False


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "."))
    except ValueError:
        return False
    return True


def save_upload(
    folder: str | Path, name: str, body: bytes, *, label: str | None = None
) -> tuple[Upload, Dataset]:
    """Keep ``body`` as a file under ``folder`` and read it as a 2-feature table.

    Args:
        folder: Where uploads are kept (created if needed).
        name: The file name the page gave (only for messages and the kept file's name).
        body: The file's bytes.
        label: The class column's name (default: the last column).

    Raises:
        DataError: too large, empty, not a table the loader reads, not two numeric features,
            or more classes or rows than the page trains on; the message says which.
    """
    shown = _safe_name(name)
    if len(body) > MAX_UPLOAD_BYTES:
        raise DataError(
            f"{shown}: {len(body) / 2**20:.1f} MB is more than the {MAX_UPLOAD_BYTES // 2**20} MB "
            "the page accepts. Use a smaller table, or train on it with `neuralab run`."
        )
    if not body.strip():
        raise DataError(f"{shown}: the file is empty. Choose a CSV file with a header line.")
    digest = hashlib.sha256(body).hexdigest()[:16]
    path = Path(folder) / f"{digest}-{shown}"
    if not path.suffix:
        path = path.with_suffix(".csv")
    atomic_write_bytes(path, body)
    try:
        data, params, exportable = _read(path, label, where="upload")
    except DataError as exc:  # name the file as the learner knows it, not the kept copy
        raise DataError(str(exc).replace(str(path), shown)) from exc
    if data.sample_shape == (2,) and not data.plane:
        column = next(c for c in getattr(data, "columns", ()) if c.kind != "numeric")
        texts = [c for c in column.categories if not _is_number(c)] or list(column.categories)
        example = f", e.g. {texts[0]!r}" if texts else ""
        raise DataError(
            f"{shown}: the page draws two numeric features, and column {column.name!r} holds "
            f"text (categories{example}). Keep two numeric columns and the class column."
        )
    if data.sample_shape != (2,):
        raise DataError(
            f"{shown}: the page draws two features, and this table has "
            f"{data.sample_shape[0] if data.sample_shape else 0} feature columns besides the "
            "class. Keep two numeric columns and the class column."
        )
    for column in getattr(data, "columns", ()):  # the table loader's column kinds
        if getattr(column, "kind", "numeric") != "numeric":
            texts = [c for c in column.categories if not _is_number(c)]
            example = f" (e.g. {texts[0]!r})" if texts else ""
            raise DataError(
                f"{shown}: column {column.name!r} holds text{example}, not numbers; the page "
                "draws two numeric features. Fix those cells, or train on the table with "
                "`neuralab run`."
            )
    if data.n_samples > MAX_ROWS:
        raise DataError(
            f"{shown}: {data.n_samples:,} rows is more than the {MAX_ROWS:,} the page trains "
            "on. Use a sample of the rows, or `neuralab run` for the whole table."
        )
    if not 2 <= data.n_classes <= MAX_CLASSES:
        raise DataError(
            f"{shown}: the class column has {data.n_classes} classes; the page takes 2 to "
            f"{MAX_CLASSES}."
        )
    upload = Upload(
        id=digest,
        name=shown,
        path=str(path),
        label=None if params["label"] == -1 else str(params["label"]),
        n_classes=data.n_classes,
        n_rows=data.n_samples,
        params=params,
        exportable=exportable,
    )
    return upload, data
