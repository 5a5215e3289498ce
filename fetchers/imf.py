"""IMF DataMapper (World Economic Outlook): annual indicators per country, projections flagged.

The forecast rule: the latest WEO publishes the current calendar year and every later year as
projections (the April and October editions estimate the current year; the previous year is the
last one with outturn data for most countries). A value for a year at or after the refresh clock's
year (`request.now.year`) is therefore stored with `is_forecast=True`, so scoring, which reads
actuals only, never mixes the two; when a later WEO reports the outturn, the same row is revised
to an actual.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd
import requests

from fetchers import http
from fetchers.base import BaseFetcher, Extracted, FetchRequest, Transformed
from fetchers.errors import BadPayload
from indicators.observations import empty_observations

SOURCE = "imf"


@dataclass(frozen=True)
class ImfPayload:
    """One DataMapper answer for one indicator code."""

    code: str
    payload: Any


def parse_datamapper(payload: Any, code: str) -> pd.DataFrame:
    """Parse `GET /api/v1/{code}[/{ISO3}…]` into long rows.

    A document without `values`, or without this indicator or a country, is "no data" (an
    unknown code or country); a document with neither `values` nor `api` is a changed schema.

    Args:
        payload: the decoded JSON.
        code: the indicator code asked for (e.g. `PCPIPCH`).

    Returns:
        Columns `country` (ISO3 as served), `year` (int), `value` (float64); nulls have no row.

    Raises:
        BadPayload: not an object, neither `values` nor `api`, or a year/value that is not one.
    """
    if not isinstance(payload, Mapping):
        raise BadPayload(SOURCE, f"{code}: expected a JSON object (schema changed?)", kind="schema")
    if "values" not in payload:
        if "api" in payload:
            return _rows([])
        raise BadPayload(
            SOURCE, f"{code}: the answer has neither 'values' nor 'api' (schema changed?)",
            kind="schema",
        )
    values = payload["values"]
    if not isinstance(values, Mapping):
        raise BadPayload(SOURCE, f"{code}: 'values' is not an object"
                                 " (schema changed?)", kind="schema")
    by_country = values.get(code)
    if by_country is None:
        return _rows([])
    if not isinstance(by_country, Mapping):
        raise BadPayload(SOURCE, f"{code}: values per country is not an object"
                                 " (schema changed?)", kind="schema")
    records: list[tuple[str, int, float]] = []
    for country, by_year in by_country.items():
        if not isinstance(by_year, Mapping):
            raise BadPayload(SOURCE, f"{code}/{country}: values per year is not an object"
                                     " (schema changed?)",
                             kind="schema")
        for year_text, raw in by_year.items():
            if not str(year_text).isdigit():
                raise BadPayload(SOURCE, f"{code}/{country}: {year_text!r} is not a year"
                                         " (schema changed?)",
                                 kind="schema")
            if raw is None:
                continue
            if isinstance(raw, bool) or not isinstance(raw, int | float | str):
                raise BadPayload(SOURCE, f"{code}/{country}/{year_text}: {raw!r} is not a number"
                                         " (schema changed?)",
                                 kind="schema")
            try:
                number = float(raw)
            except ValueError:
                continue  # a non-numeric string is a missing value, never zero
            if math.isfinite(number):
                records.append((str(country).upper(), int(year_text), number))
    return _rows(records)


def is_projection(year: pd.Series, current_year: int) -> pd.Series:
    """True where `year` is the current year or later (see the module docstring).

    Args:
        year: integer years.
        current_year: the refresh clock's year.

    Returns:
        A boolean series aligned with `year`.
    """
    return year >= current_year


def _rows(records: list[tuple[str, int, float]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records, columns=["country", "year", "value"])
    frame["year"] = frame["year"].astype("int64")
    frame["value"] = frame["value"].astype("float64")
    return frame


class ImfFetcher(BaseFetcher):
    """One DataMapper request per indicator, for every watched country at once."""

    name: ClassVar[str] = SOURCE

    def extract(self, request: FetchRequest, session: requests.Session) -> Extracted:
        """GET `{base}/{code}/{ISO3}/{ISO3}…` (all countries when none are given).

        Args:
            request: indicators (`source_code` = DataMapper code) and countries.
            session: the injected session.

        Returns:
            One `ImfPayload` per indicator code.

        Raises:
            FetchError: transport, status or payload failures.
        """
        payloads: list[Any] = []
        for code in dict.fromkeys(item.source_code for item in request.indicators):
            path = "/".join([request.base_url, code, *request.countries])
            response = http.get(
                session, path, source=SOURCE, expect="json",
                headers={"Accept": "application/json"},
                timeout=request.settings.timeout_seconds,
            )
            payloads.append(ImfPayload(code, response.payload))
        return Extracted(payloads=payloads)

    def transform(self, payloads: Sequence[Any], request: FetchRequest) -> Transformed:
        """Annual observations (period = 1 January), projections flagged as forecasts.

        Args:
            payloads: `ImfPayload` items.
            request: indicators, countries and `now` (its year decides what is a projection).

        Returns:
            Rows for the requested countries only (the all-country document also holds
            regional aggregates); a country without data is a warning.

        Raises:
            BadPayload: a changed schema.
        """
        by_code = request.indicators_by_code()
        wanted = set(request.countries)
        frames: list[pd.DataFrame] = []
        warnings: list[str] = []
        for payload in payloads:
            if not isinstance(payload, ImfPayload):
                raise BadPayload(SOURCE, f"unexpected payload {type(payload).__name__}")
            indicator = by_code.get(payload.code)
            if indicator is None:
                continue
            rows = parse_datamapper(payload.payload, payload.code)
            if wanted:
                rows = rows[rows["country"].isin(wanted)]
                absent = sorted(wanted - set(rows["country"]))
                if absent:
                    warnings.append(f"{payload.code}: no data for {', '.join(absent)}")
            frames.append(
                pd.DataFrame(
                    {
                        "indicator": indicator.id,
                        "country": rows["country"],
                        "period": pd.to_datetime(rows["year"].astype(str) + "-01-01"),
                        "value": rows["value"],
                        "unit": indicator.unit,
                        "source": SOURCE,
                        "is_forecast": is_projection(rows["year"], request.now.year),
                        "fetched_at": request.now,
                    }
                )
            )
        frame = pd.concat(frames, ignore_index=True) if frames else empty_observations()
        if payloads and frame.empty:
            # One country without data is normal; none at all means the answer is wrong.
            raise BadPayload(SOURCE, "no data for any requested country (empty result)",
                             kind="empty")
        return Transformed(frame, warnings=warnings)
