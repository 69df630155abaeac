"""Printing a report to PDF: ``report.pdf`` beside ``report.html``, on A4 pages.

The route is a browser's own print-to-PDF: headless Chromium (Debian's ``chromium``, or any
Chrome) prints the self-contained HTML file as it is, with the templates' print CSS (A4 pages,
figures and table rows never cut across a page break). The PDF is the report's content, drawn
by the same engine that shows the HTML, so there is nothing to keep in step.

There is no pure-Python fallback on purpose: the pure-Python HTML-to-PDF renderers either are
not pure Python (WeasyPrint needs the Pango system libraries) or understand too little CSS for
these reports (xhtml2pdf: no grid layout, no ``@page`` breaks rules as the templates use them),
and a second, different-looking PDF would be a second report to maintain. Without a browser,
:func:`find_browser` says how to install one.

Nothing is half-written: the browser prints into a private temporary folder, and the PDF is
checked and then renamed onto ``report.pdf``. The browser runs with a fresh profile, no
network services, and a time limit.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from neuralab.errors import NeuralabError
from neuralab.fileio import replacing
from neuralab.record import files

__all__ = ["BROWSERS", "PDF_TIMEOUT", "find_browser", "print_to_pdf", "write_pdf"]

#: Browser commands looked up on ``PATH``, in this order.
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
#: Seconds a browser may take to print one report (a lab report takes about 5 s here).
PDF_TIMEOUT = 120.0

INSTALL_HINT = (
    "Install Chromium (Debian/Ubuntu: `sudo apt-get install chromium`; macOS: "
    "`brew install --cask chromium`) or Google Chrome, or pass the browser's path with "
    "--browser PATH."
)


def find_browser(browser: str | Path | None = None) -> Path:
    """The browser that prints PDFs: ``browser`` (a path, or a command on ``PATH``) if
    given, else the first of :data:`BROWSERS` found on ``PATH``.

    Raises:
        NeuralabError: no such browser, saying how to install one.
    """
    if browser is not None:
        given = str(browser)
        found = shutil.which(given)
        if found is None:
            raise NeuralabError(
                f"`browser` must be a Chromium or Chrome executable. Received: "
                f"browser={given!r}, which is not an executable file or a command on PATH."
            )
        return Path(found)
    for name in BROWSERS:
        found = shutil.which(name)
        if found is not None:
            return Path(found)
    raise NeuralabError(
        f"--pdf prints the report with a browser, and none was found on PATH (looked for "
        f"{', '.join(BROWSERS)}). {INSTALL_HINT}"
    )


def _printable(html: str, base: Path | None) -> str:
    """The page as it is printed: every ``<details>`` open (a PDF cannot be clicked, and it
    holds the same content as the HTML), and links relative to the report's folder."""
    html = re.sub(r"<details(?![^>]*\bopen\b)", "<details open", html)
    if base is not None:
        href = base.resolve().as_uri().rstrip("/") + "/"
        html = re.sub(r"<head>", f'<head><base href="{href}">', html, count=1)
    return html


def _browser_command(browser: Path, profile: Path, page: Path, output: Path) -> list[str]:
    return [
        str(browser),
        "--headless",
        # The page is our own static report (no scripts, every image inline) and the browser
        # runs as root in CI and in containers, where Chromium's sandbox cannot start.
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        f"--user-data-dir={profile}",
        "--no-pdf-header-footer",
        f"--print-to-pdf={output}",
        page.as_uri(),
    ]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """End the browser and the processes it started (its own session's group; the browser
    is not reaped yet, so the group's id is still its own)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    proc.wait()
    if proc.stderr is not None:
        proc.stderr.close()


def _said(stderr: bytes) -> str:
    """What the browser said that matters (not its D-Bus and GPU chatter), for an error."""
    noise = ("dbus", "gpu", "Fontconfig", "bytes written to file", "sandbox")
    lines = [
        line
        for line in stderr.decode("utf-8", "replace").splitlines()
        if line.strip() and not any(word in line for word in noise)
    ]
    return " ".join(lines[-3:])[-600:]


def print_to_pdf(
    html: str,
    target: str | Path,
    *,
    base: str | Path | None = None,
    browser: str | Path | None = None,
    timeout: float = PDF_TIMEOUT,
) -> Path:
    """Print the HTML text ``html`` to the PDF file ``target`` with a headless browser.

    Args:
        html: A self-contained page (images inline).
        target: The PDF to write; written only once the browser has printed a whole PDF.
        base: Folder that the page's relative links point into (the report's folder).
        browser: Chromium or Chrome to print with (default: :func:`find_browser`).
        timeout: Seconds before the browser is stopped and the print given up.

    Returns:
        ``target``.

    Raises:
        NeuralabError: no browser, the browser failed or timed out, or ``target`` is not
            writable; ``target`` is then left as it was.
    """
    executable = find_browser(browser)
    target = Path(target)
    with tempfile.TemporaryDirectory(prefix="neuralab-pdf-") as tmp:
        folder = Path(tmp)
        page = folder / "page.html"
        page.write_text(_printable(html, Path(base) if base else None), encoding="utf-8")
        output = folder / "page.pdf"
        profile = folder / "profile"
        command = _browser_command(executable, profile, page, output)
        try:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,  # its helper processes end with it (see _stop)
            )
        except OSError as exc:
            raise NeuralabError(f"could not start the browser {executable}: {exc}") from exc
        try:
            _, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            _stop(proc)
            raise NeuralabError(
                f"{executable} did not print {target.name} within {timeout:g} s and was "
                "stopped; nothing was written. Try again, or pass --browser with another "
                "Chromium or Chrome."
            ) from exc
        except BaseException:  # Ctrl-C: the browser and its helpers stop too
            _stop(proc)
            raise
        if proc.returncode != 0 or not _is_pdf(output):
            said = _said(stderr)
            raise NeuralabError(
                f"{executable} could not print {target.name} (exit code {proc.returncode})"
                + (f": {said}" if said else "")
                + f"; nothing was written. {INSTALL_HINT}"
            )
        try:
            with replacing(target, suffix=".pdf.tmp") as partial:
                shutil.copyfile(output, partial)
        except OSError as exc:
            raise NeuralabError(f"{target}: cannot write the PDF there: {exc}") from exc
    return target


def _is_pdf(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(5) == b"%PDF-"
    except OSError:
        return False


def write_pdf(
    path: str | Path,
    *,
    browser: str | Path | None = None,
    timeout: float = PDF_TIMEOUT,
) -> Path:
    """Print a run's or a lab's ``report.html`` to ``report.pdf`` beside it.

    Args:
        path: The run or lab directory, or its ``report.html``.
        browser: Chromium or Chrome to print with (default: :func:`find_browser`).
        timeout: Seconds the browser may take.

    Returns:
        The path of ``report.pdf``.

    Raises:
        NeuralabError: no report to print, no browser, or the print failed.

    Example:
        >>> write_pdf("runs/circles-20261204-122916")  # doctest: +SKIP
        PosixPath('runs/circles-20261204-122916/report.pdf')
    """
    path = Path(path)
    report = path / files.REPORT if path.is_dir() else path
    if not report.is_file():
        raise NeuralabError(
            f"{report}: no report to print. Write it first with `neuralab report {report.parent}`."
        )
    html = report.read_text(encoding="utf-8")
    return print_to_pdf(
        html,
        report.with_name(files.REPORT_PDF),
        base=report.parent,
        browser=browser,
        timeout=timeout,
    )
