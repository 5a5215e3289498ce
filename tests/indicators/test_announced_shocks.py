"""The scheduled shock names its product: the announcement whose change is scored, in words.

The announcements are SYNTHETIC (made up for the test): two products announced for KAZ with the
same effective date, so the store holds one shock row and the viewer must learn which one it is.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from fetchers.policy_calendar import announcement_frame, parse_announcements, shock_observations
from flashpoint.config import load_config
from indicators.announced_shocks import (
    PRODUCT_NOT_RECORDED,
    announcement_behind_shock,
    describe_announcement,
    scored_announcements,
)
from indicators.scoring import score_panel
from indicators.trigger_driver import describe_driver, trigger_driver

CONFIG = Path(__file__).resolve().parents[2] / "config.toml"
HEADER = "country,product,announced,effective,expected_change_pct,source_url\n"


def _calendar(lpg_change: float, diesel_change: float) -> pd.DataFrame:
    # SYNTHETIC: diesel is announced first, LPG later; both take effect on 1 Jan 2022.
    text = HEADER + (
        f"KAZ,diesel,2021-11-20,2022-01-01,{diesel_change},\n"
        f"KAZ,LPG,2021-12-01,2022-01-01,{lpg_change},\n"
    )
    return announcement_frame(parse_announcements(text).records)


@pytest.mark.parametrize(
    ("lpg", "diesel", "product", "announced"),
    [(100.0, 20.0, "LPG", "2021-12-01"), (20.0, 100.0, "diesel", "2021-11-20")],
)
def test_the_stored_shock_is_the_larger_change_and_names_that_product(
    lpg: float, diesel: float, product: str, announced: str
) -> None:
    calendar = _calendar(lpg, diesel)
    shocks = shock_observations(calendar).set_index("period")
    row = shocks.loc[pd.Timestamp("2022-01-01")]
    assert row["value"] == 100.0
    assert row["published_at"] == pd.Timestamp(announced)  # its own announcement
    behind = announcement_behind_shock(calendar, "KAZ", row.name, float(row["value"]))
    assert behind is not None and behind["product"] == product
    assert describe_announcement(behind) == (
        f"{product} +100 % announced {pd.Timestamp(announced).day} "
        f"{pd.Timestamp(announced):%b %Y}, effective 1 Jan 2022"
    )


def test_equal_changes_count_the_earliest_announcement() -> None:
    calendar = _calendar(50.0, 50.0)
    (scored,) = scored_announcements(calendar).itertuples()
    assert scored.product == "diesel"  # announced 20 Nov, before LPG's 1 Dec


def test_a_value_no_stored_announcement_made_is_not_named() -> None:
    calendar = _calendar(100.0, 20.0)
    # The calendar was edited after the score was made, or another country, or another day.
    assert announcement_behind_shock(calendar, "KAZ", pd.Timestamp("2022-01-01"), 20.0) is None
    assert announcement_behind_shock(calendar, "UZB", pd.Timestamp("2022-01-01"), 100.0) is None
    assert announcement_behind_shock(calendar, "KAZ", pd.Timestamp("2022-01-02"), 100.0) is None
    assert announcement_behind_shock(calendar.iloc[0:0], "KAZ", "2022-01-01", 100.0) is None


def test_an_announcement_stored_before_products_were_recorded_says_so() -> None:
    calendar = _calendar(100.0, 20.0)
    calendar["product"] = None
    behind = announcement_behind_shock(calendar, "KAZ", "2022-01-01", 100.0)
    assert behind is not None
    assert describe_announcement(behind).startswith(f"{PRODUCT_NOT_RECORDED} +100 % announced")


def test_the_trigger_driver_reads_the_product_of_the_scored_announcement() -> None:
    calendar = _calendar(100.0, 20.0)
    catalogue = load_config(CONFIG).catalogue()
    panel = score_panel(
        shock_observations(calendar), catalogue, as_of="2021-12-10", countries=["KAZ"]
    )
    driver = trigger_driver(panel.contributions, "KAZ")
    assert driver is not None and driver["indicator"] == "announced_price_change"
    behind = announcement_behind_shock(
        calendar, "KAZ", driver["period"], float(driver["value"])
    )
    name = catalogue.indicator("announced_price_change").name
    assert describe_driver(driver, name, announcement=behind) == (
        f"{name}: LPG +100 % announced 1 Dec 2021, effective 1 Jan 2022"
    )
    # Without the calendar the driver is still said, only without its product.
    assert describe_driver(driver, name) == f"{name} +100 %"
