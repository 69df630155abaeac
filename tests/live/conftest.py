"""Live-page test helpers: a server on 127.0.0.1:0 and bounded HTTP requests."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from neuralab.live.server import LiveServer

#: Seconds any single request may take in these tests.
TIMEOUT = 20.0


def request(
    server: LiveServer,
    method: str,
    path: str,
    *,
    body: bytes | dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    token: str | None = "good",
) -> tuple[int, dict[str, str], bytes]:
    """One request to ``server`` (``token="good"``: the server's own); returns status,
    headers and body."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    separator = "&" if "?" in path else "?"
    if token is not None:
        path += f"{separator}token={server.token if token == 'good' else token}"
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    sent = {"Content-Type": "application/json", **(headers or {})}
    try:
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def api(server: LiveServer, route: str, **body: Any) -> dict[str, Any]:
    status, _, data = request(server, "POST", route, body=body)
    assert status == 200, data
    return json.loads(data)


def read_events(url: str, *, count: int, seconds: float = TIMEOUT) -> list[dict[str, Any]]:
    """The first ``count`` events of an event stream (at most ``seconds`` of reading)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=seconds)
    deadline = time.monotonic() + seconds
    events: list[dict[str, Any]] = []
    try:
        connection.request("GET", f"{parts.path}?{parts.query}")
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Type", "").startswith("text/event-stream")
        while len(events) < count and time.monotonic() < deadline:
            line = response.readline()
            if not line:
                break
            if line.startswith(b"data: "):
                events.append(json.loads(line[6:]))
    finally:
        connection.close()
    return events


@pytest.fixture
def play_server(tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(mode="play", output=tmp_path / "runs", upload_dir=tmp_path / "uploads")
    with server:
        yield server
