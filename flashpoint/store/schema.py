"""The store's tables, its schema version and the ordered upgrades that bring older stores up to it.

The tables are defined once in `metadata` with portable types; timestamps are stored as naive UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

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
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from flashpoint.errors import StoreError
from flashpoint.store.engine import _describe, begin_write, mask_url

CURRENT_SCHEMA_VERSION: Final = 4

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

# The policy calendar: announced price changes as the analyst recorded them. The trigger reads the
# `announced_price_change` observations derived from these rows (flashpoint/store/announcements.py).
# `product` and `source_url` are NULL only for rows recorded before v4, when they were not stored;
# `product_key` (the product case-folded, "" for those rows) makes a product unique per country
# and effective date whatever its spelling's case.
announcements = Table(
    "announcements",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("country", String(8), nullable=False),
    Column("product", String(120)),
    Column("product_key", String(120), nullable=False),
    Column("announced", Date, nullable=False),
    Column("effective", Date, nullable=False),
    Column("expected_change_pct", Double, nullable=False),
    Column("source_url", Text),
    Column("note", Text, nullable=False, default=""),
    Column("created_at", DateTime, nullable=False),
    Column("created_by", String(120), nullable=False, default=""),
    Column("updated_at", DateTime, nullable=False),
    Column("updated_by", String(120), nullable=False, default=""),
    UniqueConstraint(
        "country", "product_key", "effective", name="uq_announcements_country_product_effective"
    ),
)

# The precompute (`flashpoint.store.precomputed`): the latest scored panel and each country's daily
# composite history, so readers do not re-score the whole store. Added without a schema step:
# `init_schema` creates them on any store (readers of an older store find none and score live).
scored_panels = Table(
    "scored_panels",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # What the panel was computed from: the observations' version, the methodology and the
    # catalogue it was scored with, and the as-of day. A reader uses it only when all match.
    Column("data_version", String(200), nullable=False),
    Column("methodology_version", String(32), nullable=False),
    Column("settings_fingerprint", String(64), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("computed_at", DateTime, nullable=False),
    Column("note", Text, nullable=False, default=""),
)
scored_panel_frames = Table(
    "scored_panel_frames",
    metadata,
    Column(
        "panel_id", Integer, ForeignKey("scored_panels.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("name", String(64), primary_key=True),
    # A frame as JSON text with its column dtypes (`precomputed.encode_frame`): portable, exact.
    Column("payload", Text, nullable=False),
)
composite_history = Table(
    "composite_history",
    metadata,
    Column("country", String(8), primary_key=True),
    Column("date", Date, primary_key=True),
    Column("composite", Double),
    Column("composite_high", Double),
    Column("band", String(32)),
    Column("vulnerability", Double),
    Column("trigger", Double),
    Column("trigger_state", String(16)),
    Column("computed_at", DateTime, nullable=False),
    Index("ix_composite_history_date", "date"),
)
# Each country's composite change since yesterday and last week with the inputs that moved it
# (`indicators.explain.recent_movers`), as of the history's last day: the overview's "since" line.
recent_movers = Table(
    "recent_movers",
    metadata,
    Column("country", String(8), primary_key=True),
    Column("since", String(32), primary_key=True),
    Column("days", Integer, nullable=False),
    Column("change", Double),
    # JSON list of [indicator id, contribution change] pairs, largest first.
    Column("movers", Text, nullable=False),
    Column("computed_at", DateTime, nullable=False),
)
# Small key/value facts about the precompute (what the history was computed from, its window).
precompute_state = Table(
    "precompute_state",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", DateTime, nullable=False),
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


def _upgrade_3_to_4(connection: Connection) -> None:
    """v4: the `announcements` table; announcements imported before keep their shock, with the
    product and source URL they never had stored left unknown (NULL)."""
    announcements.create(connection, checkfirst=True)
    already = connection.execute(sa.select(sa.func.count()).select_from(announcements)).scalar()
    if already:
        return  # a re-run after a partial upgrade
    legacy = connection.execute(
        sa.select(
            observations.c.country,
            observations.c.period,
            observations.c.value,
            observations.c.published_at,
            observations.c.fetched_at,
        ).where(
            observations.c.indicator == "announced_price_change",
            observations.c.source == "policy_calendar",
        )
    ).all()
    rows = [
        {
            "country": row.country,
            "product": None,
            "product_key": "",
            "announced": (row.published_at.date() if row.published_at else row.period),
            "effective": row.period,
            "expected_change_pct": row.value,
            "source_url": None,
            "note": "",
            "created_at": row.fetched_at,
            "created_by": "",
            "updated_at": row.fetched_at,
            "updated_by": "",
        }
        for row in legacy
    ]
    if rows:
        connection.execute(announcements.insert(), rows)


# Ordered upgrade steps: (version reached, step). A step must be safe to re-run on a database
# that is already partly in the new shape.
MIGRATIONS: list[tuple[int, Callable[[Connection], None]]] = [
    (2, _upgrade_1_to_2),
    (3, _upgrade_2_to_3),
    (4, _upgrade_3_to_4),
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
