"""Running one experiment end to end, in named phases: prepare (:mod:`.prepare`), open the
run directory, train (with checkpoints; or resume), evaluate and store, report.

Everything that can be checked is checked before the run directory is created, so a bad
spec leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from neuralab.config import ExperimentSpec
from neuralab.data.dataset import Dataset, Splits
from neuralab.models.shape_doctor import Finding
from neuralab.record import (
    EnvRecord,
    ExpectationResult,
    FindingRecord,
    LRTestRecord,
    MetricsRecord,
    RunDir,
    SpecRecord,
    TrainingInfo,
    files,
)
from neuralab.runs.environment import environment_info
from neuralab.runs.events import run_events_callback
from neuralab.runs.prepare import QUICK_EPOCHS as QUICK_EPOCHS
from neuralab.runs.prepare import PreparedExperiment as PreparedExperiment
from neuralab.runs.prepare import check_expectation_names as check_expectation_names
from neuralab.runs.prepare import prepare_experiment as prepare_experiment
from neuralab.runs.prepare import resolve_splits as resolve_splits
from neuralab.runs.resume import check_same_spec as check_same_spec
from neuralab.runs.stopping import clear_stop_request as clear_stop_request
from neuralab.runs.stopping import request_stop as request_stop
from neuralab.runs.stopping import stop_requested as stop_requested
from neuralab.runs.store import save_model
from neuralab.training.checkpoint import (
    CheckpointPolicy,
    TrainingState,
    load_checkpoint,
)
from neuralab.training.progress import ProgressHook, SilentProgress
from neuralab.training.trainer import TrainingResult, align_labels, metric_directions, train

if TYPE_CHECKING:
    import keras

logger = logging.getLogger(__name__)

HISTORY_FLUSH_SECONDS = 2.0
# Standard deviation, in epochs, of the Gaussian smoothing a per-epoch range test's
# suggestions read.
RANGE_TEST_SMOOTHING_STD = 2.0


@dataclass(repr=False)
class RunResult:
    """A finished (or interrupted) run."""

    name: str
    path: Path
    spec: ExperimentSpec
    training: TrainingResult
    metrics: dict[str, dict[str, float]]
    params: dict[str, int]
    findings: list[Finding]
    expectations: list[dict[str, Any]] = field(default_factory=list)
    lr_test: dict[str, Any] | None = None
    learning_rate: float | None = None
    model: Any = None
    splits: Splits | None = None
    data_source: str = ""
    data_notes: tuple[str, ...] = ()
    kept: bool = False  # a complete run found on disk when resuming (not trained again)

    @property
    def status(self) -> str:
        return "incomplete" if self.training.interrupted else "complete"

    @classmethod
    def from_dir(cls, path: str | Path, spec: ExperimentSpec) -> RunResult:
        """The result of a complete run, read back from its records (no Keras needed)."""
        run = RunDir.open(path)
        record = run.read(MetricsRecord)
        info = record.training
        history = run.read_history()
        lr_test = run.read_optional(LRTestRecord)
        return cls(
            name=record.name,
            path=run.path,
            spec=spec,
            training=TrainingResult(
                history=history,
                epochs_run=info.epochs_run,
                best_epoch=info.best_epoch,
                monitor=info.monitor,
                wall_time=info.wall_time,
                backend=info.backend,
                trainer=info.trainer,
                interrupted=info.interrupted,
                notes=list(info.notes),
                resumed_from=info.resumed_from,
            ),
            metrics={k: dict(v) for k, v in record.metrics.items()},
            params=dict(record.params),
            findings=[Finding(f.severity, f.code, f.message) for f in record.findings],  # type: ignore[arg-type]
            expectations=[e.model_dump() for e in record.expectations],
            lr_test=lr_test.model_dump() if lr_test else None,
            learning_rate=record.learning_rate,
            data_source=record.data_source,
            data_notes=record.data_notes,
            kept=True,
        )

    def metric(self, split: str, name: str = "accuracy") -> float | None:
        value = self.metrics.get(split, {}).get(name)
        return None if value is None else float(value)

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{split}_accuracy={vals['accuracy']:.3f}"
            for split, vals in self.metrics.items()
            if "accuracy" in vals
        )
        return f"RunResult({self.name!r}, {shown}, path={str(self.path)!r})"

    def _repr_html_(self) -> str:
        """In Jupyter: the run's table and figures, drawn from its directory's records."""
        from neuralab.reports.notebook_html import run_summary_html

        return run_summary_html(self.path)


def _evaluate(model: keras.Model, splits: Splits, batch_size: int) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name, part in splits.items():
        values = model.evaluate(
            part.x,
            align_labels(model, part.y),
            batch_size=max(batch_size, 1024),
            verbose=0,
            return_dict=True,
        )
        out[name] = {k: float(v) for k, v in values.items()}
    return out


def check_expectations(
    spec: ExperimentSpec,
    metrics: Mapping[str, Mapping[str, float]],
    *,
    quick: bool,
    data_name: str | None = None,
) -> list[dict[str, Any]]:
    """Compare measured metrics with the spec's ``expect`` bands (those for ``data_name``)."""
    results = []
    for exp in spec.expect:
        if exp.data is not None and exp.data != data_name:
            continue
        split, _, metric = exp.metric.partition("_")
        value = metrics.get(split, {}).get(metric)
        if value is None:
            passed: bool | None = None
        elif quick:
            passed = None  # a quick run is too short for the band to mean anything
        else:
            passed = (exp.min is None or value >= exp.min) and (exp.max is None or value <= exp.max)
        results.append(
            {"metric": exp.metric, "min": exp.min, "max": exp.max, "value": value, "passed": passed}
        )
    return results


