"""Test set-up: JAX backend (dense models), Agg plots, quiet TensorFlow."""

from __future__ import annotations

import os

# The backend must be chosen before Keras is imported anywhere.
os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tempfile
from pathlib import Path

import pytest

from neuralab.backend import enable_compilation_cache

SRC = Path(__file__).resolve().parents[1] / "src"

# Compiled epoch programs are shared between tests that train same-shaped models.
enable_compilation_cache(Path(tempfile.gettempdir()) / "neuralab-test-xla-cache")


@pytest.fixture
def write_toml(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write TOML text to a file in tmp_path and return its path."""

    def _write(text: str, name: str = "spec.toml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write


TINY_SPEC = """
title = "tiny"
[defaults]
seed = 1
[defaults.data]
name = "circles"
n_samples = 200
test_size = 40
[defaults.compile]
loss = "binary_crossentropy"
optimizer = "Adam"
learning_rate = 0.01
[defaults.fit]
epochs = 3
batch_size = 32

[[experiments]]
name = "small"
model.layers = [
  {type = "Dense", units = 4, activation = "relu"},
  {type = "Dense", units = 1, activation = "sigmoid"},
]
"""


@pytest.fixture
def tiny_spec(write_toml):  # type: ignore[no-untyped-def]
    return write_toml(TINY_SPEC)


@pytest.fixture
def tiny_spec_text() -> str:
    return TINY_SPEC


class _Files:
    """What the local test server serves: path -> bytes, plus fault injection."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.cut_after: dict[str, int] = {}  # close the connection after N bytes (once)
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)
        self.headers: dict[str, dict[str, str]] = {}  # extra response headers per path


@pytest.fixture
def http_server():  # type: ignore[no-untyped-def]
    """A real HTTP server on 127.0.0.1 serving ``server.files`` with Range support.

    Yields an object with ``url(path)``, ``files``, ``headers``, ``cut_after`` and
    ``requests``.
    """
    import http.server
    import threading

    state = _Files()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            state.requests.append((path, self.headers.get("Range")))
            body = state.files.get(path)
            if body is None:
                self.send_error(404)
                return
            start = 0
            rng = self.headers.get("Range")
            if rng and rng.startswith("bytes="):
                start = int(rng[6:].split("-", 1)[0])
                if start >= len(body):
                    self.send_error(416)
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(body) - start))
            for key, value in state.headers.get(path, {}).items():
                self.send_header(key, value)
            self.end_headers()
            cut = state.cut_after.pop(path, None)
            self.wfile.write(body[start:] if cut is None else body[start : start + cut])
            if cut is not None:
                self.wfile.flush()
                self.close_connection = True

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    state.url = lambda path: f"http://{host}:{port}{path}"  # type: ignore[attr-defined]
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def _private_caches(tmp_path_factory, monkeypatch):  # type: ignore[no-untyped-def]
    """Data caches (neuralab's and Keras's) in a fresh folder: tests never see real ones."""
    root = tmp_path_factory.mktemp("caches")
    monkeypatch.setenv("NEURALAB_DATA", str(root / "datasets"))
    monkeypatch.setenv("KERAS_HOME", str(root / "keras"))
    return root


# Whole labs, real CLI processes killed and resumed: `make test-fast` leaves these out.
_SLOW = ("tests/labs/", "tests/runs/test_resume.py")


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    for item in items:
        where = item.nodeid.replace("\\", "/")
        if where.startswith(_SLOW) or f"tests/{where}".startswith(_SLOW):
            item.add_marker(pytest.mark.slow)
