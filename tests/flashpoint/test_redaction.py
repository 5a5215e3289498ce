"""No credential leaks through an error: an upstream (or a mirror) that echoes the request feeds
ACLED's password grant and bearer token, FRED's and EIA's API keys, and a PostgreSQL password in
the user-info and as `?password=` into every output channel; none of them may show one.

Channels grepped: the CLI's stdout and stderr (which carry the key=value logs), a log line
formatted by `flashpoint.logs`, the whole store dumped as SQL (`fetch_runs.error` and `detail`),
the Health page and the dashboard's "cannot start" page.

The echoing upstream is synthetic by nature (it reflects what it receives); the secrets are fake.
"""

from __future__ import annotations

import json
import logging
import socket
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from streamlit.testing.v1 import AppTest

from fetchers import acled
from fetchers.redact import forget_secrets, redact, register_url_secrets
from flashpoint import cli, store
from flashpoint.config import CONFIG_ENV, DATABASE_URL_ENV
from flashpoint.logs import KeyValueFormatter

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "dashboard" / "app.py"

ACLED_USER = "analyst.fake@example.org"
ACLED_PASSWORD = "acled-Pa55word-fake-7781"
ACLED_TOKEN = "eyJfakeAccessToken.acled.9f8e7d6c5b4a"
ACLED_REFRESH = "fake-refresh-token-0a1b2c3d4e"
FRED_KEY = "fredfakekey0123456789abcdef0123"
EIA_KEY = "eiaFakeKey9876543210ZYXWVU"
PG_USERINFO_PASSWORD = "pg-userinfo-s3cret-fake"
PG_QUERY_PASSWORD = "pg-query-s3cret-fake"
ALL_SECRETS = (
    ACLED_PASSWORD, ACLED_TOKEN, ACLED_REFRESH, FRED_KEY, EIA_KEY, PG_USERINFO_PASSWORD,
    PG_QUERY_PASSWORD,
)  # fmt: skip