@dataclass(frozen=True)
class RunOptions:
    """How one run is carried out (not what it trains: that is the spec)."""

    quick: bool = False
    lang: str = "en"
    backend_reason: str = ""
    where: str = ""
    write_report: bool = True
    trainer: str | None = None
    group: str = ""
    notes: tuple[str, ...] = ()


def run_experiment(
    spec: ExperimentSpec,
    *,
    output: str | Path = "runs",
    run_dir: str | Path | None = None,
    suggestions: Mapping[str, Mapping[str, float]] | None = None,
    data: Dataset | Splits | None = None,
    model: keras.Model | None = None,
    quick: bool = False,
    lang: str = "en",
    progress: ProgressHook | None = None,
    backend_reason: str = "",
    where: str = "",
    write_report: bool = True,
    callbacks: Sequence[Any] = (),
    trainer: str | None = None,
    prepared: PreparedExperiment | None = None,
    resume: bool = False,
    notes: Sequence[str] = (),
) -> RunResult:
    """Validate, train, evaluate and store one experiment.

    Args:
        spec: The experiment.
        output: Parent folder; the run goes to ``output/<name>-<timestamp>/``.
        run_dir: Exact folder instead (used by labs).
        suggestions: Learning-rate suggestions of earlier range tests.
        data: Use this data set instead of ``spec.data``.
        model: A ready-made ``keras.Model`` to train instead of ``spec.model`` (compiled
            with ``spec.compile`` unless it already is).
        quick: Cap epochs (smoke runs and tests).
        lang: Report language, ``"en"`` or ``"pt"``.
        progress: Progress hook (silent if None).
        backend_reason: Why this backend was chosen (recorded in env.json).
        where: Prefix for error messages.
        write_report: Also write ``report.html``.
        callbacks: Extra Keras callbacks (your own objects), after the spec's callbacks.
        trainer: Override ``spec.fit.trainer`` (``"auto"``, ``"fused"``, ``"fit"``).
        prepared: The experiment already prepared (a lab prepares each one once).
        resume: ``run_dir`` holds an interrupted run of this spec: continue it from its last
            checkpoint (a complete one is kept as it is).
        notes: Notes to record with the training (e.g. why an experiment's seeds trained one
            by one rather than as one population).

    Returns:
        The :class:`RunResult`. On Ctrl-C the run is saved with status ``incomplete`` (and a
        checkpoint to resume from) and ``KeyboardInterrupt`` is raised again.
    """
    options = RunOptions(
        quick=quick,
        lang=lang,
        backend_reason=backend_reason,
        where=where,
        write_report=write_report,
        trainer=trainer,
        group=spec.name,
        notes=tuple(notes),
    )
    if prepared is None:
        prepared = prepare_experiment(
            spec, suggestions=suggestions, data=data, model=model, quick=quick, where=where
        )
    if resume and run_dir is not None and RunDir(run_dir).status.complete:
        check_same_spec(RunDir(run_dir), prepared, quick=quick)
        return RunResult.from_dir(run_dir, prepared.spec)
    run, state = _open_run(prepared, options, output=output, run_dir=run_dir, resume=resume)
    result = _train_phase(run, prepared, options, state, progress=progress, callbacks=callbacks)
    return _finish_phase(run, prepared, options, result)


