"""``neuralab evaluate`` and ``neuralab predict``: a trained run's model on data."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from neuralab.cli._app import (
    NOT_A_TERMINAL_WIDTH,
    LangOpt,
    _say,
    _title,
    _user_errors,
    app,
    console,
    state,
)
from neuralab.cli.choices import Lang, check_choice
from neuralab.record import files as record_files


@app.command("evaluate")
def evaluate_command(
    run_dir: Annotated[Path, typer.Argument(help="A run directory (or an experiment of a lab).")],
    data: Annotated[
        Path | None, typer.Option("--data", help="Evaluate on this folder/file instead.")
    ] = None,
    split: Annotated[str, typer.Option(help="Split to evaluate on.")] = "test",
    lang: LangOpt = "en",
) -> None:
    """Confusion matrix, classification report, most-confused pairs and top losses of a run."""
    with _user_errors():
        check_choice(Lang, "lang", lang)
        _select_backend_for_run(run_dir)
        from neuralab.runs.evaluate import evaluate_run

        result = evaluate_run(run_dir, data=data, split=split, lang=lang)
        ev = result.evaluation
        if not state.quiet:
            console.print(
                f"[bold]{result.data_source}[/]: accuracy {100 * ev.accuracy:.1f}% "
                f"on {len(ev.y_true):,} samples"
            )
            console.print(ev.report_text(), highlight=False, markup=False)
            console.print(_confusion_table(ev.class_names, ev.confusion_matrix()))
            for pair in ev.most_confused(3):
                _say(f"{pair['true']} taken for {pair['predicted']}: {pair['count']} times")
        _say(f"Report: {Path(run_dir) / record_files.REPORT}")


@app.command("predict")
def predict_command(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
    files: Annotated[
        list[Path],
        typer.Argument(
            help="CSV tables (for a run trained on a table: a line per row, and "
            "<name>.predictions.csv in the run directory), image files, or .npy rows."
        ),
    ],
    output: Annotated[
        Path | None, typer.Option("--output", help="PNG of the images with their predictions.")
    ] = None,
) -> None:
    """Predicted class and probability for each input (and a figure for images)."""
    with _user_errors():
        _select_backend_for_run(run_dir)
        from neuralab.cli.predict import predict_inputs

        predict_inputs(run_dir, files, output)


def _confusion_table(class_names: Sequence[str], counts: Any) -> Table:
    """Columns headed by the class names, or by class numbers when the names would not fit
    the terminal (rows keep their names), so that no name is cut. Not a terminal: always the
    names (the console does not limit the width there)."""
    from rich.measure import Measurement

    named = _matrix_table(class_names, counts, numbered=False)
    wide = console.options.update_width(NOT_A_TERMINAL_WIDTH)
    if Measurement.get(console, wide, named).maximum <= console.width:
        return named
    return _matrix_table(class_names, counts, numbered=True)


def _matrix_table(class_names: Sequence[str], counts: Any, *, numbered: bool) -> Table:
    from rich import box

    table = Table(
        title=_title("Confusion matrix (rows: true, columns: predicted)"),
        box=box.SIMPLE_HEAD,  # a column costs its widest count plus a space
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("", no_wrap=True)
    for i, name in enumerate(class_names):
        table.add_column(str(i) if numbered else escape(name), justify="right")
    for i, (name, row) in enumerate(zip(class_names, counts, strict=True)):
        table.add_row(f"{i} {escape(name)}" if numbered else escape(name), *map(str, row))
    return table


def _select_backend_for_run(run_dir: Path) -> None:
    """Load a saved model on the backend it was trained with (recorded in env.json)."""
    from neuralab.backend import use_backend
    from neuralab.record import EnvRecord, RunDir

    env = RunDir.open(run_dir).read_optional(EnvRecord)
    backend = env.backend if env is not None else "auto"

    if "keras" not in sys.modules:
        use_backend(backend if backend in ("jax", "tensorflow", "torch") else "jax")
