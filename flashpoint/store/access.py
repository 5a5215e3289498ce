"""How commands open the store: writers create and upgrade it, readers never take the write lock.

Only commands that write call `open_for_writing`, which creates or migrates the schema (a write
transaction) and marks fetch runs whose process is gone as `interrupted`. Everything that only
reads (`score`, `status`, `replay`, `export`, `alerts list`, the dashboard's loaders) calls
`open_for_reading`: a read-only engine whose transactions never ask for the write lock, so a
long write elsewhere cannot make a read fail with "database is locked". A missing or un-migrated
store is a one-line `StoreNotReadyError`, not a schema change behind the reader's back.

`retry_busy` runs a read again, a bounded number of times and reporting each wait, when the
database still answers "busy" (on SQLite a reader can meet that only in rare moments, such as a
WAL reset by a checkpoint).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from flashpoint.errors import StoreError
from flashpoint.store.engine import (
    StoreNotReadyError,
    _describe,
    is_busy_error,
    make_engine,
    mask_url,
)
from flashpoint.store.runs import close_interrupted_runs
from flashpoint.store.schema import CURRENT_SCHEMA_VERSION, init_schema, read_schema_version

log = logging.getLogger("flashpoint.store")

T = TypeVar("T")

BUSY_ATTEMPTS = 5
BUSY_FIRST_WAIT_SECONDS = 0.5


def check_schema(engine: Engine) -> int:
    """The store's schema version, when it is the one this code reads.

    Raises:
        StoreNotReadyError: no schema yet, an older one (`flashpoint init` upgrades it) or a
            newer one.
    """
    shown = mask_url(engine.url)
    version = retry_busy(lambda: read_schema_version(engine), what="reading the schema version")
    if version is None:
        raise StoreNotReadyError(
            "uninitialised",
            f"the store at {shown} has no schema yet: run `flashpoint init` to create it "
            "(and `flashpoint load-snapshot` to load the bundled data)",
        )
    if version < CURRENT_SCHEMA_VERSION:
        raise StoreNotReadyError(
            "outdated",
            f"the store at {shown} has schema version {version}, this Flashpoint reads version "
            f"{CURRENT_SCHEMA_VERSION}: run `flashpoint init` to upgrade it",
        )
    if version > CURRENT_SCHEMA_VERSION:
        raise StoreNotReadyError(
            "newer",
            f"the store's schema version {version} is newer than this Flashpoint understands "
            f"({CURRENT_SCHEMA_VERSION}); upgrade Flashpoint",
        )
    return version


def open_for_reading(url: str, *, explicit_writes: bool = False) -> Engine:
    """A read-only engine on an existing store of the current schema version.

    Args:
        explicit_writes: let `begin_write` transactions write (the dashboard's admin actions);
            every other transaction stays read-only.

    Raises:
        StoreNotReadyError: the store is missing, has no schema or another schema version.
        StoreError: the store cannot be reached.
    """
    engine = make_engine(url, read_only=True, explicit_writes=explicit_writes)
    try:
        check_schema(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def open_for_writing(url: str) -> Engine:
    """An engine for a command that writes: schema created or upgraded, and fetch runs left
    `running` by a process that is gone marked `interrupted`.

    Raises:
        StoreError: the store cannot be reached, created or upgraded.
    """
    engine = make_engine(url)
    try:
        init_schema(engine)
        closed = close_interrupted_runs(engine)
    except BaseException:
        engine.dispose()
        raise
    if closed:
        log.warning(
            "marked %d fetch run(s) as interrupted: their process is gone",
            closed,
            extra={"event": "interrupted_runs", "interrupted_runs": closed},
        )
    return engine


def retry_busy(
    operation: Callable[[], T],
    *,
    what: str,
    attempts: int = BUSY_ATTEMPTS,
    first_wait: float = BUSY_FIRST_WAIT_SECONDS,
    report: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `operation`; while the store answers busy, wait (doubling) and try again.

    Each retry is reported (to `report`, else as a warning log line); after `attempts` tries the
    last busy answer becomes a one-line StoreError.
    """
    wait = first_wait
    for attempt in range(1, attempts + 1):
        try:
            return operation()
        except OperationalError as error:
            if not is_busy_error(error):
                raise
            if attempt == attempts:
                raise StoreError(
                    f"the store stayed busy while {what} ({attempts} attempts): "
                    f"{_describe(error)}"
                ) from None
            message = (
                f"store busy while {what}; retrying in {wait:.1f} s "
                f"(attempt {attempt + 1} of {attempts})"
            )
            if report is not None:
                report(message)
            else:
                log.warning(message, extra={"event": "store_busy", "attempt": attempt + 1})
            sleep(wait)
            wait *= 2
    raise AssertionError("unreachable")  # pragma: no cover
