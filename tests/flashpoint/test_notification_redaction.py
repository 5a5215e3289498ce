"""No notification secret leaks through a receiver that echoes the request in its error.

A webhook receiver answers 500 with the request line, its headers (the Basic `Authorization` a
`user:token@` URL makes) and its body quoted back; an SMTP server accepts the login and then
refuses the message, quoting the login name and password it was given. Both are real loopback
servers; their echo is synthetic by nature (it reflects what they receive), the secrets fake.

A rule that fires at once (a source never fetched is stale) sends through both channels from
`flashpoint alerts evaluate`, and `alerts test-channel` sends through each. Channels grepped: the
CLI's stdout and stderr, the `flashpoint` log records, any crash log, and the whole store dumped
as SQL (the `notifications` deliveries, `fetch_runs`, `alert_events`, `audit_log`, ...).
"""

from __future__ import annotations

import base64
import logging
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from fetchers.redact import forget_secrets
from flashpoint import cli, notify
from flashpoint.config import CONFIG_ENV, DATABASE_URL_ENV
from tests.support.mail_and_hooks import free_port
from tests.support.snapshot_template import copy_of_template

# The echoing SMTP server takes a plain login (no TLS), which aiosmtpd warns about.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

HOOK_USER = "hookuser"
HOOK_PASSWORD = "hook-basic-pa55-fake-4471"
HOOK_PATH_TOKEN = "B0FAKE0PATH0TOKEN0x9d"
HOOK_QUERY_TOKEN = "qtoken-fake-7c1e-90ab"
SMTP_USER = "alerts-sender"
SMTP_PASSWORD = "smtp-Pa55word-fake-3318"
BASIC = base64.b64encode(f"{HOOK_USER}:{HOOK_PASSWORD}".encode()).decode()
ALL_SECRETS = (HOOK_PASSWORD, HOOK_PATH_TOKEN, HOOK_QUERY_TOKEN, SMTP_PASSWORD, BASIC)


