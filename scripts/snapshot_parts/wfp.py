"""Snapshot part: every WFP fuel and staple-food series of the bundled WFP market-price files.

The rows are built by the live fetcher's own code (`fetchers.wfp_layouts.parse_market_prices` and
`fetchers.wfp.national_series`), so a fresh install holds exactly what a refresh would store:
one national value per month (median over markets of one variety), one currency per country,
`actual` and `aggregate` segments as vintages `wfp` and `wfp:aggregate`.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

from fetchers.wfp import DEFAULT_PUBLICATION_LAG_DAYS, WfpFetcher, national_series
from fetchers.wfp_layouts import parse_market_prices

DATASET = "wfp"
HDX_COUNTRIES = ("AFG", "BGD", "CAF", "ETH", "GTM", "KEN", "LKA", "MMR", "PAK", "SOM", "TUR")
HDX_FILES = {iso: f"fuel-prices-world/wfp-hdx/wfp_food_prices_{iso.lower()}.csv"
             for iso in HDX_COUNTRIES}
VAM_FILES = {"LBN": "fuel-prices-world/wfp-vam/wfpvam_foodprices_LBN_2016-2021.csv"}
FILES = {**HDX_FILES, **VAM_FILES}


def _served(repo_root: Path) -> tuple[dict[str, str], set[str]]:
    """What the wfp source serves in the default config: id → catalogue unit, and the ids that
    are not monthly (dated at the month's end, as the fetcher does)."""
    from flashpoint.config import load_config

    catalogue = load_config(repo_root / "config.toml").catalogue()
    serves = set(WfpFetcher.also_serves)
    served = [item for item in catalogue.indicators if item.source == "wfp" or item.id in serves]
    return ({item.id: item.unit for item in served},
            {item.id for item in served if item.frequency != "monthly"})


def _build(kit: ModuleType, data_dir: Path) -> pd.DataFrame:
    wanted, month_end = _served(kit.REPO_ROOT)
    parts: list[pd.DataFrame] = []
    for country, relative in sorted(FILES.items()):
        prices = parse_market_prices((data_dir / relative).read_bytes(), country=country)
        rows = national_series(prices, country=country, wanted=wanted,
                               publication_lag_days=DEFAULT_PUBLICATION_LAG_DAYS,
                               dated_at_month_end=month_end).observations
        for vintage, group in rows.groupby("vintage", sort=True):
            parts.append(kit.frame(
                group["indicator"],
                country,
                group["period"].dt.strftime("%Y-%m-%d"),
                group["value"],
                group["unit"],
                DATASET,
                vintage=str(vintage),
                published_at=group["published_at"].dt.strftime("%Y-%m-%d"),
            ))
    return pd.concat(parts, ignore_index=True)


def part_datasets(kit: ModuleType) -> tuple[Any, ...]:
    """The WFP dataset (12 country files: 11 HDX, Lebanon's VAM export)."""
    return (
        kit.PartDataset(
            name=DATASET,
            inputs=tuple(FILES[iso] for iso in sorted(FILES)),
            origin=(
                "WFP market prices (HDX '<Country> - Food Prices' per-country CSVs, and a WFP "
                "VAM export for Lebanon), copied verbatim from public GitHub repositories, one "
                "per file: see data/SOURCES.md (fuel-prices-world) for each repository and path"
            ),
            commit="per file, in data/SOURCES.md",
            licence="CC-BY-IGO-3.0",
            attribution=(
                "World Food Programme (WFP), market prices via the Humanitarian Data Exchange "
                "(CC BY-IGO 3.0)."
            ),
            rules=(
                "fetchers.wfp.national_series, the live fetcher's rule: fuel (diesel, petrol/"
                "gasoline incl. 'Super Petrol' and '95 octane', kerosene, gas = LPG) → the generic "
                "fuel_*_retail ids; staples → food_price_<staple>. Forecast rows, placeholder "
                "dates (before 1980), wholesale and non-positive prices dropped; one currency "
                "per country (the file's most common: Somalia keeps SOS, drops Somaliland SLS); "
                "one variety and unit per series (retail first, then the most rows); prices per "
                "kg or litre (12 KG cylinder / 12, 20 L / 20, gallon / 3.785); per month the "
                "median over markets of each market's median. period = month start for the "
                "monthly food ids, month end for the daily-catalogued fuel ids; published_at = "
                "month end + 15 days (estimate: the files carry no publication date). WFP "
                "'actual' rows → vintage 'wfp', 'aggregate' → 'wfp:aggregate' (a series break)."
            ),
            build=lambda data_dir: _build(kit, data_dir),
        ),
    )
