"""Reading and writing the records of a run directory (atomically, versioned).

Example:
    >>> run = RunDir.create("runs", "model_8")
    >>> run.write(MetricsRecord(name="model_8", metrics={"test": {"accuracy": 1.0}}))
    >>> run.read(MetricsRecord).metric("test")
    1.0
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from neuralab.errors import RunError
from neuralab.fileio import atomic_write_bytes, atomic_write_text
from neuralab.record import files
from neuralab.record.models import (
    SCHEMA_VERSION,
    LabRecord,
    LayersRecord,
    Record,
    SpecRecord,
    StatusRecord,
)

if TYPE_CHECKING:
    import pandas as pd

R = TypeVar("R", bound=Record)


def _json_default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def to_json(obj: Any) -> str:
    """Indented JSON text (NumPy scalars and arrays, paths as plain values)."""
    return json.dumps(obj, indent=2, default=_json_default, ensure_ascii=False) + "\n"


def _version_name() -> str:
    from neuralab import __version__

    return __version__


def migrate(cls: type[R], data: Any, path: Path) -> R:
    """Validate ``data`` read from ``path`` as ``cls``, upgrading a record of an older schema.

    Raises:
        RunError: the file is of a newer schema, or cannot be read as this record; the message
            names both schema versions.
    """
    version = data.get("schema_version", 0) if isinstance(data, dict) else 0
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise RunError(
            f"{path}: written by a newer neuralab (record schema {version}); this neuralab "
            f"{_version_name()} reads schema {SCHEMA_VERSION} and older. Upgrade neuralab "
            "(pip install -U neuralab) to open it."
        )
    if version < SCHEMA_VERSION:
        data = _from_schema_0(cls, data, path)
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise RunError(
            f"{path}: not a valid {cls.__name__} of record schema {version} (this neuralab "
            f"{_version_name()} writes schema {SCHEMA_VERSION}): {where}: {first['msg']}. "
            "Rebuild the run with this neuralab, or open it with the neuralab that wrote it."
        ) from exc


def _from_schema_0(cls: type[R], data: Any, path: Path) -> Any:
    """Records written by neuralab 0.1 (no ``schema_version``): same keys, a few moved."""
    if cls is LayersRecord and isinstance(data, list):
        return {"layers": data}
    if not isinstance(data, dict):
        return data
    data = dict(data)
    if cls is SpecRecord:
        spec = {k: v for k, v in data.items() if k not in ("quick", "epochs_run_cap")}
        return {
            "spec": spec,
            "quick": bool(data.get("quick", False)),
            "epochs": data.get("epochs_run_cap"),
            "seed": int(spec.get("seed", 42)),
            "group": str(spec.get("name", "")),
        }
    if cls.__name__ == "MetricsRecord":
        data.setdefault("name", path.parent.name)
    known = set(cls.model_fields)
    return {k: v for k, v in data.items() if k in known}


def ensure_writable(directory: str | Path) -> Path:
    """Create ``directory`` if needed and check that files can be written in it.

    Raises:
        RunError: the directory cannot be created or written, naming it and the fix.
    """
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=directory)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise RunError(
            f"{directory}: output directory is not writable ({exc.strerror or exc}). Choose "
            "another with --output DIR, or fix its permissions."
        ) from exc
    return directory


class RunDir:
    """One run's directory: its typed records, written atomically.

    Example:
        >>> run = RunDir.create("runs", "model_8")
        >>> run.set_status("complete")
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @classmethod
    def create(cls, root: str | Path, name: str, *, stamp: str | None = None) -> RunDir:
        """Make ``root/<name>-<timestamp>`` (suffixed ``-2``, ``-3``... if it exists)."""
        path = new_directory(root, name, stamp=stamp)
        run = cls(path)
        run.set_status("incomplete", reason="running")
        return run

    @classmethod
    def at(cls, path: str | Path) -> RunDir:
        """Make (or reuse) exactly ``path`` as a run directory, e.g. one experiment of a lab."""
        path = Path(path)
        ensure_writable(path)
        run = cls(path)
        run.set_status("incomplete", reason="running")
        return run

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        """An existing run directory, for reading.

        Raises:
            RunError: ``path`` is not a run directory.
        """
        path = Path(path)
        if not path.is_dir():
            raise RunError(f"{path}: no such run directory. Pass a folder under runs/.")
        if not (path / files.STATUS).exists():
            raise RunError(
                f"{path}: not a neuralab run directory (no {files.STATUS}). Pass a folder "
                "written by `neuralab run` or `neuralab lab`."
            )
        return cls(path)

    # ------------------------------------------------------------------ records
    def write(self, record: Record) -> Path:
        """Write ``record`` to its file (``record.FILE``), atomically."""
        return self.write_text(record.FILE, to_json(record.model_dump(mode="json")))

    def read(self, cls: type[R]) -> R:
        """The record ``cls`` of this run.

        Raises:
            RunError: missing, unreadable, or of another schema version (named).
        """
        found = self.read_optional(cls)
        if found is None:
            raise RunError(f"{self.path / cls.FILE}: missing. The run did not get that far.")
        return found

    def read_optional(self, cls: type[R]) -> R | None:
        """The record ``cls``, or None when the run has no such file."""
        path = self.path / cls.FILE
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RunError(f"{path}: unreadable JSON ({exc}).") from exc
        return migrate(cls, data, path)

    def has(self, relative: str) -> bool:
        return (self.path / relative).exists()

    def file(self, relative: str) -> Path:
        return self.path / relative

    # ------------------------------------------------------------------ history
    def write_history(self, rows: list[dict[str, float]] | pd.DataFrame) -> Path:
        """``history.csv``: one row per epoch, index ``epoch`` from 1."""
        import pandas as pd

        frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
        frame = frame.copy()
        frame.index = pd.RangeIndex(1, len(frame) + 1, name="epoch")
        return self.write_text(files.HISTORY, frame.to_csv())

    def read_history(self) -> pd.DataFrame:
        """The per-epoch history (empty when no epoch finished).

        Raises:
            RunError: the file is not a history table.
        """
        import pandas as pd

        path = self.path / files.HISTORY
        if not path.exists():
            return pd.DataFrame()
        try:
            frame = pd.read_csv(path, index_col=0)
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            raise RunError(f"{path}: unreadable history table ({exc}).") from exc
        if len(frame) and (
            frame.index.name != "epoch"
            or not all(pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns)
        ):
            raise RunError(
                f"{path}: not a history table (expected an `epoch` column, then numeric "
                "columns such as loss and accuracy)."
            )
        return frame

    # ------------------------------------------------------------------ status
    def set_status(self, status: str, **info: Any) -> None:
        self.write(StatusRecord(status=status, **info))  # type: ignore[arg-type]

    @property
    def status(self) -> StatusRecord:
        return self.read_optional(StatusRecord) or StatusRecord()

    # ------------------------------------------------------------------ raw files
    def write_bytes(self, relative: str, data: bytes) -> Path:
        return atomic_write_bytes(self.path / relative, data)

    def write_text(self, relative: str, text: str) -> Path:
        return atomic_write_text(self.path / relative, text)

    def read_text(self, relative: str, default: str = "") -> str:
        path = self.path / relative
        return path.read_text(encoding="utf-8") if path.exists() else default

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r}, status={self.status.status!r})"


