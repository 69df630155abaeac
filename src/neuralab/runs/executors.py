"""Where the runs of a file train when they do not train one after the other here.

``executor="local"``, ``--jobs N``: N worker processes on this machine, each a fresh
interpreter with its own Keras, writing its run straight into the lab directory.

``executor="ray"``: one Ray core task per run (experiment x variant x seed), on a local Ray
instance of ``--jobs`` CPUs that is started and stopped here, or on the cluster at
``address``. A task trains into a scratch folder of its own (on its node, or inside the lab
directory when the task sees it: a shared file system) and hands the run back whole: its files
through the object store, or the name of its scratch folder. Only this driver moves a run into
its folder of the lab, by rename, so a task that Ray retries after its worker died leaves
neither a half-written nor a second copy of the run. Workers use one XLA/BLAS thread per task
CPU and a JAX compile cache per node keyed by the node's CPU.

Both executors: every run is seeded on its own, so its numbers do not depend on the worker, the
node or the order runs finish in, and folders are named by :func:`~neuralab.runs.file_runner.
plan_runs` (experiment and seed), never by worker. The seeds of an experiment that the file
runner trains as one population (one vmapped program) are one task here too, so a sweep gives
the same numbers on every executor. Complete runs of a resumed lab are kept
without a worker; an incomplete one continues from its checkpoint (on Ray, its folder is
shipped to the task). A Python error in one run does not stop the others: they finish, then
:class:`RunsFailed` names each failed run. A stop request (Ctrl-C) cancels the runs that have
not started; the running ones stop at their next safe point, are saved as incomplete (with
their checkpoint) and ``KeyboardInterrupt`` is raised once all are back.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import platform
import secrets
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from neuralab.errors import NeuralabError, RunError, one_of
from neuralab.record import RunDir, SpecRecord, files
from neuralab.runs.stopping import clear_stop_request, request_stop, stop_requested

if TYPE_CHECKING:
    from neuralab.config import ExperimentSpec
    from neuralab.runs.runner import RunResult
    from neuralab.training.progress import ProgressHook

logger = logging.getLogger(__name__)

EXECUTORS = ("local", "ray")
RAY_MISSING = "--executor ray needs Ray: pip install 'neuralab[ray]'"
# Attempts Ray makes after a worker died in the middle of a run (a Python error is not retried:
# it would fail again).
TASK_RETRIES = 3
# How often the driver looks for finished runs and for a stop request (seconds).
POLL_SECONDS = 0.2
# Scratch folders in the lab directory (hidden; the driver removes what is left of them) and
# the file that tells a task whether it sees the lab directory (a shared file system).
STAGING_PREFIX = ".neuralab-staging-"
SHARED_MARKER = ".neuralab-shared-output"

ProgressFactory = Callable[[str], "ProgressHook | None"]


class RunTaskLike(Protocol):
    """What a worker needs for one run (``neuralab.runs.file_runner.RunTask``)."""

    @property
    def spec(self) -> ExperimentSpec: ...
    @property
    def folder(self) -> str: ...
    @property
    def where(self) -> str: ...


class FileOptionsLike(Protocol):
    """How the runs of a file are carried out (``neuralab.runs.file_runner.FileOptions``)."""

    @property
    def quick(self) -> bool: ...
    @property
    def lang(self) -> str: ...
    @property
    def backend_reason(self) -> str: ...
    @property
    def trainer(self) -> str | None: ...
    @property
    def jobs(self) -> int: ...


class RunsFailed(RunError):
    """Some runs of a file failed (the others finished); one line per failed run.

    Attributes:
        failures: ``(folder, "ErrorType: message")`` of each failed run, in the file's order.
        runs: The runs that finished, in the file's order.
    """

    def __init__(
        self, failures: Sequence[tuple[str, str]], runs: Sequence[RunResult], *, total: int
    ) -> None:
        self.failures = list(failures)
        self.runs = list(runs)
        lines = [f"{folder}: {error}" for folder, error in self.failures]
        super().__init__(
            f"{len(self.failures)} of {total} runs failed (the others finished; the failed "
            "ones are kept as incomplete, --resume reruns them):\n  " + "\n  ".join(lines)
        )


@dataclass
class _Outcome:
    """How one run ended in its worker: a result, an error or an interruption."""

    folder: str
    result: RunResult | None = None
    error: str | None = None
    detail: str = ""
    interrupted: bool = False


@dataclass(frozen=True)
class _WorkItem:
    """What one worker trains: one run, or the seeds of an experiment as one population."""

    tasks: tuple[RunTaskLike, ...]
    population: bool = False
    notes: tuple[str, ...] = ()
    light: frozenset[str] = frozenset()  # folders whose report shows the curves only

    @property
    def folders(self) -> list[str]:
        return [task.folder for task in self.tasks]


@dataclass
class _Shipped:
    """A Ray task's answer: its runs' outcomes and files, or their scratch folder."""

    outcomes: list[_Outcome]
    files: dict[str, bytes] | None = None
    staged: str | None = None
    node: str = ""
    seconds: float = 0.0  # in the task, from its start to its answer
    cpu_seconds: float = 0.0  # of its worker's CPU time in that span (all its threads)
    pid: int = 0  # its worker process


@dataclass
class _Collected:
    """The driver's view of a file's runs as they come back."""

    tasks: Sequence[RunTaskLike]
    progress: ProgressFactory | None
    done: dict[str, RunResult] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    interrupted: bool = False

    def add(self, outcome: _Outcome, *, show: bool = True) -> None:
        if outcome.interrupted:
            self.interrupted = True
        elif outcome.error is not None:
            self.failed[outcome.folder] = " ".join(outcome.error.split())
            if outcome.detail:
                logger.debug("%s failed:\n%s", outcome.folder, outcome.detail)
        elif outcome.result is not None:
            if outcome.detail:
                logger.debug("%s: %s", outcome.folder, outcome.detail)
            self.done[outcome.folder] = outcome.result
            if show:
                self._show(outcome.folder, outcome.result)

    def _show(self, folder: str, run: RunResult) -> None:
        hook = self.progress(folder) if self.progress else None
        if hook is not None:
            hook.start(folder, run.training.epochs_run)
            hook.advance(run.training.epochs_run)
            hook.finish()

    def results(self) -> list[RunResult]:
        """The finished runs in task order.

        Raises:
            KeyboardInterrupt: a stop was requested (failures are logged).
            RunsFailed: some runs failed; the others finished.
        """
        runs = [self.done[t.folder] for t in self.tasks if t.folder in self.done]
        order = [t.folder for t in self.tasks]
        failures = sorted(self.failed.items(), key=lambda item: order.index(item[0]))
        if self.interrupted or len(runs) + len(failures) < len(self.tasks):
            for folder, error in failures:
                logger.warning("%s failed: %s", folder, error)
            raise KeyboardInterrupt
        if failures:
            raise RunsFailed(failures, runs, total=len(self.tasks))
        return runs


def check_executor(executor: str, *, address: str | None = None) -> str:
    """Return ``executor`` if known, after checking that Ray is installed for ``"ray"`` and
    that something listens at ``address`` (``host:port``).

    Raises:
        NeuralabError: an unknown executor, ``"ray"`` without Ray installed (how to install
            it), or nothing at ``address``.
    """
    if executor not in EXECUTORS:
        raise NeuralabError(one_of("executor", executor, EXECUTORS))
    if executor == "ray":
        _import_ray()
        if address:
            _check_reachable(address)
    return executor


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise NeuralabError(f"{RAY_MISSING}.") from exc
    return ray


def worker_environment(backend: str, *, cpus: int = 1) -> dict[str, str]:
    """Environment of a worker running one run on ``cpus`` CPUs: as many XLA, TensorFlow and
    BLAS threads, and the Keras backend.

    Ray's own ``OMP_NUM_THREADS`` does not reach XLA, nor does
    ``--xla_cpu_multi_thread_eigen=false`` alone (measured: a JAX matmul still keeps 3
    threads busy); the CPU client's thread pool is sized by ``PJRT_NPROC``.
    """
    threads = str(cpus)
    return {
        "KERAS_BACKEND": backend,
        "PJRT_NPROC": threads,
        "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false",
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "TF_NUM_INTRAOP_THREADS": threads,
        "TF_NUM_INTEROP_THREADS": threads,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "MPLBACKEND": "Agg",
    }


def node_cache_dir(root: str | Path | None = None) -> Path:
    """This machine's JAX compile cache for Ray workers: ``<tmp>/neuralab-xla-<cpu>``, keyed
    by the CPU's model name and flags, so that programs compiled for one CPU are never loaded
    on a machine with another (a folder shared between unlike machines stays apart)."""
    model = flags = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "model name" and not model:
                model = value.strip()
            elif key in ("flags", "Features") and not flags:
                flags = value.strip()
    key = hashlib.sha256(f"{platform.machine()}|{model}|{flags}".encode()).hexdigest()[:16]
    return Path(root if root is not None else tempfile.gettempdir()) / f"neuralab-xla-{key}"


# ----------------------------------------------------------------------------- the driver


def run_in_workers(
    tasks: Sequence[RunTaskLike],
    *,
    lab_dir: Path,
    options: FileOptionsLike,
    progress: ProgressFactory | None,
    resume: bool,
    executor: str = "local",
    address: str | None = None,
    output_shared: bool | None = None,
    together: Sequence[Sequence[str]] = (),
    notes: Mapping[str, Sequence[str]] | None = None,
    light_reports: Collection[str] = (),
    session: RaySession | None = None,
) -> list[RunResult]:
    """Train ``tasks`` on ``executor``; their results in task order.

    Args:
        tasks: The runs, each into ``lab_dir / task.folder``.
        lab_dir: The lab directory (on this machine).
        options: How they run; ``options.jobs`` local processes, or the CPUs of a local Ray
            instance.
        progress: ``factory(folder)`` returning a progress hook, or None.
        resume: ``lab_dir`` was run into before: complete runs are kept, incomplete ones
            continue from their checkpoint, missing ones run.
        executor: ``"local"`` (processes) or ``"ray"`` (Ray core tasks).
        address: A Ray cluster to join (``"auto"``, ``"host:port"``); None starts a local
            Ray instance for these runs (unless this process is connected to Ray already).
        output_shared: Ray only: whether tasks write into ``lab_dir`` directly (True) or send
            their files through the object store (False); None: each task checks whether it
            sees ``lab_dir`` (a marker file this driver writes there).
        together: Folders of runs (the seeds of one experiment) that train as one
            population, in one worker.
        notes: Notes to record with a run's training, by folder (why its experiment's seeds
            trained one by one).
        light_reports: Folders whose run report shows the curves only (an experiment's other
            seeds). Each worker draws the reports of its runs, beside training.
        session: Ray, opened by the caller before it prepared the runs (its workers warm
            meanwhile); None opens one here (``address``, ``options.jobs``) and closes it.

    Raises:
        RunsFailed: some runs failed (after every other run finished).
        KeyboardInterrupt: a stop was requested; finished runs are in place, interrupted
            ones are saved as incomplete.
        NeuralabError: an unknown executor, Ray missing, or a run on Ray that needs a range
            test first.
    """
    check_executor(executor)
    if executor == "ray":
        check_independent([task.spec for task in tasks])
    collected = _Collected(tasks, progress)
    todo = []
    for task in tasks:
        kept = _kept_run(lab_dir / task.folder) if resume else None
        if kept is not None:
            collected.add(_Outcome(task.folder, result=kept), show=False)
        else:
            todo.append(task)
    items = _work_items(todo, together, notes or {}, frozenset(light_reports))
    if executor == "ray":
        _run_on_ray(
            items,
            lab_dir=lab_dir,
            options=options,
            resume=resume,
            session=session or RaySession(address=address, cpus=options.jobs),
            output_shared=output_shared,
            collected=collected,
        )
    elif items:
        _run_locally(items, lab_dir=lab_dir, options=options, resume=resume, collected=collected)
    return collected.results()


def _work_items(
    tasks: Sequence[RunTaskLike],
    together: Sequence[Sequence[str]],
    notes: Mapping[str, Sequence[str]],
    light: frozenset[str],
) -> list[_WorkItem]:
    """``tasks`` as work items in their order: each population where its first seed is."""
    population = {folder: tuple(group) for group in together for folder in group}
    by_folder = {task.folder: task for task in tasks}
    items: list[_WorkItem] = []
    placed: set[str] = set()
    for task in tasks:
        if task.folder in placed:
            continue
        group = [by_folder[f] for f in population.get(task.folder, ()) if f in by_folder]
        if len(group) > 1:
            items.append(_WorkItem(tuple(group), population=True, light=light))
            placed.update(t.folder for t in group)
        else:
            items.append(_WorkItem((task,), notes=tuple(notes.get(task.folder, ())), light=light))
            placed.add(task.folder)
    return items


def check_independent(specs: Sequence[ExperimentSpec]) -> None:
    """Refuse runs on Ray that wait for a range test (a suggested learning rate).

    Raises:
        NeuralabError: naming them, and how to run them.
    """
    waiting = sorted({s.name for s in specs if isinstance(s.compile.learning_rate, str)})
    if waiting:
        uses, them = ("uses", "it") if len(waiting) == 1 else ("use", "them")
        raise NeuralabError(
            f"--executor ray: {', '.join(waiting)} {uses} a suggested learning rate, which "
            f"needs the range test before {them} to finish first. Run with --executor local "
            "--jobs 1."
        )


def _kept_run(path: Path) -> RunResult | None:
    """A complete run of a resumed lab, read back (no worker needed), or None."""
    from neuralab.config import ExperimentSpec
    from neuralab.runs.runner import RunResult

    run = RunDir(path)
    if not run.has(files.SPEC) or not run.status.complete:
        return None
    spec = ExperimentSpec.model_validate(run.read(SpecRecord).spec)
    return RunResult.from_dir(path, spec)


def _backend() -> str:
    """The Keras backend of this process (and so of its workers), without importing Keras
    when :func:`neuralab.backend.use_backend` chose it already."""
    from neuralab.backend import active_backend

    chosen = active_backend() or os.environ.get("KERAS_BACKEND")
    if chosen:
        return chosen
    import keras

    return str(keras.backend.backend())


# ----------------------------------------------------------------------------- in a worker


@contextlib.contextmanager
def _sigint_requests_stop() -> Iterator[None]:
    """In a worker: SIGINT (a terminal's Ctrl-C, ``ray.cancel``) asks the run to stop at its
    next safe point, as the CLI's handler does in the main process."""
    import signal
    import threading

    clear_stop_request()
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: request_stop())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        clear_stop_request()