# ----------------------------------------------------------------------------- phases


def _open_run(
    prepared: PreparedExperiment,
    options: RunOptions,
    *,
    output: str | Path,
    run_dir: str | Path | None,
    resume: bool,
) -> tuple[RunDir, TrainingState | None]:
    """Make (or reopen, resuming) the run directory and write what is known before training:
    the resolved spec, the model summary and the environment."""
    import keras

    from neuralab.models.builder import model_summary

    spec = prepared.spec
    state = None
    if resume and run_dir is not None and (Path(run_dir) / files.SPEC).exists():
        run = RunDir(run_dir)
        check_same_spec(run, prepared, quick=options.quick)
        state = load_checkpoint(run.file(files.CHECKPOINT))
        run.set_status("incomplete", phase="prepared", reason="resuming")
    else:
        run = RunDir.at(run_dir) if run_dir is not None else RunDir.create(output, spec.name)
    _place_tensorboard_logs(prepared, run, in_lab=run_dir is not None)
    run.write(
        SpecRecord(
            spec=spec.to_dict(),
            quick=options.quick,
            epochs=prepared.epochs,
            seed=spec.seed,
            group=options.group or spec.name,
        )
    )
    run.write_text(files.SUMMARY, model_summary(prepared.model) + "\n")
    run.write(
        EnvRecord(
            **environment_info(
                backend=keras.backend.backend(),
                backend_reason=options.backend_reason,
                seed=spec.seed,
            )
        )
    )
    return run, state


def _place_tensorboard_logs(prepared: PreparedExperiment, run: RunDir, *, in_lab: bool) -> None:
    """TensorBoard logs go under the run (a lab's runs: under the lab folder, so one
    ``tensorboard --logdir LAB`` shows them all); absolute paths are kept."""
    for callback in prepared.callbacks:
        if type(callback).__name__ != "TensorBoard":
            continue
        given = _callback_args(prepared.spec, "TensorBoard").get("log_dir")
        base = run.path.parent if in_lab else run.path
        if given is None:
            callback.log_dir = str(run.file(files.TENSORBOARD))
        elif not Path(str(given)).is_absolute():
            callback.log_dir = str(base / str(given))


