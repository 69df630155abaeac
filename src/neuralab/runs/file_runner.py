"""Running a file of experiments (a lab is such a file) into one directory with one report.

Every experiment is validated and prepared once (data loaded, model built and compiled, shape
doctor run) before the first one trains, so a bad spec writes nothing and a bad file in the
data is reported once. A lab directory can be resumed after a hard kill: complete runs are kept
(their spec checked against the file's), an interrupted one continues from its checkpoint, and
missing ones run; the lab's report is drawn once at the end.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neuralab.config import SUGGESTIONS, ExperimentFile, ExperimentSpec
from neuralab.errors import NeuralabError, RunError
from neuralab.record import ComparisonRecord, LabDir, LabRecord, RunDir, files, new_directory
from neuralab.runs.prepare import PreparedExperiment, prepare_experiment
from neuralab.runs.resume import check_same_spec
from neuralab.runs.runner import RunOptions, RunResult, run_experiment
from neuralab.training.progress import ProgressHook

if TYPE_CHECKING:
    from neuralab.runs.executors import RaySession

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
        return self.path / files.REPORT

    def __getitem__(self, name: str) -> RunResult:
        """The run of experiment ``name`` (with several seeds: the spec's own seed's run)."""
        for run in self.runs:
            if run.name == name:
                return run
        raise KeyError(name)

    def seeds(self, name: str) -> list[RunResult]:
        """Every run of experiment ``name``, one per seed, in seed order."""
        runs = [run for run in self.runs if run.name == name]
        if not runs:
            raise KeyError(name)
        return runs

    def __repr__(self) -> str:
        return (
            f"LabResult({self.name!r}, runs={len(self.runs)}, status={self.status!r}, "
            f"wall_time={self.wall_time:.1f}s, path={str(self.path)!r})"
        )

    def _repr_html_(self) -> str:
        """In Jupyter: the lab's results table and figures, drawn from its folder's records."""
        from neuralab.reports.notebook_html import lab_summary_html

        return lab_summary_html(self.path)


@dataclass(frozen=True)
class FileOptions:
    """How a file of experiments is run (the same for each of its experiments)."""

    quick: bool = False
    lang: str = "en"
    backend_reason: str = ""
    trainer: str | None = None
    jobs: int = 1


def _where(experiments: ExperimentFile, i: int, spec: ExperimentSpec) -> str:
    return f"{experiments.source}: experiments[{i}] ({spec.name})"


@dataclass(frozen=True)
class RunTask:
    """What a worker needs to train one run of a file into ``lab_dir / folder`` (picklable)."""

    spec: ExperimentSpec
    folder: str
    where: str


@dataclass(frozen=True)
class PlannedRun:
    """One run of a file: an experiment with one of its seeds, in its own folder.

    An experiment with one seed runs in the folder of its name; with ``repeat = N`` its runs
    are ``<name>-seed<seed>``, named by the seed, never by the order runs finish in.
    """

    index: int
    spec: ExperimentSpec
    folder: str
    seed_index: int = 0

    @property
    def group(self) -> str:
        return self.spec.name


def with_seeds(experiments: ExperimentFile, seeds: int | None) -> ExperimentFile:
    """Every experiment with ``seeds`` seeds (``--seeds N``), or the file as it is."""
    from neuralab.config import MAX_REPEAT

    if seeds is None:
        return experiments
    if isinstance(seeds, bool) or not isinstance(seeds, int) or not 1 <= seeds <= MAX_REPEAT:
        raise NeuralabError(
            f"`seeds` must be an integer from 1 to {MAX_REPEAT}. Received: seeds={seeds!r}."
        )
    chosen = tuple(e.model_copy(update={"repeat": seeds}) for e in experiments.experiments)
    return experiments.model_copy(update={"experiments": chosen})


def plan_runs(experiments: ExperimentFile) -> list[PlannedRun]:
    """The file's runs in order: each experiment's seeds one after the other.

    Raises:
        SpecError: a seed run's folder would be another experiment's (``a-seed43`` in a file
            that repeats ``a`` from seed 42).
    """
    from neuralab.errors import SpecError

    planned: list[PlannedRun] = []
    for i, spec in enumerate(experiments.experiments):
        seeds = spec.seeds()
        for k, seed in enumerate(seeds):
            folder = spec.name if len(seeds) == 1 else f"{spec.name}-seed{seed}"
            planned.append(
                PlannedRun(index=i, spec=spec.with_seed(seed), folder=folder, seed_index=k)
            )
    names = set(experiments.names())
    for run in planned:
        if run.folder != run.spec.name and run.folder in names:
            raise SpecError(
                f"{_where(experiments, run.index, run.spec)}.repeat: the run with seed "
                f"{run.spec.seed} would be written to {run.folder!r}, the folder of the "
                "experiment of that name. Rename one of them."
            )
    return planned


def _check_jobs(experiments: ExperimentFile, jobs: int) -> None:
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


def prepare_file(
    experiments: ExperimentFile, *, quick: bool, planned: list[PlannedRun] | None = None
) -> list[PreparedExperiment]:
    """Validate and prepare every run once (data sets shared between experiments), one per
    :func:`plan_runs` entry (each seed's model built with its seed).

    ``"suggested:"`` learning rates are set to a placeholder here and to the range test's
    suggestion when their turn comes (:func:`_apply_suggestion`).
    """
    planned = plan_runs(experiments) if planned is None else planned
    placeholder = {
        e.name: dict.fromkeys(SUGGESTIONS, 1e-3)
        for e in experiments.experiments
        if e.fit.lr_range_test
    }
    cache: dict[str, Any] = {}
    return [
        prepare_experiment(
            run.spec,
            suggestions=placeholder,
            quick=quick,
            where=_where(experiments, run.index, run.spec),
            data_cache=cache,
        )
        for run in planned
    ]


def _apply_suggestion(
    prepared: PreparedExperiment, suggestions: Mapping[str, Mapping[str, float]], where: str
) -> None:
    """Give a ``"suggested:NAME"`` experiment the rate NAME's range test suggested."""
    from neuralab.runs.prepare import resolve_learning_rate

    if not isinstance(prepared.spec.compile.learning_rate, str):
        return
    rate = resolve_learning_rate(prepared.spec, suggestions, where)
    prepared.model.optimizer.learning_rate.assign(rate)
    prepared.learning_rate = rate


def _lab_record(
    name: str,
    experiments: ExperimentFile,
    options: FileOptions,
    *,
    backend: str,
    narrative: Mapping[str, Mapping[str, str]],
) -> LabRecord:
    planned = plan_runs(experiments)
    groups: dict[str, tuple[str, ...]] = {}
    for run in planned:
        groups[run.group] = (*groups.get(run.group, ()), run.folder)
    return LabRecord(
        lab=name,
        title=experiments.title or name,
        description=experiments.description,
        source=experiments.source,
        experiments=tuple(run.folder for run in planned),
        groups=groups,
        quick=options.quick,
        capped=_quick_caps(experiments) if options.quick else (),
        lang=options.lang,
        backend=backend,
        backend_reason=options.backend_reason,
        trainer=options.trainer,
        compare=tuple(ComparisonRecord(**c.model_dump(mode="json")) for c in experiments.compare),
        narrative={k: dict(v) for k, v in narrative.items()},
    )


def _quick_caps(experiments: ExperimentFile) -> tuple[str, ...]:
    """What ``--quick`` changes, as ``key = value`` lines (the labs' ``when.quick`` tables)."""
    from neuralab.runs.prepare import QUICK_EPOCHS

    caps: list[str] = []

    def walk(table: Mapping[str, Any], prefix: str) -> None:
        for key, value in table.items():
            if isinstance(value, Mapping):
                walk(value, f"{prefix}{key}.")
            elif f"{prefix}{key} = {value!r}" not in caps:
                caps.append(f"{prefix}{key} = {value!r}")

    for spec in experiments.experiments:
        walk(spec.when.get("quick") or {}, "")
    if not any(c.startswith("fit.epochs") for c in caps):
        caps.append(f"fit.epochs <= {QUICK_EPOCHS}")
    return tuple(caps)


def _open_lab(
    name: str,
    experiments: ExperimentFile,
    options: FileOptions,
    *,
    output: str | Path,
    resume: str | Path | None,
    narrative: Mapping[str, Mapping[str, str]],
) -> tuple[Path, LabRecord]:
    import keras

    backend = keras.backend.backend()
    fresh = _lab_record(name, experiments, options, backend=backend, narrative=narrative)
    if resume is None:
        lab_dir = new_directory(output, name)
        LabDir(lab_dir).write(fresh)
        return lab_dir, fresh
    lab = LabDir.open(resume)
    stored = lab.read()
    problems = []
    if stored.lab != name:
        problems.append(f"it holds {stored.lab!r}, not {name!r}")
    if stored.experiments != fresh.experiments:
        problems.append(
            f"its runs are {list(stored.experiments)}, now {list(fresh.experiments)} (the same "
            "experiments and seeds are needed: pass the same --seeds)"
        )
    if stored.quick != options.quick:
        problems.append(f"it ran with quick={stored.quick}, now quick={options.quick}")
    if stored.backend != backend:
        problems.append(f"it ran on {stored.backend}, now on {backend} (pass --backend)")
    if problems:
        raise RunError(
            f"{lab.path}: cannot resume: {'; '.join(problems)}. Resume with the same file and "
            "flags, or start a new run."
        )
    record = fresh.model_copy(
        update={"started": stored.started, "resumed": stored.resumed + 1, "lang": options.lang}
    )
    lab.write(record)
    return lab.path, record


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
    resume: str | Path | None = None,
    narrative: Mapping[str, Mapping[str, str]] | None = None,
    seeds: int | None = None,
    executor: str = "local",
    address: str | None = None,
) -> LabResult:
    """Run every experiment of a file in order into ``output/<name>-<timestamp>/``.

    Learning-rate suggestions of range-test experiments are passed on to later ones
    (``learning_rate = "suggested:NAME"``).

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
        resume: A lab directory this file was run into before: complete runs are kept, an
            interrupted one continues from its checkpoint, missing ones run.
        narrative: The lab's texts by language and key (stored in ``lab.json``).
        seeds: Run every experiment with this many seeds (its ``repeat`` otherwise): the
            spec's seed, then the next ones, each in its own run folder.
        executor: ``"local"`` (this process, or ``jobs`` worker processes) or ``"ray"``: each
            run a Ray core task, on a local Ray instance of ``jobs`` CPUs started and stopped
            for this file, or on the cluster at ``address``
            (:func:`neuralab.runs.executors.run_in_workers`). A run that fails does not stop
            the others there: they finish, then ``RunsFailed`` names the failed ones.
        address: The Ray cluster to join (``"auto"``, ``"host:port"``; ``executor="ray"``).

    Returns:
        A :class:`LabResult`; ``report.html`` is written in its folder. On Ctrl-C the
        finished runs and the interrupted one are kept, the lab is marked incomplete, its
        report is written, and ``KeyboardInterrupt`` is raised again.

    Raises:
        RunError: ``resume`` is not a lab of this file, or an experiment changed since.
    """
    options = FileOptions(
        quick=quick, lang=lang, backend_reason=backend_reason, trainer=trainer, jobs=jobs
    )
    experiments = with_seeds(experiments, seeds)
    _check_jobs(experiments, jobs)
    planned = plan_runs(experiments)
    # Ray starts (and its workers import Keras) while this process prepares the runs.
    session = _ray_session(executor, address, jobs, planned)
    try:
        prepared = prepare_file(experiments, quick=quick, planned=planned)
        lab_dir, record = _open_lab(
            name, experiments, options, output=output, resume=resume, narrative=narrative or {}
        )
        if resume is not None:  # every kept or resumed run is checked before anything trains
            for plan, item in zip(planned, prepared, strict=True):
                run = RunDir(lab_dir / plan.folder)
                if run.has(files.SPEC):
                    check_same_spec(run, item, quick=quick)
        result = LabResult(name=name, path=lab_dir)
        start = time.perf_counter()
        try:
            if jobs > 1 or executor != "local":
                from neuralab.runs.executors import RunsFailed, run_in_workers

                # Seeds that train as one population here do so in one worker too (same numbers).
                together: list[list[str]] = []
                notes: dict[str, tuple[str, ...]] = {}
                for members in _seed_groups(planned):
                    plans = [planned[i] for i in members]
                    joined, why = _population_members(
                        plans, [prepared[i] for i in members], lab_dir, options, resume
                    )
                    together += [[plans[k].folder for k in joined]] if joined else []
                    notes |= {p.folder: why for k, p in enumerate(plans) if k not in joined}
                del prepared  # the workers prepare their own
                try:
                    result.runs = run_in_workers(
                        [
                            RunTask(
                                spec=plan.spec,
                                folder=plan.folder,
                                where=_where(experiments, plan.index, plan.spec),
                            )
                            for plan in planned
                        ],
                        lab_dir=lab_dir,
                        options=options,
                        progress=progress,
                        resume=resume is not None,
                        executor=executor,
                        address=address,
                        together=together,
                        notes=notes,
                        light_reports=[p.folder for p in planned if p.seed_index > 0],
                        session=session,
                    )
                except RunsFailed as failed:  # the report still shows the runs that finished
                    result.runs = failed.runs
                    raise
                # The workers drew their runs' reports (kept runs may have theirs already).
                written: set[Path] = {
                    r.path for r in result.runs if (r.path / files.REPORT).exists()
                }
            else:
                written = _run_in_order(
                    experiments,
                    planned,
                    prepared,
                    lab_dir,
                    options,
                    result,
                    progress,
                    resume=resume,
                )
        except BaseException:
            result.status = "incomplete"
            written = set()
            raise
        finally:
            result.wall_time = time.perf_counter() - start
            _close_lab(lab_dir, record, result, options, written)
    finally:
        if session is not None:
            session.close()
    return result


