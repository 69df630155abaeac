"""Running a file of experiments (a lab is such a file) into one directory with one report."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from neuralab.config import SUGGESTIONS, ExperimentFile
from neuralab.runs.runner import RunResult, run_experiment
from neuralab.runs.store import RunDir, atomic_write_text, ensure_writable, to_json
from neuralab.training.progress import ProgressHook

ProgressFactory = Callable[[str], ProgressHook | None]


@dataclass(repr=False)
class LabResult:
    """All runs of one experiment file."""

    name: str
    path: Path
    runs: list[RunResult] = field(default_factory=list)
    wall_time: float = 0.0
    status: str = "complete"

    @property
    def report(self) -> Path:
        return self.path / "report.html"

    def __getitem__(self, name: str) -> RunResult:
        for run in self.runs:
            if run.name == name:
                return run
        raise KeyError(name)

    def __repr__(self) -> str:
        return (
            f"LabResult({self.name!r}, runs={len(self.runs)}, status={self.status!r}, "
            f"wall_time={self.wall_time:.1f}s, path={str(self.path)!r})"
        )


def _lab_record(
    name: str, experiments: ExperimentFile, *, quick: bool, lang: str, backend: str, reason: str
) -> dict[str, Any]:
    return {
        "lab": name,
        "title": experiments.title or name,
        "description": experiments.description,
        "source": experiments.source,
        "experiments": experiments.names(),
        "quick": quick,
        "lang": lang,
        "backend": backend,
        "backend_reason": reason,
        "status": "incomplete",
        "started": datetime.now().isoformat(timespec="seconds"),
        "wall_time": None,
        "data_source": "",
        "data_notes": [],
        "compare": [c.model_dump(mode="json") for c in experiments.compare],
    }


def run_experiment_file(
    experiments: ExperimentFile,
    *,
    name: str,
    output: str | Path = "runs",
    quick: bool = False,
    lang: str = "en",
    progress: ProgressFactory | None = None,
    backend_reason: str = "",
    trainer: str | None = None,
) -> LabResult:
    """Run every experiment of a file in order into ``output/<name>-<timestamp>/``.

    Learning-rate suggestions of range-test experiments are passed on to later ones
    (``learning_rate = "suggested:NAME"``). All experiments are validated (data loaded, models
    built, shape doctor run) before the first one trains, so a bad spec writes nothing.

    Args:
        experiments: The validated file.
        name: Lab or file name (directory prefix).
        output: Parent folder.
        quick: Cap epochs for a smoke run.
        lang: Report language.
        progress: ``factory(experiment_name)`` returning a progress hook, or None.
        backend_reason: Why this backend (recorded).
        trainer: Override every experiment's ``fit.trainer`` (``auto``, ``fused``, ``fit``).

    Returns:
        A :class:`LabResult`; ``report.html`` is written in its folder. On Ctrl-C the
        finished runs and the interrupted one are kept, the lab is marked incomplete, its
        report is written, and ``KeyboardInterrupt`` is raised again.
    """
    import keras

    from neuralab.reports.html import LAB_FILE, write_lab_report
    from neuralab.runs.runner import prepare_experiment

    # Validate everything first; "suggested:" rates are resolved later, so use a placeholder.
    placeholder = {
        e.name: dict.fromkeys(SUGGESTIONS, 1e-3)
        for e in experiments.experiments
        if e.fit.lr_range_test
    }
    for i, spec in enumerate(experiments.experiments):
        prepare_experiment(
            spec,
            suggestions=placeholder,
            quick=quick,
            where=f"{experiments.source}: experiments[{i}] ({spec.name})",
        )
    root = ensure_writable(output)
    lab_dir = RunDir.create(root, name).path
    (lab_dir / "status.json").unlink()  # a lab folder is described by lab.json instead
    record = _lab_record(
        name,
        experiments,
        quick=quick,
        lang=lang,
        backend=keras.backend.backend(),
        reason=backend_reason,
    )
    atomic_write_text(lab_dir / LAB_FILE, to_json(record))
    result = LabResult(name=name, path=lab_dir)
    suggestions: dict[str, dict[str, float]] = {}
    start = time.perf_counter()
    try:
        for i, spec in enumerate(experiments.experiments):
            run = run_experiment(
                spec,
                run_dir=lab_dir / spec.name,
                suggestions=suggestions,
                quick=quick,
                lang=lang,
                progress=progress(spec.name) if progress else None,
                backend_reason=backend_reason,
                where=f"{experiments.source}: experiments[{i}] ({spec.name})",
                write_report=False,
                trainer=trainer,
            )
            result.runs.append(run)
            if run.lr_test is not None:
                suggestions[spec.name] = run.lr_test["suggestions"]
            if not record["data_source"] and run.splits is not None:
                record["data_source"] = run.splits.train.source
                record["data_notes"] = list(run.splits.train.notes)
    except KeyboardInterrupt:
        result.status = "incomplete"
        raise
    finally:
        result.wall_time = time.perf_counter() - start
        record["status"] = result.status
        record["wall_time"] = round(result.wall_time, 2)
        atomic_write_text(lab_dir / LAB_FILE, to_json(record))
        write_lab_report(lab_dir, lang=lang)
    return result


def run_lab(
    name: str,
    *,
    output: str | Path = "runs",
    quick: bool = False,
    lang: str = "en",
    progress: ProgressFactory | None = None,
    backend_reason: str = "",
    trainer: str | None = None,
) -> LabResult:
    """Run lab ``name`` (see ``neuralab.labs.LABS``)."""
    from neuralab.labs.registry import load_lab_spec

    return run_experiment_file(
        load_lab_spec(name),
        name=name,
        output=output,
        quick=quick,
        lang=lang,
        progress=progress,
        backend_reason=backend_reason,
        trainer=trainer,
    )
