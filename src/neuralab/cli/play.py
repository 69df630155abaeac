"""``neuralab play``: a playground in the browser driving real Keras models on this machine."""

from __future__ import annotations

import webbrowser
from pathlib import Path
from typing import Annotated

import typer

from neuralab.cli._app import LangOpt, OutputOpt, _say, _user_errors, app, err_console
from neuralab.cli.choices import Lang, check_choice

HostOpt = Annotated[
    str,
    typer.Option(
        "--host",
        help="Address to listen on. Anything but loopback (127.0.0.1) needs --allow-remote.",
    ),
]
PortOpt = Annotated[int, typer.Option("--port", help="Port to listen on (0: a free one).")]
NoBrowserOpt = Annotated[
    bool, typer.Option("--no-browser", help="Print the page's URL without opening a browser.")
]
AllowRemoteOpt = Annotated[
    bool,
    typer.Option(
        "--allow-remote",
        help="Allow a --host other than loopback: anyone who can reach it and has the printed "
        "URL (with its token) can train models and write runs and files on this machine.",
    ),
]


def open_browser(url: str) -> None:
    """Open ``url`` in the user's browser (quietly nothing when there is none)."""
    try:
        webbrowser.open(url, new=2)
    except webbrowser.Error:
        err_console.print("No browser could be opened; open the URL above yourself.")


@app.command("play")
def play_command(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 0,
    no_browser: NoBrowserOpt = False,
    lang: LangOpt = "en",
    allow_remote: AllowRemoteOpt = False,
    output: OutputOpt = Path("runs"),
    replay: Annotated[
        Path | None,
        typer.Option(
            "--replay",
            help="Replay a finished run's (or lab's) events in the page instead of playing.",
        ),
    ] = None,
) -> None:
    """A playground in the browser: build, train and watch real Keras models on 2-D data,
    then export the spec or save the run."""
    with _user_errors():
        check_choice(Lang, "lang", lang)
        from neuralab.backend import default_cache_dir
        from neuralab.cli._running import _select_backend
        from neuralab.live.server import LiveServer

        if replay is not None:
            from neuralab.live.watch import replay_source

            source = replay_source(replay)
            server = LiveServer(
                mode="replay",
                host=host,
                port=port,
                allow_remote=allow_remote,
                lang=lang,
                title=str(replay),
            )
            source.attach(server)
            label = "Replay"
        else:
            _select_backend("auto", ("Dense",), set())  # dense models: JAX
            server = LiveServer(
                mode="play",
                host=host,
                port=port,
                allow_remote=allow_remote,
                lang=lang,
                output=output,
                upload_dir=default_cache_dir() / "uploads",
            )
            label = "Playground"
    _say(f"{label}: {server.url}")
    if not no_browser:
        open_browser(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        from neuralab.runs.stopping import request_stop

        request_stop()  # a run being saved stops at its next safe point, marked incomplete
    finally:
        server.stop()
    err_console.print("Stopped.")
