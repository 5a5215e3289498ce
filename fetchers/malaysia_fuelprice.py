"""Malaysia weekly pump prices from data.gov.my (dataset `fuelprice`), MYR per litre.

data.gov.my publishes the whole weekly series as one CSV (`storage.data.gov.my/commodities/
fuelprice.csv`, the catalogue's download of dataset `fuelprice`), so a refresh is one conditional
GET. Columns `series_type, date, ron95, ron97, diesel, diesel_eastmsia, ron95_budi95`; only
`series_type = level` rows are prices (`change_weekly` rows are week-on-week differences). Stored:
ron95 → fuel_gasoline_retail, diesel (Peninsular) → fuel_diesel_retail, for MYS. A row's
`date` is the Thursday the week's price takes effect; the Ministry of Finance announces it the
evening before, so `published_at` = the date (`PUBLICATION_LAG` 0: public by the day it applies;
the file itself records no publication date). The bundled
snapshot (scripts/snapshot_parts/malaysia_fuelprice.py) applies the same rule.
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

SOURCE = "malaysia_fuelprice"
# Announced on the Wednesday for the Thursday of `date`: public by the day the price applies.
PUBLICATION_LAG = pd.Timedelta(days=0)
DEFAULT_URL = "https://storage.data.gov.my/commodities/fuelprice.csv"
COUNTRY = "MYS"
UNIT = "MYR/litre"
LEVEL = "level"
COLUMNS: Mapping[str, str] = {"ron95": "fuel_gasoline_retail", "diesel": "fuel_diesel_retail"}


def parse_fuelprice_csv(body: bytes) -> list[tuple[str, dt.date, float]]:
    """Parse the `fuelprice` CSV into price levels.

    Args:
        body: the raw CSV.

    Returns:
        `(indicator id, date, MYR per litre)` of the `level` rows; an empty cell has no row.

    Raises:
        BadPayload: an empty body, a body cut mid-line, missing columns or an unparsable date
            (changed schema).
    """
    text = body.decode("utf-8-sig", errors="replace")
    if not text.strip():
        raise BadPayload(SOURCE, "fuelprice.csv came back empty", kind="empty")
    if not text.endswith("\n"):
        raise BadPayload(SOURCE, "fuelprice.csv stops mid-line (truncated)", kind="truncated")
    reader = csv.reader(io.StringIO(text))
    header = [name.strip() for name in next(reader, [])]
    missing = [name for name in ("series_type", "date", *COLUMNS) if name not in header]
    if missing:
        raise BadPayload(SOURCE, f"fuelprice.csv is missing the column(s) {', '.join(missing)} "
                                 "(schema changed?)", kind="schema")
    position = {name: header.index(name) for name in ("series_type", "date", *COLUMNS)}
    rows: list[tuple[str, dt.date, float]] = []
    for line_number, cells in enumerate(reader, start=2):
        if not cells:
            continue
        if len(cells) != len(header):
            raise BadPayload(SOURCE, f"line {line_number} has {len(cells)} fields, expected "
                                     f"{len(header)} (truncated?)", kind="truncated")
        if cells[position["series_type"]].strip() != LEVEL:
            continue
        try:
            day = dt.date.fromisoformat(cells[position["date"]].strip())
        except ValueError as error:
            raise BadPayload(SOURCE, f"line {line_number}: date {cells[position['date']]!r} is "
                                     "not YYYY-MM-DD (schema changed?)", kind="schema") from error
        for column, indicator in COLUMNS.items():
            value = _price(cells[position[column]])
            if value is not None:
                rows.append((indicator, day, value))
    return rows


def _price(raw: str) -> float | None:
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


class MalaysiaFuelpriceFetcher(BaseFetcher):
    """Weekly RON95 and diesel pump prices in Malaysia (Peninsular)."""

    name: ClassVar[str] = SOURCE
    also_serves: ClassVar[tuple[str, ...]] = tuple(COLUMNS.values())

    def extract(self, request: FetchRequest, session: requests.Session) -> Extracted:
        """One conditional GET of the CSV (`base_url` is the full URL).

        Args:
            request: settings and the stored validator.
            session: the injected session.

        Returns:
            The body, or `not_modified` on HTTP 304.

        Raises:
            FetchError: transport, status or HTML-page failures.
        """
        return fetch_whole_file(
            request, session, source=SOURCE, default_url=DEFAULT_URL, validator_key="fuelprice.csv"
        )

    def transform(self, payloads: Sequence[Any], request: FetchRequest) -> Transformed:
        """MYS observations of the requested fuel indicators.

        Args:
            payloads: raw bodies (bytes).
            request: indicators and `now`.

        Returns:
            Weekly prices in MYR/litre.

        Raises:
            BadPayload: see `parse_fuelprice_csv`; a file without any level row is empty.
        """
        return one_country_prices(
            payloads,
            request,
            source=SOURCE,
            country=COUNTRY,
            parse=parse_fuelprice_csv,
            served=COLUMNS.values(),
            empty_what="fuelprice.csv has no price level of a requested fuel",
            publication_lag=PUBLICATION_LAG,
            unit=UNIT,
        )
