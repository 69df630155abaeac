"""Running a lab: its experiment file and narrative, through the generic file runner."""

from __future__ import annotations

from pathlib import Path

from neuralab.runs.file_runner import LabResult as LabResult
from neuralab.runs.file_runner import ProgressFactory
from neuralab.runs.file_runner import run_experiment_file as run_experiment_file


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
    resume: str | Path | None = None,
    data: str | Path | None = None,
    seeds: int | None = None,
    executor: str = "local",
    address: str | None = None,
) -> LabResult:
    """Run lab ``name`` (see ``neuralab.labs.LABS``), or resume it in the lab folder
    ``resume``; ``data`` points the lab at the chapter's own files; ``seeds`` runs every
    experiment with that many seeds (default: the lab's own ``repeat``); ``executor="ray"``
    runs each run as a Ray task (on the cluster at ``address``, or a local Ray instance)."""
    from neuralab.labs.registry import lab_narratives, load_lab_spec

    return run_experiment_file(
        load_lab_spec(name, data),
        name=name,
        output=output,
        quick=quick,
        lang=lang,
        progress=progress,
        backend_reason=backend_reason,
        trainer=trainer,
        jobs=jobs,
        resume=resume,
        narrative=lab_narratives(name),
        seeds=seeds,
        executor=executor,
        address=address,
    )
