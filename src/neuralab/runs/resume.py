"""Resuming: a run directory is continued only with the spec it was started with."""

from __future__ import annotations

from typing import Any

from neuralab.errors import RunError
from neuralab.record import RunDir, SpecRecord
from neuralab.runs.prepare import PreparedExperiment


def check_same_spec(run: RunDir, prepared: PreparedExperiment, *, quick: bool) -> None:
    """Refuse to resume ``run`` with a spec other than the one it was started with.

    Raises:
        RunError: naming the first differences (key path, the run's value, the file's).
    """
    stored = run.read(SpecRecord)
    now = {"spec": _compared(prepared.spec.to_dict()), "quick": quick, "epochs": prepared.epochs}
    before = {"spec": _compared(stored.spec), "quick": stored.quick, "epochs": stored.epochs}
    differences = _differences(before, now)
    if differences:
        shown = "; ".join(differences[:3]) + ("; ..." if len(differences) > 3 else "")
        raise RunError(
            f"{run.path}: cannot resume: the experiment changed since this run started "
            f"({shown}). Resume with the same file and flags, or start a new run."
        )


def _compared(spec: dict[str, Any]) -> dict[str, Any]:
    """The parts of a spec that make its numbers (how often it checkpoints, or how many other
    seeds its experiment runs with, does not)."""
    fit = {k: v for k, v in (spec.get("fit") or {}).items() if k != "checkpoint_seconds"}
    return {**{k: v for k, v in spec.items() if k != "repeat"}, "fit": fit}


def _differences(before: Any, now: Any, path: str = "") -> list[str]:
    if isinstance(before, dict) and isinstance(now, dict):
        out: list[str] = []
        for key in sorted(set(before) | set(now), key=str):
            sub = f"{path}.{key}" if path else str(key)
            sub = sub.removeprefix("spec.")
            if key not in before:
                out.append(f"{sub} is new ({now[key]!r})")
            elif key not in now:
                out.append(f"{sub} was removed (was {before[key]!r})")
            else:
                out += _differences(before[key], now[key], sub)
        return out
    if before != now:
        return [f"{path}: {before!r} in the run, {now!r} now"]
    return []
