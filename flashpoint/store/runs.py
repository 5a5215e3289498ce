"""Fetch runs: one row per fetch of a source, opened when it starts and closed with its outcome."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from fetchers.redact import redact, redact_value
from flashpoint.errors import StoreError
from flashpoint.store.engine import _reading, _utcnow, _writing
from flashpoint.store.frames import UpsertCounts, _as_datetime, _frame, _read_newest
from flashpoint.store.schema import fetch_runs

FETCH_RUN_STATUSES: Final = frozenset({"running", "ok", "not_modified", "error", "partial"})


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
                # Upstream text can echo a request: nothing reaches the table unredacted.
                error=redact(error) if error is not None else None,
                detail=redact_value(dict(detail)) if detail is not None else None,
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
