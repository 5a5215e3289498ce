"""What changed, and since when: trend lines, recent change with its movers, the trigger's driver.

On the bundled snapshot (and a copy with a synthetic LPG step), under AppTest and through the
loaders of `dashboard/history.py`. Expected values are computed here with the scoring functions
(`replay`, `replay_scores`, `explain_change`, `score_panel`), never copied from the page.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import data, history
from flashpoint import store
from flashpoint.config import iso3_countries, load_config
from indicators.explain import explain_change
from indicators.replay import replay, replay_scores
from indicators.scoring import score_panel
from tests.dashboard.conftest import APP, CONFIG, chart_figure, chart_nodes, sqlite_url

TIMEOUT = 300
WATCHED = ("AZE", "ECU", "IRN", "KAZ", "KGZ", "MNG", "NGA", "RUS", "TJK", "TKM", "UZB")


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def observations_of(path: Path, countries: list[str] | None = None) -> pd.DataFrame:
    engine = store.make_engine(sqlite_url(path))
    try:
        wanted = None if countries is None else [*countries, "WLD"]
        return store.read_observations(engine, countries=wanted, include_forecasts=False)
    finally:
        engine.dispose()


def open_app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    if page is not None:
        at.switch_page(page).run()
    assert not at.exception, [item.value for item in at.exception]
    return at


def add_lpg_step(path: Path) -> float:
    """Store Kazakhstan's LPG price ten days ago and two days ago, 98 % up: a SYNTHETIC step
    (not a recorded price) that makes the trigger fresh and active today. Returns the step."""
    engine = store.make_engine(sqlite_url(path))
    try:
        last = store.read_observations(engine, indicators=["fuel_lpg_retail"], countries=["KAZ"])
        old_value = float(last.sort_values("period").iloc[-1]["value"])
        day = pd.Timestamp(today())
        store.upsert_observations(
            engine,
            pd.DataFrame(
                {
                    "indicator": ["fuel_lpg_retail"] * 2,
                    "country": ["KAZ"] * 2,
                    "period": [day - pd.Timedelta(days=10), day - pd.Timedelta(days=2)],
                    "value": [old_value, old_value * 1.98],  # SYNTHETIC
                    "unit": ["KZT/litre"] * 2,
                    "source": ["analyst"] * 2,
                    "fetched_at": [pd.Timestamp.now(tz="UTC").tz_localize(None)] * 2,
                }
            ),
        )
    finally:
        engine.dispose()
    return 98.0


# --------------------------------------------------------------------------------------------
# The loaders


def test_composite_history_has_the_agreed_columns_and_one_row_per_day(
    snapshot_store: Path, use_store: Any
) -> None:
    use_store(snapshot_store)
    start, end = dt.date(2021, 12, 20), dt.date(2022, 1, 10)
    frame = history.load_composite_history(data.current_version(), ("KAZ",), start, end)
    assert tuple(frame.columns) == history.HISTORY_COLUMNS
    assert list(frame["date"]) == list(pd.date_range(start, end, freq="D"))
    expected = replay(
        observations_of(snapshot_store, ["KAZ"]),
        load_config(CONFIG).catalogue(),
        countries=["KAZ"],
        start=start,
        end=end,
    )
    pd.testing.assert_series_equal(
        frame["composite"].reset_index(drop=True),
        expected["composite"].reset_index(drop=True),
        check_names=False,
    )
    # The LPG move of 1 Jan 2022 shows in the history as an active trigger.
    on_new_year = frame.set_index("date").loc[pd.Timestamp("2022-01-01")]
    assert on_new_year["trigger_state"] == "active"


def test_a_day_without_a_score_is_a_gap_never_zero(snapshot_store: Path, use_store: Any) -> None:
    use_store(snapshot_store)
    # Before any indicator of the catalogue was published there is nothing to score.
    frame = history.load_composite_history(
        data.current_version(), ("KAZ",), dt.date(1961, 1, 1), dt.date(1961, 1, 5)
    )
    assert len(frame) == 5
    assert frame["composite"].isna().all()
    assert history.trend_values(frame, "KAZ") is None
    assert history.unscored_dates(frame, "KAZ") == (5, 5)


def test_the_one_year_trend_is_daily_for_a_few_countries_and_weekly_for_many(
    snapshot_store: Path, use_store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_store(snapshot_store)
    version = data.current_version()
    few = history.load_trend(version, ("KAZ", "UZB"), today(), "1 year")
    assert history.trend_step(version, ("KAZ", "UZB"), "1 year") == "day"
    # Past the bound (lowered here so two countries count as many) the year is weekly.
    monkeypatch.setattr(history, "DAILY_YEAR_AT_MOST", 1)
    assert history.trend_step(version, ("KAZ", "UZB"), "1 year") == "week"
    many = history.load_trend(version, ("KAZ", "UZB"), today(), "1 year")
    for code in ("KAZ", "UZB"):
        daily = pd.DatetimeIndex(few.loc[few["country"] == code, "date"])
        assert list(daily) == list(
            pd.date_range(today() - dt.timedelta(days=364), today(), freq="D")
        )
        weekly = pd.DatetimeIndex(many.loc[many["country"] == code, "date"])
        assert weekly.min() == daily.min() and weekly.max() == daily.max()
        assert (weekly[1:-1] - weekly[:-2]).days.unique().tolist() == [7]
        # The same score on the same day, whichever step drew it.
        same = few[few["country"] == code].set_index("date")["composite"].reindex(weekly)
        shown = many[many["country"] == code].set_index("date")["composite"]
        assert shown.to_numpy() == pytest.approx(same.to_numpy(), nan_ok=True)


def test_recent_movers_are_the_largest_contribution_changes(
    writable_snapshot_store: Path, use_store: Any
) -> None:
    add_lpg_step(writable_snapshot_store)
    use_store(writable_snapshot_store)
    day = today()
    recent = history.load_recent_movers(data.current_version(), ("KAZ",), day)
    frames = replay_scores(
        observations_of(writable_snapshot_store, ["KAZ"]),
        load_config(CONFIG).catalogue(),
        countries=["KAZ"],
        start=day - dt.timedelta(days=7),
        end=day,
    )
    now = frames.at(day)
    week = recent.set_index("since").loc["last week"]
    then = frames.at(day - dt.timedelta(days=7))
    change = now.countries.loc["KAZ", "composite"] - then.countries.loc["KAZ", "composite"]
    assert math.isclose(week["change"], change, abs_tol=1e-9) and change > 0.5
    explained = explain_change(then, now, "KAZ")
    top = explained[explained["delta"].abs() >= history.MOVED_AT_LEAST].head(history.TOP_MOVERS)
    assert [indicator for indicator, _ in week["movers"]] == list(top["indicator"])
    assert week["movers"][0][0] == "fuel_price_step"


# --------------------------------------------------------------------------------------------
# Overview


def test_overview_trend_lines_are_the_point_in_time_composite(
    snapshot_store: Path, use_store: Any
) -> None:
    use_store(snapshot_store)
    at = open_app()
    day = today()
    trends = [
        figure
        for figure in map(chart_figure, chart_nodes(at))
        if str((figure["layout"].get("title") or {}).get("text", "")).startswith("Composite, last")
    ]
    assert len(trends) == 2
    ninety = next(f for f in trends if "90 days" in f["layout"]["title"]["text"])
    start = day - dt.timedelta(days=89)
    assert ninety["layout"]["xaxis"]["range"] == [f"{start:%Y-%m-%d}", f"{day:%Y-%m-%d}"]
    expected = replay(
        observations_of(snapshot_store, ["KAZ"]),
        load_config(CONFIG).catalogue(),
        countries=["KAZ"],
        start=start,
        end=day,
    )
    line = next(trace for trace in ninety["data"] if trace["name"] == "Composite")
    assert line["x"][0] == f"{start:%Y-%m-%d}" and len(line["x"]) == 90
    shown = [float("nan") if value is None else value for value in line["y"]]
    assert shown == pytest.approx(expected["composite"].tolist(), nan_ok=True)


def test_overview_names_the_trigger_driver_and_what_moved_the_composite(
    writable_snapshot_store: Path, use_store: Any
) -> None:
    add_lpg_step(writable_snapshot_store)
    use_store(writable_snapshot_store)
    at = open_app()
    observations = observations_of(writable_snapshot_store)
    known = iso3_countries()
    catalogue = load_config(CONFIG).catalogue()
    panel = score_panel(
        observations,
        catalogue,
        as_of=today(),
        countries=sorted(code for code in observations["country"].unique() if code in known),
    )
    row = panel.countries.loc["KAZ"]
    assert row["trigger_state"] == "active"
    contributions = panel.contributions
    triggers = contributions[
        (contributions["country"] == "KAZ") & (contributions["kind"] == "trigger")
    ]
    driver = triggers.loc[triggers["contribution"].idxmax()]
    assert driver["indicator"] == "fuel_price_step"
    # Captions are markdown with escaped punctuation ("Driver\\: … \\+98 %"): read them as text.
    captions = [item.value.replace("\\", "") for item in at.caption]
    expected_driver = f"Driver: LPG price step {driver['value']:+.0f} %"
    assert any(expected_driver in caption for caption in captions), captions
    composite_driver = catalogue.indicator(str(row["top_driver"])).name
    if row["top_driver"] != driver["indicator"]:
        assert not any(f"Driver: {composite_driver}" in caption for caption in captions)
    since = next(caption for caption in captions if caption.startswith("Since yesterday"))
    week = since.split("·")[1]
    assert "Since last week: ↑" in week
    assert "Domestic fuel price step +" in week  # the mover, by name, with its change


# --------------------------------------------------------------------------------------------
# Compare


def test_compare_has_trend_lines_and_a_numeric_change_column(
    snapshot_store: Path, use_store: Any
) -> None:
    use_store(snapshot_store)
    at = open_app("app_pages/compare.py")
    table = at.dataframe[0].value
    day = today()
    assert set(table["ISO3"]) == set(WATCHED)
    expected = replay(
        observations_of(snapshot_store, list(WATCHED)),
        load_config(CONFIG).catalogue(),
        countries=list(WATCHED),
        start=day - dt.timedelta(days=89),
        end=day,
    )
    for code, line in zip(table["ISO3"], table["Trend, 90 days"], strict=True):
        composite = expected.loc[expected["country"] == code, "composite"].dropna()
        assert list(line) == pytest.approx(composite.tolist(), abs=1e-3), code
    assert all(len(line) >= 50 for line in table["Trend, 1 year"])  # weekly: 53 dates
    for label in ("Since yesterday", "Since last week"):
        assert pd.api.types.is_float_dtype(table[label]), table[label].dtype
    by_code = expected.set_index(["country", "date"])["composite"]
    for code, shown in zip(table["ISO3"], table["Since last week"], strict=True):
        change = (
            by_code[(code, pd.Timestamp(day))]
            - by_code[(code, pd.Timestamp(day - dt.timedelta(days=7)))]
        )
        assert shown == pytest.approx(change, abs=1e-9, nan_ok=True), code


def test_compare_leaves_an_unknown_change_empty(snapshot_store: Path, use_store: Any) -> None:
    use_store(snapshot_store)
    observations = observations_of(snapshot_store)
    known = iso3_countries()
    panel = score_panel(
        observations,
        load_config(CONFIG).catalogue(),
        as_of=today(),
        countries=sorted(code for code in observations["country"].unique() if code in known),
    )
    unscored = panel.countries.index[panel.countries["composite"].isna()]
    assert len(unscored) > 0, "the snapshot has countries with too few inputs to score"
    at = open_app("app_pages/compare.py")
    at.multiselect(key="compare_countries").set_value(["KAZ", unscored[0]]).run()
    table = at.dataframe[0].value.set_index("ISO3")
    assert math.isnan(table.loc[unscored[0], "Since yesterday"])  # unknown, not 0
    assert math.isnan(table.loc[unscored[0], "Since last week"])
    assert table.loc[unscored[0], "Trend, 90 days"] is None
    assert not math.isnan(table.loc["KAZ", "Since last week"])
