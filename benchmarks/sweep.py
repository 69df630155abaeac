"""A 16-run sweep on 1 and 2 CPUs: ``--jobs 1``, ``--jobs 2`` and ``--executor ray``.

``python benchmarks/sweep.py`` prints the table (each measurement in a fresh process, rounds
side by side so a busy spell slows all alike); ``python benchmarks/sweep.py measure MODE``
runs one (MODE: ``jobs1``, ``jobs2``, ``ray1``, ``ray``) and prints a JSON line. The figures:

* wall time of the whole command as a user runs it (imports, Ray's start and stop included),
  and of the sweep itself (``LabResult.wall_time``: from the first run to the last one);
* Ray's overhead per task: what the sweep costs on Ray beyond the same 2 CPUs as local
  processes, ``(ray - jobs 2) / 16`` (goal: under 0.5 s), and, from Ray's own timings, the
  CPU time of the sweep that was not spent inside a task, per task;
* the speed-up of 2 CPUs over 1: Ray on a local instance of 1 CPU against one of 2 (goal: at
  least 1.6x), over the sweep (Ray starts, and its first workers import Keras, while the
  driver prepares the runs, before the sweep's clock starts) and over the whole command; and
  the whole command joining a running head of 1 or 2 CPUs (``ray start --head``, outside the
  command's time, as a cluster is there before a sweep joins it).
  ``--jobs 1`` is no 1-CPU baseline: its XLA uses every core and two processes
  draw the run reports beside training (measured here: a run's report takes longer to draw
  than the run to train), so it is shown beside them, not divided by.

Ray runs in a network namespace holding only loopback (``unshare -n``, or ``unshare -rn``
without root) unless this machine has no other interface: Ray otherwise puts its servers on
the machine's address.
"""

from __future__ import annotations

import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
N_RUNS = 16
MODES = {
    "jobs1": "--jobs 1",
    "jobs2": "--jobs 2",
    "ray1": "--executor ray --jobs 1 (1 CPU)",
    "ray": "--executor ray --jobs 2 (2 CPUs)",
    "cluster1": "--executor ray --address auto, `ray start --head --num-cpus 1`",
    "cluster": "--executor ray --address auto, `ray start --head --num-cpus 2`",
}
# A running head of this many CPUs for the cluster modes (started before the command, stopped
# after it: outside its time, as a cluster is there before a sweep joins it).
CLUSTER_CPUS = {"cluster1": 1, "cluster": 2}
REPEATS = int(os.environ.get("NEURALAB_BENCH_SWEEP_REPEATS", "3"))
OVERHEAD_GOAL = 0.5  # seconds per task
SPEED_UP_GOAL = 1.6

# 16 runs: 4 learning rates x 4 seeds (each its own experiment) of a small MLP, each a second
# or two of training.
SWEEP = """
title = "sweep bench"
[defaults]
seed = 11
[defaults.data]
name = "circles"
n_samples = 2000
noise = 0.1
test_size = 400
[defaults.compile]
loss = "binary_crossentropy"
optimizer = "Adam"
[defaults.fit]
epochs = 60
batch_size = 32

[[experiments]]
name = "mlp"
model.layers = [
  {type = "Dense", units = 16, activation = "relu"},
  {type = "Dense", units = 16, activation = "relu"},
  {type = "Dense", units = 1, activation = "sigmoid"},
]
[experiments.variants]
"compile.learning_rate" = [0.001, 0.003, 0.01, 0.03]
seed = [11, 12, 13, 14]
"""