def _ray_session(
    executor: str, address: str | None, jobs: int, planned: list[PlannedRun]
) -> RaySession | None:
    """Ray opened for a file's runs (``executor="ray"``), or None."""
    if executor != "ray":
        return None
    from neuralab.runs.executors import RaySession, check_independent

    check_independent([plan.spec for plan in planned])
    return RaySession(address=address, cpus=jobs, runs=len(planned)).open()


def _run_in_order(
    experiments: ExperimentFile,
    planned: list[PlannedRun],
    prepared: list[PreparedExperiment],
    lab_dir: Path,
    options: FileOptions,
    result: LabResult,
    progress: ProgressFactory | None,
    *,
    resume: str | Path | None,
) -> set[Path]:
    """One experiment after the other in this process; reports drawn beside training."""
    from neuralab.reports.render import PARALLEL_REPORTS_FROM, ReportWorker

    suggestions: dict[str, dict[str, float]] = {}
    # Background processes draw each finished run's report while the next model trains.
    reports = (
        [ReportWorker(lang=options.lang) for _ in range(REPORT_WORKERS)]
        if len(prepared) >= PARALLEL_REPORTS_FROM
        else []
    )
    written: set[Path] = set()

    def finished(run: RunResult, plan: PlannedRun, slot: int) -> None:
        result.runs.append(run)
        if reports and not (run.kept and (run.path / files.REPORT).exists()):
            # An experiment's other seeds get their curves only (its figures show the first).
            reports[slot % len(reports)].submit(run.path, light=plan.seed_index > 0)
        elif run.kept:
            written.add(run.path)
        if run.lr_test is not None and plan.seed_index == 0:  # the spec's own seed suggests
            suggestions[plan.group] = dict(run.lr_test["suggestions"])

    try:
        for members in _seed_groups(planned):
            items = [prepared[i] for i in members]
            plans = [planned[i] for i in members]
            for plan, item in zip(plans, items, strict=True):
                _apply_suggestion(item, suggestions, _where(experiments, plan.index, item.spec))
            together, notes = _population_members(plans, items, lab_dir, options, resume)
            if together:
                from neuralab.runs.population_run import run_population

                first = plans[together[0]]
                runs = run_population(
                    [items[k] for k in together],
                    [lab_dir / plans[k].folder for k in together],
                    RunOptions(
                        quick=options.quick,
                        lang=options.lang,
                        backend_reason=options.backend_reason,
                        where=_where(experiments, first.index, first.spec),
                        write_report=False,
                        trainer=options.trainer,
                        group=first.group,
                    ),
                    progress=progress(first.group) if progress else None,
                )
                by_member = dict(zip(together, runs, strict=True))
            else:
                by_member = {}
            for k, (plan, item) in enumerate(zip(plans, items, strict=True)):
                run = by_member.get(k)
                if run is None:
                    run = run_experiment(
                        plan.spec,
                        run_dir=lab_dir / plan.folder,
                        quick=options.quick,
                        lang=options.lang,
                        progress=progress(plan.folder) if progress else None,
                        backend_reason=options.backend_reason,
                        where=_where(experiments, plan.index, item.spec),
                        write_report=False,
                        trainer=options.trainer,
                        prepared=item,
                        resume=resume is not None,
                        notes=notes,
                    )
                finished(run, plan, members[k])
            if reports and len(plans) > 1:  # the seeds' mean curves, drawn beside training
                reports[members[-1] % len(reports)].submit_seeds(
                    lab_dir, plans[0].group, [plan.folder for plan in plans]
                )
            for i in members:
                prepared[i] = None  # type: ignore[call-overload]  # free its models and data
    finally:
        for worker in reports:
            written |= worker.close()
    return written


