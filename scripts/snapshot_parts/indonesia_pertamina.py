"""Snapshot part: Pertamina pump prices in DKI Jakarta around the 3 Sep 2022 hike, IDR/litre."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

FILE = "fuel-prices-world/indonesia-pertamina/data-master.csv"
# Pertalite (RON 90) is the subsidised mass-market gasoline, Bio Solar the subsidised diesel.
FUELS = {"Pertalite": "fuel_gasoline_retail", "Bio Solar": "fuel_diesel_retail"}
REGION = "DKI Jakarta"


def build(kit: ModuleType, data_dir: Path) -> pd.DataFrame:
    raw = kit.read_text_csv(data_dir / FILE)
    chosen = raw[raw["fuelType"].isin(list(FUELS)) & raw["prov"].str.contains(REGION)]
    if chosen.empty:
        raise ValueError(f"no {REGION} rows in {FILE}")
    # "Rp 7.650": the dot separates thousands.
    price = chosen["price"].str.replace("Rp", "", regex=False).str.replace(".", "", regex=False)
    days = pd.to_datetime(chosen["date"], format="%d-%m-%Y").dt.strftime("%Y-%m-%d")
    # Each date is a copy of Pertamina's public price page taken that day: the prices shown were
    # public (and in force) on it, so no lag.
    return kit.frame(chosen["fuelType"].map(FUELS), "IDN", days, kit.to_number(price),
                     "IDR/litre", "indonesia-pertamina", published_at=days)


def part_datasets(kit: ModuleType) -> tuple[Any, ...]:
    return (
        kit.PartDataset(
            name="indonesia-pertamina",
            inputs=(FILE,),
            origin="github.com/zakiego/dataset-daftar-harga-bbm-pertamina data-master.csv",
            commit="3ec2410935abd59c00e34b48abd800f4cb0826a1",
            licence="no explicit licence (Pertamina's published pump prices; repository code ISC)",
            attribution="PT Pertamina (mypertamina.id/fuels-harga), pump prices by province.",
            rules=(
                "STATIC source, three snapshots only (2022-08-03, 2022-09-01, 2022-09-03): DKI "
                "Jakarta rows, Pertalite → fuel_gasoline_retail (7,650 → 10,000 IDR on 3 Sep "
                "2022), Bio Solar → fuel_diesel_retail (3 Sep only), IDR/litre ('Rp 7.650' = 7650)."
                " Too sparse for a trend; it shows the 2022 step."
            ),
            build=lambda data_dir: build(kit, data_dir),
        ),
    )
