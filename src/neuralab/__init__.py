"""neuralab: build, train, evaluate and compare neural-network classifiers with Keras 3.

Importing neuralab does not import Keras: the backend is chosen first
(:func:`use_backend`), then Keras is imported by whatever needs it.

Example:
    >>> import neuralab
    >>> neuralab.use_backend("jax")
    >>> lab = neuralab.run_lab("circles", quick=True)
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

from neuralab.backend import choose_backend as choose_backend
from neuralab.backend import use_backend as use_backend
from neuralab.config import CompileSpec as CompileSpec
from neuralab.config import DataSpec as DataSpec
from neuralab.config import ExperimentFile as ExperimentFile
from neuralab.config import ExperimentSpec as ExperimentSpec
from neuralab.config import FitSpec as FitSpec
from neuralab.config import Layer as Layer
from neuralab.config import LayerSpec as LayerSpec
from neuralab.config import ModelSpec as ModelSpec
from neuralab.config import load_experiments as load_experiments
from neuralab.config import parse_experiments as parse_experiments
from neuralab.errors import NeuralabError as NeuralabError

_LAZY = {
    "run_experiment": "neuralab.runs.runner",
    "prepare_experiment": "neuralab.runs.runner",
    "run_lab": "neuralab.labs.runner",
    "run_experiment_file": "neuralab.runs.file_runner",
    "train": "neuralab.training.trainer",
    "find_learning_rate": "neuralab.training.lr_finder",
    "build_model": "neuralab.models.builder",
    "diagnose": "neuralab.models.shape_doctor",
    "write_report": "neuralab.reports.html",
}


_SUBPACKAGES = ("analysis", "data", "labs", "models", "reports", "runs", "training")


def __getattr__(name: str) -> Any:
    # Lazy: these import Keras, which must wait until the backend is chosen.
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBPACKAGES:
        return importlib.import_module(f"neuralab.{name}")
    raise AttributeError(f"module 'neuralab' has no attribute {name!r}")


__all__ = [
    "CompileSpec",
    "DataSpec",
    "ExperimentFile",
    "ExperimentSpec",
    "FitSpec",
    "Layer",
    "LayerSpec",
    "ModelSpec",
    "NeuralabError",
    "__version__",
    "choose_backend",
    "load_experiments",
    "parse_experiments",
    "use_backend",
    *_LAZY,
]
