"""The bundled WFP rows: the generic catalogue's units, one currency per series, breaks as vintages.

Read from the committed snapshot (`flashpoint/snapshot_data/observations.csv.gz`); expected
values come from the verbatim copies in `data/fuel-prices-world/` read with the stdlib csv module.
"""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

import pandas as pd
import pytest

from flashpoint.config import load_config
from indicators.units import unit_accepts

REPO = Path(__file__).resolve().parents[2]
OBSERVATIONS = REPO / "flashpoint" / "snapshot_data" / "observations.csv.gz"
HDX = REPO / "data" / "fuel-prices-world" / "wfp-hdx"


@pytest.fixture(scope="module")
def wfp() -> pd.DataFrame:
    frame = pd.read_csv(OBSERVATIONS, dtype={"vintage": str}, keep_default_na=False)
    rows = frame[frame["source"] == "snapshot:wfp"].copy()
    rows["period"] = pd.to_datetime(rows["period"])
    rows["value"] = rows["value"].astype(float)
    return rows


def test_fuel_for_twelve_countries_in_their_own_currency_units(wfp: pd.DataFrame) -> None:
    fuel = wfp[wfp["indicator"].str.startswith("fuel_")]
    assert sorted(fuel["country"].unique()) == [
        "AFG", "BGD", "CAF", "ETH", "GTM", "KEN", "LBN", "LKA", "MMR", "PAK", "SOM", "TUR"]
    units = {item.id: item.unit for item in load_config(None).catalogue().indicators}
    assert all(unit_accepts(units[indicator], unit)
               for indicator, unit in zip(wfp["indicator"], wfp["unit"], strict=True))
    assert (wfp["value"] > 0).all()


def test_one_currency_per_country_somalia_is_in_somali_shillings(wfp: pd.DataFrame) -> None:
    currencies = wfp.assign(currency=wfp["unit"].str.split("/").str[0]).groupby("country")[
        "currency"].nunique()
    assert (currencies == 1).all()
    assert set(wfp.loc[wfp["country"] == "SOM", "unit"].str[:3]) == {"SOS"}


def test_afghanistan_diesel_break_is_two_vintages_and_matches_the_file(wfp: pd.DataFrame) -> None:
    diesel = wfp[(wfp["indicator"] == "fuel_diesel_retail") & (wfp["country"] == "AFG")]
    actual = diesel[diesel["vintage"] == "wfp"]
    aggregate = diesel[diesel["vintage"] == "wfp:aggregate"]
    assert actual["period"].max() == pd.Timestamp("2020-04-30")
    assert aggregate["period"].min() == pd.Timestamp("2020-05-31")
    # September 2024: the median over markets, recomputed from the verbatim file.
    with (HDX / "wfp_food_prices_afg.csv").open(newline="", encoding="utf-8") as handle:
        prices = [float(row["price"]) for row in csv.DictReader(handle)
                  if row["commodity"] == "Fuel (diesel)" and row["date"] == "2024-09-15"]
    stored = aggregate.loc[aggregate["period"] == pd.Timestamp("2024-09-30"), "value"]
    assert float(stored.iloc[0]) == pytest.approx(statistics.median(prices))
