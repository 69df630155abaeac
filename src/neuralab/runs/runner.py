"""Running one experiment spec end to end: validate, train, evaluate, store, report.

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

from neuralab.config import SUGGESTED_PREFIX, ExperimentSpec, ScheduleSpec
from neuralab.data.dataset import Dataset, Splits, split_dataset
from neuralab.data.registry import load_dataset
from neuralab.errors import SpecError, did_you_mean
from neuralab.models.shape_doctor import Finding, check_model_fits_data
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
from neuralab.runs.store import save_model
from neuralab.training.checkpoint import (
    CheckpointPolicy,
    TrainingState,
    load_checkpoint,
)
from neuralab.training.progress import ProgressHook, SilentProgress
from neuralab.training.seeding import set_random_seed
from neuralab.training.trainer import TrainingResult, align_labels, metric_directions, train

if TYPE_CHECKING:
    import keras

logger = logging.getLogger(__name__)

QUICK_EPOCHS = 5
HISTORY_FLUSH_SECONDS = 2.0
DEFAULT_SUGGESTION = "minimum/10"
# Standard deviation, in epochs, of the Gaussian smoothing a per-epoch range test's
# suggestions read.
RANGE_TEST_SMOOTHING_STD = 2.0


class _StopRequest:
    """A Ctrl-C that the CLI turned into a request, honoured at this module's safe points.

    A ``KeyboardInterrupt`` raised wherever SIGINT happens to land in a run can be lost or
    do harm: JAX runs a Python function from ``gc.callbacks`` (``_xla_gc_callback``), and
    CPython drops an exception raised there ("Exception ignored in ..."); Keras's
    functional-model tracing runs under a bare ``except:``
    (``Functional._maybe_warn_inputs_struct_mismatch``); and one that stops the wait for an
    XLA compile leaves the compile thread running into interpreter exit (a segfault). So the
    CLI's SIGINT handler only calls :func:`request_stop`; training stops at the end of the
    current epoch (``model.stop_training``, the epochs so far are kept) and the run raises
    ``KeyboardInterrupt`` itself at a phase boundary (data loaded, trained, evaluated, stored).
    """

    requested = False


def request_stop() -> None:
    """Ask the running experiment(s) to stop as on Ctrl-C, at the next safe point.

    Safe to call from a signal handler (it only sets a flag). The run ends as an interrupted
    one: saved, marked incomplete, ``KeyboardInterrupt`` raised.
    """
    _StopRequest.requested = True


def stop_requested() -> bool:
    """True once :func:`request_stop` was called (until :func:`clear_stop_request`)."""
    return _StopRequest.requested


def clear_stop_request() -> None:
    _StopRequest.requested = False


def _stop_point() -> None:
    """Raise ``KeyboardInterrupt`` if a stop was requested; call only where that is safe."""
    if _StopRequest.requested:
        raise KeyboardInterrupt


@dataclass(repr=False)
class PreparedExperiment:
    """A validated experiment, ready to train: data split, model built and compiled."""

    spec: ExperimentSpec
    splits: Splits
    model: keras.Model
    loss: Any
    learning_rate: Any
    findings: list[Finding]
    validation: tuple[str, Dataset] | None
    callbacks: list[Any]
    epochs: int

    def __repr__(self) -> str:
        return f"PreparedExperiment({self.spec.name!r}, {self.splits!r}, epochs={self.epochs})"


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


def _resolve_learning_rate(
    spec: ExperimentSpec, suggestions: Mapping[str, Mapping[str, float]], where: str
) -> Any:
    from neuralab.models.builder import build_schedule

    lr = spec.compile.learning_rate
    if isinstance(lr, ScheduleSpec):
        return build_schedule(lr.to_dict(), where=f"{where}.compile.learning_rate")
    if isinstance(lr, str):
        target, _, method = lr[len(SUGGESTED_PREFIX) :].partition(":")
        method = method or DEFAULT_SUGGESTION
        found = suggestions.get(target)
        if found is None:
            raise SpecError(
                f"{where}.compile.learning_rate: {lr!r} needs the learning-rate range test of "
                f"experiment {target!r} to run first (in the same file, earlier)."
            )
        if method not in found:
            raise SpecError(
                f"{where}.compile.learning_rate: unknown suggestion {method!r}. Available: "
                f"{', '.join(sorted(found))}."
            )
        return float(found[method])
    return lr


def resolve_splits(loaded: Dataset | Splits, spec: ExperimentSpec, *, where: str) -> Splits:
    """Apply ``spec.data`` (class names, test and validation sizes) to loaded data.

    A data set that comes split (Fashion-MNIST's train and test files) keeps its splits:
    asking for a test or validation split it already has is an error; a validation split it
    lacks is taken from the end of its training part.
    """
    from dataclasses import replace

    parts = loaded.items() if isinstance(loaded, Splits) else [("data", loaded)]
    for _, part in parts:
        part.check_finite()
    names = spec.data.class_names
    if names is not None:
        n_classes = parts[0][1].n_classes
        if len(names) != n_classes:
            raise SpecError(
                f"{where}.data.class_names: {len(names)} names given for the {n_classes} "
                f"classes of the data. Received: class_names={list(names)}."
            )
    if isinstance(loaded, Splits):
        for key, present in (("test_size", loaded.test), ("validation_size", loaded.validation)):
            if getattr(spec.data, key) and present is not None:
                raise SpecError(
                    f"{where}.data.{key}: the {spec.data.name!r} data set comes with its own "
                    f"{key.removesuffix('_size')} split; remove `{key}`."
                )
        splits = loaded
        if spec.data.validation_size and loaded.validation is None:
            carved = split_dataset(
                loaded.train,
                validation_size=spec.data.validation_size,
                shuffle=spec.data.shuffle,
                seed=spec.seed,
                where=f"{where}.data",
            )
            splits = Splits(train=carved.train, validation=carved.validation, test=loaded.test)
    else:
        splits = split_dataset(
            loaded,
            test_size=spec.data.test_size,
            validation_size=spec.data.validation_size,
            shuffle=spec.data.shuffle,
            seed=spec.seed,
            where=f"{where}.data",
        )
    if names is not None:
        splits = Splits(
            **{key: replace(part, class_names=tuple(names)) for key, part in splits.items()}
        )
    return splits


def _input_layers(spec: ExperimentSpec, data: Dataset, *, where: str) -> list[Any]:
    """Layers put in front of the spec's model: ``Rescaling`` for data that carry a rescale
    factor (image folders: 1/255) and the ``augment`` section's augmentation layers (active
    only while training, so validation and test data are never augmented)."""
    import keras

    layers: list[Any] = []
    if data.rescale is not None:
        layers.append(keras.layers.Rescaling(data.rescale, name="rescaling"))
    if spec.augment:
        from neuralab.data.augment import augmentation_layers

        if len(data.sample_shape) != 3:
            raise SpecError(
                f"{where}.augment: image augmentation needs images (height, width, channels); "
                f"the data's samples have shape {data.sample_shape}."
            )
        layers += augmentation_layers(spec.augment, where=f"{where}.augment")
    return layers


def _load(spec: ExperimentSpec, *, where: str, cache: dict[str, Any] | None) -> Dataset | Splits:
    import json

    key = json.dumps([spec.data.name, spec.data.params], sort_keys=True, default=str)
    if cache is not None and key in cache:
        found: Dataset | Splits = cache[key]
        return found
    loaded = load_dataset(spec.data.name, spec.data.params, where=f"{where}.data")
    if cache is not None:
        cache[key] = loaded
    return loaded


def prepare_experiment(
    spec: ExperimentSpec,
    *,
    suggestions: Mapping[str, Mapping[str, float]] | None = None,
    data: Dataset | Splits | None = None,
    model: keras.Model | None = None,
    quick: bool = False,
    where: str = "",
    data_cache: dict[str, Any] | None = None,
) -> PreparedExperiment:
    """Load data, build and compile the model, and run the shape doctor; nothing trains.

    Args:
        spec: The experiment.
        suggestions: Learning-rate suggestions of earlier range tests, by experiment name.
        data: Use this data set instead of loading ``spec.data``.
        model: Use this Keras model instead of building ``spec.model``. If it is not
            compiled yet, it is compiled with ``spec.compile``.
        quick: Cap epochs at ``QUICK_EPOCHS`` (for tests and smoke runs).
        where: Prefix for error messages (file and experiment).
        data_cache: Data sets loaded so far, by loader and parameters: experiments of one
            file that read the same data load (and warn about a bad file) once.

    Raises:
        SpecError, DataError, ShapeError: with the key path and the fix.
    """

    from neuralab.models.builder import (
        build_callback,
        build_loss,
        build_metrics,
        build_model,
        build_optimizer,
    )

    _stop_point()
    where = where or f"experiment {spec.name!r}"
    quick_epochs = QUICK_EPOCHS
    if quick:
        # A lab's own quick settings (`when.quick`) choose the epochs; otherwise they are capped.
        quick_fit = (spec.when.get("quick") or {}).get("fit") or {}
        if "epochs" in quick_fit:
            quick_epochs = int(quick_fit["epochs"])
        spec = spec.for_data("quick")
    loaded = data if data is not None else _load(spec, where=where, cache=data_cache)
    splits = resolve_splits(loaded, spec, where=where)
    spec = spec.for_data(splits.train.name)
    # Seed before building: weight initialisation draws from Keras's global seed.
    set_random_seed(spec.seed)
    if model is None:
        if spec.model is None:
            raise SpecError(
                f"{where}.model: no model: give `model` in the spec, or pass a keras.Model."
            )
        model = build_model(
            spec.model,
            input_shape=splits.train.sample_shape,
            name=spec.name,
            where=f"{where}.model",
            prefix=_input_layers(spec, splits.train, where=where),
        )
    user_compiled = model is not None and getattr(model, "optimizer", None) is not None
    if user_compiled:
        loss = model.loss
        learning_rate = None
    else:
        loss = build_loss(spec.compile, where=f"{where}.compile")
        learning_rate = _resolve_learning_rate(spec, suggestions or {}, where)
    findings = check_model_fits_data(model, splits.train, loss=loss, where=where)
    callbacks = [
        build_callback(cb.type, cb.args, where=f"{where}.fit.callbacks[{i}]")
        for i, cb in enumerate(spec.fit.callbacks)
    ]
    if not user_compiled:
        optimizer = build_optimizer(spec.compile, learning_rate, where=f"{where}.compile")
        metrics = build_metrics(spec.compile, where=f"{where}.compile")
        model.compile(loss=loss, optimizer=optimizer, metrics=metrics)
        check_expectation_names(spec, metrics, where=where)
    choice = spec.fit.validation
    validation: tuple[str, Dataset] | None = None
    if choice in ("auto", "validation") and splits.validation is not None:
        validation = ("validation", splits.validation)
    elif choice in ("auto", "test") and splits.test is not None:
        validation = ("test", splits.test)
    elif choice in ("validation", "test"):
        raise SpecError(
            f"{where}.fit.validation: {choice!r} needs a {choice} split; set "
            f"data.{choice}_size, or use validation = 'auto'."
        )
    epochs = min(spec.fit.epochs, quick_epochs) if quick else spec.fit.epochs
    _stop_point()
    return PreparedExperiment(
        spec=spec,
        splits=splits,
        model=model,
        loss=loss,
        learning_rate=learning_rate,
        findings=findings,
        validation=validation,
        callbacks=callbacks,
        epochs=epochs,
    )


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


def check_expectation_names(spec: ExperimentSpec, metrics: Sequence[Any], *, where: str) -> None:
    """Refuse ``expect`` bands on metrics the run will not measure (before it trains).

    Valid names are ``train_``, ``validation_`` or ``test_`` followed by ``loss`` or a
    compiled metric's name (``metrics`` as given to ``model.compile``).
    """
    names = ["loss", *(m if isinstance(m, str) else str(m.name) for m in metrics)]
    valid = [f"{split}_{name}" for split in ("train", "validation", "test") for name in names]
    for i, exp in enumerate(spec.expect):
        if exp.metric not in valid:
            raise SpecError(
                f"{where}.expect[{i}].metric: the run measures no {exp.metric!r}."
                f"{did_you_mean(exp.metric, valid)} Valid names: {', '.join(valid)} (a split, "
                "then `loss` or a name from `compile.metrics`)."
            )


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


def check_same_spec(run: RunDir, prepared: PreparedExperiment, *, quick: bool) -> None:
    """Refuse to resume ``run`` with a spec other than the one it was started with.

    Raises:
        RunError: naming the first differences (key path, the run's value, the file's).
    """
    from neuralab.errors import RunError

    stored = run.read(SpecRecord)
    now = {"spec": _compared(prepared.spec.to_dict()), "quick": quick, "epochs": prepared.epochs}
    before = {"spec": _compared(stored.spec), "quick": stored.quick, "epochs": stored.epochs}
    differences = _differences(before, now)
    if differences:
        shown = "; ".join(differences[:3]) + ("; ..." if len(differences) > 3 else "")
        raise RunError(
            f"{run.path}: cannot resume: the experiment changed since this run started "
            f"({shown}). Resume with the same file and flags, or start a new run."
        )


def _compared(spec: dict[str, Any]) -> dict[str, Any]:
    """The parts of a spec that make its numbers (how often it checkpoints does not)."""
    fit = {k: v for k, v in (spec.get("fit") or {}).items() if k != "checkpoint_seconds"}
    return {**spec, "fit": fit}


def _differences(before: Any, now: Any, path: str = "") -> list[str]:
    if isinstance(before, dict) and isinstance(now, dict):
        out: list[str] = []
        for key in sorted(set(before) | set(now), key=str):
            sub = f"{path}.{key}" if path else str(key)
            sub = sub.removeprefix("spec.")
            if key not in before:
                out.append(f"{sub} is new ({now[key]!r})")
            elif key not in now:
                out.append(f"{sub} was removed (was {before[key]!r})")
            else:
                out += _differences(before[key], now[key], sub)
        return out
    if before != now:
        return [f"{path}: {before!r} in the run, {now!r} now"]
    return []


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
    hook.start(spec.name, prepared.epochs)
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
            callbacks=[*prepared.callbacks, *callbacks],
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
    run.write_history(result.history)
    if result.interrupted:
        _save_interrupted(run, prepared, result, options)
    run.set_status("incomplete", phase="trained", reason="evaluating", epochs_run=result.epochs_run)
    return result


def _finish_phase(
    run: RunDir, prepared: PreparedExperiment, options: RunOptions, result: TrainingResult
) -> RunResult:
    """Evaluate, save the model, the metrics and the figures' data; mark complete; report."""
    from neuralab.models.builder import count_params
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
    lr_value = prepared.learning_rate
    return RunResult(
        name=spec.name,
        path=run.path,
        spec=spec,
        training=result,
        metrics=metrics,
        params=count_params(model),
        findings=prepared.findings,
        expectations=expectations,
        lr_test=lr_test.model_dump() if lr_test else None,
        learning_rate=float(lr_value)
        if isinstance(lr_value, int | float) and math.isfinite(lr_value)
        else None,
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
    return TrainingInfo(
        epochs_run=result.epochs_run,
        best_epoch=result.best_epoch,
        monitor=result.monitor,
        wall_time=round(result.wall_time, 3),
        backend=result.backend,
        trainer=result.trainer,
        interrupted=result.interrupted,
        resumed_from=result.resumed_from,
        notes=tuple(result.notes),
    )


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