def measure(mode: str, folder: Path) -> dict[str, float]:
    """One sweep in this process (as ``neuralab run`` does it); JSON-ready figures."""
    start = time.perf_counter()
    from neuralab.backend import enable_compilation_cache, use_backend

    use_backend("jax")
    enable_compilation_cache(folder / "xla")
    from neuralab.config import load_experiments
    from neuralab.runs.file_runner import run_experiment_file

    in_task: list[float] = []
    cpu_in_task: list[float] = []
    connect: list[float] = []

    class Timings(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            text = record.getMessage()
            found = re.search(r"after ([0-9.]+) s in its task \(([0-9.]+) s of CPU", text)
            if found:
                in_task.append(float(found.group(1)))
                cpu_in_task.append(float(found.group(2)))
            found = re.search(r"Ray connected in ([0-9.]+) s", text)
            if found:
                connect.append(float(found.group(1)))

    executors = logging.getLogger("neuralab.runs.executors")
    executors.setLevel(logging.DEBUG)
    executors.addHandler(Timings())
    lab = run_experiment_file(
        load_experiments(folder / "sweep.toml"),
        name=mode,
        output=folder / "runs",
        jobs=1 if mode in ("jobs1", "ray1") else 2,
        executor="local" if mode.startswith("jobs") else "ray",
        address="auto" if mode in CLUSTER_CPUS else None,
    )
    if len(lab.runs) != N_RUNS or lab.status != "complete":
        raise RuntimeError(f"{mode}: {lab!r}")
    return {
        "command": time.perf_counter() - start,
        "sweep": lab.wall_time,
        "in_task": sum(in_task),
        "cpu_in_task": sum(cpu_in_task),
        "tasks": len(in_task),
        "ray_start": connect[0] if connect else 0.0,
    }


def _busy(n: int) -> float:
    start = time.perf_counter()
    total = 0
    for i in range(n):
        total += i
    return time.perf_counter() - start


def cpus_available(n: int = 20_000_000) -> float:
    """How many CPUs this machine gives right now: a busy loop's time alone, over its time
    when two run at once, times two (2.0 on an idle 2-CPU machine, 1.0 when others hold one)."""
    import multiprocessing

    alone = _busy(n)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        both = pool.map(_busy, [n, n])
    return 2 * alone / max(both)


def _loopback_only() -> bool:
    return all(p.name == "lo" for p in Path("/sys/class/net").iterdir())


def _command(mode: str, folder: Path) -> list[str]:
    command = [sys.executable, str(HERE / "sweep.py"), "measure", mode, str(folder)]
    if mode.startswith("jobs"):
        return command
    script = 'exec "$0" "$@"'
    if mode in CLUSTER_CPUS:  # the head, in the same network namespace as the command
        ray = Path(sys.executable).parent / "ray"
        start = (
            f"{ray} start --head --num-cpus {CLUSTER_CPUS[mode]} --node-ip-address 127.0.0.1 "
            "--include-dashboard false --disable-usage-stats >/dev/null 2>&1"
        )
        script = f'{start} && "$0" "$@"; rc=$?; {ray} stop --force >/dev/null 2>&1; exit $rc'
    if _loopback_only():
        return ["sh", "-c", script, *command]
    flag = "-n" if os.geteuid() == 0 else "-rn"
    return ["unshare", flag, "sh", "-c", f"ip link set lo up && {script}", *command]


def _run(mode: str, folder: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(SRC), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.run(
        _command(mode, folder), env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def sweep_table(console: object) -> object:
    """The bench's table (a ``rich.table.Table``); ``console.log`` shows each measurement."""
    from rich.table import Table

    runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
    load_before = os.getloadavg()[1]
    capacity = [cpus_available()]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "sweep.toml").write_text(SWEEP, encoding="utf-8")
        # A first round fills the compile caches (this process's and each Ray node's); the
        # table has the medians of the rounds after it.
        for round_ in range(REPEATS + 1):
            for mode in MODES:
                result = _run(mode, folder)
                label = "warm-up" if round_ == 0 else f"{round_}/{REPEATS}"
                console.log(f"sweep {label:7s} {mode:6s} {result}")  # type: ignore[attr-defined]
                if round_:
                    runs[mode].append(result)
            capacity.append(cpus_available())
            console.log(f"CPUs available after round {round_}: {capacity[-1]:.2f}")  # type: ignore[attr-defined]

    load_after = os.getloadavg()[1]

    def median(mode: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[mode])

    table = Table(
        title=f"A {N_RUNS}-run sweep on 2 CPUs (seconds, median of {REPEATS}; warm compile "
        "caches): local processes and Ray"
    )
    for column in ("mode", "command", "sweep", "per run", "vs --jobs 1"):
        table.add_column(column, justify="left" if column == "mode" else "right")
    for mode, title in MODES.items():
        sweep = median(mode, "sweep")
        table.add_row(
            title,
            f"{median(mode, 'command'):.1f}",
            f"{sweep:.1f}",
            f"{sweep / N_RUNS:.2f}",
            f"{median('jobs1', 'sweep') / sweep:.2f}x",
        )
    overhead = (median("ray", "command") - median("jobs2", "command")) / N_RUNS
    idle = statistics.median(2 * r["sweep"] - r["in_task"] for r in runs["ray"]) / N_RUNS
    speed_up = median("ray1", "sweep") / median("ray", "sweep")
    table.caption = (
        f"Load average (5 min) {load_before:.1f} before, {load_after:.1f} after, on "
        f"{os.cpu_count()} CPUs: above that, other processes share them and the figures "
        "measure the share."
    )
    table.add_section()
    table.add_row(
        "Ray's overhead per task: (ray - jobs 2) / 16",
        "",
        f"{overhead:.2f}",
        "",
        f"< {OVERHEAD_GOAL} s: {'met' if overhead < OVERHEAD_GOAL else 'missed'}",
    )
    table.add_row(
        f"  CPU time outside tasks / 16 (Ray start {median('ray', 'ray_start'):.1f} s incl.)",
        "",
        f"{idle:.2f}",
        "",
        "",
    )
    for mode in ("ray1", "ray"):
        wall = statistics.median(r["in_task"] / r["tasks"] for r in runs[mode])
        cpu = statistics.median(r["cpu_in_task"] / r["tasks"] for r in runs[mode])
        table.add_row(
            f"  a task on {MODES[mode].split('(')[1].rstrip(')')}: wall / CPU seconds",
            "",
            f"{wall:.2f} / {cpu:.2f}",
            "",
            "",
        )
    table.add_row(
        "Speed-up of 2 CPUs over 1: ray on 1 CPU / ray on 2 (sweep)",
        "",
        f"{speed_up:.2f}x",
        "",
        f">= {SPEED_UP_GOAL}x: {'met' if speed_up >= SPEED_UP_GOAL else 'missed'}",
    )
    whole = median("ray1", "command") / median("ray", "command")
    table.add_row(
        "  the whole command (imports, Ray's start and stop, preparation, lab report)",
        "",
        f"{whole:.2f}x",
        "",
        "",
    )
    cluster = median("cluster1", "command") / median("cluster", "command")
    table.add_row(
        "  on a running head (`ray start`, then --address auto): the whole command",
        "",
        f"{cluster:.2f}x",
        "",
        f">= {SPEED_UP_GOAL}x: {'met' if cluster >= SPEED_UP_GOAL else 'missed'}",
    )
    table.add_row(
        "  CPUs the machine gave (two busy loops at once against one; min-max)",
        "",
        f"{min(capacity):.2f}-{max(capacity):.2f}",
        "",
        "",
    )
    return table


def main() -> None:
    from rich.console import Console

    console = Console(width=max(Console().width, 140))
    console.print(sweep_table(console))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "measure":
        os.environ.setdefault("KERAS_BACKEND", "jax")
        print(json.dumps(measure(sys.argv[2], Path(sys.argv[3]))))
    else:
        main()