def _train_phase(
    run: RunDir,
    prepared: PreparedExperiment,
    options: RunOptions,
    state: TrainingState | None,
    *,
    progress: ProgressHook | None,
    callbacks: Sequence[Any],
) -> TrainingResult:
    """Train (from the checkpoint, when resuming), keeping history.csv and the checkpoint
    current; a Ctrl-C request ends training after the current epoch."""
    spec, model = prepared.spec, prepared.model
    hook = progress or SilentProgress()
    hook.start(f"{spec.name} seed {spec.seed}" if spec.repeat > 1 else spec.name, prepared.epochs)
    rows: list[dict[str, float]] = [dict(r) for r in state.history] if state else []
    if rows:
        hook.advance(len(rows))
    last_write = [time.perf_counter()]

    def on_epoch_end(epoch: int, logs: dict[str, float]) -> None:
        hook.advance(1, **logs)
        rows.append(logs)
        # Keep history.csv current (at most every 2 s) so long runs can be watched.
        now = time.perf_counter()
        if now - last_write[0] >= HISTORY_FLUSH_SECONDS or len(rows) == 1:
            run.write_history(rows)
            last_write[0] = now
        if stop_requested():
            # Ends training after this epoch, as EarlyStopping does (the fused trainer re-runs
            # a multi-epoch program to exactly this epoch); marked interrupted below.
            model.stop_training = True

    validation = prepared.validation
    run.set_status("incomplete", phase="training", reason="training", epochs_asked=prepared.epochs)
    try:
        result = train(
            model,
            prepared.splits.train.x,
            prepared.splits.train.y,
            epochs=prepared.epochs,
            batch_size=spec.fit.batch_size,
            validation_data=(validation[1].x, validation[1].y) if validation else None,
            shuffle=spec.fit.shuffle,
            lr_schedule=spec.fit.lr_schedule,
            callbacks=[
                *prepared.callbacks,
                *callbacks,
                run_events_callback(
                    run, prepared, group=options.group, initial_epoch=state.epoch if state else 0
                ),
            ],
            on_epoch_end=on_epoch_end,
            trainer=options.trainer or spec.fit.trainer,
            seed=spec.seed,
            checkpoint=CheckpointPolicy(
                run.file(files.CHECKPOINT),
                every_seconds=spec.fit.checkpoint_seconds,
                interrupted=stop_requested,
            ),
            resume=state,
        )
    except Exception as exc:
        run.set_status(
            "incomplete", phase="training", reason=f"failed: {type(exc).__name__}: {exc}"
        )
        raise
    finally:
        hook.finish()
    if stop_requested():
        result.interrupted = True
    if validation is not None and validation[0] == "test":
        result.notes.append("validation curves use the test split (as in the chapter)")
    result.notes.extend(options.notes)
    run.write_history(result.history)
    if result.interrupted:
        _save_interrupted(run, prepared, result, options)
    run.set_status("incomplete", phase="trained", reason="evaluating", epochs_run=result.epochs_run)
    return result


def _finish_phase(
    run: RunDir, prepared: PreparedExperiment, options: RunOptions, result: TrainingResult
) -> RunResult:
    """Evaluate, save the model, the metrics and the figures' data; mark complete; report."""
    from neuralab.models.shape_doctor import from_logits
    from neuralab.runs.plots import write_run_plots

    spec, model = prepared.spec, prepared.model
    metrics = _evaluate(model, prepared.splits, spec.fit.batch_size)
    _stop_if_requested(run, prepared, result, options)
    expectations = check_expectations(
        spec, metrics, quick=options.quick, data_name=prepared.splits.train.name
    )
    lr_test = _range_test(run, spec, result)
    save_model(run, model)
    _stop_if_requested(run, prepared, result, options)
    record = _metrics_record(prepared, options, result, metrics, expectations)
    run.write(record)
    run.set_status("incomplete", phase="evaluated", reason="plotting", epochs_run=result.epochs_run)
    write_run_plots(
        run,
        model=model,
        splits=prepared.splits,
        from_logits=from_logits(prepared.loss),
        report=spec.report,
    )
    _stop_if_requested(run, prepared, result, options)
    run.set_status("complete", phase="complete", epochs_run=result.epochs_run)
    with contextlib.suppress(FileNotFoundError):
        run.file(files.CHECKPOINT).unlink()  # the run is complete: nothing to resume
    if options.write_report:
        from neuralab.reports.html import write_run_report

        write_run_report(run.path, lang=options.lang)
    return RunResult(
        name=spec.name,
        path=run.path,
        spec=spec,
        training=result,
        metrics=metrics,
        params=dict(record.params),
        findings=prepared.findings,
        expectations=expectations,
        lr_test=lr_test.model_dump() if lr_test else None,
        learning_rate=record.learning_rate,
        model=model,
        splits=prepared.splits,
        data_source=prepared.splits.train.source,
        data_notes=tuple(prepared.splits.train.notes),
    )


