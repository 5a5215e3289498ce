"""food_price_shock on a real WFP series: Karachi staple prices, 2012–2025 (fixtures/wfp_food).

Expected months come from the recorded prices themselves (the 2022–23 flour crisis: wheat flour
58 → 142 PKR/kg), never from the code under test; thresholds are the ALPS classes.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flashpoint.config import load_config
from indicators.catalogue import Catalogue, Indicator, Normalisation
from indicators.derived import derive_indicators
from indicators.food_shock import MIN_HISTORY, alps_class, food_price_deviation, series_deviation
from indicators.observations import conform_observations
from indicators.pointintime import PUBLISHED
from indicators.scoring import score_panel

FIXTURE = (
    Path(__file__).parents[1] / "fixtures" / "wfp_food" / "wfp_food_prices_pak_karachi_staples.csv"
)
CONFIG = Path(__file__).parents[2] / "config.toml"
STAPLES = {"Wheat flour": "food_price_wheat_flour", "Rice (coarse)": "food_price_rice_coarse"}
WINDOW = 120


def karachi() -> pd.DataFrame:
    """The fixture as canonical observations of PAK (one month per row, published mid-month)."""
    raw = pd.read_csv(FIXTURE, skiprows=[1])  # row 2 is the HXL tag row
    period = pd.to_datetime(raw["date"]).dt.to_period("M").dt.to_timestamp()
    frame = pd.DataFrame(
        {
            "indicator": raw["commodity"].map(STAPLES),
            "country": "PAK",
            "period": period,
            "value": raw["price"].astype(float),
            "unit": "PKR/kg",
            "source": "wfp",
            "published_at": pd.to_datetime(raw["date"]) + pd.Timedelta(days=30),
            "fetched_at": pd.Timestamp("2025-12-01"),
        }
    )
    return conform_observations(frame)


def _series(name: str) -> pd.DataFrame:
    frame = karachi()
    rows = frame[frame["indicator"] == STAPLES[name]].sort_values("period")
    return rows.reset_index(drop=True)


def _deviation(name: str) -> pd.Series:
    rows = _series(name)
    values = series_deviation(rows["period"], rows["value"], WINDOW)
    return pd.Series(values, index=pd.DatetimeIndex(rows["period"]))


def test_alps_classes_follow_the_thresholds() -> None:
    deviation = pd.Series([-1.0, 0.0, 0.24, 0.25, 0.99, 1.0, 1.99, 2.0, 5.0, np.nan])
    assert alps_class(deviation).tolist() == [
        "normal",
        "normal",
        "normal",
        "stress",
        "stress",
        "alert",
        "alert",
        "crisis",
        "crisis",
        "no data",
    ]


def test_fixture_is_the_real_karachi_extract() -> None:
    wheat = _series("Wheat flour").set_index("period")["value"]
    assert len(wheat) == 166 and wheat.index.min() == pd.Timestamp("2012-01-01")
    assert wheat[pd.Timestamp("2022-02-01")] == pytest.approx(55.58)
    assert wheat[pd.Timestamp("2023-03-01")] == pytest.approx(142.11)


def test_the_first_three_years_have_no_trend_to_deviate_from() -> None:
    deviation = _deviation("Wheat flour")
    assert deviation.iloc[:MIN_HISTORY].isna().all()
    assert deviation.iloc[MIN_HISTORY:].notna().all()


def test_the_2022_flour_crisis_is_a_crisis_and_the_lull_before_it_is_normal() -> None:
    deviation = _deviation("Wheat flour")
    # Jan–Mar 2022: the price fell back to ~56–61 PKR/kg: back at (or under) its trend.
    lull = deviation["2022-01-01":"2022-03-01"]
    assert (alps_class(lull) == "normal").all(), lull
    # From April 2022 (72 PKR/kg, +19 % in a month) to May 2023 (142) every month is a crisis.
    crisis = deviation["2022-04-01":"2023-05-01"]
    assert len(crisis) == 14 and (crisis >= 2.0).all(), crisis
    # The peak deviation falls in the months of the highest prices (early 2023).
    peak = deviation["2022-01-01":"2023-12-01"].idxmax()
    assert peak in pd.date_range("2022-06-01", "2023-05-01", freq="MS")


def test_a_month_is_scored_only_from_its_past() -> None:
    rows = _series("Wheat flour")
    full = series_deviation(rows["period"], rows["value"], WINDOW)
    for cut in (60, 125, 140):
        part = series_deviation(rows["period"].iloc[:cut], rows["value"].iloc[:cut], WINDOW)
        assert part[-1] == pytest.approx(full[cut - 1])
    # Changing a later price changes nothing before it.
    changed = rows["value"].copy()
    changed.iloc[130:] *= 3.0
    again = series_deviation(rows["period"], changed, WINDOW)
    np.testing.assert_allclose(again[:130], full[:130])
    assert again[130] > full[130]


def test_the_shock_is_the_largest_staple_and_names_it() -> None:
    frame = karachi().assign(**{PUBLISHED: lambda f: f["published_at"]})
    shock = food_price_deviation(frame, WINDOW).set_index("period")
    wheat, rice = _deviation("Wheat flour"), _deviation("Rice (coarse)")
    both = pd.concat({"food_price_wheat_flour": wheat, "food_price_rice_coarse": rice}, axis=1)
    both = both.dropna(how="all")
    np.testing.assert_allclose(shock["value"].to_numpy(), both.max(axis=1).to_numpy())
    assert shock.loc[pd.Timestamp("2022-07-01"), "indicator"] == "food_price_wheat_flour"
    # Feb 2023: wheat flour eased (122 → 113 PKR/kg) while rice jumped (124 → 135): rice leads.
    assert shock.loc[pd.Timestamp("2023-02-01"), "indicator"] == "food_price_rice_coarse"


def _catalogue_with_staples() -> Catalogue:
    """The project catalogue with the two staple series (added as the WFP source would, where the
    catalogue does not carry them already)."""
    catalogue = load_config(CONFIG).catalogue()
    known = {item.id for item in catalogue.indicators}
    staples = tuple(
        Indicator(
            id=indicator_id,
            name=name,
            pillar="context",
            factor="",
            source="wfp",
            source_code=name,
            unit="PKR/kg",
            higher_is_riskier=True,
            frequency="monthly",
            normalisation=Normalisation(),
        )
        for name, indicator_id in STAPLES.items()
        if indicator_id not in known
    )
    return replace(catalogue, indicators=catalogue.indicators + staples)


def test_food_price_shock_enters_the_trigger_point_in_time() -> None:
    catalogue = _catalogue_with_staples()
    derived = derive_indicators(karachi(), catalogue)
    shock = derived[derived["indicator"] == "food_price_shock"].set_index("period")
    assert shock.loc[pd.Timestamp("2023-03-01"), "value"] == pytest.approx(
        max(_deviation("Wheat flour")["2023-03-01"], _deviation("Rice (coarse)")["2023-03-01"])
    )
    # Published when the month's prices were (mid-month + 30 days), not before.
    assert shock.loc[pd.Timestamp("2023-03-01"), "published_at"] == pd.Timestamp("2023-04-14")
    before = score_panel(karachi(), catalogue, as_of="2023-04-13", countries=["PAK"])
    after = score_panel(karachi(), catalogue, as_of="2023-04-14", countries=["PAK"])
    rows = after.contributions.set_index("indicator")
    assert rows.at["food_price_shock", "value"] == pytest.approx(
        shock.loc[pd.Timestamp("2023-03-01"), "value"]
    )
    assert rows.at["food_price_shock", "status"] == "ok"
    food = after.pillars.set_index("pillar").at["food_shock", "score"]
    assert food == pytest.approx(10.0)  # 4.3 SD is past the 2.75 SD that scores 10
    assert after.country("PAK")["trigger_state"] == "active"
    assert after.country("PAK")["trigger_seen"] == pytest.approx(10.0 * 0.8)  # pillar weight 0.8
    before_rows = before.contributions.set_index("indicator")
    assert before_rows.at["food_price_shock", "period"] == pd.Timestamp("2023-02-01")
