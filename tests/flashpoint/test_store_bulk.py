"""The first load into an empty store: one bulk insert storing exactly what the upsert stores.

Runs on SQLite and PostgreSQL. The frames are made up (keys, values, units, forecast flags and
publication dates drawn at random); the snapshot test loads the real bundled snapshot both ways.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from flashpoint import snapshot, store


def _frame(seed: int, rows: int = 400) -> pd.DataFrame:
    generator = np.random.default_rng(seed)
    countries = [f"C{i:02d}" for i in range(12)]
    periods = pd.date_range("2019-01-01", periods=10, freq="MS")
    keys = pd.MultiIndex.from_product(
        [["ind_a", "ind_b", "ind_c"], countries, periods, ["", "2025"]],
        names=["indicator", "country", "period", "vintage"],
    ).to_frame(index=False)
    # Shuffled: the bulk path sorts by key itself, the stored rows must not depend on the order.
    frame = keys.sample(n=rows, random_state=seed).reset_index(drop=True)
    frame["value"] = generator.normal(50, 20, size=rows)
    frame["unit"] = generator.choice(["%", "USD", "KZT/litre"], size=rows)
    frame["source"] = generator.choice(["test", "snapshot:wdi"], size=rows)
    frame["is_forecast"] = generator.random(rows) < 0.1
    published = pd.Series(pd.Timestamp("2024-06-01 10:30:00"), index=frame.index)
    frame["published_at"] = published.where(generator.random(rows) < 0.5)
    # Half the rows carry their own fetch time, the others are stamped by the store.
    fetched = pd.Series(pd.Timestamp("2024-07-01 08:00:00.123456"), index=frame.index)
    frame["fetched_at"] = fetched.where(generator.random(rows) < 0.5)
    return frame


def _stored(engine: Engine) -> pd.DataFrame:
    """Every stored column of every observation, the store's own stamp of fetched_at aside."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(store.observations).order_by(*store.observations.primary_key.columns)
        ).all()
    frame = pd.DataFrame(rows, columns=[column.name for column in store.observations.columns])
    return frame


def _index_names(engine: Engine) -> set[str]:
    return {str(index["name"]) for index in sa.inspect(engine).get_indexes("observations")}


def _clear(engine: Engine) -> None:
    with store.begin_write(engine) as connection:
        connection.execute(sa.delete(store.observations))
        connection.execute(sa.delete(store.revisions))


def test_the_bulk_insert_stores_what_the_upsert_stores(store_engine: Engine) -> None:
    indexes = _index_names(store_engine)
    assert {"ix_observations_country_indicator", "ix_observations_fetched_at"} <= indexes
    for seed in range(3):
        frame = _frame(seed)
        run = store.start_fetch_run(store_engine, "test")
        counts = store.insert_into_empty(store_engine, frame, fetch_run_id=run)
        assert counts == store.UpsertCounts(new=len(frame))
        bulk = _stored(store_engine)
        _clear(store_engine)
        assert store.upsert_observations(store_engine, frame, fetch_run_id=run) == counts
        upserted = _stored(store_engine)
        _clear(store_engine)
        assert len(bulk) == len(frame)
        # The rows given a fetch time keep it exactly; the others get "now", which differs
        # between the two writes by design, so it is compared for presence only.
        given = frame["fetched_at"].notna().sum()
        assert (bulk["fetched_at"] == pd.Timestamp("2024-07-01 08:00:00.123456")).sum() == given
        assert bulk["fetched_at"].notna().all()
        pd.testing.assert_frame_equal(
            bulk.drop(columns=["fetched_at"]), upserted.drop(columns=["fetched_at"])
        )
        assert set(bulk["fetch_run_id"]) == {run}
        assert store.read_revisions(store_engine).empty
    # The secondary indexes were rebuilt, and the store is sound.
    assert _index_names(store_engine) == indexes
    assert store.integrity_check(store_engine) == []


def test_the_bulk_insert_leaves_a_store_that_holds_rows_alone(store_engine: Engine) -> None:
    first = _frame(1, rows=50)
    store.upsert_observations(store_engine, first)
    before = _stored(store_engine)
    assert store.insert_into_empty(store_engine, _frame(2)) is None
    pd.testing.assert_frame_equal(_stored(store_engine), before)