def _train(
    item: _WorkItem,
    root: Path,
    options: FileOptionsLike,
    backend: str,
    *,
    resume: bool,
    xla_cache: str | Path | None,
) -> list[_Outcome]:
    """One work item in this worker (its own Keras, each run its own seed), its runs into
    ``root / folder``."""
    from neuralab.backend import enable_compilation_cache, use_backend

    use_backend(backend)
    if xla_cache:  # same-shaped models compile once
        enable_compilation_cache(xla_cache)
    with _sigint_requests_stop():
        try:
            runs = _train_runs(item, root, options, resume=resume)
        except KeyboardInterrupt:
            return [_Outcome(folder, interrupted=True) for folder in item.folders]
        except Exception as exc:
            error, detail = f"{type(exc).__name__}: {exc}", traceback.format_exc()
            return [_Outcome(folder, error=error, detail=detail) for folder in item.folders]
    outcomes = []
    for folder, run in zip(item.folders, runs, strict=True):
        run.model = None  # live objects stay in the worker
        run.splits = None
        detail = _draw_report(item, root, folder, options)
        outcomes.append(_Outcome(folder, result=run, detail=detail))
    return outcomes


def _draw_report(item: _WorkItem, root: Path, folder: str, options: FileOptionsLike) -> str:
    """Draw a finished run's report in its worker (the lab report then only links it); a
    report that fails is left to the lab report, which draws what is missing. Light reports
    (an experiment's other seeds: curves only, cheap) name their final folder, so the lab
    report draws them."""
    from neuralab.reports.html import write_run_report

    if folder in item.light:
        return ""
    try:
        write_run_report(root / folder, lang=options.lang)
    except Exception:
        (root / folder / files.REPORT).unlink(missing_ok=True)
        return f"its report was not drawn in its worker:\n{traceback.format_exc()}"
    return ""


