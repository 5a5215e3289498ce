"""The bundled national and EU fuel series: coverage, units and the traps of each source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from fetchers import brazil_anp, eu_oil_bulletin, fred, malaysia_fuelprice, nz_mbie
from fetchers.brazil_anp import parse_weekly_workbook as parse_brazil
from fetchers.eu_oil_bulletin import parse_raw_table_csv
from fetchers.malaysia_fuelprice import parse_fuelprice_csv
from fetchers.nz_mbie import parse_weekly_table
from flashpoint import snapshot
from flashpoint.config import load_config
from indicators.pointintime import publication_dates

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


REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data" / "fuel-prices-world"


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


# --- publication dates: a replay on the bundled data never sees a price before it was public ---

# Sources a live fetcher continues: the bundled rows carry the fetcher's own lag, read from the
# fetcher (not restated here), so a replay sees a bundled week on the day it sees a fetched one.
FETCHER_LAGS = {
    "eu-oil-bulletin": eu_oil_bulletin.PUBLICATION_LAG,
    "eu-oil-bulletin-uk": eu_oil_bulletin.PUBLICATION_LAG,
    "nz-mbie": nz_mbie.PUBLICATION_LAG,
    "malaysia-fuelprice": malaysia_fuelprice.PUBLICATION_LAG,
    "brazil-anp": brazil_anp.PUBLICATION_LAG,
}
# Official revisions and daily prices in force: announced by the day they apply, so no lag.
PRICE_IN_FORCE = ("india-ppac", "sri-lanka-cpc", "nepal-noc", "indonesia-pertamina")


def _source(fuel: pd.DataFrame, name: str) -> pd.DataFrame:
    rows = fuel[fuel["source"] == f"snapshot:{name}"]
    assert not rows.empty, name
    return rows


def test_every_bundled_domestic_fuel_row_has_a_publication_date(fuel: pd.DataFrame) -> None:
    # Without one a row would be visible from its own date (the generic fuel ids' catalogue lag
    # is 0): a look-ahead for every weekly or monthly source.
    missing = fuel[fuel["published_at"].isna()]
    assert missing.empty, missing.groupby("source").size()


@pytest.mark.parametrize("name", sorted(FETCHER_LAGS))
def test_sources_with_a_fetcher_are_published_by_the_fetchers_lag(
    fuel: pd.DataFrame, name: str
) -> None:
    rows = _source(fuel, name)
    lags = set(rows["published_at"] - rows["period"])
    assert lags == {FETCHER_LAGS[name]}


def test_us_gasoline_weeks_use_freds_lag_and_months_wait_for_the_month_end(
    fuel: pd.DataFrame,
) -> None:
    rows = _source(fuel, "us-gasoline")
    lag = fred.COUNTRY_SERIES["GASREGW"].publication_lag
    weekly = rows[rows["period"] <= pd.Timestamp("2024-12-02")]
    assert set(weekly["published_at"] - weekly["period"]) == {lag}
    # FRED's monthly averages (2025-01 → 2026-03), dated the 1st: complete after the last week.
    monthly = rows[rows["period"] > pd.Timestamp("2024-12-02")]
    assert len(monthly) == 15
    month_end = monthly["period"] + pd.offsets.MonthEnd(0)
    assert (monthly["published_at"] == month_end + lag).all()
    january = monthly[monthly["period"] == pd.Timestamp("2025-01-01")]
    assert january["published_at"].iloc[0] == pd.Timestamp("2025-02-01")


def test_nigeria_price_watch_months_are_public_only_after_the_month(fuel: pd.DataFrame) -> None:
    rows = _source(fuel, "nigeria-nbs")
    month_end = rows["period"] + pd.offsets.MonthEnd(0)
    assert (rows["published_at"] == month_end + pd.Timedelta(days=25)).all()
    # December 2022's diesel average (817.86): released in January 2023, not on 1 December.
    december = rows[(rows["indicator"] == "fuel_diesel_retail")
                    & (rows["period"] == pd.Timestamp("2022-12-01"))]
    assert december["published_at"].iloc[0] == pd.Timestamp("2023-01-25")


def test_south_african_adjustments_are_public_on_their_day_or_first_wednesday(
    fuel: pd.DataFrame,
) -> None:
    rows = _source(fuel, "south-africa-dmre")
    ahead = rows["published_at"] - rows["period"]
    assert (ahead >= pd.Timedelta(0)).all()
    # Months without a day in the file (2001-12 → 2011-12) are dated the 1st; the adjustment took
    # effect on the first Wednesday, and the row is visible from then.
    undated = rows[rows["published_at"] != rows["period"]]
    assert not undated.empty
    assert (undated["period"].dt.day == 1).all()
    assert (undated["published_at"].dt.day_of_week == 2).all()
    assert (undated["published_at"].dt.day <= 7).all()
    assert undated["period"].min() >= pd.Timestamp("2001-12-01")
    assert undated["period"].max() <= pd.Timestamp("2011-12-01")


@pytest.mark.parametrize("name", PRICE_IN_FORCE)
def test_price_in_force_sources_are_public_on_their_date(fuel: pd.DataFrame, name: str) -> None:
    rows = _source(fuel, name)
    assert (rows["published_at"] == rows["period"]).all()


def test_a_replay_does_not_see_a_bulletin_before_it_was_out(fuel: pd.DataFrame) -> None:
    catalogue = load_config(REPO / "config.toml").catalogue()
    eu = fuel[(fuel["source"] == "snapshot:eu-oil-bulletin") & (fuel["country"] == "DEU")
              & (fuel["indicator"] == "fuel_diesel_retail")]
    published = publication_dates(eu.assign(fetched_at=pd.NaT), catalogue)
    # Monday 7 Mar 2022's bulletin (the invasion spike): out on Wednesday 9 Mar, not before.
    monday = (eu["period"] == pd.Timestamp("2022-03-07")).to_numpy()
    assert published[monday].iloc[0] == pd.Timestamp("2022-03-09")
