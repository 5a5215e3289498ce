"""Snapshot part: EU Weekly Oil Bulletin retail prices, EU-27 2005-2024 and the UK 2015-2020."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

# The live fetcher's lag (Monday + 2 days), imported so the bundled and the fetched bulletins
# become visible on the same day.
from fetchers.eu_oil_bulletin import PUBLICATION_LAG

DIR = "fuel-prices-world/eu-weekly-oil-bulletin"
EU_FILE = f"{DIR}/fuel_price_EU_2005-2024.csv"
WOB_FILE = f"{DIR}/wob_full_2015-2024_converted.csv"
UNIT = "EUR/litre"
# Column of the EU-27 file (EUR per litre with taxes) → catalogue id; heavy fuel oil (EUR/t) is
# not a retail price and is left out.
EU_COLUMNS = {
    "pb95": "fuel_gasoline_retail",
    "diesel": "fuel_diesel_retail",
    "lpg": "fuel_lpg_retail",
    "heating_gasoil": "fuel_heating_oil_retail",
}
WOB_PRODUCTS = {
    "Euro-super 95": "fuel_gasoline_retail",
    "Automotive gas oil": "fuel_diesel_retail",
    "LPG - motor fuel": "fuel_lpg_retail",
    "Heating gas oil": "fuel_heating_oil_retail",
}
# EU country codes → ISO3 (Greece is EL in the EU file).
EU_CODES = {
    "AT": "AUT", "BE": "BEL", "BG": "BGR", "CY": "CYP", "CZ": "CZE", "DE": "DEU", "DK": "DNK",
    "EE": "EST", "EL": "GRC", "GR": "GRC", "ES": "ESP", "FI": "FIN", "FR": "FRA", "HR": "HRV",
    "HU": "HUN", "IE": "IRL", "IT": "ITA", "LT": "LTU", "LU": "LUX", "LV": "LVA", "MT": "MLT",
    "NL": "NLD", "PL": "POL", "PT": "PRT", "RO": "ROU", "SE": "SWE", "SI": "SVN", "SK": "SVK",
}
LICENCE = (
    "European Commission Weekly Oil Bulletin: reuse permitted (Commission Decision 2011/833/EU), "
    "CC BY 4.0"
)
ATTRIBUTION = "European Commission, DG ENER, Weekly Oil Bulletin (prices with taxes)."


def build_eu(kit: ModuleType, data_dir: Path) -> pd.DataFrame:
    raw = kit.read_text_csv(data_dir / EU_FILE)
    unknown = sorted(set(raw["country_code"]) - set(EU_CODES))
    if unknown:
        raise ValueError(f"unknown EU country codes {unknown}")
    days = kit.iso_day(raw["date"])
    parts = []
    for column, indicator in EU_COLUMNS.items():
        value = kit.to_number(raw[column], missing=("", "NA"))
        # A few weeks read 0 (heating oil BG/NL, one DK LPG week): no price, not a free fuel.
        value = value.where(value > 0)
        parts.append(
            kit.frame(
                indicator,
                raw["country_code"].map(EU_CODES),
                days,
                value,
                UNIT,
                "eu-oil-bulletin",
                published_at=kit.published_after(days, PUBLICATION_LAG),
            )
        )
    return pd.concat(parts, ignore_index=True)


def build_uk(kit: ModuleType, data_dir: Path) -> pd.DataFrame:
    raw = kit.read_text_csv(data_dir / WOB_FILE)
    uk = raw[(raw["Country EU Code"] == "UK") & raw["Product Name"].isin(list(WOB_PRODUCTS))
             & (raw["Prices Unit"] == "1000L")]
    # EUR per 1000 litres whatever `Currency Code` says (GBP): the PROVENANCE trap.
    value = kit.to_number(uk["Weekly price with taxes"].str.replace(",", "", regex=False)) / 1000
    days = kit.iso_day(uk["Prices in force on"])
    return kit.frame(
        uk["Product Name"].map(WOB_PRODUCTS),
        "GBR",
        days,
        value,
        UNIT,
        "eu-oil-bulletin-uk",
        published_at=kit.published_after(days, PUBLICATION_LAG),
    )


def part_datasets(kit: ModuleType) -> tuple[Any, ...]:
    return (
        kit.PartDataset(
            name="eu-oil-bulletin",
            inputs=(EU_FILE,),
            extra_inputs=("fuel-prices-world/PROVENANCE.md",),
            origin=(
                "github.com/Vosbrucke/Fuel_prices_in_europe Data/fuel_price_EU.csv (a tidy copy of "
                "the Commission's Weekly Oil Bulletin price history; renamed)"
            ),
            commit="41186e2138bf5ce3135caeed669d3a8438d3333c",
            licence=LICENCE,
            attribution=ATTRIBUTION,
            rules=(
                "Continued live by the `eu_oil_bulletin` fetcher. EU-27, weekly "
                "Mondays 2005-01-03 → 2024-07-01, prices with taxes in EUR/litre: pb95 → "
                "fuel_gasoline_retail, diesel → fuel_diesel_retail, lpg → fuel_lpg_retail, "
                "heating_gasoil → fuel_heating_oil_retail; heavy fuel oil (EUR/t) not bundled; "
                "'NA' and 0 (124 weeks: heating oil BG/NL, one DK LPG week) = missing → no row. "
                "Country EL → GRC. published_at = the Monday + 2 days (the fetcher's "
                "PUBLICATION_LAG: a bulletin is out within a day or two)."
            ),
            build=lambda data_dir: build_eu(kit, data_dir),
        ),
        kit.PartDataset(
            name="eu-oil-bulletin-uk",
            inputs=(WOB_FILE,),
            origin=(
                "github.com/the-Hull/weekly_oil_bulletin data/db/wob_full.rds (the Commission's "
                "per-bulletin raw-data tables, concatenated), converted to CSV, values unchanged"
            ),
            commit="d9c3c4f3373cdc29527a2621f020940f481737f3",
            licence=LICENCE,
            attribution=ATTRIBUTION,
            rules=(
                "STATIC source. United Kingdom only (the EU-27 come from eu-oil-bulletin), weekly "
                "2015-01-12 → 2020-12-21: Euro-super 95, Automotive gas oil, LPG - motor fuel, "
                "Heating gas oil with taxes; the table's price is EUR per 1000 L for every "
                "country although `Currency Code` says GBP, so value = price / 1000 EUR/litre. "
                "published_at = the Monday + 2 days (the `eu_oil_bulletin` fetcher's lag)."
            ),
            build=lambda data_dir: build_uk(kit, data_dir),
        ),
    )