def _train_runs(
    item: _WorkItem, root: Path, options: FileOptionsLike, *, resume: bool
) -> list[RunResult]:
    from neuralab.runs.runner import run_experiment

    first = item.tasks[0]
    if not item.population:
        run = run_experiment(
            first.spec,
            run_dir=root / first.folder,
            quick=options.quick,
            lang=options.lang,
            backend_reason=options.backend_reason,
            where=first.where,
            write_report=False,
            trainer=options.trainer,
            resume=resume,
            notes=item.notes,
        )
        return [run]
    from neuralab.runs.population_run import run_population
    from neuralab.runs.prepare import prepare_experiment
    from neuralab.runs.runner import RunOptions

    cache: dict[str, Any] = {}  # the seeds share their data, loaded once
    prepared = [
        prepare_experiment(t.spec, quick=options.quick, where=t.where, data_cache=cache)
        for t in item.tasks
    ]
    return run_population(
        prepared,
        [root / folder for folder in item.folders],
        RunOptions(
            quick=options.quick,
            lang=options.lang,
            backend_reason=options.backend_reason,
            where=first.where,
            write_report=False,
            trainer=options.trainer,
            group=first.spec.name,
        ),
    )


def _run_in_worker(
    item: _WorkItem,
    lab_dir: Path,
    options: FileOptionsLike,
    backend: str,
    resume: bool,
    xla_cache: str | None = None,
) -> list[_Outcome]:
    """A local worker process: the runs are written straight into the lab directory."""
    return _train(item, lab_dir, options, backend, resume=resume, xla_cache=xla_cache)


