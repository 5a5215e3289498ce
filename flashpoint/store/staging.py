"""Big writes staged outside the write lock, then switched in with one short transaction.

An `ObservationStage` holds one dedicated connection and a temporary table on it. Rows are
added chunk by chunk (`add`); on SQLite a temporary table lives in the connection's own temp
database, so staging never takes, or waits for, the store's write lock, and on PostgreSQL it is
private to the session. Memory stays bounded by the chunk, whatever the total.

`switch` then classifies every staged row against the stored ones (new, revised, changed,
unchanged; in SQL, in a read transaction that takes no lock) and, in one `BEGIN IMMEDIATE`
transaction, writes the new rows, the revisions and the changed rows with three set-based
statements. On SQLite the classification is reused when no other connection has committed since
(`PRAGMA data_version`); otherwise, and always on PostgreSQL, it is redone under the lock. The
write is all-or-nothing (the stage vanishes with its connection if the process dies), and the
lock is held for a few statements, not for a Python loop over a million rows. The result is the
same as `upsert_observations` on the whole frame: same counts, same revisions, same tolerance.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import pandas as pd
from sqlalchemy.engine import Connection, Engine

from flashpoint.store.engine import _utcnow, begin_writing
from flashpoint.store.frames import (
    UpsertCounts,
    _bind_bools,
    _bind_dates,
    _bind_floats,
    _bind_strings,
    _bind_timestamps,
    _executemany,
    _placeholder,
)
from flashpoint.store.series import _VALUE_RTOL, _lock_observations
from indicators.observations import OBSERVATION_COLUMNS, OBSERVATION_KEY, conform_observations

_KEY = list(OBSERVATION_KEY)
_EXTRA_COLUMNS = (
    ("row_number", "BIGINT"),
    ("kind", "VARCHAR(16)"),
    ("old_value", "DOUBLE PRECISION"),
    ("old_fetched_at", "TIMESTAMP"),
)


@dataclass(frozen=True)
class StagedDuplicate:
    """Two staged rows with the same observation key (`row` repeats `first_row`)."""

    indicator: str
    country: str
    period: str
    vintage: str
    first_row: int
    row: int


@dataclass(frozen=True)
class SwitchResult:
    """What `switch` wrote, and how many staged rows it left out because a live source holds
    their key (only with `skip_live_except`)."""

    counts: UpsertCounts
    skipped_live: int


class ObservationStage:
    """Observations staged on a private connection, switched into the store in one transaction.

    Use as a context manager; leaving it drops the stage and closes its connection.
    """

    def __init__(self, engine: Engine) -> None:
        self._connection: Connection = engine.connect()
        self._dialect = self._connection.dialect.name
        self.table = f"fp_stage_{uuid.uuid4().hex[:12]}"
        self.rows = 0
        self._fetched_at = pd.Timestamp(_utcnow())
        self._indexed = False
        self._no_duplicates_at = -1  # `rows` when no duplicate was last found
        self._prepared: tuple[int, str | None, int | None] | None = None  # rows, prefix, version
        self._tally: dict[str, int] = {}  # staged rows per kind, as last classified
        with self._staging() as connection:
            connection.exec_driver_sql(
                f"CREATE TEMPORARY TABLE {self.table} AS SELECT "
                f"{', '.join(OBSERVATION_COLUMNS)} FROM observations WHERE 1 = 0"
            )
            for name, kind in _EXTRA_COLUMNS:
                connection.exec_driver_sql(f"ALTER TABLE {self.table} ADD COLUMN {name} {kind}")

    def __enter__(self) -> ObservationStage:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Drop the stage (nothing is left behind) and release the connection."""
        try:
            if self._connection.in_transaction():
                self._connection.rollback()
            with self._staging() as connection:
                connection.exec_driver_sql(f"DROP TABLE IF EXISTS {self.table}")
        finally:
            self._connection.close()

    @contextmanager
    def _staging(self) -> Iterator[Connection]:
        """A transaction that only touches the stage: never the store's write lock."""
        self._connection.execution_options(flashpoint_write=False)
        with self._connection.begin():
            yield self._connection

    def add(self, frame: pd.DataFrame, *, row_numbers: pd.Series | None = None) -> None:
        """Stage a chunk of observations (canonical columns; `fetched_at` may be missing).

        Args:
            row_numbers: the file rows the observations came from, for duplicate reports.
        """
        conformed = conform_observations(frame)
        if conformed.empty:
            return
        conformed["fetched_at"] = conformed["fetched_at"].fillna(self._fetched_at)
        connection = self._connection
        numbers = (
            list(range(self.rows + 1, self.rows + len(conformed) + 1))
            if row_numbers is None
            else [int(number) for number in row_numbers]
        )
        values = {
            "indicator": _bind_strings(conformed["indicator"]),
            "country": _bind_strings(conformed["country"]),
            "period": _bind_dates(connection, conformed["period"]),
            "vintage": _bind_strings(conformed["vintage"]),
            "value": _bind_floats(conformed["value"]),
            "unit": _bind_strings(conformed["unit"]),
            "source": _bind_strings(conformed["source"]),
            "is_forecast": _bind_bools(connection, conformed["is_forecast"]),
            "published_at": _bind_timestamps(connection, conformed["published_at"]),
            "fetched_at": _bind_timestamps(connection, conformed["fetched_at"]),
            "row_number": numbers,
        }
        with self._staging() as staging:
            if self._dialect == "postgresql":
                self._copy(staging, values)
            else:
                mark = _placeholder(connection)
                sql = (
                    f"INSERT INTO {self.table} ({', '.join(values)}) "
                    f"VALUES ({', '.join([mark] * len(values))})"
                )
                _executemany(staging, sql, list(values.values()))
        self.rows += len(conformed)

    def _copy(self, connection: Connection, values: dict[str, list[Any]]) -> None:
        """PostgreSQL: COPY the chunk in (executemany of 10^5 rows takes several times longer)."""
        driver_connection = connection.connection.driver_connection
        assert driver_connection is not None
        with (
            driver_connection.cursor() as cursor,
            cursor.copy(f"COPY {self.table} ({', '.join(values)}) FROM STDIN") as copy,
        ):
            for row in zip(*values.values(), strict=True):
                copy.write_row(row)

    def _ensure_index(self) -> None:
        if self._indexed:
            return
        with self._staging() as connection:
            connection.exec_driver_sql(
                f"CREATE INDEX {self.table}_key ON {self.table} ({', '.join(_KEY)})"
            )
            if self._dialect == "postgresql":
                connection.exec_driver_sql(f"ANALYZE {self.table}")
        self._indexed = True

    def first_duplicate(self) -> StagedDuplicate | None:
        """The first staged row (by row number) that repeats an earlier row's key, if any."""
        if self._no_duplicates_at == self.rows:
            return None
        self._ensure_index()
        stage, keys = self.table, ", ".join(_KEY)
        with self._staging() as connection:
            repeated = connection.exec_driver_sql(
                f"SELECT 1 FROM {stage} GROUP BY {keys} HAVING COUNT(*) > 1 LIMIT 1"
            ).first()
            if repeated is None:
                self._no_duplicates_at = self.rows
                return None
            found = connection.exec_driver_sql(
                f"SELECT s.row_number, {', '.join(f's.{name}' for name in _KEY)} FROM {stage} s "
                f"WHERE EXISTS (SELECT 1 FROM {stage} e WHERE {_key_match('e', 's')} "
                "AND e.row_number < s.row_number) ORDER BY s.row_number LIMIT 1"
            ).one()
            mark = _placeholder(connection)
            first_row = connection.exec_driver_sql(
                f"SELECT MIN(row_number) FROM {stage} WHERE "
                + " AND ".join(f"{name} = {mark}" for name in _KEY),
                tuple(found[1:]),
            ).scalar_one()
        return StagedDuplicate(
            indicator=str(found[1]),
            country=str(found[2]),
            period=str(found[3])[:10],
            vintage=str(found[4]),
            first_row=int(first_row),
            row=int(found[0]),
        )

    def switch(
        self,
        *,
        fetch_run_id: int | None = None,
        skip_live_except: str | None = None,
        also: Callable[[Connection], None] | None = None,
    ) -> SwitchResult:
        """Write the staged rows into the store in one short write transaction.

        Args:
            fetch_run_id: recorded on every written observation and revision.
            skip_live_except: leave out staged rows whose key a source not starting with this
                prefix stored (the snapshot's "never overwrite a live fetcher" rule).
            also: more writes to make in the same transaction (all land or none).

        Raises:
            ValueError: when two staged rows share a key (the message names them).
        """
        duplicate = self.first_duplicate()
        if duplicate is not None:
            raise ValueError(
                "duplicate observation key in frame: "
                f"indicator={duplicate.indicator!r}, country={duplicate.country!r}, "
                f"period={duplicate.period}, vintage={duplicate.vintage!r}"
            )
        prepared = self._prepared
        if self._dialect != "sqlite":
            version = None  # PostgreSQL classifies under its table lock (readers never wait)
        elif prepared is not None and prepared[:2] == (self.rows, skip_live_except):
            version = prepared[2]  # the caller classified already, nothing staged since
        else:
            version = self.prepare(skip_live_except=skip_live_except)
        connection = self._connection
        try:
            with begin_writing(connection):
                _lock_observations(connection)
                if version is None or self._data_version(connection) != version:
                    # Someone wrote since `prepare` read the store: classify again, now locked.
                    self._classify(connection, skip_live_except)
                counts, skipped = self._write(connection, fetch_run_id, self._tally)
                if also is not None:
                    also(connection)
        finally:
            connection.execution_options(flashpoint_write=False)
        return SwitchResult(counts=counts, skipped_live=skipped)

    def prepare(self, *, skip_live_except: str | None = None) -> int | None:
        """Classify the staged rows against the store in a read transaction (no write lock).

        Returns:
            SQLite's `data_version` the classification was made at (the switch reuses it when
            no other connection has committed since), or None where there is no such check.
        """
        with self._staging() as connection:
            version = self._data_version(connection)
            self._classify(connection, skip_live_except)
        self._prepared = (self.rows, skip_live_except, version)
        return version

    def _data_version(self, connection: Connection) -> int | None:
        if self._dialect != "sqlite":
            return None  # PostgreSQL classifies again under its table lock
        return int(connection.exec_driver_sql("PRAGMA main.data_version").scalar_one())

    def _classify(self, connection: Connection, keep_prefix: str | None) -> None:
        stage = self.table
        # np.isclose(new, old, rtol, atol=0): unchanged when |new - old| <= rtol * |old|.
        value_differs = f"ABS({stage}.value - o.value) > {_VALUE_RTOL!r} * ABS(o.value)"
        meta_differs = (
            f"o.unit <> {stage}.unit OR o.source <> {stage}.source "
            f"OR o.is_forecast <> {stage}.is_forecast "
            f"OR ({stage}.published_at IS NOT NULL AND "
            f"(o.published_at IS NULL OR o.published_at <> {stage}.published_at))"
        )
        connection.exec_driver_sql(
            f"UPDATE {stage} SET kind = 'new', old_value = NULL, old_fetched_at = NULL"
        )
        connection.exec_driver_sql(
            f"UPDATE {stage} SET kind = CASE WHEN {value_differs} THEN 'revised' "
            f"WHEN {meta_differs} THEN 'changed' ELSE 'unchanged' END, "
            "old_value = o.value, old_fetched_at = o.fetched_at "
            f"FROM observations o WHERE {_key_match('o', stage)}"
        )
        if keep_prefix is not None:
            connection.exec_driver_sql(
                f"UPDATE {stage} SET kind = 'live' WHERE EXISTS (SELECT 1 FROM observations o "
                f"WHERE {_key_match('o', stage)} AND o.source NOT LIKE {_placeholder(connection)})",
                (f"{keep_prefix}%",),
            )
        # The writes then touch only the rows of their kind (none at all for an unchanged load).
        connection.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {stage}_kind ON {stage} (kind)")
        self._tally = {
            str(kind): int(count)
            for kind, count in connection.exec_driver_sql(
                f"SELECT kind, COUNT(*) FROM {stage} GROUP BY kind"
            ).all()
        }

    def _write(
        self, connection: Connection, fetch_run_id: int | None, tally: dict[str, int]
    ) -> tuple[UpsertCounts, int]:
        stage = self.table
        mark = _placeholder(connection)
        now = _bind_timestamps(connection, pd.Series([pd.Timestamp(_utcnow())]))[0]
        columns = ", ".join((*OBSERVATION_COLUMNS, "fetch_run_id"))
        staged = ", ".join(OBSERVATION_COLUMNS)
        if tally.get("new"):
            connection.exec_driver_sql(
                f"INSERT INTO observations ({columns}) "
                # In key order: the primary-key index fills page by page, not at random.
                f"SELECT {staged}, {mark} FROM {stage} WHERE kind = 'new' "
                f"ORDER BY {', '.join(_KEY)}",
                (fetch_run_id,),
            )
        if tally.get("revised"):
            connection.exec_driver_sql(
                "INSERT INTO revisions (indicator, country, period, vintage, old_value,"
                " new_value, old_fetched_at, revised_at, fetch_run_id)"
                " SELECT indicator, country, period, vintage, old_value, value, old_fetched_at,"
                f" {mark}, {mark} FROM {stage} WHERE kind = 'revised'",
                (now, fetch_run_id),
            )
        if tally.get("changed") or tally.get("revised"):
            copied = ("value", "unit", "source", "is_forecast", "fetched_at")
            assignments = ", ".join(f"{name} = s.{name}" for name in copied)
            # A changed row keeps the published_at it had when the new row does not know it.
            assignments += ", published_at = COALESCE(s.published_at, observations.published_at)"
            connection.exec_driver_sql(
                f"UPDATE observations SET {assignments}, fetch_run_id = {mark} "
                f"FROM {stage} s WHERE {_key_match('observations', 's')} "
                "AND s.kind IN ('changed', 'revised')",
                (fetch_run_id,),
            )
        counts = UpsertCounts(
            new=tally.get("new", 0),
            changed=tally.get("changed", 0) + tally.get("revised", 0),
            unchanged=tally.get("unchanged", 0),
        )
        return counts, tally.get("live", 0)


def _key_match(left: str, right: str) -> str:
    return " AND ".join(f"{left}.{name} = {right}.{name}" for name in _KEY)


def staged_upsert(
    engine: Engine,
    chunks: Iterable[pd.DataFrame],
    *,
    fetch_run_id: int | None = None,
) -> UpsertCounts:
    """`upsert_observations` for frames too big to hold at once: stage each chunk, then switch."""
    with ObservationStage(engine) as stage:
        for chunk in chunks:
            stage.add(chunk)
        return stage.switch(fetch_run_id=fetch_run_id).counts


