"""Observations and their revisions: the bulk upsert and the readers.

The upsert classifies every offered row as new, changed or unchanged against the stored rows
and writes only the first two, keeping a revised value's previous value in `revisions`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from flashpoint.store.engine import _reading, _utcnow, _writing
from flashpoint.store.frames import (
    _IN_CHUNK,
    UpsertCounts,
    _as_datetime,
    _bind_bools,
    _bind_dates,
    _bind_floats,
    _bind_strings,
    _bind_timestamps,
    _chunks,
    _executemany,
    _frame,
    _insert_sql,
    _raw,
    _read_newest,
    _to_day,
    _update_sql,
)
from flashpoint.store.schema import observations, revisions
from indicators.observations import (
    OBSERVATION_COLUMNS,
    OBSERVATION_KEY,
    WORLD,
    conform_observations,
    empty_observations,
)

# Relative tolerance under which a re-fetched value counts as unchanged (float noise from parsing).
_VALUE_RTOL = 1e-12
_KEY = list(OBSERVATION_KEY)

# Columns whose difference makes a stored row "changed" (besides the value, compared with a
# tolerance). published_at counts only when the new frame knows it.
_META_COLUMNS = ("unit", "source", "is_forecast")
_OBSERVATION_TIMES = ("period", "published_at", "fetched_at")
_OBSERVATION_STRINGS = ("indicator", "country", "vintage", "unit", "source")


def _check_duplicates(frame: pd.DataFrame) -> None:
    duplicated = frame.duplicated(subset=_KEY, keep="first")
    if bool(duplicated.any()):
        row = frame[duplicated.to_numpy()].iloc[0]
        period = pd.Timestamp(row["period"]).date().isoformat()
        raise ValueError(
            "duplicate observation key in frame: "
            f"indicator={row['indicator']!r}, country={row['country']!r}, "
            f"period={period}, vintage={row['vintage']!r}"
        )


def _decode_observations(raw: pd.DataFrame) -> pd.DataFrame:
    """Rows selected through `_raw` columns → canonical column dtypes."""
    if raw.empty:
        return empty_observations().loc[:, list(raw.columns)]
    for name in _OBSERVATION_STRINGS:
        if name in raw.columns:
            raw[name] = raw[name].astype(str)
    if "value" in raw.columns:
        raw["value"] = raw["value"].astype("float64")
    if "is_forecast" in raw.columns:
        raw["is_forecast"] = raw["is_forecast"].astype(bool)
    return _as_datetime(raw, [name for name in _OBSERVATION_TIMES if name in raw.columns])


def _select_observations() -> sa.Select[Any]:
    return sa.select(*(_raw(observations.c[name]) for name in OBSERVATION_COLUMNS))


def _read_existing(connection: Connection, frame: pd.DataFrame) -> pd.DataFrame:
    """Stored rows that may share a key with `frame`: per indicator, chunked IN on country,
    bounded by the frame's period range. A superset; the caller merges on the full key."""
    parts: list[pd.DataFrame] = []
    for indicator, group in frame.groupby("indicator", sort=False):
        countries = sorted(group["country"].unique().tolist())
        low, high = _to_day(group["period"].min()), _to_day(group["period"].max())
        for chunk in _chunks(countries, _IN_CHUNK):
            query = _select_observations().where(
                observations.c.indicator == str(indicator),
                observations.c.country.in_(list(chunk)),
                observations.c.period.between(low, high),
            )
            part = _frame(connection.execute(query))
            if not part.empty:
                parts.append(part)
    if not parts:
        return empty_observations()
    return _decode_observations(pd.concat(parts, ignore_index=True))


