"""The store: every observation, revision, fetch run, alert and annotation, in SQLite or PostgreSQL.

SQLAlchemy 2 Core only. The tables are defined once in `metadata` with portable types; timestamps
are stored as naive UTC. The URL picks the engine (`sqlite:///data/flashpoint.db` or
`postgresql+psycopg://user@host/db`); dialect branches exist only for pragmas, locking and upserts.

Concurrency discipline (Datasette's): one writer, many readers, short write transactions. On SQLite
the database runs in WAL mode, readers use deferred transactions (they never block the writer)
and every store write opens with `BEGIN IMMEDIATE`, so two writers queue on the busy timeout
instead of failing with "database is locked" when a read transaction tries to upgrade. On
PostgreSQL the observation upsert takes a table lock that only blocks other writers.
Other rooms that write their own tables should use `begin_write(engine)` for the same behaviour.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from flashpoint.errors import StoreError
from indicators.observations import (
    OBSERVATION_COLUMNS,
    OBSERVATION_KEY,
    conform_observations,
    empty_observations,
)

__all__ = [
    "CURRENT_SCHEMA_VERSION",
    "FETCH_RUN_STATUSES",
    "MIGRATIONS",
    "UpsertCounts",
    "acled_events",
    "add_event",
    "alert_events",
    "alert_rules",
    "alert_state",
    "audit_log",
    "begin_write",
    "data_version",
    "events",
    "fetch_runs",
    "finish_fetch_run",
    "get_http_validator",
    "http_validators",
    "init_schema",
    "integrity_check",
    "is_empty",
    "last_fetch_runs",
    "latest_periods",
    "make_engine",
    "mask_url",
    "metadata",
    "notifications",
    "observations",
    "read_acled_events",
    "read_audit",
    "read_events",
    "read_fetch_runs",
    "read_http_validators",
    "read_observations",
    "read_revisions",
    "read_schema_version",
    "read_scores",
    "revisions",
    "save_scores",
    "schema_meta",
    "scores",
    "set_http_validator",
    "silences",
    "start_fetch_run",
    "store_summary",
    "upsert_acled_events",
    "upsert_events",
    "upsert_observations",
    "write_audit",
]

CURRENT_SCHEMA_VERSION: Final = 3

FETCH_RUN_STATUSES: Final = frozenset({"running", "ok", "not_modified", "error", "partial"})

# Rows per executemany / IN-list chunk. Small enough for SQLite's bound-variable limit and for
# PostgreSQL's statement size, large enough that 300k rows are a few hundred round trips.
_CHUNK_SIZE = 5_000
_IN_CHUNK = 500
# Relative tolerance under which a re-fetched value counts as unchanged (float noise from parsing).
_VALUE_RTOL = 1e-12
# Arbitrary constant key for PostgreSQL's advisory lock that serialises `init_schema`.
_PG_SCHEMA_LOCK_KEY = 0x46_4C_41_53  # "FLAS"

metadata = MetaData()

schema_meta = Table(
    "schema_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

fetch_runs = Table(
    "fetch_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(64), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("status", String(16), nullable=False),
    Column("requests", Integer, nullable=False, default=0),
    Column("rows_new", Integer, nullable=False, default=0),
    Column("rows_changed", Integer, nullable=False, default=0),
    Column("rows_unchanged", Integer, nullable=False, default=0),
    Column("error", Text),
    Column("detail", JSON),
    Index("ix_fetch_runs_source", "source", "id"),
)

observations = Table(
    "observations",
    metadata,
    Column("indicator", String(80), primary_key=True),
    Column("country", String(8), primary_key=True),
    Column("period", Date, primary_key=True),
    Column("vintage", String(32), primary_key=True),
    Column("value", Double, nullable=False),
    Column("unit", String(64), nullable=False),
    Column("source", String(64), nullable=False),
    Column("is_forecast", Boolean, nullable=False, default=False),
    Column("published_at", DateTime),
    Column("fetched_at", DateTime, nullable=False),
    Column("fetch_run_id", Integer, ForeignKey("fetch_runs.id")),
    Index("ix_observations_country_indicator", "country", "indicator"),
    # data_version() reads max(fetched_at) on every dashboard rerun: an index, not a full scan.
    Index("ix_observations_fetched_at", "fetched_at"),
)

revisions = Table(
    "revisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("indicator", String(80), nullable=False),
    Column("country", String(8), nullable=False),
    Column("period", Date, nullable=False),
    Column("vintage", String(32), nullable=False),
    Column("old_value", Double, nullable=False),
    Column("new_value", Double, nullable=False),
    Column("old_fetched_at", DateTime),
    Column("revised_at", DateTime, nullable=False),
    Column("fetch_run_id", Integer, ForeignKey("fetch_runs.id")),
    Index("ix_revisions_series", "indicator", "country"),
)

http_validators = Table(
    "http_validators",
    metadata,
    Column("url_key", String(512), primary_key=True),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("updated_at", DateTime, nullable=False),
)

alert_rules = Table(
    "alert_rules",
    metadata,
    Column("rule_id", String(80), primary_key=True),
    Column("definition", JSON, nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("updated_at", DateTime, nullable=False),
    Column("updated_by", String(120), nullable=False, default=""),
    Column("deleted", Boolean, nullable=False, default=False),
)

alert_state = Table(
    "alert_state",
    metadata,
    Column("rule_id", String(80), primary_key=True),
    Column("country", String(8), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("since", DateTime, nullable=False),
    Column("pending_count", Integer, nullable=False, default=0),
    Column("last_value", Double),
    Column("last_evaluated_at", DateTime),
    Column("last_notified_at", DateTime),
)

alert_events = Table(
    "alert_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rule_id", String(80), nullable=False),
    Column("country", String(8), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("from_state", String(16), nullable=False),
    Column("to_state", String(16), nullable=False),
    Column("value", Double),
    Column("threshold", Double),
    Column("message", Text, nullable=False, default=""),
    Index("ix_alert_events_rule_country", "rule_id", "country"),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_event_id", Integer, ForeignKey("alert_events.id"), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", Text),
    Column("at", DateTime, nullable=False),
)

silences = Table(
    "silences",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rule_id", String(80)),
    Column("country", String(8)),
    Column("until", DateTime, nullable=False),
    Column("comment", Text, nullable=False, default=""),
    Column("created_by", String(120), nullable=False, default=""),
    Column("created_at", DateTime, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("actor", String(120), nullable=False),
    Column("action", String(64), nullable=False),
    Column("object", String(256), nullable=False),
    Column("old", JSON),
    Column("new", JSON),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("country", String(8), nullable=False),
    Column("date", Date, nullable=False),
    Column("title", String(300), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("source_url", Text, nullable=False, default=""),
    UniqueConstraint("country", "date", "title", name="uq_events_country_date_title"),
)

scores = Table(
    "scores",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("country", String(8), nullable=False),
    Column("computed_at", DateTime, nullable=False),
    Column("as_of", DateTime, nullable=False),
    Column("composite", Double),
    Column("band", String(32)),
    Column("detail", JSON),
    Index("ix_scores_country_computed", "country", "computed_at"),
)

# Raw ACLED rows: licensed data, kept local only, never exported or bundled into a snapshot.
acled_events = Table(
    "acled_events",
    metadata,
    Column("event_id_cnty", String(64), primary_key=True),
    Column("event_date", Date, nullable=False),
    Column("country", String(8), nullable=False),
    Column("event_type", String(80), nullable=False),
    Column("sub_event_type", String(120), nullable=False, default=""),
    Column("fatalities", Integer, nullable=False, default=0),
    Column("admin1", String(120), nullable=False, default=""),
    Column("location", String(200), nullable=False, default=""),
    Column("latitude", Double),
    Column("longitude", Double),
    Column("notes", Text, nullable=False, default=""),
    Column("fetched_at", DateTime, nullable=False),
    Index("ix_acled_events_country_date", "country", "event_date"),
)


@dataclass(frozen=True)
class UpsertCounts:
    """What an upsert did: rows inserted, rows whose stored value was revised, rows left alone."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        """Rows offered to the upsert."""
        return self.new + self.changed + self.unchanged

    @property
    def written(self) -> int:
        """Rows actually written (new plus changed)."""
        return self.new + self.changed


# --------------------------------------------------------------------------------------------
# Engine


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


def _sqlite_is_read_only(parsed: URL) -> bool:
    return str(parsed.query.get("mode", "")) == "ro"


def _install_sqlite_hooks(engine: Engine, *, read_only: bool) -> None:
    """Pragmas on every connection, and transactions that SQLite's driver does not mangle."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite (which would otherwise not BEGIN before
        # DDL, breaking atomic migrations); `_on_begin` below emits the BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA busy_timeout=10000")
            if not read_only:
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
        if connection.get_execution_options().get("flashpoint_write"):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


