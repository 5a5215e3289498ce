"""explain_change and replay (synthetic panel): deltas add up, replays equal per-date scoring."""

from __future__ import annotations

import pandas as pd
import pytest

from indicators.explain import EXPLAIN_COLUMNS, explain_change
from indicators.replay import band_changes, replay, replay_dates, trigger_crossings
from indicators.scoring import score_panel
from tests.indicators.scoring_support import synthetic_catalogue
from tests.indicators.test_scoring import scenario

CATALOGUE = synthetic_catalogue()


def test_explain_change_decomposes_the_move_and_sorts_by_size() -> None:
    frame = scenario()
    before = score_panel(frame, CATALOGUE, as_of="2021-12-31")
    after = score_panel(frame, CATALOGUE, as_of="2022-01-01")
    moved = explain_change(before, after, "KAZ")
    assert list(moved.columns) == list(EXPLAIN_COLUMNS)
    total = after.countries.at["KAZ", "composite"] - before.countries.at["KAZ", "composite"]
    assert moved["delta"].sum() == pytest.approx(total)
    assert moved.iloc[0]["indicator"] == "fuel_step"
    assert moved.iloc[0]["value_before"] == 0.0  # 55 → 55 on 2021-12-31
    assert moved.iloc[0]["value_after"] == pytest.approx((120 / 55 - 1) * 100)
    sizes = moved["delta"].abs().to_numpy()
    assert (sizes[:-1] >= sizes[1:]).all()


def test_replay_equals_scoring_each_date_from_scratch() -> None:
    frame = scenario()
    table = replay(frame, CATALOGUE, countries=["KAZ", "KGZ"], start="2021-12-28", end="2022-02-10")
    assert len(table) == 2 * len(pd.date_range("2021-12-28", "2022-02-10"))
    for day in ("2021-12-28", "2021-12-31", "2022-01-01", "2022-01-15", "2022-02-01", "2022-02-10"):
        panel = score_panel(frame, CATALOGUE, as_of=day)
        for country in ("KAZ", "KGZ"):
            row = table[(table["date"] == pd.Timestamp(day)) & (table["country"] == country)].iloc[
                0
            ]
            expected = panel.countries.loc[country]
            assert row["composite"] == pytest.approx(expected["composite"])
            assert row["band"] == expected["band"]
            assert row["trigger"] == pytest.approx(expected["trigger"], nan_ok=True)
            assert row["trigger_seen"] == pytest.approx(expected["trigger_seen"])
            assert row["trigger_state"] == expected["trigger_state"]
            assert row["composite_high"] == pytest.approx(expected["composite_high"])
            if pd.isna(expected["blind_since"]):
                assert pd.isna(row["blind_since"])
            else:
                assert row["blind_since"] == expected["blind_since"]
            assert row["top_driver"] == expected["top_driver"]
    assert {"macro", "governance", "fuel_shock", "unrest_spike"} <= set(table.columns)


def test_trigger_crossings_and_band_changes() -> None:
    table = replay(scenario(), CATALOGUE, countries=["KAZ"], start="2021-12-28", end="2022-02-10")
    crossings = trigger_crossings(table, 5.0)
    up = crossings[crossings["direction"] == "up"]
    assert list(up["date"]) == [pd.Timestamp("2022-01-01")]
    assert up.iloc[0]["trigger_driver"] == "fuel_step"
    # The step goes stale 31 days after 2022-01-01: the trigger falls back below 5.
    down = crossings[crossings["direction"] == "down"]
    assert list(down["date"]) == [pd.Timestamp("2022-02-02")]
    changes = band_changes(table, CATALOGUE).set_index("date")
    jump = changes.loc[pd.Timestamp("2022-01-01")]
    assert jump["direction"] == "up" and jump["top_driver"] == "fuel_step"
    order = {band.name: rank for rank, band in enumerate(CATALOGUE.bands)}
    assert order[jump["band"]] - order[jump["band_before"]] >= 1


def test_weekly_replay_dates_include_the_end() -> None:
    dates = replay_dates("2021-10-01", "2021-10-20", "week")
    assert list(dates) == [
        pd.Timestamp(d) for d in ("2021-10-01", "2021-10-08", "2021-10-15", "2021-10-20")
    ]
    with pytest.raises(ValueError, match="before its start"):
        replay_dates("2022-01-02", "2022-01-01")
