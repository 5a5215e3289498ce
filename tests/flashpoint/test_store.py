"""The store on SQLite and on a real PostgreSQL: schema, upgrades, upserts, reads, bookkeeping."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from flashpoint import store
from flashpoint.errors import StoreError
from flashpoint.store import frames as store_frames
from indicators.observations import OBSERVATION_COLUMNS

REPO_ROOT = Path(__file__).resolve().parents[2]

EXPECTED_TABLES = {
    "schema_meta",
    "observations",
    "revisions",
    "fetch_runs",
    "http_validators",
    "alert_rules",
    "alert_state",
    "alert_events",
    "notifications",
    "silences",
    "audit_log",
    "events",
    "scores",
    "acled_events",
    "announcements",
}


def make_frame(
    values: dict[tuple[str, str, str], float],
    *,
    vintage: str = "",
    source: str = "worldbank",
    is_forecast: bool = False,
) -> pd.DataFrame:
    """A small observation frame from {(indicator, country, period): value}."""
    rows = [
        {
            "indicator": indicator,
            "country": country,
            "period": period,
            "value": value,
            "unit": "%",
            "source": source,
            "vintage": vintage,
            "is_forecast": is_forecast,
        }
        for (indicator, country, period), value in values.items()
    ]
    return pd.DataFrame(rows)


def grid_frame(indicators: int, countries: int, years: int, *, seed: int = 0) -> pd.DataFrame:
    """A dense frame of random values over indicators × countries × annual periods."""
    keys = pd.MultiIndex.from_product(
        [
            [f"ind_{i}" for i in range(indicators)],
            [f"C{c:02d}" for c in range(countries)],
            pd.date_range("2000-01-01", periods=years, freq="YS"),
        ],
        names=["indicator", "country", "period"],
    ).to_frame(index=False)
    keys["value"] = np.random.default_rng(seed).normal(size=len(keys))
    keys["unit"] = "%"
    keys["source"] = "worldbank"
    return keys


def table_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            name: int(
                connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            )
            for name, table in store.metadata.tables.items()
        }


@contextmanager
def record_statements(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement the engine sends while the block runs."""
    statements: list[str] = []

    def _record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", _record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", _record)


# ---------------------------------------------------------------------------------------------
# Engine


def test_sqlite_engine_creates_directory_and_sets_pragmas(sqlite_url: str) -> None:
    engine = store.make_engine(sqlite_url)
    try:
        assert engine.url.database is not None
        assert Path(engine.url.database).parent.is_dir()
        with engine.connect() as connection:
            pragma = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "busy_timeout", "synchronous", "foreign_keys")
            }
    finally:
        engine.dispose()
    # synchronous=NORMAL is 1
    assert pragma == {
        "journal_mode": "wal",
        "busy_timeout": 10000,
        "synchronous": 1,
        "foreign_keys": 1,
    }


def test_unreachable_postgres_raises_store_error_without_password() -> None:
    port = _closed_port()
    with pytest.raises(StoreError) as caught:
        store.make_engine(f"postgresql://someone:s3cret-pw@127.0.0.1:{port}/nothing")
    message = str(caught.value)
    assert "s3cret-pw" not in message
    assert "***" in message
    assert f"127.0.0.1:{port}" in message
    assert "postgresql+psycopg" in message


def test_unsupported_url_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="unsupported store URL"):
        store.make_engine("mysql://user:pw@localhost/db")


def test_mask_url_hides_password_even_when_unparsable() -> None:
    assert store.mask_url("postgresql://u:hunter2@h/db") == "postgresql://u:***@h/db"
    assert "hunter2" not in store.mask_url("not a url://u:hunter2@h")


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens once the probe is closed


@pytest.mark.postgres
def test_postgresql_url_is_rewritten_to_psycopg(postgres_url: str) -> None:
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    engine = store.make_engine(plain)
    try:
        assert engine.url.drivername == "postgresql+psycopg"
    finally:
        engine.dispose()


# ---------------------------------------------------------------------------------------------
# Schema


def test_init_schema_is_idempotent(store_url: str) -> None:
    engine = store.make_engine(store_url)
    try:
        assert store.init_schema(engine) == store.CURRENT_SCHEMA_VERSION
        store.upsert_observations(engine, make_frame({("gini", "KAZ", "2020-01-01"): 27.8}))
        assert store.init_schema(engine) == store.CURRENT_SCHEMA_VERSION
        assert set(sa.inspect(engine).get_table_names()) >= EXPECTED_TABLES
        assert store.read_schema_version(engine) == store.CURRENT_SCHEMA_VERSION
        assert len(store.read_observations(engine)) == 1
    finally:
        engine.dispose()


