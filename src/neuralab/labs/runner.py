"""Running a file of experiments (a lab is such a file) into one directory with one report."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from neuralab.config import SUGGESTIONS, ExperimentFile
from neuralab.errors import NeuralabError
from neuralab.runs.runner import RunResult, run_experiment
from neuralab.runs.store import RunDir, atomic_write_text, ensure_writable, to_json
from neuralab.training.progress import ProgressHook

logger = logging.getLogger(__name__)

# Report-drawing processes beside a lab's training (figures are single-threaded matplotlib).
REPORT_WORKERS = 2

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
    jobs: int = 1,
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
        jobs: Worker processes. Each experiment is seeded on its own, so the results are the
            same whatever the order or the number of jobs; experiments whose learning rate
            is ``"suggested:..."`` need the earlier range test and require ``jobs=1``.

    Returns:
        A :class:`LabResult`; ``report.html`` is written in its folder. On Ctrl-C the
        finished runs and the interrupted one are kept, the lab is marked incomplete, its
        report is written, and ``KeyboardInterrupt`` is raised again.
    """
    import keras

    from neuralab.reports.html import LAB_FILE, PARALLEL_REPORTS_FROM, write_lab_report
    from neuralab.reports.render import ReportWorker
    from neuralab.runs.runner import prepare_experiment

    if jobs < 1:
        raise NeuralabError(f"`jobs` must be at least 1. Received: jobs={jobs}.")
    if jobs > 1:
        waiting = [
            e.name for e in experiments.experiments if isinstance(e.compile.learning_rate, str)
        ]
        if waiting:
            raise NeuralabError(
                f"--jobs {jobs}: {', '.join(waiting)} use a suggested learning rate, which needs "
                "the range test before them to finish first. Run with --jobs 1."
            )

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
    # Background processes draw each finished run's report while the next model trains.
    reports = (
        [ReportWorker(lang=lang) for _ in range(REPORT_WORKERS)]
        if jobs == 1 and len(experiments.experiments) >= PARALLEL_REPORTS_FROM
        else []
    )
    written: set[Path] = set()
    start = time.perf_counter()
    try:
        if jobs > 1:
            result.runs = _run_in_workers(
                experiments,
                lab_dir=lab_dir,
                quick=quick,
                lang=lang,
                backend=keras.backend.backend(),
                backend_reason=backend_reason,
                trainer=trainer,
                jobs=jobs,
                progress=progress,
            )
            first = result.runs[0] if result.runs else None
            if first is not None:
                record["data_source"] = first.data_source
                record["data_notes"] = list(first.data_notes)
        for i, spec in enumerate(experiments.experiments if jobs == 1 else ()):
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
            if reports:
                reports[i % len(reports)].submit(run.path)
            if run.lr_test is not None:
                suggestions[spec.name] = run.lr_test["suggestions"]
            if not record["data_source"] and run.splits is not None:
                record["data_source"] = run.splits.train.source
                record["data_notes"] = list(run.splits.train.notes)
    except BaseException:
        result.status = "incomplete"
        raise
    finally:
        for worker in reports:
            written |= worker.close()
        result.wall_time = time.perf_counter() - start
        record["status"] = result.status
        record["wall_time"] = round(result.wall_time, 2)
        atomic_write_text(lab_dir / LAB_FILE, to_json(record))
        try:
            write_lab_report(lab_dir, lang=lang, written=written)
        except Exception:  # never hide the error that stopped the lab behind a report error
            if result.status == "complete":
                raise
            logger.exception("could not write the report of the incomplete lab %s", lab_dir)
    return result


def _run_in_worker(
    spec: Any,
    run_dir: Path,
    quick: bool,
    lang: str,
    backend: str,
    backend_reason: str,
    where: str,
    trainer: str | None,
    xla_cache: str | None = None,
) -> RunResult:
    """One experiment in a fresh worker process (its own Keras, its own seed)."""
    from neuralab.backend import enable_compilation_cache, use_backend

    use_backend(backend)
    if xla_cache:  # the parent's on-disk compile cache: same-shaped models compile once
        enable_compilation_cache(xla_cache)
    result = run_experiment(
        spec,
        run_dir=run_dir,
        quick=quick,
        lang=lang,
        backend_reason=backend_reason,
        where=where,
        write_report=False,
        trainer=trainer,
    )
    if result.splits is not None:
        result.data_source = result.splits.train.source
        result.data_notes = tuple(result.splits.train.notes)
    result.model = None  # live objects stay in the worker
    result.splits = None
    return result


def _run_in_workers(
    experiments: ExperimentFile,
    *,
    lab_dir: Path,
    quick: bool,
    lang: str,
    backend: str,
    backend_reason: str,
    trainer: str | None,
    jobs: int,
    progress: ProgressFactory | None,
) -> list[RunResult]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited Keras
    xla_cache = None
    if "jax" in sys.modules:
        import jax

        xla_cache = getattr(jax.config, "jax_compilation_cache_dir", None)
    done: dict[str, RunResult] = {}
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {
            pool.submit(
                _run_in_worker,
                spec,
                lab_dir / spec.name,
                quick,
                lang,
                backend,
                backend_reason,
                f"{experiments.source}: experiments[{i}] ({spec.name})",
                trainer,
                xla_cache,
            ): spec.name
            for i, spec in enumerate(experiments.experiments)
        }
        for future in as_completed(futures):
            run = future.result()
            done[run.name] = run
            hook = progress(run.name) if progress else None
            if hook is not None:
                hook.start(run.name, run.training.epochs_run)
                hook.advance(run.training.epochs_run)
                hook.finish()
    return [done[spec.name] for spec in experiments.experiments]


def run_lab(
    name: str,
    *,
    output: str | Path = "runs",
    quick: bool = False,
    lang: str = "en",
    progress: ProgressFactory | None = None,
    backend_reason: str = "",
    trainer: str | None = None,
    jobs: int = 1,
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
        jobs=jobs,
    )
