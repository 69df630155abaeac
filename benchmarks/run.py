"""``make bench``: neuralab's trainer against plain Keras, side by side, in one run.

Every figure is measured in this run, each configuration in a fresh process (the Keras
backend is fixed per process):

* ``fit/tensorflow``: plain ``model.fit`` on TensorFlow, the seeds' stack (the baseline);
* ``fit/jax``: plain ``model.fit`` on JAX;
* ``neuralab``: neuralab's default (``--backend auto``, ``--trainer auto``): the fused
  whole-epoch trainer on JAX for dense models, ``model.fit`` on TensorFlow for convolutions.
  On JAX it runs twice on one fresh compile-cache folder, as the CLI keeps compiled programs
  on disk: the first run (everything compiled) and a later run of the same workload (the
  epoch programs read back from the cache). Plain ``model.fit`` has no such cache.

Usage: ``python benchmarks/run.py [WORKLOAD ...]`` (default: all). Besides the workloads:
``image_loading``, ``checkpointing``, ``quick_labs``, ``seeds`` (the circles lab with 5 seeds
against one seed), ``populations`` (seed populations against separate runs,
``benchmarks/population.py``) and ``sweep`` (a 16-run sweep with ``--jobs 1``, ``--jobs 2`` and
``--executor ray``, ``benchmarks/sweep.py``) and ``live`` (updates per second a live page gets
and what watching costs, ``benchmarks/live.py``).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"

CONFIGS = {
    "fit/tensorflow": ("tensorflow", "fit"),
    "fit/jax": ("jax", "fit"),
    "neuralab": (None, "auto"),
}
# name: (title, neuralab's auto backend, goals as (vs fit/tensorflow, vs fit/jax, vs best plain))
WORKLOADS = {
    "tiny_mlp": ("Overfitting Tiny, 100 epochs, 10k x 28", "jax", (30, 8, None)),
    "small_mlp": ("Overfitting Small, 100 epochs", "jax", (30, 8, None)),
    "medium_mlp": ("Overfitting Medium, 100 epochs", "jax", (None, None, None)),
    "large_mlp": ("Overfitting Large (4 x 512), 100 epochs", "jax", (None, 1.25, None)),
    "circles_lab": ("Whole circles lab (10 models, LR test, report)", "jax", (10, None, None)),
    "higgs_lab_capped": (
        "Whole higgs-overfitting lab (8 models), 100 epochs each",
        "jax",
        (10, None, None),
    ),
    "fashion_mlp": ("Fashion-MNIST MLP, 2 epochs of 59k", "jax", (None, None, None)),
    "tinyvgg": ("TinyVGG 224x224, batch 32, 10 steps", "tensorflow", (None, None, 1 / 1.1)),
    "tinyvgg_folder": (
        "TinyVGG on 320 cached JPEGs, 224x224, 10 steps",
        "tensorflow",
        (None, None, 1 / 1.1),
    ),
}
IMAGES = Path(os.environ.get("NEURALAB_BENCH_IMAGES", "/tmp/neuralab-bench-images"))
IMAGES_PER_CLASS = 300
IMAGE_REPEATS = int(os.environ.get("NEURALAB_BENCH_IMAGE_REPEATS", "3"))
# TensorFlow's CPU convolutions vary by +-20% between processes here (3-4 s for the same
# 10 steps): these rows are the median of a few side-by-side rounds.
REPEATS = {"tinyvgg": 3, "tinyvgg_folder": 3}


def ensure_images(console: Console) -> None:
    """The generated JPEG folder the image benchmarks read (written once)."""
    if not (IMAGES / "train").is_dir():
        sys.path.insert(0, str(SRC))
        from neuralab.data.food import write_food_folder

        console.log(f"writing {2 * IMAGES_PER_CLASS} generated JPEGs (256-512 px) to {IMAGES}")
        write_food_folder(IMAGES, n_train=IMAGES_PER_CLASS, n_test=10)


def _run_script(script: str, args: list[str], env: dict[str, str], what: str) -> dict[str, float]:
    """Run ``benchmarks/SCRIPT ARGS`` in a fresh process; its last stdout line is JSON."""
    proc = subprocess.run(
        [sys.executable, str(HERE / script), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _load_images(mode: str, folder: str, cache: Path, env: dict[str, str]) -> dict[str, float]:
    return _run_script("image_loading.py", [mode, folder, str(cache)], env, f"image loading {mode}")


def image_loading(console: Console) -> Table:
    """Images/s: keras.utils.image_dataset_from_directory vs neuralab's loader, cold and cached.

    Side by side: each repetition runs Keras, a cold neuralab load (empty cache) and a cached
    one, one after the other, so a busy machine slows them alike; the table has the medians of
    ``IMAGE_REPEATS`` repetitions, after one Keras run that warms the OS file cache.
    """
    import shutil
    import statistics

    ensure_images(console)
    cache = IMAGES.parent / "neuralab-bench-image-cache"
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "PYTHONPATH": str(SRC)}
    folder = str(IMAGES / "train")
    modes = ("keras", "neuralab_cold", "neuralab_cached")
    runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
    _load_images("keras", folder, cache, env)  # warm-up: the files in the OS cache, like ours
    for repeat in range(IMAGE_REPEATS):
        shutil.rmtree(cache, ignore_errors=True)
        for mode in modes:
            result = _load_images(mode, folder, cache, env)
            console.log(f"image loading {repeat + 1}/{IMAGE_REPEATS} {mode:16s} {result}")
            runs[mode].append(result)

    def median(mode: str, key: str) -> float:
        return statistics.median(run[key] for run in runs[mode])

    table = Table(
        title=f"Image loading, {int(runs['keras'][0]['images'])} JPEGs to 224x224 (images/s, "
        f"median of {IMAGE_REPEATS}; CPU ms per image, all threads)"
    )
    table.add_column("case")
    table.add_column("image_dataset_from_directory", justify="right")
    table.add_column("neuralab", justify="right")
    table.add_column("ratio", justify="right")
    table.add_column("goal", justify="right")
    table.add_column("CPU ms/image Keras / neuralab", justify="right")
    keras_rate = median("keras", "images_per_s")
    for case, mode, goal in (
        ("cold (first load)", "neuralab_cold", 1.0),
        ("cached (next loads)", "neuralab_cached", 5.0),
    ):
        ours = median(mode, "images_per_s")
        ratio = ours / keras_rate
        table.add_row(
            case,
            f"{keras_rate:.0f}",
            f"{ours:.0f}",
            f"{ratio:.2f}x",
            f">= {goal:g}x: {'met' if ratio >= goal else 'missed'}",
            f"{median('keras', 'cpu_ms_per_image'):.2f} / {median(mode, 'cpu_ms_per_image'):.2f}",
        )
    return table


# name: (title, backend); see benchmarks/checkpointing.py
CHECKPOINT_WORKLOADS = {
    "tiny_fused": ("Overfitting Tiny, 100 epochs, fused JAX", "jax"),
    "large_fused": ("Overfitting Large (4 x 512), 30 epochs, fused JAX", "jax"),
    "medium_fit": ("Overfitting Medium, 20 epochs, model.fit on TensorFlow", "tensorflow"),
}
CHECKPOINT_REPEATS = int(os.environ.get("NEURALAB_BENCH_CHECKPOINT_REPEATS", "3"))


def checkpointing(console: Console) -> Table:
    """Training time without checkpoints, with the default ones (at most every 2 s) and with
    one after every epoch or chunk: medians of side-by-side rounds, one process each."""
    table = Table(
        title=f"Resumable checkpoints: training seconds (median of {CHECKPOINT_REPEATS}); "
        "ratio = with / without"
    )
    for column in ("workload", "off", "default (<= 1 per 2 s)", "every epoch or chunk"):
        table.add_column(column, justify="left" if column == "workload" else "right")
    table.add_column("checkpoints default / every", justify="right")
    table.add_column("file", justify="right")
    table.add_column("goal")
    modes = ("off", "default", "every")
    for name, (title, backend) in CHECKPOINT_WORKLOADS.items():
        env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(SRC)}
        runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
        for round_ in range(CHECKPOINT_REPEATS):
            for mode in modes:
                result = _run_script("checkpointing.py", [name, mode], env, f"{name} {mode}")
                console.log(f"checkpoints {name:12s} {round_ + 1} {mode:8s} {result}")
                runs[mode].append(result)
        seconds = {m: statistics.median(r["seconds"] for r in runs[m]) for m in modes}
        default_ratio = seconds["default"] / seconds["off"]
        table.add_row(
            title,
            f"{seconds['off']:.2f}",
            f"{seconds['default']:.2f} ({default_ratio:.2f}x)",
            f"{seconds['every']:.2f} ({seconds['every'] / seconds['off']:.2f}x)",
            f"{runs['default'][0]['checkpoints']:.0f} / {runs['every'][0]['checkpoints']:.0f}",
            f"{runs['every'][0]['bytes'] / 1e6:.1f} MB",
            f"default <= 1.05x: {'met' if default_ratio <= 1.05 else 'missed'}",
        )
    return table


QUICK_LABS = ("circles", "fashion-mnist", "pizza-steak", "higgs-overfitting", "cat-vs-noncat")


def quick_labs(console: Console) -> Table:
    """``neuralab lab NAME --quick`` end to end (a fresh process: imports, generated data on
    first use, training, reports), as a user types it; goal: under a minute each."""

    table = Table(title="Quick labs: `neuralab lab NAME --quick`, whole command (seconds)")
    for column in ("lab", "first run", "later run", "goal"):
        table.add_column(column, justify="left" if column in ("lab", "goal") else "right")
    with tempfile.TemporaryDirectory() as home:
        env = {
            **os.environ,
            "PYTHONPATH": str(SRC),
            "NEURALAB_DATA": str(Path(home) / "datasets"),
            "HOME": home,  # a fresh compile cache and data cache: the first run is a first run
        }
        for lab in QUICK_LABS:
            seconds = []
            for label in ("first", "later"):
                start = time.perf_counter()
                proc = subprocess.run(
                    [sys.executable, "-m", "neuralab", "--quiet", "lab", lab, "--quick"],
                    env=env,
                    cwd=home,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                seconds.append(time.perf_counter() - start)
                if proc.returncode != 0:
                    raise RuntimeError(f"{lab} --quick failed:\n{proc.stderr[-2000:]}")
                console.log(f"quick {lab:18s} {label:6s} {seconds[-1]:7.1f} s")
            worst = max(seconds)
            table.add_row(
                lab,
                f"{seconds[0]:.1f}",
                f"{seconds[1]:.1f}",
                f"< 60 s: {'met' if worst < 60 else 'missed'}",
            )
    return table


def _lab_seconds(args: list[str], env: dict[str, str], cwd: str) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "neuralab", "--quiet", "lab", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"lab {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    return time.perf_counter() - start


def seeds_lab(console: Console) -> Table:
    """The whole circles lab with its 5 seeds per model against the one-seed lab (``--seeds
    1``), each as a user types it (a fresh process; first run = empty compile cache, later run
    = the same command again). Side by side: one, five, one, five."""
    table = Table(
        title="Circles lab: 5 seeds per model (the default) vs one seed, whole command (seconds)"
    )
    for column in ("lab", "first run", "later run", "later / one seed", "goal"):
        table.add_column(column, justify="left" if column in ("lab", "goal") else "right")
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "PYTHONPATH": str(SRC), "HOME": home}
        seconds: dict[str, list[float]] = {"1": [], "5": []}
        for label in ("first", "later"):
            for seeds in ("1", "5"):
                seconds[seeds].append(_lab_seconds(["circles", "--seeds", seeds], env, home))
                console.log(f"circles --seeds {seeds} {label:6s} {seconds[seeds][-1]:7.1f} s")
    one, five = seconds["1"], seconds["5"]
    table.add_row("circles, 1 seed (--seeds 1)", f"{one[0]:.1f}", f"{one[1]:.1f}", "1.0x", "-")
    ratio = five[1] / one[1]
    table.add_row(
        "circles, 5 seeds (default)",
        f"{five[0]:.1f}",
        f"{five[1]:.1f}",
        f"{ratio:.2f}x",
        f"later < 60 s: {'met' if five[1] < 60 else 'missed'}; "
        f"<= 1.5x one seed: {'met' if ratio <= 1.5 else 'missed'}",
    )
    return table


def measure(workload: str, backend: str, trainer: str, xla_cache: str = "") -> dict[str, float]:
    env = {
        **os.environ,
        "KERAS_BACKEND": backend,
        "PYTHONPATH": str(SRC),
        "NEURALAB_BENCH_XLA_CACHE": xla_cache,
    }
    return _run_script(
        "workloads.py", [workload, trainer], env, f"{workload} on {backend}/{trainer}"
    )


def _ratio(baseline: float, ours: dict[str, float]) -> str:
    first, later = baseline / ours["first"], baseline / ours["later"]
    return f"{first:.1f}x" if ours["first"] == ours["later"] else f"{first:.1f}x / {later:.1f}x"


def _goals(goals: tuple[float | None, ...], ratios: dict[str, tuple[float, float]]) -> str:
    out = []
    for (label, (first, later)), goal in zip(ratios.items(), goals, strict=True):
        if goal is None:
            continue
        shown = f">= {goal:g}x {label}" if goal >= 1 else f"within {1 / goal:.2g}x of {label}"
        if first >= goal:
            verdict = "met"
        elif later >= goal:
            verdict = "met on later runs"
        else:
            verdict = "missed"
        out.append(f"{shown}: {verdict}")
    return "; ".join(out) or "-"


def _epoch_cells(epoch_ms: dict[str, list[float]], goals: tuple[float | None, ...]) -> list[str]:
    """One row of the per-epoch table: medians, ratios and goals (vs TensorFlow, vs JAX)."""
    ms = {config: statistics.median(values) for config, values in epoch_ms.items()}
    ratios = {
        "fit/tensorflow": ms["fit/tensorflow"] / ms["neuralab"],
        "fit/jax": ms["fit/jax"] / ms["neuralab"],
    }
    verdicts = [
        f">= {goal:g}x {label}: {'met' if ratio >= goal else 'missed'}"
        for (label, ratio), goal in zip(ratios.items(), goals[:2], strict=True)
        if goal is not None
    ]
    return [
        f"{ms['fit/tensorflow']:.2f}",
        f"{ms['fit/jax']:.2f}",
        f"{ms['neuralab']:.2f}",
        f"{ratios['fit/tensorflow']:.1f}x",
        f"{ratios['fit/jax']:.1f}x",
        "; ".join(verdicts) or "-",
    ]


def main(names: list[str]) -> None:
    console = Console(width=max(Console().width, 180))
    table = Table(
        title="neuralab vs plain Keras (seconds; ratio = baseline / neuralab; "
        "a / b = neuralab's first run (empty compile cache) / later runs)"
    )
    table.add_column("workload")
    table.add_column("fit/tensorflow", justify="right")
    table.add_column("fit/jax", justify="right")
    table.add_column("neuralab first / later", justify="right")
    table.add_column("vs fit/tensorflow", justify="right")
    table.add_column("vs fit/jax", justify="right")
    table.add_column("vs best plain", justify="right")
    table.add_column("goal")
    steady = Table(
        title="Per epoch once compiled (ms; epochs 2..N: the first epoch and its compiling left "
        "out; the same goals, for what the trainer itself does)"
    )
    for column in ("workload", "fit/tensorflow", "fit/jax", "neuralab"):
        steady.add_column(column, justify="left" if column == "workload" else "right")
    steady.add_column("vs fit/tensorflow", justify="right")
    steady.add_column("vs fit/jax", justify="right")
    steady.add_column("goal")
    if not names or "tinyvgg_folder" in names:
        ensure_images(console)
    loading = image_loading(console) if not names or "image_loading" in names else None
    checkpoints = checkpointing(console) if not names or "checkpointing" in names else None
    quick = quick_labs(console) if not names or "quick_labs" in names else None
    seeds = seeds_lab(console) if not names or "seeds" in names else None
    populations = None
    if not names or "populations" in names:
        from population import population_table

        populations = population_table(console)
    sweep = None
    if not names or "sweep" in names:
        from sweep import sweep_table

        sweep = sweep_table(console)
    live = None
    if not names or "live" in names:
        from live import live_table

        live = live_table(console)
    extra = (
        "image_loading",
        "checkpointing",
        "quick_labs",
        "seeds",
        "populations",
        "sweep",
        "live",
    )
    workloads = [n for n in names if n not in extra] if names else list(WORKLOADS)
    for name in workloads:
        title, auto_backend, goals = WORKLOADS[name]
        repeats = REPEATS.get(name, 1)
        if repeats > 1:
            title += f" (median of {repeats})"
        samples: dict[str, list[float]] = {}
        epoch_ms: dict[str, list[float]] = {}
        # Rounds: every configuration once per round, so a busy spell slows them alike.
        for round_ in range(1, repeats + 1):
            shown = f"{round_}/{repeats} " if repeats > 1 else ""
            for config, (backend, trainer) in CONFIGS.items():
                if config != "neuralab":
                    result = measure(name, backend or auto_backend, trainer)
                    samples.setdefault(config, []).append(result["seconds"])
                    if "ms_per_epoch" in result:
                        epoch_ms.setdefault(config, []).append(result["ms_per_epoch"])
                    console.log(
                        f"{name:16s} {shown}{config:15s} {result['seconds']:8.2f} s {result}"
                    )
                    continue
                # neuralab twice on one fresh compile cache: the first run, then a later one.
                with tempfile.TemporaryDirectory() as xla_cache:
                    for label in ("first", "later") if auto_backend == "jax" else ("first",):
                        result = measure(name, auto_backend, trainer, xla_cache)
                        samples.setdefault(label, []).append(result["seconds"])
                        if "ms_per_epoch" in result and label == "first":
                            epoch_ms.setdefault(config, []).append(result["ms_per_epoch"])
                        console.log(
                            f"{name:16s} {shown}neuralab {label:6s} {result['seconds']:8.2f} s "
                            f"{result}"
                        )
        times = {key: statistics.median(values) for key, values in samples.items()}
        times.setdefault("later", times["first"])
        ours = {"first": times["first"], "later": times["later"]}
        best = min(times["fit/tensorflow"], times["fit/jax"])
        ratios = {
            "fit/tensorflow": (
                times["fit/tensorflow"] / ours["first"],
                times["fit/tensorflow"] / ours["later"],
            ),
            "fit/jax": (times["fit/jax"] / ours["first"], times["fit/jax"] / ours["later"]),
            "the best plain": (best / ours["first"], best / ours["later"]),
        }
        shown = (
            f"{ours['first']:.2f}"
            if ours["first"] == ours["later"]
            else f"{ours['first']:.2f} / {ours['later']:.2f}"
        )
        table.add_row(
            title,
            f"{times['fit/tensorflow']:.2f}",
            f"{times['fit/jax']:.2f}",
            shown,
            _ratio(times["fit/tensorflow"], ours),
            _ratio(times["fit/jax"], ours),
            _ratio(best, ours),
            _goals(goals, ratios),
        )
        if epoch_ms:
            steady.add_row(title, *_epoch_cells(epoch_ms, goals))
    if workloads:
        console.print(table)
    if steady.row_count:
        console.print(steady)
    if loading is not None:
        console.print(loading)
    if checkpoints is not None:
        console.print(checkpoints)
    if quick is not None:
        console.print(quick)
    if seeds is not None:
        console.print(seeds)
    if populations is not None:
        console.print(populations)
    if sweep is not None:
        console.print(sweep)
    if live is not None:
        console.print(live)


if __name__ == "__main__":
    main(sys.argv[1:])
