"""The events a run writes while it trains (``events.jsonl``): what ``--live`` pages follow,
``neuralab play --replay`` plays again and the report's strip of decision boundaries reads.

Every run gets the callback (:func:`run_events_callback`), watched or not, so its record is
the same either way; a live page announces itself with a ``.live`` file in a folder above the
run (:func:`is_watched`), and the run then updates ten times a second (its grid evaluated by a
compiled program) instead of every few seconds (a few eager calls: nothing to compile).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from neuralab.record import RunDir, files
from neuralab.record.events import EndEvent, EpochEvent, append_events, strip_epochs
from neuralab.runs.prepare import PreparedExperiment
from neuralab.training.live import (
    LIVE_CHUNK_SECONDS,
    QUIET_UPDATE_SECONDS,
    UPDATE_SECONDS,
    begin_event,
    make_live_callback,
)

#: Folders above a run searched for the ``.live`` file of a page following it.
WATCH_DEPTH = 4


def is_watched(path: str | Path) -> bool:
    """True when a live page follows the runs of a folder above ``path`` (or ``path``)."""
    path = Path(path)
    return any((folder / files.LIVE).exists() for folder in [path, *path.parents][:WATCH_DEPTH])


def run_events_callback(
    run: RunDir, prepared: PreparedExperiment, *, group: str = "", initial_epoch: int = 0
) -> Any:
    """The Keras callback appending ``run``'s events to its ``events.jsonl``.

    The report's strip of decision boundaries (2-feature data) is drawn at exactly the epochs
    of :func:`~neuralab.record.events.strip_epochs`.
    """
    from neuralab.models.shape_doctor import from_logits

    spec = prepared.spec
    parts = list(prepared.splits.items())
    path = run.file(files.EVENTS)
    watched = is_watched(run.path)
    two_features = prepared.splits.train.plane

    def sink(events: list[Any]) -> None:
        append_events(path, events)

    return make_live_callback(
        sink,
        begin=begin_event(
            name=spec.name,
            group=group or spec.name,
            seed=spec.seed,
            epochs=prepared.epochs,
            parts=parts,
            findings=prepared.findings,
            initial_epoch=initial_epoch,
        ),
        parts=parts,
        from_logits=from_logits(prepared.loss),
        exact_epochs=strip_epochs(prepared.epochs) if two_features else (),
        chunk_seconds=LIVE_CHUNK_SECONDS if watched else None,
        update_seconds=UPDATE_SECONDS if watched else QUIET_UPDATE_SECONDS,
        compile_frames=watched,
    )


class PopulationEvents:
    """The events of the runs of one population (an experiment's seeds trained as one
    program): ``begin``, each epoch and ``end`` for each seed's run, and for 2-feature data
    each seed's decision boundary at the epochs of the report's strip (:attr:`stops`: the
    population ends a compiled chunk there and hands the weights back, :meth:`boundaries`).
    """

    def __init__(self, runs: Sequence[RunDir], prepared: Sequence[PreparedExperiment]) -> None:
        from neuralab.models.shape_doctor import from_logits

        first = prepared[0]
        two_features = first.splits.train.plane
        self.stops = strip_epochs(first.epochs) if two_features else ()
        self.models = [item.model for item in prepared]
        self.from_logits = from_logits(first.loss)
        if two_features:  # the grid of every frame, over every split's points
            from neuralab.training.live import grid_extent, grid_points

            self.extent = grid_extent(np.concatenate([p.x for _, p in first.splits.items()]))
            self.points = grid_points(self.extent)
        self.paths = [run.file(files.EVENTS) for run in runs]
        self.pending: list[list[Any]] = [[] for _ in runs]
        self.start = time.perf_counter()
        self.last_flush = self.start
        self.every = UPDATE_SECONDS if any(is_watched(run.path) for run in runs) else 1.0
        for path, item in zip(self.paths, prepared, strict=True):
            begin = begin_event(
                name=item.spec.name,
                group=item.spec.name,
                seed=item.spec.seed,
                epochs=item.epochs,
                parts=list(item.splits.items()),
                findings=item.findings,
            )
            append_events(path, [begin])

    def _t(self) -> float:
        return round(time.perf_counter() - self.start, 4)

    def _flush(self) -> None:
        for path, pending in zip(self.paths, self.pending, strict=True):
            append_events(path, pending)
            pending.clear()
        self.last_flush = time.perf_counter()

    def epoch(self, member: int, epoch: int, logs: dict[str, float]) -> None:
        """One member's epoch (1-based) ended."""
        self.pending[member].append(EpochEvent(t=self._t(), epoch=epoch, logs=dict(logs)))
        last = member == len(self.paths) - 1
        if last and time.perf_counter() - self.last_flush >= self.every:
            self._flush()

    def boundaries(self, epoch: int) -> None:
        """Each member's model holds the weights of ``epoch``: its boundary frame (one eager
        call each, as a separate run draws its strip)."""
        from neuralab.record.events import BoundaryEvent, encode_grid
        from neuralab.training.live import GridPredictor

        size = round(len(self.points) ** 0.5)
        for model, pending in zip(self.models, self.pending, strict=True):
            classes, confidence = GridPredictor(model, self.points, from_logits=self.from_logits)(
                compiled=False
            )
            grid = encode_grid(
                classes.reshape(size, size), confidence.reshape(size, size), self.extent
            )
            pending.append(BoundaryEvent(t=self._t(), epoch=epoch, grid=grid))
        self._flush()

    def end(self, results: Sequence[Any]) -> None:
        """Training ended: each run's epochs and whether it was interrupted."""
        for pending, result in zip(self.pending, results, strict=True):
            pending.append(
                EndEvent(t=self._t(), epochs_run=result.epochs_run, interrupted=result.interrupted)
            )
        self._flush()
