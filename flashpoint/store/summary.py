"""Store-wide views: the dashboard's cache key, the per-source overview and the health check."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Table
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from flashpoint.store.engine import _describe, _reading
from flashpoint.store.frames import _as_datetime, _frame
from flashpoint.store.runs import FETCH_RUN_STATUSES
from flashpoint.store.schema import (
    CURRENT_SCHEMA_VERSION,
    _stored_version,
    alert_events,
    alert_rules,
    alert_state,
    announcements,
    audit_log,
    events,
    fetch_runs,
    notifications,
    observations,
    revisions,
    scores,
    silences,
)


def _text_size(table: Table, *names: str) -> sa.ColumnElement[Any]:
    """Total length of some text columns: cheap evidence of an in-place edit of a small table."""
    return sa.func.sum(sum((sa.func.length(table.c[name]) for name in names), sa.literal(0)))


def data_version(engine: Engine | Connection) -> str:
    """A cheap token that changes whenever observations, fetch runs, alerts, silences, events,
    audit entries, scores or announcements change; the dashboard keys its caches on it.

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
        sa.select(sa.func.count()).select_from(announcements),
        sa.select(sa.func.max(announcements.c.updated_at)),
    ]
    query = sa.select(*(aggregate.scalar_subquery() for aggregate in aggregates))
    with _reading(engine) as connection:
        row = connection.execute(query).one()
    return "|".join("" if item is None else str(item) for item in row)


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


def countries_with_indicators(engine: Engine | Connection, indicators: Sequence[str]) -> int:
    """How many distinct countries hold at least one row of any of these indicators."""
    query = sa.select(sa.func.count(sa.distinct(observations.c.country))).where(
        observations.c.indicator.in_(list(indicators))
    )
    with _reading(engine) as connection:
        return int(connection.execute(query).scalar_one())


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
