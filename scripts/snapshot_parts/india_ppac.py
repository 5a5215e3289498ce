"""Snapshot part: India daily retail selling prices in Delhi (PPAC), INR per litre."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

DIR = "fuel-prices-world/india-ppac"
FILES = {f"{DIR}/Petrol.csv": "fuel_gasoline_retail", f"{DIR}/Diesel.csv": "fuel_diesel_retail"}


def build(kit: ModuleType, data_dir: Path) -> pd.DataFrame:
    parts = []
    for path, indicator in FILES.items():
        raw = kit.read_text_csv(data_dir / path)
        dated = raw[raw["Date"] != "NA"]  # the scraper lost six rows' dates: not guessed
        # Duplicated dates: the file is newest first, so the first row is the latest scrape.
        dated = dated.drop_duplicates("Date", keep="first")
        # Daily pricing: the oil companies announce each day's price before 6 am that day (PPAC's
        # sheet is of prices in force), so a row is public on its date: no lag.
        parts.append(kit.frame(indicator, "IND", kit.iso_day(dated["Date"]),
                               kit.to_number(dated["Delhi"]), "INR/litre", "india-ppac",
                               published_at=kit.iso_day(dated["Date"])))
    return pd.concat(parts, ignore_index=True)


def part_datasets(kit: ModuleType) -> tuple[Any, ...]:
    return (
        kit.PartDataset(
            name="india-ppac",
            inputs=tuple(FILES),
            origin=(
                "github.com/arungop/indiafuelprice data/Petrol.csv, data/Diesel.csv (scraped "
                "daily from PPAC's PP_9_a_DailyPriceMSHSD_Metro.pdf)"
            ),
            commit="92d403f4e9b2d7fa03237e03f2a5bc53d7bed1e2",
            licence="no explicit licence on PPAC data (Government of India public information)",
            attribution="Petroleum Planning & Analysis Cell (PPAC), Government of India.",
            rules=(
                "STATIC source (no stable machine-readable URL). Delhi column only (one metro per "
                "series, no mixing): Petrol.csv → fuel_gasoline_retail, Diesel.csv → "
                "fuel_diesel_retail for IND, daily 2017-06-16 → 2022-11-16, INR/litre; the six "
                "rows with Date 'NA' are dropped (not guessed); duplicated dates keep the first "
                "(newest) row; published_at = the date (prices are announced for that day)."
            ),
            build=lambda data_dir: build(kit, data_dir),
        ),
    )
