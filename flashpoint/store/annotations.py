"""Annotated events (the `events` table): dated notes drawn on the charts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from flashpoint.store.engine import _reading, _writing
from flashpoint.store.frames import UpsertCounts, _as_datetime, _dates, _frame, _to_day, _upsert
from flashpoint.store.schema import events

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
