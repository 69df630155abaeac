"""``--executor ray``: each run a Ray core task on a real Ray instance (one for this module).

Run it, like every test, in a network namespace that holds only loopback (the Makefile and CI
do): Ray then keeps its servers and connections on 127.0.0.1. The instance's workers run a
setup hook that lets a test make a run's worker kill itself in the middle of that run (once),
to see Ray retry it; nothing of neuralab is replaced.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from neuralab.cli import app
from neuralab.config import load_experiments
from neuralab.errors import NeuralabError
from neuralab.record import LabDir, MetricsRecord, RunDir, files
from neuralab.runs.executors import (
    STAGING_PREFIX,
    RunsFailed,
    check_executor,
    node_cache_dir,
    run_in_workers,
    worker_environment,
)
from neuralab.runs.file_runner import FileOptions, RunTask, plan_runs, run_experiment_file
from neuralab.runs.stopping import clear_stop_request, request_stop

ray = pytest.importorskip("ray")  # the dev extra installs it

SWEEP = """
title = "sweep"
[defaults]
seed = 3
[defaults.data]
name = "circles"
n_samples = 200
noise = 0.1
test_size = 40
[defaults.compile]
loss = "binary_crossentropy"
optimizer = "Adam"
[defaults.fit]
epochs = 4
batch_size = 32

[[experiments]]
name = "deep"
model.layers = [
  {type = "Dense", units = 6, activation = "relu"},
  {type = "Dense", units = 1, activation = "sigmoid"},
]
variants = {"compile.learning_rate" = [0.01, 0.03]}

[[experiments]]
name = "flat"
model.layers = [{type = "Dense", units = 1, activation = "sigmoid"}]
variants = {"compile.learning_rate" = [0.01, 0.03]}
"""
FOLDERS = [
    "deep-learning_rate0.01",
    "deep-learning_rate0.03",
    "flat-learning_rate0.01",
    "flat-learning_rate0.03",
]

# A run that fails in its worker, in the middle of training (the spec itself is valid).
BROKEN = """
[[experiments]]
name = "fine"
model.layers = [{type = "Dense", units = 1, activation = "sigmoid"}]

[[experiments]]
name = "broken"
fit.lr_schedule = "0.01 if epoch < 1 else -1"
model.layers = [{type = "Dense", units = 1, activation = "sigmoid"}]
"""
BROKEN_ERROR = (
    "NeuralabError: `lr_schedule` '0.01 if epoch < 1 else -1' gave -1.0 at epoch 1; a "
    "learning rate must be a positive finite number."
)

# Long enough to be stopped in the middle (checkpoints after every compiled chunk).
LONG = """
[[experiments]]
name = "long"
data = {name = "circles", n_samples = 1500, noise = 0.1, test_size = 300}
fit = {epochs = 400, batch_size = 32, trainer = "fused", checkpoint_seconds = 0}
model.layers = [
  {type = "Dense", units = 64, activation = "relu"},
  {type = "Dense", units = 1, activation = "sigmoid"},
]
"""


def _kill_once_hook(kill_dir: str) -> None:
    """In every worker: a run whose folder name is a file in ``kill_dir`` kills its worker
    (SIGKILL, as the OOM killer would) when it first writes its history, after removing that
    file, so that Ray's retry of the task runs normally."""
    from neuralab.record import rundir

    write_history = rundir.RunDir.write_history

    def write_history_then_die(self, rows):  # type: ignore[no-untyped-def]
        written = write_history(self, rows)
        marker = Path(kill_dir) / self.path.name
        try:
            marker.unlink()
        except FileNotFoundError:
            return written
        os.kill(os.getpid(), signal.SIGKILL)
        return written

    rundir.RunDir.write_history = write_history_then_die  # type: ignore[method-assign]


