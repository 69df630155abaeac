"""report.pdf: printed by headless Chromium, read back with poppler (pdftotext) and pypdf.

One quick lab with one seed (``neuralab lab circles --quick --seeds 1 --lang pt --pdf``) is run
for the session (shared with the Portuguese tests); its run and lab reports are printed again
by ``neuralab report --pdf``.
"""

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

HAS_BROWSER = any(shutil.which(name) for name in ("chromium", "google-chrome"))
needs_browser = pytest.mark.skipif(
    not HAS_BROWSER,
    reason="no Chromium or Chrome to print with (CI installs Debian's chromium)",
)

A4_POINTS = (595.0, 842.0)


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
def lab_run(circles_quick_pt: tuple[Path, str]) -> tuple[Path, str]:
    """``neuralab lab circles --quick --seeds 1 --lang pt --pdf`` (run once for the session,
    ``circles_quick_pt`` in conftest): the lab folder and what the command printed."""
    if not HAS_BROWSER:
        pytest.skip("no Chromium or Chrome to print with")
    return circles_quick_pt


@pytest.fixture(scope="module")
def run_dir(lab_run: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One run of a copy of that lab (the range test's, which has every kind of figure): the
    tests print its report again."""
    copy = shutil.copytree(lab_run[0], tmp_path_factory.mktemp("pdf") / lab_run[0].name)
    return copy / "model_9"


@needs_browser
def test_lab_pdf_prints_the_lab_report_in_its_language(lab_run: tuple[Path, str]) -> None:
    lab, output = lab_run
    pdf = lab / files.REPORT_PDF
    assert f"PDF: {pdf}" in output
    pages = _pages(pdf)
    assert len(pages) >= 2 and all(_is_a4(size) for size in pages), pages
    text = _pdf_text(pdf)
    for heading in ("make_circles", "Resultados", "Teste de faixa da taxa de aprendizado"):
        assert heading in text, heading
    assert "Results" not in text
    for model in ("model_1", "model_10"):
        assert model in text
    assert not list(lab.glob(".*.tmp"))


def test_lab_pdf_without_a_browser_fails_before_training(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    result = _invoke(
        "lab", "circles", "--quick", "--pdf", "--output", str(out), env={"PATH": str(tmp_path)}
    )
    assert result.exit_code == 1, result.output
    assert "none was found on PATH" in result.output and "Traceback" not in result.output
    assert not out.exists()  # nothing trained, nothing written


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
    for heading in ("Learning-rate range test", "Run report", "Learning curves"):
        assert heading in text, heading
    assert "Decision boundary" in text and "model_9" in text
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


def test_no_browser_is_one_clear_error_and_writes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    # The browser is looked for before the report is rebuilt: nothing is written.
    result = _invoke("report", str(folder), "--pdf", env={"PATH": str(tmp_path)})
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error:") and "Traceback" not in result.output
    assert "none was found on PATH" in result.output
    assert "apt-get install chromium" in result.output
    assert list(folder.iterdir()) == []


def test_a_browser_that_is_not_there_is_named(tmp_path: Path) -> None:
    result = _invoke("report", str(tmp_path), "--pdf", "--browser", "/no/such/chromium")
    assert result.exit_code == 1, result.output
    assert "Received: browser='/no/such/chromium'" in result.output
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(NeuralabError, match="Received: browser="):
        find_browser("no-such-browser-anywhere")


def _fake_browser(folder: Path, script: str) -> Path:
    path = folder / "fake-chromium"
    path.write_text("#!/bin/sh\n" + script, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_a_failing_browser_leaves_the_old_pdf(tmp_path: Path) -> None:
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
