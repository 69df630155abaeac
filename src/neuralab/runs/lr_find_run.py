"""``neuralab lr-find SPEC``: the per-batch range test for any experiment, stored as a run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuralab.config import ExperimentSpec
from neuralab.record import EnvRecord, LRFindRecord, RunDir, SpecRecord, files
from neuralab.runs.environment import environment_info
from neuralab.training.lr_finder import LRFinderResult, find_learning_rate


@dataclass(repr=False)
class LRFindRun:
    """The finder's result and where it was written."""

    finder: LRFinderResult
    path: Path

    @property
    def json(self) -> Path:
        return self.path / files.LR_FIND

    @property
    def plot(self) -> Path:
        return self.path / files.plot("lr_find")

    def __repr__(self) -> str:
        return f"LRFindRun({self.finder!r}, path={str(self.path)!r})"


def run_lr_find(
    spec: ExperimentSpec,
    *,
    output: str | Path = "runs",
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int = 100,
    lang: str = "en",
    backend_reason: str = "",
    where: str = "",
) -> LRFindRun:
    """Build the experiment's model and run :func:`find_learning_rate` on its training data.

    Writes ``<output>/<name>-lrfind-<timestamp>/`` with ``lr_find.json`` (rates, losses,
    suggestions) and ``plots/lr_find.png`` (suggestions marked).
    """
    import keras

    from neuralab.analysis.figures import save_figure
    from neuralab.analysis.lr_plot import LRRangeDisplay
    from neuralab.reports.i18n import translator
    from neuralab.runs.prepare import prepare_experiment

    prepared = prepare_experiment(spec, where=where)
    finder = find_learning_rate(
        prepared.model,
        prepared.splits.train.x,
        prepared.splits.train.y,
        start_lr=start_lr,
        end_lr=end_lr,
        num_steps=num_steps,
        batch_size=spec.fit.batch_size,
        seed=spec.seed,
    )
    run = RunDir.create(output, f"{spec.name}-lrfind")
    payload: dict[str, Any] = {"experiment": spec.name, **finder.to_dict()}
    run.write(LRFindRecord(**payload))
    run.write(SpecRecord(spec=spec.to_dict(), seed=spec.seed, group=spec.name))
    run.write(
        EnvRecord(
            **environment_info(
                backend=keras.backend.backend(), backend_reason=backend_reason, seed=spec.seed
            )
        )
    )
    t = translator(lang)
    display = LRRangeDisplay.from_range_test(
        finder.learning_rates,
        finder.losses,
        smoothed=finder.smoothed_losses,
        suggestions=finder.suggestions,
        title=f"{t['lr range test']}: {spec.name}",
    ).plot(
        xlabel=t["learning rate"],
        ylabel=t["loss"],
        suggestion_labels={k: t[k] for k in finder.suggestions},
    )
    save_figure(display.figure_, run.file(files.plot("lr_find")))
    run.set_status("complete", kind="lr-find")
    return LRFindRun(finder=finder, path=run.path)