@pytest.fixture(scope="module")
def kill_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """This module's Ray instance (2 CPUs); yields the folder of kill-once markers."""
    from ray import cloudpickle  # Ray's own copy pickles the hook

    folder = tmp_path_factory.mktemp("kill-once")
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the hook, for the workers

    def hook() -> None:
        _kill_once_hook(str(folder))

    try:
        with warnings.catch_warnings():  # Ray starts its servers with fork + exec
            warnings.filterwarnings("ignore", r"os\.fork\(\) was called", RuntimeWarning)
            ray.init(
                num_cpus=2,
                include_dashboard=False,
                log_to_driver=False,
                runtime_env={"worker_process_setup_hook": hook},
            )
        yield folder
    finally:
        ray.shutdown()
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sweep.toml, and beside it broken.toml (a run that fails and one that does not) and
    long.toml (a long run, then two of the sweep's)."""
    folder = tmp_path_factory.mktemp("sweep")
    (folder / "sweep.toml").write_text(SWEEP, encoding="utf-8")
    (folder / "broken.toml").write_text(SWEEP.split("[[experiments]]")[0] + BROKEN)
    head, deep, _ = SWEEP.split("[[experiments]]")
    (folder / "long.toml").write_text(head + LONG + "[[experiments]]" + deep)
    return folder / "sweep.toml"


@pytest.fixture(scope="module")
def sequential(sweep: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sweep run one run after the other in this process (the reference numbers)."""
    lab = run_experiment_file(
        load_experiments(sweep), name="seq", output=tmp_path_factory.mktemp("seq")
    )
    return lab.path


def _numbers(lab: Path) -> dict[str, tuple[pd.DataFrame, dict[str, dict[str, float]]]]:
    out = {}
    for name in FOLDERS:
        run = RunDir(lab / name)
        out[name] = (run.read_history(), run.read(MetricsRecord).metrics)
    return out


def _assert_same_numbers(expected: Path, actual: Path) -> None:
    a, b = _numbers(expected), _numbers(actual)
    for name in FOLDERS:
        pd.testing.assert_frame_equal(a[name][0], b[name][0], check_exact=True)
        assert a[name][1] == b[name][1], name


def _leftovers(lab: Path) -> list[str]:
    return sorted(p.name for p in lab.iterdir() if p.name.startswith("."))


def _tasks(experiments) -> list[RunTask]:  # type: ignore[no-untyped-def]
    return [RunTask(spec=p.spec, folder=p.folder, where=p.folder) for p in plan_runs(experiments)]


def _subset(experiments, names: list[str]):  # type: ignore[no-untyped-def]
    chosen = tuple(e for e in experiments.experiments if e.name in names)
    return experiments.model_copy(update={"experiments": chosen})


def test_a_sweep_on_ray_gives_the_numbers_and_the_layout_of_a_local_run(
    kill_dir, sweep, sequential, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG, logger="neuralab.runs.executors")
    lab = run_experiment_file(
        load_experiments(sweep), name="sweep", output=tmp_path, executor="ray"
    )
    assert lab.status == "complete"
    # The runs trained in the workers that imported Keras while this process prepared them.
    (warmed,) = re.findall(r"Ray workers warmed up: (.*)", caplog.text)
    warm_pids = set(re.findall(r"pid (\d+) in [0-9.]+ s", warmed))
    run_pids = re.findall(r"came back from node \w+ after .* worker pid (\d+);", caplog.text)
    assert len(run_pids) == len(FOLDERS) and warm_pids
    assert set(run_pids) <= warm_pids, (run_pids, warmed)
    assert [r.path for r in lab.runs] == [lab.path / f for f in FOLDERS]  # the plan's names
    _assert_same_numbers(sequential, lab.path)
    for name in FOLDERS:  # the same files in every run folder
        local = sorted(p.relative_to(sequential).as_posix() for p in (sequential / name).rglob("*"))
        ray_run = sorted(p.relative_to(lab.path).as_posix() for p in (lab.path / name).rglob("*"))
        assert ray_run == local
    assert (lab.path / files.REPORT).exists()
    assert _leftovers(lab.path) == []
    assert ray.is_initialized()  # a Ray this process was connected to is left as it was


def test_the_seeds_of_a_population_are_one_task_with_the_numbers_of_jobs_1(
    kill_dir, sweep, tmp_path, caplog
):
    # The file runner trains these seeds as one population (one vmapped program): so does
    # their one task, and their numbers are those of the runs here.
    head, deep, _ = SWEEP.split("[[experiments]]")
    deep = deep.replace('variants = {"compile.learning_rate" = [0.01, 0.03]}', "repeat = 2")
    path = tmp_path / "seeds.toml"
    path.write_text(head + "[[experiments]]" + deep, encoding="utf-8")
    experiments = load_experiments(path)
    here = run_experiment_file(experiments, name="here", output=tmp_path / "here")
    caplog.set_level(logging.DEBUG, logger="neuralab.runs.executors")
    there = run_experiment_file(
        experiments, name="there", output=tmp_path / "there", executor="ray"
    )
    assert [r.path.name for r in there.runs] == ["deep-seed3", "deep-seed4"]
    assert "deep-seed3 + deep-seed4 came back from node" in caplog.text
    for a, b in zip(here.runs, there.runs, strict=True):
        assert a.training.trainer == b.training.trainer == "population"
        pd.testing.assert_frame_equal(
            RunDir(a.path).read_history(), RunDir(b.path).read_history(), check_exact=True
        )
        assert (
            RunDir(a.path).read(MetricsRecord).metrics == RunDir(b.path).read(MetricsRecord).metrics
        )
    # The other seed's (light) report names its folder in the lab, not a scratch folder.
    report = (there.path / "deep-seed4" / files.REPORT).read_text(encoding="utf-8")
    assert f"neuralab report {there.path / 'deep-seed4'}" in report
    assert (there.path / "deep-seed3" / files.REPORT).exists()
    assert not [p for p in there.path.iterdir() if p.name.startswith(".")]


def test_a_worker_that_dies_mid_run_is_retried_without_a_duplicate(
    kill_dir, sweep, sequential, tmp_path
):
    lab_dir = tmp_path / "lab"
    lab_dir.mkdir()
    # Both workers die in the middle of a run, leaving a half-written scratch folder in the lab.
    (kill_dir / FOLDERS[1]).touch()
    (kill_dir / FOLDERS[2]).touch()
    runs = run_in_workers(
        _tasks(load_experiments(sweep)),
        lab_dir=lab_dir,
        options=FileOptions(),
        progress=None,
        resume=False,
        executor="ray",
    )
    assert not list(kill_dir.iterdir())  # both did die once
    assert [r.path for r in runs] == [lab_dir / f for f in FOLDERS]
    assert sorted(p.name for p in lab_dir.iterdir()) == FOLDERS  # no copy, no scratch left
    assert all(RunDir(lab_dir / f).status.complete for f in FOLDERS)
    _assert_same_numbers(sequential, lab_dir)


def test_a_run_that_fails_in_a_local_worker_does_not_lose_the_others(sweep, tmp_path):
    with pytest.raises(RunsFailed) as caught:
        run_experiment_file(
            load_experiments(sweep.parent / "broken.toml"), name="b", output=tmp_path, jobs=2
        )
    (lab,) = tmp_path.iterdir()
    assert caught.value.failures == [("broken", BROKEN_ERROR)]
    assert str(caught.value).startswith("1 of 2 runs failed")
    assert [r.path for r in caught.value.runs] == [lab / "fine"]
    assert RunDir(lab / "fine").status.complete
    failed = RunDir(lab / "broken").status
    assert failed.status == "incomplete" and failed.reason.startswith("failed: NeuralabError")
    assert LabDir(lab).read().status == "incomplete"
    assert (lab / files.REPORT).exists()  # drawn from the runs that finished


def test_cli_reports_a_failed_ray_run_on_one_line_and_exits_1(kill_dir, sweep, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        ["--quiet", "run", str(sweep.parent / "broken.toml"), "--executor", "ray", "-o", str(out)],
    )
    assert result.exit_code == 1, result.output
    assert "1 of 2 runs failed" in result.output
    assert f"broken: {BROKEN_ERROR}" in " ".join(result.output.split())
    assert "Traceback" not in result.output
    (lab,) = out.iterdir()
    assert RunDir(lab / "fine").status.complete  # the other run finished
    assert RunDir(lab / "broken").status.reason.startswith("failed: NeuralabError")
    assert LabDir(lab).read().status == "incomplete"
    assert (lab / files.REPORT).exists()
    assert _leftovers(lab) == []


def test_cli_runs_the_seeds_of_an_experiment_on_ray(kill_dir, tiny_spec, tmp_path):
    result = CliRunner().invoke(
        app, ["run", str(tiny_spec), "--executor", "ray", "--seeds", "2", "-o", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "small" in result.output
    (lab,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert LabDir(lab).read().status == "complete"
    assert sorted(p.name for p in lab.iterdir()) == [
        files.LAB,
        files.PLOTS,
        files.REPORT,
        "small-seed1",  # named by the seed
        "small-seed2",
    ]


def _stop_when(ready, *, timeout: float = 120) -> threading.Thread:  # type: ignore[no-untyped-def]
    """Request a stop, as the CLI's Ctrl-C handler does, once ``ready()``."""

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                request_stop()
                return
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def _mid_run(out: Path, name: str) -> bool:
    """A checkpoint of run ``name`` exists: in the lab, or in a task's scratch folder there."""
    return any(out.glob(f"*/{name}/{files.CHECKPOINT}")) or any(
        out.glob(f"*/{STAGING_PREFIX}*/{name}/{files.CHECKPOINT}")
    )


@pytest.mark.parametrize(
    "stopped_on", [{"executor": "ray"}, {"executor": "local", "jobs": 2}], ids=["ray", "jobs-2"]
)
def test_ctrl_c_cancels_the_tasks_and_resume_on_ray_reruns_only_what_is_unfinished(
    kill_dir, sweep, sequential, tmp_path, stopped_on
):
    experiments = load_experiments(sweep.parent / "long.toml")
    folders = ["long", *FOLDERS[:2]]
    out = tmp_path / "out"
    watcher = _stop_when(lambda: _mid_run(out, "long"))
    try:
        with pytest.raises(KeyboardInterrupt):
            run_experiment_file(experiments, name="stop", output=out, **stopped_on)
    finally:
        watcher.join(timeout=5)
        clear_stop_request()
    (lab,) = out.iterdir()
    assert LabDir(lab).read().status == "incomplete"
    long = RunDir(lab / "long")
    assert long.status.status == "incomplete" and long.status.reason == "interrupted (Ctrl-C)"
    assert long.has(files.CHECKPOINT)
    assert 0 < long.read(MetricsRecord).training.epochs_run < 400
    assert _leftovers(lab) == []
    # The others finished, or were stopped too (incomplete), or never started (no folder).
    complete = [f for f in folders if RunDir(lab / f).status.complete]
    for folder in set(folders) - set(complete):
        assert not (lab / folder).exists() or RunDir(lab / folder).status.status == "incomplete"
    finished = {f: (lab / f / files.METRICS).stat().st_mtime_ns for f in complete}

    resumed = run_experiment_file(experiments, name="stop", output=out, executor="ray", resume=lab)
    assert resumed.status == "complete"
    assert [r.path.name for r in resumed.runs if r.kept] == complete
    for name, mtime in finished.items():  # kept as they were, not trained again
        assert (lab / name / files.METRICS).stat().st_mtime_ns == mtime
    record = RunDir(lab / "long").read(MetricsRecord)
    assert record.training.resumed_from is not None and record.training.resumed_from >= 1
    assert record.training.epochs_run == 400
    assert not (lab / "long" / files.CHECKPOINT).exists()
    for name in FOLDERS[:2]:
        pd.testing.assert_frame_equal(
            RunDir(sequential / name).read_history(), RunDir(lab / name).read_history()
        )
    assert _leftovers(lab) == []


def test_a_lab_run_here_resumes_on_ray_through_the_object_store(
    kill_dir, sweep, sequential, tmp_path
):
    import shutil

    lab = tmp_path / "lab"
    shutil.copytree(sequential, lab)
    shutil.rmtree(lab / FOLDERS[3])
    before = (lab / FOLDERS[0] / files.METRICS).stat().st_mtime_ns
    runs = run_in_workers(
        _tasks(load_experiments(sweep)),
        lab_dir=lab,
        options=FileOptions(),
        progress=None,
        resume=True,
        executor="ray",
        output_shared=False,  # as on a cluster whose nodes do not see this folder
    )
    assert [r.kept for r in runs] == [True, True, True, False]
    assert (lab / FOLDERS[0] / files.METRICS).stat().st_mtime_ns == before
    _assert_same_numbers(sequential, lab)
    assert _leftovers(lab) == []


def _busy_threads() -> int:
    """The threads of this process that worked during a few large JAX matrix products."""
    import jax
    import jax.numpy as jnp

    def ticks() -> dict[str, int]:
        out = {}
        for thread in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{thread}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            out[thread] = int(fields[11]) + int(fields[12])  # utime + stime
        return out

    x = jnp.ones((800, 800))
    product = jax.jit(lambda a: (a @ a @ a).sum())
    product(x).block_until_ready()
    before = ticks()
    for _ in range(8):
        product(x).block_until_ready()
    after = ticks()
    return sum(1 for t, n in after.items() if n - before.get(t, 0) > 3)


def test_a_ray_worker_computes_on_one_thread_per_task_cpu(kill_dir):
    env = worker_environment("jax")
    assert env["KERAS_BACKEND"] == "jax" and env["OMP_NUM_THREADS"] == "1"
    busy = ray.remote(_busy_threads)
    ours = busy.options(runtime_env={"env_vars": env}).remote()
    plain = busy.options(runtime_env={"env_vars": {"KERAS_BACKEND": "jax"}}).remote()
    assert ray.get(ours, timeout=300) == 1
    assert ray.get(plain, timeout=300) > 1  # what XLA does on this machine's 2 CPUs otherwise


def test_the_compile_cache_is_one_folder_per_cpu(tmp_path):
    here = node_cache_dir(tmp_path)
    assert here.parent == tmp_path and re.fullmatch(r"neuralab-xla-[0-9a-f]{16}", here.name)
    assert node_cache_dir(tmp_path) == here  # the same CPU, the same folder


def test_without_ray_the_executor_says_how_to_install_it(monkeypatch, tiny_spec, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if it were not installed
    with pytest.raises(
        NeuralabError, match=r"--executor ray needs Ray: pip install 'neuralab\[ray\]'"
    ):
        check_executor("ray")
    result = CliRunner().invoke(
        app, ["run", str(tiny_spec), "--executor", "ray", "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 1
    assert "--executor ray needs Ray: pip install 'neuralab[ray]'." in result.output
    assert not (tmp_path / "out").exists()


def test_an_unknown_executor_is_refused(tiny_spec, tmp_path):
    result = CliRunner().invoke(
        app, ["run", str(tiny_spec), "--executor", "dask", "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 1
    assert "`executor` must be one of {'local', 'ray'}. Received: executor='dask'" in (
        result.output
    )
    with pytest.raises(NeuralabError, match="Received: executor='dask'"):
        check_executor("dask")
