"""Runs write their events (``events.jsonl``); live pages and replays follow those files;
reports of 2-feature runs draw the boundary at a few epochs from them."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

from neuralab.config import parse_experiments
from neuralab.errors import NeuralabError
from neuralab.live.bus import EventBus
from neuralab.live.watch import RunWatcher, find_event_files, replay_source
from neuralab.record import RunDir, files
from neuralab.record.events import read_events, strip_epochs
from neuralab.runs.events import is_watched, run_events_callback
from neuralab.runs.prepare import prepare_experiment
from neuralab.runs.runner import run_experiment

SPEC = {
    "name": "tiny",
    "seed": 3,
    "data": {"name": "circles", "n_samples": 300, "noise": 0.05, "test_size": 0.2},
    "model": {
        "layers": [
            {"type": "Dense", "units": 6, "activation": "relu"},
            {"type": "Dense", "units": 1, "activation": "sigmoid"},
        ]
    },
    "compile": {"optimizer": "Adam", "learning_rate": 0.02},
    "fit": {"epochs": 12},
}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    spec = parse_experiments(SPEC).experiments[0]
    return run_experiment(spec, output=tmp_path_factory.mktemp("runs"))


def test_a_run_writes_its_events_and_the_report_draws_the_strip(finished_run):
    events = read_events(finished_run.path / files.EVENTS)
    kinds = [e.type for e in events]
    assert kinds[0] == "begin" and kinds[-1] == "end"
    assert [e.epoch for e in events if e.type == "epoch"] == list(range(1, 13))
    frames = {e.epoch for e in events if e.type == "boundary"}
    assert set(strip_epochs(12)) <= frames
    assert events[0].name == "tiny" and events[0].splits == {"train": 240, "test": 60}
    assert (finished_run.path / files.plot("boundary_strip")).exists()
    report = (finished_run.path / files.REPORT).read_text(encoding="utf-8")
    assert "The decision boundary while it trained" in report


def test_a_live_page_asks_for_short_chunks_through_a_marker(tmp_path):
    spec = parse_experiments(SPEC).experiments[0]
    prepared = prepare_experiment(spec)
    run = RunDir.at(tmp_path / "lab" / "tiny")
    assert not is_watched(run.path)
    assert run_events_callback(run, prepared).chunk_seconds is None
    (tmp_path / files.LIVE).write_text("x")
    assert is_watched(run.path)
    assert 0 < run_events_callback(run, prepared).chunk_seconds < 0.25


def test_the_watcher_follows_runs_and_reports_their_metrics(finished_run):
    bus = EventBus()
    sub = bus.subscribe()
    watcher = RunWatcher(finished_run.path.parent, bus)
    assert watcher.poll() > 0
    published = [__import__("json").loads(text) for text in sub.get(timeout=1)]
    channel = finished_run.path.name
    assert {e["channel"] for e in published} == {channel}
    status = [e for e in published if e["type"] == "run_status"]
    assert status and status[0]["status"] == "complete"
    assert status[0]["metrics"]["test"]["accuracy"] == pytest.approx(
        finished_run.metric("test"), abs=1e-9
    )
    assert watcher.poll() == 0  # nothing new


def test_only_runs_changed_since_the_page_started_are_followed(finished_run):
    watcher = RunWatcher(finished_run.path.parent, EventBus(), since=2e9)
    assert watcher.poll() == 0
    assert find_event_files(finished_run.path.parent) == [finished_run.path / files.EVENTS]


def test_a_replay_plays_the_events_once_a_page_watches(finished_run):
    source = replay_source(finished_run.path)

    class _Server:
        bus = EventBus()
        on_stop: ClassVar[list] = []

    watcher = source.attach(_Server)
    try:
        sub = _Server.bus.subscribe()
        got: list[str] = []
        for _ in range(200):  # bounded: at most about 20 s
            got += sub.get(timeout=0.1)
            if any('"run_status"' in text for text in got):
                break
        kinds = [__import__("json").loads(t)["type"] for t in got]
        assert kinds[0] == "begin" and "boundary" in kinds and kinds[-1] == "run_status"
    finally:
        for hook in _Server.on_stop:
            hook()
    assert not watcher.thread.is_alive()


def test_nothing_to_replay_is_said_clearly(tmp_path):
    with pytest.raises(NeuralabError, match="no such run directory"):
        replay_source(tmp_path / "missing")
    (tmp_path / "old").mkdir()
    with pytest.raises(NeuralabError, match=r"has no events.jsonl to replay"):
        replay_source(tmp_path / "old")


def test_the_strip_is_the_same_however_the_run_was_watched(finished_run, tmp_path):
    (tmp_path / files.LIVE).write_text("x")
    spec = parse_experiments(SPEC).experiments[0]
    watched = run_experiment(spec, output=tmp_path / "runs", write_report=False)
    assert watched.metrics == finished_run.metrics

    def strip(path):
        return {
            e.epoch: e.grid
            for e in read_events(path / files.EVENTS)
            if e.type == "boundary" and e.epoch in strip_epochs(12)
        }

    assert strip(watched.path) == strip(finished_run.path)
    assert np.array_equal(
        watched.training.history.to_numpy(), finished_run.training.history.to_numpy()
    )
