"""Real loopback receivers for notification tests: an aiosmtpd SMTP server, an HTTP webhook sink."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    """A loopback TCP port nobody listens on (bound and released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class ReceivedMail:
    """One message the SMTP server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    message: Message
    login: str | None

    @property
    def body(self) -> str:
        """The decoded plain-text body."""
        assert isinstance(self.message, EmailMessage)
        content = self.message.get_content()
        assert isinstance(content, str)
        return content


@dataclass
class MailSink:
    """aiosmtpd handler that keeps every message it receives."""

    received: list[ReceivedMail] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        login = session.auth_data.decode() if session.auth_data else None
        self.received.append(
            ReceivedMail(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                message_from_bytes(
                    envelope.original_content or envelope.content, policy=policy.default
                ),
                login,
            )
        )
        return "250 Message accepted for delivery"


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A throw-away self-signed certificate for 127.0.0.1 (openssl CLI), as (cert, key)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("openssl is needed to make a test certificate")
    cert, key = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def check_login(username: str, password: str) -> Any:
    """An aiosmtpd authenticator accepting exactly (username, password)."""

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == username
            and data.password.decode() == password
        )
        return AuthResult(success=ok, handled=False, auth_data=data.login if ok else None)

    return authenticator


@contextmanager
def smtp_server(**smtp_kwargs: Any) -> Iterator[tuple[MailSink, int]]:
    """A real SMTP server on 127.0.0.1:<free port>; yields (sink, port)."""
    sink = MailSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, **smtp_kwargs)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


@dataclass
class ReceivedRequest:
    """One request the webhook sink received."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@contextmanager
def webhook_server(status: int = 200) -> Iterator[tuple[list[ReceivedRequest], str]]:
    """A real HTTP server on a loopback port answering every POST with `status`; yields
    (received requests, base URL)."""
    received: list[ReceivedRequest] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            received.append(ReceivedRequest(self.path, dict(self.headers.items()), body))
            payload = b"ok" if status < 400 else b"synthetic failure from the test receiver"
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def server_tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """The server side of a TLS connection with the given certificate."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context
