"""Typed, versioned records of the files a run or a lab writes (see :mod:`.files`).

Every JSON file of a run directory is one of these frozen pydantic models with a
``schema_version``. Writers build them, readers get them back validated: a report, ``compare``,
``evaluate`` or ``predict`` never walks a JSON dict by hand. The record knows nothing of Keras.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from neuralab.record import files

#: The version of every record this neuralab writes. Bump it when a record changes in a way an
#: older reader cannot follow, and teach :func:`neuralab.record.rundir.migrate` the old one.
SCHEMA_VERSION = 1

Direction = Literal["up", "down"]
Phase = Literal["created", "prepared", "training", "trained", "evaluated", "complete"]


def _now() -> str:
    return datetime.now().isoformat(timespec="seconds")


class Record(BaseModel):
    """A file of a run directory. ``FILE`` is its name there."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    FILE: ClassVar[str] = ""

    schema_version: int = SCHEMA_VERSION


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- status


class StatusRecord(Record):
    """``status.json``: whether the run finished, and how far it got.

    Attributes:
        status: ``complete`` once every file of the run is written.
        phase: the last phase reached (``training`` while epochs run).
        reason: why it is incomplete (``running``, ``interrupted (Ctrl-C)``, ``failed: ...``).
        epochs_run: epochs completed so far; ``epochs_asked``: epochs the spec asks for.
        kind: ``run`` or ``lr-find``.
    """

    FILE: ClassVar[str] = files.STATUS

    status: Literal["incomplete", "complete"] = "incomplete"
    phase: Phase = "created"
    reason: str = ""
    updated: str = Field(default_factory=_now)
    epochs_run: int | None = None
    epochs_asked: int | None = None
    kind: Literal["run", "lr-find"] = "run"

    @property
    def complete(self) -> bool:
        return self.status == "complete"


# --------------------------------------------------------------------------- spec


class SpecRecord(Record):
    """``spec.json``: the resolved experiment spec (``ExperimentSpec.to_dict()``), how the run
    was asked for (``quick``, the epoch cap) and which seed of its experiment it is."""

    FILE: ClassVar[str] = files.SPEC

    spec: dict[str, Any]
    quick: bool = False
    epochs: int | None = None
    seed: int = 42
    group: str = ""

    @property
    def name(self) -> str:
        return str(self.spec.get("name", ""))

    @property
    def title(self) -> str:
        return str(self.spec.get("title", ""))

    def section(self, key: str) -> dict[str, Any]:
        """A table of the spec (``fit``, ``compile``, ``report``...), ``{}`` if absent."""
        value = self.spec.get(key)
        return dict(value) if isinstance(value, dict) else {}


# --------------------------------------------------------------------------- environment


class EnvRecord(Record):
    """``env.json``: what the run ran on."""

    FILE: ClassVar[str] = files.ENV

    python: str
    platform: str
    cpu: str
    cpu_count: int | None
    packages: dict[str, str]
    backend: str
    backend_reason: str = ""
    seed: int | None = None


# --------------------------------------------------------------------------- metrics


class TrainingInfo(_Part):
    """How training went (from :class:`neuralab.training.TrainingResult`)."""

    epochs_run: int = 0
    best_epoch: int | None = None
    monitor: str = "loss"
    wall_time: float = 0.0
    backend: str = ""
    trainer: str = "fit"
    interrupted: bool = False
    resumed_from: int | None = None
    notes: tuple[str, ...] = ()


class ExpectationResult(_Part):
    """One ``expect`` band and whether the run's value fell in it (None: not judged)."""

    metric: str
    min: float | None = None
    max: float | None = None
    value: float | None = None
    passed: bool | None = None


class FindingRecord(_Part):
    """A shape-doctor finding."""

    severity: str
    code: str
    message: str


class MetricsRecord(Record):
    """``metrics.json``: what a run measured.

    ``directions`` says, for each history column, whether higher (``up``) or lower (``down``)
    is better, as the Keras metric itself says; ``group`` and ``seed`` place the run among the
    seeds of its experiment.
    """

    FILE: ClassVar[str] = files.METRICS

    name: str
    title: str = ""
    group: str = ""
    seed: int | None = None
    splits: dict[str, int] = Field(default_factory=dict)
    data_source: str = ""
    data_notes: tuple[str, ...] = ()
    data_name: str = ""
    class_names: tuple[str, ...] = ()
    validation_split: str | None = None
    metrics: dict[str, dict[str, float]] = Field(default_factory=dict)
    directions: dict[str, Direction] = Field(default_factory=dict)
    params: dict[str, int] = Field(default_factory=dict)
    training: TrainingInfo = TrainingInfo()
    total_time: float | None = None
    learning_rate: float | None = None
    expectations: tuple[ExpectationResult, ...] = ()
    reference: dict[str, Any] | None = None
    findings: tuple[FindingRecord, ...] = ()
    quick: bool = False

    def metric(self, split: str, name: str = "accuracy") -> float | None:
        value = self.metrics.get(split, {}).get(name)
        return None if value is None else float(value)

    def direction(self, column: str) -> Direction:
        """``up`` or ``down`` for a history column (``val_`` prefixes share their metric's)."""
        found = self.directions.get(column) or self.directions.get(column.removeprefix("val_"))
        return found or "down"