def make_engine(url: str) -> Engine:
    """An engine for `url`, checked by opening one connection.

    SQLite file URLs get their parent directory created and WAL, busy_timeout=10000,
    synchronous=NORMAL and foreign_keys=ON on every connection. `postgresql://` and
    `postgres://` are rewritten to `postgresql+psycopg://`.

    Raises:
        StoreError: when the URL is invalid, the driver is missing or the database cannot be
            reached; the message never contains the URL's password.
    """
    parsed = _normalise_url(url)
    backend = parsed.get_backend_name()
    try:
        if backend == "sqlite":
            database = parsed.database or ""
            is_uri = str(parsed.query.get("uri", "")).lower() == "true"
            if database and database != ":memory:" and not is_uri:
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(parsed)
            _install_sqlite_hooks(engine, read_only=_sqlite_is_read_only(parsed))
        elif backend == "postgresql":
            connect_args: dict[str, Any] = {}
            if "connect_timeout" not in parsed.query:
                connect_args["connect_timeout"] = 10
            engine = sa.create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
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


@contextmanager
def begin_write(engine: Engine) -> Iterator[Connection]:
    """A write transaction: commits on success, rolls back on error.

    On SQLite it starts with `BEGIN IMMEDIATE` so concurrent writers queue instead of failing.
    """
    with engine.connect() as connection:
        connection.execution_options(flashpoint_write=True)
        with connection.begin():
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


# --------------------------------------------------------------------------------------------
# Schema and migrations


def _column_names(connection: Connection, table: str) -> set[str]:
    return {column["name"] for column in sa.inspect(connection).get_columns(table)}


def _upgrade_1_to_2(connection: Connection) -> None:
    """v2: observations gain `is_forecast` and `published_at`; `scores`, `acled_events` appear."""
    dialect = connection.dialect
    existing = _column_names(connection, "observations")
    if "is_forecast" not in existing:
        boolean = Boolean().compile(dialect=dialect)
        false = "FALSE" if dialect.name == "postgresql" else "0"
        connection.exec_driver_sql(
            f"ALTER TABLE observations ADD COLUMN is_forecast {boolean} NOT NULL DEFAULT {false}"
        )
    if "published_at" not in existing:
        timestamp = DateTime().compile(dialect=dialect)
        connection.exec_driver_sql(f"ALTER TABLE observations ADD COLUMN published_at {timestamp}")
    scores.create(connection, checkfirst=True)
    acled_events.create(connection, checkfirst=True)


def _upgrade_2_to_3(connection: Connection) -> None:
    """v3: an index on `observations.fetched_at` (the dashboard's data-version probe)."""
    for index in observations.indexes:
        if index.name == "ix_observations_fetched_at":
            index.create(connection, checkfirst=True)


# Ordered upgrade steps: (version reached, step). A step must be safe to re-run on a database
# that is already partly in the new shape.
MIGRATIONS: list[tuple[int, Callable[[Connection], None]]] = [
    (2, _upgrade_1_to_2),
    (3, _upgrade_2_to_3),
]


def _stored_version(connection: Connection) -> int | None:
    """The schema version recorded in the database, or None for an empty database."""
    tables = set(sa.inspect(connection).get_table_names())
    if "schema_meta" not in tables:
        if "observations" in tables:
            raise StoreError(
                "the database has an observations table but no schema_meta: "
                "not a Flashpoint store, or one damaged by hand"
            )
        return None
    value = connection.execute(
        sa.select(schema_meta.c.value).where(schema_meta.c.key == "schema_version")
    ).scalar_one_or_none()
    if value is None:
        return None if "observations" not in tables else 1
    try:
        return int(value)
    except ValueError:
        raise StoreError(f"schema_meta.schema_version is not a number: {value!r}") from None


def _set_version(connection: Connection, version: int) -> None:
    updated = connection.execute(
        schema_meta.update().where(schema_meta.c.key == "schema_version").values(value=str(version))
    )
    if updated.rowcount == 0:
        connection.execute(schema_meta.insert().values(key="schema_version", value=str(version)))


def _init_schema_locked(connection: Connection) -> int:
    if connection.dialect.name == "postgresql":
        # Serialise concurrent initialisers; PostgreSQL's DDL is transactional, so the second
        # one sees the first one's tables once the lock is released.
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_SCHEMA_LOCK_KEY)))
    version = _stored_version(connection)
    if version is not None and version > CURRENT_SCHEMA_VERSION:
        raise StoreError(
            f"the store's schema version {version} is newer than this Flashpoint understands "
            f"({CURRENT_SCHEMA_VERSION}); upgrade Flashpoint"
        )
    if version is None:
        metadata.create_all(connection, checkfirst=True)
        _set_version(connection, CURRENT_SCHEMA_VERSION)
        return CURRENT_SCHEMA_VERSION
    for target, step in MIGRATIONS:
        if target > version:
            step(connection)
            _set_version(connection, target)
            version = target
    # Tables and indexes added since without a step of their own.
    metadata.create_all(connection, checkfirst=True)
    return version


def _is_already_exists(error: BaseException) -> bool:
    text = str(error).lower()
    return "already exists" in text or "duplicate key" in text or "duplicate column" in text


