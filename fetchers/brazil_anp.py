"""Brazil ANP weekly price survey, national summary (`semanal-brasil-desde-2013.xlsx`).

ANP (Agência Nacional do Petróleo) republishes the weekly national averages since 2013 as one
workbook every week, so a refresh is one conditional GET. About 16 rows of notes sit above the
header (`DATA INICIAL, DATA FINAL, PRODUTO, NÚMERO DE POSTOS PESQUISADOS, UNIDADE DE MEDIDA,
PREÇO MÉDIO REVENDA, …`); the header row is found by its names, accents and case ignored.
Stored for BRA, dated by the survey week's last day (`DATA FINAL`), from the average resale
price: GASOLINA COMUM → fuel_gasoline_retail and OLEO DIESEL → fuel_diesel_retail in BRL/litre,
GLP (R$ per 13 kg cylinder) ÷ 13 → fuel_lpg_retail in BRL/kg. The workbook records no
publication date: `published_at` = `DATA FINAL` + `PUBLICATION_LAG`. The bundled snapshot
(scripts/snapshot_parts/brazil_anp.py) applies the same rule.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd
import requests

from fetchers.base import BaseFetcher, Extracted, FetchRequest, Transformed
from fetchers.errors import BadPayload
from fetchers.single_file import fetch_whole_file, one_country_prices

SOURCE = "brazil_anp"
DEFAULT_URL = (
    "https://www.gov.br/anp/pt-br/assuntos/precos-e-defesa-da-concorrencia/precos/"
    "precos-revenda-e-de-distribuicao-combustiveis/shlp/semanal/semanal-brasil-desde-2013.xlsx"
)
COUNTRY = "BRA"
# ANP releases a survey week a few days after it ends (the week of 23–29 Oct 2022 on the evening
# of Monday 31 Oct; 1–6 Jan 2018 on Tuesday 9 Jan): 3 days after `DATA FINAL`, a Saturday.
PUBLICATION_LAG = pd.Timedelta(days=3)
HEADER_SCAN_ROWS = 60  # the notes above the header are ~16 rows today


@dataclass(frozen=True)
class Product:
    """How one ANP product becomes a catalogue series."""

    indicator: str
    source_unit: str  # ANP's `UNIDADE DE MEDIDA`, normalised (no spaces, upper case)
    factor: float
    unit: str


PRODUCTS: Mapping[str, Product] = {
    "GASOLINA COMUM": Product("fuel_gasoline_retail", "R$/L", 1.0, "BRL/litre"),
    "OLEO DIESEL": Product("fuel_diesel_retail", "R$/L", 1.0, "BRL/litre"),
    "GLP": Product("fuel_lpg_retail", "R$/13KG", 1.0 / 13.0, "BRL/kg"),
}
NEEDED = ("DATA FINAL", "PRODUTO", "UNIDADE DE MEDIDA", "PRECO MEDIO REVENDA")


def _fold(text: Any) -> str:
    """Upper case without accents or surrounding spaces ("PREÇO MÉDIO" → "PRECO MEDIO")."""
    decomposed = unicodedata.normalize("NFKD", str(text or "").strip())
    return "".join(char for char in decomposed if not unicodedata.combining(char)).upper()


def parse_weekly_workbook(body: bytes) -> list[tuple[str, dt.date, float, str]]:
    """Parse the national weekly workbook.

    Args:
        body: the raw XLSX bytes.

    Returns:
        `(indicator id, week end date, value, unit)` for the mapped products; an empty or
        non-numeric price has no row (never zero).

    Raises:
        BadPayload: not a complete XLSX (truncated), no header row with the needed columns, a
            product in an unexpected unit, or a date cell that is not a date (changed schema).
    """
    from openpyxl import load_workbook  # a project dependency, imported when needed

    if not body.strip():
        raise BadPayload(SOURCE, "the ANP workbook came back empty", kind="empty")
    try:
        book = load_workbook(io.BytesIO(body), read_only=True, data_only=True)
    except (zipfile.BadZipFile, EOFError, KeyError, OSError) as error:
        raise BadPayload(SOURCE, f"the ANP workbook is not a complete XLSX file (truncated?): "
                                 f"{error}", kind="truncated") from error
    try:
        sheet = book.worksheets[0]
        return _rows(sheet.iter_rows(values_only=True))
    finally:
        book.close()


def _rows(sheet_rows: Iterable[Sequence[Any]]) -> list[tuple[str, dt.date, float, str]]:
    rows_iter = iter(sheet_rows)
    index: dict[str, int] | None = None
    for _ in range(HEADER_SCAN_ROWS):
        cells = next(rows_iter, None)
        if cells is None:
            break
        names = [_fold(cell) for cell in cells]
        if all(name in names for name in NEEDED):
            index = {name: names.index(name) for name in NEEDED}
            break
    if index is None:
        raise BadPayload(SOURCE, f"no header row with {', '.join(NEEDED)} in the first "
                                 f"{HEADER_SCAN_ROWS} rows (schema changed?)", kind="schema")
    out: list[tuple[str, dt.date, float, str]] = []
    for cells in rows_iter:
        if not cells or all(cell is None for cell in cells):
            continue
        product = PRODUCTS.get(_fold(cells[index["PRODUTO"]]))
        if product is None:
            continue
        unit = _fold(cells[index["UNIDADE DE MEDIDA"]]).replace(" ", "")
        if unit != product.source_unit:
            raise BadPayload(SOURCE, f"{product.indicator}: ANP unit {unit!r}, expected "
                                     f"{product.source_unit!r} (schema changed?)", kind="schema")
        day = cells[index["DATA FINAL"]]
        if not isinstance(day, dt.date):
            raise BadPayload(SOURCE, f"DATA FINAL {day!r} is not a date (schema changed?)",
                             kind="schema")
        price = _number(cells[index["PRECO MEDIO REVENDA"]])
        if price is not None:
            day = day.date() if isinstance(day, dt.datetime) else day
            out.append((product.indicator, day, price * product.factor, product.unit))
    return out


def _number(raw: Any) -> float | None:
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value > 0 else None


class BrazilAnpFetcher(BaseFetcher):
    """Weekly national average resale prices of gasoline, diesel and LPG in Brazil."""

    name: ClassVar[str] = SOURCE
    also_serves: ClassVar[tuple[str, ...]] = tuple(item.indicator for item in PRODUCTS.values())

    def extract(self, request: FetchRequest, session: requests.Session) -> Extracted:
        """One conditional GET of the workbook (`base_url` is the full URL).

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
            validator_key="semanal-brasil-desde-2013.xlsx",
        )

    def transform(self, payloads: Sequence[Any], request: FetchRequest) -> Transformed:
        """BRA observations of the requested fuel indicators.

        Args:
            payloads: raw bodies (bytes).
            request: indicators and `now`.

        Returns:
            Weekly national averages (BRL/litre; LPG BRL/kg).

        Raises:
            BadPayload: see `parse_weekly_workbook`; a workbook with no mapped price is empty.
        """
        return one_country_prices(
            payloads,
            request,
            source=SOURCE,
            country=COUNTRY,
            parse=parse_weekly_workbook,
            served=self.also_serves,
            empty_what="the ANP workbook has no price of a requested fuel",
            publication_lag=PUBLICATION_LAG,
        )
