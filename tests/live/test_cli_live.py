"""``--live`` on ``run`` and ``lab``: one ``Live: URL`` line before training, the runs' events
at ``/events`` while they train (also from ``--jobs`` workers), and the same results as
without ``--live``."""

from __future__ import annotations

import http.client
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from typer.testing import CliRunner

from neuralab.cli import app
from neuralab.record import LabDir, MetricsRecord, RunDir, files
from neuralab.record.events import read_events, strip_epochs

SPEC = """
[defaults]
seed = 5
[defaults.data]
name = "moons"
n_samples = 300
noise = 0.15
test_size = 0.2
[defaults.compile]
optimizer = "Adam"
learning_rate = 0.02
[defaults.fit]
epochs = 10

[[experiments]]
name = "narrow"
model.layers = [{type = "Dense", units = 3, activation = "relu"}, {type = "Dense", units = 1, activation = "sigmoid"}]

[[experiments]]
name = "wide"
model.layers = [{type = "Dense", units = 16, activation = "tanh"}, {type = "Dense", units = 1, activation = "sigmoid"}]
"""


def _start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    return subprocess.Popen(
        [sys.executable, "-m", "neuralab", "--quiet", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
    )


def _live_url(proc: subprocess.Popen[str], seconds: float = 120) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], seconds)
    line = proc.stdout.readline() if ready else ""
    assert line.startswith("Live: http://127.0.0.1:"), line
    return line.split(": ", 1)[1].strip()


def _follow(
    url: str, seconds: float, until: Callable[[dict[str, Any]], bool] | None = None
) -> list[dict[str, Any]]:
    """Every event of the page's stream until it ends (the command exits), ``seconds`` pass,
    or (with ``until``) the first event for which ``until(event)`` is true."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=seconds)
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    try:
        connection.request("GET", f"/events?{parts.query}")
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Type", "").startswith("text/event-stream")
        while time.monotonic() < deadline:
            line = response.readline()
            if not line:
                break
            if line.startswith(b"data: "):
                events.append(json.loads(line[6:]))
                if until is not None and until(events[-1]):
                    break
    finally:
        connection.close()
    return events


def _results(root: Path) -> dict[str, Any]:
    """Each run's metrics and strip frames, by experiment name."""
    out = {}
    for path in sorted(root.rglob(files.METRICS)):
        record = RunDir(path.parent).read(MetricsRecord)
        strip = {
            e.epoch: e.grid
            for e in read_events(path.parent / files.EVENTS)
            if e.type == "boundary" and e.epoch in strip_epochs(10)
        }
        out[record.name] = (record.metrics, strip)
    return out


@pytest.mark.parametrize(
    "jobs",
    # --jobs 2: the runs train in worker processes; the page follows their events files.
    [1, pytest.param(2, marks=pytest.mark.slow)],
)
def test_run_live_streams_the_runs_and_changes_no_result(tmp_path, jobs):
    spec = tmp_path / "two.toml"
    spec.write_text(SPEC, encoding="utf-8")
    proc = _start(
        [
            "run",
            str(spec),
            "--live",
            "--no-browser",
            "--jobs",
            str(jobs),
            "-o",
            str(tmp_path / "live"),
        ],
        tmp_path,
    )
    try:
        url = _live_url(proc)
        events = _follow(url, seconds=240)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    runs = {e["channel"].split("/")[-1] for e in events if e["type"] == "begin"}
    assert runs == {"narrow", "wide"}
    kinds = {e["type"] for e in events}
    assert {"begin", "epoch", "boundary", "end", "run_status"} <= kinds
    assert not (tmp_path / "live" / files.LIVE).exists()  # the marker goes with the page
    quiet = CliRunner().invoke(
        app, ["--quiet", "run", str(spec), "-o", str(tmp_path / "quiet")], catch_exceptions=False
    )
    assert quiet.exit_code == 0, quiet.output
    assert _results(tmp_path / "live") == _results(tmp_path / "quiet")


@pytest.mark.slow
def test_lab_circles_quick_live_delivers_events_and_the_same_lab(tmp_path, circles_quick_pt):
    # The circles lab cannot take --jobs (model_10 waits for model_9's range test): the runs
    # train in this process (the test above has worker processes). The same lab without the
    # page (run once for the session, in Portuguese: the language changes no number).
    command = ["lab", "circles", "--quick", "--seeds", "1"]
    proc = _start([*command, "--live", "--no-browser", "-o", "live"], tmp_path)
    try:
        url = _live_url(proc)
        events = _follow(url, seconds=900)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    begun = [e["channel"] for e in events if e["type"] == "begin"]
    assert len(begun) == 10 and sum(e["type"] == "run_status" for e in events) == 10
    (live_lab,) = (tmp_path / "live").iterdir()
    quiet_lab, _ = circles_quick_pt
    assert LabDir(live_lab).read().experiments == LabDir(quiet_lab).read().experiments
    assert _results(live_lab) == _results(quiet_lab)


def test_resume_live_shows_the_earlier_runs_and_the_resumed_one(tmp_path):
    spec = tmp_path / "two.toml"
    spec.write_text(SPEC, encoding="utf-8")
    first = CliRunner().invoke(
        app, ["--quiet", "run", str(spec), "-o", str(tmp_path / "out")], catch_exceptions=False
    )
    assert first.exit_code == 0, first.output
    (lab,) = (tmp_path / "out").iterdir()
    # As if the command had been killed after its first run: the second never started.
    wide = lab / "wide"
    for path in sorted(wide.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    wide.rmdir()
    proc = _start(["run", str(spec), "--resume", str(lab), "--live", "--no-browser"], tmp_path)
    try:
        url = _live_url(proc)
        events = _follow(url, seconds=240)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    channels = {e["channel"].split("/")[-1] for e in events}
    assert channels == {"narrow", "wide"}  # the earlier attempt's run is on the page too
    begun = [e["channel"].split("/")[-1] for e in events if e["type"] == "begin"]
    assert begun.count("wide") == 1
    statuses = {
        e["channel"].split("/")[-1]: e["status"] for e in events if e["type"] == "run_status"
    }
    assert statuses == {"narrow": "complete", "wide": "complete"}
    fresh = CliRunner().invoke(
        app, ["--quiet", "run", str(spec), "-o", str(tmp_path / "fresh")], catch_exceptions=False
    )
    assert fresh.exit_code == 0, fresh.output
    assert _results(lab) == _results(tmp_path / "fresh")


def test_ctrl_c_stops_a_live_run_cleanly(tmp_path, children_take_sigint):
    spec = tmp_path / "long.toml"
    # One long run: Ctrl-C arrives while it trains.
    spec.write_text(SPEC.replace("epochs = 10", "epochs = 5000"), encoding="utf-8")
    proc = _start(["run", str(spec), "--live", "--no-browser", "-o", "out"], tmp_path)
    try:
        url = _live_url(proc)
        events = _follow(url, seconds=120, until=lambda e: e["type"] == "epoch")
        assert events and events[-1]["type"] == "epoch"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    (lab,) = (tmp_path / "out").iterdir()
    status = RunDir(lab / "narrow").status
    assert status.status == "incomplete" and status.reason == "interrupted (Ctrl-C)"
    assert not (tmp_path / "out" / files.LIVE).exists()  # the page's marker is gone
    parts = urlsplit(url)
    with pytest.raises(OSError):  # and so is its server
        http.client.HTTPConnection(parts.hostname, parts.port, timeout=5).request("GET", "/")
