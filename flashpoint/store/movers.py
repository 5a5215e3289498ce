"""The precomputed recent movers (`recent_movers` table): each country's composite change since
yesterday and last week, with the inputs that moved it, as of the stored history's last day.

Written by `flashpoint.precompute` from the same replay as the daily history, so the overview's
"Since yesterday · Since last week" line is read, not replayed, on a first visit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from flashpoint.store.engine import _reading, _utcnow
from flashpoint.store.frames import _CHUNK_SIZE, _chunks
from flashpoint.store.precomputed import _is_missing_table, precompute_writing
from flashpoint.store.schema import recent_movers

# As `indicators.explain.MOVER_COLUMNS` (the store does not import the domain).
MOVER_COLUMNS = ("country", "since", "days", "change", "movers")


def _change_cell(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def replace_recent_movers(engine: Engine | Connection, frame: pd.DataFrame) -> int:
    """Replace every stored mover row with `frame`'s (columns `MOVER_COLUMNS`); returns rows.

    An unknown change (NaN) is stored as NULL, never 0; `movers` as a JSON list of pairs.
    """
    now = _utcnow()
    records = [
        {
            "country": str(country),
            "since": str(since),
            "days": int(days),
            "change": _change_cell(change),
            "movers": json.dumps([[str(name), float(delta)] for name, delta in movers]),
            "computed_at": now,
        }
        for country, since, days, change, movers in zip(
            *(frame[name].tolist() for name in MOVER_COLUMNS), strict=True
        )
    ]
    with precompute_writing(engine) as connection:
        connection.execute(recent_movers.delete())
        for rows in _chunks(records, _CHUNK_SIZE):
            connection.execute(recent_movers.insert(), list(rows))
    return len(records)


def read_recent_movers(
    engine: Engine | Connection, countries: Iterable[str] | None = None
) -> pd.DataFrame:
    """The stored mover rows (of `countries`, or all), columns `MOVER_COLUMNS`: `change` NaN when
    unknown, `movers` a tuple of (indicator id, change) pairs. Empty on a store without them."""
    query = sa.select(*(recent_movers.c[name] for name in MOVER_COLUMNS)).order_by(
        recent_movers.c.days, recent_movers.c.country
    )
    if countries is not None:
        query = query.where(recent_movers.c.country.in_(sorted({str(c) for c in countries})))
    try:
        with _reading(engine) as connection:
            rows = connection.execute(query).all()
    except SQLAlchemyError as error:
        if not _is_missing_table(error):
            raise
        rows = []
    return pd.DataFrame(
        {
            "country": [str(row.country) for row in rows],
            "since": [str(row.since) for row in rows],
            "days": pd.Series([int(row.days) for row in rows], dtype="int64"),
            "change": pd.Series(
                [math.nan if row.change is None else float(row.change) for row in rows],
                dtype="float64",
            ),
            "movers": [
                tuple((str(name), float(delta)) for name, delta in json.loads(row.movers))
                for row in rows
            ],
        },
        columns=list(MOVER_COLUMNS),
    )
