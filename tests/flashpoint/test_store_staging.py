"""Staged big writes: what `upsert_observations` writes, all-or-nothing, the lock held briefly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.engine import Engine

from flashpoint import store
from flashpoint.store.staging import ObservationStage


def _frame(seed: int, rows: int = 300) -> pd.DataFrame:
    generator = np.random.default_rng(seed)
    countries = [f"C{i:02d}" for i in range(10)]
    periods = pd.date_range("2020-01-01", periods=12, freq="MS")
    keys = pd.MultiIndex.from_product(
        [["ind_a", "ind_b", "ind_c"], countries, periods], names=["indicator", "country", "period"]
    ).to_frame(index=False)
    frame = keys.sample(n=rows, random_state=seed).reset_index(drop=True)
    frame["value"] = generator.integers(0, 4, size=rows).astype("float64")
    frame["unit"] = generator.choice(["%", "USD"], size=rows)
    frame["source"] = "test"
    frame["is_forecast"] = generator.random(rows) < 0.1
    published = pd.Series(pd.to_datetime("2024-06-01"), index=frame.index)
    frame["published_at"] = published.where(generator.random(rows) < 0.5)
    return frame


def _split(frame: pd.DataFrame, parts: int) -> list[pd.DataFrame]:
    size = -(-len(frame) // parts)
    return [frame.iloc[start : start + size] for start in range(0, len(frame), size)]


def _state(engine: Engine) -> tuple[pd.DataFrame, pd.DataFrame]:
    observations = store.read_observations(engine).drop(columns=["fetched_at"])
    revisions = store.read_revisions(engine)[
        ["indicator", "country", "period", "vintage", "old_value", "new_value"]
    ]
    revisions = revisions.sort_values(["indicator", "country", "period"]).reset_index(drop=True)
    return observations.reset_index(drop=True), revisions


def test_a_staged_switch_writes_what_the_upsert_writes(store_url: str, tmp_path: Path) -> None:
    staged_engine = store.open_for_writing(store_url)
    # The reference: the in-memory upsert on a separate SQLite store.
    reference = store.open_for_writing(f"sqlite:///{tmp_path / 'reference.db'}")
    try:
        for seed in range(4):
            frame = _frame(seed)
            expected = store.upsert_observations(reference, frame)
            with ObservationStage(staged_engine) as stage:
                for chunk in _split(frame, 3):
                    stage.add(chunk)
                result = stage.switch()
            assert result.counts == expected, seed
            assert result.counts.changed > 0 or seed == 0
            got, want = _state(staged_engine), _state(reference)
            pd.testing.assert_frame_equal(got[0], want[0])
            pd.testing.assert_frame_equal(got[1], want[1])
        assert store.integrity_check(staged_engine) == []
    finally:
        staged_engine.dispose()
        reference.dispose()


def test_a_stage_names_the_first_repeated_row_and_writes_nothing(store_url: str) -> None:
    engine = store.open_for_writing(store_url)
    frame = _frame(1, rows=20)
    repeated = frame.iloc[[3]]
    try:
        with ObservationStage(engine) as stage:
            stage.add(frame, row_numbers=pd.Series(range(2, 22)))
            stage.add(repeated, row_numbers=pd.Series([40]))
            duplicate = stage.first_duplicate()
            assert duplicate is not None
            assert (duplicate.first_row, duplicate.row) == (5, 40)
            assert duplicate.indicator == frame.at[3, "indicator"]
            with pytest.raises(ValueError, match="duplicate observation key"):
                stage.switch()
        assert store.is_empty(engine)
    finally:
        engine.dispose()


def test_an_abandoned_stage_leaves_the_store_unchanged(store_url: str) -> None:
    engine = store.open_for_writing(store_url)
    try:
        store.upsert_observations(engine, _frame(2))
        before = _state(engine)
        with ObservationStage(engine) as stage:
            stage.add(_frame(3))
            # Never switched: e.g. a later chunk of the file failed validation.
        after = _state(engine)
        pd.testing.assert_frame_equal(before[0], after[0])
        pd.testing.assert_frame_equal(before[1], after[1])
    finally:
        engine.dispose()


def test_staging_does_not_wait_for_the_write_lock(sqlite_url: str) -> None:
    engine = store.open_for_writing(sqlite_url)
    other = store.make_engine(sqlite_url)
    try:
        with ObservationStage(engine) as stage, store.begin_write(other) as connection:
            # Another writer holds the lock with a pending change while every chunk is staged.
            store.upsert_observations(connection, _frame(4, rows=5).assign(indicator="ind_z"))
            for chunk in _split(_frame(5), 4):
                stage.add(chunk)
            assert stage.rows == 300
            stage.prepare()  # classifying reads the store and writes only the stage
        # (The switch itself queues behind the other writer, as every write does.)
    finally:
        engine.dispose()
        other.dispose()


def test_the_switch_keeps_live_rows_when_asked(store_url: str) -> None:
    engine = store.open_for_writing(store_url)
    frame = _frame(6, rows=50)
    try:
        live = frame.iloc[:10].assign(source="live", value=99.0)
        store.upsert_observations(engine, live)
        with ObservationStage(engine) as stage:
            stage.add(frame.assign(source="snapshot:test"))
            result = stage.switch(skip_live_except="snapshot:")
        assert result.skipped_live == 10
        assert result.counts.new == 40
        stored = store.read_observations(engine)
        assert (stored.loc[stored["source"] == "live", "value"] == 99.0).sum() == 10
    finally:
        engine.dispose()


def test_a_write_between_prepare_and_switch_is_taken_into_account(store_url: str) -> None:
    engine = store.open_for_writing(store_url)
    frame = _frame(7, rows=40)
    try:
        with ObservationStage(engine) as stage:
            stage.add(frame)
            stage.prepare()  # everything is new at this point
            store.upsert_observations(engine, frame.iloc[:15])  # another writer lands first
            result = stage.switch()
        assert result.counts == store.UpsertCounts(new=25, changed=0, unchanged=15)
        assert len(store.read_observations(engine)) == 40
    finally:
        engine.dispose()
