"""What a run ran on: versions, backend, CPU (written to env.json)."""

from __future__ import annotations

import functools
import os
import platform
import sys
from importlib import metadata
from typing import Any

_PACKAGES = (
    "neuralab",
    "keras",
    "jax",
    "jaxlib",
    "tensorflow-cpu",
    "tensorflow",
    "torch",
    "numpy",
    "scikit-learn",
    "pandas",
    "matplotlib",
)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@functools.cache
def _machine() -> dict[str, Any]:
    """What does not change while a process runs (reading package metadata takes ~30 ms a
    run: a lab of 50 runs asks 50 times). Shared: callers copy it."""
    versions: dict[str, str] = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "packages": versions,
    }


def environment_info(**extra: Any) -> dict[str, Any]:
    """Package versions, Python, OS and CPU, plus ``extra`` (backend, seed, ...)."""
    machine = _machine()
    return {**machine, "packages": dict(machine["packages"]), **extra}
