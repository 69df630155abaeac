"""``neuralab play`` as a user runs it: one URL line, the page served, Ctrl-C stops it."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
import urllib.request

from typer.testing import CliRunner

from neuralab.cli import app


def _first_line(proc: subprocess.Popen[str], *, seconds: float) -> str:
    """The first line the process prints (waiting at most ``seconds``)."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], seconds)
    return proc.stdout.readline() if ready else ""


def test_play_prints_its_url_serves_the_page_and_stops_on_ctrl_c(tmp_path, children_take_sigint):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "KERAS_BACKEND": ""}
    env.pop("KERAS_BACKEND")
    proc = subprocess.Popen(
        [sys.executable, "-m", "neuralab", "play", "--no-browser", "--output", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        line = _first_line(proc, seconds=120)
        assert line.startswith("Playground: http://127.0.0.1:"), line
        url = line.split(": ", 1)[1].strip()
        assert "?token=" in url
        with urllib.request.urlopen(url, timeout=20) as response:
            assert response.status == 200 and b"<canvas" in response.read()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "Stopped." in err and "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_a_remote_host_needs_allow_remote_and_says_what_it_exposes():
    started = time.monotonic()
    result = CliRunner().invoke(app, ["play", "--no-browser", "--host", "0.0.0.0"])
    assert result.exit_code == 1
    assert "--allow-remote" in result.output and "other machines" in result.output
    assert time.monotonic() - started < 30
