"""The live page's server: token, Host header, bounded bodies, read-only views, events."""

from __future__ import annotations

import copy
import threading

import pytest

from neuralab.errors import NeuralabError
from neuralab.live.playspec import DEFAULT_CONFIG
from neuralab.live.server import LiveServer

from .conftest import api, read_events, request


def test_the_page_needs_the_token_on_every_request(play_server):
    assert request(play_server, "GET", "/")[0] == 200
    for path in ("/", "/events", "/api/session"):
        method = "POST" if path.startswith("/api") else "GET"
        status, _, body = request(play_server, method, path, token="wrong", body={})
        assert status == 403 and b"token" in body
        assert request(play_server, method, path, token=None, body={})[0] == 403
    status, _, _ = request(play_server, "POST", "/api/upload?session=x", token="wrong", body=b"a")
    assert status == 403


def test_a_foreign_host_header_is_refused(play_server):
    for host in ("evil.example:80", f"evil.example:{play_server.port}", "127.0.0.1:1"):
        status, _, body = request(play_server, "GET", "/", headers={"Host": host})
        assert status == 403 and b"own address" in body
    assert (
        request(play_server, "GET", "/", headers={"Host": f"localhost:{play_server.port}"})[0]
        == 200
    )


def test_the_page_is_self_contained_and_locked_down(play_server):
    status, headers, body = request(play_server, "GET", "/")
    page = body.decode()
    assert status == 200 and "<canvas" in page
    policy = headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    # Offline: nothing is fetched from elsewhere (no CDN, no web fonts).
    for needle in ('src="http', 'href="http', "@import", "url(http", "fonts.g"):
        assert needle not in page
    nonce = policy.split("'nonce-")[1].split("'")[0]
    assert page.count(f'nonce="{nonce}"') == 3


def test_a_remote_address_needs_allow_remote():
    with pytest.raises(NeuralabError, match="--allow-remote"):
        LiveServer(host="0.0.0.0")


def test_bad_requests_get_a_clear_answer_and_the_server_keeps_serving(play_server):
    status, _, body = request(play_server, "POST", "/api/start", body=b"not json")
    assert status == 400 and b"not a JSON object" in body
    status, _, body = request(play_server, "POST", "/api/start", body=b"x" * (65 * 1024))
    assert status == 413
    assert "session has ended" in api(play_server, "/api/start", session="nope")["error"]
    session = api(play_server, "/api/session")["session"]
    config = {**DEFAULT_CONFIG, "epochs": -1}
    answer = api(play_server, "/api/preview", session=session, config=config)
    assert not answer["ok"] and "fit.epochs: must be from 1 to 5000" in answer["error"]
    assert api(play_server, "/api/preview", session=session, config=DEFAULT_CONFIG)["ok"]


def test_uploads_are_capped_and_read_by_the_loader(play_server):
    session = api(play_server, "/api/session")["session"]
    status, _, body = request(
        play_server, "POST", f"/api/upload?session={session}&name=big.csv", body=b"1" * (6 * 2**20)
    )
    assert status == 413 and b"5 MB" in body
    status, _, body = request(
        play_server,
        "POST",
        f"/api/upload?session={session}&name=broken.csv",
        body=b"x1,x2,class\n0.1,0.2,0\n0.3,oops,1\n",
    )
    assert status == 200 and b'"ok": false' in body
    assert b"column 'x2' holds text (categories, e.g. 'oops')" in body
    status, _, body = request(
        play_server,
        "POST",
        f"/api/upload?session={session}&name=short.csv",
        body=b"x1,x2,class\n0.1,0.2,0\n0.3,1\n",
    )
    assert status == 200 and b"short.csv" in body and b'"ok": false' in body
    shift = b"x1,turno,class\n" + b"".join(
        f"{i / 50:.3f},{('manha', 'tarde')[i % 2]},{i % 2}\n".encode() for i in range(20)
    )
    status, _, body = request(
        play_server, "POST", f"/api/upload?session={session}&name=turnos.csv", body=shift
    )
    assert status == 200 and b'"ok": false' in body
    assert (
        b"turnos.csv: the page draws two numeric features, and column 'turno' holds text "
        b"(categories, e.g. 'manha')" in body
    )
    good = b"x1,x2,class\n" + b"".join(
        f"{i / 50:.3f},{(i % 7) / 7:.3f},{i % 2}\n".encode() for i in range(60)
    )
    status, _, body = request(
        play_server, "POST", f"/api/upload?session={session}&name=mine.csv", body=good
    )
    assert status == 200 and b'"ok": true' in body and b'"rows": 60' in body


