"""Snapshot part: US regular gasoline retail (EIA, FRED GASREGW), in USD per litre."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

from fetchers.fred import COUNTRY_SERIES

DIR = "fuel-prices-world/us-eia-fred"
WEEKLY = f"{DIR}/GASREGW_weekly_1990-2024.csv"
MONTHLY = f"{DIR}/GASREGW_monthly_1990-2026.csv"
LITRES_PER_US_GALLON = 3.785411784  # the live FRED fetcher converts the same way
# The live `fred` fetcher's lag for GASREGW (EIA's Monday survey is out by Tuesday), imported so
# the two cannot drift apart.
PUBLICATION_LAG = COUNTRY_SERIES["GASREGW"].publication_lag


def build(kit: ModuleType, data_dir: Path) -> pd.DataFrame:
    weekly = kit.read_text_csv(data_dir / WEEKLY)
    monthly = kit.read_text_csv(data_dir / MONTHLY)
    weekly_days = kit.iso_day(weekly["DATE"])
    monthly_days = kit.iso_day(monthly["observation_date"])
    # Monthly averages only after the last weekly value: the weekly series is the primary one.
    later = monthly_days > weekly_days.max()
    # A monthly average (dated the 1st) is complete once the month's last weekly survey is out:
    # the month's last day + the weekly lag at the latest, never its first day.
    monthly_published = kit.published_after(kit.month_end(monthly_days[later]), PUBLICATION_LAG)
    return pd.concat(
        [
            kit.frame("fuel_gasoline_retail", "USA", weekly_days,
                      kit.to_number(weekly["GASREGW"], missing=(".", "")) / LITRES_PER_US_GALLON,
                      "USD/litre", "us-gasoline",
                      published_at=kit.published_after(weekly_days, PUBLICATION_LAG)),
            kit.frame("fuel_gasoline_retail", "USA", monthly_days[later],
                      kit.to_number(monthly.loc[later, "GASREGW"], missing=(".", ""))
                      / LITRES_PER_US_GALLON,
                      "USD/litre", "us-gasoline", published_at=monthly_published),
        ],
        ignore_index=True,
    )


def part_datasets(kit: ModuleType) -> tuple[Any, ...]:
    return (
        kit.PartDataset(
            name="us-gasoline",
            inputs=(WEEKLY, MONTHLY),
            origin=(
                "FRED GASREGW downloads: github.com/ursulaGUO/ADSP31014_UnemploymentPrediction "
                "GASREGW.csv (weekly, commit a76737313f75c15e3b116327d54d55adda117a76) and "
                "github.com/24clarson/cs109b-data GASREGW.csv (monthly averages, commit "
                "d6101f16b19a9fa97b4def8f537373bc4bb66bc5)"
            ),
            commit="a76737313f75c15e3b116327d54d55adda117a76",
            licence="public domain (U.S. EIA data, via FRED)",
            attribution=(
                "U.S. Energy Information Administration, weekly retail gasoline prices, via FRED "
                "(Federal Reserve Bank of St. Louis), series GASREGW."
            ),
            rules=(
                "fuel_gasoline_retail for USA: weekly 1990-08-20 → 2024-12-02, then FRED's monthly "
                "averages 2025-01 → 2026-03 (only months after the last weekly value); USD per US "
                "gallon ÷ 3.785411784 = USD/litre (the live `fred` fetcher stores the same); '.' "
                "and empty = missing → no row. published_at = the Monday + 1 day for a week (the "
                "`fred` fetcher's GASREGW lag), the month's last day + 1 day for a monthly average "
                "(complete once the month's last week is out)."
            ),
            build=lambda data_dir: build(kit, data_dir),
        ),
    )