# --------------------------------------------------------------------------- range tests


class LRTestRecord(Record):
    """``lr_test.json``: a per-epoch learning-rate range test (the circles chapter's)."""

    FILE: ClassVar[str] = files.LR_TEST

    kind: Literal["per-epoch"] = "per-epoch"
    schedule: str | None = None
    learning_rates: tuple[float, ...]
    losses: tuple[float, ...]
    smoothed_losses: tuple[float, ...] = ()
    smoothing_std: float = 0.0
    suggestions: dict[str, float] = Field(default_factory=dict)


class LRFindRecord(Record):
    """``lr_find.json``: ``neuralab lr-find``'s per-batch range test."""

    FILE: ClassVar[str] = files.LR_FIND

    experiment: str
    learning_rates: tuple[float | None, ...]
    losses: tuple[float | None, ...]
    smoothed_losses: tuple[float | None, ...] = ()
    suggestions: dict[str, float | None] = Field(default_factory=dict)
    stopped_early: bool = False
    best_loss: float | None = None
    n_steps: int = 0


# --------------------------------------------------------------------------- evaluation


class EvaluationRecord(Record):
    """``evaluation.json``: a classifier's confusion matrix and report on one split."""

    FILE: ClassVar[str] = files.EVALUATION

    split: str
    class_names: tuple[str, ...]
    n: int
    accuracy: float
    confusion: tuple[tuple[int, ...], ...]
    report: dict[str, Any]
    report_text: str
    most_confused: tuple[dict[str, Any], ...] = ()


class LayersRecord(Record):
    """``layers.json``: one row per layer (name, type, output shape, parameters)."""

    FILE: ClassVar[str] = files.LAYERS

    layers: tuple[dict[str, Any], ...]


class WeightsRecord(Record):
    """``weights.json``: statistics per weight array, and histograms for one layer."""

    FILE: ClassVar[str] = files.WEIGHTS

    layers: tuple[dict[str, Any], ...] = ()
    detail: dict[str, Any] | None = None


# --------------------------------------------------------------------------- labs


class ComparisonRecord(_Part):
    """A ``[[compare]]`` table of a lab file."""

    name: str
    title: str = ""
    experiments: tuple[str, ...]
    metrics: tuple[str, ...] = ("loss", "accuracy")
    smoothing_std: float = 0.0
    logx: bool = False
    ylim: tuple[float, float] | None = None


class LabRecord(Record):
    """``lab.json``: a file of experiments run into one folder with one report.

    ``experiments`` lists the run folders in order; ``groups`` maps each experiment name to
    its run folders (one per seed).
    """

    FILE: ClassVar[str] = files.LAB

    lab: str
    title: str = ""
    description: str = ""
    source: str = ""
    experiments: tuple[str, ...]
    groups: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    quick: bool = False
    capped: tuple[str, ...] = ()
    lang: str = "en"
    backend: str = ""
    backend_reason: str = ""
    trainer: str | None = None
    status: Literal["incomplete", "complete"] = "incomplete"
    started: str = Field(default_factory=_now)
    wall_time: float | None = None
    resumed: int = 0
    data_source: str = ""
    data_notes: tuple[str, ...] = ()
    compare: tuple[ComparisonRecord, ...] = ()
    narrative: dict[str, dict[str, str]] = Field(default_factory=dict)

    def texts(self, lang: str) -> dict[str, str]:
        """The narrative in ``lang`` (English when there is none in it), by key."""
        return self.narrative.get(lang) or self.narrative.get("en") or {}


RECORDS: tuple[type[Record], ...] = (
    StatusRecord,
    SpecRecord,
    EnvRecord,
    MetricsRecord,
    LRTestRecord,
    LRFindRecord,
    EvaluationRecord,
    LayersRecord,
    WeightsRecord,
    LabRecord,
)