def new_directory(root: str | Path, name: str, *, stamp: str | None = None) -> Path:
    """Make a new ``root/<name>-<timestamp>`` folder (suffixed ``-2``... if it exists)."""
    root = ensure_writable(root)
    stamp = stamp or datetime.now().strftime("%Y%m%d-%H%M%S")
    base = root / f"{name}-{stamp}"
    path, n = base, 1
    while True:
        try:
            path.mkdir(parents=False, exist_ok=False)
            return path
        except FileExistsError:
            n += 1
            path = base.with_name(f"{base.name}-{n}")


class LabDir:
    """A lab directory: ``lab.json`` and one run directory per experiment (and seed)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @staticmethod
    def is_lab(path: str | Path) -> bool:
        return (Path(path) / files.LAB).exists()

    @classmethod
    def open(cls, path: str | Path) -> LabDir:
        """Raises: RunError: ``path`` holds no ``lab.json``."""
        if not cls.is_lab(path):
            raise RunError(f"{path}: not a lab directory (no {files.LAB}).")
        return cls(path)

    def read(self) -> LabRecord:
        found = RunDir(self.path).read_optional(LabRecord)
        if found is None:
            raise RunError(f"{self.path}: not a lab directory (no {files.LAB}).")
        return found

    def write(self, record: LabRecord) -> Path:
        return RunDir(self.path).write(record)

    def runs(self, record: LabRecord | None = None) -> list[RunDir]:
        """The lab's run directories that exist, in the lab's order."""
        record = record or self.read()
        return [
            RunDir(self.path / name)
            for name in record.experiments
            if (self.path / name / files.STATUS).exists()
        ]
