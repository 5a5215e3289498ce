"""The precompute: the stored scored panel and daily composite history (SQLite and PostgreSQL).

Real data throughout: two countries and the world series read from the bundled snapshot, written
into a store of each engine; every stored result is compared with the same thing scored live.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.engine import Engine

from flashpoint import precompute, store
from flashpoint.config import load_config
from flashpoint.scoring import score_from_store, today
from flashpoint.store.precomputed import decode_frame, encode_frame, write_precompute_state
from indicators.explain import recent_movers
from indicators.replay import replay, replay_scores
from indicators.scoring import PanelScore
from tests.flashpoint.conftest import PRECOMPUTE_COUNTRIES

REPO = Path(__file__).resolve().parents[2]
COUNTRIES = PRECOMPUTE_COUNTRIES
HISTORY_DAYS = 20


@pytest.fixture
def settings():  # type: ignore[no-untyped-def]
    return load_config(REPO / "config.toml")


@pytest.fixture
def loaded_engine(store_engine: Engine, snapshot_rows: pd.DataFrame) -> Engine:
    store.upsert_observations(store_engine, snapshot_rows)
    return store_engine


def assert_same_panel(left: PanelScore, right: PanelScore) -> None:
    assert pd.Timestamp(left.as_of) == pd.Timestamp(right.as_of)
    for name in ("countries", "pillars", "contributions", "latest"):
        pd.testing.assert_frame_equal(getattr(left, name), getattr(right, name), check_exact=True)


def test_the_frame_codec_round_trips_a_scored_panel_exactly(
    loaded_engine: Engine, settings
) -> None:  # type: ignore[no-untyped-def]
    panel = score_from_store(loaded_engine, settings)
    for name in ("countries", "pillars", "contributions", "latest"):
        frame = getattr(panel, name)
        pd.testing.assert_frame_equal(decode_frame(encode_frame(frame)), frame, check_exact=True)


def test_the_frame_codec_keeps_none_and_nan_apart_and_refuses_unknown_types() -> None:
    frame = pd.DataFrame(
        {
            "mixed": pd.Series(["a", None, float("nan"), 3], dtype=object),
            "when": pd.to_datetime(["2026-01-02 03:04:05.123456789", None]).repeat(2)[:4],
            "score": [1.5, np.nan, -0.0, 7.25],
            "count": np.array([1, 2, 3, 4], dtype="int64"),
            "flag": [True, False, True, False],
        }
    ).set_index("count")
    back = decode_frame(encode_frame(frame))
    pd.testing.assert_frame_equal(back, frame, check_exact=True)
    assert back["mixed"].iloc[1] is None and np.isnan(back["mixed"].iloc[2])
    with pytest.raises(TypeError, match="complex"):
        encode_frame(pd.DataFrame({"z": pd.Series([1j], dtype=object)}))


def test_the_stored_panel_round_trips_and_equals_live_scoring(
    loaded_engine: Engine, settings
) -> None:  # type: ignore[no-untyped-def]
    report = precompute.precompute(loaded_engine, settings, history_days=0)
    assert report.countries == len(COUNTRIES)
    stored = precompute.read_panel(loaded_engine, settings.catalogue(), today().date())
    assert stored is not None
    assert_same_panel(stored.now, score_from_store(loaded_engine, settings))
    # The reference panel (no fetch runs here: the score a week earlier) is stored too.
    assert stored.previous is not None
    week_earlier = today() - pd.Timedelta(days=7)
    assert_same_panel(
        stored.previous, score_from_store(loaded_engine, settings, as_of=week_earlier)
    )
    assert "a week earlier" in stored.previous_label


def test_a_stale_panel_is_never_read_as_current(
    loaded_engine: Engine, settings, snapshot_rows: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    precompute.precompute(loaded_engine, settings, history_days=0)
    catalogue = settings.catalogue()
    day = today().date()
    assert precompute.read_panel(loaded_engine, catalogue, day) is not None
    # Another day, another catalogue (a changed weight), another methodology: all stale.
    assert precompute.read_panel(loaded_engine, catalogue, day + dt.timedelta(days=1)) is None
    first = catalogue.pillars[0]
    changed = dataclasses.replace(
        catalogue,
        pillars=(dataclasses.replace(first, weight=first.weight + 1), *catalogue.pillars[1:]),
    )
    assert precompute.read_panel(loaded_engine, changed, day) is None
    monkeypatch.setattr(precompute, "METHODOLOGY_VERSION", "0.0-other")
    assert precompute.read_panel(loaded_engine, catalogue, day) is None
    monkeypatch.undo()
    # New data: one revised value makes the stored panel stale.
    row = snapshot_rows[snapshot_rows["country"] == "KAZ"].tail(1).copy()
    row["value"] = row["value"] * 2 + 1
    row["fetched_at"] = pd.Timestamp.now(tz="UTC").tz_localize(None)
    store.upsert_observations(loaded_engine, row)
    assert precompute.read_panel(loaded_engine, catalogue, day) is None


def test_the_history_equals_a_replay_and_is_updated_incrementally(
    loaded_engine: Engine, settings, snapshot_rows: pd.DataFrame
) -> None:  # type: ignore[no-untyped-def]
    first = precompute.update_composite_history(loaded_engine, settings, window_days=HISTORY_DAYS)
    end = today().date()
    start = end - dt.timedelta(days=HISTORY_DAYS - 1)
    assert first.refilled and first.start == start and first.rows == HISTORY_DAYS * 2
    history = store.read_composite_history(loaded_engine)
    assert list(history.columns) == list(store.HISTORY_COLUMNS)
    actuals = snapshot_rows[~snapshot_rows["is_forecast"]]
    live = replay(actuals, settings.catalogue(), countries=COUNTRIES, start=start, end=end)
    expected = live[list(store.HISTORY_COLUMNS)].sort_values(["country", "date"])
    pd.testing.assert_frame_equal(
        history.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
    )
    # Nothing new: nothing recomputed.
    again = precompute.update_composite_history(loaded_engine, settings, window_days=HISTORY_DAYS)
    assert again.start is None and again.rows == 0
    # A value published five days ago arrives: only those days are recomputed.
    published = pd.Timestamp(end - dt.timedelta(days=5))
    fuel = snapshot_rows[
        (snapshot_rows["country"] == "KAZ") & (snapshot_rows["indicator"] == "fuel_gasoline_retail")
    ]
    assert not fuel.empty, "the snapshot has Kazakhstan gasoline prices"
    new = fuel.tail(1).copy()
    new["period"] = published
    new["published_at"] = published
    new["value"] = new["value"] * 1.6  # a 60 % step: the trigger moves
    new["fetched_at"] = pd.Timestamp.now(tz="UTC").tz_localize(None)
    store.upsert_observations(loaded_engine, new)
    update = precompute.update_composite_history(loaded_engine, settings, window_days=HISTORY_DAYS)
    assert not update.refilled and update.start == published.date()
    assert update.rows == 6 * 2  # six days (five days ago … today) of both countries
    everything = store.read_observations(loaded_engine, include_forecasts=False)
    refreshed = replay(everything, settings.catalogue(), countries=COUNTRIES, start=start, end=end)
    pd.testing.assert_frame_equal(
        store.read_composite_history(loaded_engine).reset_index(drop=True),
        refreshed[list(store.HISTORY_COLUMNS)]
        .sort_values(["country", "date"])
        .reset_index(drop=True),
        check_dtype=False,
    )
    window = store.read_composite_history(
        loaded_engine, countries=["KAZ"], start=published, end=published
    )
    assert window["date"].tolist() == [published] and window["country"].tolist() == ["KAZ"]


def test_a_new_day_scores_only_the_days_it_needs(
    loaded_engine: Engine, settings, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """The next day's update scores that day and the two the movers compare it with (yesterday,
    a week ago), not the whole week between; the history and the movers still equal a replay
    (the two tests above)."""
    end = today().date()
    precompute.update_composite_history(loaded_engine, settings, window_days=HISTORY_DAYS, end=end)
    scored: list[pd.DatetimeIndex] = []
    real = precompute.score_days

    def spy(*args: object, **kwargs: object) -> object:
        scored.append(pd.DatetimeIndex(kwargs["dates"]))  # type: ignore[arg-type]
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(precompute, "score_days", spy)
    tomorrow = end + dt.timedelta(days=1)
    update = precompute.update_composite_history(
        loaded_engine, settings, window_days=HISTORY_DAYS, end=tomorrow
    )
    assert update.start == tomorrow and update.rows == len(COUNTRIES)
    wanted = {tomorrow, end, tomorrow - dt.timedelta(days=7)}
    assert scored and all({day.date() for day in dates} == wanted for dates in scored)


def assert_same_movers(stored: pd.DataFrame, expected: pd.DataFrame) -> None:
    order = ["days", "country"]
    left = stored.sort_values(order).reset_index(drop=True)
    right = expected.sort_values(order).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        left.drop(columns="movers"), right.drop(columns="movers"), check_dtype=False
    )
    for got, wanted in zip(left["movers"], right["movers"], strict=True):
        assert [name for name, _ in got] == [name for name, _ in wanted]
        assert [delta for _, delta in got] == pytest.approx([delta for _, delta in wanted])


def test_the_recent_movers_equal_a_replay_and_follow_new_data(
    loaded_engine: Engine, settings, snapshot_rows: pd.DataFrame
) -> None:  # type: ignore[no-untyped-def]
    # A store whose history was precomputed before the movers existed gets them on the next pass.
    precompute.update_composite_history(loaded_engine, settings, window_days=HISTORY_DAYS)
    write_precompute_state(loaded_engine, {"movers_end": "2000-01-01"})
    update = precompute.update_composite_history(loaded_engine, settings, window_days=HISTORY_DAYS)
    end = today().date()
    assert update.start == end - dt.timedelta(days=7) and not update.refilled
    assert precompute.movers_are_current(loaded_engine, settings.catalogue(), end)

    def replayed(rows: pd.DataFrame) -> pd.DataFrame:
        frames = replay_scores(
            rows[~rows["is_forecast"]],
            settings.catalogue(),
            countries=COUNTRIES,
            start=end - dt.timedelta(days=7),
            end=end,
        )
        return recent_movers(frames, COUNTRIES, end)

    assert_same_movers(store.read_recent_movers(loaded_engine), replayed(snapshot_rows))
    # New data: the next pass recomputes the movers (a planted wrong row is overwritten).
    planted = store.read_recent_movers(loaded_engine)
    planted["change"] = 99.0
    store.replace_recent_movers(loaded_engine, planted)
    fuel = snapshot_rows[
        (snapshot_rows["country"] == "KAZ") & (snapshot_rows["indicator"] == "fuel_gasoline_retail")
    ]
    new = fuel.tail(1).copy()
    published = pd.Timestamp(end - dt.timedelta(days=3))
    new["period"], new["published_at"] = published, published
    new["value"] = new["value"] * 1.6
    new["fetched_at"] = pd.Timestamp.now(tz="UTC").tz_localize(None)
    store.upsert_observations(loaded_engine, new)
    assert not precompute.movers_are_current(loaded_engine, settings.catalogue(), end)
    precompute.update_composite_history(loaded_engine, settings, window_days=HISTORY_DAYS)
    everything = store.read_observations(loaded_engine)
    assert_same_movers(store.read_recent_movers(loaded_engine), replayed(everything))


def test_a_methodology_change_refills_the_history(
    loaded_engine: Engine, settings, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    precompute.update_composite_history(loaded_engine, settings, window_days=5)
    monkeypatch.setattr(precompute, "METHODOLOGY_VERSION", "0.0-other")
    update = precompute.update_composite_history(loaded_engine, settings, window_days=5)
    assert update.refilled and update.rows == 5 * 2


def approx_document(value: object) -> object:
    """`value` with every float compared to 1e-9 relative (pytest.approx, nested)."""
    if isinstance(value, dict):
        return {key: approx_document(item) for key, item in value.items()}
    if isinstance(value, list):
        return [approx_document(item) for item in value]
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-9, abs=1e-9)
    return value


def test_score_prints_the_same_from_the_stored_panel_as_from_live_scoring(
    snapshot_template: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import shutil

    from flashpoint import scoring
    from flashpoint.cli import main

    database = tmp_path / "flashpoint.db"
    shutil.copyfile(snapshot_template, database)
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{database}"\n', encoding="utf-8")
    commands = [
        ["score", "--config", str(config), "--all", "--format", "csv"],
        ["score", "--config", str(config), "--all", "--format", "json"],
        ["score", "--config", str(config), "--country", "KAZ", "--country", "NGA"],
        ["score", "--config", str(config), "--country", "KAZ", "--format", "json"],
    ]

    def printed(argv: list[str]) -> str:
        capsys.readouterr()
        assert main(argv) == 0
        return capsys.readouterr().out

    live = [printed(argv) for argv in commands]  # no stored panel yet: scored from the store
    engine = store.open_for_writing(f"sqlite:///{database}")
    try:
        precompute.precompute(engine, load_config(config), history_days=0)
    finally:
        engine.dispose()

    def no_live_scoring(*args: object, **kwargs: object) -> None:
        raise AssertionError("scored live although a current panel is stored")

    monkeypatch.setattr(scoring, "score_from_store", no_live_scoring)
    stored = [printed(argv) for argv in commands]
    assert stored[:3] == live[:3]
    assert "KAZ" in live[0] and '"country": "KAZ"' in live[1] and "NGA" in live[2]
    # One country scored alone differs from its row of the whole panel in the last bits of a
    # z-scored value (the scoring core's float summation order); the JSON prints full precision.
    assert json.loads(stored[3]) == approx_document(json.loads(live[3]))
    # Another as-of day is not what was stored: scored live (and so refused here).
    # (The CLI turns the refused live scoring into a failing exit code.)
    assert (
        main(["score", "--config", str(config), "--country", "KAZ", "--as-of", "2022-01-05"]) != 0
    )


def test_a_store_from_before_the_precompute_reads_as_none_and_init_adds_the_tables(
    store_engine: Engine, settings
) -> None:  # type: ignore[no-untyped-def]
    from flashpoint.store.schema import (
        composite_history,
        precompute_state,
        scored_panel_frames,
        scored_panels,
    )

    family = (scored_panel_frames, scored_panels, composite_history, precompute_state)
    with store_engine.begin() as connection:
        for table in family:
            table.drop(connection)
    # An older store: readers find nothing stored (and score live); nothing raises.
    assert store.read_stored_panel_key(store_engine) is None
    assert precompute.read_panel(store_engine, settings.catalogue(), today().date()) is None
    assert store.read_composite_history(store_engine).empty
    assert store.read_precompute_state(store_engine) == {}
    # `flashpoint init` (init_schema) upgrades it: the tables exist again.
    store.init_schema(store_engine)
    import sqlalchemy as sa

    assert {table.name for table in family} <= set(sa.inspect(store_engine).get_table_names())


def test_two_pipelines_precomputing_at_once_take_turns(store_engine: Engine) -> None:
    """The scheduler runs its sources' jobs in parallel, each ending in a precompute: their
    history and movers writes (delete then insert) must not collide on the same rows."""
    import threading

    days = pd.date_range("2026-01-01", periods=60, freq="D")
    history = pd.DataFrame(
        {
            "country": "KAZ",
            "date": days,
            "composite": 4.0,
            "composite_high": 4.5,
            "band": "medium",
            "vulnerability": 3.7,
            "trigger": 1.0,
            "trigger_state": "quiet",
        }
    )
    movers = pd.DataFrame(
        {
            "country": ["KAZ", "KAZ"],
            "since": ["yesterday", "last week"],
            "days": [1, 7],
            "change": [0.1, float("nan")],
            "movers": [(("fuel_lpg_retail", 0.1),), ()],
        }
    )
    rounds, writers = 8, 2
    start = threading.Barrier(writers)
    failures: list[BaseException] = []

    def write() -> None:
        try:
            for _ in range(rounds):
                start.wait(timeout=60)
                store.write_composite_history(store_engine, history)
                store.replace_recent_movers(store_engine, movers)
        except BaseException as error:  # reported by the assertion below
            failures.append(error)
            start.abort()

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, failures
    stored = store.read_composite_history(store_engine, countries=["KAZ"])
    assert len(stored) == len(days)
    assert len(store.read_recent_movers(store_engine)) == len(movers)
