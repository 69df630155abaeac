"""``neuralab evaluate`` and ``neuralab predict``: a trained run's model on data."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from neuralab.cli._app import LangOpt, _say, _user_errors, app, console, state
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
            matrix = Table(title="Confusion matrix (rows: true, columns: predicted)")
            matrix.add_column("")
            for name in ev.class_names:
                matrix.add_column(name, justify="right")
            for name, row in zip(ev.class_names, ev.confusion_matrix(), strict=True):
                matrix.add_row(name, *[str(v) for v in row])
            console.print(matrix)
            for pair in ev.most_confused(3):
                _say(f"{pair['true']} taken for {pair['predicted']}: {pair['count']} times")
        _say(f"Report: {Path(run_dir) / record_files.REPORT}")


@app.command("predict")
def predict_command(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
    files: Annotated[list[Path], typer.Argument(help="Image files, or CSV/.npy files of rows.")],
    output: Annotated[
        Path | None, typer.Option("--output", help="PNG of the images with their predictions.")
    ] = None,
) -> None:
    """Predicted class and probability for each input (and a figure for images)."""
    with _user_errors():
        _select_backend_for_run(run_dir)
        from neuralab.analysis.figures import save_figure
        from neuralab.runs.evaluate import predict_files

        result = predict_files(run_dir, files)
        table = Table(title=f"Predictions of {Path(run_dir).name}")
        table.add_column("input", no_wrap=True)
        table.add_column("class")
        table.add_column("probability", justify="right")
        for name, label, p in result.rows():
            table.add_row(name, label, f"{p:.3f}")
        console.print(table)
        if result.images:
            target = output or Path(run_dir) / record_files.plot("predictions")
            _say(f"Figure: {save_figure(result.figure(title=Path(run_dir).name), target)}")


def _select_backend_for_run(run_dir: Path) -> None:
    """Load a saved model on the backend it was trained with (recorded in env.json)."""
    from neuralab.backend import use_backend
    from neuralab.record import EnvRecord, RunDir

    env = RunDir.open(run_dir).read_optional(EnvRecord)
    backend = env.backend if env is not None else "auto"

    if "keras" not in sys.modules:
        use_backend(backend if backend in ("jax", "tensorflow", "torch") else "jax")