def _build_v1_store(engine: Engine) -> None:
    """A version-1 store written by hand: observations without is_forecast/published_at, and
    no scores, acled_events or announcements tables."""
    v1 = sa.MetaData()
    v1_tables = [
        table.to_metadata(v1)
        for name, table in store.metadata.tables.items()
        if name not in {"observations", "scores", "acled_events", "announcements"}
    ]
    v1_observations = sa.Table(
        "observations",
        v1,
        sa.Column("indicator", sa.String(80), primary_key=True),
        sa.Column("country", sa.String(8), primary_key=True),
        sa.Column("period", sa.Date, primary_key=True),
        sa.Column("vintage", sa.String(32), primary_key=True),
        sa.Column("value", sa.Double, nullable=False),
        sa.Column("unit", sa.String(64), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("fetched_at", sa.DateTime, nullable=False),
        sa.Column("fetch_run_id", sa.Integer, sa.ForeignKey("fetch_runs.id")),
    )
    later = {"observations", "scores", "acled_events", "announcements"}
    assert {t.name for t in v1_tables} | later == set(
        store.metadata.tables
    )
    with engine.begin() as connection:
        v1.create_all(connection)
        connection.execute(store.schema_meta.insert().values(key="schema_version", value="1"))
        run_id = connection.execute(
            store.fetch_runs.insert().values(
                source="worldbank", started_at=dt.datetime(2024, 1, 1), status="ok"
            )
        ).inserted_primary_key
        assert run_id is not None
        connection.execute(
            v1_observations.insert(),
            [
                {
                    "indicator": "gini",
                    "country": "KAZ",
                    "period": dt.date(2020, 1, 1),
                    "vintage": "",
                    "value": 27.8,
                    "unit": "index",
                    "source": "worldbank",
                    "fetched_at": dt.datetime(2024, 1, 1, 12, 0),
                    "fetch_run_id": run_id[0],
                },
                {
                    "indicator": "wgi_rule_of_law",
                    "country": "KAZ",
                    "period": dt.date(2019, 1, 1),
                    "vintage": "2020",
                    "value": -0.45,
                    "unit": "-2.5..2.5",
                    "source": "worldbank",
                    "fetched_at": dt.datetime(2024, 1, 1, 12, 0),
                    "fetch_run_id": None,
                },
            ],
        )


def test_upgrade_from_version_1_keeps_rows_and_adds_columns(store_url: str) -> None:
    engine = store.make_engine(store_url)
    try:
        _build_v1_store(engine)
        inspector = sa.inspect(engine)
        assert "is_forecast" not in {c["name"] for c in inspector.get_columns("observations")}
        assert "scores" not in inspector.get_table_names()
        assert store.read_schema_version(engine) == 1

        assert store.init_schema(engine) == store.CURRENT_SCHEMA_VERSION

        inspector = sa.inspect(engine)
        columns = {c["name"] for c in inspector.get_columns("observations")}
        assert {"is_forecast", "published_at"} <= columns
        assert set(inspector.get_table_names()) >= EXPECTED_TABLES
        # v3: the data-version probe's index exists on an upgraded store too.
        indexes = {index["name"] for index in inspector.get_indexes("observations")}
        assert "ix_observations_fetched_at" in indexes
        assert store.read_schema_version(engine) == store.CURRENT_SCHEMA_VERSION
        upgraded = store.read_observations(engine).set_index("indicator")
        assert upgraded.loc["gini", "value"] == 27.8
        assert upgraded.loc["wgi_rule_of_law", "vintage"] == "2020"
        assert not upgraded["is_forecast"].any()
        assert upgraded["published_at"].isna().all()
        assert upgraded.loc["gini", "fetched_at"] == pd.Timestamp("2024-01-01 12:00")
        # The upgraded store takes new-shape writes and a second init is a no-op.
        counts = store.upsert_observations(
            engine,
            make_frame({("gini", "KAZ", "2020-01-01"): 28.0, ("gini", "KAZ", "2021-01-01"): 29.0}),
        )
        assert (counts.new, counts.changed) == (1, 1)
        assert store.init_schema(engine) == store.CURRENT_SCHEMA_VERSION
        assert store.integrity_check(engine) == []
    finally:
        engine.dispose()


def test_newer_schema_is_refused(store_engine: Engine) -> None:
    with store_engine.begin() as connection:
        connection.execute(
            store.schema_meta.update()
            .where(store.schema_meta.c.key == "schema_version")
            .values(value=str(store.CURRENT_SCHEMA_VERSION + 1))
        )
    with pytest.raises(StoreError, match="newer than this Flashpoint"):
        store.init_schema(store_engine)


def test_concurrent_init_schema_on_a_fresh_store(store_url: str) -> None:
    engines = [store.make_engine(store_url) for _ in range(4)]
    barrier = threading.Barrier(len(engines))
    results: list[int] = []
    failures: list[BaseException] = []

    def initialise(engine: Engine) -> None:
        barrier.wait(timeout=30)
        try:
            results.append(store.init_schema(engine))
        except BaseException as error:  # collected and asserted below
            failures.append(error)

    threads = [threading.Thread(target=initialise, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for engine in engines:
        engine.dispose()
    assert failures == []
    assert results == [store.CURRENT_SCHEMA_VERSION] * len(engines)


# ---------------------------------------------------------------------------------------------
# Upserts


def test_upsert_counts_new_changed_unchanged(store_engine: Engine) -> None:
    first = make_frame(
        {
            ("gini", "KAZ", "2019-01-01"): 27.5,
            ("gini", "KAZ", "2020-01-01"): 27.8,
            ("unemployment", "KGZ", "2020-01-01"): 5.1,
        }
    )
    assert store.upsert_observations(store_engine, first) == store.UpsertCounts(3, 0, 0)
    second = make_frame(
        {
            ("gini", "KAZ", "2019-01-01"): 27.5,  # unchanged
            ("gini", "KAZ", "2020-01-01"): 28.1,  # revised
            ("unemployment", "KGZ", "2020-01-01"): 5.1 * (1 + 1e-14),  # float noise: unchanged
            ("unemployment", "KGZ", "2021-01-01"): 5.4,  # new
        }
    )
    counts = store.upsert_observations(store_engine, second)
    assert counts == store.UpsertCounts(new=1, changed=1, unchanged=2)
    assert (counts.total, counts.written) == (4, 2)
    stored = store.read_observations(store_engine)
    assert len(stored) == 4
    value = stored.set_index(["indicator", "country", "period"])["value"]
    assert value[("gini", "KAZ", pd.Timestamp("2020-01-01"))] == 28.1


def test_revised_value_keeps_its_old_value(store_engine: Engine) -> None:
    run = store.start_fetch_run(store_engine, "worldbank")
    store.upsert_observations(store_engine, make_frame({("gini", "KAZ", "2020-01-01"): 27.8}))
    first_fetched = store.read_observations(store_engine)["fetched_at"].iloc[0]
    store.upsert_observations(
        store_engine, make_frame({("gini", "KAZ", "2020-01-01"): 29.0}), fetch_run_id=run
    )
    revisions = store.read_revisions(store_engine)
    assert len(revisions) == 1
    revision = revisions.iloc[0]
    assert (revision["indicator"], revision["country"]) == ("gini", "KAZ")
    assert revision["period"] == pd.Timestamp("2020-01-01")
    assert (revision["old_value"], revision["new_value"]) == (27.8, 29.0)
    assert revision["old_fetched_at"] == first_fetched
    assert revision["revised_at"] >= first_fetched
    assert revision["fetch_run_id"] == run
    stored = store.read_observations(store_engine)
    assert stored["value"].tolist() == [29.0]
    assert store.read_revisions(store_engine, countries=["KGZ"]).empty


def test_metadata_change_updates_without_a_value_revision(store_engine: Engine) -> None:
    store.upsert_observations(
        store_engine,
        make_frame({("imf_cpi_inflation", "KAZ", "2025-01-01"): 8.0}, is_forecast=True),
    )
    counts = store.upsert_observations(
        store_engine,
        make_frame({("imf_cpi_inflation", "KAZ", "2025-01-01"): 8.0}, is_forecast=False),
    )
    assert counts == store.UpsertCounts(new=0, changed=1, unchanged=0)
    assert not store.read_observations(store_engine)["is_forecast"].iloc[0]
    assert store.read_revisions(store_engine).empty


def test_same_frame_twice_writes_nothing_the_second_time(store_engine: Engine) -> None:
    frame = grid_frame(indicators=3, countries=5, years=10)
    assert store.upsert_observations(store_engine, frame).new == len(frame)
    before = store.read_observations(store_engine)
    with record_statements(store_engine) as statements:
        counts = store.upsert_observations(store_engine, frame)
    assert counts == store.UpsertCounts(new=0, changed=0, unchanged=len(frame))
    writes = [s for s in statements if s.lstrip().upper().startswith(("INSERT", "UPDATE"))]
    assert writes == []
    pd.testing.assert_frame_equal(store.read_observations(store_engine), before)


def test_timestamps_are_stored_as_naive_utc(store_engine: Engine) -> None:
    frame = make_frame({("gini", "KAZ", "2020-01-01"): 27.8})
    frame["published_at"] = pd.Timestamp("2021-06-30 18:00+05:00")
    frame["fetched_at"] = pd.Timestamp("2024-03-01 09:30:15.123456", tz="UTC")
    store.upsert_observations(store_engine, frame)
    stored = store.read_observations(store_engine)
    assert list(stored.columns) == list(OBSERVATION_COLUMNS)
    assert stored["published_at"].iloc[0] == pd.Timestamp("2021-06-30 13:00")
    assert stored["fetched_at"].iloc[0] == pd.Timestamp("2024-03-01 09:30:15.123456")
    for name in ("period", "published_at", "fetched_at"):
        assert stored[name].dtype == np.dtype("datetime64[ns]"), name
    assert stored["value"].dtype == np.dtype("float64")
    assert stored["is_forecast"].dtype == np.dtype("bool")


def test_missing_fetched_at_is_stamped_now(store_engine: Engine) -> None:
    before = pd.Timestamp(dt.datetime.now(dt.UTC).replace(tzinfo=None))
    store.upsert_observations(store_engine, make_frame({("gini", "KAZ", "2020-01-01"): 1.0}))
    after = pd.Timestamp(dt.datetime.now(dt.UTC).replace(tzinfo=None))
    fetched = store.read_observations(store_engine)["fetched_at"].iloc[0]
    assert before <= fetched <= after


def test_duplicate_keys_in_frame_are_rejected(store_engine: Engine) -> None:
    frame = pd.concat(
        [
            make_frame({("gini", "KAZ", "2019-01-01"): 1.0, ("gini", "KAZ", "2020-01-01"): 2.0}),
            make_frame({("gini", "KAZ", "2020-01-01"): 3.0}),
            make_frame({("gini", "KGZ", "2020-01-01"): 4.0}),
        ],
        ignore_index=True,
    )
    with pytest.raises(ValueError, match=r"indicator='gini', country='KAZ', period=2020-01-01"):
        store.upsert_observations(store_engine, frame)
    assert store.is_empty(store_engine)


def test_failure_mid_batch_leaves_the_store_unchanged(
    store_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = grid_frame(indicators=2, countries=3, years=10, seed=1)  # 60 rows
    store.upsert_observations(store_engine, original)
    before_rows = store.read_observations(store_engine)
    before_counts = table_counts(store_engine)

    # New rows (another 60) and revised rows in one batch, written in chunks of 10.
    incoming = pd.concat(
        [
            original.assign(value=original["value"] + 1.0),
            grid_frame(indicators=2, countries=3, years=10, seed=2).assign(
                indicator=lambda f: f["indicator"] + "_new"
            ),
        ],
        ignore_index=True,
    )
    monkeypatch.setattr(store_frames, "_CHUNK_SIZE", 10)
    observation_writes = 0

    def fail_on_second_write(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        nonlocal observation_writes
        if (
            statement.lstrip()
            .upper()
            .startswith(("INSERT INTO OBSERVATIONS", "UPDATE OBSERVATIONS"))
        ):
            observation_writes += 1
            if observation_writes == 2:
                raise RuntimeError("synthetic failure on the second chunk")

    sa.event.listen(store_engine, "before_cursor_execute", fail_on_second_write)
    try:
        with pytest.raises(RuntimeError, match="synthetic failure"):
            store.upsert_observations(store_engine, incoming)
    finally:
        sa.event.remove(store_engine, "before_cursor_execute", fail_on_second_write)
    assert observation_writes == 2
    pd.testing.assert_frame_equal(store.read_observations(store_engine), before_rows)
    assert table_counts(store_engine) == before_counts

    # The same batch goes through once the fault is gone.
    assert store.upsert_observations(store_engine, incoming) == store.UpsertCounts(60, 60, 0)


def test_failure_while_writing_revisions_rolls_back_inserts(
    store_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.upsert_observations(store_engine, make_frame({("gini", "KAZ", "2020-01-01"): 1.0}))
    before = table_counts(store_engine)

    def fail_on_revision(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO REVISIONS"):
            raise RuntimeError("synthetic failure writing revisions")

    sa.event.listen(store_engine, "before_cursor_execute", fail_on_revision)
    try:
        with pytest.raises(RuntimeError, match="synthetic failure"):
            store.upsert_observations(
                store_engine,
                make_frame(
                    {("gini", "KAZ", "2020-01-01"): 2.0, ("gini", "KAZ", "2021-01-01"): 3.0}
                ),
            )
    finally:
        sa.event.remove(store_engine, "before_cursor_execute", fail_on_revision)
    assert table_counts(store_engine) == before
    assert store.read_observations(store_engine)["value"].tolist() == [1.0]


def test_upsert_of_an_empty_frame_is_a_no_op(store_engine: Engine) -> None:
    empty = make_frame({})
    empty = pd.DataFrame(columns=["indicator", "country", "period", "value", "unit", "source"])
    assert store.upsert_observations(store_engine, empty) == store.UpsertCounts()
    assert store.is_empty(store_engine)


def test_upsert_many_rows_across_chunks(store_engine: Engine) -> None:
    frame = grid_frame(indicators=4, countries=30, years=60)  # 7,200 rows, > one chunk
    assert store.upsert_observations(store_engine, frame).new == len(frame)
    stored = store.read_observations(store_engine)
    merged = frame.merge(stored, on=["indicator", "country", "period"], suffixes=("", "_stored"))
    assert len(merged) == len(frame)
    np.testing.assert_array_equal(merged["value"], merged["value_stored"])


# ---------------------------------------------------------------------------------------------
# Reads


def test_read_filters(store_engine: Engine) -> None:
    store.upsert_observations(
        store_engine,
        make_frame(
            {
                ("gini", "KAZ", "2018-01-01"): 1.0,
                ("gini", "KAZ", "2020-01-01"): 2.0,
                ("gini", "KGZ", "2020-01-01"): 3.0,
                ("unemployment", "KAZ", "2020-01-01"): 4.0,
            }
        ),
    )
    store.upsert_observations(
        store_engine,
        make_frame(
            {("imf_cpi_inflation", "KAZ", "2027-01-01"): 5.0}, source="imf", is_forecast=True
        ),
    )
    assert len(store.read_observations(store_engine)) == 5
    gini = store.read_observations(store_engine, indicators=["gini"])
    assert set(gini["indicator"]) == {"gini"} and len(gini) == 3
    kaz = store.read_observations(store_engine, countries=["KAZ"])
    assert set(kaz["country"]) == {"KAZ"} and len(kaz) == 4
    both = store.read_observations(store_engine, indicators=["gini"], countries=["KGZ"])
    assert both["value"].tolist() == [3.0]
    actuals = store.read_observations(store_engine, include_forecasts=False)
    assert not actuals["is_forecast"].any() and len(actuals) == 4
    recent = store.read_observations(store_engine, since="2019-06-01")
    assert sorted(recent["value"].tolist()) == [2.0, 3.0, 4.0, 5.0]
    nothing = store.read_observations(store_engine, indicators=["no_such_indicator"])
    assert nothing.empty and list(nothing.columns) == list(OBSERVATION_COLUMNS)


def test_latest_periods_per_series(store_engine: Engine) -> None:
    store.upsert_observations(
        store_engine,
        make_frame({("gini", "KAZ", "2018-01-01"): 1.0, ("gini", "KAZ", "2020-01-01"): 2.0}),
    )
    latest = store.latest_periods(store_engine)
    assert latest.to_dict("records") == [
        {
            "indicator": "gini",
            "country": "KAZ",
            "vintage": "",
            "last_period": pd.Timestamp("2020-01-01"),
        }
    ]


def test_vintages_are_separate_series(store_engine: Engine) -> None:
    key = {("wgi_rule_of_law", "KAZ", "2019-01-01"): -0.45}
    store.upsert_observations(store_engine, make_frame(key, vintage="2020"))
    counts = store.upsert_observations(
        store_engine, make_frame({("wgi_rule_of_law", "KAZ", "2019-01-01"): -0.40}, vintage="2025")
    )
    assert counts == store.UpsertCounts(new=1, changed=0, unchanged=0)
    stored = store.read_observations(store_engine)
    assert stored.set_index("vintage")["value"].to_dict() == {"2020": -0.45, "2025": -0.40}


def test_is_empty_and_store_summary(store_engine: Engine) -> None:
    assert store.is_empty(store_engine)
    assert store.store_summary(store_engine).empty
    store.upsert_observations(
        store_engine,
        make_frame(
            {
                ("gini", "KAZ", "2018-01-01"): 1.0,
                ("gini", "KAZ", "2020-01-01"): 2.0,
                ("gini", "KGZ", "2021-01-01"): 3.0,
            }
        ),
    )
    store.upsert_observations(
        store_engine, make_frame({("brent_price", "WLD", "2024-05-02"): 83.1}, source="fred")
    )
    assert not store.is_empty(store_engine)
    summary = store.store_summary(store_engine).set_index(["source", "indicator"])
    gini = summary.loc[("worldbank", "gini")]
    assert (gini["rows"], gini["countries"]) == (3, 2)
    assert gini["first_period"] == pd.Timestamp("2018-01-01")
    assert gini["last_period"] == pd.Timestamp("2021-01-01")
    assert (
        gini["last_fetched_at"]
        == store.read_observations(store_engine, indicators=["gini"])["fetched_at"].max()
    )
    assert summary.loc[("fred", "brent_price"), "rows"] == 1


# ---------------------------------------------------------------------------------------------
# Fetch runs


def test_fetch_run_lifecycle(store_engine: Engine) -> None:
    run = store.start_fetch_run(store_engine, "worldbank")
    running = store.read_fetch_runs(store_engine)
    assert running["status"].tolist() == ["running"]
    assert pd.isna(running["finished_at"].iloc[0])

    counts = store.upsert_observations(
        store_engine, make_frame({("gini", "KAZ", "2020-01-01"): 1.0}), fetch_run_id=run
    )
    store.finish_fetch_run(
        store_engine, run, status="ok", requests=3, counts=counts, detail={"pages": 2}
    )
    other = store.start_fetch_run(store_engine, "fred")
    store.finish_fetch_run(
        store_engine, other, status="error", requests=1, counts=None, error="HTTP 500"
    )
    newer = store.start_fetch_run(store_engine, "worldbank")
    store.finish_fetch_run(store_engine, newer, status="not_modified", requests=1, counts=None)

    runs = store.read_fetch_runs(store_engine)
    assert runs["id"].tolist() == [newer, other, run]  # newest first
    first = runs.set_index("id").loc[run]
    assert first["status"] == "ok"
    assert (first["requests"], first["rows_new"], first["rows_changed"]) == (3, 1, 0)
    assert first["detail"] == {"pages": 2}
    assert first["finished_at"] >= first["started_at"]
    assert store.read_fetch_runs(store_engine, source="fred")["error"].tolist() == ["HTTP 500"]
    assert len(store.read_fetch_runs(store_engine, limit=1)) == 1

    last = store.last_fetch_runs(store_engine)
    assert last[["source", "id", "status"]].values.tolist() == [
        ["fred", other, "error"],
        ["worldbank", newer, "not_modified"],
    ]
    assert store.read_observations(store_engine)["fetched_at"].notna().all()


def test_finish_fetch_run_rejects_bad_status_and_unknown_run(store_engine: Engine) -> None:
    run = store.start_fetch_run(store_engine, "imf")
    with pytest.raises(ValueError, match="unknown fetch-run status 'done'"):
        store.finish_fetch_run(store_engine, run, status="done", requests=0, counts=None)
    with pytest.raises(StoreError, match="no fetch run with id 999"):
        store.finish_fetch_run(store_engine, 999, status="ok", requests=0, counts=None)


# ---------------------------------------------------------------------------------------------
# data_version


def test_data_version_changes_after_writes_not_after_reads(store_engine: Engine) -> None:
    versions = [store.data_version(store_engine)]

    def changed() -> bool:
        versions.append(store.data_version(store_engine))
        return versions[-1] != versions[-2]

    run = store.start_fetch_run(store_engine, "worldbank")
    assert changed()
    store.upsert_observations(
        store_engine, make_frame({("gini", "KAZ", "2020-01-01"): 1.0}), fetch_run_id=run
    )
    assert changed()
    store.finish_fetch_run(store_engine, run, status="ok", requests=1, counts=None)
    assert changed()
    store.read_observations(store_engine)
    store.read_fetch_runs(store_engine)
    store.store_summary(store_engine)
    store.read_events(store_engine)
    assert not changed()
    store.upsert_observations(store_engine, make_frame({("gini", "KAZ", "2020-01-01"): 1.0}))
    assert not changed()  # an all-unchanged upsert writes nothing
    store.upsert_observations(store_engine, make_frame({("gini", "KAZ", "2020-01-01"): 2.0}))
    assert changed()  # a revision (same row count)
    store.add_event(store_engine, country="KAZ", date="2022-01-02", title="LPG price doubles")
    assert changed()
    store.add_event(
        store_engine,
        country="KAZ",
        date="2022-01-02",
        title="LPG price doubles",
        description="edited in place",
    )
    assert changed()  # same row count and ids, new text
    store.write_audit(store_engine, actor="test", action="edit", obj="rule:x", old=None, new={})
    assert changed()
    with store_engine.begin() as connection:
        silence_id = connection.execute(
            store.silences.insert().values(
                country="KAZ", until=dt.datetime(2030, 1, 1), created_at=dt.datetime(2024, 1, 1)
            )
        ).inserted_primary_key
    assert changed()
    assert silence_id is not None
    with store_engine.begin() as connection:
        connection.execute(
            store.silences.update()
            .where(store.silences.c.id == silence_id[0])
            .values(until=dt.datetime(2031, 1, 1))
        )
    assert changed()  # a silence extended in place
    assert not changed()
    with store_engine.begin() as connection:
        connection.execute(
            store.alert_events.insert().values(
                rule_id="fuel_shock",
                country="KAZ",
                at=dt.datetime(2024, 1, 1),
                from_state="ok",
                to_state="firing",
            )
        )
    assert changed()


# ---------------------------------------------------------------------------------------------
# Validators, events, audit, scores


def test_http_validators_round_trip(store_engine: Engine) -> None:
    assert store.get_http_validator(store_engine, "worldbank:/v2/x") == (None, None)
    store.set_http_validator(store_engine, "worldbank:/v2/x", '"abc"', None)
    assert store.get_http_validator(store_engine, "worldbank:/v2/x") == ('"abc"', None)
    store.set_http_validator(
        store_engine, "worldbank:/v2/x", '"def"', "Wed, 21 Oct 2015 07:28:00 GMT"
    )
    assert store.get_http_validator(store_engine, "worldbank:/v2/x") == (
        '"def"',
        "Wed, 21 Oct 2015 07:28:00 GMT",
    )
    assert store.read_http_validators(store_engine) == {
        "worldbank:/v2/x": ('"def"', "Wed, 21 Oct 2015 07:28:00 GMT")
    }


def test_events_are_idempotent(store_engine: Engine) -> None:
    first_id = store.add_event(
        store_engine, country="KAZ", date=dt.date(2022, 1, 2), title="LPG price doubles"
    )
    again = store.add_event(
        store_engine,
        country="KAZ",
        date="2022-01-02",
        title="LPG price doubles",
        description="Zhanaozen",
    )
    assert again == first_id
    frame = pd.DataFrame(
        {
            "country": ["KAZ", "KGZ"],
            "date": ["2022-01-02", "2020-10-05"],
            "title": ["LPG price doubles", "Election protests"],
            "description": ["Zhanaozen", "Bishkek"],
        }
    )
    assert store.upsert_events(store_engine, frame) == store.UpsertCounts(1, 0, 1)
    assert store.upsert_events(store_engine, frame) == store.UpsertCounts(0, 0, 2)
    changed = frame.assign(source_url=["https://example.org/a", ""])
    assert store.upsert_events(store_engine, changed) == store.UpsertCounts(0, 1, 1)
    stored = store.read_events(store_engine)
    assert len(stored) == 2
    assert stored["date"].tolist() == [pd.Timestamp("2020-10-05"), pd.Timestamp("2022-01-02")]
    kaz = store.read_events(store_engine, country="KAZ")
    assert kaz[["id", "description", "source_url"]].values.tolist() == [
        [first_id, "Zhanaozen", "https://example.org/a"]
    ]


def test_audit_log(store_engine: Engine) -> None:
    first = store.write_audit(
        store_engine,
        actor="ana",
        action="update",
        obj="rule:fuel_shock",
        old={"t": 1},
        new={"t": 2},
    )
    with store.begin_write(store_engine) as connection:
        second = store.write_audit(
            connection, actor="bo", action="delete", obj="rule:other", old={"t": 3}, new=None
        )
    assert second > first
    log = store.read_audit(store_engine)
    assert log["id"].tolist() == [second, first]
    entry = log.set_index("id").loc[first]
    assert (entry["actor"], entry["action"], entry["object"]) == (
        "ana",
        "update",
        "rule:fuel_shock",
    )
    assert (entry["old"], entry["new"]) == ({"t": 1}, {"t": 2})
    assert store.read_audit(store_engine, obj="rule:other")["id"].tolist() == [second]


def test_scores_round_trip(store_engine: Engine) -> None:
    as_of = pd.Timestamp("2024-06-01")
    older = pd.DataFrame(
        {
            "country": ["KAZ", "KGZ"],
            "computed_at": [pd.Timestamp("2024-06-02 10:00")] * 2,
            "as_of": [as_of] * 2,
            "composite": [6.5, np.nan],
            "band": ["high", None],
            "detail": [{"pillars": {"macro": 5.0}}, None],
        }
    )
    newer = older.assign(computed_at=pd.Timestamp("2024-06-03 10:00"), composite=[7.0, 4.0])
    assert store.save_scores(store_engine, older) == 2
    assert store.save_scores(store_engine, newer) == 2
    every = store.read_scores(store_engine)
    assert len(every) == 4
    kaz = store.read_scores(store_engine, country="KAZ")
    assert kaz["composite"].tolist() == [6.5, 7.0]
    assert kaz["detail"].iloc[0] == {"pillars": {"macro": 5.0}}
    latest = store.read_scores(store_engine, latest_only=True)
    assert latest["composite"].tolist() == [7.0, 4.0]
    assert (latest["computed_at"] == pd.Timestamp("2024-06-03 10:00")).all()
    kgz_older = every[(every["country"] == "KGZ")].iloc[0]
    assert pd.isna(kgz_older["composite"])


# ---------------------------------------------------------------------------------------------
# Integrity


def test_integrity_check_ok(store_engine: Engine) -> None:
    run = store.start_fetch_run(store_engine, "worldbank")
    store.upsert_observations(
        store_engine, make_frame({("gini", "KAZ", "2020-01-01"): 1.0}), fetch_run_id=run
    )
    assert store.integrity_check(store_engine) == []


def test_integrity_check_reports_a_dangling_fetch_run(sqlite_url: str) -> None:
    engine = store.make_engine(sqlite_url)
    try:
        store.init_schema(engine)
        assert engine.url.database is not None
        # A plain sqlite3 connection has foreign keys off, as any other tool touching the file.
        with closing(sqlite3.connect(engine.url.database)) as raw:
            raw.execute(
                "INSERT INTO observations (indicator, country, period, vintage, value, unit,"
                " source, is_forecast, fetched_at, fetch_run_id)"
                " VALUES ('gini', 'KAZ', '2020-01-01', '', 1.0, '%', 'worldbank', 0,"
                " '2024-01-01 00:00:00.000000', 42)"
            )
            raw.commit()
        problems = store.integrity_check(engine)
    finally:
        engine.dispose()
    assert any("foreign key: observations" in problem for problem in problems), problems
    assert any("missing fetch run" in problem for problem in problems), problems


def test_foreign_keys_are_enforced(store_engine: Engine) -> None:
    with pytest.raises(sa.exc.IntegrityError):
        store.upsert_observations(
            store_engine, make_frame({("gini", "KAZ", "2020-01-01"): 1.0}), fetch_run_id=12345
        )
    assert store.is_empty(store_engine)


def test_integrity_check_flags_an_uninitialised_store(store_url: str) -> None:
    engine = store.make_engine(store_url)
    try:
        problems = store.integrity_check(engine)
    finally:
        engine.dispose()
    assert problems and "schema version is None" in problems[0]


# ---------------------------------------------------------------------------------------------
# ACLED raw events


def _acled_frame(fatalities: list[int]) -> pd.DataFrame:
    """Synthetic ACLED rows in the shape `fetchers.acled.events_frame` produces."""
    return pd.DataFrame(
        {
            "event_id_cnty": ["KAZ1001", "KGZ2002"],
            "event_date": [dt.date(2022, 1, 4), dt.date(2022, 1, 6)],
            "country": ["KAZ", "KGZ"],
            "event_type": ["Protests", "Riots"],
            "sub_event_type": ["Peaceful protest", "Violent demonstration"],
            "fatalities": fatalities,
            "admin1": ["Mangystau", "Bishkek"],
            "location": ["Zhanaozen", "Bishkek"],
            "latitude": [43.34, None],
            "longitude": [52.86, None],
            "notes": ["LPG price protest", ""],
            "fetched_at": [dt.datetime(2024, 1, 1, 8, 0)] * 2,
        }
    )


def test_acled_events_upsert_replaces_by_event_id(store_engine: Engine) -> None:
    assert store.upsert_acled_events(store_engine, _acled_frame([0, 1])) == 2
    with store.begin_write(store_engine) as connection:
        assert store.upsert_acled_events(connection, _acled_frame([0, 3])) == 2
    stored = store.read_acled_events(store_engine)
    assert stored["event_id_cnty"].tolist() == ["KAZ1001", "KGZ2002"]
    assert stored["fatalities"].tolist() == [0, 3]
    assert stored["event_date"].tolist() == [pd.Timestamp("2022-01-04"), pd.Timestamp("2022-01-06")]
    assert stored["latitude"].iloc[0] == 43.34 and pd.isna(stored["latitude"].iloc[1])
    kgz = store.read_acled_events(store_engine, countries=["KGZ"], since="2022-01-05")
    assert kgz["location"].tolist() == ["Bishkek"]
    assert store.read_acled_events(store_engine, since="2022-02-01").empty


def test_acled_duplicate_event_ids_are_rejected(store_engine: Engine) -> None:
    frame = _acled_frame([0, 1]).assign(event_id_cnty=["KAZ1001", "KAZ1001"])
    with pytest.raises(ValueError, match="KAZ1001"):
        store.upsert_acled_events(store_engine, frame)
    assert store.read_acled_events(store_engine).empty


# ---------------------------------------------------------------------------------------------
# Concurrent writers and readers


def test_concurrent_upserts_of_the_same_rows_serialise(store_url: str) -> None:
    setup = store.make_engine(store_url)
    store.init_schema(setup)
    setup.dispose()
    engines = [store.make_engine(store_url) for _ in range(3)]
    frame = grid_frame(indicators=3, countries=10, years=20)
    barrier = threading.Barrier(len(engines))
    results: list[store.UpsertCounts] = []
    failures: list[BaseException] = []

    def upsert(engine: Engine) -> None:
        barrier.wait(timeout=30)
        try:
            results.append(store.upsert_observations(engine, frame))
        except BaseException as error:  # collected and asserted below
            failures.append(error)

    threads = [threading.Thread(target=upsert, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    try:
        assert failures == []
        # Exactly one writer inserted; the others found every row already there.
        assert sorted(r.new for r in results) == [0, 0, len(frame)]
        assert sorted(r.unchanged for r in results) == [0, len(frame), len(frame)]
        assert len(store.read_observations(engines[0])) == len(frame)
    finally:
        for engine in engines:
            engine.dispose()


def test_read_only_sqlite_engine_reads_but_cannot_write(sqlite_url: str) -> None:
    engine = store.make_engine(sqlite_url)
    try:
        store.init_schema(engine)
        store.upsert_observations(engine, make_frame({("gini", "KAZ", "2020-01-01"): 1.0}))
        database = engine.url.database
    finally:
        engine.dispose()
    reader = store.make_engine(f"sqlite:///file:{database}?mode=ro&uri=true")
    try:
        assert store.read_observations(reader)["value"].tolist() == [1.0]
        assert store.data_version(reader)
        with pytest.raises(sa.exc.OperationalError, match="readonly"):
            store.start_fetch_run(reader, "worldbank")
    finally:
        reader.dispose()


# ---------------------------------------------------------------------------------------------
# The PostgreSQL fixture itself

FIXTURE_PROBE = """
from tests.conftest import *  # noqa: F403  (the fixtures under test)


def test_needs_postgres(postgres_url):
    assert postgres_url
"""


@pytest.mark.parametrize(
    ("skip_flag", "expected"),
    [("", "PostgreSQL binaries not found in /nonexistent/pg/bin"), ("1", "1 skipped")],
)
def test_missing_postgres_binaries_fail_loudly_unless_skipped(
    tmp_path: Path, skip_flag: str, expected: str
) -> None:
    probe = tmp_path / "test_probe.py"
    probe.write_text(FIXTURE_PROBE)
    environment = {
        **os.environ,
        "FLASHPOINT_POSTGRES_BIN": "/nonexistent/pg/bin",
        "FLASHPOINT_SKIP_POSTGRES": skip_flag,
    }
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", str(probe)],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert expected in output, output
    assert (completed.returncode == 0) == (skip_flag == "1"), output


# ---------------------------------------------------------------------------------------------
# Scale


@pytest.mark.slow
def test_three_hundred_thousand_rows_on_sqlite(sqlite_url: str) -> None:
    """The bulk path at the size of a full refresh. The time bound is generous (a loaded CI
    machine); on an idle laptop each step takes one to three seconds."""
    engine = store.make_engine(sqlite_url)
    try:
        store.init_schema(engine)
        frame = grid_frame(indicators=30, countries=200, years=50)  # 300,000 rows
        revised = frame.assign(value=frame["value"].where(frame.index % 3 != 0, frame["value"] + 1))
        started = time.perf_counter()
        assert store.upsert_observations(engine, frame) == store.UpsertCounts(300_000, 0, 0)
        assert store.upsert_observations(engine, frame) == store.UpsertCounts(0, 0, 300_000)
        assert store.upsert_observations(engine, revised) == store.UpsertCounts(0, 100_000, 200_000)
        stored = store.read_observations(engine)
        elapsed = time.perf_counter() - started
        assert len(stored) == 300_000
        assert len(store.read_revisions(engine)) == 100_000
        assert elapsed < 90, f"four bulk steps took {elapsed:.1f}s"
    finally:
        engine.dispose()


def test_a_missing_postgresql_driver_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import builtins

    real_import = builtins.__import__

    def no_psycopg(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "psycopg" or name.startswith("psycopg."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_psycopg)
    with pytest.raises(StoreError) as caught:
        store.make_engine("postgresql+psycopg://flashpoint:secret@127.0.0.1:1/fp")
    message = str(caught.value)
    assert "pip install 'flashpoint[postgres]'" in message
    assert "secret" not in message
