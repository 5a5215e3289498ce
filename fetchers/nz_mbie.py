"""New Zealand MBIE weekly fuel price monitoring (`weekly-table.csv`): board prices, NZD/litre.

MBIE republishes the whole weekly table since 2004 as one CSV every week, so a refresh is one
conditional GET (an unchanged file costs a 304). The table is long: `Week, Date, Fuel, Variable,
Value, Unit, Status`. Stored: `Variable = "Board price"` (the posted pump price) of
`Regular Petrol` → fuel_gasoline_retail and `Diesel` → fuel_diesel_retail, NZD c/L ÷ 100 =
NZD/litre, for NZL; `Provisional` weeks are stored too (a later `Final` value is a revision).
The table records no publication date: `published_at` = the week's date + `PUBLICATION_LAG`.
The bundled snapshot (scripts/snapshot_parts/nz_mbie.py) applies the same rule.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import pandas as pd
import requests

from fetchers.base import BaseFetcher, Extracted, FetchRequest, Transformed
from fetchers.errors import BadPayload
from fetchers.single_file import fetch_whole_file, one_country_prices

SOURCE = "nz_mbie"
# MBIE reissues the table each week with the previous week's data; the recorded copy (saved
# 22 Jul 2026) already held the week dated Friday 17 Jul 2026, so 5 days after a week's date
# the week is public.
PUBLICATION_LAG = pd.Timedelta(days=5)
DEFAULT_URL = (
    "https://www.mbie.govt.nz/assets/Data-Files/Energy/Weekly-fuel-price-monitoring/"
    "weekly-table.csv"
)
COUNTRY = "NZL"
UNIT = "NZD/litre"
VARIABLE = "Board price"
SOURCE_UNIT = "NZD c/L"
FUELS: Mapping[str, str] = {
    "Regular Petrol": "fuel_gasoline_retail",
    "Diesel": "fuel_diesel_retail",
}
COLUMNS = ("Date", "Fuel", "Variable", "Value", "Unit")


def parse_weekly_table(body: bytes) -> list[tuple[str, dt.date, float]]:
    """Parse `weekly-table.csv` into board prices.

    Args:
        body: the raw CSV.

    Returns:
        `(indicator id, week date, NZD per litre)` for the mapped fuels; an empty or `NA` value
        has no row (never zero).

    Raises:
        BadPayload: an empty body, a body cut mid-line, missing columns, a board price in another
            unit than NZD c/L, or a date that does not parse (changed schema).
    """
    text = body.decode("utf-8-sig", errors="replace")
    if not text.strip():
        raise BadPayload(SOURCE, "weekly-table.csv came back empty", kind="empty")
    if not text.endswith("\n"):
        raise BadPayload(SOURCE, "weekly-table.csv stops mid-line (truncated)", kind="truncated")
    reader = csv.reader(io.StringIO(text))
    header = [name.strip() for name in next(reader, [])]
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        raise BadPayload(SOURCE, f"weekly-table.csv is missing the column(s) {', '.join(missing)}"
                                 " (schema changed?)", kind="schema")
    index = {name: header.index(name) for name in COLUMNS}
    rows: list[tuple[str, dt.date, float]] = []
    for line_number, cells in enumerate(reader, start=2):
        if not cells:
            continue
        if len(cells) != len(header):
            raise BadPayload(SOURCE, f"line {line_number} has {len(cells)} fields, expected "
                                     f"{len(header)} (truncated?)", kind="truncated")
        indicator = FUELS.get(cells[index["Fuel"]].strip())
        if indicator is None or cells[index["Variable"]].strip() != VARIABLE:
            continue
        unit = cells[index["Unit"]].strip()
        if unit != SOURCE_UNIT:
            raise BadPayload(SOURCE, f"line {line_number}: board price in {unit!r}, expected "
                                     f"{SOURCE_UNIT!r} (schema changed?)", kind="schema")
        try:
            day = dt.date.fromisoformat(cells[index["Date"]].strip())
        except ValueError as error:
            raise BadPayload(SOURCE, f"line {line_number}: date {cells[index['Date']]!r} is not "
                                     "YYYY-MM-DD (schema changed?)", kind="schema") from error
        value = _cents(cells[index["Value"]])
        if value is not None:
            rows.append((indicator, day, value / 100))
    return rows


def _cents(raw: str) -> float | None:
    try:
        value = float(raw.strip())
    except ValueError:
        return None  # "NA" or empty: missing
    return value if math.isfinite(value) and value > 0 else None


class NzMbieFetcher(BaseFetcher):
    """Weekly board prices of regular petrol and diesel in New Zealand."""

    name: ClassVar[str] = SOURCE
    also_serves: ClassVar[tuple[str, ...]] = tuple(FUELS.values())

    def extract(self, request: FetchRequest, session: requests.Session) -> Extracted:
        """One conditional GET of the table (`base_url` is the full URL).

        Args:
            request: settings and the stored validator.
            session: the injected session.

        Returns:
            The body, or `not_modified` on HTTP 304.

        Raises:
            FetchError: transport, status or HTML-page failures.
        """
        return fetch_whole_file(
            request,
            session,
            source=SOURCE,
            default_url=DEFAULT_URL,
            validator_key="weekly-table.csv",
        )

    def transform(self, payloads: Sequence[Any], request: FetchRequest) -> Transformed:
        """NZL observations of the requested fuel indicators.

        Args:
            payloads: raw bodies (bytes).
            request: indicators and `now`.

        Returns:
            Weekly board prices in NZD/litre.

        Raises:
            BadPayload: see `parse_weekly_table`; a table without any board price is empty.
        """
        return one_country_prices(
            payloads,
            request,
            source=SOURCE,
            country=COUNTRY,
            parse=parse_weekly_table,
            served=FUELS.values(),
            empty_what="weekly-table.csv has no board price of a requested fuel",
            publication_lag=PUBLICATION_LAG,
            unit=UNIT,
        )
