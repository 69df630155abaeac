"""What watching costs, and how often the page updates: ``python live.py [MODE]``.

A model_7-size model (the circles chapter's Dense(4, relu) x 2 -> Dense(1, sigmoid), Adam,
800 training points, batch 32) trains for ``EPOCHS`` epochs on the fused JAX trainer, one
process per measurement, in one of three modes:

* ``off``: no callback (the trainer alone);
* ``quiet``: the events callback every run has, writing ``events.jsonl`` unwatched;
* ``live``: a live page attached: the callback's events go through the page's server to a
  client reading ``/events`` over HTTP (server-sent events), as a browser tab does.

A measurement prints a JSON line: training seconds (compiling included, imports not) and, for
``live``, the boundary updates the client received per second of training. Without MODE, all
modes run ``REPEATS`` times side by side and a rich table shows the medians.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
EPOCHS = int(os.environ.get("NEURALAB_BENCH_LIVE_EPOCHS", "5000"))
REPEATS = int(os.environ.get("NEURALAB_BENCH_LIVE_REPEATS", "3"))
MODES = ("off", "quiet", "live")


def _model():  # type: ignore[no-untyped-def]
    import keras

    from neuralab.training.seeding import set_random_seed

    set_random_seed(42)  # as runs seed (keras.utils's would import TensorFlow)
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(4, activation="relu"),
            keras.layers.Dense(4, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def measure(mode: str) -> dict[str, float]:
    from neuralab.data.synthetic import make_circles
    from neuralab.live.server import LiveServer
    from neuralab.record.events import append_events
    from neuralab.training.live import (
        LIVE_CHUNK_SECONDS,
        QUIET_UPDATE_SECONDS,
        UPDATE_SECONDS,
        begin_event,
        make_live_callback,
    )
    from neuralab.training.trainer import train

    data = make_circles(1000, noise=0.03, seed=42)
    train_part, test_part = data.take(slice(0, 800)), data.take(slice(800, None))
    parts = [("train", train_part), ("test", test_part)]
    callbacks = []
    received: list[float] = []
    server = None
    reader = None
    folder = tempfile.mkdtemp()
    if mode != "off":
        begin = begin_event(name="model_7", epochs=EPOCHS, parts=parts)
        if mode == "quiet":
            path = Path(folder) / "events.jsonl"

            def sink(events: list) -> None:  # type: ignore[type-arg]
                append_events(path, events)

            options = {
                "chunk_seconds": None,
                "update_seconds": QUIET_UPDATE_SECONDS,
                "compile_frames": False,
            }
        else:
            server = LiveServer(mode="live").start()
            bus = server.bus

            def sink(events: list) -> None:  # type: ignore[type-arg]
                bus.publish_many("model_7", [e.model_dump(mode="json") for e in events])

            options = {"chunk_seconds": LIVE_CHUNK_SECONDS, "update_seconds": UPDATE_SECONDS}
            connected = threading.Event()

            def read() -> None:
                connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
                connection.request("GET", f"/events?token={server.token}")
                response = connection.getresponse()
                connected.set()
                while True:
                    line = response.readline()
                    if not line:
                        return
                    if line.startswith(b"data: ") and b'"type":"boundary"' in line:
                        received.append(time.perf_counter())
                    if line.startswith(b"data: ") and b'"type":"end"' in line:
                        return

            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            connected.wait(30)
        callbacks.append(
            make_live_callback(sink, begin=begin, parts=parts, **options)  # type: ignore[arg-type]
        )
    model = _model()
    first_epoch: list[float] = []

    def on_epoch_end(epoch: int, logs: dict[str, float]) -> None:
        if epoch == 1:  # the first chunk is one epoch, compiling included
            first_epoch.append(time.perf_counter())

    start = time.perf_counter()
    train(
        model,
        train_part.x,
        train_part.y,
        epochs=EPOCHS,
        batch_size=32,
        validation_data=(test_part.x, test_part.y),
        callbacks=callbacks,
        on_epoch_end=on_epoch_end,
        seed=42,
    )
    end = time.perf_counter()
    seconds = end - start
    result = {"seconds": seconds, "steady_seconds": end - first_epoch[0]}
    if reader is not None:
        reader.join(30)
        # Updates while training ran (the first comes after compiling the first chunk).
        span = received[-1] - received[0] if len(received) > 1 else seconds
        result["updates"] = len(received)
        result["updates_per_s"] = (len(received) - 1) / span if span > 0 else 0.0
    if server is not None:
        server.stop()
    return result


def live_table(console):  # type: ignore[no-untyped-def]
    """Every mode ``REPEATS`` times, side by side in fresh processes; the medians."""
    from rich.table import Table

    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(SRC)}
    runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
    for round_ in range(REPEATS):
        for mode in MODES:
            proc = subprocess.run(
                [sys.executable, str(HERE / "live.py"), mode],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                raise RuntimeError(f"live {mode} failed:\n{proc.stderr[-2000:]}")
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            console.log(f"live view {round_ + 1}/{REPEATS} {mode:6s} {result}")
            runs[mode].append(result)
    seconds = {m: statistics.median(r["seconds"] for r in runs[m]) for m in MODES}
    steady = {m: statistics.median(r["steady_seconds"] for r in runs[m]) for m in MODES}
    rate = statistics.median(r["updates_per_s"] for r in runs["live"])
    out = Table(
        title=f"Live view: a model_7-size model, {EPOCHS} epochs, fused JAX (median of "
        f"{REPEATS}; seconds of training with compiling, and after the first epoch)"
    )
    for column in ("case", "value", "goal"):
        out.add_column(column, justify="left" if column != "value" else "right")
    out.add_row(
        "updates delivered to a page (/events), per second",
        f"{rate:.1f}",
        f">= 4: {'met' if rate >= 4 else 'missed'}",
    )
    for label, key, goal in (
        ("training, no events", "off", False),
        ("training, events.jsonl unwatched (every run)", "quiet", False),
        ("training with a live page attached", "live", True),
    ):
        whole, after = seconds[key] / seconds["off"], steady[key] / steady["off"]
        out.add_row(
            label,
            f"{seconds[key]:.2f} s ({whole:.2f}x); after epoch 1: {steady[key]:.2f} s "
            f"({after:.2f}x)",
            f"<= 1.5x: {'met' if max(whole, after) <= 1.5 else 'missed'}" if goal else "-",
        )
    return out


if __name__ == "__main__":
    if len(sys.argv) > 1:
        print(json.dumps(measure(sys.argv[1])))
    else:
        from rich.console import Console

        console = Console()
        console.print(live_table(console))
