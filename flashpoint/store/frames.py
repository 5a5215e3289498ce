"""Conversions between pandas and the database, shared by every table module.

The bulk paths (observation and revision writes, observation reads) bypass SQLAlchemy's
per-value type processing, which dominates at 10^5 rows: values are converted column-wise
with numpy into what the driver stores natively (SQLite: the same ISO text SQLAlchemy's own
Date/DateTime/Boolean types write, so both paths read each other's rows; PostgreSQL: Python
date/datetime/bool objects, which psycopg binds itself) and sent with one executemany per
chunk.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Table
from sqlalchemy.engine import Connection, Engine

from flashpoint.store.engine import _reading

# Rows per executemany / IN-list chunk. Small enough for SQLite's bound-variable limit and for
# PostgreSQL's statement size, large enough that 300k rows are a few hundred round trips.
_CHUNK_SIZE = 5_000
_IN_CHUNK = 500


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


def _iso_text(moments: np.ndarray, unit: Literal["D", "us"]) -> list[Any]:
    """datetime64 values as ISO text (NaT → None), formatting each distinct value once.

    A bulk write repeats few distinct dates (periods shared by every country, one fetch time),
    and formatting is the slow part: half a million rows cost about a second formatted one by
    one, a few milliseconds through their distinct values.
    """
    codes, uniques = pd.factorize(moments)  # NaT gets code -1
    if len(uniques) == 0:
        return [None] * len(moments)  # numpy's string functions refuse an empty array
    distinct: np.ndarray[Any, np.dtype[np.datetime64]] = np.asarray(
        uniques, dtype=f"datetime64[{unit}]"
    )
    text = np.datetime_as_string(distinct, unit=unit)
    if unit == "us":
        # SQLAlchemy's SQLite DateTime storage format: "YYYY-MM-DD HH:MM:SS.ffffff".
        text = np.char.replace(text, "T", " ")
    formatted = np.empty(len(text) + 1, dtype=object)
    formatted[:-1] = text
    formatted[-1] = None  # code -1 (NaT) picks this
    return list(formatted[codes].tolist())


def _bind_dates(connection: Connection, series: pd.Series) -> list[Any]:
    days = series.to_numpy(dtype="datetime64[D]")
    if _is_sqlite(connection):
        return _iso_text(days, "D")
    return list(days.astype(object).tolist())


def _bind_timestamps(connection: Connection, series: pd.Series) -> list[Any]:
    moments = series.to_numpy(dtype="datetime64[us]")
    if _is_sqlite(connection):
        return _iso_text(moments, "us")
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
