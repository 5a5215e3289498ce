"""Snapshot part: South African regulated fuel prices (DMRE, via {saffer}), ZAR per litre / kg."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

DIR = "fuel-prices-world/south-africa-dmre"
FILE = f"{DIR}/fuel-price.csv"
# (zone, grade) → (catalogue id, unit after ÷ 100). The longest series of each product.
SERIES = {
    ("coastal", "95 ULP"): ("fuel_gasoline_retail", "ZAR/litre"),
    ("inland", "Diesel 0.05%"): ("fuel_diesel_retail", "ZAR/litre"),
    ("inland", "Illuminating Paraffin"): ("fuel_kerosene_retail", "ZAR/litre"),
    ("inland", "Liquefied Petroleum Gas"): ("fuel_lpg_retail", "ZAR/kg"),
}
WEDNESDAY = 2  # pandas day_of_week numbering, Monday = 0
MONTHS = {name: number for number, name in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], start=1)}


def build(kit: ModuleType, data_dir: Path) -> pd.DataFrame:
    raw = pd.read_csv(data_dir / FILE, header=[0, 1], dtype=str, keep_default_na=False)
    zones = [str(zone).strip() for zone, _grade in raw.columns]
    grades = [str(grade).strip() for _zone, grade in raw.columns]
    positions = {(zone, grade): index for index, (zone, grade) in enumerate(zip(zones, grades,
                                                                               strict=True))}
    year = raw.iloc[:, 0].str.strip()
    month = raw.iloc[:, 1].str.strip().map(MONTHS)
    if month.isna().any():
        raise ValueError("unknown month names in the South African file")
    # `day` = the day the adjustment took effect; blank for some months → the 1st.
    given = raw.iloc[:, 2].str.strip()
    day = given.replace("", "1")
    dates = pd.to_datetime(
        year + "-" + month.astype(int).astype(str) + "-" + day, format="%Y-%m-%d"
    )
    days = dates.dt.strftime("%Y-%m-%d")
    # Regulated prices are announced by the department days before they take effect: public by
    # the adjustment day, no lag. A blank day (2001-12 → 2011-12) is not the 1st, though: the
    # adjustments take effect on the month's first Wednesday (203 of the 206 dated rows since
    # 1995 are one), so the row, dated the 1st, is visible only from that Wednesday: never before
    # its price was.
    first_wednesday = dates + pd.to_timedelta((WEDNESDAY - dates.dt.day_of_week) % 7, unit="D")
    published = days.where(given != "", first_wednesday.dt.strftime("%Y-%m-%d"))
    parts = []
    for key, (indicator, unit) in SERIES.items():
        cents = kit.to_number(raw.iloc[:, positions[key]])
        parts.append(kit.frame(indicator, "ZAF", days, cents / 100, unit, "south-africa-dmre",
                               published_at=published))
    return pd.concat(parts, ignore_index=True)


def part_datasets(kit: ModuleType) -> tuple[Any, ...]:
    return (
        kit.PartDataset(
            name="south-africa-dmre",
            inputs=(FILE,),
            extra_inputs=(f"{DIR}/LICENSE.md",),
            origin="github.com/datawookie/saffer data-raw/fuel-price.csv (R package {saffer})",
            commit="7d6f5a63593fb19e1b3542b8ed806b892d0e3637",
            licence=(
                "DMRE published regulated prices (public information); {saffer} packaging MIT "
                "(LICENSE.md copied)"
            ),
            attribution=(
                "Department of Mineral Resources and Energy (energy.gov.za) regulated fuel prices, "
                "compiled by the {saffer} R package (Andrew B. Collier)."
            ),
            rules=(
                "STATIC source. Monthly regulated prices, dated by the adjustment day (the 1st "
                "when `day` is blank): coastal 95 ULP → fuel_gasoline_retail, inland Diesel 0.05% "
                "→ fuel_diesel_retail, inland Illuminating Paraffin → fuel_kerosene_retail (SA "
                "cents per litre ÷ 100 = ZAR/litre), inland Liquefied Petroleum Gas → "
                "fuel_lpg_retail (cents per kg ÷ 100 = ZAR/kg); empty cells (series not yet or no "
                "longer published, rows after 2022-04) = missing → no row. published_at = the "
                "adjustment day (announced before it takes effect); for a blank `day` the "
                "month's first Wednesday, the regulated adjustment day."
            ),
            build=lambda data_dir: build(kit, data_dir),
        ),
    )