def _classify(
    frame: pd.DataFrame, existing: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Split `frame` into new rows, changed rows (with old_value/old_fetched_at) and a count of
    unchanged rows."""
    stored = existing.rename(
        columns={name: f"old_{name}" for name in existing.columns if name not in _KEY}
    )
    merged = frame.merge(stored, on=_KEY, how="left", indicator="_match", validate="one_to_one")
    is_new = (merged["_match"] == "left_only").to_numpy()
    old_value = merged["old_value"].to_numpy(dtype="float64", na_value=np.nan)
    new_value = merged["value"].to_numpy(dtype="float64")
    value_changed = ~np.isclose(new_value, old_value, rtol=_VALUE_RTOL, atol=0.0)
    meta_changed = np.zeros(len(merged), dtype=bool)
    for name in _META_COLUMNS:
        meta_changed |= (merged[name] != merged[f"old_{name}"]).to_numpy(dtype=bool)
    published_known = merged["published_at"].notna().to_numpy()
    published_differs = (merged["published_at"] != merged["old_published_at"]).to_numpy(dtype=bool)
    meta_changed |= published_known & published_differs
    is_changed = ~is_new & (value_changed | meta_changed)
    merged["_value_changed"] = value_changed
    new_rows = merged.loc[is_new, list(frame.columns)]
    changed_rows = merged.loc[is_changed]
    # A changed row keeps a published_at it already had when the new frame does not know it.
    changed_rows = changed_rows.assign(
        published_at=changed_rows["published_at"].fillna(changed_rows["old_published_at"])
    )
    unchanged = int((~is_new & ~is_changed).sum())
    return new_rows, changed_rows, unchanged


def _lock_observations(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Blocks other writers of observations (their classification would race ours) but not
        # readers. SQLite's BEGIN IMMEDIATE already gives the same guarantee.
        connection.exec_driver_sql("LOCK TABLE observations IN SHARE ROW EXCLUSIVE MODE")


_OBSERVATION_VALUE_COLUMNS = (
    "value",
    "unit",
    "source",
    "is_forecast",
    "published_at",
    "fetched_at",
    "fetch_run_id",
)


def _observation_columns(
    connection: Connection, rows: pd.DataFrame, fetch_run_id: int | None
) -> dict[str, list[Any]]:
    """Bound values for every stored observation column, column by column."""
    return {
        "indicator": _bind_strings(rows["indicator"]),
        "country": _bind_strings(rows["country"]),
        "period": _bind_dates(connection, rows["period"]),
        "vintage": _bind_strings(rows["vintage"]),
        "value": _bind_floats(rows["value"]),
        "unit": _bind_strings(rows["unit"]),
        "source": _bind_strings(rows["source"]),
        "is_forecast": _bind_bools(connection, rows["is_forecast"]),
        "published_at": _bind_timestamps(connection, rows["published_at"]),
        "fetched_at": _bind_timestamps(connection, rows["fetched_at"]),
        "fetch_run_id": [fetch_run_id] * len(rows),
    }


def _insert_observations(
    connection: Connection, rows: pd.DataFrame, fetch_run_id: int | None
) -> None:
    if rows.empty:
        return
    values = _observation_columns(connection, rows, fetch_run_id)
    names = list(values)
    _executemany(connection, _insert_sql(connection, observations, names), list(values.values()))


def _update_observations(
    connection: Connection, rows: pd.DataFrame, fetch_run_id: int | None
) -> None:
    if rows.empty:
        return
    values = _observation_columns(connection, rows, fetch_run_id)
    sql = _update_sql(connection, observations, _OBSERVATION_VALUE_COLUMNS, _KEY)
    ordered = [values[name] for name in (*_OBSERVATION_VALUE_COLUMNS, *_KEY)]
    _executemany(connection, sql, ordered)


def _insert_revisions(
    connection: Connection, revised: pd.DataFrame, revised_at: dt.datetime, fetch_run_id: int | None
) -> None:
    if revised.empty:
        return
    values = {
        "indicator": _bind_strings(revised["indicator"]),
        "country": _bind_strings(revised["country"]),
        "period": _bind_dates(connection, revised["period"]),
        "vintage": _bind_strings(revised["vintage"]),
        "old_value": _bind_floats(revised["old_value"]),
        "new_value": _bind_floats(revised["value"]),
        "old_fetched_at": _bind_timestamps(connection, revised["old_fetched_at"]),
        "revised_at": _bind_timestamps(
            connection, pd.Series(pd.Timestamp(revised_at), index=revised.index)
        ),
        "fetch_run_id": [fetch_run_id] * len(revised),
    }
    sql = _insert_sql(connection, revisions, list(values))
    _executemany(connection, sql, list(values.values()))


def _write_changes_postgresql(
    connection: Connection,
    new_rows: pd.DataFrame,
    changed_rows: pd.DataFrame,
    revised_at: dt.datetime,
    fetch_run_id: int | None,
) -> None:
    """PostgreSQL's bulk path: COPY every row to write into a temporary staging table, then one
    INSERT … SELECT for new rows, one for revisions and one UPDATE … FROM for changed rows.
    (executemany of 10^5 UPDATEs takes several times longer.)"""
    if new_rows.empty and changed_rows.empty:
        return
    kinds = np.concatenate(
        [
            np.full(len(new_rows), "new", dtype=object),
            np.where(changed_rows["_value_changed"].to_numpy(dtype=bool), "revised", "changed"),
        ]
    )
    rows = pd.concat(
        [
            new_rows.loc[:, list(OBSERVATION_COLUMNS)],
            changed_rows.loc[:, list(OBSERVATION_COLUMNS)],
        ],
        ignore_index=True,
    )
    values = _observation_columns(connection, rows, fetch_run_id)
    values["stage_kind"] = list(kinds.tolist())
    # The previous value and fetch time travel with the row, so the revision insert needs no join.
    old_values = pd.concat(
        [pd.Series(np.nan, index=new_rows.index), changed_rows["old_value"]], ignore_index=True
    )
    old_fetched = pd.concat(
        [
            pd.Series(pd.NaT, index=new_rows.index, dtype="datetime64[ns]"),
            changed_rows["old_fetched_at"],
        ],
        ignore_index=True,
    )
    values["stage_old_value"] = [None if np.isnan(v) else v for v in _bind_floats(old_values)]
    values["stage_old_fetched_at"] = _bind_timestamps(connection, old_fetched)
    stage = f"fp_stage_{uuid.uuid4().hex[:16]}"
    connection.exec_driver_sql(f"CREATE TEMPORARY TABLE {stage} (LIKE observations) ON COMMIT DROP")
    connection.exec_driver_sql(
        f"ALTER TABLE {stage} ADD COLUMN stage_kind text NOT NULL,"
        " ADD COLUMN stage_old_value double precision,"
        " ADD COLUMN stage_old_fetched_at timestamp without time zone"
    )
    names = list(values)
    driver_connection = connection.connection.driver_connection
    assert driver_connection is not None
    with (
        driver_connection.cursor() as cursor,
        cursor.copy(f"COPY {stage} ({', '.join(names)}) FROM STDIN") as copy,
    ):
        for row in zip(*values.values(), strict=True):
            copy.write_row(row)
    # Row estimates for the joins below; an unanalysed temporary table is planned blind.
    connection.exec_driver_sql(f"ANALYZE {stage}")
    columns = ", ".join((*OBSERVATION_COLUMNS, "fetch_run_id"))
    connection.exec_driver_sql(
        f"INSERT INTO observations ({columns}) "
        f"SELECT {columns} FROM {stage} WHERE stage_kind = 'new'"
    )
    connection.exec_driver_sql(
        "INSERT INTO revisions (indicator, country, period, vintage, old_value, new_value,"
        " old_fetched_at, revised_at, fetch_run_id)"
        " SELECT indicator, country, period, vintage, stage_old_value, value,"
        f" stage_old_fetched_at, %(revised_at)s, fetch_run_id FROM {stage}"
        " WHERE stage_kind = 'revised'",
        {"revised_at": revised_at},
    )
    key_match = " AND ".join(f"o.{name} = s.{name}" for name in _KEY)
    assignments = ", ".join(f"{name} = s.{name}" for name in _OBSERVATION_VALUE_COLUMNS)
    connection.exec_driver_sql(
        f"UPDATE observations o SET {assignments} FROM {stage} s"
        f" WHERE {key_match} AND s.stage_kind IN ('changed', 'revised')"
    )


def upsert_observations(
    engine: Engine | Connection, frame: pd.DataFrame, *, fetch_run_id: int | None = None
) -> UpsertCounts:
    """Insert new observations and revise changed ones, all in one transaction.

    A changed row's previous value goes to `revisions`. Values equal within a relative tolerance
    of 1e-12 (and with the same unit, source and forecast flag, and the same published_at when
    the frame gives one) are unchanged and not written, so upserting the same frame twice writes
    nothing the second time. A row whose value is unchanged but whose unit, source, forecast
    flag or published_at changed is updated and counted as changed, without a revision row.
    Rows without `fetched_at` are stamped with the current UTC time.

    Pass a `Connection` to make the upsert part of the caller's own transaction.

    Raises:
        ValueError: when the frame repeats a key (the message names the first repeated key) or
            lacks a required column.
    """
    conformed = conform_observations(frame)
    _check_duplicates(conformed)
    if conformed.empty:
        return UpsertCounts()
    now = _utcnow()
    conformed["fetched_at"] = conformed["fetched_at"].fillna(pd.Timestamp(now))
    with _writing(engine) as connection:
        _lock_observations(connection)
        existing = _read_existing(connection, conformed)
        new_rows, changed_rows, unchanged = _classify(conformed, existing)
        if connection.dialect.name == "postgresql":
            _write_changes_postgresql(connection, new_rows, changed_rows, now, fetch_run_id)
        else:
            _insert_observations(connection, new_rows, fetch_run_id)
            revised = changed_rows.loc[changed_rows["_value_changed"].to_numpy(dtype=bool)]
            _insert_revisions(connection, revised, now, fetch_run_id)
            _update_observations(connection, changed_rows, fetch_run_id)
    return UpsertCounts(new=len(new_rows), changed=len(changed_rows), unchanged=unchanged)


def read_observations(
    engine: Engine | Connection,
    *,
    indicators: Iterable[str] | None = None,
    countries: Iterable[str] | None = None,
    include_forecasts: bool = True,
    since: dt.date | dt.datetime | str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Stored observations as a canonical frame, sorted by indicator, country, vintage, period.

    Args:
        indicators: only these indicator ids (None: all).
        countries: only these ISO3 codes (None: all).
        include_forecasts: False drops projections (`is_forecast`).
        since: only periods on or after this date.
    """
    query = _select_observations()
    if indicators is not None:
        query = query.where(observations.c.indicator.in_(sorted(set(indicators))))
    if countries is not None:
        query = query.where(observations.c.country.in_(sorted(set(countries))))
    if not include_forecasts:
        query = query.where(observations.c.is_forecast.is_(False))
    if since is not None:
        query = query.where(observations.c.period >= _to_day(since))
    query = query.order_by(
        observations.c.indicator,
        observations.c.country,
        observations.c.vintage,
        observations.c.period,
    )
    with _reading(engine) as connection:
        result = _frame(connection.execute(query))
    if result.empty:
        return empty_observations()
    return _decode_observations(result).reset_index(drop=True)


def read_first_observations(engine: Engine | Connection) -> pd.DataFrame:
    """The actual (not forecast) observations at each indicator's first period: the rows the
    earliest publication day of the store is found among (a small frame, read with one query
    instead of the whole store; each indicator's first period is also its first publication)."""
    actual = observations.c.is_forecast.is_(False)
    first = (
        sa.select(
            observations.c.indicator.label("first_indicator"),
            sa.func.min(observations.c.period).label("first_period"),
        )
        .where(actual)
        .group_by(observations.c.indicator)
        .subquery()
    )
    query = (
        _select_observations()
        .join(
            first,
            sa.and_(
                observations.c.indicator == first.c.first_indicator,
                observations.c.period == first.c.first_period,
            ),
        )
        .where(actual)
    )
    with _reading(engine) as connection:
        result = _frame(connection.execute(query))
    if result.empty:
        return empty_observations()
    return _decode_observations(result).reset_index(drop=True)


def read_country_observations(
    engine: Engine | Connection,
    country: str,
    *,
    indicators: Iterable[str] | None = None,
    include_forecasts: bool = True,
) -> pd.DataFrame:
    """Every stored observation of one country and of the world series (`WLD`): what a page
    about that country (and its scoring) reads, without reading the rest of the store."""
    return read_observations(
        engine,
        indicators=indicators,
        countries=sorted({str(country), WORLD}),
        include_forecasts=include_forecasts,
    )


def latest_periods(
    engine: Engine | Connection, *, indicators: Iterable[str] | None = None
) -> pd.DataFrame:
    """The newest stored period per series: columns indicator, country, vintage, last_period."""
    query = sa.select(
        observations.c.indicator,
        observations.c.country,
        observations.c.vintage,
        sa.func.max(observations.c.period).label("last_period"),
    ).group_by(observations.c.indicator, observations.c.country, observations.c.vintage)
    if indicators is not None:
        query = query.where(observations.c.indicator.in_(sorted(set(indicators))))
    with _reading(engine) as connection:
        result = _frame(connection.execute(query))
    return _as_datetime(result, ("last_period",))


def read_revisions(
    engine: Engine | Connection,
    *,
    indicators: Iterable[str] | None = None,
    countries: Iterable[str] | None = None,
    since: dt.date | dt.datetime | str | pd.Timestamp | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Value revisions, newest first; `since` filters on `revised_at`."""
    query = sa.select(revisions)
    if indicators is not None:
        query = query.where(revisions.c.indicator.in_(sorted(set(indicators))))
    if countries is not None:
        query = query.where(revisions.c.country.in_(sorted(set(countries))))
    if since is not None:
        query = query.where(revisions.c.revised_at >= pd.Timestamp(since).to_pydatetime())
    return _read_newest(
        engine, revisions, query, limit, ("period", "old_fetched_at", "revised_at")
    )


def is_empty(engine: Engine | Connection) -> bool:
    """True when the store holds no observations."""
    with _reading(engine) as connection:
        first = connection.execute(sa.select(observations.c.indicator).limit(1)).first()
    return first is None
