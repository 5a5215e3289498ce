"""A threaded loopback HTTP server that replays recorded bodies and injects faults, for tests.

    server = ReplayServer().start()                  # http://127.0.0.1:<free port>
    server.add("/v2/country/KAZ/indicator/SI.POV.GINI",
               Reply.from_file(FIXTURES / "body.json"), query={"page": "1"})
    server.add("/v2/country/KAZ/indicator/SI.POV.GINI", [reset(), reset(), Reply(...)])
    ... run the fetcher with base_url=server.url ...
    server.count("/v2/country/KAZ/indicator/SI.POV.GINI")   # requests that reached it

Routes are tried newest first, so a test adds the healthy routes and then a fault on top. A route
answers with a *script*: one response, or a list served in order whose last item repeats.
A response is a `Reply` (status, headers, body bytes) or a `Fault` the server acts out:
`hang` (answers nothing for longer than the client's timeout), `reset` (closes the socket with
an RST). The helpers below build the other faults as plain replies: 429 + Retry-After, 5xx, an
HTML page, a truncated body. Every request is logged (`server.requests`).

Use the `replay_server` fixture (tests/fetchers/conftest.py re-exports it; other test packages
can `from tests.support.replay_server import replay_server` in their conftest) or
`with running_replay_server() as server:`.
"""

from __future__ import annotations

import contextlib
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, urlsplit

import pytest


@dataclass(frozen=True)
class Reply:
    """An HTTP response to send: status, headers and body bytes."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json;charset=utf-8"

    @classmethod
    def from_file(
        cls, path: Path, *, status: int = 200, content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """A reply whose body is the bytes of a fixture file (byte for byte, BOM included)."""
        if content_type is None:
            content_type = _content_type_for(path)
        return cls(status, path.read_bytes(), dict(headers or {}), content_type)

    @classmethod
    def json_text(cls, text: str, *, status: int = 200) -> Reply:
        """A JSON reply from a string."""
        return cls(status, text.encode("utf-8"))


@dataclass(frozen=True)
class Fault:
    """A misbehaviour the server acts out instead of answering normally."""

    kind: Literal["hang", "reset"]
    seconds: float = 0.0


Response = Reply | Fault
Script = Response | Sequence[Response]
QueryMatch = Mapping[str, str] | Callable[[Mapping[str, str]], bool] | None


def hang(seconds: float = 5.0) -> Fault:
    """Say nothing for `seconds` (longer than the client's read timeout), then close."""
    return Fault("hang", seconds)


def reset() -> Fault:
    """Read the request, then close the socket abruptly (TCP RST): a 'connection reset'."""
    return Fault("reset")


def rate_limited(retry_after: str | None = "1") -> Reply:
    """HTTP 429 with a `Retry-After` header (seconds or an HTTP date)."""
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return Reply(429, b'{"error": "Too Many Requests"}', headers)


def server_error(status: int = 500) -> Reply:
    """A 5xx answer with a small HTML body, as proxies and load balancers send them."""
    title = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
             504: "Gateway Timeout"}.get(status, "Server Error")
    body = f"<html><head><title>{status} {title}</title></head><body>{title}</body></html>"
    return Reply(status, body.encode(), content_type="text/html")


# SYNTHETIC: a made-up maintenance page, served with HTTP 200 where JSON was expected.
SYNTHETIC_HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Scheduled maintenance</title></head>"
    b"<body><h1>Scheduled maintenance</h1><p>The service is temporarily unavailable.</p>"
    b"</body></html>\n"
)


def html_page(status: int = 200) -> Reply:
    """An HTML page (synthetic) instead of the expected JSON/CSV/XML."""
    return Reply(status, SYNTHETIC_HTML_PAGE, content_type="text/html;charset=utf-8")


def truncated(body: bytes, *, keep: float = 0.5, content_type: str | None = None) -> Reply:
    """The first `keep` share of a real body, with a Content-Length that matches the cut.

    The client reads a complete HTTP message whose payload stops mid-document, as when an
    upstream proxy cuts a response short.
    """
    cut = max(1, int(len(body) * keep))
    return Reply(200, body[:cut], content_type=content_type or "application/json;charset=utf-8")


