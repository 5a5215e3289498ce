"""The bundled national and EU fuel series: coverage, units and the traps of each source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from fetchers.brazil_anp import parse_weekly_workbook as parse_brazil
from fetchers.eu_oil_bulletin import parse_raw_table_csv
from fetchers.malaysia_fuelprice import parse_fuelprice_csv
from fetchers.nz_mbie import parse_weekly_table
from flashpoint import snapshot

RETAIL = ("fuel_gasoline_retail", "fuel_diesel_retail", "fuel_lpg_retail", "fuel_kerosene_retail",
          "fuel_heating_oil_retail")
NATIONAL = {
    "eu-oil-bulletin", "eu-oil-bulletin-uk", "us-gasoline", "nz-mbie", "malaysia-fuelprice",
    "india-ppac", "nepal-noc", "south-africa-dmre", "brazil-anp", "sri-lanka-cpc", "nigeria-nbs",
    "indonesia-pertamina",
}


@pytest.fixture(scope="module")
def fuel() -> pd.DataFrame:
    rows = snapshot.read_snapshot_observations()
    mine = rows[rows["source"].isin([f"snapshot:{name}" for name in NATIONAL])]
    return mine.assign(period=pd.to_datetime(mine["period"]))


def _value(fuel: pd.DataFrame, indicator: str, country: str, day: str) -> float:
    match = fuel[(fuel["indicator"] == indicator) & (fuel["country"] == country)
                 & (fuel["period"] == pd.Timestamp(day))]
    assert len(match) == 1, (indicator, country, day)
    return float(match["value"].iloc[0])


def test_every_national_dataset_is_bundled_with_its_licence(fuel: pd.DataFrame) -> None:
    manifest = snapshot.snapshot_manifest()["datasets"]
    assert set(manifest) >= NATIONAL
    for name in NATIONAL:
        assert manifest[name]["licence"] and manifest[name]["origin"], name
    assert set(fuel["source"]) == {f"snapshot:{name}" for name in NATIONAL}


def test_domestic_fuel_series_cover_38_countries_only_retail_ids(fuel: pd.DataFrame) -> None:
    assert set(fuel["indicator"]) <= set(RETAIL)
    # EU-27 + UK + USA, NZL, MYS, IND, NPL, ZAF, BRA, LKA, NGA, IDN.
    assert fuel["country"].nunique() == 38
    eu = fuel[fuel["source"] == "snapshot:eu-oil-bulletin"]
    assert eu["country"].nunique() == 27 and "GRC" in set(eu["country"])


def test_missing_is_never_zero(fuel: pd.DataFrame) -> None:
    assert (fuel["value"] > 0).all()
    assert fuel["value"].notna().all()


def test_one_currency_and_unit_per_series(fuel: pd.DataFrame) -> None:
    units = fuel.groupby(["indicator", "country"])["unit"].nunique()
    assert (units == 1).all(), units[units > 1]
    eu = fuel[fuel["country"].isin(["POL", "HUN", "GBR"])]
    assert set(eu["unit"]) == {"EUR/litre"}


def test_source_traps_are_handled(fuel: pd.DataFrame) -> None:
    # UK: the WOB table says GBP but holds EUR per 1000 l.
    uk = fuel[(fuel["country"] == "GBR") & (fuel["indicator"] == "fuel_diesel_retail")]
    assert uk["value"].between(1.0, 2.0).all()
    # US: 3.034 USD per gallon on 2 Dec 2024, stored per litre.
    assert _value(fuel, "fuel_gasoline_retail", "USA", "2024-12-02") == pytest.approx(
        3.034 / 3.785411784)
    # Nigeria: NBS's national diesel average, Dec 2022 (817.86 NGN/litre per PROVENANCE).
    assert _value(fuel, "fuel_diesel_retail", "NGA", "2022-12-01") == pytest.approx(817.86,
                                                                                      abs=0.01)
    # Sri Lanka 2022 crisis steps (LAD 289 on 18 Apr → 400 on 24 May).
    assert _value(fuel, "fuel_diesel_retail", "LKA", "2022-04-18") == 289
    assert _value(fuel, "fuel_diesel_retail", "LKA", "2022-05-24") == 400
    # Indonesia's 3 Sep 2022 Pertalite hike in Jakarta ("Rp 7.650" = 7,650).
    assert _value(fuel, "fuel_gasoline_retail", "IDN", "2022-09-01") == 7650
    assert _value(fuel, "fuel_gasoline_retail", "IDN", "2022-09-03") == 10000
    # Malaysia: only `level` rows (no week-on-week differences near zero).
    assert fuel[fuel["country"] == "MYS"]["value"].min() > 1.0
    # Brazil LPG is per 13 kg cylinder in the file, per kg here.
    brazil_lpg = fuel[(fuel["country"] == "BRA") & (fuel["indicator"] == "fuel_lpg_retail")]
    assert brazil_lpg["value"].max() < 10 and set(brazil_lpg["unit"]) == {"BRL/kg"}
    # India: the six undated rows are not guessed, duplicated dates kept once.
    india = fuel[fuel["country"] == "IND"]
    assert not india.duplicated(["indicator", "period"]).any()


DATA = Path(__file__).resolve().parents[2] / "data" / "fuel-prices-world"


def _series(fuel: pd.DataFrame, country: str) -> set[tuple[str, str, float]]:
    mine = fuel[fuel["country"] == country]
    return {(indicator, period.date().isoformat(), round(value, 6)) for indicator, period, value
            in zip(mine["indicator"], mine["period"], mine["value"], strict=True)}


@pytest.mark.parametrize(
    ("country", "parse", "path"),
    [
        ("NZL", lambda body: [(i, d, v) for i, d, v in parse_weekly_table(body)],
         "nz-mbie/weekly-table.csv"),
        ("MYS", lambda body: [(i, d, v) for i, d, v in parse_fuelprice_csv(body)],
         "malaysia-datagovmy/fuelprice.csv"),
        ("BRA", lambda body: [(i, d, v) for i, d, v, _unit in parse_brazil(body)],
         "brazil-anp/semanal-brasil-desde-2013.xlsx"),
        ("GBR", lambda body: [(i, d, v) for c, i, d, v in parse_raw_table_csv(body)
                              if c == "GBR"],
         "eu-weekly-oil-bulletin/wob_full_2015-2024_converted.csv"),
    ],
)
def test_live_fetchers_continue_the_bundled_series_with_the_same_rule(
    fuel: pd.DataFrame, country: str, parse: Any, path: str
) -> None:
    parsed = parse((DATA / path).read_bytes())
    live = {(indicator, day.isoformat(), round(value, 6)) for indicator, day, value in parsed}
    assert live == _series(fuel, country)
