from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from neuralab.errors import RunError
from neuralab.runs import RunDir, atomic_write_text


def test_create_names_and_status(tmp_path):
    run = RunDir.create(tmp_path, "exp", stamp="20260101-000000")
    assert run.path.name == "exp-20260101-000000"
    assert run.status.status == "incomplete" and run.status.reason == "running"
    again = RunDir.create(tmp_path, "exp", stamp="20260101-000000")
    assert again.path.name == "exp-20260101-000000-2"
    run.set_status("complete", epochs_run=3)
    assert json.loads((run.path / "status.json").read_text())["epochs_run"] == 3


def test_atomic_write_leaves_old_file_when_interrupted(tmp_path, monkeypatch):
    target = tmp_path / "metrics.json"
    atomic_write_text(target, "old")

    def boom(src, dst):  # the rename never happens, as if the process died before it
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(target, "new")
    monkeypatch.undo()
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_open_rejects_non_runs(tmp_path):
    with pytest.raises(RunError, match="no such run directory"):
        RunDir.open(tmp_path / "nope")
    with pytest.raises(RunError, match="not a neuralab run directory"):
        RunDir.open(tmp_path)


def test_not_writable_output(tmp_path):
    blocker = tmp_path / "f"
    blocker.write_text("")
    with pytest.raises(
        RunError, match=r"output directory is not writable .*Choose another with --output DIR"
    ):
        RunDir.create(blocker / "runs", "x")


def test_written_files_get_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "report.html", "<html></html>")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


SAVE_ON_JAX = """
import sys
import keras
from neuralab.runs import RunDir
from neuralab.runs.store import save_model

model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
model.compile(loss="binary_crossentropy", optimizer="adam")
path = save_model(RunDir.create(sys.argv[1], "exp"), model)
print("tensorflow" in sys.modules)
loaded = keras.saving.load_model(path)
print(loaded.count_params())
"""


def test_saving_a_jax_model_does_not_import_tensorflow(tmp_path):
    # Keras's serializer would import TensorFlow (2-3 s) just to ask whether it is installed.
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    proc = subprocess.run(
        [sys.executable, "-c", SAVE_ON_JAX, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.split() == ["False", "3"]
