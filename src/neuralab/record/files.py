"""The names of the files in a run or lab directory: the one place that spells them.

A run directory (``runs/<name>-<time>/`` or ``LAB/<experiment>/``)::

    status.json        StatusRecord: complete / incomplete, phase, why (written first and last)
    spec.json          SpecRecord: the resolved experiment spec
    history.csv        one row per epoch (index ``epoch``): loss, metrics, val_*, learning_rate
    events.jsonl       what the run reported while it trained, one typed event a line
                       (record.events: begin, epoch, boundary, predictions, end); appended
    metrics.json       MetricsRecord: evaluation per split, expectations, timings, training
    env.json           EnvRecord: package versions, backend (and why), seed, CPU
    lr_test.json       LRTestRecord: a per-epoch learning-rate range test
    evaluation.json    EvaluationRecord: confusion matrix, classification report
    layers.json        LayersRecord: name, type, output shape, parameters per layer
    weights.json       WeightsRecord: weight statistics (and a histogram of one layer)
    model.keras        the trained model
    summary.txt        model.summary()
    checkpoint.npz     the resumable training state (removed when the run is complete)
    plots/             figures (and the .npz data that redraw them without Keras)
    report.html        the self-contained report
    report.pdf         the report printed to A4 pages (``neuralab report --pdf``), when asked
    *.predictions.csv  ``neuralab predict RUN TABLE``: each row of TABLE with its prediction

A lab directory holds ``lab.json`` (LabRecord), one run directory per experiment, ``plots/``
and ``report.html`` (and ``report.pdf``). ``lr_find.json`` (LRFindRecord) is the record of
``neuralab lr-find``.

``.live`` in a folder says that a live page (``--live``) follows the runs below it: their
updates come several times a second (it is removed when the page stops).
"""

from __future__ import annotations

STATUS = "status.json"
SPEC = "spec.json"
HISTORY = "history.csv"
EVENTS = "events.jsonl"
LIVE = ".live"
METRICS = "metrics.json"
ENV = "env.json"
LR_TEST = "lr_test.json"
LR_FIND = "lr_find.json"
EVALUATION = "evaluation.json"
LAYERS = "layers.json"
WEIGHTS = "weights.json"
LAB = "lab.json"
MODEL = "model.keras"
SUMMARY = "summary.txt"
CHECKPOINT = "checkpoint.npz"
REPORT = "report.html"
REPORT_PDF = "report.pdf"
PLOTS = "plots"
BOUNDARY = "plots/decision_boundary.npz"
PREDICTIONS = "plots/predictions.npz"
TENSORBOARD = "tensorboard"


def predictions_table(input_name: str) -> str:
    """The predictions ``neuralab predict`` writes for a table: ``<input stem>.predictions.csv``
    (``novos.csv`` -> ``novos.predictions.csv``), beside the run's other files."""
    stem = input_name
    for suffix in (".gz", ".csv", ".tsv", ".txt"):
        stem = stem.removesuffix(suffix)
    return f"{stem or 'rows'}.predictions.csv"


def plot(name: str) -> str:
    """The relative path of figure ``name`` (``plots/<name>.png``)."""
    return f"{PLOTS}/{name}.png"