class EchoServer(ThreadingHTTPServer):
    """A loopback upstream that echoes the request in its error answers."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _EchoHandler)
        self.grant_ok = False  # the token endpoint: False echoes the login form in a 401
        self.seen: list[str] = []  # every request as the server saw it

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _EchoHandler(BaseHTTPRequestHandler):
    server: EchoServer

    def log_message(self, *_args: Any) -> None:
        return

    def _send(self, status: int, body: str, content_type: str) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        form = self.rfile.read(length).decode("utf-8")
        self.server.seen.append(f"POST {self.path} {form}")
        if self.server.grant_ok:
            answer = {"access_token": ACLED_TOKEN, "refresh_token": ACLED_REFRESH,
                      "expires_in": 86400, "token_type": "Bearer"}
            self._send(200, json.dumps(answer), "application/json")
            return
        # A misconfigured OAuth server that quotes the whole grant back.
        answer = {"error": "invalid_grant", "error_description": f"rejected grant: {form}"}
        self._send(401, json.dumps(answer), "application/json")

    def do_GET(self) -> None:
        authorization = self.headers.get("Authorization", "")
        self.server.seen.append(f"GET {self.path} {authorization}")
        query = dict(parse_qsl(self.path.partition("?")[2]))
        if "fred" in self.path and "api_key" in query:
            # FRED's own HTTP-400 JSON envelope, quoting the request.
            message = f"Bad Request. Echo: {self.path}"
            self._send(400, json.dumps({"error_code": 400, "error_message": message}),
                       "application/json")
            return
        # A mirror's error page that echoes the request line and the Authorization header.
        self._send(502, f"Authorization: {authorization} {self.path}", "text/plain")


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Start with nothing registered: the code paths under test must register what they hold.
    forget_secrets()
    acled.clear_token_cache()
    for name in (CONFIG_ENV, DATABASE_URL_ENV, "FRED_API_KEY", "EIA_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    yield
    forget_secrets()
    acled.clear_token_cache()


# The ACLED indicators are off by default; the ACLED tests switch one on (and no alert rules,
# which refer to indicators this short list drops).
ACLED_INDICATOR = """
[alerts]
rules = []
[[indicators]]
id = "acled_protest_events"
pillar = "security"
source = "acled"
source_code = "Protests;Riots"
frequency = "monthly"
[indicators.normalisation]
lower = 0.0
upper = 1000.0
"""


def write_config(tmp_path: Path, url: str, *, acled_on: bool = False) -> Path:
    path = tmp_path / "config.toml"
    quick = "max_retries = 0\nmin_interval_seconds = 0.0\ntimeout_seconds = 5.0\n"
    path.write_text(
        '[general]\ndata_dir = "data"\ncountries = ["KAZ"]\ndefault_country = "KAZ"\n'
        f'[sources.acled]\nbase_url = "{url}/acled/api"\ntoken_url = "{url}/oauth/token"\n{quick}'
        f'[sources.fred]\nbase_url = "{url}/fred"\n{quick}'
        f'[sources.eia]\nbase_url = "{url}/eia/v2"\n{quick}'
        + (ACLED_INDICATOR if acled_on else ""),
        encoding="utf-8",
    )
    return path


def store_dump(config: Path) -> str:
    database = config.parent / "data" / "flashpoint.db"
    with sqlite3.connect(database) as connection:
        return "\n".join(connection.iterdump())


def assert_clean(text: str, where: str) -> None:
    for secret in ALL_SECRETS:
        assert secret not in text, f"{where} shows {secret!r}"
    assert ACLED_PASSWORD.replace("5", "%35") not in text


def refresh(config: Path, source: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = cli.main(
        ["refresh", "--source", source, "--country", "KAZ", "--fetch-only", "-q",
         "--config", str(config)]
    )
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def last_errors(config: Path) -> list[str]:
    engine = store.make_engine(f"sqlite:///{config.parent / 'data' / 'flashpoint.db'}")
    try:
        runs = store.read_fetch_runs(engine)
    finally:
        engine.dispose()
    return [str(error) for error in runs["error"] if error]


def test_acled_password_grant_echo(
    echo: EchoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ACLED_USERNAME", ACLED_USER)
    monkeypatch.setenv("ACLED_PASSWORD", ACLED_PASSWORD)
    config = write_config(tmp_path, echo.url, acled_on=True)

    status, output = refresh(config, "acled", capsys)

    assert status == 1
    assert any(ACLED_PASSWORD in seen for seen in echo.seen)  # the upstream did get it
    errors = last_errors(config)
    assert errors
    assert "rejected grant" in errors[0]  # the echo was recorded, with the secrets masked
    assert "***" in errors[0]
    for text, where in ((output, "CLI output"), (store_dump(config), "store dump")):
        assert_clean(text, where)
        assert ACLED_USER not in text, where


def test_acled_bearer_token_echo(
    echo: EchoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ACLED_USERNAME", ACLED_USER)
    monkeypatch.setenv("ACLED_PASSWORD", ACLED_PASSWORD)
    echo.grant_ok = True
    config = write_config(tmp_path, echo.url, acled_on=True)

    status, output = refresh(config, "acled", capsys)

    assert status == 1
    assert any(f"Bearer {ACLED_TOKEN}" in seen for seen in echo.seen)
    errors = last_errors(config)
    assert errors and "502" in errors[0]
    for text, where in ((output, "CLI output"), (store_dump(config), "store dump")):
        assert_clean(text, where)


@pytest.mark.parametrize(("source", "env", "key"), [("fred", "FRED_API_KEY", FRED_KEY),
                                                    ("eia", "EIA_API_KEY", EIA_KEY)])
def test_api_key_echo(
    source: str, env: str, key: str, echo: EchoServer, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(env, key)
    config = write_config(tmp_path, echo.url)

    status, output = refresh(config, source, capsys)

    assert status == 1
    assert any(key in seen for seen in echo.seen)
    assert last_errors(config)
    for text, where in ((output, "CLI output"), (store_dump(config), "store dump")):
        assert_clean(text, where)
    # `status` prints the recorded error too.
    cli.main(["status", "--config", str(config)])
    assert_clean(capsys.readouterr().out, "status")


def pg_url(port: int, *, userinfo: bool) -> str:
    if userinfo:
        return f"postgresql://flashpoint:{PG_USERINFO_PASSWORD}@127.0.0.1:{port}/flashpoint"
    return f"postgresql://flashpoint@127.0.0.1:{port}/flashpoint?password={PG_QUERY_PASSWORD}"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens there once the probe is closed


@pytest.mark.parametrize("userinfo", [True, False], ids=["user-info", "query"])
def test_postgres_password_in_cli_errors(
    userinfo: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[general]\ndata_dir = "data"\n', encoding="utf-8")
    monkeypatch.setenv(DATABASE_URL_ENV, pg_url(closed_port(), userinfo=userinfo))

    status = cli.main(["status", "--config", str(config)])

    captured = capsys.readouterr()
    assert status == 1
    assert "127.0.0.1" in captured.err  # the error is there, just without the password
    assert_clean(captured.out + captured.err, "CLI")


@pytest.mark.parametrize("userinfo", [True, False], ids=["user-info", "query"])
def test_postgres_password_on_the_cannot_start_page(
    userinfo: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[general]\ndata_dir = "data"\n', encoding="utf-8")
    monkeypatch.setenv(CONFIG_ENV, str(config))
    monkeypatch.setenv(DATABASE_URL_ENV, pg_url(closed_port(), userinfo=userinfo))

    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()

    shown = "\n".join(element.value for element in at.error)
    assert "cannot start" in shown
    assert_clean(shown, "cannot-start page")


def test_health_page_redacts_rows_written_before_redaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[general]\ndata_dir = "data"\n', encoding="utf-8")
    database = tmp_path / "data" / "flashpoint.db"
    engine = store.make_engine(f"sqlite:///{database}")
    try:
        store.init_schema(engine)
        run_id = store.start_fetch_run(engine, "fred")
        store.finish_fetch_run(engine, run_id, status="error", requests=1, counts=None,
                               error="placeholder")
    finally:
        engine.dispose()
    leaked = f"fred: api.example/fred answered HTTP 500: \"GET /x?api_key={FRED_KEY}\""
    with sqlite3.connect(database) as connection:  # as an older version would have stored it
        connection.execute("UPDATE fetch_runs SET error = ? WHERE id = ?", (leaked, run_id))
    monkeypatch.setenv(CONFIG_ENV, str(config))
    monkeypatch.setenv(DATABASE_URL_ENV, f"sqlite:///{database}")

    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    at.switch_page("app_pages/health.py").run()

    texts = [str(element.value) for element in (*at.markdown, *at.error, *at.warning)]
    texts += [frame.value.to_csv() for frame in at.dataframe]
    page = "\n".join(texts)
    assert "api_key=***" in page
    assert FRED_KEY not in page


def test_the_log_formatter_redacts() -> None:
    register_url_secrets(f"postgresql://u:{PG_USERINFO_PASSWORD}@h/db")
    record = logging.LogRecord(
        "flashpoint.refresh", logging.ERROR, __file__, 1,
        "source failed: Authorization: Bearer %s", (ACLED_TOKEN,), None,
    )
    record.error = f"cannot connect to postgresql://u:{PG_USERINFO_PASSWORD}@h/db"
    line = KeyValueFormatter().format(record)
    assert_clean(line, "log line")
    assert "Authorization: ***" in line


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc.def-ghi", "Authorization: ***"),
        ('{"access_token": "tok-123456", "x": 1}', '{"access_token": "***", "x": 1}'),
        ("username=a%40b.org&password=p%40ss&grant_type=password",
         "username=a%40b.org&password=***&grant_type=password"),
        ("GET /series?series_id=DCOILBRENTEU&api_key=abcdef123 HTTP/1.1",
         "GET /series?series_id=DCOILBRENTEU&api_key=*** HTTP/1.1"),
        ("https://maps.example/api?key=AIzaFAKE&x=1", "https://maps.example/api?key=***&x=1"),
        ("postgresql://user:pw@host/db", "postgresql://user:***@host/db"),
        ("{'token': 'abc12345'}", "{'token': '***'}"),
        ("event=refresh source=fred outcome=ok", "event=refresh source=fred outcome=ok"),
    ],
)
def test_credential_shapes_are_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("userinfo", [True, False], ids=["user-info", "query"])
def test_the_store_url_shown_on_pages_has_no_password(
    userinfo: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dashboard import data
    from flashpoint.config import Settings, StoreSettings

    url = pg_url(5432, userinfo=userinfo)
    settings = Settings(store=StoreSettings(url=url))
    monkeypatch.setattr(data, "get_settings", lambda: settings)
    shown = data.store_url_for_display()
    assert "127.0.0.1:5432/flashpoint" in shown
    assert_clean(shown, "store URL on the Health page")
