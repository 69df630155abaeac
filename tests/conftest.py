"""Test set-up: JAX backend (dense models), Agg plots, quiet TensorFlow."""

from __future__ import annotations

import os

# The backend must be chosen before Keras is imported anywhere.
os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from neuralab.backend import enable_compilation_cache

SRC = Path(__file__).resolve().parents[1] / "src"

# Compiled epoch programs are shared between tests that train same-shaped models.
enable_compilation_cache(Path(tempfile.gettempdir()) / "neuralab-test-xla-cache")


def run_once(
    factory: pytest.TempPathFactory, key: str, produce: Callable[[Path], str]
) -> tuple[Path, str]:
    """``produce(folder)`` run once in the whole test session, whichever xdist worker asks
    first (the others wait for it, then read what it left): a lab that several test files
    check, trained once. Returns the folder and what ``produce`` returned (a command's
    output). Tests must not change the folder: copy it first."""
    from filelock import FileLock

    root = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by the workers of this session
    folder = root / f"once-{key}"
    done = root / f"once-{key}.output"
    with FileLock(str(root / f"once-{key}.lock")):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            done.with_suffix(".tmp").write_text(produce(folder), encoding="utf-8")
            done.with_suffix(".tmp").rename(done)
    return folder, done.read_text(encoding="utf-8")


def has_browser() -> bool:
    """Chromium or Chrome on PATH (to print PDFs; CI installs Debian's chromium)."""
    return any(shutil.which(name) for name in ("chromium", "google-chrome"))


