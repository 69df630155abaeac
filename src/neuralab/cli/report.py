"""``neuralab report`` and ``neuralab compare``: reports rebuilt from run directories."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from neuralab.cli._app import LangOpt, _say, _user_errors, app, console, state
from neuralab.cli.choices import Lang, check_choice

# `--pdf` on `report` and `lab`.
PdfOpt = Annotated[
    bool,
    typer.Option(
        "--pdf",
        help="Also print the report to report.pdf beside it (A4; needs Chromium or Chrome).",
    ),
]
BrowserOpt = Annotated[
    Path | None,
    typer.Option(
        "--browser",
        help="Chromium or Chrome that prints the PDF (default: the first found on PATH).",
    ),
]


class LabPdf:
    """``neuralab lab --pdf``: the browser is found before the lab trains (no browser: one
    error and nothing trained); after it, the lab's report is printed. The lab folder is the
    one the command made in ``output`` (the only new lab of that name there), or ``resume``."""

    def __init__(self, pdf: bool, *, name: str, output: Path, resume: Path | None) -> None:
        from neuralab.reports.pdf import find_browser

        self.browser = find_browser() if pdf else None
        self.name, self.output, self.resume = name, output, resume
        self.before = set(self._labs()) if pdf else set()

    def _labs(self) -> list[Path]:
        from neuralab.record import LabDir

        if not self.output.is_dir():
            return []
        return [
            p
            for p in self.output.iterdir()
            if p.name.startswith(f"{self.name}-") and LabDir.is_lab(p)
        ]

    def print_report(self) -> None:
        if self.browser is None:
            return
        with _user_errors():
            from neuralab.errors import RunError
            from neuralab.reports.pdf import write_pdf

            made = [p for p in self._labs() if p not in self.before]
            folder = self.resume if self.resume is not None else (made[0] if made else None)
            if folder is None or (self.resume is None and len(made) != 1):
                raise RunError(
                    f"{self.output}: could not tell which new {self.name!r} lab folder to "
                    "print; print it with `neuralab report LAB_FOLDER --pdf`."
                )
            _say(f"PDF: {write_pdf(folder, browser=self.browser)}")


@app.command("report")
def report_command(
    run_dir: Annotated[Path, typer.Argument(help="A run or lab directory.")],
    lang: LangOpt = "en",
    pdf: PdfOpt = False,
    browser: BrowserOpt = None,
) -> None:
    """Rebuild the HTML report of a run or lab from its stored files alone."""
    with _user_errors():
        check_choice(Lang, "lang", lang)
        from neuralab.reports.pdf import find_browser, write_pdf
        from neuralab.reports.render import write_report

        printer = find_browser(browser) if pdf else None  # before anything is written
        path = write_report(run_dir, lang=lang)
        _say(f"Report: {path}")
        if printer is not None:
            _say(f"PDF: {write_pdf(path, browser=printer)}")


@app.command("compare")
def compare_command(
    runs: Annotated[list[Path], typer.Argument(help="Run folders (a lab folder: all its runs).")],
    metric: Annotated[
        list[str] | None, typer.Option("--metric", "-m", help="Metric to plot (repeatable).")
    ] = None,
    smoothing_std: Annotated[
        float, typer.Option(help="Gaussian smoothing, standard deviation in epochs.")
    ] = 0.0,
    logx: Annotated[bool, typer.Option("--logx", help="Log-scale epoch axis.")] = False,
    ylim: Annotated[
        tuple[float, float] | None, typer.Option(help="Y range, e.g. --ylim 0.5 0.7.")
    ] = None,
    rank_by: Annotated[
        str | None, typer.Option(help="History column to rank on (default val_loss).")
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", help="Report file.")] = None,
    lang: LangOpt = "en",
) -> None:
    """Compare runs: histories side by side (one colour per run), a ranking, one report."""
    with _user_errors():
        check_choice(Lang, "lang", lang)
        from datetime import datetime

        from neuralab.runs.compare import compare_runs

        target = output or Path(f"compare-{datetime.now():%Y%m%d-%H%M%S}.html")
        result = compare_runs(
            runs,
            metrics=tuple(metric or ("loss", "accuracy")),
            smoothing_std=smoothing_std,
            logx=logx,
            ylim=ylim,
            rank_by=rank_by,
            output=target,
            lang=lang,
        )
        if not state.quiet:
            table = Table(title="Ranking")
            table.add_column("#", justify="right")
            table.add_column("run")
            several = any(row["seeds"] > 1 for row in result.ranking)
            if several:
                table.add_column("seeds", justify="right")
            table.add_column("best" + (" (mean ± std)" if several else ""), justify="right")
            table.add_column("epoch", justify="right")
            for i, row in enumerate(result.ranking, start=1):
                best = f"{row['best']:.4f}"
                if row["seeds"] > 1:
                    best += f" ± {row['std']:.4f}"
                table.add_row(
                    str(i),
                    row["run"],
                    *([str(row["seeds"])] if several else []),
                    best,
                    str(row["epoch"]),
                )
            console.print(table)
        _say(f"Report: {result.report}")
