"""Run directories, the experiment runner and environment records."""

from neuralab.runs.runner import PreparedExperiment as PreparedExperiment
from neuralab.runs.runner import RunResult as RunResult
from neuralab.runs.runner import prepare_experiment as prepare_experiment
from neuralab.runs.runner import run_experiment as run_experiment
from neuralab.runs.store import RunDir as RunDir
from neuralab.runs.store import atomic_write_bytes as atomic_write_bytes
from neuralab.runs.store import atomic_write_text as atomic_write_text

__all__ = [
    "PreparedExperiment",
    "RunDir",
    "RunResult",
    "atomic_write_bytes",
    "atomic_write_text",
    "prepare_experiment",
    "run_experiment",
]
