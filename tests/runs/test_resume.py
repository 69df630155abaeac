"""Resume after a hard kill: SIGKILL the real CLI at several points, resume, and get the
numbers of a run that was never stopped (bit for bit: history, weights, metrics)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neuralab.record import LabDir, MetricsRecord, RunDir, files
from neuralab.training.checkpoint import load_checkpoint

SRC = Path(__file__).resolve().parents[2] / "src"

# Two experiments, each lasting a few seconds: the first is kept when the second is killed.
SPEC = """
title = "resume"
[defaults]
seed = 7
[defaults.data]
name = "circles"
n_samples = {n}
noise = 0.1
test_size = 0.2
[defaults.compile]
loss = "binary_crossentropy"
optimizer = "Adam"
learning_rate = 0.003
[defaults.fit]
epochs = {epochs}
batch_size = 32
checkpoint_seconds = 0  # after every epoch (or compiled chunk): a kill point in each run
callbacks = [{{type = "EarlyStopping", monitor = "val_loss", patience = 1000}}]

[[experiments]]
name = "first"
model.layers = [
  {{type = "Dense", units = {units}, activation = "relu"}},
  {{type = "Dropout", rate = 0.2}},
  {{type = "Dense", units = 1, activation = "sigmoid"}},
]

[[experiments]]
name = "second"
model.layers = [
  {{type = "Dense", units = {units}, activation = "relu"}},
  {{type = "Dense", units = {units}, activation = "relu"}},
  {{type = "Dropout", rate = 0.1}},
  {{type = "Dense", units = 1, activation = "sigmoid"}},
]
"""

# (flags, data size, epochs, units): the fused JAX trainer, and model.fit on TensorFlow.
CASES = {
    "fused-jax": (["--backend", "jax", "--trainer", "fused"], 4000, 300, 256),
    "fit-tensorflow": (["--backend", "tensorflow", "--trainer", "fit"], 3000, 12, 64),
}


def _cli(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC), "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("KERAS_BACKEND", None)
    return subprocess.Popen(
        [sys.executable, "-m", "neuralab", "--quiet", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(proc: subprocess.Popen[str], timeout: float = 600) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out
    return out


def _kill_when(
    proc: subprocess.Popen[str], ready: Callable[[], bool], *, timeout: float = 300
) -> None:
    """SIGKILL ``proc`` as soon as ``ready()``; fail if it ended first."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, f"ended before the kill point:\n{proc.communicate()[0]}"
        assert time.monotonic() < deadline, "kill point never reached"
        time.sleep(0.02)
    assert proc.poll() is None, "ended before the kill point"
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)  # reaps it and closes its pipe
    assert proc.returncode == -signal.SIGKILL


def _lab(out: Path) -> Path | None:
    labs = [p for p in out.glob("*") if LabDir.is_lab(p)] if out.exists() else []
    return labs[0] if labs else None


def _mid_run(out: Path, name: str, epochs: int) -> bool:
    lab = _lab(out)
    if lab is None:
        return False
    try:
        state = load_checkpoint(lab / name / files.CHECKPOINT)
    except Exception:  # being replaced right now
        return False
    return state is not None and 0 < state.epoch < epochs // 2


def _reports_being_drawn(out: Path) -> bool:
    lab = _lab(out)
    if lab is None or (lab / files.REPORT).exists():
        return False
    return all(RunDir(lab / n).status.complete for n in ("first", "second"))


def _weights(run: Path) -> list[np.ndarray]:
    import keras

    model = keras.saving.load_model(run / files.MODEL, compile=False)
    return [np.asarray(w) for w in model.get_weights()]


def _compare(expected: Path, actual: Path) -> None:
    for name in ("first", "second"):
        a, b = RunDir(expected / name), RunDir(actual / name)
        pd.testing.assert_frame_equal(a.read_history(), b.read_history(), check_exact=True)
        assert a.read_text(files.HISTORY) == b.read_text(files.HISTORY)
        assert a.read(MetricsRecord).metrics == b.read(MetricsRecord).metrics
        for wa, wb in zip(_weights(a.path), _weights(b.path), strict=True):
            np.testing.assert_array_equal(wa, wb)
        assert b.status.complete and not b.has(files.CHECKPOINT)


@pytest.mark.parametrize("case", list(CASES))
def test_a_lab_killed_at_several_points_resumes_to_the_same_numbers(tmp_path, case):
    flags, n, epochs, units = CASES[case]
    spec = tmp_path / "resume.toml"
    spec.write_text(SPEC.format(n=n, epochs=epochs, units=units), encoding="utf-8")
    # The run that is never stopped.
    _finish(_cli(["run", str(spec), "-o", "whole", *flags], tmp_path))
    whole = _lab(tmp_path / "whole")
    assert whole is not None

    out = tmp_path / "killed"
    # 1. Killed before the first epoch (the lab folder exists, nothing trained yet).
    proc = _cli(["run", str(spec), "-o", str(out), *flags], tmp_path)
    _kill_when(proc, lambda: _lab(out) is not None)
    lab = _lab(out)
    assert lab is not None
    assert not (lab / "second" / files.CHECKPOINT).exists()
    resume = ["run", str(spec), "-o", str(out), *flags, "--resume", str(lab)]
    # 2. Killed in the middle of the second run (the first is complete and kept).
    proc = _cli(resume, tmp_path)
    _kill_when(proc, lambda: _mid_run(out, "second", epochs))
    assert RunDir(lab / "first").status.complete
    before = load_checkpoint(lab / "second" / files.CHECKPOINT)
    assert before is not None and 0 < before.epoch < epochs and not before.finished
    assert RunDir(lab / "second").status.status == "incomplete"
    # 3. Killed while the reports are drawn (every run complete, no lab report yet).
    proc = _cli(resume, tmp_path)
    _kill_when(proc, lambda: _reports_being_drawn(out))
    # 4. Resumed to the end.
    _finish(_cli(resume, tmp_path))
    assert (lab / files.REPORT).exists()
    record = LabDir(lab).read()
    assert record.status == "complete" and record.resumed == 3
    second = RunDir(lab / "second").read(MetricsRecord)
    assert second.training.resumed_from is not None and second.training.resumed_from >= before.epoch
    _compare(whole, lab)


def test_resuming_with_a_changed_spec_is_refused_with_the_difference(tmp_path):
    # No kill here: the CLI runs in this process.
    from typer.testing import CliRunner

    from neuralab.cli import app

    def cli(*args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(app, ["--quiet", *args], catch_exceptions=False)

    spec = tmp_path / "resume.toml"
    spec.write_text(SPEC.format(n=200, epochs=3, units=4), encoding="utf-8")
    out = tmp_path / "out"
    first = cli("run", str(spec), "-o", str(out), "--trainer", "fit")
    assert first.exit_code == 0, first.output
    lab = _lab(out)
    assert lab is not None
    spec.write_text(SPEC.format(n=200, epochs=4, units=4), encoding="utf-8")
    changed = cli("run", str(spec), "-o", str(out), "--resume", str(lab))
    assert changed.exit_code == 1, changed.output
    assert "cannot resume: the experiment changed since this run started" in changed.output
    assert "fit.epochs: 3 in the run, 4 now" in changed.output
    assert "Traceback" not in changed.output
    # Another lab's folder is refused too, naming what differs.
    other = cli("lab", "circles", "--quick", "-o", str(out), "--resume", str(lab))
    assert other.exit_code == 1, other.output
    assert "cannot resume: it holds 'resume', not 'circles'" in " ".join(other.output.split())