def _ray_task(
    item: _WorkItem,
    options: FileOptionsLike,
    backend: str,
    lab_dir: str,
    token: str,
    earlier: dict[str, dict[str, bytes]] | None,
    resume: bool,
    lab_record: str = "",
) -> _Shipped:
    """A Ray task: train a work item in a scratch folder and hand its runs back whole."""
    import ray

    start, cpu_start = time.perf_counter(), time.process_time()
    shared = _sees_marker(Path(lab_dir), token)
    parent = Path(lab_dir) if shared else None
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=parent))
    try:
        for folder, packed in (earlier or {}).items():  # incomplete runs go on from checkpoints
            _unpack(packed, staging / folder)
        if lab_record:  # the lab's texts (its language, narrative) for the runs' reports
            RunDir(staging).write_text(files.LAB, lab_record)
        outcomes = _train(
            item, staging, options, backend, resume=resume, xla_cache=node_cache_dir()
        )
        (staging / files.LAB).unlink(missing_ok=True)  # the lab's own record stays as it is
        for outcome in outcomes:
            if outcome.result is not None:
                outcome.result.path = Path(lab_dir) / outcome.folder
        node = ray.get_runtime_context().get_node_id()
        if shared:
            shipped = _Shipped(outcomes, staged=staging.name, node=node)
        else:
            shipped = _Shipped(outcomes, files=_pack(staging), node=node)
        shipped.seconds = time.perf_counter() - start
        shipped.cpu_seconds = time.process_time() - cpu_start
        shipped.pid = os.getpid()
        return shipped
    finally:
        if not shared:
            shutil.rmtree(staging, ignore_errors=True)


