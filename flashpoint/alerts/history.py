"""Reading the persisted alert states, the state history and the notification log."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from flashpoint import store

EVENT_COLUMNS: Final = (
    "id",
    "rule_id",
    "country",
    "at",
    "from_state",
    "to_state",
    "value",
    "threshold",
    "message",
)


@contextmanager
def _reading(bind: Engine | Connection) -> Iterator[Connection]:
    """A connection to read with (a given connection is used as it is, in its transaction)."""
    if isinstance(bind, Connection):
        yield bind
        return
    with bind.connect() as connection:
        yield connection


def _frame(result: sa.CursorResult[Any], columns: Sequence[str]) -> pd.DataFrame:
    rows = [dict(row) for row in result.mappings()]
    return pd.DataFrame(rows, columns=list(columns))


def read_alert_states(engine: Engine | Connection) -> pd.DataFrame:
    """Every persisted instance state, firing first."""
    order = sa.case(
        {"firing": 0, "pending": 1, "resolved": 2, "ok": 3}, value=store.alert_state.c.state
    )
    query = sa.select(store.alert_state).order_by(
        order, store.alert_state.c.rule_id, store.alert_state.c.country
    )
    with _reading(engine) as connection:
        return _frame(connection.execute(query), [c.name for c in store.alert_state.columns])


def read_alert_events(
    engine: Engine | Connection,
    *,
    rule_id: str | None = None,
    country: str | None = None,
    limit: int = 500,
) -> pd.DataFrame:
    """The state history, newest first."""
    query = sa.select(store.alert_events).order_by(store.alert_events.c.id.desc()).limit(limit)
    if rule_id:
        query = query.where(store.alert_events.c.rule_id == rule_id)
    if country:
        query = query.where(store.alert_events.c.country == country)
    with _reading(engine) as connection:
        return _frame(connection.execute(query), EVENT_COLUMNS)


def read_notifications(
    engine: Engine | Connection,
    *,
    statuses: Iterable[str] | None = None,
    limit: int = 500,
) -> pd.DataFrame:
    """Delivery attempts with their event's rule and country, newest first."""
    n, e = store.notifications, store.alert_events
    query = (
        sa.select(
            n.c.id,
            n.c.at,
            n.c.channel,
            n.c.status,
            n.c.attempts,
            n.c.error,
            n.c.alert_event_id,
            e.c.rule_id,
            e.c.country,
            e.c.to_state,
            e.c.value,
            e.c.threshold,
        )
        .select_from(n.join(e, n.c.alert_event_id == e.c.id))
        .order_by(n.c.id.desc())
        .limit(limit)
    )
    if statuses is not None:
        query = query.where(n.c.status.in_(list(statuses)))
    columns = [
        "id",
        "at",
        "channel",
        "status",
        "attempts",
        "error",
        "alert_event_id",
        "rule_id",
        "country",
        "to_state",
        "value",
        "threshold",
    ]
    with _reading(engine) as connection:
        return _frame(connection.execute(query), columns)