def _range_test(run: RunDir, spec: ExperimentSpec, result: TrainingResult) -> LRTestRecord | None:
    """The per-epoch range test's record (``fit.lr_range_test``), written to the run."""
    if not spec.fit.lr_range_test:
        return None
    from neuralab.training.lr_finder import suggest_per_epoch_learning_rates

    lrs = result.history["learning_rate"].to_numpy()
    losses = result.history["loss"].to_numpy()
    smoothed, suggested = suggest_per_epoch_learning_rates(
        lrs, losses, smoothing_std=RANGE_TEST_SMOOTHING_STD
    )
    record = LRTestRecord(
        schedule=spec.fit.lr_schedule,
        learning_rates=tuple(float(v) for v in lrs),
        losses=tuple(float(v) for v in losses),
        smoothed_losses=tuple(float(v) for v in smoothed),
        smoothing_std=RANGE_TEST_SMOOTHING_STD,
        suggestions={k: float(v) for k, v in suggested.items()},
    )
    run.write(record)
    return record


def _training_info(result: TrainingResult) -> TrainingInfo:
    return TrainingInfo(**result.to_dict())


def _metrics_record(
    prepared: PreparedExperiment,
    options: RunOptions,
    result: TrainingResult,
    metrics: dict[str, dict[str, float]],
    expectations: list[dict[str, Any]],
) -> MetricsRecord:
    from neuralab.models.builder import count_params

    spec, train_part = prepared.spec, prepared.splits.train
    lr_value = prepared.learning_rate
    validation = prepared.validation
    return MetricsRecord(
        name=spec.name,
        title=spec.title,
        group=options.group or spec.name,
        seed=spec.seed,
        splits={k: v.n_samples for k, v in prepared.splits.items()},
        data_source=train_part.source,
        data_notes=tuple(train_part.notes),
        data_name=train_part.name,
        class_names=tuple(str(c) for c in train_part.class_names),
        validation_split=validation[0] if validation else None,
        metrics=metrics,
        directions=metric_directions(prepared.model, result.history.columns),
        params=count_params(prepared.model),
        training=_training_info(result),
        total_time=round(result.wall_time, 3),
        learning_rate=float(lr_value)
        if isinstance(lr_value, int | float) and math.isfinite(lr_value)
        else None,
        expectations=tuple(ExpectationResult(**e) for e in expectations),
        reference=spec.reference.model_dump() if spec.reference else None,
        findings=tuple(
            FindingRecord(severity=f.severity, code=f.code, message=f.message)
            for f in prepared.findings
        ),
        quick=options.quick,
    )


def _stop_if_requested(
    run: RunDir, prepared: PreparedExperiment, result: TrainingResult, options: RunOptions
) -> None:
    if result.interrupted or stop_requested():
        result.interrupted = True
        _save_interrupted(run, prepared, result, options)


def _save_interrupted(
    run: RunDir, prepared: PreparedExperiment, result: TrainingResult, options: RunOptions
) -> NoReturn:
    """Mark the run incomplete (history and checkpoint are written), report it, and raise
    KeyboardInterrupt."""
    from neuralab.models.builder import count_params

    run.set_status(
        "incomplete",
        phase="training",
        reason="interrupted (Ctrl-C)",
        epochs_run=result.epochs_run,
        epochs_asked=prepared.epochs,
    )
    run.write(
        MetricsRecord(
            name=prepared.spec.name,
            title=prepared.spec.title,
            group=options.group or prepared.spec.name,
            seed=prepared.spec.seed,
            params=count_params(prepared.model),
            training=_training_info(result),
            quick=options.quick,
        )
    )
    if options.write_report:
        from neuralab.reports.html import write_run_report

        write_run_report(run.path, lang=options.lang)
    raise KeyboardInterrupt


def _callback_args(spec: ExperimentSpec, type_name: str) -> dict[str, Any]:
    for cb in spec.fit.callbacks:
        if cb.type == type_name:
            return dict(cb.args)
    return {}