def _sees_marker(lab_dir: Path, token: str) -> bool:
    try:
        return (lab_dir / SHARED_MARKER).read_text(encoding="utf-8") == token
    except OSError:
        return False


# ----------------------------------------------------------------------------- files


def _pack(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by its relative path (POSIX separators)."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _unpack(packed: Mapping[str, bytes], root: Path) -> None:
    """Write :func:`_pack`'s files under ``root``, refusing paths that leave it."""
    root.mkdir(parents=True, exist_ok=True)
    for relative, data in packed.items():
        parts = Path(relative).parts
        if not parts or Path(relative).is_absolute() or ".." in parts:
            raise RunError(f"{root}: refused a file from a worker named {relative!r}.")
        target = root.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _place(lab_dir: Path, folders: Sequence[str], staging: Path) -> None:
    """Move the runs trained in ``staging`` into ``lab_dir`` (each by rename: whole or not at
    all) and merge what they wrote beside their folders (TensorBoard logs) into the lab."""
    import uuid

    for folder in folders:
        source = staging / folder
        target = lab_dir / folder
        if not source.is_dir():
            continue
        old = lab_dir / f"{STAGING_PREFIX}old-{uuid.uuid4().hex}"
        if target.exists():
            target.rename(old)  # the incomplete run this one continued
        source.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    for path in sorted(staging.rglob("*")):
        if path.is_file():
            destination = lab_dir / path.relative_to(staging)
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, destination)
    shutil.rmtree(staging, ignore_errors=True)


