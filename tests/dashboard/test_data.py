"""Unit tests of the pure parts of `dashboard/data.py`: trigger series, windows, reference run."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from dashboard import data
from flashpoint.config import Settings, default_config_path, load_config
from flashpoint.snapshot import read_snapshot_observations
from indicators.observations import conform_observations


def _observations(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["indicator", "country", "period", "value"])
    frame["unit"] = frame["indicator"].map(lambda name: "USD/bbl" if "brent" in name else "KZT/l")
    frame["source"] = "test"
    return conform_observations(frame)


def test_fuel_price_frame_counts_steps_only_within_the_window() -> None:
    observations = _observations(
        [
            ("fuel_lpg_retail", "KAZ", "2021-12-31", 55.0),
            ("fuel_lpg_retail", "KAZ", "2022-01-01", 120.0),
            ("fuel_lpg_retail", "KAZ", "2024-03-05", 70.0),
            ("fuel_diesel_retail", "KAZ", "2015-05-19", 99.0),
            ("fuel_diesel_retail", "KAZ", "2022-01-06", 260.0),
            ("fuel_lpg_retail", "UZB", "2022-01-01", 999.0),
            ("brent_price", "WLD", "2022-01-03", 78.98),
            ("brent_price", "WLD", "2022-01-04", 80.0),
        ]
    )
    frame = data.fuel_price_frame(observations, "KAZ", window_days=31)
    assert list(frame["indicator"].unique()) == [
        "fuel_lpg_retail",
        "fuel_diesel_retail",
        "brent_price",
    ]
    lpg = frame[frame["indicator"] == "fuel_lpg_retail"]
    assert math.isclose(lpg["step_pct"].iloc[1], (120 / 55 - 1) * 100)
    assert pd.isna(lpg["step_pct"].iloc[2])  # 26 months later: a change, not a step
    diesel = frame[frame["indicator"] == "fuel_diesel_retail"]
    assert pd.isna(diesel["step_pct"]).all()  # 2015 → 2022 is no shock
    brent = frame[frame["indicator"] == "brent_price"]
    assert set(brent["axis"]) == {"world"} and math.isclose(
        brent["step_pct"].iloc[1], (80 / 78.98 - 1) * 100
    )
    assert 999.0 not in set(frame["value"])  # another country's price never leaks in


def test_fuel_price_frame_draws_no_step_across_a_series_break() -> None:
    # SYNTHETIC values shaped like Afghanistan's WFP diesel: `actual` markets to April 2020,
    # WFP's `aggregate` from May (another market mix) — a break, not a +40 % step.
    frame = pd.DataFrame({
        "indicator": "fuel_diesel_retail", "country": "AFG",
        "period": ["2020-03-31", "2020-04-30", "2020-05-31", "2020-06-30"],
        "value": [44.0, 45.0, 63.0, 64.0], "unit": "AFN/litre", "source": "wfp",
        "vintage": ["wfp", "wfp", "wfp:aggregate", "wfp:aggregate"],
    })
    prices = data.fuel_price_frame(conform_observations(frame), "AFG", window_days=31)
    steps = list(prices["step_pct"])
    assert pd.isna(steps[0]) and pd.isna(steps[2])  # the first point, and across the break
    assert steps[1] == pytest.approx((45 / 44 - 1) * 100)
    assert steps[3] == pytest.approx((64 / 63 - 1) * 100)
    assert list(prices["label"].unique()) == ["Diesel"]


def test_kerosene_is_a_domestic_fuel_of_the_trigger_panel() -> None:
    observations = _observations([("fuel_kerosene_retail", "KEN", "2020-11-30", 90.0)])
    prices = data.fuel_price_frame(observations, "KEN", window_days=31)
    assert list(prices["label"]) == ["Kerosene"] and list(prices["axis"]) == ["domestic"]


def test_fuel_price_frame_of_a_country_without_prices_is_empty() -> None:
    observations = _observations([("gini", "KGZ", "2021-01-01", 29.0)])
    assert data.fuel_price_frame(observations, "KGZ", window_days=31).empty


def test_trigger_window_starts_before_the_first_domestic_price_inside_it() -> None:
    prices = pd.DataFrame(
        {
            "period": pd.to_datetime(["2015-05-19", "2021-12-31", "2024-07-01", "2026-08-18"]),
            "axis": ["domestic", "domestic", "domestic", "world"],
        }
    )
    today = pd.Timestamp("2026-11-29")
    assert data.trigger_window_start(prices, today, 5) == pd.Timestamp("2021-11-01")
    assert data.trigger_window_start(prices, today, None) == pd.Timestamp("2015-05-19")
    # no domestic price inside the window: start shortly before the newest one
    assert data.trigger_window_start(prices, pd.Timestamp("2035-01-01"), 1) == pd.Timestamp(
        "2024-05-02"
    )
    world_only = prices[prices["axis"] == "world"]
    assert data.trigger_window_start(world_only, today, 5) == pd.Timestamp("2021-11-29")


def test_previous_refresh_is_the_last_successful_run_before_the_latest_change() -> None:
    observations = pd.DataFrame(
        {"fetched_at": pd.to_datetime(["2026-11-27 06:00", "2026-11-29 06:31"])}
    )
    runs = pd.DataFrame(
        {
            "status": ["ok", "error", "ok", "ok"],
            "finished_at": pd.to_datetime(
                ["2026-11-27 06:01", "2026-11-28 06:30", "2026-11-28 06:35", "2026-11-29 06:32"]
            ),
        }
    )
    assert data.previous_refresh_cutoff(observations, runs) == pd.Timestamp("2026-11-28 06:35")
    # a store filled by one load has no earlier refresh
    assert data.previous_refresh_cutoff(observations, runs.iloc[[3]]) is None
    assert data.previous_refresh_cutoff(observations.iloc[0:0], runs) is None


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (
            [{"id": "fuel", "target": "indicator:fuel_price_step", "threshold": 40.0}],
            40.0,
        ),
        (
            [
                {
                    "id": "fuel",
                    "target": "indicator:fuel_price_step",
                    "threshold": 40.0,
                    "enabled": False,
                }
            ],
            data.DEFAULT_SHOCK_THRESHOLD,
        ),
        ([{"id": "high", "target": "composite", "threshold": 6.5}], data.DEFAULT_SHOCK_THRESHOLD),
    ],
)
def test_fuel_shock_threshold_comes_from_the_enabled_fuel_rule(
    rules: list[dict[str, object]], expected: float
) -> None:
    settings = Settings.model_validate({"alerts": {"rules": rules}})
    assert data.fuel_shock_threshold(settings) == expected


def test_fuel_price_frame_counts_an_official_revision_as_a_step_whatever_the_gap() -> None:
    # The real bundled Sri Lanka CPC revisions: 27 Dec 2021 → 11 Mar 2022 is 74 days.
    bundled = read_snapshot_observations()
    rows = bundled[(bundled["country"] == "LKA") & (bundled["source"] == "snapshot:sri-lanka-cpc")]
    catalogue = load_config(default_config_path()).catalogue()
    window = catalogue.indicator(data.FUEL_SHOCK_INDICATOR).window_days
    with_revisions = data.fuel_price_frame(rows, "LKA", window, catalogue=catalogue)
    sampled = data.fuel_price_frame(rows, "LKA", window)
    diesel = with_revisions[with_revisions["indicator"] == "fuel_diesel_retail"].reset_index()
    march = diesel.index[diesel["period"] == pd.Timestamp("2022-03-11")][0]
    assert diesel.loc[march, "gap_days"] > window
    expected = (diesel.loc[march, "value"] / diesel.loc[march - 1, "value"] - 1) * 100
    assert diesel.loc[march, "step_pct"] == pytest.approx(expected)
    plain = sampled[sampled["indicator"] == "fuel_diesel_retail"].reset_index()
    assert pd.isna(plain.loc[march, "step_pct"])  # read as samples, the gap hides the step
