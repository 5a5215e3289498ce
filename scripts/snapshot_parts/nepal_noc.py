"""Snapshot part: Nepal Oil Corporation official price revisions (step series), NPR."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

FILE = "fuel-prices-world/nepal-noc/nocl_price_archive.csv"
COLUMNS = {
    "Petrol": ("fuel_gasoline_retail", "NPR/litre"),
    "Diesel": ("fuel_diesel_retail", "NPR/litre"),
    "Kerosene": ("fuel_kerosene_retail", "NPR/litre"),
    # The archive gives the price of one domestic cylinder, not per kg; the weight is not in
    # the file, so the unit says what the number is.
    "LPG": ("fuel_lpg_retail", "NPR/cylinder"),
}


def build(kit: ModuleType, data_dir: Path) -> pd.DataFrame:
    raw = pd.read_csv(data_dir / FILE, dtype=str, keep_default_na=False)
    raw.columns = [name.strip() for name in raw.columns]
    # Two columns are named "Effective date": Bikram Sambat first, Gregorian second.
    gregorian = raw.iloc[:, 1].str.replace(" ", "", regex=False)  # one cell reads "2012 .03.26"
    days = kit.iso_day(gregorian.str.replace(".", "-", regex=False))
    # Official revisions, announced by NOC on or before the effective date (the archive gives
    # its time too): a revision is public on its effective date, so no lag.
    parts = []
    for column, (indicator, unit) in COLUMNS.items():
        values = kit.to_number(raw[column].str.replace(",", "", regex=False))
        parts.append(kit.frame(indicator, "NPL", days, values, unit, "nepal-noc",
                               published_at=days))
    frame = pd.concat(parts, ignore_index=True)
    # A revision on the same day as another keeps the later row of the file.
    return frame.drop_duplicates(["indicator", "country", "period"], keep="last")


def part_datasets(kit: ModuleType) -> tuple[Any, ...]:
    return (
        kit.PartDataset(
            name="nepal-noc",
            inputs=(FILE,),
            origin="github.com/prameshpudasaini/petroleum-price nocl_price_archive.csv",
            commit="7638d0b7f2012e91cd3ad48dee472ba803c9d622",
            licence="no explicit licence (Nepal Oil Corporation public price archive)",
            attribution="Nepal Oil Corporation (noc.org.np), official price revisions.",
            rules=(
                "STATIC source (no stable URL). One row per official revision, dated by the "
                "Gregorian 'Effective date' (second column): Petrol → fuel_gasoline_retail, "
                "Diesel → fuel_diesel_retail, Kerosene → fuel_kerosene_retail (NPR/litre), LPG → "
                "fuel_lpg_retail in NPR per domestic cylinder (the file has no weight, so no "
                "per-kg conversion); thousands separators removed; empty = no revision of that "
                "product; "
                "ATF not bundled. A step series: the price holds until the next revision. "
                "published_at = the effective date."
            ),
            build=lambda data_dir: build(kit, data_dir),
        ),
    )
