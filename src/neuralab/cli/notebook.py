"""``neuralab notebook``: a lab written as a Jupyter notebook."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from neuralab.cli._app import SeedsOpt, _say, _user_errors, app
from neuralab.cli.choices import Lang, check_choice, choice_metavar


@app.command("notebook")
def notebook_command(
    name: Annotated[str, typer.Argument(help="Lab name (see `neuralab labs`).")],
    lang: Annotated[
        str,
        typer.Option(
            "--lang",
            metavar=choice_metavar(Lang),
            help="Language of the notebook's texts and of the lab's reports.",
        ),
    ] = "en",
    quick: Annotated[
        bool,
        typer.Option("--quick", help="The notebook runs the lab's quick settings (a smoke run)."),
    ] = False,
    seeds: SeedsOpt = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="The notebook file, .ipynb (default: LAB.ipynb)."),
    ] = None,
) -> None:
    """Write a lab as a Jupyter notebook: the chapter's text and neuralab's API, cell by cell."""
    with _user_errors():
        check_choice(Lang, "lang", lang)
        from neuralab.notebooks import write_notebook

        path = write_notebook(name, output, lang=lang, quick=quick, seeds=seeds)
        _say(f"Notebook: {path}")
