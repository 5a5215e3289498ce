"""Stored score snapshots (the `scores` table)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from flashpoint.store.engine import _reading, _utcnow, _writing
from flashpoint.store.frames import _CHUNK_SIZE, _as_datetime, _chunks, _frame, _timestamps
from flashpoint.store.schema import scores

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
