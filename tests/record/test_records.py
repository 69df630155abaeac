"""The run record: typed, versioned files that every reader goes through."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neuralab.errors import RunError
from neuralab.record import (
    SCHEMA_VERSION,
    EvaluationRecord,
    LabDir,
    LabRecord,
    LayersRecord,
    MetricsRecord,
    RunDir,
    SpecRecord,
    StatusRecord,
    files,
)
from neuralab.record.models import RECORDS


def _run(tmp_path: Path) -> RunDir:
    return RunDir.create(tmp_path, "exp", stamp="20260101-000000")


def test_every_record_names_its_own_file_and_carries_the_schema_version():
    names = [cls.FILE for cls in RECORDS]
    assert len(set(names)) == len(names) and all(n.endswith(".json") for n in names)
    assert all(cls.model_fields["schema_version"].default == SCHEMA_VERSION for cls in RECORDS)


def test_records_round_trip_through_their_files(tmp_path):
    run = _run(tmp_path)
    record = MetricsRecord(
        name="exp",
        seed=3,
        group="exp",
        metrics={"test": {"accuracy": 0.75, "loss": 0.5}},
        directions={"loss": "down", "accuracy": "up"},
    )
    run.write(record)
    data = json.loads((run.path / files.METRICS).read_text())
    assert data["schema_version"] == SCHEMA_VERSION and data["seed"] == 3
    again = run.read(MetricsRecord)
    assert again == record
    assert again.metric("test") == 0.75 and again.direction("val_accuracy") == "up"
    assert again.direction("val_loss") == "down"


def test_a_record_from_a_newer_neuralab_is_refused_naming_both_versions(tmp_path):
    run = _run(tmp_path)
    newer = SCHEMA_VERSION + 1
    (run.path / files.METRICS).write_text(json.dumps({"schema_version": newer, "name": "exp"}))
    with pytest.raises(RunError) as info:
        run.read(MetricsRecord)
    message = str(info.value)
    assert f"record schema {newer}" in message
    assert f"reads schema {SCHEMA_VERSION} and older" in message
    assert "Upgrade neuralab" in message


def test_a_run_written_by_neuralab_0_1_opens(tmp_path):
    # Files as neuralab 0.1 wrote them: no schema_version, the spec's flags at its top level,
    # layers.json a bare list, metrics.json of an interrupted run without its name.
    run = tmp_path / "old"
    run.mkdir()
    (run / files.STATUS).write_text(json.dumps({"status": "complete", "updated": "x"}))
    (run / files.SPEC).write_text(
        json.dumps({"name": "model_8", "seed": 5, "quick": True, "epochs_run_cap": 5})
    )
    (run / files.LAYERS).write_text(json.dumps([{"name": "dense", "params": 12}]))
    (run / files.METRICS).write_text(json.dumps({"params": {"total": 12}, "extra_key": 1}))
    opened = RunDir.open(run)
    spec = opened.read(SpecRecord)
    assert spec.spec == {"name": "model_8", "seed": 5} and spec.quick and spec.epochs == 5
    assert spec.seed == 5 and spec.group == "model_8"
    assert opened.read(LayersRecord).layers[0]["params"] == 12
    assert opened.read(MetricsRecord).name == "old"
    assert opened.status.complete


def test_an_invalid_record_names_the_file_the_key_and_the_versions(tmp_path):
    run = _run(tmp_path)
    path = run.path / files.EVALUATION
    path.write_text(json.dumps({"schema_version": SCHEMA_VERSION, "split": "test"}))
    with pytest.raises(RunError) as info:
        run.read(EvaluationRecord)
    message = str(info.value)
    assert str(path) in message and "class_names: Field required" in message
    assert f"schema {SCHEMA_VERSION}" in message
    path.write_text("{not json")
    with pytest.raises(RunError, match="unreadable JSON"):
        run.read(EvaluationRecord)


def test_missing_and_optional_records(tmp_path):
    run = _run(tmp_path)
    assert run.read_optional(EvaluationRecord) is None
    with pytest.raises(RunError, match="metrics.json: missing"):
        run.read(MetricsRecord)
    assert run.status == StatusRecord(
        status="incomplete", reason="running", updated=run.status.updated
    )


def test_history_round_trip_and_a_broken_table_is_named(tmp_path):
    run = _run(tmp_path)
    run.write_history([{"loss": 0.5, "accuracy": 0.7}, {"loss": 0.25, "accuracy": 0.9}])
    history = run.read_history()
    assert list(history.index) == [1, 2] and history.index.name == "epoch"
    assert history["loss"].tolist() == [0.5, 0.25]
    (run.path / files.HISTORY).write_text("when,what\nmonday,x\n")
    with pytest.raises(RunError, match="not a history table"):
        run.read_history()


def test_a_lab_lists_its_runs_in_order_and_keeps_its_narrative(tmp_path):
    lab = tmp_path / "lab"
    lab.mkdir()
    LabDir(lab).write(
        LabRecord(
            lab="circles",
            experiments=("b", "a", "missing"),
            narrative={"en": {"intro": "Hi"}, "pt": {"intro": "Oi"}},
        )
    )
    for name in ("a", "b"):
        RunDir.at(lab / name)
    opened = LabDir.open(lab)
    assert [r.path.name for r in opened.runs()] == ["b", "a"]
    record = opened.read()
    assert record.texts("pt") == {"intro": "Oi"} and record.texts("de") == {"intro": "Hi"}
    with pytest.raises(RunError, match="not a lab directory"):
        LabDir.open(tmp_path / "lab" / "a")
