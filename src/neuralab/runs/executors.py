"""Where the runs of a file train when they do not train one after the other here.

``--jobs N``: N worker processes on this machine, each a fresh interpreter with its own Keras.
Every run is seeded on its own, so its numbers do not depend on the worker or the order in
which runs finish; each writes its own folder of the lab directory.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from neuralab.runs.file_runner import FileOptions, ProgressFactory, RunTask
    from neuralab.runs.runner import RunResult


def _run_in_worker(
    task: RunTask,
    lab_dir: Path,
    options: FileOptions,
    backend: str,
    resume: bool,
    xla_cache: str | None = None,
) -> RunResult:
    """One run in a fresh worker process (its own Keras, its own seed)."""
    from neuralab.backend import enable_compilation_cache, use_backend
    from neuralab.runs.runner import run_experiment

    use_backend(backend)
    if xla_cache:  # the parent's on-disk compile cache: same-shaped models compile once
        enable_compilation_cache(xla_cache)
    result = run_experiment(
        task.spec,
        run_dir=lab_dir / task.folder,
        quick=options.quick,
        lang=options.lang,
        backend_reason=options.backend_reason,
        where=task.where,
        write_report=False,
        trainer=options.trainer,
        resume=resume,
    )
    result.model = None  # live objects stay in the worker
    result.splits = None
    return result


def run_in_workers(
    tasks: Sequence[RunTask],
    *,
    lab_dir: Path,
    options: FileOptions,
    progress: ProgressFactory | None,
    resume: bool,
) -> list[RunResult]:
    """Train ``tasks`` in ``options.jobs`` local worker processes; results in task order."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    import keras

    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited Keras
    xla_cache = None
    if "jax" in sys.modules:
        import jax

        xla_cache = getattr(jax.config, "jax_compilation_cache_dir", None)
    done: dict[str, RunResult] = {}
    with ProcessPoolExecutor(max_workers=options.jobs, mp_context=context) as pool:
        futures = {
            pool.submit(
                _run_in_worker,
                task,
                lab_dir,
                options,
                keras.backend.backend(),
                resume,
                xla_cache,
            ): task.folder
            for task in tasks
        }
        for future in as_completed(futures):
            run = future.result()
            folder = futures[future]
            done[folder] = run
            hook = progress(folder) if progress else None
            if hook is not None:
                hook.start(folder, run.training.epochs_run)
                hook.advance(run.training.epochs_run)
                hook.finish()
    return [done[task.folder] for task in tasks]
