"""Price-in-force series: an official revision is a step whatever the gap since the last one.

On the real bundled rows: Sri Lanka's CPC revisions of 2022 (one row per revision, the price in
force until the next) and Brazil ANP's weekly survey, a sampled series whose 2020 survey gap must
still give no step. Expected values are computed from the rows themselves, never copied.
"""

from __future__ import annotations

import functools
from dataclasses import replace

import pandas as pd
import pytest

from flashpoint.config import default_config_path, load_config
from flashpoint.snapshot import read_snapshot_observations
from indicators.catalogue import Catalogue
from indicators.derived import derive_indicators, price_in_force_rows
from tests.indicators.scoring_support import observations, synthetic_catalogue

STEP_ID = "fuel_price_step"


@functools.cache
def _bundled() -> pd.DataFrame:
    return read_snapshot_observations()


@functools.cache
def _catalogue() -> Catalogue:
    return load_config(default_config_path()).catalogue()


def _rows(source: str, country: str) -> pd.DataFrame:
    frame = _bundled()
    chosen = frame[(frame["source"] == source) & (frame["country"] == country)]
    return chosen.reset_index(drop=True)


def _steps(frame: pd.DataFrame, catalogue: Catalogue) -> pd.Series:
    derived = derive_indicators(frame, catalogue)
    rows = derived[derived["indicator"] == STEP_ID]
    return rows.set_index("period")["value"].sort_index()


def _revision_changes(rows: pd.DataFrame) -> pd.DataFrame:
    """Per fuel and revision: the % change from the previous revision and the gap in days."""
    ordered = rows.sort_values(["indicator", "period"]).copy()
    grouped = ordered.groupby("indicator", observed=True)
    ordered["change"] = (ordered["value"] / grouped["value"].shift(1) - 1.0) * 100.0
    ordered["gap_days"] = grouped["period"].diff().dt.days
    return ordered


def _without_in_force(catalogue: Catalogue) -> Catalogue:
    return replace(
        catalogue,
        indicators=tuple(replace(item, in_force_sources=()) for item in catalogue.indicators),
    )


def test_the_catalogue_marks_the_revision_sources_and_not_the_sampled_ones() -> None:
    frame = _bundled()
    fuel = frame[frame["indicator"].astype(str).str.match(r"fuel_\w+_retail$")]
    marked = fuel[price_in_force_rows(fuel, _catalogue()).to_numpy()]
    assert "snapshot:sri-lanka-cpc" in set(marked["source"].astype(str))
    unmarked = set(fuel["source"].astype(str)) - set(marked["source"].astype(str))
    # Market samples and weekly bulletins keep the window rule.
    for sampled in ("snapshot:wfp", "snapshot:eu-oil-bulletin", "snapshot:brazil-anp"):
        assert sampled in unmarked


def test_sri_lanka_2022_revisions_after_a_long_gap_are_steps_on_their_own_day() -> None:
    catalogue = _catalogue()
    window = catalogue.indicator(STEP_ID).window_days
    rows = _rows("snapshot:sri-lanka-cpc", "LKA")
    changes = _revision_changes(rows)
    in_year = changes[changes["period"].dt.year == 2022]
    # Revisions of that year that follow the previous one by more than the window, and whose
    # window holds no other revision: the step on that day is that revision's largest change.
    late = in_year[in_year["gap_days"] > window]
    dates = sorted(set(late["period"]))
    assert dates, "the bundled CPC rows have no revision after a gap longer than the window"
    steps = _steps(rows, catalogue)
    checked = 0
    for day in dates:
        span = changes[
            (changes["period"] > day - pd.Timedelta(days=window)) & (changes["period"] <= day)
        ]
        if set(span["period"]) != {day}:
            continue
        expected = span["change"].max()
        assert steps[day] == pytest.approx(expected), day
        checked += 1
    assert checked >= 2  # 11 Mar 2022 (74 days after 27 Dec 2021) and 24 May (32 after 22 Apr)
    # The same rows read as samples lose exactly those steps: the switch is what dates them.
    sampled = _steps(rows, _without_in_force(catalogue))
    for day in dates:
        assert day not in sampled.index or sampled[day] < steps[day]


def test_a_sampled_series_with_a_gap_still_gives_no_step() -> None:
    catalogue = _catalogue()
    window = catalogue.indicator(STEP_ID).window_days
    rows = _rows("snapshot:brazil-anp", "BRA")
    assert not price_in_force_rows(rows, catalogue).any()
    changes = _revision_changes(rows)
    per_day = changes.groupby("period")["gap_days"].min()
    after_gap = per_day[per_day > window].index
    assert len(after_gap) >= 1  # ANP's survey gap of Aug–Oct 2020
    steps = _steps(rows, catalogue)
    for day in after_gap:
        # Nothing within the window before it: no datable step, so no value on that day.
        assert day not in steps.index


def test_a_sampled_row_before_a_revision_is_not_the_price_in_force() -> None:
    # SYNTHETIC: a market sample, then 60 days later an official revision of the same series.
    base = synthetic_catalogue()
    catalogue = replace(
        base,
        indicators=tuple(
            replace(item, in_force_sources=("official",)) if item.id == "fuel_price" else item
            for item in base.indicators
        ),
    )
    frame = observations(
        [
            ("fuel_price", "LKA", "2022-01-01", 100.0, "2022-01-01"),
            ("fuel_price", "LKA", "2022-03-02", 150.0, "2022-03-02"),
            ("fuel_price", "LKA", "2022-05-01", 180.0, "2022-05-01"),
        ]
    )
    frame["source"] = ["market", "official", "official"]
    derived = derive_indicators(frame, catalogue)
    step = derived[derived["indicator"] == "fuel_step"].set_index("period")["value"]
    # 100 was a sample: 150 is not datable against it. 150 → 180 is revision to revision.
    assert pd.Timestamp("2022-03-02") not in step.index
    assert step[pd.Timestamp("2022-05-01")] == pytest.approx((180 / 150 - 1) * 100)
    published = derived[derived["indicator"] == "fuel_step"].set_index("period")["published_at"]
    assert published[pd.Timestamp("2022-05-01")] == pd.Timestamp("2022-05-01")


def test_sri_lanka_change_over_12_months_is_against_the_price_in_force_a_year_before() -> None:
    catalogue = _catalogue()
    yoy_id = "fuel_price_yoy"
    assert catalogue.indicator(yoy_id).derivation == "change_yoy"
    rows = _rows("snapshot:sri-lanka-cpc", "LKA")
    derived = derive_indicators(rows, catalogue)
    yoy = derived[derived["indicator"] == yoy_id].set_index("period")["value"]
    ordered = rows.sort_values("period")
    revisions = ordered[ordered["period"].dt.year == 2022]
    checked = 0
    for day, on_day in revisions.groupby("period"):
        anchor = day - pd.DateOffset(years=1)
        changes = []
        for indicator, row in on_day.set_index("indicator")["value"].items():
            earlier = ordered[(ordered["indicator"] == indicator) & (ordered["period"] <= anchor)]
            if not earlier.empty:
                changes.append((row / earlier["value"].iloc[-1] - 1.0) * 100.0)
        assert yoy[day] == pytest.approx(max(changes)), day
        checked += 1
    assert checked == revisions["period"].nunique()
