"""What ``neuralab predict`` prints and writes: a run's model on table rows (a line per row,
and ``<name>.predictions.csv`` in the run directory), on images (a table and a figure) or on
``.npy`` rows. The command itself is declared with ``evaluate`` (:mod:`.evaluate`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from neuralab.cli._app import _say, _title, console, err_console, state
from neuralab.record import files as record_files


def predict_inputs(run_dir: Path, inputs: Sequence[Path], output: Path | None) -> None:
    """Tables by their name (``.csv``, ``.tsv``, ``.txt``, ``.gz``), the rest as images or
    ``.npy`` rows."""
    from neuralab.runs.predict import is_table_file

    for table in (f for f in inputs if is_table_file(f)):
        _predict_table(run_dir, table)
    others = [f for f in inputs if not is_table_file(f)]
    if others:
        _predict_files(run_dir, others, output)


def _predict_table(run_dir: Path, path: Path) -> None:
    from neuralab.runs.predict import predict_table

    result = predict_table(run_dir, path)
    for note in result.notes:
        err_console.print(f"[yellow]Note:[/] {escape(note)}", highlight=False, soft_wrap=True)
    if not state.quiet:
        labels = result.labels or [None] * len(result.lines)
        for line, label, p, truth in zip(
            result.lines, result.classes, result.confidence, labels, strict=True
        ):
            mark = "" if truth is None else ("  right" if truth == label else f"  wrong ({truth})")
            _say(f"{path.name}:{line}  {label}  {p:.3f}{mark}")
    if result.accuracy is not None:
        _say(f"Accuracy on the {result.n_scored:,} rows with a label: {100 * result.accuracy:.1f}%")
    _say(f"Predictions: {result.output}")


def _predict_files(run_dir: Path, files: list[Path], output: Path | None) -> None:
    from neuralab.analysis.figures import save_figure
    from neuralab.runs.evaluate import predict_files

    result = predict_files(run_dir, files)
    table = Table(title=_title(f"Predictions of {Path(run_dir).name}"))
    table.add_column("input", no_wrap=True)
    table.add_column("class")
    table.add_column("probability", justify="right")
    for name, label, p in result.rows():
        table.add_row(name, label, f"{p:.3f}")
    console.print(table)
    if result.images:
        target = output or Path(run_dir) / record_files.plot("predictions")
        _say(f"Figure: {save_figure(result.figure(title=Path(run_dir).name), target)}")
