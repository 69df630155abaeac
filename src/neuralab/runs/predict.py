"""``neuralab predict RUN_DIR FILE.csv``: a run trained on a table, on new rows of a table.

Everything comes from the run's ``model.keras``: its first layer
(:class:`neuralab.models.preprocessing.TableEncoding`) holds the training columns, their
statistics and categories, the label's name and the class names. The new file is sniffed
like the training file (it may be written differently); its columns are found by name, in
any order; a category never seen in training goes to the "unknown" slot (and is named).
Rows that carry the label column are scored too.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neuralab.analysis.evaluation import to_probabilities
from neuralab.data.table import read_new_rows
from neuralab.errors import DataError
from neuralab.record import RunDir, SpecRecord
from neuralab.record import files as record_files
from neuralab.runs.evaluate import load_run_model

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".gz")


@dataclass(repr=False)
class TablePredictions:
    """The predicted class and its probability for each row of a table.

    Attributes:
        source: The file read.
        lines: File line of each row.
        classes: Predicted class name of each row.
        probabilities: ``(n_rows, n_classes)``.
        class_names: The model's classes, in order.
        labels: Each row's true class (None where unknown), or None without a label column.
        notes: Unseen categories and how the file was read.
        output: The predictions file written in the run directory, if any.
    """

    source: Path
    lines: list[int]
    classes: list[str]
    probabilities: np.ndarray
    class_names: tuple[str, ...]
    labels: list[str | None] | None = None
    notes: list[str] = field(default_factory=list)
    output: Path | None = None

    @property
    def confidence(self) -> np.ndarray:
        return self.probabilities.max(axis=1)

    @property
    def n_scored(self) -> int:
        """Rows with a known true class."""
        return sum(label is not None for label in self.labels or [])

    @property
    def accuracy(self) -> float | None:
        """Share of the scored rows predicted right (None when no row has a label)."""
        if not self.n_scored or self.labels is None:
            return None
        pairs = [(p, t) for p, t in zip(self.classes, self.labels, strict=True) if t is not None]
        return sum(p == t for p, t in pairs) / len(pairs)

    def __repr__(self) -> str:
        scored = f", accuracy={self.accuracy:.3f}" if self.accuracy is not None else ""
        return f"TablePredictions({self.source.name!r}, {len(self.lines)} rows{scored})"


def is_table_file(path: str | Path) -> bool:
    """A CSV/TSV/text table (or gzip of one), by its name."""
    return Path(path).suffix.lower() in TABLE_SUFFIXES


def predict_table(run_dir: str | Path, path: str | Path, *, write: bool = True) -> TablePredictions:
    """Predict every row of the table ``path`` with the run's model.

    With ``write``, ``<stem>.predictions.csv`` is written in the run directory: the rows as
    read, then ``predicted``, ``probability`` and one ``p(<class>)`` column per class (and
    ``correct`` when the file has the label column), in the input's delimiter and decimal mark.

    Raises:
        RunError: not a complete run.
        DataError: the run was not trained on a table; the file lacks a training column; a
            text in a numeric column or an empty cell the model cannot fill (file, line,
            column).
    """
    from neuralab.models.preprocessing import find_table_encoding

    run = RunDir.open(run_dir)
    model, spec = load_run_model(run.path)
    fit = find_table_encoding(model)
    if fit is None:
        data = (spec.spec.get("data") or {}).get("name", "?")
        raise DataError(
            f"{path}: a table, but the run {run.path.name} was trained on the {data!r} data "
            'set, not on a table (`name = "csv"`): give it inputs like its data (images, or '
            "rows of numbers as .npy)."
        )
    rows = read_new_rows(path, fit)
    outputs = model.predict(rows.x, verbose=0, batch_size=1024)
    probabilities = to_probabilities(outputs, from_logits=_from_logits(spec))
    names = fit.class_names
    if len(names) != probabilities.shape[1]:
        names = tuple(str(i) for i in range(probabilities.shape[1]))
    classes = [names[i] for i in probabilities.argmax(axis=1)]
    result = TablePredictions(
        source=Path(path),
        lines=rows.lines,
        classes=classes,
        probabilities=probabilities,
        class_names=names,
        labels=rows.labels,
        notes=rows.notes,
    )
    if write:
        text = _predictions_csv(
            result, rows.names, rows.fields, rows.fmt.delimiter, rows.fmt.decimal
        )
        target = record_files.predictions_table(Path(path).name)
        result.output = run.write_text(target, text)
    return result


def _from_logits(spec: SpecRecord) -> bool:
    loss = (spec.spec.get("compile") or {}).get("loss")
    return isinstance(loss, dict) and bool(loss.get("from_logits"))


def _predictions_csv(
    result: TablePredictions,
    names: list[str],
    fields: list[list[str]],
    delimiter: str,
    decimal: str,
) -> str:
    def number(value: float) -> str:
        text = f"{value:.4f}"
        return text.replace(".", ",") if decimal == "," else text

    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    extra = ["predicted", "probability", *(f"p({name})" for name in result.class_names)]
    if result.labels is not None:
        extra.append("correct")
    writer.writerow(["line", *names, *extra])
    for i, row in enumerate(fields):
        out = [str(result.lines[i]), *row, result.classes[i], number(result.confidence[i])]
        out += [number(p) for p in result.probabilities[i]]
        if result.labels is not None:
            truth = result.labels[i]
            out.append("" if truth is None else ("yes" if truth == result.classes[i] else "no"))
        writer.writerow(out)
    return buffer.getvalue()
