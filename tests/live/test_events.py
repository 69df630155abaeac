"""The events record: typed lines, read back validated, followed as the file grows."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neuralab.errors import RunError
from neuralab.record.events import (
    BeginEvent,
    EndEvent,
    EpochEvent,
    EventTail,
    append_events,
    encode_grid,
    event_line,
    parse_event,
    read_events,
    strip_epochs,
)


def test_events_round_trip_through_a_file_and_a_partial_last_line_waits(tmp_path):
    path = tmp_path / "events.jsonl"
    events = [
        BeginEvent(name="m", epochs=3, class_names=("a", "b")),
        EpochEvent(t=0.5, epoch=1, logs={"loss": 0.7, "accuracy": 0.5}),
        EndEvent(epochs_run=1),
    ]
    append_events(path, events[:2])
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(event_line(events[2])[:10])  # being written
    assert read_events(path) == events[:2]
    tail = EventTail(path)
    assert tail.read() == events[:2]
    assert tail.read() == []
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(event_line(events[2])[10:] + "\n")
    assert tail.read() == [events[2]]
    assert read_events(path) == events


def test_a_broken_line_is_named_with_its_file_and_line(tmp_path):
    path = tmp_path / "events.jsonl"
    append_events(path, [EndEvent(epochs_run=2)])
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"type": "epoch", "epoch": "x", "logs": {}}\n')
    with pytest.raises(RunError, match=r"events.jsonl:2: not a neuralab event: .*epoch"):
        read_events(path)
    with pytest.raises(RunError, match="no events"):
        read_events(tmp_path / "missing.jsonl")


def test_an_event_of_a_newer_schema_is_refused():
    line = json.dumps({"type": "end", "epochs_run": 1, "schema_version": 99})
    with pytest.raises(RunError, match="newer neuralab"):
        parse_event(line)
    with pytest.raises(RunError, match="not a line of JSON"):
        parse_event("{oops")


def test_a_grid_keeps_classes_and_probabilities():
    classes = np.array([[0, 1], [1, 2]])
    confidence = np.array([[0.5, 1.0], [0.75, 0.0]])
    grid = encode_grid(classes, confidence, (0, 1, -1, 1))
    ids, probability = grid.arrays()
    assert ids.tolist() == classes.tolist()
    assert np.allclose(probability, confidence, atol=1 / 255)
    assert (grid.x_min, grid.y_max, grid.size) == (0.0, 1.0, 2)


@pytest.mark.parametrize(
    ("epochs", "expected"),
    [(1, (1,)), (5, (1, 2, 3, 4, 5)), (100, (1, 3, 10, 32, 100)), (25, (1, 2, 5, 11, 25))],
)
def test_strip_epochs_start_early_and_end_last(epochs, expected):
    assert strip_epochs(epochs) == expected