@pytest.fixture(scope="session")
def circles_quick_pt(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """``neuralab lab circles --quick --seeds 1 --lang pt`` (and ``--pdf`` where a browser
    is installed), as a user types it in a 160-column terminal, once for the whole session:
    the lab folder and what the command printed."""
    from typer.testing import CliRunner

    from neuralab.cli import app

    def produce(out: Path) -> str:
        args = ["lab", "circles", "--quick", "--seeds", "1", "--lang", "pt", "-o", str(out)]
        result = CliRunner().invoke(
            app,
            args + (["--pdf"] if has_browser() else []),
            env={"COLUMNS": "160"},
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        return result.output

    out, output = run_once(tmp_path_factory, "circles-quick-pt", produce)
    (lab,) = [p for p in out.iterdir() if p.is_dir()]
    return lab, output


def _kernel_manager_class(folder: Path) -> Any:
    """Kernel managers that start this very interpreter: a kernelspec written for the test,
    so no user or system kernelspec can put another Python in its place. nbclient makes the
    manager from this class, so it also shuts the kernel down when the notebook is done."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    spec_dir = folder / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec = {"argv": argv, "display_name": "neuralab test", "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    specs = KernelSpecManager(kernel_dirs=[str(folder / "kernels")])

    class Manager(AsyncKernelManager):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(kernel_spec_manager=specs, **kwargs)

    return Manager


KERNEL = "neuralab-test"


def _kernel_env(folder: Path) -> dict[str, str]:
    env = dict(os.environ)
    # As in Jupyter: the kernel picks its inline matplotlib backend itself.
    env.pop("MPLBACKEND", None)
    env["NEURALAB_DATA"] = str(folder / "datasets")
    env["KERAS_HOME"] = str(folder / "keras")
    # Compiled XLA programs shared with later runs of these tests (as conftest's cache).
    env["XDG_CACHE_HOME"] = str(Path(tempfile.gettempdir()) / "neuralab-test-notebook-cache")
    return env


def execute_lab_notebook(name: str, folder: Path, *, lang: str = "en") -> tuple[Any, float]:
    """Write lab ``name``'s quick notebook (one seed) and run it top to bottom in a kernel
    (its lab goes to ``folder / "runs"``, its data to ``folder / "datasets"``); the executed
    notebook (also written beside it) and the seconds it took."""
    import time

    import nbformat
    from nbclient import NotebookClient

    from neuralab.notebooks import write_notebook

    path = write_notebook(name, folder / f"{name}.ipynb", lang=lang, quick=True, seeds=1)
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.executable)"))
    client = NotebookClient(
        notebook,
        kernel_name=KERNEL,
        kernel_manager_class=_kernel_manager_class(folder),
        timeout=900,
        resources={"metadata": {"path": str(folder)}},
    )
    began = time.perf_counter()
    client.execute(env=_kernel_env(folder))
    elapsed = time.perf_counter() - began
    nbformat.write(notebook, folder / f"{name}.executed.ipynb")
    return notebook, elapsed


@pytest.fixture(scope="session")
def run_notebook():  # type: ignore[no-untyped-def]
    """:func:`execute_lab_notebook`: ``run_notebook(name, folder, lang=...)``."""
    pytest.importorskip("nbclient")
    return execute_lab_notebook


@pytest.fixture(scope="session")
def pizza_notebook(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """The pizza-steak lab's quick notebook executed once for the session (the notebook
    test checks its cells; the lab tests check the lab it trained, as `neuralab lab
    pizza-steak --quick` would have: the auto backend rule picks TensorFlow there too).

    Attributes: ``notebook`` (executed), ``seconds``, ``lab`` (its lab folder), ``data``
    (the NEURALAB_DATA it ran with: the generated photo folder).
    """
    import nbformat

    def produce(folder: Path) -> str:
        _, seconds = execute_lab_notebook("pizza-steak", folder)
        return f"{seconds:.1f}"

    pytest.importorskip("nbclient")
    folder, seconds = run_once(tmp_path_factory, "pizza-notebook", produce)
    (lab,) = [p for p in (folder / "runs").iterdir() if p.is_dir()]
    return SimpleNamespace(
        notebook=nbformat.read(folder / "pizza-steak.executed.ipynb", as_version=4),
        seconds=float(seconds),
        lab=lab,
        data=folder / "datasets",
    )


@pytest.fixture
def children_take_sigint():  # type: ignore[no-untyped-def]
    """Processes this test starts get SIGINT at its default, as a foreground command at a
    terminal (a test that sends them Ctrl-C).

    A background job of a non-interactive shell (``pytest ... &`` in a script, some CI
    runners) inherits SIGINT *ignored*; exec keeps that, Python then installs no
    ``KeyboardInterrupt`` handler, and a child sent SIGINT just runs on. A handled signal is
    reset to its default by exec, so handling it here while the test runs is enough.
    """
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


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


# Seconds each of the longest files takes (measured on 2 cores). With `--dist loadfile
# --no-loadscope-reorder` (the Makefile) the files go to the two workers longest first, so
# neither is left with a long file while the other has nothing to do.
_SECONDS = {
    "tests/test_notebook.py": 200,
    "tests/runs/test_resume.py": 185,
    "tests/labs/test_overfitting.py": 150,
    "tests/runs/test_ray_executor.py": 140,
    "tests/live/test_cli_live.py": 110,
    "tests/runs/test_ray_cluster.py": 75,
    "tests/labs/test_circles.py": 75,
    "tests/labs/test_pizza_steak.py": 40,
    "tests/runs/test_runner.py": 35,
    "tests/test_cli.py": 35,
    "tests/runs/test_seeds.py": 35,
    "tests/training/test_fused.py": 27,
    "tests/training/test_lr_finder.py": 26,
    "tests/labs/test_fashion_mnist.py": 20,
    "tests/live/test_browser.py": 16,
    "tests/runs/test_file_runner.py": 14,
    "tests/data/test_augment.py": 14,
}


def _file(item: pytest.Item) -> str:
    where = item.nodeid.replace("\\", "/").split("::", 1)[0]
    return where if where.startswith("tests/") else f"tests/{where}"


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    for item in items:
        if _file(item).startswith(_SLOW):
            item.add_marker(pytest.mark.slow)
    # Longest files first; a file's tests stay together and in their order.
    items.sort(key=lambda item: -_SECONDS.get(_file(item), 0))
