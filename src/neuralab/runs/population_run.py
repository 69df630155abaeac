"""The seeds of one experiment trained as one population: one compiled program for all.

A population gives each seed the history and weights its own run would give (same
initialisation, same batch order), so whether the seeds train together or one by one never
changes a number; it is chosen when it is faster (:func:`neuralab.training.population.
population_pays`), and each run records which way it trained and why.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from neuralab.record import files
from neuralab.runs.events import PopulationEvents
from neuralab.runs.prepare import PreparedExperiment
from neuralab.runs.runner import (
    HISTORY_FLUSH_SECONDS,
    RunOptions,
    RunResult,
    _finish_phase,
    _open_run,
    _save_interrupted,
)
from neuralab.runs.stopping import stop_requested
from neuralab.training.progress import ProgressHook, SilentProgress

logger = logging.getLogger(__name__)


def population_reason(prepared: Sequence[PreparedExperiment], trainer: str | None) -> str | None:
    """None when these seeds' runs can train as one population and that is faster; else why
    they train one by one (recorded in each run's notes)."""
    import keras

    from neuralab.training.population import can_populate, population_pays

    if len(prepared) < 2:
        return "one seed"
    first = prepared[0]
    spec = first.spec
    chosen = trainer or spec.fit.trainer
    if chosen == "fit":
        return "the trainer is model.fit"
    if keras.backend.backend() != "jax":
        return f"populations train on JAX, the backend is {keras.backend.backend()}"
    if spec.fit.lr_schedule is not None:
        return "a per-epoch learning-rate schedule (a callback) sets each epoch's rate"
    validation = first.validation
    reason = can_populate(
        [p.model for p in prepared],
        callbacks=first.callbacks,
        x=first.splits.train.x,
        y=first.splits.train.y,
        validation_x=validation[1].x if validation else None,
    )
    if reason is not None:
        return reason
    if not population_pays(
        first.model,
        members=len(prepared),
        batch_size=spec.fit.batch_size,
        n_rows=len(first.splits.train.x),
    ):
        return "measured: separate runs are as fast for a model of this size"
    return None


def run_population(
    prepared: Sequence[PreparedExperiment],
    run_dirs: Sequence[Path],
    options: RunOptions,
    *,
    progress: ProgressHook | None = None,
) -> list[RunResult]:
    """Train ``prepared`` (the seeds of one experiment, each built with its seed) as one
    population into ``run_dirs``, then evaluate and store each run as a run of its own.

    On Ctrl-C every run keeps the epochs done, is marked incomplete (a population keeps no
    checkpoint: ``--resume`` trains its unfinished seeds again) and ``KeyboardInterrupt``
    is raised again.
    """
    from neuralab.training.population import train_population

    first = prepared[0]
    spec = first.spec
    runs = [
        _open_run(item, options, output=".", run_dir=path, resume=False)[0]
        for item, path in zip(prepared, run_dirs, strict=True)
    ]
    for run, item in zip(runs, prepared, strict=True):
        run.set_status(
            "incomplete",
            phase="training",
            reason="training (as one population of seeds)",
            epochs_asked=item.epochs,
        )
    events = PopulationEvents(runs, prepared)
    hook = progress or SilentProgress()
    hook.start(f"{spec.name} × {len(prepared)} seeds", first.epochs)
    rows: list[list[dict[str, float]]] = [[] for _ in prepared]
    last_write = [time.perf_counter()]

    def on_epoch_end(member: int, epoch: int, logs: dict[str, float]) -> None:
        rows[member].append(dict(logs))
        events.epoch(member, epoch, logs)
        if member != len(prepared) - 1:
            return
        hook.advance(1, **rows[0][-1])
        now = time.perf_counter()
        if now - last_write[0] >= HISTORY_FLUSH_SECONDS:
            for run, history in zip(runs, rows, strict=True):
                run.write_history(history)
            last_write[0] = now
        if stop_requested():  # ends the population after this epoch
            first.model.stop_training = True

    validation = first.validation
    try:
        results = train_population(
            [item.model for item in prepared],
            first.splits.train.x,
            first.splits.train.y,
            epochs=first.epochs,
            batch_size=spec.fit.batch_size,
            validation_data=(validation[1].x, validation[1].y) if validation else None,
            shuffle=spec.fit.shuffle,
            seeds=[item.spec.seed for item in prepared],
            on_epoch_end=on_epoch_end,
            stops=events.stops,
            on_stop=events.boundaries,
        )
    except Exception as exc:
        for run in runs:
            run.set_status(
                "incomplete", phase="training", reason=f"failed: {type(exc).__name__}: {exc}"
            )
        raise
    finally:
        hook.finish()
    events.end(results)
    interrupted = stop_requested() or any(r.interrupted for r in results)
    for run, result in zip(runs, results, strict=True):
        if validation is not None and validation[0] == "test":
            result.notes.append("validation curves use the test split (as in the chapter)")
        result.interrupted = result.interrupted or interrupted
        run.write_history(result.history)
        with contextlib.suppress(FileNotFoundError):
            run.file(files.CHECKPOINT).unlink()
    if interrupted:
        for run, item, result in zip(runs, prepared, results, strict=True):
            with contextlib.suppress(KeyboardInterrupt):
                _save_interrupted(run, item, result, options)
        raise KeyboardInterrupt
    from neuralab._keras_compat import share_step_functions

    share_step_functions([item.model for item in prepared])  # one evaluation trace for all
    finished = []
    for run, item, result in zip(runs, prepared, results, strict=True):
        run.set_status(
            "incomplete", phase="trained", reason="evaluating", epochs_run=result.epochs_run
        )
        finished.append(_finish_phase(run, item, options, result))
    return finished


def separate_note(reason: str) -> str:
    """The note a seed's run gets when its experiment's seeds trained one by one."""
    return f"seeds trained one by one: {reason}"
