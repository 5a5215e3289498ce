"""Snapshot part: New Zealand MBIE weekly fuel price monitoring (board prices), NZD per litre."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

# The live fetcher's lag (the week's date + 5 days), imported so the two cannot drift apart.
from fetchers.nz_mbie import PUBLICATION_LAG

FILE = "fuel-prices-world/nz-mbie/weekly-table.csv"
FUELS = {"Regular Petrol": "fuel_gasoline_retail", "Diesel": "fuel_diesel_retail"}


def build(kit: ModuleType, data_dir: Path) -> pd.DataFrame:
    raw = kit.read_text_csv(data_dir / FILE)
    board = raw[(raw["Variable"] == "Board price") & raw["Fuel"].isin(list(FUELS))]
    units = set(board["Unit"])
    if units != {"NZD c/L"}:
        raise ValueError(f"unexpected NZ board-price units {sorted(units)}")
    days = kit.iso_day(board["Date"])
    return kit.frame(
        board["Fuel"].map(FUELS),
        "NZL",
        days,
        kit.to_number(board["Value"], missing=("", "NA")) / 100,
        "NZD/litre",
        "nz-mbie",
        published_at=kit.published_after(days, PUBLICATION_LAG),
    )


def part_datasets(kit: ModuleType) -> tuple[Any, ...]:
    return (
        kit.PartDataset(
            name="nz-mbie",
            inputs=(FILE,),
            origin=(
                "github.com/AndRayFS/nz-fuel-price-lag-analysis weekly-table.csv (MBIE weekly fuel "
                "price monitoring table, verbatim)"
            ),
            commit="03a146d84155788c85d8ece742177083d9815aba",
            licence="CC BY 4.0 (New Zealand Government open data, MBIE)",
            attribution="Ministry of Business, Innovation & Employment (NZ), weekly fuel prices.",
            rules=(
                "Continued live by the `nz_mbie` fetcher (same rule). Variable 'Board price' "
                "(the posted pump "
                "price; the discount-adjusted price is not bundled): 'Regular Petrol' → "
                "fuel_gasoline_retail, 'Diesel' → fuel_diesel_retail for NZL, weekly 2004-04-23 → "
                "2026-07-17, NZD c/L ÷ 100 = NZD/litre; Final and Provisional weeks both kept. "
                "published_at = the week's date + 5 days (the fetcher's PUBLICATION_LAG: the "
                "table is reissued weekly with the previous week)."
            ),
            build=lambda data_dir: build(kit, data_dir),
        ),
    )
