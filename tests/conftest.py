"""Shared fixtures: store URLs and engines on SQLite and on a real PostgreSQL server.

The PostgreSQL server is started once per test session from the Debian binaries in
/usr/lib/postgresql/15/bin (as the `postgres` user when the suite runs as root, because initdb
refuses root), on a free loopback port, with its socket in a private temporary directory.
Each test that asks for `postgres_url` gets a fresh database. When the binaries are missing the
PostgreSQL tests fail loudly; set FLASHPOINT_SKIP_POSTGRES=1 to skip them instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

POSTGRES_BIN = Path(os.environ.get("FLASHPOINT_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
POSTGRES_ROLE = "flashpoint"


@dataclass(frozen=True)
class PostgresServer:
    """A running throw-away PostgreSQL server."""

    host: str
    port: int
    socket_dir: Path
    data_dir: Path

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of `database` on this server."""
        return f"postgresql+psycopg://{POSTGRES_ROLE}@{self.host}:{self.port}/{database}"

    def admin_conninfo(self) -> str:
        """A libpq connection string for the maintenance database."""
        return f"host={self.host} port={self.port} user={POSTGRES_ROLE} dbname=postgres"


@pytest.fixture(scope="session")
def snapshot_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file holding the bundled snapshot, loaded once per run for all workers.

    Read-only: copy it (tests.support.snapshot_template.copy_of_template) before writing.
    """
    from tests.support.snapshot_template import loaded_snapshot_template

    return loaded_snapshot_template(tmp_path_factory)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _as_postgres_user(command: list[str]) -> list[str]:
    """initdb and the server refuse to run as root: run them as `postgres` when we are root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def _run(command: list[str], what: str, log_file: Path | None = None) -> None:
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if completed.returncode != 0:
        log = ""
        if log_file is not None and log_file.exists():
            log = "\n--- server log ---\n" + log_file.read_text(errors="replace")[-4000:]
        pytest.fail(
            f"{what} failed (exit {completed.returncode}): {' '.join(command)}\n"
            f"{completed.stdout}\n{completed.stderr}{log}",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Start a real PostgreSQL 15 server for the session and stop it at the end."""
    initdb, pg_ctl = POSTGRES_BIN / "initdb", POSTGRES_BIN / "pg_ctl"
    if not (initdb.exists() and pg_ctl.exists()):
        message = (
            f"PostgreSQL binaries not found in {POSTGRES_BIN} (need initdb and pg_ctl; "
            "install postgresql-15, set FLASHPOINT_POSTGRES_BIN, or set "
            "FLASHPOINT_SKIP_POSTGRES=1 to skip the PostgreSQL tests)"
        )
        if os.environ.get("FLASHPOINT_SKIP_POSTGRES") == "1":
            pytest.skip(message)
        pytest.fail(message, pytrace=False)
    root = Path(tempfile.mkdtemp(prefix="flashpoint-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data_dir, log_file = root / "data", root / "server.log"
    _run(
        _as_postgres_user(
            [
                str(initdb),
                "-D",
                str(data_dir),
                "-A",
                "trust",
                "-U",
                POSTGRES_ROLE,
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ]
        ),
        "initdb",
    )
    port = _free_port()
    # Durability is pointless for a throw-away server; turning it off makes the suite faster.
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    start = [str(pg_ctl), "-D", str(data_dir), "-o", options, "-l", str(log_file)]
    _run(_as_postgres_user([*start, "-w", "-t", "60", "start"]), "pg_ctl start", log_file)
    try:
        yield PostgresServer(host="127.0.0.1", port=port, socket_dir=root, data_dir=data_dir)
    finally:
        subprocess.run(
            _as_postgres_user([str(pg_ctl), "-D", str(data_dir), "-m", "fast", "-w", "stop"]),
            capture_output=True,
            timeout=120,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database on the session's server; dropped after the test."""
    import psycopg

    name = f"fp_{uuid.uuid4().hex}"
    with psycopg.connect(postgres_server.admin_conninfo(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield postgres_server.url(name)
    with psycopg.connect(postgres_server.admin_conninfo(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """The URL of a not-yet-created SQLite file in the test's temporary directory."""
    return f"sqlite:///{tmp_path / 'store' / 'flashpoint.db'}"


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def store_url(request: pytest.FixtureRequest) -> str:
    """An empty store URL, once on SQLite and once on PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def store_engine(store_url: str) -> Iterator[Engine]:
    """An engine on an initialised, empty store, on SQLite and on PostgreSQL."""
    from flashpoint.store import init_schema, make_engine

    engine = make_engine(store_url)
    init_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def _restore_flashpoint_logging() -> Iterator[None]:
    """Commands and the dashboard configure the `flashpoint` logger (own handler, no propagation);
    restore it after each test so a later test's `caplog` still sees flashpoint's records."""
    import logging

    from flashpoint import logs

    saved = []
    for name in ("flashpoint", "apscheduler"):
        logger = logging.getLogger(name)
        saved.append((logger, list(logger.handlers), logger.propagate, logger.level))
    configured = logs._configured_level
    yield
    for logger, handlers, propagate, level in saved:
        logger.handlers[:] = handlers
        logger.propagate = propagate
        logger.setLevel(level)
    logs._configured_level = configured