@dataclass(frozen=True)
class LoggedRequest:
    """One request the server received."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    at: float  # time.monotonic() when it arrived
    body: bytes = b""  # the request body (POST)


@dataclass
class _Route:
    method: str
    path: str | re.Pattern[str]
    query: QueryMatch
    script: list[Response]
    served: int = 0

    def matches(self, method: str, path: str, query: Mapping[str, str]) -> bool:
        if method != self.method:
            return False
        if isinstance(self.path, re.Pattern):
            if not self.path.fullmatch(path):
                return False
        elif path != self.path:
            return False
        if self.query is None:
            return True
        if callable(self.query):
            return bool(self.query(query))
        return all(query.get(key) == value for key, value in self.query.items())

    def next_response(self) -> Response:
        response = self.script[min(self.served, len(self.script) - 1)]
        self.served += 1
        return response


class ReplayServer:
    """Loopback HTTP server with scripted routes, faults and a request log."""

    def __init__(self, *, latency_seconds: float = 0.0) -> None:
        self.latency_seconds = latency_seconds
        self.requests: list[LoggedRequest] = []
        self._routes: list[_Route] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> ReplayServer:
        """Bind 127.0.0.1 on a free port and serve in a background thread."""
        handler = _make_handler(self)
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        httpd.block_on_close = False
        self._httpd = httpd
        # A short poll interval keeps `stop()` (and so every test's teardown) fast.
        self._thread = threading.Thread(target=httpd.serve_forever, args=(0.02,),
                                        name="replay-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; hanging handlers are released."""
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>` (no trailing slash)."""
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- routes ----------------------------------------------------------------------------
    def add(
        self, path: str | re.Pattern[str], script: Script, *, method: str = "GET",
        query: QueryMatch = None,
    ) -> None:
        """Answer requests for `path` (exact, or a compiled regex matched in full).

        Args:
            path: URL path without query string.
            script: a response, or a list served in order (the last one repeats).
            method: HTTP method.
            query: required query parameters (subset match) or a predicate on the query.
        """
        items = [script] if isinstance(script, Reply | Fault) else list(script)
        if not items:
            raise ValueError("a route needs at least one response")
        with self._lock:
            self._routes.append(_Route(method.upper(), path, query, items))

    def clear_routes(self) -> None:
        """Forget every route (the log is kept)."""
        with self._lock:
            self._routes.clear()

    # -- log -------------------------------------------------------------------------------
    def count(self, path: str | re.Pattern[str] | None = None, **query: str) -> int:
        """How many logged requests match `path` (exact or regex) and the given query values."""
        return len(self.matching(path, **query))

    def matching(self, path: str | re.Pattern[str] | None = None, **query: str
                 ) -> list[LoggedRequest]:
        """The logged requests matching `path` and query values."""
        with self._lock:
            logged = list(self.requests)
        out = []
        for item in logged:
            if isinstance(path, re.Pattern) and not path.fullmatch(item.path):
                continue
            if isinstance(path, str) and item.path != path:
                continue
            if any(item.query.get(key) != value for key, value in query.items()):
                continue
            out.append(item)
        return out

    def reset_log(self) -> None:
        """Forget the logged requests."""
        with self._lock:
            self.requests.clear()

    # -- used by the handler ---------------------------------------------------------------
    def _resolve(self, method: str, path: str, query: Mapping[str, str],
                 headers: Mapping[str, str], body: bytes = b"") -> Response | None:
        with self._lock:
            self.requests.append(LoggedRequest(method, path, dict(query), dict(headers),
                                               time.monotonic(), body))
            for route in reversed(self._routes):
                if route.matches(method, path, query):
                    return route.next_response()
        return None


def _content_type_for(path: Path) -> str:
    suffix = path.suffix.lower()
    return {
        ".json": "application/json;charset=utf-8",
        ".html": "text/html; charset=UTF-8",
        ".xml": "text/xml; charset=utf-8",
        ".csv": "text/csv; charset=utf-8",
        ".zip": "application/zip",
    }.get(suffix, "application/octet-stream")


def _make_handler(server: ReplayServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection: faults stay isolated

        def do_GET(self) -> None:
            self._serve("GET")

        def do_HEAD(self) -> None:
            self._serve("HEAD")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, format: str, *args: object) -> None:  # quiet test output
            return

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            response = server._resolve(method, parts.path, query, dict(self.headers.items()),
                                       body)
            if server.latency_seconds:
                server._stopping.wait(server.latency_seconds)
            if response is None:
                response = Reply(404, b'{"error": "no route for this request"}')
            if isinstance(response, Fault):
                self._act_out(response)
                return
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(response.body)

        def _act_out(self, fault: Fault) -> None:
            if fault.kind == "hang":
                server._stopping.wait(fault.seconds)
            # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

        def finish(self) -> None:
            # The socket may have been closed on purpose by a fault.
            with contextlib.suppress(OSError):
                super().finish()

    return Handler


@contextmanager
def running_replay_server(*, latency_seconds: float = 0.0) -> Iterator[ReplayServer]:
    """A started `ReplayServer`, stopped on exit."""
    server = ReplayServer(latency_seconds=latency_seconds).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def replay_server() -> Iterator[ReplayServer]:
    """A fresh loopback replay server for one test."""
    with running_replay_server() as server:
        yield server
