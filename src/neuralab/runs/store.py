"""Run directories: every file written atomically, with a status that survives Ctrl-C.

Layout of ``runs/<name>-<YYYYmmdd-HHMMSS>/``::

    status.json    {"status": "incomplete" | "complete", ...}  (written first and last)
    spec.json      the resolved experiment spec
    history.csv    one row per epoch: loss, metrics, val_*, learning_rate
    metrics.json   evaluation per split, expectations, reference, timings
    model.keras    the trained model
    summary.txt    model.summary() with parameter counts
    env.json       package versions, backend (and why), seed, CPU
    plots/*.png    figures (plus .npz data to redraw them without Keras)
    report.html    self-contained report
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from neuralab.errors import RunError
from neuralab.fileio import atomic_write_bytes as atomic_write_bytes
from neuralab.fileio import atomic_write_text as atomic_write_text
from neuralab.fileio import replacing as replacing

Status = Literal["incomplete", "complete"]
STATUS_FILE = "status.json"


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
    return json.dumps(obj, indent=2, default=_json_default, ensure_ascii=False) + "\n"


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
        ) from None
    return directory


class RunDir:
    """One run's directory.

    Example:
        >>> run = RunDir.create("runs", "model_8")
        >>> run.write_json("metrics.json", {"test": {"accuracy": 1.0}})
        >>> run.set_status("complete")
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @classmethod
    def create(cls, root: str | Path, name: str, *, stamp: str | None = None) -> RunDir:
        """Make ``root/<name>-<timestamp>`` (suffixed ``-2``, ``-3``... if it exists)."""
        root = ensure_writable(root)
        stamp = stamp or datetime.now().strftime("%Y%m%d-%H%M%S")
        base = root / f"{name}-{stamp}"
        path, n = base, 1
        while True:
            try:
                path.mkdir(parents=False, exist_ok=False)
                break
            except FileExistsError:
                n += 1
                path = base.with_name(f"{base.name}-{n}")
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
        if not (path / STATUS_FILE).exists():
            raise RunError(
                f"{path}: not a neuralab run directory (no {STATUS_FILE}). Pass a folder "
                "written by `neuralab run` or `neuralab lab`."
            )
        return cls(path)

    # ------------------------------------------------------------------ writing
    def write_bytes(self, relative: str, data: bytes) -> Path:
        return atomic_write_bytes(self.path / relative, data)

    def write_text(self, relative: str, text: str) -> Path:
        return atomic_write_text(self.path / relative, text)

    def write_json(self, relative: str, obj: Any) -> Path:
        return self.write_text(relative, to_json(obj))

    def save_model(self, model: Any, relative: str = "model.keras") -> Path:
        """``model.save`` to a temporary ``.keras`` file, then rename into place."""
        target = self.path / relative
        # Keras wants the .keras suffix on the file it writes.
        with replacing(target, suffix=".keras") as tmp, _no_tensorflow_probe():
            model.save(tmp)
        return target

    def set_status(self, status: Status, **info: Any) -> None:
        payload = {"status": status, "updated": datetime.now().isoformat(timespec="seconds")}
        payload.update(info)
        self.write_json(STATUS_FILE, payload)

    # ------------------------------------------------------------------ reading
    def read_json(self, relative: str, default: Any = None) -> Any:
        path = self.path / relative
        if not path.exists():
            return default
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise RunError(f"{path}: unreadable JSON ({exc}).") from None

    def read_text(self, relative: str, default: str = "") -> str:
        path = self.path / relative
        return path.read_text(encoding="utf-8") if path.exists() else default

    @property
    def status(self) -> dict[str, Any]:
        return dict(self.read_json(STATUS_FILE, {"status": "incomplete"}))

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r}, status={self.status.get('status')!r})"


@contextmanager
def _no_tensorflow_probe() -> Iterator[None]:
    """Keep ``model.save`` from importing TensorFlow on another backend.

    Keras's serializer asks whether TensorFlow is installed, importing it (2-3 s), only to
    recognise TensorFlow objects; none can exist while TensorFlow is not imported, so the
    answer is "no" for the duration of the save, and the question is left open afterwards.
    """
    if "tensorflow" in sys.modules:
        yield
        return
    from keras.src.utils.module_utils import tensorflow as lazy

    if lazy.module is not None or lazy._available is not None:
        yield
        return
    lazy._available = False
    try:
        yield
    finally:
        lazy._available = None