class _EchoHook(BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []  # replaced per server by the fixture

    def log_message(self, *_args: Any) -> None:
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8", "replace")
        authorization = self.headers.get("Authorization", "")
        self.seen.append(f"{self.path} {authorization}")
        # A misconfigured proxy's error page: the request quoted back, credentials first.
        echo = f"Authorization: {authorization} POST {self.path} body={body}"
        data = echo.encode("utf-8")
        self.send_response(500)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def echo_hook() -> Iterator[tuple[str, list[str]]]:
    seen: ClassVar[list[str]] = []  # replaced per server by the fixture
    handler = type("Handler", (_EchoHook,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class _EchoMail:
    """Accepts the login, then refuses the message quoting the credentials it was given."""

    def __init__(self) -> None:
        self.logins: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        login = session.auth_data
        assert isinstance(login, LoginPassword)
        self.logins.append(f"{login.login.decode()}:{login.password.decode()}")
        return f"554 refused: sender {login.login.decode()} password {login.password.decode()}"


def _accept_any(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    return AuthResult(success=True, handled=False, auth_data=data)


@pytest.fixture
def echo_mail() -> Iterator[tuple[int, _EchoMail]]:
    handler = _EchoMail()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=_accept_any,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield port, handler
    finally:
        controller.stop()


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Nothing registered beforehand: the command itself must register what the config names.
    forget_secrets()
    for name in (CONFIG_ENV, DATABASE_URL_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(notify, "DEFAULT_BACKOFF_SECONDS", 0.1)
    yield
    forget_secrets()


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.text: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.text.append(f"{record.getMessage()} {vars(record)}")


def _config(tmp_path: Path, database: Path, hook: str, smtp_port: int) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        '[general]\ncountries = ["KAZ"]\ndefault_country = "KAZ"\n'
        f'[store]\nurl = "sqlite:///{database}"\n'
        "[alerts]\n"
        "[[alerts.rules]]\n"
        'id = "fred_never_fetched"\nname = "FRED never fetched"\nkind = "stale"\n'
        'target = "source:fred"\nscope = "watched"\ncondition = "above"\n'
        'pending_evaluations = 1\nchannels = ["hook", "mail"]\n'
        "[notifications.channels.hook]\n"
        'type = "webhook"\nurl_env = "ALERT_HOOK_URL"\nformat = "json"\ntimeout_seconds = 10\n'
        "[notifications.channels.mail]\n"
        f'type = "email"\nhost = "127.0.0.1"\nport = {smtp_port}\nsecurity = "none"\n'
        'sender = "flashpoint@example.org"\nrecipients = ["desk@example.org"]\n'
        'username_env = "ALERT_SMTP_USER"\npassword_env = "ALERT_SMTP_PASSWORD"\n'
        "timeout_seconds = 10\n",
        encoding="utf-8",
    )
    return config


def _dump(database: Path) -> str:
    with sqlite3.connect(database) as connection:
        return "\n".join(connection.iterdump())


def _assert_clean(text: str, where: str) -> None:
    for secret in ALL_SECRETS:
        assert secret not in text, f"{where} shows {secret!r}"


@pytest.mark.slow
def test_echoed_notification_credentials_reach_no_output_and_no_table(
    tmp_path: Path,
    snapshot_template: Path,
    echo_hook: tuple[str, list[str]],
    echo_mail: tuple[int, _EchoMail],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hook_address, hook_seen = echo_hook
    smtp_port, mail = echo_mail
    database = copy_of_template(snapshot_template, tmp_path / "store")
    monkeypatch.setenv(
        "ALERT_HOOK_URL",
        f"http://{HOOK_USER}:{HOOK_PASSWORD}@{hook_address}/services/T0/{HOOK_PATH_TOKEN}"
        f"?token={HOOK_QUERY_TOKEN}",
    )
    monkeypatch.setenv("ALERT_SMTP_USER", SMTP_USER)
    monkeypatch.setenv("ALERT_SMTP_PASSWORD", SMTP_PASSWORD)
    monkeypatch.setenv("FLASHPOINT_CRASH_DIR", str(tmp_path / "crash"))
    config = _config(tmp_path, database, hook_address, smtp_port)
    records = _Records()
    logger = logging.getLogger("flashpoint")
    logger.addHandler(records)
    outputs: list[tuple[str, int]] = []
    try:
        for command in (
            ["alerts", "evaluate", "--config", str(config)],
            ["alerts", "test-channel", "hook", "--config", str(config)],
            ["alerts", "test-channel", "mail", "--config", str(config)],
            ["alerts", "history", "--config", str(config)],
            ["status", "--config", str(config)],
        ):
            code = cli.main(command)
            captured = capsys.readouterr()
            outputs.append((captured.out + captured.err, code))
    finally:
        logger.removeHandler(records)

    # The receivers really got the secrets, and really echoed them back.
    assert any(HOOK_PATH_TOKEN in seen and f"Basic {BASIC}" in seen for seen in hook_seen)
    assert f"{SMTP_USER}:{SMTP_PASSWORD}" in mail.logins
    evaluate_output, _ = outputs[0]
    assert "fred_never_fetched" in evaluate_output or "FRED never fetched" in evaluate_output
    assert outputs[1][1] == 1 and outputs[2][1] == 1  # both test sends failed, as echoed
    dump = _dump(database)
    # The deliveries were recorded as failed, with the echo kept (its secrets masked).
    assert "INSERT INTO \"notifications\"" in dump and "HTTP 500" in dump
    assert "554" in dump
    for text, code in outputs:
        _assert_clean(text, f"CLI output (exit {code})")
    _assert_clean("\n".join(records.text), "log records")
    _assert_clean(dump, "store dump")
    for crash in (tmp_path / "crash").glob("*"):
        _assert_clean(crash.read_text(errors="replace"), f"crash log {crash.name}")
