"""Snapshot part: Nigeria NBS price watch national averages (diesel, LPG refill, kerosene), NGN."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

DIR = "fuel-prices-world/nigeria-nbs"
# file → (sheet, catalogue id, unit)
SHEETS = {
    f"{DIR}/DIESEL_JUNE_2015-DECEMBER_2022.xlsx": (
        "Diesel JUN 2015 - DECEMBER 2022", "fuel_diesel_retail", "NGN/litre"),
    f"{DIR}/GAS_PRICE_WATCH_DECEMBER_2022.xlsx": (
        "GAS 12.5Kg ", "fuel_lpg_retail", "NGN/12.5 kg refill"),
    f"{DIR}/HOUSEHOLD_KEROSENE_JAN_2015-DEC_2022.xlsx": (
        "Litre of Kerosene", "fuel_kerosene_retail", "NGN/litre"),
}
# A price watch is a survey average over the month (not a price announced for a day), so a month
# is public only after it ends, once NBS releases it. The workbooks record no release date; news
# reports of the releases put them 16-25 days after the month (Dec 2021 by 20 Jan 2022, Aug 2022
# on Fri 16 Sep, Sep 2022 by 25 Oct, Oct 2022 by 23 Nov, Jan 2023 by 22 Feb, Jan 2024 on 21 Feb).
# The largest is taken, so a replay never sees a month before its release; no fetcher serves NBS,
# so the lag lives here. Earlier years (2015-2021) could not be dated and may have been later.
PUBLICATION_LAG_AFTER_MONTH = pd.Timedelta(days=25)


def _national_average(path: Path, sheet: str) -> tuple[pd.Series, pd.Series]:
    """NBS's own AVERAGE row (mean over the 36 states and FCT) against the month headers."""
    grid = pd.read_excel(path, sheet_name=sheet, header=None, engine="openpyxl")
    labels = grid.iloc[:, 0].astype(str).str.strip().str.upper()
    header_rows = grid.index[labels.isin(["STATELABEL", "STATE LABEL"])]
    average_rows = grid.index[labels == "AVERAGE"]
    if len(header_rows) != 1 or len(average_rows) != 1:
        raise ValueError(f"{path.name} {sheet!r}: no single header / AVERAGE row")
    header, average = grid.loc[header_rows[0]], grid.loc[average_rows[0]]
    months = [position for position, cell in enumerate(header)
              if isinstance(cell, pd.Timestamp) or hasattr(cell, "year")]
    # Some header dates are the 2nd of the month (2022-09-02): the period is the month.
    days = pd.Series([pd.Timestamp(header.iloc[position]).strftime("%Y-%m-01")
                      for position in months])
    values = pd.to_numeric(pd.Series([average.iloc[position] for position in months]),
                           errors="coerce").astype("float64")
    return days, values


def build(kit: ModuleType, data_dir: Path) -> pd.DataFrame:
    parts = []
    for path, (sheet, indicator, unit) in SHEETS.items():
        days, values = _national_average(data_dir / path, sheet)
        published = kit.published_after(kit.month_end(days), PUBLICATION_LAG_AFTER_MONTH)
        parts.append(kit.frame(indicator, "NGA", days, values, unit, "nigeria-nbs",
                               published_at=published))
    return pd.concat(parts, ignore_index=True)


def part_datasets(kit: ModuleType) -> tuple[Any, ...]:
    return (
        kit.PartDataset(
            name="nigeria-nbs",
            inputs=tuple(SHEETS),
            origin=(
                "github.com/zalihat/Nigerian-Price-Watch DataPreprocessing/ (NBS price-watch "
                "workbooks; spaces in names → _)"
            ),
            commit="ea92bced3e2e08e87976f1d5f8d8a6bc810dd547",
            licence=(
                "no explicit open licence (National Bureau of Statistics Nigeria; attribute NBS)"
            ),
            attribution=(
                "National Bureau of Statistics, Nigeria (nigerianstat.gov.ng), price watch."
            ),
            rules=(
                "STATIC source. NBS's own AVERAGE row (36 states + FCT) per month, dated the 1st: "
                "diesel (AGO) 2015-06 → 2022-12 → fuel_diesel_retail (NGN/litre); 12.5 kg LPG "
                "cylinder refill 2016-01 → 2022-12 → fuel_lpg_retail in NGN per refill (the sheet "
                "says '10kg or 12.5kg', so no per-kg conversion); household kerosene per litre "
                "2015-07 → 2022-12 → fuel_kerosene_retail. No petrol (PMS) series exists in the "
                "data: Nigeria's May 2023 subsidy removal is not covered. "
                "published_at = the month's last day + 25 days (estimate: NBS releases a "
                "month's price watch 16-25 days after it ends; the files record no release "
                "date)."
            ),
            build=lambda data_dir: build(kit, data_dir),
        ),
    )