def _seed_groups(planned: list[PlannedRun]) -> list[list[int]]:
    """Indices of ``planned``, grouped by experiment (its seeds are consecutive)."""
    groups: list[list[int]] = []
    for i, plan in enumerate(planned):
        if groups and planned[groups[-1][0]].index == plan.index:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _population_members(
    plans: list[PlannedRun],
    items: list[PreparedExperiment],
    lab_dir: Path,
    options: FileOptions,
    resume: str | Path | None,
) -> tuple[list[int], tuple[str, ...]]:
    """Which of an experiment's seeds train as one population (indices into ``plans``), and
    the note the others' runs get. When resuming, complete runs are kept and a run with a
    checkpoint continues from it on its own; the rest may still train together."""
    if len(plans) < 2:
        return [], ()
    from neuralab.runs.population_run import population_reason, separate_note

    waiting = list(range(len(plans)))
    if resume is not None:
        waiting = [
            k
            for k in waiting
            if not RunDir(lab_dir / plans[k].folder).has(files.CHECKPOINT)
            and not (
                RunDir(lab_dir / plans[k].folder).has(files.STATUS)
                and RunDir(lab_dir / plans[k].folder).status.complete
            )
        ]
    reason = population_reason([items[k] for k in waiting], options.trainer)
    if reason is None and len(waiting) > 1:
        return waiting, ()
    return [], (separate_note(reason or "one seed left to train"),)


def _close_lab(
    lab_dir: Path, record: LabRecord, result: LabResult, options: FileOptions, written: set[Path]
) -> None:
    """Write the lab's final record and its report (never hiding the error that stopped it)."""
    from neuralab.reports.render import write_lab_report

    first = result.runs[0] if result.runs else None
    update: dict[str, Any] = {"status": result.status, "wall_time": round(result.wall_time, 2)}
    if first is not None:
        update |= {"data_source": first.data_source, "data_notes": tuple(first.data_notes)}
    LabDir(lab_dir).write(record.model_copy(update=update))
    try:
        write_lab_report(lab_dir, lang=options.lang, written=written)
    except Exception:
        if result.status == "complete":
            raise
        logger.exception("could not write the report of the incomplete lab %s", lab_dir)
