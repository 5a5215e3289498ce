"""Raw ACLED events: licensed data, kept local only, never exported or bundled into a snapshot."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from flashpoint.store.engine import _reading, _utcnow, _writing
from flashpoint.store.frames import (
    _CHUNK_SIZE,
    _as_datetime,
    _chunks,
    _dates,
    _frame,
    _timestamps,
    _to_day,
    _upsert,
)
from flashpoint.store.schema import acled_events

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
