"""Snapshot part: Malaysia weekly pump prices (data.gov.my `fuelprice`), MYR per litre."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

# The live fetcher's lag (0: announced the evening before the Thursday it applies), imported so
# the two cannot drift apart.
from fetchers.malaysia_fuelprice import PUBLICATION_LAG

FILE = "fuel-prices-world/malaysia-datagovmy/fuelprice.csv"
COLUMNS = {"ron95": "fuel_gasoline_retail", "diesel": "fuel_diesel_retail"}


def build(kit: ModuleType, data_dir: Path) -> pd.DataFrame:
    raw = kit.read_text_csv(data_dir / FILE)
    # `change_weekly` rows are week-on-week differences, not prices.
    level = raw[raw["series_type"] == "level"]
    days = kit.iso_day(level["date"])
    published = kit.published_after(days, PUBLICATION_LAG)
    return pd.concat(
        [
            kit.frame(indicator, "MYS", days, kit.to_number(level[column]), "MYR/litre",
                      "malaysia-fuelprice", published_at=published)
            for column, indicator in COLUMNS.items()
        ],
        ignore_index=True,
    )


def part_datasets(kit: ModuleType) -> tuple[Any, ...]:
    return (
        kit.PartDataset(
            name="malaysia-fuelprice",
            inputs=(FILE,),
            origin="github.com/nrhdyh/price_of_petroleum fuelprice.csv (data.gov.my `fuelprice`)",
            commit="e326766b48f2cd9c96509bbbb19265f516fbd836",
            licence="CC BY 4.0 (data.gov.my terms)",
            attribution="Ministry of Finance Malaysia, via data.gov.my (dataset `fuelprice`).",
            rules=(
                "Continued live by the `malaysia_fuelprice` fetcher (same rule). series_type "
                "'level' only (the 'change_weekly' rows are "
                "differences): ron95 → fuel_gasoline_retail, diesel (Peninsular) → "
                "fuel_diesel_retail for MYS, weekly 2017-03-30 → 2026-04-09, MYR/litre. RON97, "
                "East-Malaysia diesel and the targeted BUDI95 price are not bundled. "
                "published_at = the date (the fetcher's PUBLICATION_LAG, 0: announced the "
                "evening before)."
            ),
            build=lambda data_dir: build(kit, data_dir),
        ),
    )
