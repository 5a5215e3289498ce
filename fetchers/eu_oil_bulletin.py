"""EU Weekly Oil Bulletin (European Commission, DG ENER): weekly retail fuel prices, EU-27.

One file carries the whole history since 2005 and is replaced every week, so a refresh is one
conditional GET (ETag / Last-Modified; an unchanged file costs a 304). Two layouts are read, told
apart by the body itself:

- the **price-history workbook** (`Weekly_Oil_Bulletin_Prices_History_maticni_4web.xlsx`, the
  default URL). Sheet `Prices with taxes`; row 1 holds machine ids in one block per country
  (`CTR`, `AT_price_with_tax_euro95`, `AT_price_with_tax_diesel`, `…_heating_oil`,
  `…_fuel_oil_1`, `…_fuel_oil_2`, `…_LPG`), row 2 labels, row 3 units (`1000 l`), then one row
  per Monday, newest first, the date in the first cell;
- the bulletin's **raw-data table** (CSV), long: `Prices in force on, Country Name, Country EU
  Code, Product Name, Currency Code, Prices Unit, Euro exchange rate, Weekly price with taxes,
  Weekly price without taxes`.

Trap (both layouts): prices are **EUR per 1000 litres for every country**, whatever the
`Currency Code` column says (PLN, HUF, …), so the value stored is the price with taxes / 1000, in
EUR/litre. Heavy fuel oil (EUR per tonne) is not read. Aggregates (`EU`, `EUR`) are skipped; the
United Kingdom (in the bulletin until 2020) is kept as GBR. All countries in the file are stored,
watched or not: the file costs one request whatever its scope. Neither layout records when a
bulletin was published (only the Monday its prices were in force): `published_at` = that Monday +
`PUBLICATION_LAG`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import pandas as pd
import requests

from fetchers.base import BaseFetcher, Extracted, FetchRequest, Transformed
from fetchers.errors import BadPayload
from fetchers.single_file import fetch_whole_file
from indicators.observations import empty_observations
from indicators.pointintime import estimated_publication

SOURCE = "eu_oil_bulletin"
DEFAULT_URL = (
    "https://energy.ec.europa.eu/document/download/906e60ca-8b6a-44e7-8589-652854d2fd3f_en"
    "?filename=Weekly_Oil_Bulletin_Prices_History_maticni_4web.xlsx"
)
UNIT = "EUR/litre"
# The bulletin of a Monday's prices is out within a day or two (a copy of the history downloaded
# Tuesday 14 Apr 2026 held Monday 13 Apr's; one of Wednesday 3 Jan 2024 held Monday 1 Jan's, a
# holiday): 2 days after the Monday, so a replay never sees a bulletin before it was out.
PUBLICATION_LAG = pd.Timedelta(days=2)
LITRES_PER_PRICE_UNIT = 1000.0
HISTORY_SHEET = "Prices with taxes"

# The workbook's product slug / the raw table's product name → catalogue indicator.
PRODUCT_INDICATORS: Mapping[str, str] = {
    "euro95": "fuel_gasoline_retail",
    "diesel": "fuel_diesel_retail",
    "lpg": "fuel_lpg_retail",
    "heating_oil": "fuel_heating_oil_retail",
    "euro-super 95": "fuel_gasoline_retail",
    "automotive gas oil": "fuel_diesel_retail",
    "lpg - motor fuel": "fuel_lpg_retail",
    "heating gas oil": "fuel_heating_oil_retail",
}

# EU country codes (the bulletin's; Greece is EL in the raw table, GR in the workbook) → ISO3.
EU_CODES: Mapping[str, str] = {
    "AT": "AUT", "BE": "BEL", "BG": "BGR", "CY": "CYP", "CZ": "CZE", "DE": "DEU", "DK": "DNK",
    "EE": "EST", "EL": "GRC", "GR": "GRC", "ES": "ESP", "FI": "FIN", "FR": "FRA", "HR": "HRV",
    "HU": "HUN", "IE": "IRL", "IT": "ITA", "LT": "LTU", "LU": "LUX", "LV": "LVA", "MT": "MLT",
    "NL": "NLD", "PL": "POL", "PT": "PRT", "RO": "ROU", "SE": "SWE", "SI": "SVN", "SK": "SVK",
    "UK": "GBR", "GB": "GBR",
}
AGGREGATES = frozenset({"EU", "EUR", "EA"})

RAW_COLUMNS = {
    "date": "prices in force on",
    "code": "country eu code",
    "product": "product name",
    "unit": "prices unit",
    "price": "weekly price with taxes",
}
_MACHINE_ID = re.compile(r"^([A-Z]{2,3})_price_with_tax_([A-Za-z0-9_]+)$")
_ZIP_MAGIC = b"PK\x03\x04"

# Long rows before they become observations: (ISO3, indicator id, date, EUR/litre).
PriceRow = tuple[str, str, dt.date, float]


def _number(raw: Any) -> float | None:
    """A price cell as a float; empty, `N.A`, non-numeric or non-positive → None (never zero)."""
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        value = float(raw)
    else:
        text = str(raw).strip().replace(",", "")
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            return None
    return value if math.isfinite(value) and value > 0 else None


def _day(raw: Any) -> dt.date | None:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    text = str(raw or "").strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def parse_raw_table_csv(body: bytes) -> list[PriceRow]:
    """Parse the bulletin's long raw-data table (CSV).

    Args:
        body: the raw CSV (comma- or semicolon-separated; optional UTF-8 BOM).

    Returns:
        One row per country, product and week, price with taxes in EUR/litre (the table's
        `1000L` unit; the currency column is ignored, see the module docstring). Rows of other
        products, aggregates, unknown country codes and empty prices are left out.

    Raises:
        BadPayload: an empty body, a body cut mid-line, a header without the needed columns
            (changed schema), or a date that does not parse.
    """
    text = body.decode("utf-8-sig", errors="replace")
    if not text.strip():
        raise BadPayload(SOURCE, "the bulletin table came back empty", kind="empty")
    if not text.endswith("\n"):
        raise BadPayload(SOURCE, "the bulletin table stops mid-line (truncated)",
                         kind="truncated")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [name.strip().lower() for name in next(reader, [])]
    missing = [name for name in RAW_COLUMNS.values() if name not in header]
    if missing:
        raise BadPayload(SOURCE, f"the bulletin table is missing the column(s) "
                                 f"{', '.join(missing)} (schema changed?)", kind="schema")
    index = {key: header.index(name) for key, name in RAW_COLUMNS.items()}
    rows: list[PriceRow] = []
    for line_number, cells in enumerate(reader, start=2):
        if not cells or not any(cell.strip() for cell in cells):
            continue
        if len(cells) < len(header):
            raise BadPayload(SOURCE, f"line {line_number} has {len(cells)} fields, expected "
                                     f"{len(header)} (truncated?)", kind="truncated")
        indicator = PRODUCT_INDICATORS.get(cells[index["product"]].strip().lower())
        country = EU_CODES.get(cells[index["code"]].strip().upper())
        if indicator is None or country is None:
            continue
        if cells[index["unit"]].strip().replace(" ", "").lower() not in ("1000l", "1000litres"):
            continue
        day = _day(cells[index["date"]])
        if day is None:
            raise BadPayload(SOURCE, f"line {line_number}: date "
                                     f"{cells[index['date']]!r} does not parse (schema changed?)",
                             kind="schema")
        price = _number(cells[index["price"]])
        if price is not None:
            rows.append((country, indicator, day, price / LITRES_PER_PRICE_UNIT))
    return rows


def parse_history_workbook(body: bytes) -> list[PriceRow]:
    """Parse the price-history workbook's `Prices with taxes` sheet.

    Args:
        body: the raw XLSX bytes.

    Returns:
        Rows as in `parse_raw_table_csv` (EUR per 1000 l / 1000).

    Raises:
        BadPayload: a body that is not a complete XLSX (truncated), no `Prices with taxes`
            sheet or no machine-id header row (changed schema).
    """
    from openpyxl import load_workbook  # a dependency of the project; imported when needed

    try:
        book = load_workbook(io.BytesIO(body), read_only=True, data_only=True)
    except (zipfile.BadZipFile, EOFError, KeyError) as error:
        raise BadPayload(SOURCE, f"the bulletin workbook is not a complete XLSX file "
                                 f"(truncated?): {error}", kind="truncated") from error
    try:
        if HISTORY_SHEET not in book.sheetnames:
            raise BadPayload(SOURCE, f"the workbook has no sheet {HISTORY_SHEET!r} "
                                     f"(sheets: {', '.join(book.sheetnames)}; schema changed?)",
                             kind="schema")
        return _history_rows(book[HISTORY_SHEET].iter_rows(values_only=True))
    finally:
        book.close()


def _history_rows(sheet_rows: Iterable[Sequence[Any]]) -> list[PriceRow]:
    rows_iter = iter(sheet_rows)
    header = next(rows_iter, None)
    columns: dict[int, tuple[str, str]] = {}
    for position, cell in enumerate(header or ()):
        match = _MACHINE_ID.match(str(cell or "").strip())
        if match is None:
            continue
        code, product = match.group(1).upper(), match.group(2).lower()
        if code in AGGREGATES:
            continue
        country, indicator = EU_CODES.get(code), PRODUCT_INDICATORS.get(product)
        if country is not None and indicator is not None:
            columns[position] = (country, indicator)
    if not columns:
        raise BadPayload(SOURCE, "the workbook's first row has no `<CC>_price_with_tax_<product>`"
                                 " ids (schema changed?)", kind="schema")
    rows: list[PriceRow] = []
    for cells in rows_iter:
        day = _day(cells[0]) if cells else None
        if day is None:
            continue  # label and unit rows, legend rows at the bottom
        for position, (country, indicator) in columns.items():
            price = _number(cells[position]) if position < len(cells) else None
            if price is not None:
                rows.append((country, indicator, day, price / LITRES_PER_PRICE_UNIT))
    return rows


def parse_bulletin(body: bytes) -> list[PriceRow]:
    """Parse either layout (an XLSX body is the workbook, anything else the raw CSV table).

    Args:
        body: the raw response body.

    Returns:
        See `parse_raw_table_csv`.

    Raises:
        BadPayload: see the two parsers.
    """
    if not body.strip():
        raise BadPayload(SOURCE, "the bulletin file came back empty", kind="empty")
    if body.startswith(_ZIP_MAGIC):
        return parse_history_workbook(body)
    return parse_raw_table_csv(body)


class EuOilBulletinFetcher(BaseFetcher):
    """Weekly retail prices with taxes for EU-27 (+UK to 2020), EUR per litre."""

    name: ClassVar[str] = SOURCE
    # The generic fuel catalogue (C1) is owned by another source's entries; this one fills it.
    also_serves: ClassVar[tuple[str, ...]] = (
        "fuel_gasoline_retail",
        "fuel_diesel_retail",
        "fuel_lpg_retail",
        "fuel_heating_oil_retail",
    )

    def extract(self, request: FetchRequest, session: requests.Session) -> Extracted:
        """One conditional GET of the configured file (`base_url` is the full URL).

        Args:
            request: settings and the stored validator.
            session: the injected session.

        Returns:
            The body as the only payload, or `not_modified` on HTTP 304.

        Raises:
            FetchError: transport, status or HTML-page failures.
        """
        return fetch_whole_file(
            request, session, source=SOURCE, default_url=DEFAULT_URL, validator_key="history"
        )

    def transform(self, payloads: Sequence[Any], request: FetchRequest) -> Transformed:
        """Observations of the requested fuel indicators for every country in the file.

        Args:
            payloads: raw bodies (bytes).
            request: indicators (ids served) and `now`.

        Returns:
            Weekly observations in EUR/litre, one per country, fuel and Monday.

        Raises:
            BadPayload: a body in neither layout, or one with no price for a requested fuel.
        """
        wanted = {item.id for item in request.indicators} & set(self.also_serves)
        rows: list[PriceRow] = []
        for payload in payloads:
            if not isinstance(payload, bytes):
                raise BadPayload(SOURCE, f"unexpected payload {type(payload).__name__}")
            rows.extend(row for row in parse_bulletin(payload) if row[1] in wanted)
        if not payloads:
            return Transformed(empty_observations())
        if not rows:
            raise BadPayload(SOURCE, "the bulletin has no prices for any requested fuel "
                                     "(empty result)", kind="empty")
        frame = pd.DataFrame.from_records(rows, columns=["country", "indicator", "period",
                                                         "value"])
        frame = frame.drop_duplicates(["indicator", "country", "period"], keep="first")
        frame["period"] = pd.to_datetime(frame["period"])
        frame["unit"] = UNIT
        frame["source"] = SOURCE
        frame["published_at"] = estimated_publication(frame["period"], PUBLICATION_LAG, request.now)
        frame["fetched_at"] = request.now
        countries = frame["country"].nunique()
        return Transformed(
            frame.reset_index(drop=True),
            warnings=[f"{len(frame)} weekly prices for {countries} countries"],
        )
