"""The live page's web server: the page, its server-sent events and the play page's requests.

Stack: the standard library's :class:`http.server.ThreadingHTTPServer`. The page is a
handful of requests and one long-lived event stream per tab on the learner's own machine;
training runs in threads of its own either way (Keras's ``fit`` and the fused trainer block),
so an async framework would add two dependencies (starlette, uvicorn) and buy nothing here.
A thread per stream, a cap on streams and daemon threads keep it simple and bounded.

Security (the page can start training and write files on the learner's machine):

- it binds 127.0.0.1 unless told otherwise; another address needs ``allow_remote``;
- every request (page, events, uploads) must carry the random token of the printed URL
  (``?token=...`` or the ``X-Neuralab-Token`` header), else 403;
- the ``Host`` header must name this server (loopback names and the port), else 403: a web
  page elsewhere cannot reach it through a rebound DNS name;
- request bodies are capped (JSON forms: 64 KB, uploads: 5 MB) and uploads are read only by
  the data loaders; the page's form becomes a spec through the same validation as a TOML file;
- the page runs with a Content-Security-Policy allowing only its own inline script and
  style (a nonce per response), no other origin: it works offline, nothing is fetched.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from neuralab.errors import NeuralabError
from neuralab.live.bus import EventBus
from neuralab.live.playspec import (
    ACTIVATIONS,
    DATA_NAMES,
    DEFAULT_CONFIG,
    MAX_HIDDEN,
    OPTIMIZERS,
)
from neuralab.live.session import PlaySession
from neuralab.live.uploads import MAX_UPLOAD_BYTES

logger = logging.getLogger(__name__)

Mode = Literal["play", "live", "replay"]
LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_JSON_BYTES = 64 * 1024
MAX_STREAMS = 32
MAX_SESSIONS = 16
#: Seconds between keep-alive comments on an idle event stream.
KEEPALIVE_SECONDS = 10.0


def is_loopback(host: str) -> bool:
    return host in LOOPBACK or host.startswith("127.")


def check_host(host: str, *, allow_remote: bool) -> None:
    """Refuse to listen on a non-loopback address unless ``allow_remote``.

    Raises:
        NeuralabError: saying what a remote address would expose and how to allow it.
    """
    if not is_loopback(host) and not allow_remote:
        raise NeuralabError(
            f"--host {host} would let other machines reach the page, which trains models "
            "and writes runs and uploaded files on this one (anyone with the printed URL and "
            "its token). Pass --allow-remote as well to do that, or leave --host at 127.0.0.1."
        )


def _static(name: str) -> str:
    return (resources.files("neuralab.live") / "static" / name).read_text(encoding="utf-8")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    live: LiveServer


class LiveServer:
    """The server of one ``neuralab play`` or ``--live`` page.

    Args:
        mode: ``play`` (the playground), ``live`` (a read-only view of runs as they train) or
            ``replay`` (a finished run's events played again).
        host: Address to bind (loopback unless ``allow_remote``).
        port: Port (0: any free one).
        token: The secret every request must carry (default: a new random one).
        allow_remote: Allow a non-loopback ``host``.
        lang: The page's language (``en`` or ``pt``).
        title: Shown at the top of the page.
        output: Where the play page saves runs.
        upload_dir: Where the play page keeps uploaded tables.

    Raises:
        NeuralabError: a remote host without ``allow_remote``, or the port cannot be bound.
    """

    def __init__(
        self,
        *,
        mode: Mode = "play",
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        allow_remote: bool = False,
        lang: str = "en",
        title: str = "",
        output: str | Path = "runs",
        upload_dir: str | Path | None = None,
    ) -> None:
        check_host(host, allow_remote=allow_remote)
        self.mode = mode
        self.host = host
        self.allow_remote = allow_remote
        self.lang = lang
        self.title = title
        self.output = Path(output)
        self.upload_dir = Path(upload_dir) if upload_dir is not None else self.output / "uploads"
        self.token = token or secrets.token_urlsafe(24)
        self.bus = EventBus()
        self.sessions: dict[str, PlaySession] = {}
        self.sessions_lock = threading.Lock()
        self.streams = 0
        self.streams_lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.on_stop: list[Callable[[], None]] = []
        try:
            self.httpd = _Server((host, port), _Handler)
        except OSError as exc:
            raise NeuralabError(
                f"cannot listen on {host}:{port} ({exc.strerror or exc}). Choose another "
                "--port (0 picks a free one)."
            ) from exc
        self.httpd.live = self
        self.port = int(self.httpd.server_address[1])

    # ------------------------------------------------------------------ address
    @property
    def url(self) -> str:
        """The page's address with its token."""
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{self.port}/?token={self.token}"

    def events_url(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{self.port}/events?token={self.token}"

    def host_allowed(self, header: str | None) -> bool:
        """The ``Host`` header names this server (DNS rebinding defence)."""
        if not header:
            return False
        if self.allow_remote:
            return True  # any name of this machine; the token still guards every request
        name, _, port = header.rpartition(":") if not header.endswith("]") else (header, "", "")
        if not name:
            name, port = header, ""
        name = name.strip("[]").lower()
        return is_loopback(name) and port == str(self.port)

    def token_ok(self, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(str(given), self.token)

    # ------------------------------------------------------------------ life
    def start(self) -> LiveServer:
        """Serve in a background thread."""
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        )
        self.thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`stop` (or Ctrl-C)."""
        self.httpd.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        """Stop training in every session, end the event streams and close the socket."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        self.bus.close()
        for hook in self.on_stop:
            hook()
        with self.sessions_lock:
            sessions = list(self.sessions.values())
        for session in sessions:
            session.close()
        if self.thread is not None:
            self.httpd.shutdown()
            self.thread.join(5)
        self.httpd.server_close()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ sessions
    def new_session(self) -> PlaySession:
        """A session for a new tab (the least recently used idle one goes when full).

        Raises:
            NeuralabError: every session is busy training.
        """
        with self.sessions_lock:
            if len(self.sessions) >= MAX_SESSIONS:
                idle = [s for s in self.sessions.values() if s.status not in ("training",)]
                if not idle:
                    raise NeuralabError(
                        f"{MAX_SESSIONS} tabs are training already; close one and reload."
                    )
                oldest = min(idle, key=lambda s: s.touched)
                self.sessions.pop(oldest.id)
                threading.Thread(target=oldest.close, daemon=True).start()
            session = PlaySession(
                secrets.token_hex(8),
                self.bus,
                output=self.output,
                upload_dir=self.upload_dir,
                lang=self.lang,
            )
            self.sessions[session.id] = session
            return session

    def session(self, session_id: Any) -> PlaySession:
        """Raises: NeuralabError: no such session (the page is older than the server)."""
        with self.sessions_lock:
            found = self.sessions.get(str(session_id))
        if found is None:
            raise NeuralabError("this page's session has ended (the server restarted?); reload.")
        return found

    def page(self, nonce: str) -> str:
        """The page, with its script, style and settings inline."""
        config = {
            "mode": self.mode,
            "lang": self.lang,
            "title": self.title,
            "token": self.token,
            "defaults": DEFAULT_CONFIG,
            "choices": {
                "data": list(DATA_NAMES),
                "activations": list(ACTIVATIONS),
                "optimizers": list(OPTIMIZERS),
                "max_hidden": MAX_HIDDEN,
                "max_upload": MAX_UPLOAD_BYTES,
            },
        }
        settings = json.dumps(config).replace("<", "\\u003c")
        return (
            _static("index.html")
            .replace("__NONCE__", nonce)
            .replace("/*__STYLE__*/", _static("page.css"))
            .replace("/*__SETTINGS__*/null", settings)
            .replace("/*__SCRIPT__*/", _static("page.js"))
        )


# ------------------------------------------------------------------ the handler


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "neuralab"
    sys_version = ""

    @property
    def live(self) -> LiveServer:
        return self.server.live

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    # ------------------------------------------------------------------ replies
    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "text/plain; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: dict[str, Any]) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"ok": False, "error": message})

    def _allowed(self) -> bool:
        """Host and token checked; a 403 sent if not."""
        if not self.live.host_allowed(self.headers.get("Host")):
            self._send(
                HTTPStatus.FORBIDDEN,
                b"403 Forbidden: this server answers only to its own address "
                b"(127.0.0.1 or localhost and its port).\n",
            )
            return False
        query = parse_qs(urlsplit(self.path).query)
        token = self.headers.get("X-Neuralab-Token") or next(iter(query.get("token", [])), None)
        if not self.live.token_ok(token):
            self._send(
                HTTPStatus.FORBIDDEN,
                b"403 Forbidden: open the page with the URL neuralab printed; it carries "
                b"the token (?token=...) every request needs.\n",
            )
            return False
        return True

    def _query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items() if v}

    # ------------------------------------------------------------------ GET
    def do_GET(self) -> None:
        if not self._allowed():
            return
        route = urlsplit(self.path).path
        if route in ("/", "/index.html"):
            nonce = secrets.token_urlsafe(16)
            policy = (
                f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
                "img-src data: blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
                "frame-ancestors 'none'"
            )
            self._send(
                HTTPStatus.OK,
                self.live.page(nonce).encode("utf-8"),
                "text/html; charset=utf-8",
                {"Content-Security-Policy": policy},
            )
        elif route == "/events":
            self._events()
        else:
            self._send(HTTPStatus.NOT_FOUND, b"404 Not Found\n")

    def do_HEAD(self) -> None:
        self.do_GET()

    def _events(self) -> None:
        live = self.live
        channel = self._query().get("session") or self._query().get("run")
        with live.streams_lock:
            if live.streams >= MAX_STREAMS:
                self._send(
                    HTTPStatus.SERVICE_UNAVAILABLE,
                    b"503: too many open event streams; close some tabs.\n",
                )
                return
            live.streams += 1
        sub = live.bus.subscribe(channel)
        try:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            self.wfile.write(b"retry: 2000\n\n")
            self.wfile.flush()
            last = time.monotonic()
            while not live.stopping.is_set():
                items = sub.get(timeout=0.5)
                if items:
                    self.wfile.write("".join(f"data: {text}\n\n" for text in items).encode())
                    self.wfile.flush()
                    last = time.monotonic()
                elif time.monotonic() - last >= KEEPALIVE_SECONDS:
                    self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
                    last = time.monotonic()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            pass
        finally:
            sub.close()
            with live.streams_lock:
                live.streams -= 1
            self.close_connection = True

    # ------------------------------------------------------------------ POST
    def do_POST(self) -> None:
        if not self._allowed():
            return
        if self.live.mode != "play":
            self._error(HTTPStatus.METHOD_NOT_ALLOWED, "This page is read-only.")
            return
        origin = self.headers.get("Origin")
        if origin and not self.live.host_allowed(urlsplit(origin).netloc):
            self._error(HTTPStatus.FORBIDDEN, "Requests must come from the page itself.")
            return
        route = urlsplit(self.path).path
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self._error(HTTPStatus.BAD_REQUEST, "Content-Length must be a number.")
            return
        if route == "/api/upload":
            self._upload(length)
            return
        if length > MAX_JSON_BYTES:
            self.close_connection = True
            self._error(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"the request is {length} bytes; at most {MAX_JSON_BYTES} are accepted.",
            )
            return
        try:
            body = json.loads(self.rfile.read(length) or b"{}") if length else {}
            if not isinstance(body, dict):
                raise ValueError("not a JSON object")
        except (ValueError, UnicodeDecodeError) as exc:
            self._error(HTTPStatus.BAD_REQUEST, f"the request is not a JSON object ({exc}).")
            return
        self._api(route, body)

    def _api(self, route: str, body: dict[str, Any]) -> None:
        live = self.live
        try:
            if route == "/api/session":
                session = live.new_session()
                self._json(HTTPStatus.OK, {"ok": True, "session": session.id})
                return
            actions: dict[str, Callable[[PlaySession, dict[str, Any]], dict[str, Any]]] = {
                "/api/preview": lambda s, c: s.preview(c),
                "/api/start": lambda s, c: s.start(c),
                "/api/step": lambda s, c: s.start(c, steps=1),
                "/api/pause": lambda s, c: s.pause(),
                "/api/reset": lambda s, c: s.reset(),
                "/api/export": lambda s, c: s.export(c),
                "/api/save": lambda s, c: s.save_run(c),
            }
            action = actions.get(route)
            if action is None:
                self._error(HTTPStatus.NOT_FOUND, f"no such request: {route}")
                return
            session = live.session(body.get("session"))
            config = body.get("config")
            result = action(session, config if isinstance(config, dict) else {})
            self._json(HTTPStatus.OK, result)
        except NeuralabError as exc:
            self._json(HTTPStatus.OK, {"ok": False, "error": str(exc)})
        except Exception as exc:  # the page shows it; the server keeps serving
            logger.exception("request %s failed", route)
            self._json(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                {"ok": False, "error": f"unexpected error: {type(exc).__name__}: {exc}"},
            )

    def _upload(self, length: int) -> None:
        query = self._query()
        if length > MAX_UPLOAD_BYTES:
            self.close_connection = True
            if length <= 4 * MAX_UPLOAD_BYTES:  # read it, so the browser sees the answer
                self.rfile.read(length)
            self._error(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"{query.get('name', 'the file')}: {length / 2**20:.1f} MB is more than the "
                f"{MAX_UPLOAD_BYTES // 2**20} MB the page accepts.",
            )
            return
        body = self.rfile.read(length) if length else b""
        try:
            session = self.live.session(query.get("session"))
            result = session.upload_table(
                query.get("name", "table.csv"), body, label=query.get("label") or None
            )
            self._json(HTTPStatus.OK, result)
        except NeuralabError as exc:
            self._json(HTTPStatus.OK, {"ok": False, "error": str(exc)})
        except Exception as exc:
            logger.exception("upload failed")
            self._json(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                {"ok": False, "error": f"unexpected error: {type(exc).__name__}: {exc}"},
            )
