"""``neuralab labs`` and ``neuralab lab``: the course chapters as one-command labs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from neuralab.cli._app import (
    AddressOpt,
    BackendOpt,
    ExecutorOpt,
    JobsOpt,
    LangOpt,
    OutputOpt,
    QuickOpt,
    ResumeOpt,
    SeedsOpt,
    TrainerOpt,
    _user_errors,
    app,
    console,
)
from neuralab.cli._live import LiveOpt, NoBrowserOpt, maybe_live
from neuralab.cli._running import _run_file
from neuralab.cli.data import AllowUnverifiedOpt, _fetch
from neuralab.cli.report import LabPdf, PdfOpt
from neuralab.errors import NeuralabError


@app.command("labs")
def labs_command() -> None:
    """List the labs."""
    from neuralab.labs.registry import LABS

    table = Table(title="neuralab labs")
    table.add_column("lab")
    table.add_column("what it does")
    table.add_column("seed chapter")
    for info in LABS.values():
        table.add_row(info.name, info.summary, info.seed)
    console.print(table)


@app.command("lab")
def lab_command(
    name: Annotated[str, typer.Argument(help="Lab name (see `neuralab labs`).")],
    quick: QuickOpt = False,
    lang: LangOpt = "en",
    backend: BackendOpt = "auto",
    output: OutputOpt = Path("runs"),
    trainer: TrainerOpt = "auto",
    jobs: JobsOpt = 1,
    executor: ExecutorOpt = "local",
    address: AddressOpt = None,
    resume: ResumeOpt = None,
    seeds: SeedsOpt = None,
    live: LiveOpt = False,
    no_browser: NoBrowserOpt = False,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Use the data in this folder or file instead of the lab's default "
            "(e.g. a folder of Fashion-MNIST IDX files).",
        ),
    ] = None,
    fetch: Annotated[
        bool,
        typer.Option(
            "--fetch",
            help="Download the lab's real data into the cache first if it is not there "
            "(as `neuralab data fetch`; $NEURALAB_MIRROR sets a mirror).",
        ),
    ] = False,
    allow_unverified: AllowUnverifiedOpt = False,
    pdf: PdfOpt = False,
) -> None:
    """Run a lab: a course chapter reproduced end to end, with its report."""
    with _user_errors():
        from neuralab.labs.registry import lab_info, lab_narratives, load_lab_spec

        if fetch:
            info = lab_info(name)
            if info.remote is None:
                raise NeuralabError(f"the {name!r} lab has no data to fetch.")
            _fetch(info.remote, mirror=None, timeout=30.0, allow_unverified=allow_unverified)
        experiments = load_lab_spec(name, data=data)
        printer = LabPdf(pdf, name=name, output=output, resume=resume)
    with maybe_live(
        live,
        output=output,
        resume=resume,
        lang=lang,
        title=name,
        open_page=not no_browser,
    ):
        _run_file(
            experiments,
            name=name,
            backend=backend,
            quick=quick,
            lang=lang,
            output=output,
            trainer=trainer,
            jobs=jobs,
            executor=executor,
            address=address,
            resume=resume,
            seeds=seeds,
            narrative=lab_narratives(name),
        )
    printer.print_report()
