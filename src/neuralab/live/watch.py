"""Following runs through their records: the ``events.jsonl`` files under a folder.

A ``--live`` page and ``neuralab play --replay`` read the same thing: each run's events
file, wherever the run trains (this process, ``--jobs`` worker processes, or an earlier,
interrupted attempt that ``--resume`` continues). :class:`RunWatcher` tails the files under
a folder and publishes their events on the page's bus, one channel per run (its folder,
relative to the watched one); when a run's status turns complete, its evaluated metrics
follow (a ``run_status`` event) for the lab's table.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuralab.errors import NeuralabError, RunError
from neuralab.live.bus import EventBus
from neuralab.record import LabDir, MetricsRecord, RunDir, StatusRecord, files
from neuralab.record.events import EventTail

logger = logging.getLogger(__name__)

#: Folders below the watched one searched for runs (a lab's runs, their seed folders).
DEPTH = 3
POLL_SECONDS = 0.1
SCAN_SECONDS = 0.5
#: Longest pause between two replayed events, and about the longest replay of a run (seconds).
REPLAY_GAP = 0.5
REPLAY_SECONDS = 15.0


@dataclass
class _Followed:
    run: Path
    tail: EventTail
    ended: bool = False
    reported: bool = False
    last_t: float | None = None
    pending: list[Any] = field(default_factory=list)


def find_event_files(root: Path, *, depth: int = DEPTH) -> list[Path]:
    """``events.jsonl`` files in ``root`` and its folders up to ``depth`` levels down, in
    name order (a lab's runs in their folders' order)."""
    found: list[Path] = []
    level = [root]
    for _ in range(depth + 1):
        following: list[Path] = []
        for folder in level:
            if (folder / files.EVENTS).is_file():
                found.append(folder / files.EVENTS)
            try:
                following += sorted(
                    Path(e.path) for e in os.scandir(folder) if e.is_dir(follow_symlinks=False)
                )
            except OSError:
                continue
        level = following
    return found


class RunWatcher:
    """Publishes the events of the runs under ``root`` on ``bus`` as they are written.

    Args:
        root: The folder (a lab, a run, or the output folder of a command).
        bus: The page's bus.
        since: Only runs whose events file changed at or after this time (``time.time()``);
            None: every run found (``--resume``, replays).
        replay: Play the events again at their recorded pace (gaps capped at
            ``REPLAY_GAP``), one run after the other, once a page is watching.
    """

    def __init__(
        self, root: str | Path, bus: EventBus, *, since: float | None = None, replay: bool = False
    ) -> None:
        self.root = Path(root)
        self.bus = bus
        self.since = since
        self.replay = replay
        self.followed: dict[Path, _Followed] = {}
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.last_scan = 0.0

    def channel(self, run: Path) -> str:
        try:
            name = run.relative_to(self.root).as_posix()
        except ValueError:
            name = run.name
        return name if name not in ("", ".") else run.name

    # ------------------------------------------------------------------ one pass
    def _ordered(self, found: list[Path]) -> list[Path]:
        """A lab's runs in the lab's order (the others after them, by name)."""
        if not LabDir.is_lab(self.root):
            return found
        try:
            order = {name: i for i, name in enumerate(LabDir(self.root).read().experiments)}
        except RunError:
            return found
        depth = len(self.root.parts)
        return sorted(found, key=lambda p: order.get("/".join(p.parent.parts[depth:]), len(order)))

    def scan(self) -> None:
        """Start following runs whose events file appeared (or changed) since ``since``."""
        self.last_scan = time.monotonic()
        for path in self._ordered(find_event_files(self.root)):
            if path.parent in self.followed:
                continue
            try:
                changed = path.stat().st_mtime
            except OSError:
                continue
            if self.since is not None and changed < self.since:
                continue
            self.followed[path.parent] = _Followed(run=path.parent, tail=EventTail(path))

    def poll(self) -> int:
        """Publish the events written since the last poll; returns how many."""
        if time.monotonic() - self.last_scan >= SCAN_SECONDS:
            self.scan()
        count = 0
        for followed in list(self.followed.values()):
            try:
                events = followed.tail.read()
            except RunError as exc:
                logger.warning("%s", exc)
                self.bus.publish(self.channel(followed.run), {"type": "error", "message": str(exc)})
                continue
            for event in events:
                followed.ended = event.type == "end" or (followed.ended and event.type != "begin")
            if events:
                self.bus.publish_many(
                    self.channel(followed.run), [e.model_dump(mode="json") for e in events]
                )
                count += len(events)
            self._report_status(followed)
        return count

    def _report_status(self, followed: _Followed) -> None:
        if followed.reported or not followed.ended:
            return
        run = RunDir(followed.run)
        try:
            status = run.read_optional(StatusRecord)
            if status is None or not (
                status.complete or status.reason.startswith(("interrupted", "failed"))
            ):
                return  # still evaluating, or resumed
            metrics = run.read_optional(MetricsRecord) if status.complete else None
        except RunError:
            return
        followed.reported = True
        self.bus.publish(
            self.channel(followed.run),
            {
                "type": "run_status",
                "status": status.status,
                "metrics": metrics.metrics if metrics is not None else None,
            },
        )

    # ------------------------------------------------------------------ life
    def start(self) -> RunWatcher:
        target = self._replay if self.replay else self._follow
        self.thread = threading.Thread(target=target, name="run-watcher", daemon=True)
        self.thread.start()
        return self

    def _follow(self) -> None:
        while not self.stopping.is_set():
            try:
                self.poll()
            except Exception:  # a page must not die with one unreadable run
                logger.exception("following runs failed")
            self.stopping.wait(POLL_SECONDS)

    def stop(self, *, final: bool = True) -> None:
        """Stop following (after publishing what was written last, if ``final``)."""
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(10)
        if final and not self.replay:
            self.scan()
            self.poll()

    # ------------------------------------------------------------------ replay
    def _replay(self) -> None:
        """Each run's events in turn, at their recorded pace, once a page is watching."""
        while not self.stopping.is_set() and not self.bus.subscribers:
            self.stopping.wait(POLL_SECONDS)
        self.scan()
        for followed in list(self.followed.values()):
            channel = self.channel(followed.run)
            events = followed.tail.read()
            # A long run is played faster: at most about REPLAY_SECONDS per run.
            duration = max((event.t for event in events), default=0.0)
            speed = max(1.0, duration / REPLAY_SECONDS)
            last: float | None = None
            for event in events:
                if self.stopping.is_set():
                    return
                if last is not None and event.t > last:
                    self.stopping.wait(min((event.t - last) / speed, REPLAY_GAP))
                last = event.t
                self.bus.publish(channel, event.model_dump(mode="json"))
            followed.ended = True
            self._report_status(followed)


class _Replay:
    def __init__(self, path: Path) -> None:
        self.path = path

    def attach(self, server: Any) -> RunWatcher:
        """Replay into ``server``'s page (stopped with it)."""
        watcher = RunWatcher(self.path, server.bus, replay=True).start()
        server.on_stop.append(lambda: watcher.stop(final=False))
        return watcher


def replay_source(path: str | Path) -> _Replay:
    """A replay of the run (or every run of the lab) at ``path``, to :meth:`attach`.

    Raises:
        NeuralabError: ``path`` holds no run that wrote events.
    """
    path = Path(path)
    if not path.is_dir():
        raise NeuralabError(f"{path}: no such run directory. Pass a folder under runs/.")
    if not find_event_files(path):
        kind = "lab" if LabDir.is_lab(path) else "run"
        raise NeuralabError(
            f"{path}: this {kind} has no {files.EVENTS} to replay: it was written by an older "
            "neuralab, or did not train. Run it again to replay it."
        )
    return _Replay(path)
