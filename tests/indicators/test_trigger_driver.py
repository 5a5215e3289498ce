"""The trigger's own driver: chosen among trigger inputs only, named with the fuel that stepped."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from flashpoint import store
from flashpoint.config import load_config
from indicators.replay import replay_scores
from indicators.trigger_driver import describe_driver, fuel_behind_step, trigger_driver

REPO = Path(__file__).resolve().parents[2]


def _contributions(rows: list[tuple[str, str, str, str, float, float, float]]) -> pd.DataFrame:
    # Made-up scoring rows: (indicator, kind, status, unit, value, scored, contribution).
    frame = pd.DataFrame(
        rows, columns=["indicator", "kind", "status", "unit", "value", "scored", "contribution"]
    )
    frame["country"] = "KAZ"
    frame["pillar"] = frame["kind"]
    frame["weight"] = 1.0
    frame["period"] = pd.Timestamp("2022-01-01")
    frame["broadcast_from"] = ""
    return frame


def test_the_driver_is_a_trigger_input_even_when_a_structural_input_contributes_more() -> None:
    frame = _contributions(
        [
            ("fuel_exports_share", "structural", "ok", "%", 60.0, 9.0, 2.5),
            ("fuel_price_step", "trigger", "ok", "%", 98.0, 10.0, 1.2),
            ("protest_spike", "trigger", "ok", "z", 1.0, 2.5, 0.3),
        ]
    )
    driver = trigger_driver(frame, "KAZ")
    assert driver is not None and driver["indicator"] == "fuel_price_step"


def test_stale_and_missing_inputs_never_drive_and_a_calm_trigger_has_no_driver() -> None:
    frame = _contributions(
        [
            ("fuel_price_step", "trigger", "stale", "%", 98.0, 0.0, 0.0),
            ("protest_spike_daily", "trigger", "missing", "z", float("nan"), float("nan"), 0.0),
            ("protest_spike", "trigger", "ok", "z", -0.5, 0.0, 0.0),
        ]
    )
    assert trigger_driver(frame, "KAZ") is None
    assert trigger_driver(frame, "UZB") is None  # another country: nothing at all


def test_without_a_lift_the_strongest_weighted_input_is_the_driver() -> None:
    # Contributions all 0 (no vulnerability to amplify): the signal strength decides.
    frame = _contributions(
        [
            ("fuel_price_step", "trigger", "ok", "%", 5.0, 1.0, 0.0),
            ("protest_spike_daily", "trigger", "ok", "z", 2.4, 6.0, 0.0),
        ]
    )
    driver = trigger_driver(frame, "KAZ")
    assert driver is not None and driver["indicator"] == "protest_spike_daily"
    assert describe_driver(driver, "Protest event spike (daily)") == (
        "Protest event spike (daily) z +2.4"
    )


def test_the_fuel_behind_a_step_is_named() -> None:
    prices = pd.DataFrame(
        {
            "label": ["LPG", "LPG", "Diesel", "Brent crude"],
            "period": pd.to_datetime(["2021-12-01", "2022-01-01", "2022-01-01", "2022-01-01"]),
            "axis": ["domestic", "domestic", "domestic", "world"],
            "step_pct": [float("nan"), 118.18, 2.0, 118.18],
        }
    )
    assert fuel_behind_step(prices, pd.Timestamp("2022-01-01"), 118.18) == "LPG"
    assert fuel_behind_step(prices, pd.Timestamp("2022-01-01"), 50.0) is None
    assert fuel_behind_step(prices, pd.NaT, 118.18) is None
    driver = _contributions([("fuel_price_step", "trigger", "ok", "%", 118.18, 10.0, 3.6)]).iloc[0]
    assert describe_driver(driver, "Domestic fuel price step", fuel="LPG") == (
        "LPG price step +118 %"
    )
    assert describe_driver(driver, "Domestic fuel price step") == (
        "Domestic fuel price step +118 %"
    )


@pytest.fixture(scope="module")
def january_2022(snapshot_template: Path) -> pd.DataFrame:
    """Kazakhstan's scored contributions on 5 Jan 2022, point in time, from the snapshot."""
    engine = store.make_engine(f"sqlite:///{snapshot_template}")
    try:
        observations = store.read_observations(
            engine, countries=["KAZ", "WLD"], include_forecasts=False
        )
    finally:
        engine.dispose()
    frames = replay_scores(
        observations,
        load_config(REPO / "config.toml").catalogue(),
        countries=["KAZ"],
        start=dt.date(2022, 1, 5),
        end=dt.date(2022, 1, 5),
    )
    return frames.at(dt.date(2022, 1, 5)).contributions


def test_kazakhstan_january_2022_is_driven_by_the_fuel_price_step(
    january_2022: pd.DataFrame,
) -> None:
    driver = trigger_driver(january_2022, "KAZ")
    assert driver is not None
    triggers = january_2022[(january_2022["kind"] == "trigger") & (january_2022["status"] == "ok")]
    # The driver is the trigger input with the largest share of the trigger's lift.
    assert driver["contribution"] == triggers["contribution"].max()
    assert driver["indicator"] == "fuel_price_step" and driver["value"] > 25.0