def init_schema(engine: Engine) -> int:
    """Create every table, or upgrade an older store in order; returns the schema version.

    Idempotent, and safe when several processes call it at once: SQLite serialises them with
    `BEGIN IMMEDIATE`, PostgreSQL with an advisory lock, and an "already exists" race that slips
    through anyway is retried.

    Raises:
        StoreError: when the database is unreachable, newer than this code, or not a store.
    """
    attempts = 3
    for attempt in range(attempts):
        try:
            with begin_write(engine) as connection:
                return _init_schema_locked(connection)
        except SQLAlchemyError as error:
            if _is_already_exists(error) and attempt < attempts - 1:
                continue
            raise StoreError(
                f"cannot initialise the store at {mask_url(engine.url)}: "
                f"{_describe(error, engine.url)}"
            ) from error
    raise AssertionError("unreachable")  # pragma: no cover


def read_schema_version(engine: Engine) -> int | None:
    """The schema version stored in the database (None when it has no schema yet)."""
    with engine.connect() as connection:
        return _stored_version(connection)


# --------------------------------------------------------------------------------------------
# Conversions between pandas and the database
#
# The bulk paths (observation and revision writes, observation reads) bypass SQLAlchemy's
# per-value type processing, which dominates at 10^5 rows: values are converted column-wise
# with numpy into what the driver stores natively (SQLite: the same ISO text SQLAlchemy's own
# Date/DateTime/Boolean types write, so both paths read each other's rows; PostgreSQL: Python
# date/datetime/bool objects, which psycopg binds itself) and sent with one executemany per
# chunk.


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _dates(series: pd.Series) -> np.ndarray:
    """datetime64 → datetime.date objects (vectorised through numpy's day resolution)."""
    return series.to_numpy(dtype="datetime64[D]").astype(object)


def _timestamps(series: pd.Series) -> np.ndarray:
    """datetime64 → datetime.datetime objects, NaT → None."""
    return series.to_numpy(dtype="datetime64[us]").astype(object)


def _to_day(value: Any) -> dt.date:
    return pd.Timestamp(value).date()


def _frame(result: sa.CursorResult[Any]) -> pd.DataFrame:
    """A result as a frame, built column-wise (pandas' row-wise path probes every Row object)."""
    keys = list(result.keys())
    rows = result.all()
    if not rows:
        return pd.DataFrame(columns=keys)
    columns = zip(*rows, strict=True)
    return pd.DataFrame({key: list(column) for key, column in zip(keys, columns, strict=True)})