def _clean_staging(lab_dir: Path) -> None:
    """Remove scratch folders left by tasks whose worker died (or a killed driver)."""
    for path in lab_dir.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(path, ignore_errors=True)


# ----------------------------------------------------------------------------- local


def _run_locally(
    items: Sequence[_WorkItem],
    *,
    lab_dir: Path,
    options: FileOptionsLike,
    resume: bool,
    collected: _Collected,
) -> None:
    """``options.jobs`` fresh local processes, each writing its runs into ``lab_dir``."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited Keras
    xla_cache = None
    if "jax" in sys.modules:
        import jax

        xla_cache = getattr(jax.config, "jax_compilation_cache_dir", None)
    backend = _backend()
    # The machine's CPUs shared out: N workers of one thread each on N CPUs, not N x N threads.
    cpus = max(1, len(os.sched_getaffinity(0)) // options.jobs)
    with ProcessPoolExecutor(
        max_workers=options.jobs,
        mp_context=context,
        initializer=_start_local_worker,
        initargs=(worker_environment(backend, cpus=cpus),),
    ) as pool:
        futures: dict[Future[list[_Outcome]], _WorkItem] = {
            pool.submit(_run_in_worker, item, lab_dir, options, backend, resume, xla_cache): item
            for item in items
        }
        pending = set(futures)
        stopping = False
        while pending:
            finished, pending = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            for future in finished:
                for outcome in _local_outcomes(future, futures[future]):
                    collected.add(outcome)
            if stop_requested() and not stopping:
                stopping = True
                for future in pending:
                    future.cancel()  # those not started; the running ones are told below
                _interrupt_workers()


def _local_outcomes(future: Any, item: _WorkItem) -> list[_Outcome]:
    if future.cancelled():
        return [_Outcome(folder, interrupted=True) for folder in item.folders]
    try:
        outcomes: list[_Outcome] = future.result()
    except Exception as exc:  # the worker process died (BrokenProcessPool), or unpicklable
        return [_Outcome(f, error=f"{type(exc).__name__}: {exc}") for f in item.folders]
    return outcomes


def _start_local_worker(environment: Mapping[str, str]) -> None:
    """A local worker before its first run (and before Keras is imported): its threads, and
    SIGINT ignored between runs (a terminal's Ctrl-C reaches the whole process group; during
    a run :func:`_sigint_requests_stop` turns it into a stop request)."""
    import signal

    os.environ.update(environment)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _interrupt_workers() -> None:
    """Ask this process's worker processes to stop their runs at the next safe point."""
    import multiprocessing
    import signal

    for child in multiprocessing.active_children():
        if child.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGINT)


# ----------------------------------------------------------------------------- Ray