def test_read_only_views_refuse_requests(tmp_path):
    with LiveServer(mode="live", output=tmp_path) as server:
        status, _, body = request(server, "POST", "/api/session", body={})
        assert status == 405 and b"read-only" in body


def test_events_reach_every_stream_of_their_channel_only(play_server):
    url = play_server.events_url()
    found: dict[str, list] = {}

    def follow(name: str, channel: str | None) -> None:
        found[name] = read_events(url + (f"&session={channel}" if channel else ""), count=2)

    threads = [
        threading.Thread(target=follow, args=("a", "A")),
        threading.Thread(target=follow, args=("all", None)),
    ]
    play_server.bus.publish("A", {"type": "state", "status": "idle"})  # before: history
    for thread in threads:
        thread.start()
    for _ in range(100):  # both streams subscribed (bounded wait)
        if play_server.streams == 2:
            break
        threading.Event().wait(0.05)
    play_server.bus.publish("B", {"type": "state", "status": "training"})
    play_server.bus.publish("A", {"type": "state", "status": "finished"})
    for thread in threads:
        thread.join(20)
    assert [e["status"] for e in found["a"]] == ["idle", "finished"]
    assert [e["status"] for e in found["all"]] == ["idle", "training"]
    assert all(e["channel"] == "A" for e in found["a"])


def test_a_busy_port_is_named_with_the_fix(play_server):
    with pytest.raises(
        NeuralabError, match=rf"cannot listen on 127.0.0.1:{play_server.port}.*--port"
    ):
        LiveServer(port=play_server.port)


def test_the_page_speaks_the_report_languages(tmp_path):
    with LiveServer(mode="play", lang="pt", output=tmp_path) as server:
        page = request(server, "GET", "/")[2].decode()
    assert '"lang": "pt"' in page and "Iniciar" in page and "Start" in page


def test_two_tabs_train_side_by_side_without_breaking_each_other(play_server):
    first = copy.deepcopy(DEFAULT_CONFIG)
    first["epochs"] = 40
    second = copy.deepcopy(DEFAULT_CONFIG)
    second["data"]["name"] = "moons"
    second["epochs"] = 15
    a = api(play_server, "/api/session")["session"]
    b = api(play_server, "/api/session")["session"]
    assert a != b
    tab_a, tab_b = play_server.session(a), play_server.session(b)

    def wait_until(tab, status: str) -> None:
        for _ in range(1200):  # bounded: at most 120 s
            if tab.status == status:
                return
            threading.Event().wait(0.1)
        raise AssertionError(f"{tab.status} ({tab.message}), not {status}")

    assert api(play_server, "/api/start", session=a, config=first)["ok"]
    assert api(play_server, "/api/pause", session=a)["ok"]  # tab A waits, paused
    assert api(play_server, "/api/start", session=b, config=second)["ok"]
    wait_until(tab_b, "finished")
    assert tab_b.epochs_done == 15 and "test" in tab_b.metrics
    # Resetting tab B leaves tab A where it was; A goes on and finishes its own model.
    assert api(play_server, "/api/reset", session=b)["ok"]
    assert tab_a.status == "paused" and tab_a.epochs_done < 40
    assert api(play_server, "/api/start", session=a, config=first)["ok"]
    wait_until(tab_a, "finished")
    assert tab_a.epochs_done == 40 and "test" in tab_a.metrics
    assert 'name = "circles"' in api(play_server, "/api/export", session=a, config=first)["toml"]
    assert 'name = "moons"' in api(play_server, "/api/export", session=b, config=second)["toml"]
