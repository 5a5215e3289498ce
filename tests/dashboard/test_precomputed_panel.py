"""The dashboard on a precomputed store: the panel is read, not scored, and a country's page reads
only that country's observations; a stale panel is never used (the dashboard scores live)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import data
from flashpoint import precompute, store
from flashpoint.config import load_config
from flashpoint.scoring import score_from_store
from tests.dashboard.conftest import APP, CONFIG, headline_text, sqlite_url

TIMEOUT = 300


def _precompute(path: Path) -> None:
    engine = store.open_for_writing(sqlite_url(path))
    try:
        precompute.precompute(engine, load_config(CONFIG), history_days=0)
    finally:
        engine.dispose()


def _refuse_live_scoring(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(
            "the dashboard scored or read the whole store although a panel is stored"
        )

    # Live scoring and the whole-store read; `read_country_observations` still works.
    monkeypatch.setattr(data, "score_with_reference", refuse)
    monkeypatch.setattr(store, "read_observations", refuse)


def test_the_panel_is_read_from_the_precompute_and_a_country_reads_only_its_rows(
    writable_snapshot_store: Path, use_store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _precompute(writable_snapshot_store)
    use_store(writable_snapshot_store)
    engine = store.make_engine(sqlite_url(writable_snapshot_store))
    try:
        live = score_from_store(engine, load_config(CONFIG))
        kazakhstan = store.read_observations(engine, countries=["KAZ", "WLD"])
    finally:
        engine.dispose()
    _refuse_live_scoring(monkeypatch)
    version = data.current_version()
    assert data.panel_is_precomputed(version, data.today())
    panel = data.load_panel(version, data.today())
    pd.testing.assert_frame_equal(panel.now.countries, live.countries, check_exact=True)
    assert panel.previous is not None and "a week earlier" in panel.previous_label
    assert len(data.scored_countries(version)) == len(live.countries)
    observed = data.load_country_observations(version, "KAZ")
    pd.testing.assert_frame_equal(observed, kazakhstan)


def test_a_stale_panel_is_not_used(writable_snapshot_store: Path, use_store: Any) -> None:
    _precompute(writable_snapshot_store)
    engine = store.make_engine(sqlite_url(writable_snapshot_store))
    try:
        row = store.read_observations(engine, countries=["NGA"]).tail(1).copy()
        row["value"] = row["value"] * 3 + 1
        row["fetched_at"] = pd.Timestamp.now(tz="UTC").tz_localize(None)
        store.upsert_observations(engine, row)  # new data after the precompute
        live = score_from_store(engine, load_config(CONFIG))
    finally:
        engine.dispose()
    use_store(writable_snapshot_store)
    version = data.current_version()
    assert not data.panel_is_precomputed(version, data.today())
    panel = data.load_panel(version, data.today())
    pd.testing.assert_frame_equal(panel.now.countries, live.countries, check_exact=True)


def test_the_overview_renders_from_the_precompute_without_reading_the_store(
    writable_snapshot_store: Path, use_store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _precompute(writable_snapshot_store)
    use_store(writable_snapshot_store)
    engine = store.make_engine(sqlite_url(writable_snapshot_store))
    try:
        row = score_from_store(engine, load_config(CONFIG), countries=["KAZ"]).country("KAZ")
    finally:
        engine.dispose()
    _refuse_live_scoring(monkeypatch)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [item.value for item in at.exception]
    assert at.title[0].value == "Kazakhstan"
    composite = next(m for m in at.metric if m.label == "Composite risk (0–10)")
    assert composite.value == headline_text(row)
    assert not any("computed from the whole store" in str(c.value) for c in at.sidebar.caption)


def test_the_sidebar_totals_equal_the_store_summary(
    writable_snapshot_store: Path, use_store: Any
) -> None:
    use_store(writable_snapshot_store)
    version = data.current_version()
    # The totals the sidebar shows come from two indexed aggregates, equal to the summary's.
    rows, last = data.load_store_totals(version)
    summary = data.load_store_summary(version)
    assert rows == int(summary["rows"].sum())
    assert last == pd.Timestamp(summary["last_fetched_at"].max())


def test_the_recent_movers_are_read_from_the_precompute_and_equal_a_replay(
    writable_snapshot_store: Path, use_store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dashboard import history

    countries = ("KAZ", "NGA")
    use_store(writable_snapshot_store)
    version, day = data.current_version(), data.today()
    # Before the precompute (no history stored): replayed from the countries' observations.
    replayed = history.load_recent_movers(version, countries, day)
    engine = store.open_for_writing(sqlite_url(writable_snapshot_store))
    try:
        precompute.precompute(engine, load_config(CONFIG), history_days=8)
    finally:
        engine.dispose()

    def no_replay(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the recent movers were replayed although they are stored")

    monkeypatch.setattr(history, "_scores", no_replay)
    stored = history.load_recent_movers(data.current_version(), countries, day)
    assert list(stored.columns) == list(history.MOVER_COLUMNS)
    pd.testing.assert_frame_equal(
        stored.drop(columns="movers"), replayed.drop(columns="movers"), check_dtype=False
    )
    for got, wanted in zip(stored["movers"], replayed["movers"], strict=True):
        assert [name for name, _ in got] == [name for name, _ in wanted]
        assert [delta for _, delta in got] == pytest.approx([delta for _, delta in wanted])


def test_trend_lines_read_the_precomputed_history_and_equal_a_replay(
    writable_snapshot_store: Path, use_store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt

    from dashboard import history

    engine = store.open_for_writing(sqlite_url(writable_snapshot_store))
    try:
        precompute.precompute(engine, load_config(CONFIG), history_days=90)
    finally:
        engine.dispose()
    use_store(writable_snapshot_store)
    version, day = data.current_version(), data.today()
    countries = ("KAZ", "NGA")
    start = day - dt.timedelta(days=89)
    replayed = history._replayed_history(version, countries, start, day, "day")

    def no_replay(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("replayed although the history is current")

    monkeypatch.setattr(history, "_scores", no_replay)
    stored = history.load_trend(version, countries, day, "90 days")
    assert len(stored) == 2 * 90
    numeric = ["composite", "composite_high", "vulnerability", "trigger"]
    pd.testing.assert_frame_equal(
        stored[["country", "date", *numeric]].reset_index(drop=True),
        replayed[["country", "date", *numeric]].reset_index(drop=True),
        check_dtype=False,
        rtol=1e-9,
        atol=1e-9,
    )
    assert list(stored["trigger_state"]) == list(replayed["trigger_state"])
    # The year reaches back before the stored window: it is replayed, not cut short.
    assert history._stored_history(version, countries, day - dt.timedelta(days=364), day) is None


def test_the_as_of_bound_reads_only_first_rows_and_equals_the_whole_store_rule(
    writable_snapshot_store: Path, use_store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from indicators.pointintime import publication_dates

    engine = store.make_engine(sqlite_url(writable_snapshot_store))
    try:
        everything = store.read_observations(engine, include_forecasts=False)
        first_rows = store.read_first_observations(engine)
    finally:
        engine.dispose()
    catalogue = load_config(CONFIG).catalogue()
    expected = pd.Timestamp(publication_dates(everything, catalogue).min()).date()
    assert len(first_rows) < len(everything) / 100  # a small read, not the store
    use_store(writable_snapshot_store)
    assert data.first_published_day(data.current_version()) == expected
    # Once precomputed, the bound is read from the stored state: no observation is read for it.
    _precompute(writable_snapshot_store)
    data.first_published_day.clear()  # type: ignore[attr-defined]

    def no_read(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the first observations were read although the bound is stored")

    monkeypatch.setattr(store, "read_first_observations", no_read)
    assert data.first_published_day(data.current_version()) == expected


def test_the_trigger_panel_reads_only_the_fuel_series_and_equals_the_whole_country(
    snapshot_store: Path, use_store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_store(snapshot_store)
    version, day = data.current_version(), data.today()
    window = load_config(CONFIG).catalogue().indicator(data.FUEL_SHOCK_INDICATOR).window_days
    everything = data.load_country_observations(version, "KAZ")
    expected = data.fuel_price_frame(everything, "KAZ", window, catalogue=data.get_catalogue())
    assert not expected.empty
    reads: list[Any] = []
    original = store.read_country_observations

    def recording(*args: Any, **kwargs: Any) -> Any:
        reads.append(kwargs.get("indicators"))
        return original(*args, **kwargs)

    monkeypatch.setattr(store, "read_country_observations", recording)
    prices = data.load_fuel_prices(version, "KAZ", window, day)
    pd.testing.assert_frame_equal(prices, expected)
    fuel = {indicator for indicator, _ in data.FUEL_PRICE_INDICATORS + data.WORLD_PRICE_INDICATORS}
    assert reads and all(wanted is not None and set(wanted) <= fuel for wanted in reads)
