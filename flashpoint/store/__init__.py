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

The package, by table family (this module re-exports the public API of all of them):
`engine` (URLs, masking, `make_engine`, SQLite hooks, transactions), `schema` (every table, the
schema version and upgrades, `init_schema`), `frames` (pandas ↔ database conversions, chunked
writes, the dialect-neutral upsert), `series` (observations and revisions), `runs` (fetch runs),
`validators` (HTTP validators), `annotations` (events), `announcements` (the policy
calendar and the shocks derived from it), `audit`, `saved_scores`, `acled`,
`precomputed` (the stored scored panel and daily composite history), `summary`
(`data_version`, `store_summary`, `integrity_check`), `bulk` (the first load into an
empty store, with nothing to compare against), and `access` (how commands open
the store: `open_for_writing` creates and upgrades it, `open_for_reading` never takes the write
lock, `retry_busy` bounds and reports retries on a busy store).
"""

from __future__ import annotations

from flashpoint.store.access import (
    check_schema,
    open_for_reading,
    open_for_writing,
    retry_busy,
)
from flashpoint.store.acled import read_acled_events, upsert_acled_events
from flashpoint.store.annotations import add_event, read_events, upsert_events
from flashpoint.store.announcements import (
    AnnouncementConflict,
    CalendarCounts,
    add_announcement,
    delete_announcement,
    read_announcements,
    save_announcements,
    update_announcement,
)
from flashpoint.store.audit import read_audit, write_audit
from flashpoint.store.bulk import BulkProgress, insert_into_empty
from flashpoint.store.engine import (
    StoreNotReadyError,
    begin_write,
    begin_writing,
    is_busy_error,
    make_engine,
    mask_url,
)
from flashpoint.store.frames import UpsertCounts
from flashpoint.store.movers import read_recent_movers, replace_recent_movers
from flashpoint.store.precomputed import (
    HISTORY_COLUMNS,
    PanelKey,
    StoredPanel,
    observations_version,
    read_composite_history,
    read_precompute_state,
    read_stored_panel,
    read_stored_panel_key,
    write_composite_history,
    write_stored_panel,
)
from flashpoint.store.runs import (
    FETCH_RUN_STATUSES,
    close_interrupted_runs,
    finish_fetch_run,
    last_fetch_runs,
    read_fetch_runs,
    start_fetch_run,
)
from flashpoint.store.saved_scores import read_scores, save_scores
from flashpoint.store.schema import (
    CURRENT_SCHEMA_VERSION,
    MIGRATIONS,
    acled_events,
    alert_events,
    alert_rules,
    alert_state,
    announcements,
    audit_log,
    events,
    fetch_runs,
    http_validators,
    init_schema,
    metadata,
    notifications,
    observations,
    read_schema_version,
    revisions,
    schema_meta,
    scores,
    silences,
)
from flashpoint.store.series import (
    is_empty,
    latest_periods,
    read_country_observations,
    read_first_observations,
    read_observations,
    read_revisions,
    upsert_observations,
)
from flashpoint.store.summary import (
    countries_with_indicators,
    data_version,
    integrity_check,
    store_summary,
)
from flashpoint.store.validators import get_http_validator, read_http_validators, set_http_validator

__all__ = [
    "CURRENT_SCHEMA_VERSION",
    "FETCH_RUN_STATUSES",
    "HISTORY_COLUMNS",
    "MIGRATIONS",
    "AnnouncementConflict",
    "BulkProgress",
    "CalendarCounts",
    "PanelKey",
    "StoreNotReadyError",
    "StoredPanel",
    "UpsertCounts",
    "acled_events",
    "add_announcement",
    "add_event",
    "alert_events",
    "alert_rules",
    "alert_state",
    "announcements",
    "audit_log",
    "begin_write",
    "begin_writing",
    "check_schema",
    "close_interrupted_runs",
    "countries_with_indicators",
    "data_version",
    "delete_announcement",
    "events",
    "fetch_runs",
    "finish_fetch_run",
    "get_http_validator",
    "http_validators",
    "init_schema",
    "insert_into_empty",
    "integrity_check",
    "is_busy_error",
    "is_empty",
    "last_fetch_runs",
    "latest_periods",
    "make_engine",
    "mask_url",
    "metadata",
    "notifications",
    "observations",
    "observations_version",
    "open_for_reading",
    "open_for_writing",
    "read_acled_events",
    "read_announcements",
    "read_audit",
    "read_composite_history",
    "read_country_observations",
    "read_events",
    "read_fetch_runs",
    "read_first_observations",
    "read_http_validators",
    "read_observations",
    "read_precompute_state",
    "read_recent_movers",
    "read_revisions",
    "read_schema_version",
    "read_scores",
    "read_stored_panel",
    "read_stored_panel_key",
    "replace_recent_movers",
    "retry_busy",
    "revisions",
    "save_announcements",
    "save_scores",
    "schema_meta",
    "scores",
    "set_http_validator",
    "silences",
    "start_fetch_run",
    "store_summary",
    "update_announcement",
    "upsert_acled_events",
    "upsert_events",
    "upsert_observations",
    "write_audit",
    "write_composite_history",
    "write_stored_panel",
]
