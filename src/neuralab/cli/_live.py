"""``--live`` on ``neuralab lab`` and ``neuralab run``: a read-only page following the runs."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from neuralab.cli._app import _say, _user_errors

#: Seconds the page keeps serving after the runs end, so open streams get the last events.
GRACE_SECONDS = 1.0


@contextlib.contextmanager
def live_view(
    root: Path, *, resume: bool, lang: str, title: str, open_page: bool
) -> Iterator[None]:
    """Serve the live page of the runs written under ``root`` while the block runs.

    Prints ``Live: <URL>`` (one line) before anything trains and opens the browser when
    ``open_page``. The page follows the runs' ``events.jsonl`` files, so it works the same
    with ``--jobs`` (runs in other processes) and ``--resume`` (the earlier attempt's events
    first). A ``.live`` file in ``root`` asks the runs for updates several times a second.
    """
    from neuralab.live.server import LiveServer
    from neuralab.live.watch import RunWatcher
    from neuralab.record import files

    root.mkdir(parents=True, exist_ok=True)
    server = LiveServer(mode="live", lang=lang, title=title)
    watcher = RunWatcher(root, server.bus, since=None if resume else time.time() - 1.0)
    marker = root / files.LIVE
    marker.write_text(f"{server.url.split('?')[0]}\n", encoding="utf-8")
    server.start()
    watcher.start()
    try:
        _say(f"Live: {server.url}")
        if open_page:
            from neuralab.cli.play import open_browser

            open_browser(server.url)
        yield
    finally:
        marker.unlink(missing_ok=True)
        watcher.stop()
        time.sleep(GRACE_SECONDS)
        server.stop()


LiveOpt = Annotated[
    bool,
    typer.Option(
        "--live",
        help="Watch the runs in the browser as they train: prints `Live: URL` and serves a "
        "read-only page on 127.0.0.1 (its updates also at URL's /events, as server-sent events).",
    ),
]
NoBrowserOpt = Annotated[
    bool, typer.Option("--no-browser", help="With --live: print the URL, open no browser.")
]


@contextlib.contextmanager
def maybe_live(
    live: bool, *, output: Path, resume: Path | None, lang: str, title: str, open_page: bool
) -> Iterator[None]:
    """:func:`live_view` of the runs under ``resume`` (or ``output``) when ``live``."""
    if not live:
        yield
        return
    with contextlib.ExitStack() as stack:
        with _user_errors():
            stack.enter_context(
                live_view(
                    resume or output,
                    resume=resume is not None,
                    lang=lang,
                    title=title,
                    open_page=open_page,
                )
            )
        yield