class RaySession:
    """Ray for one file's runs: a connection (to the cluster at ``address``, or to a local
    instance of ``cpus`` CPUs started for them) and its first workers.

    :meth:`open` connects and starts one worker per CPU (at most ``runs``) with a task that
    imports what a run needs (Keras, JAX, scikit-learn, pandas, matplotlib: about 5 s in a
    fresh interpreter). Opened before the driver prepares the runs, Ray's start and those
    imports happen while it does; Ray gives the runs' tasks to these workers (same runtime
    environment). :meth:`close` stops the local instance, or leaves the cluster; both are
    idempotent, and a process already connected to Ray stays connected.
    """

    def __init__(
        self,
        *,
        address: str | None = None,
        cpus: int = 1,
        backend: str | None = None,
        runs: int | None = None,
    ) -> None:
        self.address = address
        self.cpus = cpus
        self.backend = backend
        self.runs = runs
        self.ray: Any = None
        self.started = False  # this session connected (so it disconnects)
        self._warming: list[Any] = []  # the warm-up tasks

    def open(self) -> RaySession:
        if self.ray is not None:
            return self
        ray = _import_ray()
        self.started = _connect(ray, address=self.address, cpus=self.cpus)
        self.ray = ray
        self.backend = self.backend or _backend()
        workers = int(ray.available_resources().get("CPU", 1))
        if self.runs is not None:
            workers = min(workers, self.runs)
        warm = ray.remote(_warm_up).options(**self.task_options(), max_retries=0)
        self._warming = [warm.remote(self.backend) for _ in range(max(workers, 0))]
        return self

    def task_options(self) -> dict[str, Any]:
        """A run's task: one CPU, its worker's threads and backend (and so the same workers
        as the warm-up tasks)."""
        return {
            "num_cpus": 1,
            "runtime_env": {"env_vars": worker_environment(self.backend or _backend())},
        }

    def close(self) -> None:
        if self.ray is not None and self._warming:
            self._log_warm_up()
        if self.started and self.ray is not None:
            self.ray.shutdown()
        self.started = False

    def _log_warm_up(self) -> None:
        ready, _ = self.ray.wait(self._warming, num_returns=len(self._warming), timeout=0)
        self._warming = []
        warmed = []
        for ref in ready:
            with contextlib.suppress(Exception):  # a worker that died is the runs' business
                pid, seconds = self.ray.get(ref)
                warmed.append(f"pid {pid} in {seconds:.1f} s")
        logger.debug("Ray workers warmed up: %s", ", ".join(warmed) or "none")


def _warm_up(backend: str) -> tuple[int, float]:
    """A Ray worker's first task: import what runs need; its pid and the seconds it took."""
    start = time.perf_counter()
    from neuralab.backend import enable_compilation_cache, use_backend

    use_backend(backend)
    enable_compilation_cache(node_cache_dir())
    import keras  # noqa: F401
    import matplotlib.pyplot  # noqa: F401
    import sklearn.datasets  # noqa: F401

    import neuralab.reports.html
    import neuralab.runs.population_run
    import neuralab.runs.runner  # noqa: F401

    return os.getpid(), time.perf_counter() - start


def _run_on_ray(
    items: Sequence[_WorkItem],
    *,
    lab_dir: Path,
    options: FileOptionsLike,
    resume: bool,
    session: RaySession,
    output_shared: bool | None,
    collected: _Collected,
) -> None:
    """Each work item a Ray core task; the driver places every run that comes back."""
    _clean_staging(lab_dir)
    if not items:
        session.close()
        return
    token = secrets.token_hex(16)
    marker = lab_dir / SHARED_MARKER
    try:
        ray = session.open().ray
        if output_shared is not False:
            RunDir(lab_dir).write_text(SHARED_MARKER, token)
        lab_record = ray.put(RunDir(lab_dir).read_text(files.LAB))
        remote = ray.remote(_ray_task).options(
            **session.task_options(), max_retries=TASK_RETRIES, retry_exceptions=False
        )
        refs = {}
        for item in items:
            earlier = _earlier_files(lab_dir, item.folders) if resume else None
            ref = remote.remote(
                item,
                options,
                session.backend,
                str(lab_dir),
                token,
                earlier and ray.put(earlier),
                resume,
                lab_record,
            )
            refs[ref] = item
        _collect_from_ray(ray, refs, lab_dir=lab_dir, collected=collected)
    finally:
        marker.unlink(missing_ok=True)
        _clean_staging(lab_dir)
        session.close()