def test_a_repeated_key_or_a_failed_companion_write_leaves_the_store_empty(
    store_engine: Engine,
) -> None:
    frame = _frame(3, rows=100)
    repeated = pd.concat([frame, frame.iloc[[7]]], ignore_index=True)
    with pytest.raises(ValueError, match="duplicate observation key"):
        store.insert_into_empty(store_engine, repeated)
    assert store.is_empty(store_engine)

    def fail(_connection: object) -> None:
        raise RuntimeError("synthetic failure after the rows were inserted")

    with pytest.raises(RuntimeError, match="synthetic"):
        store.insert_into_empty(store_engine, frame, also=fail)
    assert store.is_empty(store_engine)
    # The rolled-back transaction took its index changes with it.
    assert {"ix_observations_country_indicator", "ix_observations_fetched_at"} <= _index_names(
        store_engine
    )
    assert store.insert_into_empty(store_engine, frame) == store.UpsertCounts(new=len(frame))


@pytest.mark.parametrize(("per_statement", "chunk"), [(64, 150), (1, 1_000), (500, 1_000)])
def test_rows_split_across_multi_row_statements_store_what_the_upsert_stores(
    store_engine: Engine, monkeypatch: pytest.MonkeyPatch, per_statement: int, chunk: int
) -> None:
    """Full multi-row statements, a shorter last one, and chunks that do not divide the rows
    (SQLite; PostgreSQL's COPY takes no statement size, so there it only varies the chunk)."""
    from flashpoint.store import bulk

    monkeypatch.setattr(bulk, "_ROWS_PER_STATEMENT", per_statement)
    monkeypatch.setattr(bulk, "BULK_CHUNK", chunk)
    frame = _frame(5, rows=700)
    frame["fetched_at"] = pd.Timestamp("2024-07-01 08:00:00")
    assert store.insert_into_empty(store_engine, frame) == store.UpsertCounts(new=len(frame))
    bulk_rows = _stored(store_engine)
    _clear(store_engine)
    store.upsert_observations(store_engine, frame)
    pd.testing.assert_frame_equal(bulk_rows, _stored(store_engine))


def test_progress_is_reported_per_chunk_up_to_every_row(
    store_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flashpoint.store import bulk

    monkeypatch.setattr(bulk, "BULK_CHUNK", 150)
    reports: list[tuple[int, int]] = []
    frame = _frame(4, rows=400)
    store.insert_into_empty(
        store_engine, frame, progress=lambda done, total: reports.append((done, total))
    )
    assert reports == [(150, 400), (300, 400), (400, 400)]


def _fetch_runs(engine: Engine) -> pd.DataFrame:
    """The fetch-run records, without what differs between any two runs (ids, times) and the
    detail's own note of which path was taken."""
    runs = store.read_fetch_runs(engine).sort_values("id").reset_index(drop=True)
    runs["detail"] = [
        {key: value for key, value in (detail or {}).items() if key != "bulk"}
        for detail in runs["detail"]
    ]
    return runs.drop(columns=["id", "started_at", "finished_at"])


@pytest.mark.slow
def test_the_bundled_snapshot_loads_the_same_rows_by_either_path(
    store_url: str, tmp_path: object
) -> None:
    """Load the real snapshot into one empty store by the bulk path and into another by the
    classifying path (one engine at a time: both are the same dialect), and compare every table
    the load writes: observations, revisions, events and the fetch-run record."""
    results: list[tuple[snapshot.SnapshotLoadResult, dict[str, pd.DataFrame]]] = []
    for allow_bulk in (True, False):
        engine = store.open_for_writing(store_url)
        try:
            _clear(engine)
            with store.begin_write(engine) as connection:
                connection.execute(sa.delete(store.events))
                connection.execute(sa.delete(store.fetch_runs))
            result = snapshot.load_snapshot(engine, allow_bulk=allow_bulk)
            tables = {
                "observations": _stored(engine).drop(columns=["fetched_at", "fetch_run_id"]),
                "revisions": store.read_revisions(engine),
                "events": store.read_events(engine)
                .drop(columns=["id"], errors="ignore")
                .reset_index(drop=True),
                "fetch_runs": _fetch_runs(engine),
            }
            # Every row is stamped with the one run that loaded it.
            assert set(_stored(engine)["fetch_run_id"]) == {result.fetch_run_id}
            assert store.integrity_check(engine) == []
        finally:
            engine.dispose()
        results.append((result, tables))
    (bulk, bulk_tables), (classified, classified_tables) = results
    assert bulk.bulk and not classified.bulk
    assert bulk.observations == classified.observations
    assert bulk.observations.new == len(snapshot.read_snapshot_observations())
    assert bulk.events == classified.events
    assert bulk_tables["revisions"].empty and classified_tables["revisions"].empty
    assert len(bulk_tables["fetch_runs"]) == 1
    assert bulk_tables["fetch_runs"].loc[0, "status"] == "ok"
    for name, table in bulk_tables.items():
        pd.testing.assert_frame_equal(table, classified_tables[name], obj=name)
