"""Engines from store URLs: URL masking, SQLite pragmas and the store's transaction discipline.

On SQLite every connection runs in WAL mode with a busy timeout; writers open with
`BEGIN IMMEDIATE` (through `begin_write`) so they queue instead of failing with "database is
locked", and readers use deferred transactions that never block the writer. A writer that still
finds the lock held when the busy timeout runs out (another process's long write) tries again a
bounded number of times, logging each wait, and then fails with one line.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, RootTransaction, make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)

from flashpoint.errors import StoreError

log = logging.getLogger("flashpoint.store")

# How long one SQLite statement waits for a lock before the driver answers "database is locked".
BUSY_TIMEOUT_MS = 10_000
# A writer that meets the busy answer when it asks for the write lock tries this many times in
# all, pausing between tries: with the busy timeout, about a minute of waiting before it gives up
# (a million-row import holds the lock for a few seconds; a stuck process would hold it for ever).
WRITE_LOCK_ATTEMPTS = 6
WRITE_LOCK_PAUSE_SECONDS = 1.0


def _utcnow() -> dt.datetime:
    """Now as naive UTC, the store's timestamp convention."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


_PASSWORD_IN_URL = re.compile(r"(?P<head>://[^:/@\s]*:)[^@\s]*@")


def mask_url(url: str | URL) -> str:
    """The URL with any password replaced by `***`, safe to print or log."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return _PASSWORD_IN_URL.sub(r"\g<head>***@", url)


def _normalise_url(url: str) -> URL:
    """Parse `url`, steering every PostgreSQL spelling to the psycopg 3 driver."""
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise StoreError(f"invalid store URL {mask_url(url)!r}: {error}") from None
    if parsed.drivername in {"postgresql", "postgres", "postgresql+psycopg2"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


class StoreNotReadyError(StoreError):
    """A read-only opening found no store, or one whose schema only a writing command can fix.

    `kind` is "missing" (no database), "uninitialised" (no schema), "outdated" (an older schema
    that `flashpoint init` upgrades) or "newer" (written by a newer Flashpoint).
    """

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        super().__init__(message)


def _sqlite_is_read_only(parsed: URL) -> bool:
    return str(parsed.query.get("mode", "")) == "ro"


def _sqlite_file(parsed: URL) -> Path | None:
    """The database file of a SQLite URL (None for in-memory and URI-style databases)."""
    database = parsed.database or ""
    is_uri = str(parsed.query.get("uri", "")).lower() == "true"
    if not database or database == ":memory:" or is_uri:
        return None
    return Path(database).expanduser()


def _install_sqlite_hooks(
    engine: Engine, *, read_only: bool, query_only: bool = False, explicit_writes: bool = False
) -> None:
    """Pragmas on every connection, and transactions that SQLite's driver does not mangle.

    `query_only` connections refuse every write (`PRAGMA query_only`) and never change the file's
    journal mode; with `explicit_writes` only `begin_write` transactions may write.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite (which would otherwise not BEGIN before
        # DDL, breaking atomic migrations); `_on_begin` below emits the BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_MS)}")
            if query_only:
                cursor.execute("PRAGMA query_only=ON")
            elif not read_only:
                cursor.execute("PRAGMA journal_mode=WAL")  # persistent in the file
            cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL
            cursor.execute("PRAGMA foreign_keys=ON")
            # A 32 MB page cache (default 2 MB) keeps the observation indexes in memory during
            # bulk upserts: about a third faster at 300k rows. Memory is only used as needed.
            cursor.execute("PRAGMA cache_size=-32768")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Writers take the write lock up front: a deferred transaction that reads and then
        # writes cannot wait on the busy timeout when another writer committed in between.
        writing = bool(connection.get_execution_options().get("flashpoint_write"))
        # A strictly read-only engine never asks for the write lock, not even in `begin_write`
        # (its writes fail at once with "attempt to write a readonly database").
        writing = writing and (explicit_writes or not query_only)
        if explicit_writes:
            # The pragma is per connection: set it for this transaction's kind, before BEGIN.
            connection.exec_driver_sql(f"PRAGMA query_only={'OFF' if writing else 'ON'}")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


def _install_postgresql_hooks(engine: Engine) -> None:
    """Sessions default to read-only transactions; `begin_write` transactions may write."""

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get("flashpoint_write"):
            # The first statement of the transaction, so it may still change its access mode.
            connection.exec_driver_sql("SET TRANSACTION READ WRITE")


def make_engine(url: str, *, read_only: bool = False, explicit_writes: bool = False) -> Engine:
    """An engine for `url`, checked by opening one connection.

    SQLite file URLs get their parent directory created and WAL, busy_timeout=10000,
    synchronous=NORMAL and foreign_keys=ON on every connection. `postgresql://` and
    `postgres://` are rewritten to `postgresql+psycopg://`.

    Args:
        read_only: every transaction is read-only (SQLite `PRAGMA query_only`, PostgreSQL
            `default_transaction_read_only`), so reading never takes or waits for the write
            lock, and a missing SQLite file is reported instead of created.
        explicit_writes: with `read_only`, transactions opened by `begin_write` may still write
            (the dashboard: it reads all the time and writes only on an admin's action).

    Raises:
        StoreNotReadyError: `read_only` and the SQLite file does not exist.
        StoreError: when the URL is invalid, the driver is missing or the database cannot be
            reached; the message never contains the URL's password.
    """
    parsed = _normalise_url(url)
    backend = parsed.get_backend_name()
    try:
        if backend == "sqlite":
            database = _sqlite_file(parsed)
            if database is not None and read_only and not database.exists():
                raise StoreNotReadyError(
                    "missing",
                    f"no store at {mask_url(parsed)} yet: run `flashpoint init` to create it "
                    "(and `flashpoint load-snapshot` to load the bundled data)",
                )
            if database is not None and not read_only:
                database.parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(parsed)
            _install_sqlite_hooks(
                engine,
                read_only=_sqlite_is_read_only(parsed),
                query_only=read_only,
                explicit_writes=read_only and explicit_writes,
            )
        elif backend == "postgresql":
            connect_args: dict[str, Any] = {}
            if "connect_timeout" not in parsed.query:
                connect_args["connect_timeout"] = 10
            if read_only and "options" not in parsed.query:
                connect_args["options"] = "-c default_transaction_read_only=on"
            engine = sa.create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
            if read_only and explicit_writes:
                _install_postgresql_hooks(engine)
        else:
            raise StoreError(
                f"unsupported store URL {mask_url(parsed)!r}: use sqlite:/// or postgresql+psycopg://"
            )
    except (NoSuchModuleError, ArgumentError, ImportError) as error:
        raise StoreError(
            f"cannot use store URL {mask_url(parsed)!r}: {_describe(error, parsed)}"
        ) from None
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as error:
        engine.dispose()
        raise StoreError(
            f"cannot connect to the store at {mask_url(parsed)}: {_describe(error, parsed)}"
        ) from None
    return engine


def _describe(error: BaseException, url: URL | None = None) -> str:
    """The driver's own message, first line only, with any password scrubbed."""
    original = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    if isinstance(original, ModuleNotFoundError) and (original.name or "").startswith("psycopg"):
        return "the PostgreSQL driver is not installed: pip install 'flashpoint[postgres]'"
    message = str(original).strip().splitlines()[0] if str(original).strip() else repr(original)
    if url is not None and url.password:
        message = message.replace(str(url.password), "***")
    return message


def is_busy_error(error: BaseException) -> bool:
    """True for the database's "locked / busy, try again" answers."""
    text = str(getattr(error, "orig", None) or error).lower()
    return any(
        phrase in text
        for phrase in ("database is locked", "database is busy", "database table is locked")
    )


def begin_writing(connection: Connection) -> RootTransaction:
    """Begin a write transaction on `connection`, waiting out another writer's lock.

    On SQLite `BEGIN IMMEDIATE` waits up to the busy timeout for the write lock; when another
    process holds it longer (a big import's switch), the begin is tried again, up to
    `WRITE_LOCK_ATTEMPTS` times, each wait logged as a warning. Nothing has been written when
    a begin fails, so trying again is safe.

    Raises:
        StoreError: the lock stayed taken through every attempt (one line, how long it waited).
    """
    connection.execution_options(flashpoint_write=True)
    started = time.monotonic()
    for attempt in range(1, WRITE_LOCK_ATTEMPTS + 1):
        try:
            return connection.begin()
        except OperationalError as error:
            if not is_busy_error(error):
                raise
            if connection.in_transaction():
                connection.rollback()
            waited = time.monotonic() - started
            if attempt == WRITE_LOCK_ATTEMPTS:
                raise StoreError(
                    f"the store stayed locked by another writer for {waited:.0f} s "
                    f"({attempt} attempts to write); try again when it has finished"
                ) from None
            log.warning(
                "store locked by another writer for %.0f s so far; waiting for it "
                "(attempt %d of %d)",
                waited,
                attempt + 1,
                WRITE_LOCK_ATTEMPTS,
                extra={"event": "store_write_busy", "attempt": attempt + 1},
            )
            time.sleep(WRITE_LOCK_PAUSE_SECONDS)
    raise AssertionError("unreachable")  # pragma: no cover


@contextmanager
def begin_write(engine: Engine) -> Iterator[Connection]:
    """A write transaction: commits on success, rolls back on error.

    On SQLite it starts with `BEGIN IMMEDIATE` so concurrent writers queue instead of failing,
    and a lock held past the busy timeout is waited out with bounded, logged retries
    (`begin_writing`).
    """
    with engine.connect() as connection, begin_writing(connection):
        yield connection


@contextmanager
def _writing(bind: Engine | Connection) -> Iterator[Connection]:
    """A write transaction on an engine, or the caller's own transaction on a connection."""
    if isinstance(bind, Connection):
        yield bind
    else:
        with begin_write(bind) as connection:
            yield connection


@contextmanager
def _reading(bind: Engine | Connection) -> Iterator[Connection]:
    if isinstance(bind, Connection):
        yield bind
    else:
        with bind.connect() as connection:
            yield connection
