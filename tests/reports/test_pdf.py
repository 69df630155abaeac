"""report.pdf: printed by headless Chromium, read back with poppler (pdftotext) and pypdf."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from neuralab.cli import app
from neuralab.errors import NeuralabError
from neuralab.record import files
from neuralab.reports.pdf import find_browser, print_to_pdf, write_pdf

runner = CliRunner()

needs_browser = pytest.mark.skipif(
    not any(shutil.which(name) for name in ("chromium", "google-chrome")),
    reason="no Chromium or Chrome to print with (CI installs Debian's chromium)",
)

A4_POINTS = (595.0, 842.0)

SPEC = """
title = "pdf"
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
title = "A small network"
model.layers = [
  {type = "Dense", units = 4, activation = "relu"},
  {type = "Dense", units = 1, activation = "sigmoid"},
]
"""


def _invoke(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), catch_exceptions=False, env=env)


def _pdf_text(path: Path) -> str:
    """The PDF's text as poppler's pdftotext reads it (pypdf where poppler is missing)."""
    if shutil.which("pdftotext"):
        done = subprocess.run(
            ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, timeout=60
        )
        return done.stdout.decode("utf-8")
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)


def _pages(path: Path) -> list[tuple[float, float]]:
    from pypdf import PdfReader

    reader = PdfReader(path)
    return [(float(p.mediabox.width), float(p.mediabox.height)) for p in reader.pages]


def _is_a4(size: tuple[float, float]) -> bool:
    return all(abs(a - b) < 2 for a, b in zip(size, A4_POINTS, strict=True))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One run (``small``) in the folder ``neuralab run`` writes for its file."""
    root = tmp_path_factory.mktemp("pdf")
    spec = root / "spec.toml"
    spec.write_text(SPEC, encoding="utf-8")
    result = _invoke("--quiet", "run", str(spec), "--output", str(root / "runs"))
    assert result.exit_code == 0, result.output
    (folder,) = [p for p in (root / "runs").iterdir() if p.is_dir()]
    return folder / "small"


@needs_browser
def test_report_pdf_prints_the_run_report_on_a4_pages(run_dir: Path) -> None:
    result = _invoke("report", str(run_dir), "--pdf")
    assert result.exit_code == 0, result.output
    pdf = run_dir / files.REPORT_PDF
    assert f"PDF: {pdf}" in result.output
    assert pdf.read_bytes().startswith(b"%PDF-")
    pages = _pages(pdf)
    assert len(pages) >= 1
    assert all(_is_a4(size) for size in pages), pages
    text = _pdf_text(pdf)
    for heading in ("A small network", "Run report", "Learning curves", "Decision boundary"):
        assert heading in text, heading
    # Closed <details> of the page are printed open: the same content as the HTML.
    assert "Total params" in text and '"batch_size": 32' in text
    assert not list(run_dir.glob(".*.tmp")), "a temporary file was left behind"


@needs_browser
def test_report_pdf_follows_lang(run_dir: Path) -> None:
    result = _invoke("report", str(run_dir), "--pdf", "--lang", "pt")
    assert result.exit_code == 0, result.output
    text = _pdf_text(run_dir / files.REPORT_PDF)
    for heading in ("Relatório do treino", "Curvas de aprendizado", "Limite de decisão"):
        assert heading in text, heading
    assert "Learning curves" not in text


def test_no_browser_is_one_clear_error_and_writes_nothing(run_dir: Path, tmp_path: Path) -> None:
    pdf = run_dir / files.REPORT_PDF
    pdf.unlink(missing_ok=True)
    html_before = (run_dir / files.REPORT).stat().st_mtime_ns
    result = _invoke("report", str(run_dir), "--pdf", env={"PATH": str(tmp_path)})
    assert result.exit_code == 1, result.output
    assert "Error:" in result.output and "Traceback" not in result.output
    assert "none was found on PATH" in result.output
    assert "apt-get install chromium" in result.output
    assert not pdf.exists()
    assert (run_dir / files.REPORT).stat().st_mtime_ns == html_before  # checked first


def test_a_browser_that_is_not_there_is_named(run_dir: Path) -> None:
    result = _invoke("report", str(run_dir), "--pdf", "--browser", "/no/such/chromium")
    assert result.exit_code == 1, result.output
    assert "Received: browser='/no/such/chromium'" in result.output
    with pytest.raises(NeuralabError, match="Received: browser="):
        find_browser("no-such-browser-anywhere")


def _fake_browser(folder: Path, script: str) -> Path:
    path = folder / "fake-chromium"
    path.write_text("#!/bin/sh\n" + script, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_a_failing_browser_leaves_the_old_pdf(run_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.pdf"
    target.write_bytes(b"%PDF-1.4 the previous one")
    crashing = _fake_browser(tmp_path, "echo 'cannot open display' >&2\nexit 3\n")
    with pytest.raises(NeuralabError, match=r"exit code 3\): cannot open display"):
        print_to_pdf("<html><head></head><body>x</body></html>", target, browser=crashing)
    # A browser that says it printed but wrote no PDF is a failure too.
    silent = _fake_browser(tmp_path, "exit 0\n")
    with pytest.raises(NeuralabError, match="could not print report.pdf"):
        print_to_pdf("<p>x</p>", target, browser=silent)
    assert target.read_bytes() == b"%PDF-1.4 the previous one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake-chromium", "report.pdf"]


def test_a_browser_that_hangs_is_stopped(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    hanging = _fake_browser(tmp_path, f"echo $$ > {pid_file}\nexec sleep 60\n")
    with pytest.raises(NeuralabError, match="within 1 s and was stopped"):
        print_to_pdf("<p>x</p>", tmp_path / "out.pdf", browser=hanging, timeout=1)
    assert not (tmp_path / "out.pdf").exists()
    pid = int(pid_file.read_text())
    assert not Path(f"/proc/{pid}").exists() or "zombie" in _state(pid)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split("\n")[0].lower()
    except (OSError, IndexError):
        return "zombie"


def test_write_pdf_needs_a_report(tmp_path: Path) -> None:
    with pytest.raises(NeuralabError, match="no report to print"):
        write_pdf(tmp_path)