def _connect(ray: Any, *, address: str | None, cpus: int) -> bool:
    """Connect to Ray (a cluster, or a new local instance of ``cpus`` CPUs); True if this
    call did (and so disconnects, or stops the local instance, at the end)."""
    if ray.is_initialized():
        return False
    if address:
        _check_reachable(address)
    started = time.perf_counter()
    # address="local" starts a new instance even when `ray start` ran on this machine.
    kwargs: dict[str, Any] = {} if address else {"num_cpus": cpus}
    try:
        with warnings.catch_warnings():
            # Ray starts its servers with fork + exec: nothing of this process runs in them.
            warnings.filterwarnings("ignore", r"os\.fork\(\) was called", RuntimeWarning)
            ray.init(
                address=address or "local",
                **kwargs,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.WARNING,
            )
    except ConnectionError as exc:
        raise NeuralabError(
            f"--address {address}: no Ray cluster there ({exc}). Start one with "
            "`ray start --head`, or leave out --address to use a local Ray instance."
        ) from exc
    logger.info("Ray connected in %.1f s: %s", time.perf_counter() - started, address or "local")
    return True


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Refuse a ``host:port`` address where nothing listens, at once (Ray itself keeps trying
    for minutes); ``auto`` and ``ray://`` addresses are left to Ray."""
    import socket

    host, colon, port = address.rpartition(":")
    if not colon or "://" in address or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise NeuralabError(
            f"--address {address}: no Ray cluster there ({exc.strerror or exc}). Start one "
            "with `ray start --head` (it prints the address), or leave out --address to use "
            "a local Ray instance."
        ) from exc


def _earlier_files(lab_dir: Path, folders: Sequence[str]) -> dict[str, dict[str, bytes]]:
    """The files of the incomplete runs a task continues from their checkpoints, by folder."""
    return {f: _pack(lab_dir / f) for f in folders if (lab_dir / f / files.SPEC).exists()}


def _collect_from_ray(
    ray: Any, refs: dict[Any, _WorkItem], *, lab_dir: Path, collected: _Collected
) -> None:
    """Place each run as its task returns; on a stop request cancel the others (those
    running stop at a safe point and come back incomplete); a second Ctrl-C stops now."""
    pending = list(refs)
    stopping = False
    try:
        while pending:
            ready, pending = ray.wait(pending, num_returns=1, timeout=POLL_SECONDS)
            for ref in ready:
                for outcome in _ray_outcomes(ray, ref, refs[ref], lab_dir):
                    collected.add(outcome)
            if stop_requested() and not stopping:
                stopping = True
                for ref in pending:
                    ray.cancel(ref, force=False)
    except KeyboardInterrupt:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise


def _ray_outcomes(ray: Any, ref: Any, item: _WorkItem, lab_dir: Path) -> list[_Outcome]:
    from ray.exceptions import RayError, RayTaskError, TaskCancelledError

    try:
        shipped: _Shipped = ray.get(ref)
    except TaskCancelledError:
        return [_Outcome(folder, interrupted=True) for folder in item.folders]
    except RayTaskError as exc:  # the task itself failed outside the runs (their files)
        cause = exc.cause if exc.cause is not None else exc
        error = f"{type(cause).__name__}: {cause}"
        return [_Outcome(folder, error=error, detail=str(exc)) for folder in item.folders]
    except RayError as exc:  # its worker died more often than it is retried, or its node
        lines = str(exc).strip().splitlines()
        error = f"{type(exc).__name__}: {lines[0] if lines else ''}"
        return [_Outcome(folder, error=error) for folder in item.folders]
    if shipped.staged is not None:
        staging = lab_dir / shipped.staged
    else:
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=lab_dir))
        _unpack(shipped.files or {}, staging)
    _place(lab_dir, item.folders, staging)
    logger.debug(
        "%s came back from node %s after %.2f s in its task (%.2f s of CPU; worker pid %d; %s)",
        " + ".join(item.folders),
        shipped.node,
        shipped.seconds,
        shipped.cpu_seconds,
        shipped.pid,
        "shared folder" if shipped.staged is not None else "object store",
    )
    return shipped.outcomes
