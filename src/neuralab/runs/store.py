"""Saving a trained model into a run directory; the records themselves live in
:mod:`neuralab.record` (re-exported here for orchestration code)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neuralab._keras_compat import no_tensorflow_probe
from neuralab.fileio import atomic_write_bytes as atomic_write_bytes
from neuralab.fileio import atomic_write_text as atomic_write_text
from neuralab.fileio import replacing
from neuralab.record import files
from neuralab.record.rundir import RunDir as RunDir
from neuralab.record.rundir import ensure_writable as ensure_writable
from neuralab.record.rundir import to_json as to_json


def save_model(run: RunDir, model: Any, relative: str = files.MODEL) -> Path:
    """``model.save`` to a temporary ``.keras`` file, then rename into place."""
    target = run.path / relative
    # Keras wants the .keras suffix on the file it writes.
    with replacing(target, suffix=".keras") as tmp, no_tensorflow_probe():
        model.save(tmp)
    return target
