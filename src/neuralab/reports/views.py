"""What the report templates show: typed views built from a run's or a lab's records alone.

The templates get these objects and nothing else; they are rendered with ``StrictUndefined``,
so a field a template asks for and a view lacks fails loudly (in the tests), never as a blank
on the page.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neuralab.record import (
    ComparisonRecord,
    EnvRecord,
    EvaluationRecord,
    LabDir,
    LabRecord,
    LayersRecord,
    LRTestRecord,
    MetricsRecord,
    RunDir,
    SpecRecord,
    StatusRecord,
    WeightsRecord,
    files,
)
from neuralab.reports.i18n import (
    translate_data_note,
    translate_data_source,
    translate_finding,
    translator,
)

if TYPE_CHECKING:
    import pandas as pd

    from neuralab.analysis.seeds import SeedStats

# The figures a run report may embed (plots/<name>.png).
FIGURES = (
    "decision_boundary",
    "boundary_strip",
    "history",
    "history_loss",
    "history_accuracy",
    "lr_range",
    "confusion",
    "first",
    "top_losses",
    "weights",
)


def data_uri(path: Path) -> str | None:
    """A PNG file as a ``data:`` URI (reports are self-contained), or None if absent."""
    if not path.exists():
        return None
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def run_images(run_dir: Path) -> dict[str, str | None]:
    return {name: data_uri(run_dir / files.plot(name)) for name in FIGURES}


@dataclass(frozen=True)
class LabTexts:
    """A lab's texts in one report language (``lab.json``'s narrative), by key.

    The lab file's titles, notes and labels are stored in the runs' records as the file wrote
    them (in English); the lab record keeps them by key in every language (see
    ``neuralab.labs.registry.lab_file_texts``), so :meth:`translate` finds the report
    language's text of a stored English one. Outside a lab there are no texts and every text
    stays as stored.
    """

    narrative: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    lang: str = "en"

    @classmethod
    def of(cls, record: LabRecord | None, lang: str) -> LabTexts:
        return cls(record.narrative, lang) if record is not None else cls(lang=lang)

    @property
    def english(self) -> Mapping[str, str]:
        return self.narrative.get("en", {})

    @property
    def local(self) -> dict[str, str]:
        """The texts in the report language (English where that language has none)."""
        return {**self.english, **self.narrative.get(self.lang, {})}

    def get(self, key: str, default: str = "") -> str:
        return self.local.get(key) or default

    def translate(self, english: str, key: str | None = None) -> str:
        """The report language's text of ``english`` (a text of the lab file, as a run
        stored it), looked up by ``key`` when given, else by its English text; ``english``
        itself when the lab has no such text."""
        local = self.local
        if key is not None and key in local and self.english.get(key, english) == english:
            return local[key]
        for found, text in self.english.items():
            if text == english and found in local:
                return local[found]
        return english


def run_lab_texts(run_dir: str | Path, lang: str) -> LabTexts:
    """The texts of the lab a run belongs to (its parent folder), or none outside a lab."""
    parent = Path(run_dir).parent
    record = LabDir.open(parent).read() if LabDir.is_lab(parent) else None
    return LabTexts.of(record, lang)


@dataclass(repr=False)
class FitSummary:
    """Best epoch and the train/validation gap there (the overfitting chapter's table)."""

    monitor: str
    best_epoch: int
    best_value: float
    val_accuracy: float | None
    train_value: float | None
    gap: float | None
    final_gap: float | None


@dataclass(repr=False)
class RunView:
    """One run as the templates see it."""

    name: str
    title: str
    path: str
    status: str
    status_info: StatusRecord
    spec: dict[str, Any]
    quick: bool
    record: MetricsRecord
    env: EnvRecord | None
    summary: str
    history: pd.DataFrame
    lr_test: LRTestRecord | None
    evaluation: EvaluationRecord | None
    layers: tuple[dict[str, Any], ...]
    weights: WeightsRecord | None
    images: dict[str, str | None] = field(default_factory=dict)
    lang: str = "en"
    texts: LabTexts = field(default_factory=LabTexts)

    # The metrics record's fields, as the templates name them (texts in the report language).
    @property
    def metrics(self) -> dict[str, dict[str, float]]:
        return self.record.metrics

    @property
    def params(self) -> dict[str, int]:
        return self.record.params

    @property
    def training(self) -> Any:
        return self.record.training

    @property
    def splits(self) -> dict[str, int]:
        return self.record.splits

    @property
    def data_source(self) -> str:
        return translate_data_source(self.record.data_source, self.lang)

    @property
    def data_notes(self) -> tuple[str, ...]:
        return tuple(translate_data_note(note, self.lang) for note in self.record.data_notes)

    @property
    def findings(self) -> tuple[Any, ...]:
        return tuple(
            f.model_copy(update={"message": translate_finding(f.code, f.message, self.lang)})
            for f in self.record.findings
        )

    @property
    def expectations(self) -> tuple[Any, ...]:
        return self.record.expectations

    @property
    def reference(self) -> dict[str, Any] | None:
        reference = self.record.reference
        if not reference or not reference.get("note"):
            return reference
        return {**reference, "note": self.texts.translate(str(reference["note"]))}

    @property
    def learning_rate(self) -> float | None:
        return self.record.learning_rate

    @property
    def validation_split(self) -> str | None:
        return self.record.validation_split

    @property
    def matched(self) -> bool | None:
        """All expectations met (None when there are none, or one was not judged)."""
        checks = [e.passed for e in self.record.expectations]
        return None if not checks or None in checks else all(checks)

    @property
    def folder(self) -> str:
        """The run's folder name (in a lab: the experiment, or ``<experiment>-seed<seed>``)."""
        return Path(self.path).name

    @property
    def lr_label(self) -> str:
        """How the learning rate was set, when it is not one number (see :func:`lr_label`)."""
        return lr_label(self.spec, lang=self.lang)

    @property
    def fit_summary(self) -> FitSummary | None:
        return fit_summary(self.history, self.spec, self.record)


def lr_label(
    spec: Mapping[str, Any], learning_rate: float | None = None, *, lang: str = "en"
) -> str:
    """How a run's learning rate was set, for tables: the per-epoch schedule as written (a
    range test's), else the rate it trained with (``learning_rate``), a Keras schedule's type,
    ``"suggested:..."``, or the optimizer's default (``"default"``, in ``lang``). ``spec`` is a
    spec as stored (``spec.json``)."""
    schedule = (spec.get("fit") or {}).get("lr_schedule")
    if schedule:
        return str(schedule)
    if learning_rate:
        return f"{learning_rate:.3g}"
    lr = (spec.get("compile") or {}).get("learning_rate")
    if isinstance(lr, dict):
        return str(lr.get("type", "schedule"))
    return lr if isinstance(lr, str) else translator(lang)["default"]


def load_run(path: str | Path, *, lang: str = "en", texts: LabTexts | None = None) -> RunView:
    """Everything stored in a run directory, typed, for the templates, with its texts in
    ``lang`` (a lab run's title and notes from its lab's record: ``texts``, read from the
    parent folder when not given).

    Raises:
        RunError: not a run directory, or a record of another schema version.
    """
    run = RunDir.open(path)
    if texts is None or texts.lang != lang:
        texts = run_lab_texts(run.path, lang)
    status = run.status
    stored = run.read_optional(SpecRecord)
    spec = stored.spec if stored else {}
    record = run.read_optional(MetricsRecord) or MetricsRecord(
        name=str(spec.get("name", run.path.name)), title=str(spec.get("title", ""))
    )
    layers = run.read_optional(LayersRecord)
    group = record.group or (stored.group if stored else "") or record.name
    title = record.title or str(spec.get("title", ""))
    return RunView(
        name=record.name,
        title=texts.translate(title, f"{group}.title") if title else title,
        path=str(run.path),
        status=status.status,
        status_info=status,
        spec=spec,
        quick=stored.quick if stored else record.quick,
        record=record,
        env=run.read_optional(EnvRecord),
        summary=run.read_text(files.SUMMARY),
        history=run.read_history(),
        lr_test=run.read_optional(LRTestRecord),
        evaluation=run.read_optional(EvaluationRecord),
        layers=layers.layers if layers else (),
        weights=run.read_optional(WeightsRecord),
        images=run_images(run.path),
        lang=lang,
        texts=texts,
    )


def fit_summary(
    history: pd.DataFrame, spec: dict[str, Any], record: MetricsRecord
) -> FitSummary | None:
    """Best epoch and the train/validation gap there, from the run's history.

    The monitored value is the EarlyStopping callback's ``monitor`` if the run has one, else
    ``val_loss``; whether its best is the highest or the lowest value is what the metric says
    (recorded when the run trained). The gap is the validation value minus its training
    counterpart (how much worse the model does on data it has not seen).
    """
    if history is None or not len(history):
        return None
    monitor = "val_loss"
    for callback in spec.get("fit", {}).get("callbacks", []) or []:
        if callback.get("type") == "EarlyStopping":
            monitor = callback.get("monitor", "val_loss")
    if monitor not in history:
        monitor = "val_loss" if "val_loss" in history else "loss"
    series = history[monitor]
    if not series.notna().any():
        return None
    higher_is_better = record.direction(monitor) == "up"
    best = int(series.idxmax() if higher_is_better else series.idxmin())
    row = history.loc[best]
    train_key = monitor.removeprefix("val_")
    paired = monitor.startswith("val_") and train_key in history
    return FitSummary(
        monitor=monitor,
        best_epoch=best,
        best_value=float(row[monitor]),
        val_accuracy=float(row["val_accuracy"]) if "val_accuracy" in history else None,
        train_value=float(row[train_key]) if train_key in history else None,
        gap=float(row[monitor] - row[train_key]) if paired else None,
        final_gap=(
            float(history[monitor].iloc[-1] - history[train_key].iloc[-1]) if paired else None
        ),
    )


@dataclass(repr=False)
class GroupView:
    """An experiment of a lab with the runs of its seeds (one run when it has one seed).

    Tables show each metric as mean +- standard deviation over the seeds (:meth:`stat`); the
    figures of one run stand for the experiment (``first``: the spec's own seed) and say so.
    """

    name: str
    runs: list[RunView]
    history_image: str | None = None

    @property
    def first(self) -> RunView:
        return self.runs[0]

    @property
    def n(self) -> int:
        return len(self.runs)

    @property
    def seeds(self) -> list[int | None]:
        return [
            r.record.seed if r.record.seed is not None else r.spec.get("seed") for r in self.runs
        ]

    def stat(self, split: str, metric: str = "accuracy") -> SeedStats | None:
        """The metric of ``split`` over the seeds that measured it."""
        from neuralab.analysis.seeds import seed_stats

        return seed_stats([r.metrics.get(split, {}).get(metric) for r in self.runs])

    def fit_stat(self, field_name: str) -> SeedStats | None:
        """A :class:`FitSummary` field over the seeds (the overfitting chapter's gaps)."""
        from neuralab.analysis.seeds import seed_stats

        summaries = [r.fit_summary for r in self.runs]
        return seed_stats([getattr(f, field_name) for f in summaries if f is not None])

    def wall_time(self) -> SeedStats | None:
        from neuralab.analysis.seeds import seed_stats

        return seed_stats([r.training.wall_time for r in self.runs if r.training])

    @property
    def seeds_inside(self) -> int | None:
        """How many seeds meet every expectation (None when there is nothing to judge)."""
        judged = [r.matched for r in self.runs]
        if all(m is None for m in judged):
            return None
        return sum(1 for m in judged if m)

    @property
    def matched(self) -> bool | None:
        """The experiment's verdict: each expectation checked on the mean over the seeds
        (``over = "mean"``, the default) or on every seed (``over = "every"``)."""
        if self.n == 1:
            return self.first.matched
        from neuralab.analysis.seeds import in_band, seed_stats

        specs = list(self.first.spec.get("expect") or [])
        verdicts: list[bool | None] = []
        for j, expectation in enumerate(self.first.expectations):
            results = [r.expectations[j] for r in self.runs if j < len(r.expectations)]
            if any(e.passed is None for e in results):
                verdicts.append(None)
                continue
            over = specs[j].get("over", "mean") if j < len(specs) else "mean"
            if over == "every":
                verdicts.append(all(e.passed for e in results))
            else:
                stats = seed_stats([e.value for e in results])
                mean = stats.mean if stats else None
                verdicts.append(in_band(mean, expectation.min, expectation.max))
        if not verdicts or None in verdicts:
            return None
        return all(verdicts)

    def __getattr__(self, name: str) -> Any:
        # What the seeds share (title, spec, params, reference...) reads from the first run.
        if name.startswith("_") or name in ("runs", "name", "history_image"):
            raise AttributeError(name)
        return getattr(self.first, name)


@dataclass(repr=False)
class ComparisonView:
    """A ``[[compare]]`` figure set; ``fitted_range`` is the chapter's y range when the curves
    fell outside it and the axes fit the data instead (the caption says so)."""

    name: str
    title: str
    images: list[str]
    fitted_range: tuple[float, float] | None = None


@dataclass(repr=False)
class LabView:
    """A lab as the templates see it: its record, its runs, its comparison figures."""

    record: LabRecord
    path: str
    runs: list[RunView]
    compare: list[ComparisonView]
    groups: list[GroupView] = field(default_factory=list)
    lang: str = "en"

    @property
    def max_seeds(self) -> int:
        return max((g.n for g in self.groups), default=1)

    @property
    def texts(self) -> LabTexts:
        return LabTexts.of(self.record, self.lang)

    @property
    def title(self) -> str:
        return self.texts.translate(self.record.title, "title")

    @property
    def description(self) -> str:
        return self.texts.translate(self.record.description, "description")

    @property
    def data_source(self) -> str:
        return translate_data_source(self.record.data_source, self.lang)

    def __getattr__(self, name: str) -> Any:
        # The lab record's fields (status, backend...) read as the lab's own.
        if name.startswith("_") or name == "record":
            raise AttributeError(name)
        return getattr(self.record, name)


def compare_figure(lab_dir: Path, comparison: str, metric: str) -> Path:
    return lab_dir / files.plot(f"compare_{comparison}_{metric}")


def _fitted_range(
    path: Path, comparison: ComparisonRecord, groups: Mapping[str, tuple[str, ...]]
) -> tuple[float, float] | None:
    """The comparison's ``ylim`` if its figures had to fit the data instead, else None."""
    if comparison.ylim is None:
        return None
    from neuralab.analysis.compare import HistoryComparisonDisplay

    histories: dict[str, Any] = {}
    for name in comparison.experiments:
        seeds = [
            RunDir(path / f).read_history()
            for f in groups.get(name, (name,))
            if (path / f / files.HISTORY).exists()
        ]
        if seeds:
            histories[name] = seeds if len(seeds) > 1 else seeds[0]
    for metric in comparison.metrics:
        display = HistoryComparisonDisplay(
            histories, metric=metric, smoothing_std=comparison.smoothing_std
        )
        keys = (display.metric, f"val_{display.metric}")
        logged = any(key in h for h in display.histories.values() for key in keys)
        if logged and not display.fits(comparison.ylim):
            return comparison.ylim
    return None


def load_lab(path: str | Path, *, lang: str = "en") -> LabView:
    """A lab directory's record and every run in it, with the lab's texts in ``lang``.

    Raises:
        RunError: not a lab directory, or a record of another schema version.
    """
    lab = LabDir.open(path)
    record = lab.read()
    texts = LabTexts.of(record, lang)
    runs = [load_run(run.path, lang=lang, texts=texts) for run in lab.runs(record)]
    groups = lab_groups(lab.path, record, runs)
    comparisons = [
        ComparisonView(
            name=c.name,
            title=texts.translate(c.title, f"{c.name}.title") if c.title else c.title,
            images=[
                uri
                for metric in c.metrics
                if (uri := data_uri(compare_figure(lab.path, c.name, metric)))
            ],
            fitted_range=_fitted_range(lab.path, c, record.groups),
        )
        for c in record.compare
    ]
    return LabView(
        record=record,
        path=str(lab.path),
        runs=runs,
        compare=comparisons,
        groups=groups,
        lang=lang,
    )


def group_history_figure(lab_dir: Path, group: str) -> Path:
    """The lab-level figure of an experiment's curves over its seeds (mean and band)."""
    return lab_dir / files.plot(f"seeds_{group}")


def lab_groups(lab_dir: Path, record: LabRecord, runs: list[RunView]) -> list[GroupView]:
    """The lab's experiments with their seeds' runs, in the lab's order (labs written before
    seeds existed have one run per experiment)."""
    by_folder = {Path(r.path).name: r for r in runs}
    grouping = record.groups or {name: (name,) for name in record.experiments}
    groups = []
    for name, folders in grouping.items():
        members = [by_folder[f] for f in folders if f in by_folder]
        if members:
            groups.append(
                GroupView(
                    name=name,
                    runs=members,
                    history_image=data_uri(group_history_figure(lab_dir, name)),
                )
            )
    return groups
