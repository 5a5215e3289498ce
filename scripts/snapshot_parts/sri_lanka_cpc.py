"""Snapshot part: Ceylon Petroleum Corporation official price revisions, LKR per litre."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

FILE = "fuel-prices-world/sri-lanka-cpc/Historicl_Diesel_Price-_from_2010.xlsx"
COLUMNS = {"LP 92": "fuel_gasoline_retail", "LAD": "fuel_diesel_retail",
           "LK": "fuel_kerosene_retail"}
_DATE = re.compile(r"^(\d{2})\.(\d{2})\.(\d{4})")
# One cell reads "137.00.00" (a typo in the source, 11.05.2018): read as 137.00.
_DOUBLE_DECIMAL = re.compile(r"^(\d+\.\d+)\.0+$")


def _price(cell: Any) -> float | None:
    text = str(cell).strip()
    if text in ("", "nan", "None", "-"):
        return None
    text = _DOUBLE_DECIMAL.sub(r"\1", text)
    return float(text)


def build(kit: ModuleType, data_dir: Path) -> pd.DataFrame:
    raw = pd.read_excel(data_dir / FILE, sheet_name="Diesel Prices", dtype=str,
                        engine="openpyxl")
    raw.columns = [str(name).strip() for name in raw.columns]
    dates = raw["Date"].astype(str).str.strip()
    parsed = dates.str.extract(_DATE)
    if parsed.isna().any().any():
        raise ValueError(f"unparsable CPC dates: {sorted(dates[parsed[0].isna()])[:3]}")
    days = parsed[2] + "-" + parsed[1] + "-" + parsed[0]  # "17.10.2022(9.00 PM)" → 2022-10-17
    # Official revisions, announced on or before the day they take effect (17.10.2022 from
    # 9 pm that day): public on that date, so no lag.
    parts = []
    for column, indicator in COLUMNS.items():
        values = pd.Series([_price(cell) for cell in raw[column]], dtype="float64")
        parts.append(kit.frame(indicator, "LKA", days, values, "LKR/litre", "sri-lanka-cpc",
                               published_at=days))
    frame = pd.concat(parts, ignore_index=True)
    # The 13.06.2018 revision appears twice: keep one row per product and date (the later one).
    return frame.drop_duplicates(["indicator", "country", "period"], keep="last")


def part_datasets(kit: ModuleType) -> tuple[Any, ...]:
    return (
        kit.PartDataset(
            name="sri-lanka-cpc",
            inputs=(FILE,),
            origin=(
                "github.com/DVIlangamge/Paddy-Price-Track-Dashboard "
                "Historicl_Diesel_Price-_from_2010.xlsx (CPC historical prices; name as in repo)"
            ),
            commit="7689647970a4160ecc231bae91eeeb6b2633d1cb",
            licence="no explicit licence (Ceylon Petroleum Corporation published prices)",
            attribution="Ceylon Petroleum Corporation (ceypetco.gov.lk), historical fuel prices.",
            rules=(
                "STATIC source (no stable URL). One row per official revision (91, 2011-04-01 → "
                "2025-10-01), dated DD.MM.YYYY (a time suffix ignored): LP 92 → "
                "fuel_gasoline_retail, LAD (auto diesel) → fuel_diesel_retail, LK (kerosene) → "
                "fuel_kerosene_retail, LKR/litre. The '137.00.00' typo reads 137.00; the "
                "duplicated 13.06.2018 row is kept once. Step series; published_at = the date."
            ),
            build=lambda data_dir: build(kit, data_dir),
        ),
    )
