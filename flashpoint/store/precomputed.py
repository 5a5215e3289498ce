"""Precomputed scores (the `scored_panels`, `scored_panel_frames`, `composite_history` and
`precompute_state` tables): the latest scored panel and each country's daily composite history.

The store keeps what it is given and says what it was computed from; `flashpoint.precompute`
decides what to compute and when, and readers use a stored panel only when its key matches
the store now (`PanelKey`), so a stale panel is never shown as current.

Frames are stored as JSON text with their column dtypes (`encode_frame` / `decode_frame`): the
same bytes on SQLite and PostgreSQL, no pickles, and an exact round trip of the scoring frames
(floats, ints, booleans, datetimes, `str` and object columns with their missing values).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from flashpoint.store.engine import _reading, _utcnow, _writing
from flashpoint.store.frames import _CHUNK_SIZE, _chunks, _frame
from flashpoint.store.schema import (
    composite_history,
    observations,
    precompute_state,
    revisions,
    scored_panel_frames,
    scored_panels,
)

# The columns of a composite history (also what `dashboard.history` computes by replay).
HISTORY_COLUMNS = (
    "country",
    "date",
    "composite",
    "composite_high",
    "band",
    "vulnerability",
    "trigger",
    "trigger_state",
)
_FLOAT_HISTORY = ("composite", "composite_high", "vulnerability", "trigger")
_TEXT_HISTORY = ("band", "trigger_state")


# --------------------------------------------------------------------------------------------
# Keys


def observations_version(engine: Engine | Connection) -> str:
    """A cheap token that changes whenever an observation is added, changed or revised.

    Scores depend on observations only (not on alerts, annotations or audit entries, which the
    dashboard's wider `data_version` also follows), so a panel stays current while alerts run.
    """
    query = sa.select(
        sa.select(sa.func.count()).select_from(observations).scalar_subquery(),
        sa.select(sa.func.max(observations.c.fetched_at)).scalar_subquery(),
        sa.select(sa.func.max(revisions.c.id)).scalar_subquery(),
    )
    with _reading(engine) as connection:
        row = connection.execute(query).one()
    return "|".join("" if item is None else str(item) for item in row)


@dataclass(frozen=True)
class PanelKey:
    """What a stored panel was computed from; a reader uses a panel only when every part matches.

    Attributes:
        data_version: `observations_version` of the store when it was scored.
        methodology_version: `indicators.methodology.METHODOLOGY_VERSION`.
        settings_fingerprint: a digest of the catalogue it was scored with (weights, bands…).
        as_of: the as-of day of the score.
    """

    data_version: str
    methodology_version: str
    settings_fingerprint: str
    as_of: dt.date


@dataclass(frozen=True)
class StoredPanel:
    """A stored panel: its key, when it was computed, a free note and its named frames."""

    key: PanelKey
    computed_at: dt.datetime
    note: str
    frames: dict[str, pd.DataFrame]


# --------------------------------------------------------------------------------------------
# The frame codec


def _float_cell(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _object_cell(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        # NaN and None are different missing values in an object column; keep which one it was.
        return {"nan": True} if math.isnan(value) else value
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return {"timestamp": pd.Timestamp(value).isoformat()}
    if value is pd.NaT:
        return {"nat": True}
    if isinstance(value, np.generic):
        return _object_cell(value.item())
    raise TypeError(f"cannot store a {type(value).__name__} in a precomputed frame")


def _decode_object_cell(value: Any) -> Any:
    if isinstance(value, dict):
        if "nan" in value:
            return float("nan")
        if "nat" in value:
            return pd.NaT
        return pd.Timestamp(value["timestamp"])
    return value


def encode_frame(frame: pd.DataFrame) -> str:
    """A frame as JSON text: its index names, columns, column dtypes and values.

    Raises:
        TypeError: for a column type the codec does not know (never silently stringified).
    """
    index_names = [name for name in frame.index.names if name is not None]
    flat = frame.reset_index() if index_names else frame.reset_index(drop=True)
    columns: list[dict[str, Any]] = []
    for name in flat.columns:
        series = flat[name]
        kind = str(series.dtype)
        if kind.startswith("datetime64"):
            if getattr(series.dt, "tz", None) is not None:
                raise TypeError(f"column {name!r}: time-zone aware datetimes are not stored")
            # Integer ticks in the column's own unit: exact, whatever the unit (s, ns…).
            ticks = series.to_numpy().view("int64")
            nat = series.isna().to_numpy()
            values: list[Any] = [
                None if gap else int(tick) for tick, gap in zip(ticks, nat, strict=True)
            ]
        elif kind in ("float64", "float32"):
            values = [_float_cell(item) for item in series.tolist()]
        elif kind in ("int64", "int32", "bool"):
            values = series.tolist()
        elif kind in ("str", "string") or isinstance(series.dtype, pd.StringDtype):
            values = [None if pd.isna(item) else str(item) for item in series]
        elif kind == "object":
            values = [_object_cell(item) for item in series.tolist()]
        else:
            raise TypeError(f"column {name!r}: dtype {kind} is not stored")
        columns.append({"name": str(name), "dtype": kind, "values": values})
    return json.dumps({"index": index_names, "columns": columns}, separators=(",", ":"))


def _rows_kept(columns: list[dict[str, Any]], rows_where: tuple[str, Collection[Any]]) -> list[int]:
    name, wanted = rows_where
    for column in columns:
        if column["name"] == name:
            keep = set(wanted)
            return [position for position, value in enumerate(column["values"]) if value in keep]
    raise KeyError(f"a stored frame has no column {name!r} to select rows by")


def decode_frame(
    text: str, *, rows_where: tuple[str, Collection[Any]] | None = None
) -> pd.DataFrame:
    """The frame `encode_frame` wrote, with the same dtypes, index and missing values.

    Args:
        text: what `encode_frame` returned.
        rows_where: `(column, values)`: only the rows whose `column` (a column or an index level)
            holds one of `values`, in stored order and numbered from 0 again — the same as
            filtering the whole frame afterwards, without building the rows thrown away.
    """
    document = json.loads(text)
    positions = None if rows_where is None else _rows_kept(document["columns"], rows_where)
    data: dict[str, pd.Series] = {}
    for column in document["columns"]:
        kind, values = column["dtype"], column["values"]
        if positions is not None:
            values = [values[position] for position in positions]
        series: pd.Series
        if kind.startswith("datetime64"):
            ticks = np.array(
                [np.iinfo(np.int64).min if item is None else item for item in values],
                dtype="int64",
            )
            series = pd.Series(ticks.view(kind))
        elif kind in ("float64", "float32"):
            series = pd.Series([np.nan if item is None else item for item in values], dtype=kind)
        elif kind == "object":
            series = pd.Series([_decode_object_cell(item) for item in values], dtype=object)
        else:
            series = pd.Series(values, dtype=kind)
        data[column["name"]] = series
    frame = pd.DataFrame(data)
    if not data:
        frame = pd.DataFrame(index=pd.RangeIndex(0))
    if document["index"]:
        frame = frame.set_index(document["index"])
    return frame


# --------------------------------------------------------------------------------------------
# The scored panel


# Arbitrary constant key of the PostgreSQL advisory lock that serialises precompute writes.
_PG_PRECOMPUTE_LOCK_KEY = 0x46_4C_50_43  # "FLPC"


@contextmanager
def precompute_writing(bind: Engine | Connection) -> Iterator[Connection]:
    """A write transaction on the precompute tables, one writer at a time.

    Two pipelines can precompute at once (the scheduler runs its sources' jobs in parallel;
    `refresh` may run beside `serve`), and each replaces rows by delete-then-insert. Under
    PostgreSQL's read-committed isolation both delete the same rows and both insert them: a
    duplicate key. A transaction-level advisory lock makes them take turns (the later one then
    replaces the earlier one's rows); SQLite's write lock already serialises them.
    """
    with _writing(bind) as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_PRECOMPUTE_LOCK_KEY)))
        yield connection

def write_stored_panel(
    engine: Engine | Connection,
    key: PanelKey,
    frames: Mapping[str, pd.DataFrame],
    *,
    note: str = "",
) -> None:
    """Store a scored panel's frames under `key`, replacing any panel stored before (one
    transaction: a reader sees the old panel or the new one, never half of one)."""
    payloads = [(name, encode_frame(frame)) for name, frame in frames.items()]
    with precompute_writing(engine) as connection:
        connection.execute(scored_panel_frames.delete())
        connection.execute(scored_panels.delete())
        inserted = connection.execute(
            scored_panels.insert().values(
                data_version=key.data_version,
                methodology_version=key.methodology_version,
                settings_fingerprint=key.settings_fingerprint,
                as_of=key.as_of,
                computed_at=_utcnow(),
                note=note,
            )
        )
        assert inserted.inserted_primary_key is not None  # an insert always returns its key
        panel_id = inserted.inserted_primary_key[0]
        connection.execute(
            scored_panel_frames.insert(),
            [{"panel_id": panel_id, "name": name, "payload": text} for name, text in payloads],
        )


def _is_missing_table(error: SQLAlchemyError) -> bool:
    text = str(error).lower()
    return "no such table" in text or "does not exist" in text or "undefinedtable" in text


def read_stored_panel_key(engine: Engine | Connection) -> PanelKey | None:
    """The key of the stored panel, or None (none stored, or a store older than the precompute)."""
    query = sa.select(
        scored_panels.c.data_version,
        scored_panels.c.methodology_version,
        scored_panels.c.settings_fingerprint,
        scored_panels.c.as_of,
    ).order_by(scored_panels.c.id.desc())
    try:
        with _reading(engine) as connection:
            row = connection.execute(query.limit(1)).first()
    except SQLAlchemyError as error:
        if _is_missing_table(error):
            return None
        raise
    if row is None:
        return None
    as_of = row.as_of if isinstance(row.as_of, dt.date) else dt.date.fromisoformat(str(row.as_of))
    return PanelKey(
        data_version=str(row.data_version),
        methodology_version=str(row.methodology_version),
        settings_fingerprint=str(row.settings_fingerprint),
        as_of=as_of,
    )


def read_stored_panel(
    engine: Engine | Connection,
    key: PanelKey,
    *,
    names: Iterable[str] | None = None,
    rows_where: tuple[str, Collection[Any]] | None = None,
) -> StoredPanel | None:
    """The stored panel when its key equals `key`; None when there is none or it is stale.

    Args:
        engine: the store.
        key: what the panel must have been computed from.
        names: only these frames (None: all).
        rows_where: `(column, values)`: only these rows of every frame (see `decode_frame`).
    """
    try:
        with _reading(engine) as connection:
            row = connection.execute(
                sa.select(scored_panels).order_by(scored_panels.c.id.desc()).limit(1)
            ).first()
            if row is None:
                return None
            as_of = (
                row.as_of
                if isinstance(row.as_of, dt.date)
                else dt.date.fromisoformat(str(row.as_of))
            )
            stored = PanelKey(
                str(row.data_version),
                str(row.methodology_version),
                str(row.settings_fingerprint),
                as_of,
            )
            if stored != key:
                return None
            query = sa.select(scored_panel_frames.c.name, scored_panel_frames.c.payload).where(
                scored_panel_frames.c.panel_id == row.id
            )
            if names is not None:
                query = query.where(scored_panel_frames.c.name.in_(list(names)))
            payloads = connection.execute(query).all()
    except SQLAlchemyError as error:
        if _is_missing_table(error):
            return None
        raise
    return StoredPanel(
        key=stored,
        computed_at=row.computed_at,
        note=str(row.note or ""),
        frames={
            str(name): decode_frame(str(text), rows_where=rows_where) for name, text in payloads
        },
    )


# --------------------------------------------------------------------------------------------
# Daily composite history


def _day(value: Any) -> dt.date:
    return pd.Timestamp(value).date()


def write_composite_history(engine: Engine | Connection, frame: pd.DataFrame) -> int:
    """Replace the history rows of the (country, date) pairs in `frame`; returns rows written.

    Args:
        frame: columns `HISTORY_COLUMNS` (missing scores as NaN/None: stored as NULL, never 0).
    """
    missing = [name for name in HISTORY_COLUMNS if name not in frame.columns]
    if missing:
        raise ValueError(f"composite history lacks columns: {', '.join(missing)}")
    if frame.empty:
        return 0
    now = _utcnow()
    records: list[dict[str, Any]] = []
    columns = {name: frame[name].tolist() for name in HISTORY_COLUMNS}
    for index in range(len(frame)):
        record: dict[str, Any] = {
            "country": str(columns["country"][index]),
            "date": _day(columns["date"][index]),
            "computed_at": now,
        }
        for name in _FLOAT_HISTORY:
            record[name] = _float_cell(_number_or_none(columns[name][index]))
        for name in _TEXT_HISTORY:
            value = columns[name][index]
            record[name] = None if value is None or pd.isna(value) else str(value)
        records.append(record)
    dates = sorted({record["date"] for record in records})
    countries = sorted({record["country"] for record in records})
    with precompute_writing(engine) as connection:
        # Delete then insert (dialect-neutral): the pairs written are exactly the pairs replaced.
        for chunk in _chunks(countries, 500):
            connection.execute(
                composite_history.delete().where(
                    composite_history.c.country.in_(list(chunk)),
                    composite_history.c.date.between(dates[0], dates[-1]),
                )
            )
        for rows in _chunks(records, _CHUNK_SIZE):
            connection.execute(composite_history.insert(), list(rows))
    return len(records)


def _number_or_none(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def delete_composite_history(engine: Engine | Connection, *, before: dt.date | None = None) -> int:
    """Delete history rows (all, or those dated before `before`); returns how many."""
    statement = composite_history.delete()
    if before is not None:
        statement = statement.where(composite_history.c.date < before)
    with precompute_writing(engine) as connection:
        return int(connection.execute(statement).rowcount or 0)


def read_composite_history(
    engine: Engine | Connection,
    countries: Iterable[str] | None = None,
    start: Any | None = None,
    end: Any | None = None,
) -> pd.DataFrame:
    """Stored daily composite history, sorted by country then date.

    Args:
        engine: the store.
        countries: ISO3 codes (None: every country).
        start: first date (included; None: the oldest stored).
        end: last date (included; None: the newest stored).

    Returns:
        Columns `HISTORY_COLUMNS` (`date` a datetime64 day; missing scores NaN/None, never 0).
        `frame.attrs["precompute"]` holds what the history was computed from (see
        `read_precompute_state`), so a caller can check it is current. Empty on a store that has
        no history (yet).
    """
    query = sa.select(*(composite_history.c[name] for name in HISTORY_COLUMNS))
    if countries is not None:
        query = query.where(composite_history.c.country.in_(sorted({str(c) for c in countries})))
    if start is not None:
        query = query.where(composite_history.c.date >= _day(start))
    if end is not None:
        query = query.where(composite_history.c.date <= _day(end))
    query = query.order_by(composite_history.c.country, composite_history.c.date)
    try:
        with _reading(engine) as connection:
            result = _frame(connection.execute(query))
    except SQLAlchemyError as error:
        if not _is_missing_table(error):
            raise
        result = pd.DataFrame(columns=list(HISTORY_COLUMNS))
    frame = pd.DataFrame(
        {
            "country": result["country"].astype(object).to_numpy() if len(result) else [],
            "date": pd.to_datetime(result["date"]) if len(result) else pd.to_datetime([]),
        }
    )
    for name in _FLOAT_HISTORY:
        frame[name] = pd.to_numeric(result[name], errors="coerce").astype("float64").to_numpy()
    for name in _TEXT_HISTORY:
        frame[name] = result[name].astype(object).to_numpy()
    frame = frame[list(HISTORY_COLUMNS)].reset_index(drop=True)
    frame.attrs["precompute"] = read_precompute_state(engine)
    return frame


# --------------------------------------------------------------------------------------------
# State


def read_precompute_state(engine: Engine | Connection) -> dict[str, str]:
    """Every precompute fact (key → value); empty on a store without the precompute tables."""
    try:
        with _reading(engine) as connection:
            rows = connection.execute(
                sa.select(precompute_state.c.key, precompute_state.c.value)
            ).all()
    except SQLAlchemyError as error:
        if _is_missing_table(error):
            return {}
        raise
    return {str(key): str(value) for key, value in rows}


def write_precompute_state(engine: Engine | Connection, values: Mapping[str, str]) -> None:
    """Set precompute facts (replacing the keys given, keeping the others)."""
    now = _utcnow()
    with precompute_writing(engine) as connection:
        connection.execute(
            precompute_state.delete().where(precompute_state.c.key.in_(list(values)))
        )
        if values:
            connection.execute(
                precompute_state.insert(),
                [{"key": key, "value": value, "updated_at": now} for key, value in values.items()],
            )


def earliest_change_since(engine: Engine | Connection, fetched_after: Any) -> dt.date | None:
    """The earliest day an observation fetched after `fetched_after` can count on (its
    publication, or its period when it has none: never later than the day it became visible);
    None when nothing was fetched since."""
    moment = pd.Timestamp(fetched_after).to_pydatetime()
    query = sa.select(
        sa.func.min(observations.c.published_at), sa.func.min(observations.c.period)
    ).where(observations.c.fetched_at > moment)
    with _reading(engine) as connection:
        published, period = connection.execute(query).one()
    days = [_day(value) for value in (published, period) if value is not None]
    return min(days) if days else None
