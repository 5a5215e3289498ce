"""Loading observations into an empty store: one bulk insert, with nothing to compare against.

The normal write paths (`upsert_observations`, `ObservationStage`) classify every row against
the stored ones; when the observations table is empty every row is new, so the first load
(the bundled snapshot on a fresh install) skips all of that and inserts the rows in one write
transaction: on SQLite multi-row `INSERT ... VALUES (...), (...), ...` statements in key order,
with the two secondary indexes dropped and rebuilt inside the same transaction (building an
index from sorted rows is several times cheaper than maintaining it row by row; readers in WAL
mode see the old, empty table and its indexes until the commit); on PostgreSQL a `COPY` straight
into the table.

Why multi-row statements on SQLite: with one row per statement, Python's per-row step (a tuple
per row, then bind, step and reset for each) costs about as much as SQLite's own B-tree work.
Hundreds of rows per statement, bound from one flat list cut straight out of a 2-D array of the
bound columns, halve the insert's CPU time for the same values.

Emptiness is checked again under the write lock: when another writer got there first nothing is
written and the caller falls back to the classifying path. The rows stored are the same as
`upsert_observations` would store for the same frame (a test compares them on both engines).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from flashpoint.store.engine import _utcnow, begin_write
from flashpoint.store.frames import UpsertCounts
from flashpoint.store.schema import observations
from flashpoint.store.series import (
    _check_duplicates,
    _lock_observations,
    _observation_columns,
)
from indicators.observations import OBSERVATION_KEY, conform_observations

# Rows per progress report (and per COPY on PostgreSQL): about ten reports for the snapshot.
BULK_CHUNK = 50_000

# Rows per multi-row INSERT on SQLite: past a few hundred the statement gets no cheaper per row
# (500 and 2,900 measured the same), and 500 x 11 values stays under SQLite's usual limit of
# 32,766 bound values (a build with a lower limit gets fewer rows per statement).
_ROWS_PER_STATEMENT = 500

# Called after each chunk with (rows written so far, rows in total).
BulkProgress = Callable[[int, int], None]


def insert_into_empty(
    engine: Engine,
    frame: pd.DataFrame,
    *,
    fetch_run_id: int | None = None,
    progress: BulkProgress | None = None,
    also: Callable[[Connection], None] | None = None,
) -> UpsertCounts | None:
    """Insert every row of `frame` into an empty observations table, in one transaction.

    Args:
        frame: canonical observations; rows without `fetched_at` get the current UTC time.
        fetch_run_id: recorded on every row.
        progress: told after each chunk how many rows are written.
        also: more writes to make in the same transaction (all land or none).

    Returns:
        The counts (every row new), or None when the table was not empty once the write lock
        was held: then nothing was written and the caller should use a classifying path.

    Raises:
        ValueError: when the frame repeats a key (the message names the first repeated key) or
            lacks a required column.
    """
    conformed = conform_observations(frame)
    _check_duplicates(conformed)
    conformed["fetched_at"] = conformed["fetched_at"].fillna(pd.Timestamp(_utcnow()))
    # In key order: the primary-key index fills page by page instead of at random.
    ordered = conformed.sort_values(list(OBSERVATION_KEY), ignore_index=True, kind="stable")
    total = len(ordered)
    with begin_write(engine) as connection:
        _lock_observations(connection)
        if connection.execute(sa.select(observations.c.indicator).limit(1)).first() is not None:
            return None
        if connection.dialect.name == "postgresql":
            _copy_rows(connection, ordered, fetch_run_id, progress)
        else:
            _insert_rows_sqlite(connection, ordered, fetch_run_id, progress)
        if also is not None:
            also(connection)
    if progress is not None and total == 0:
        progress(0, 0)
    return UpsertCounts(new=total)


def _insert_rows_sqlite(
    connection: Connection,
    rows: pd.DataFrame,
    fetch_run_id: int | None,
    progress: BulkProgress | None,
) -> None:
    secondary = sorted(observations.indexes, key=lambda index: str(index.name))
    for index in secondary:
        index.drop(connection)
    per_statement = _rows_per_statement(connection, len(observations.columns))
    for start in range(0, len(rows), BULK_CHUNK):
        chunk = rows.iloc[start : start + BULK_CHUNK]
        # The same bound values as every other observation write (text dates, 0/1 flags).
        values = _observation_columns(connection, chunk, fetch_run_id)
        table = np.empty((len(chunk), len(values)), dtype=object)
        for position, column in enumerate(values.values()):
            table[:, position] = column
        _insert_table(connection, list(values), table, per_statement)
        if progress is not None:
            progress(start + len(chunk), len(rows))
    for index in secondary:
        index.create(connection)


def _rows_per_statement(connection: Connection, width: int) -> int:
    driver_connection: Any = connection.connection.driver_connection
    limit = 999  # SQLite's compiled-in limit before 3.32, when the connection cannot say
    if isinstance(driver_connection, sqlite3.Connection) and hasattr(driver_connection, "getlimit"):
        limit = driver_connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return max(1, min(_ROWS_PER_STATEMENT, limit // width))


def _insert_table(
    connection: Connection, names: list[str], table: np.ndarray, per_statement: int
) -> None:
    """Insert the rows of a 2-D object array, `per_statement` rows per INSERT statement."""
    quote = connection.dialect.identifier_preparer.quote
    row_marks = "(" + ", ".join("?" * len(names)) + ")"
    head = f"INSERT INTO {observations.name} ({', '.join(quote(name) for name in names)}) VALUES "
    full = len(table) - len(table) % per_statement
    if full:
        # Each statement's values as one flat list: a reshape, not a Python loop over rows.
        batches = table[:full].reshape(-1, per_statement * len(names)).tolist()
        connection.exec_driver_sql(
            head + ", ".join([row_marks] * per_statement), [tuple(batch) for batch in batches]
        )
    rest = table[full:]
    if len(rest):
        connection.exec_driver_sql(
            head + ", ".join([row_marks] * len(rest)), tuple(rest.ravel().tolist())
        )


def _copy_rows(
    connection: Connection,
    rows: pd.DataFrame,
    fetch_run_id: int | None,
    progress: BulkProgress | None,
) -> None:
    driver_connection: Any = connection.connection.driver_connection
    for start in range(0, len(rows), BULK_CHUNK):
        chunk = rows.iloc[start : start + BULK_CHUNK]
        values = _observation_columns(connection, chunk, fetch_run_id)
        with (
            driver_connection.cursor() as cursor,
            cursor.copy(f"COPY observations ({', '.join(values)}) FROM STDIN") as copy,
        ):
            for row in zip(*values.values(), strict=True):
                copy.write_row(row)
        if progress is not None:
            progress(start + len(chunk), len(rows))
    # Row estimates for the first reads: a freshly filled table is otherwise planned blind.
    connection.exec_driver_sql("ANALYZE observations")