def _as_datetime(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    for name in columns:
        frame[name] = pd.to_datetime(frame[name], format="ISO8601").astype("datetime64[ns]")
    return frame


def _is_sqlite(connection: Connection) -> bool:
    return connection.dialect.name == "sqlite"


def _bind_dates(connection: Connection, series: pd.Series) -> list[Any]:
    days = series.to_numpy(dtype="datetime64[D]")
    if _is_sqlite(connection):
        text = np.datetime_as_string(days, unit="D").astype(object)
        text[np.isnat(days)] = None
        return list(text.tolist())
    return list(days.astype(object).tolist())


def _bind_timestamps(connection: Connection, series: pd.Series) -> list[Any]:
    moments = series.to_numpy(dtype="datetime64[us]")
    if _is_sqlite(connection):
        # SQLAlchemy's SQLite DateTime storage format: "YYYY-MM-DD HH:MM:SS.ffffff".
        text = np.char.replace(np.datetime_as_string(moments, unit="us"), "T", " ").astype(object)
        text[np.isnat(moments)] = None
        return list(text.tolist())
    return list(moments.astype(object).tolist())


def _bind_bools(connection: Connection, series: pd.Series) -> list[Any]:
    flags = series.to_numpy(dtype=bool)
    return list(flags.astype(int).tolist()) if _is_sqlite(connection) else list(flags.tolist())


def _bind_strings(series: pd.Series) -> list[Any]:
    return list(series.astype(str).to_numpy(dtype=object).tolist())


def _bind_floats(series: pd.Series) -> list[Any]:
    return list(series.to_numpy(dtype="float64").tolist())


def _executemany(
    connection: Connection,
    sql: str,
    columns: Sequence[list[Any]],
) -> None:
    """Run `sql` once per row of the column lists, `_CHUNK_SIZE` rows per driver call."""
    rows = list(zip(*columns, strict=True))
    for chunk in _chunks(rows, _CHUNK_SIZE):
        connection.exec_driver_sql(sql, list(chunk))


def _placeholder(connection: Connection) -> str:
    return "?" if connection.dialect.paramstyle == "qmark" else "%s"


def _insert_sql(connection: Connection, table: Table, names: Sequence[str]) -> str:
    quote = connection.dialect.identifier_preparer.quote
    marks = ", ".join([_placeholder(connection)] * len(names))
    return f"INSERT INTO {table.name} ({', '.join(quote(n) for n in names)}) VALUES ({marks})"


def _update_sql(
    connection: Connection, table: Table, names: Sequence[str], key: Sequence[str]
) -> str:
    quote, mark = connection.dialect.identifier_preparer.quote, _placeholder(connection)
    assignments = ", ".join(f"{quote(name)} = {mark}" for name in names)
    condition = " AND ".join(f"{quote(name)} = {mark}" for name in key)
    return f"UPDATE {table.name} SET {assignments} WHERE {condition}"


def _raw(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """`column` without SQLAlchemy's per-value result processing (decoded column-wise later)."""
    if isinstance(column.type, sa.Date | sa.DateTime):
        return sa.type_coerce(column, sa.String).label(column.key)
    if isinstance(column.type, sa.Boolean):
        return sa.type_coerce(column, sa.Integer).label(column.key)
    return column


# --------------------------------------------------------------------------------------------
# Observations

_KEY = list(OBSERVATION_KEY)
# Columns whose difference makes a stored row "changed" (besides the value, compared with a
# tolerance). published_at counts only when the new frame knows it.
_META_COLUMNS = ("unit", "source", "is_forecast")
_OBSERVATION_TIMES = ("period", "published_at", "fetched_at")
_OBSERVATION_STRINGS = ("indicator", "country", "vintage", "unit", "source")


def _check_duplicates(frame: pd.DataFrame) -> None:
    duplicated = frame.duplicated(subset=_KEY, keep="first")
    if bool(duplicated.any()):
        row = frame[duplicated.to_numpy()].iloc[0]
        period = pd.Timestamp(row["period"]).date().isoformat()
        raise ValueError(
            "duplicate observation key in frame: "
            f"indicator={row['indicator']!r}, country={row['country']!r}, "
            f"period={period}, vintage={row['vintage']!r}"
        )


def _decode_observations(raw: pd.DataFrame) -> pd.DataFrame:
    """Rows selected through `_raw` columns → canonical column dtypes."""
    if raw.empty:
        return empty_observations().loc[:, list(raw.columns)]
    for name in _OBSERVATION_STRINGS:
        if name in raw.columns:
            raw[name] = raw[name].astype(str)
    if "value" in raw.columns:
        raw["value"] = raw["value"].astype("float64")
    if "is_forecast" in raw.columns:
        raw["is_forecast"] = raw["is_forecast"].astype(bool)
    return _as_datetime(raw, [name for name in _OBSERVATION_TIMES if name in raw.columns])


def _select_observations() -> sa.Select[Any]:
    return sa.select(*(_raw(observations.c[name]) for name in OBSERVATION_COLUMNS))


def _read_existing(connection: Connection, frame: pd.DataFrame) -> pd.DataFrame:
    """Stored rows that may share a key with `frame`: per indicator, chunked IN on country,
    bounded by the frame's period range. A superset; the caller merges on the full key."""
    parts: list[pd.DataFrame] = []
    for indicator, group in frame.groupby("indicator", sort=False):
        countries = sorted(group["country"].unique().tolist())
        low, high = _to_day(group["period"].min()), _to_day(group["period"].max())
        for chunk in _chunks(countries, _IN_CHUNK):
            query = _select_observations().where(
                observations.c.indicator == str(indicator),
                observations.c.country.in_(list(chunk)),
                observations.c.period.between(low, high),
            )
            part = _frame(connection.execute(query))
            if not part.empty:
                parts.append(part)
    if not parts:
        return empty_observations()
    return _decode_observations(pd.concat(parts, ignore_index=True))


def _classify(
    frame: pd.DataFrame, existing: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Split `frame` into new rows, changed rows (with old_value/old_fetched_at) and a count of
    unchanged rows."""
    stored = existing.rename(
        columns={name: f"old_{name}" for name in existing.columns if name not in _KEY}
    )
    merged = frame.merge(stored, on=_KEY, how="left", indicator="_match", validate="one_to_one")
    is_new = (merged["_match"] == "left_only").to_numpy()
    old_value = merged["old_value"].to_numpy(dtype="float64", na_value=np.nan)
    new_value = merged["value"].to_numpy(dtype="float64")
    value_changed = ~np.isclose(new_value, old_value, rtol=_VALUE_RTOL, atol=0.0)
    meta_changed = np.zeros(len(merged), dtype=bool)
    for name in _META_COLUMNS:
        meta_changed |= (merged[name] != merged[f"old_{name}"]).to_numpy(dtype=bool)
    published_known = merged["published_at"].notna().to_numpy()
    published_differs = (merged["published_at"] != merged["old_published_at"]).to_numpy(dtype=bool)
    meta_changed |= published_known & published_differs
    is_changed = ~is_new & (value_changed | meta_changed)
    merged["_value_changed"] = value_changed
    new_rows = merged.loc[is_new, list(frame.columns)]
    changed_rows = merged.loc[is_changed]
    # A changed row keeps a published_at it already had when the new frame does not know it.
    changed_rows = changed_rows.assign(
        published_at=changed_rows["published_at"].fillna(changed_rows["old_published_at"])
    )
    unchanged = int((~is_new & ~is_changed).sum())
    return new_rows, changed_rows, unchanged


def _lock_observations(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Blocks other writers of observations (their classification would race ours) but not
        # readers. SQLite's BEGIN IMMEDIATE already gives the same guarantee.
        connection.exec_driver_sql("LOCK TABLE observations IN SHARE ROW EXCLUSIVE MODE")


_OBSERVATION_VALUE_COLUMNS = (
    "value",
    "unit",
    "source",
    "is_forecast",
    "published_at",
    "fetched_at",
    "fetch_run_id",
)


def _observation_columns(
    connection: Connection, rows: pd.DataFrame, fetch_run_id: int | None
) -> dict[str, list[Any]]:
    """Bound values for every stored observation column, column by column."""
    return {
        "indicator": _bind_strings(rows["indicator"]),
        "country": _bind_strings(rows["country"]),
        "period": _bind_dates(connection, rows["period"]),
        "vintage": _bind_strings(rows["vintage"]),
        "value": _bind_floats(rows["value"]),
        "unit": _bind_strings(rows["unit"]),
        "source": _bind_strings(rows["source"]),
        "is_forecast": _bind_bools(connection, rows["is_forecast"]),
        "published_at": _bind_timestamps(connection, rows["published_at"]),
        "fetched_at": _bind_timestamps(connection, rows["fetched_at"]),
        "fetch_run_id": [fetch_run_id] * len(rows),
    }


def _insert_observations(
    connection: Connection, rows: pd.DataFrame, fetch_run_id: int | None
) -> None:
    if rows.empty:
        return
    values = _observation_columns(connection, rows, fetch_run_id)
    names = list(values)
    _executemany(connection, _insert_sql(connection, observations, names), list(values.values()))


def _update_observations(
    connection: Connection, rows: pd.DataFrame, fetch_run_id: int | None
) -> None:
    if rows.empty:
        return
    values = _observation_columns(connection, rows, fetch_run_id)
    sql = _update_sql(connection, observations, _OBSERVATION_VALUE_COLUMNS, _KEY)
    ordered = [values[name] for name in (*_OBSERVATION_VALUE_COLUMNS, *_KEY)]
    _executemany(connection, sql, ordered)


def _insert_revisions(
    connection: Connection, revised: pd.DataFrame, revised_at: dt.datetime, fetch_run_id: int | None
) -> None:
    if revised.empty:
        return
    values = {
        "indicator": _bind_strings(revised["indicator"]),
        "country": _bind_strings(revised["country"]),
        "period": _bind_dates(connection, revised["period"]),
        "vintage": _bind_strings(revised["vintage"]),
        "old_value": _bind_floats(revised["old_value"]),
        "new_value": _bind_floats(revised["value"]),
        "old_fetched_at": _bind_timestamps(connection, revised["old_fetched_at"]),
        "revised_at": _bind_timestamps(
            connection, pd.Series(pd.Timestamp(revised_at), index=revised.index)
        ),
        "fetch_run_id": [fetch_run_id] * len(revised),
    }
    sql = _insert_sql(connection, revisions, list(values))
    _executemany(connection, sql, list(values.values()))


def _write_changes_postgresql(
    connection: Connection,
    new_rows: pd.DataFrame,
    changed_rows: pd.DataFrame,
    revised_at: dt.datetime,
    fetch_run_id: int | None,
) -> None:
    """PostgreSQL's bulk path: COPY every row to write into a temporary staging table, then one
    INSERT … SELECT for new rows, one for revisions and one UPDATE … FROM for changed rows.
    (executemany of 10^5 UPDATEs takes several times longer.)"""
    if new_rows.empty and changed_rows.empty:
        return
    kinds = np.concatenate(
        [
            np.full(len(new_rows), "new", dtype=object),
            np.where(changed_rows["_value_changed"].to_numpy(dtype=bool), "revised", "changed"),
        ]
    )
    rows = pd.concat(
        [
            new_rows.loc[:, list(OBSERVATION_COLUMNS)],
            changed_rows.loc[:, list(OBSERVATION_COLUMNS)],
        ],
        ignore_index=True,
    )
    values = _observation_columns(connection, rows, fetch_run_id)
    values["stage_kind"] = list(kinds.tolist())
    # The previous value and fetch time travel with the row, so the revision insert needs no join.
    old_values = pd.concat(
        [pd.Series(np.nan, index=new_rows.index), changed_rows["old_value"]], ignore_index=True
    )
    old_fetched = pd.concat(
        [
            pd.Series(pd.NaT, index=new_rows.index, dtype="datetime64[ns]"),
            changed_rows["old_fetched_at"],
        ],
        ignore_index=True,
    )
    values["stage_old_value"] = [None if np.isnan(v) else v for v in _bind_floats(old_values)]
    values["stage_old_fetched_at"] = _bind_timestamps(connection, old_fetched)
    stage = f"fp_stage_{uuid.uuid4().hex[:16]}"
    connection.exec_driver_sql(f"CREATE TEMPORARY TABLE {stage} (LIKE observations) ON COMMIT DROP")
    connection.exec_driver_sql(
        f"ALTER TABLE {stage} ADD COLUMN stage_kind text NOT NULL,"
        " ADD COLUMN stage_old_value double precision,"
        " ADD COLUMN stage_old_fetched_at timestamp without time zone"
    )
    names = list(values)
    driver_connection = connection.connection.driver_connection
    assert driver_connection is not None
    with (
        driver_connection.cursor() as cursor,
        cursor.copy(f"COPY {stage} ({', '.join(names)}) FROM STDIN") as copy,
    ):
        for row in zip(*values.values(), strict=True):
            copy.write_row(row)
    # Row estimates for the joins below; an unanalysed temporary table is planned blind.
    connection.exec_driver_sql(f"ANALYZE {stage}")
    columns = ", ".join((*OBSERVATION_COLUMNS, "fetch_run_id"))
    connection.exec_driver_sql(
        f"INSERT INTO observations ({columns}) "
        f"SELECT {columns} FROM {stage} WHERE stage_kind = 'new'"
    )
    connection.exec_driver_sql(
        "INSERT INTO revisions (indicator, country, period, vintage, old_value, new_value,"
        " old_fetched_at, revised_at, fetch_run_id)"
        " SELECT indicator, country, period, vintage, stage_old_value, value,"
        f" stage_old_fetched_at, %(revised_at)s, fetch_run_id FROM {stage}"
        " WHERE stage_kind = 'revised'",
        {"revised_at": revised_at},
    )
    key_match = " AND ".join(f"o.{name} = s.{name}" for name in _KEY)
    assignments = ", ".join(f"{name} = s.{name}" for name in _OBSERVATION_VALUE_COLUMNS)
    connection.exec_driver_sql(
        f"UPDATE observations o SET {assignments} FROM {stage} s"
        f" WHERE {key_match} AND s.stage_kind IN ('changed', 'revised')"
    )


def upsert_observations(
    engine: Engine | Connection, frame: pd.DataFrame, *, fetch_run_id: int | None = None
) -> UpsertCounts:
    """Insert new observations and revise changed ones, all in one transaction.

    A changed row's previous value goes to `revisions`. Values equal within a relative tolerance
    of 1e-12 (and with the same unit, source and forecast flag, and the same published_at when
    the frame gives one) are unchanged and not written, so upserting the same frame twice writes
    nothing the second time. A row whose value is unchanged but whose unit, source, forecast
    flag or published_at changed is updated and counted as changed, without a revision row.
    Rows without `fetched_at` are stamped with the current UTC time.

    Pass a `Connection` to make the upsert part of the caller's own transaction.

    Raises:
        ValueError: when the frame repeats a key (the message names the first repeated key) or
            lacks a required column.
    """
    conformed = conform_observations(frame)
    _check_duplicates(conformed)
    if conformed.empty:
        return UpsertCounts()
    now = _utcnow()
    conformed["fetched_at"] = conformed["fetched_at"].fillna(pd.Timestamp(now))
    with _writing(engine) as connection:
        _lock_observations(connection)
        existing = _read_existing(connection, conformed)
        new_rows, changed_rows, unchanged = _classify(conformed, existing)
        if connection.dialect.name == "postgresql":
            _write_changes_postgresql(connection, new_rows, changed_rows, now, fetch_run_id)
        else:
            _insert_observations(connection, new_rows, fetch_run_id)
            revised = changed_rows.loc[changed_rows["_value_changed"].to_numpy(dtype=bool)]
            _insert_revisions(connection, revised, now, fetch_run_id)
            _update_observations(connection, changed_rows, fetch_run_id)
    return UpsertCounts(new=len(new_rows), changed=len(changed_rows), unchanged=unchanged)


def read_observations(
    engine: Engine | Connection,
    *,
    indicators: Iterable[str] | None = None,
    countries: Iterable[str] | None = None,
    include_forecasts: bool = True,
    since: dt.date | dt.datetime | str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Stored observations as a canonical frame, sorted by indicator, country, vintage, period.

    Args:
        indicators: only these indicator ids (None: all).
        countries: only these ISO3 codes (None: all).
        include_forecasts: False drops projections (`is_forecast`).
        since: only periods on or after this date.
    """
    query = _select_observations()
    if indicators is not None:
        query = query.where(observations.c.indicator.in_(sorted(set(indicators))))
    if countries is not None:
        query = query.where(observations.c.country.in_(sorted(set(countries))))
    if not include_forecasts:
        query = query.where(observations.c.is_forecast.is_(False))
    if since is not None:
        query = query.where(observations.c.period >= _to_day(since))
    query = query.order_by(
        observations.c.indicator,
        observations.c.country,
        observations.c.vintage,
        observations.c.period,
    )
    with _reading(engine) as connection:
        result = _frame(connection.execute(query))
    if result.empty:
        return empty_observations()
    return _decode_observations(result).reset_index(drop=True)


def latest_periods(
    engine: Engine | Connection, *, indicators: Iterable[str] | None = None
) -> pd.DataFrame:
    """The newest stored period per series: columns indicator, country, vintage, last_period."""
    query = sa.select(
        observations.c.indicator,
        observations.c.country,
        observations.c.vintage,
        sa.func.max(observations.c.period).label("last_period"),
    ).group_by(observations.c.indicator, observations.c.country, observations.c.vintage)
    if indicators is not None:
        query = query.where(observations.c.indicator.in_(sorted(set(indicators))))
    with _reading(engine) as connection:
        result = _frame(connection.execute(query))
    return _as_datetime(result, ("last_period",))


def _read_newest(
    engine: Engine | Connection,
    table: Table,
    query: sa.Select[Any],
    limit: int | None,
    timestamps: Iterable[str],
) -> pd.DataFrame:
    """Run a filtered select of a log table, newest id first, timestamps as datetimes."""
    query = query.order_by(table.c.id.desc())
    if limit is not None:
        query = query.limit(limit)
    with _reading(engine) as connection:
        result = _frame(connection.execute(query))
    return _as_datetime(result, timestamps)


def read_revisions(
    engine: Engine | Connection,
    *,
    indicators: Iterable[str] | None = None,
    countries: Iterable[str] | None = None,
    since: dt.date | dt.datetime | str | pd.Timestamp | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Value revisions, newest first; `since` filters on `revised_at`."""
    query = sa.select(revisions)
    if indicators is not None:
        query = query.where(revisions.c.indicator.in_(sorted(set(indicators))))
    if countries is not None:
        query = query.where(revisions.c.country.in_(sorted(set(countries))))
    if since is not None:
        query = query.where(revisions.c.revised_at >= pd.Timestamp(since).to_pydatetime())
    return _read_newest(
        engine, revisions, query, limit, ("period", "old_fetched_at", "revised_at")
    )


def is_empty(engine: Engine | Connection) -> bool:
    """True when the store holds no observations."""
    with _reading(engine) as connection:
        first = connection.execute(sa.select(observations.c.indicator).limit(1)).first()
    return first is None


# --------------------------------------------------------------------------------------------
# Fetch runs


def start_fetch_run(engine: Engine | Connection, source: str) -> int:
    """Record that a fetch of `source` started; returns the run's id."""
    with _writing(engine) as connection:
        result = connection.execute(
            fetch_runs.insert().values(source=source, started_at=_utcnow(), status="running")
        )
        key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def finish_fetch_run(
    engine: Engine | Connection,
    run_id: int,
    *,
    status: str,
    requests: int,
    counts: UpsertCounts | None,
    error: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Close a fetch run with its outcome.

    Raises:
        ValueError: for an unknown status.
        StoreError: when no run has this id.
    """
    if status not in FETCH_RUN_STATUSES:
        raise ValueError(
            f"unknown fetch-run status {status!r}; expected one of {sorted(FETCH_RUN_STATUSES)}"
        )
    counts = counts or UpsertCounts()
    with _writing(engine) as connection:
        updated = connection.execute(
            fetch_runs.update()
            .where(fetch_runs.c.id == run_id)
            .values(
                finished_at=_utcnow(),
                status=status,
                requests=requests,
                rows_new=counts.new,
                rows_changed=counts.changed,
                rows_unchanged=counts.unchanged,
                error=error,
                detail=dict(detail) if detail is not None else None,
            )
        )
        if updated.rowcount == 0:
            raise StoreError(f"no fetch run with id {run_id}")


_FETCH_RUN_TIMES = ("started_at", "finished_at")


def read_fetch_runs(
    engine: Engine | Connection, *, source: str | None = None, limit: int = 100
) -> pd.DataFrame:
    """Fetch runs, newest first."""
    query = sa.select(fetch_runs)
    if source is not None:
        query = query.where(fetch_runs.c.source == source)
    return _read_newest(engine, fetch_runs, query, limit, _FETCH_RUN_TIMES)


def last_fetch_runs(engine: Engine | Connection) -> pd.DataFrame:
    """The latest fetch run of every source, sorted by source."""
    latest = (
        sa.select(sa.func.max(fetch_runs.c.id).label("id"))
        .group_by(fetch_runs.c.source)
        .scalar_subquery()
    )
    query = sa.select(fetch_runs).where(fetch_runs.c.id.in_(latest)).order_by(fetch_runs.c.source)
    with _reading(engine) as connection:
        result = _frame(connection.execute(query))
    return _as_datetime(result, _FETCH_RUN_TIMES)


# --------------------------------------------------------------------------------------------
# Cache key


def _text_size(table: Table, *names: str) -> sa.ColumnElement[Any]:
    """Total length of some text columns: cheap evidence of an in-place edit of a small table."""
    return sa.func.sum(sum((sa.func.length(table.c[name]) for name in names), sa.literal(0)))


def data_version(engine: Engine | Connection) -> str:
    """A cheap token that changes whenever observations, fetch runs, alerts, silences, events,
    audit entries or scores change; the dashboard keys its caches on it.

    One round trip of aggregates: row counts, the newest ids and timestamps, and for the small
    tables edited in place (events, silences, notifications) a size or attempt total.
    """
    aggregates = [
        sa.select(sa.func.count()).select_from(observations),
        sa.select(sa.func.max(observations.c.fetched_at)),
        sa.select(sa.func.max(fetch_runs.c.id)),
        sa.select(sa.func.count(fetch_runs.c.finished_at)),
        sa.select(sa.func.max(fetch_runs.c.finished_at)),
        sa.select(sa.func.max(revisions.c.id)),
        sa.select(sa.func.max(audit_log.c.id)),
        sa.select(sa.func.max(alert_events.c.id)),
        sa.select(sa.func.count()).select_from(alert_rules),
        sa.select(sa.func.max(alert_rules.c.updated_at)),
        sa.select(sa.func.count()).select_from(alert_state),
        sa.select(sa.func.max(alert_state.c.last_evaluated_at)),
        sa.select(sa.func.max(alert_state.c.since)),
        sa.select(sa.func.count()).select_from(silences),
        sa.select(sa.func.max(silences.c.id)),
        sa.select(sa.func.max(silences.c.until)),
        sa.select(sa.func.max(notifications.c.id)),
        sa.select(sa.func.sum(notifications.c.attempts)),
        sa.select(sa.func.count()).select_from(events),
        sa.select(sa.func.max(events.c.id)),
        sa.select(_text_size(events, "title", "description", "source_url")),
        sa.select(sa.func.max(scores.c.id)),
    ]
    query = sa.select(*(aggregate.scalar_subquery() for aggregate in aggregates))
    with _reading(engine) as connection:
        row = connection.execute(query).one()
    return "|".join("" if item is None else str(item) for item in row)


# --------------------------------------------------------------------------------------------
# Conditional-request validators


def _upsert(
    connection: Connection,
    table: Table,
    rows: list[dict[str, Any]],
    *,
    key: Sequence[str],
    update: Sequence[str],
) -> None:
    """INSERT … ON CONFLICT (key) DO UPDATE, in the dialect at hand."""
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        pg_statement = pg_insert(table)
        statement: Any = pg_statement.on_conflict_do_update(
            index_elements=list(key),
            set_={name: pg_statement.excluded[name] for name in update},
        )
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        sqlite_statement = sqlite_insert(table)
        statement = sqlite_statement.on_conflict_do_update(
            index_elements=list(key),
            set_={name: sqlite_statement.excluded[name] for name in update},
        )
    connection.execute(statement, rows)


def get_http_validator(engine: Engine | Connection, key: str) -> tuple[str | None, str | None]:
    """The stored (ETag, Last-Modified) for a request key; (None, None) when unknown."""
    with _reading(engine) as connection:
        row = connection.execute(
            sa.select(http_validators.c.etag, http_validators.c.last_modified).where(
                http_validators.c.url_key == key
            )
        ).first()
    if row is None:
        return None, None
    return row.etag, row.last_modified


def read_http_validators(engine: Engine | Connection) -> dict[str, tuple[str | None, str | None]]:
    """Every stored validator: url_key → (ETag, Last-Modified)."""
    with _reading(engine) as connection:
        rows = connection.execute(
            sa.select(
                http_validators.c.url_key, http_validators.c.etag, http_validators.c.last_modified
            )
        ).all()
    return {row.url_key: (row.etag, row.last_modified) for row in rows}


def set_http_validator(
    engine: Engine | Connection, key: str, etag: str | None, last_modified: str | None
) -> None:
    """Remember the validators a response carried, for the next conditional request."""
    with _writing(engine) as connection:
        _upsert(
            connection,
            http_validators,
            [
                {
                    "url_key": key,
                    "etag": etag,
                    "last_modified": last_modified,
                    "updated_at": _utcnow(),
                }
            ],
            key=["url_key"],
            update=["etag", "last_modified", "updated_at"],
        )


# --------------------------------------------------------------------------------------------
# Events (annotations)

_EVENT_KEY = ("country", "date", "title")


def read_events(engine: Engine | Connection, country: str | None = None) -> pd.DataFrame:
    """Annotated events, by date: id, country, date, title, description, source_url."""
    query = sa.select(events)
    if country is not None:
        query = query.where(events.c.country == country)
    query = query.order_by(events.c.date, events.c.id)
    with _reading(engine) as connection:
        result = _frame(connection.execute(query))
    return _as_datetime(result, ("date",))


def add_event(
    engine: Engine | Connection,
    *,
    country: str,
    date: dt.date | dt.datetime | str | pd.Timestamp,
    title: str,
    description: str = "",
    source_url: str = "",
) -> int:
    """Add an annotation and return its id; an existing (country, date, title) is updated."""
    day = _to_day(date)
    row = {
        "country": country,
        "date": day,
        "title": title,
        "description": description,
        "source_url": source_url,
    }
    with _writing(engine) as connection:
        _upsert(connection, events, [row], key=_EVENT_KEY, update=["description", "source_url"])
        event_id = connection.execute(
            sa.select(events.c.id).where(
                events.c.country == country, events.c.date == day, events.c.title == title
            )
        ).scalar_one()
    return int(event_id)


def upsert_events(engine: Engine | Connection, frame: pd.DataFrame) -> UpsertCounts:
    """Add or update annotations keyed on (country, date, title); idempotent.

    `frame` needs country, date and title; description and source_url default to "".
    """
    missing = [name for name in _EVENT_KEY if name not in frame.columns]
    if missing:
        raise ValueError(f"events lack required columns: {', '.join(missing)}")
    incoming = pd.DataFrame(
        {
            "country": frame["country"].astype(str).to_numpy(dtype=object),
            "date": _dates(pd.to_datetime(frame["date"])),
            "title": frame["title"].astype(str).to_numpy(dtype=object),
            "description": (
                frame["description"].fillna("").astype(str).to_numpy(dtype=object)
                if "description" in frame.columns
                else ""
            ),
            "source_url": (
                frame["source_url"].fillna("").astype(str).to_numpy(dtype=object)
                if "source_url" in frame.columns
                else ""
            ),
        },
        dtype=object,
    ).drop_duplicates(subset=list(_EVENT_KEY), keep="last")
    if incoming.empty:
        return UpsertCounts()
    with _writing(engine) as connection:
        stored = _frame(
            connection.execute(
                sa.select(
                    events.c.country,
                    events.c.date,
                    events.c.title,
                    events.c.description,
                    events.c.source_url,
                ).where(events.c.country.in_(sorted(set(incoming["country"]))))
            )
        )
        stored = stored.rename(columns={"description": "old_description", "source_url": "old_url"})
        if not stored.empty:
            stored["date"] = stored["date"].map(_to_day)
        merged = incoming.merge(stored, on=list(_EVENT_KEY), how="left", indicator="_match")
        is_new = (merged["_match"] == "left_only").to_numpy()
        differs = (
            (merged["description"] != merged["old_description"])
            | (merged["source_url"] != merged["old_url"])
        ).to_numpy(dtype=bool)
        is_changed = ~is_new & differs
        to_write = merged.loc[is_new | is_changed, list(incoming.columns)]
        rows: list[dict[str, Any]] = to_write.to_dict("records")  # type: ignore[assignment]
        _upsert(connection, events, rows, key=_EVENT_KEY, update=["description", "source_url"])
    new = int(is_new.sum())
    changed = int(is_changed.sum())
    return UpsertCounts(new=new, changed=changed, unchanged=len(merged) - new - changed)


# --------------------------------------------------------------------------------------------
# Audit log


def write_audit(
    engine: Engine | Connection,
    *,
    actor: str,
    action: str,
    obj: str,
    old: Any,
    new: Any,
) -> int:
    """Append an audit entry (old/new must be JSON-serialisable); returns its id.

    Pass a `Connection` to record the entry in the same transaction as the change it describes.
    """
    with _writing(engine) as connection:
        result = connection.execute(
            audit_log.insert().values(
                at=_utcnow(), actor=actor, action=action, object=obj, old=old, new=new
            )
        )
        key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def read_audit(
    engine: Engine | Connection, *, obj: str | None = None, limit: int = 200
) -> pd.DataFrame:
    """Audit entries, newest first: id, at, actor, action, object, old, new."""
    query = sa.select(audit_log)
    if obj is not None:
        query = query.where(audit_log.c.object == obj)
    return _read_newest(engine, audit_log, query, limit, ("at",))


# --------------------------------------------------------------------------------------------
# Scores

_SCORE_COLUMNS = ("country", "computed_at", "as_of", "composite", "band", "detail")


def save_scores(engine: Engine | Connection, frame: pd.DataFrame) -> int:
    """Append a scored snapshot (columns country, computed_at, as_of, composite, band, detail);
    returns the number of rows written. `computed_at` defaults to now (UTC)."""
    missing = [name for name in ("country", "as_of", "composite", "band") if name not in frame]
    if missing:
        raise ValueError(f"scores lack required columns: {', '.join(missing)}")
    if frame.empty:
        return 0
    computed_at = (
        pd.to_datetime(frame["computed_at"], utc=True).dt.tz_localize(None)
        if "computed_at" in frame.columns
        else pd.Series(pd.Timestamp(_utcnow()), index=frame.index)
    )
    as_of = pd.to_datetime(frame["as_of"], utc=True).dt.tz_localize(None)
    composite = pd.to_numeric(frame["composite"], errors="coerce").astype("float64")
    records = pd.DataFrame(
        {
            "country": frame["country"].astype(str).to_numpy(dtype=object),
            "computed_at": _timestamps(computed_at),
            "as_of": _timestamps(as_of),
            "composite": composite.astype(object).where(composite.notna(), None).to_numpy(),
            "band": frame["band"].astype(object).where(frame["band"].notna(), None).to_numpy(),
            "detail": frame["detail"].to_numpy(dtype=object) if "detail" in frame else None,
        },
        dtype=object,
    )
    rows: list[dict[str, Any]] = records.to_dict("records")  # type: ignore[assignment]
    with _writing(engine) as connection:
        for chunk in _chunks(rows, _CHUNK_SIZE):
            connection.execute(scores.insert(), list(chunk))
    return len(rows)


def read_scores(
    engine: Engine | Connection, country: str | None = None, *, latest_only: bool = False
) -> pd.DataFrame:
    """Stored scores ordered by computed_at then country; `latest_only` keeps the newest
    snapshot (the rows of the greatest computed_at)."""
    query = sa.select(scores.c.id, *(scores.c[name] for name in _SCORE_COLUMNS))
    if country is not None:
        query = query.where(scores.c.country == country)
    if latest_only:
        newest = sa.select(sa.func.max(scores.c.computed_at))
        if country is not None:
            newest = newest.where(scores.c.country == country)
        query = query.where(scores.c.computed_at == newest.scalar_subquery())
    query = query.order_by(scores.c.computed_at, scores.c.country, scores.c.id)
    with _reading(engine) as connection:
        result = _frame(connection.execute(query))
    return _as_datetime(result, ("computed_at", "as_of"))


# --------------------------------------------------------------------------------------------
# ACLED raw events (local only)

_ACLED_COLUMNS = tuple(column.name for column in acled_events.columns)
_ACLED_TEXT_DEFAULTS = ("sub_event_type", "admin1", "location", "notes")


def upsert_acled_events(bind: Engine | Connection, frame: pd.DataFrame) -> int:
    """Insert or replace raw ACLED events keyed on `event_id_cnty`; returns the rows written.

    Fits `flashpoint.refresh.EXTRA_TABLE_WRITERS` (pass the refresh's open connection).
    `fetched_at` defaults to now (UTC); a later fetch of the same event replaces the row, as
    ACLED revises events in place.

    Raises:
        ValueError: when a required column is missing or an event id repeats.
    """
    required = ("event_id_cnty", "event_date", "country", "event_type")
    missing = [name for name in required if name not in frame.columns]
    if missing:
        raise ValueError(f"ACLED events lack required columns: {', '.join(missing)}")
    if frame.empty:
        return 0
    repeated = frame["event_id_cnty"].astype(str).duplicated()
    if bool(repeated.any()):
        first = frame["event_id_cnty"].astype(str)[repeated.to_numpy()].iloc[0]
        raise ValueError(f"duplicate ACLED event_id_cnty in frame: {first!r}")
    fetched_at = (
        pd.to_datetime(frame["fetched_at"], utc=True).dt.tz_localize(None)
        if "fetched_at" in frame.columns
        else pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    ).fillna(pd.Timestamp(_utcnow()))
    columns: dict[str, Any] = {
        "event_id_cnty": frame["event_id_cnty"].astype(str).to_numpy(dtype=object),
        "event_date": _dates(pd.to_datetime(frame["event_date"])),
        "country": frame["country"].astype(str).to_numpy(dtype=object),
        "event_type": frame["event_type"].astype(str).to_numpy(dtype=object),
        "fatalities": (
            pd.to_numeric(frame["fatalities"], errors="coerce").fillna(0).astype(int).to_numpy()
            if "fatalities" in frame.columns
            else 0
        ),
        "fetched_at": _timestamps(fetched_at),
    }
    for name in _ACLED_TEXT_DEFAULTS:
        columns[name] = (
            frame[name].fillna("").astype(str).to_numpy(dtype=object) if name in frame else ""
        )
    for name in ("latitude", "longitude"):
        if name in frame.columns:
            numbers = pd.to_numeric(frame[name], errors="coerce")
            columns[name] = numbers.astype(object).where(numbers.notna(), None).to_numpy()
        else:
            columns[name] = None
    records = pd.DataFrame(columns, index=frame.index, dtype=object)
    rows: list[dict[str, Any]] = records.to_dict("records")  # type: ignore[assignment]
    update = [name for name in _ACLED_COLUMNS if name != "event_id_cnty"]
    with _writing(bind) as connection:
        for chunk in _chunks(rows, _CHUNK_SIZE):
            _upsert(connection, acled_events, list(chunk), key=["event_id_cnty"], update=update)
    return len(rows)


def read_acled_events(
    engine: Engine | Connection,
    *,
    countries: Iterable[str] | None = None,
    since: dt.date | dt.datetime | str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Stored raw ACLED events ordered by date; `since` filters on `event_date`."""
    query = sa.select(acled_events)
    if countries is not None:
        query = query.where(acled_events.c.country.in_(sorted(set(countries))))
    if since is not None:
        query = query.where(acled_events.c.event_date >= _to_day(since))
    query = query.order_by(acled_events.c.event_date, acled_events.c.event_id_cnty)
    with _reading(engine) as connection:
        result = _frame(connection.execute(query))
    return _as_datetime(result, ("event_date", "fetched_at"))


# --------------------------------------------------------------------------------------------
# Overview and health


def store_summary(engine: Engine | Connection) -> pd.DataFrame:
    """Per source and indicator: rows, countries, first_period, last_period, last_fetched_at."""
    query = (
        sa.select(
            observations.c.source,
            observations.c.indicator,
            sa.func.count().label("rows"),
            sa.func.count(sa.distinct(observations.c.country)).label("countries"),
            sa.func.min(observations.c.period).label("first_period"),
            sa.func.max(observations.c.period).label("last_period"),
            sa.func.max(observations.c.fetched_at).label("last_fetched_at"),
        )
        .group_by(observations.c.source, observations.c.indicator)
        .order_by(observations.c.source, observations.c.indicator)
    )
    with _reading(engine) as connection:
        result = _frame(connection.execute(query))
    result["rows"] = result["rows"].astype("int64")
    result["countries"] = result["countries"].astype("int64")
    return _as_datetime(result, ("first_period", "last_period", "last_fetched_at"))


def integrity_check(engine: Engine) -> list[str]:
    """Problems found in the store; an empty list when it is healthy.

    SQLite: `PRAGMA integrity_check` and `PRAGMA foreign_key_check`. Both engines: the schema
    version, and rows that break the store's own invariants.
    """
    problems: list[str] = []
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                for (message,) in connection.exec_driver_sql("PRAGMA integrity_check").all():
                    if message != "ok":
                        problems.append(f"integrity_check: {message}")
                for row in connection.exec_driver_sql("PRAGMA foreign_key_check").all():
                    problems.append(
                        f"foreign key: {row[0]} row {row[1]} refers to a missing {row[2]} row"
                    )
            else:
                connection.execute(sa.select(1)).one()
            version = _stored_version(connection)
            if version != CURRENT_SCHEMA_VERSION:
                problems.append(
                    f"schema version is {version}, expected {CURRENT_SCHEMA_VERSION} "
                    "(run init_schema)"
                )
                return problems
            invariants = {
                "observations without a finite value": sa.select(sa.func.count())
                .select_from(observations)
                .where(observations.c.value.is_(None)),
                "fetch runs with an unknown status": sa.select(sa.func.count())
                .select_from(fetch_runs)
                .where(fetch_runs.c.status.not_in(sorted(FETCH_RUN_STATUSES))),
                "observations pointing at a missing fetch run": sa.select(sa.func.count())
                .select_from(observations.outerjoin(fetch_runs))
                .where(observations.c.fetch_run_id.is_not(None), fetch_runs.c.id.is_(None)),
                "notifications pointing at a missing alert event": sa.select(sa.func.count())
                .select_from(notifications.outerjoin(alert_events))
                .where(alert_events.c.id.is_(None)),
            }
            for label, query in invariants.items():
                count = int(connection.execute(query).scalar_one())
                if count:
                    problems.append(f"{count} {label}")
    except SQLAlchemyError as error:
        problems.append(f"cannot check the store: {_describe(error, engine.url)}")
    return problems
