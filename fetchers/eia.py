"""EIA API v2 spot prices (Brent, WTI, Mont Belvieu propane) with the user's own key; optional.

Off by default: FRED serves the same EIA series keylessly. When enabled, one paged query on
`petroleum/pri/spt/data/` fetches every series (`facets[series][]`, daily, `offset`/`length` up to
EIA's 5000 rows per page). The rows are stored under the same indicators as FRED's
(`brent_price`, `wti_price`, `propane_price`, country WLD) with source `eia`; the values are the
same EIA prices, so the two sources agree and either keeps the series current.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd
import requests

from fetchers import http
from fetchers.base import BaseFetcher, Extracted, FetchRequest
from fetchers.errors import ApiError, BadPayload, FetchError
from indicators.observations import WORLD, empty_observations

SOURCE = "eia"
ROUTE = "petroleum/pri/spt/data/"
MAX_PAGE_LENGTH = 5000
OVERLAP_DAYS = 14
# EIA series id → (catalogue indicator, unit as the catalogue writes it).
SERIES_INDICATORS: Mapping[str, tuple[str, str]] = {
    "RBRTE": ("brent_price", "USD/bbl"),
    "RWTC": ("wti_price", "USD/bbl"),
    "EER_EPLLPA_PF4_Y44MB_DPG": ("propane_price", "USD/gal"),
}
SERIES_INDICATORS_UNIT: Mapping[str, str] = dict(SERIES_INDICATORS.values())
_API_KEY_IN_TEXT = re.compile(r"(api_key=)[^&\s\"']+", flags=re.IGNORECASE)


@dataclass(frozen=True)
class EiaPage:
    """One page of the `data/` answer."""

    offset: int
    payload: Any


def parse_page(payload: Any) -> tuple[pd.DataFrame, int]:
    """Parse one v2 `data/` page.

    Args:
        payload: the decoded JSON.

    Returns:
        `(rows, total)`: columns `series`, `period` (datetime64), `value` (float64; a value that
        is empty or not a number has no row, never zero) and the query's `total` row count
        (EIA may send it as a string).

    Raises:
        ApiError: EIA's error body (`{"error": ...}`).
        BadPayload: no `response.data` list, no `total`, or a row without `period`/`series`.
    """
    if isinstance(payload, Mapping) and "error" in payload:
        raise ApiError(SOURCE, _error_message(payload["error"]), code=_error_code(payload))
    response = payload.get("response") if isinstance(payload, Mapping) else None
    data = response.get("data") if isinstance(response, Mapping) else None
    if not isinstance(response, Mapping) or not isinstance(data, list):
        raise BadPayload(SOURCE, "the answer is missing the 'response.data' list"
                                 " (schema changed?)", kind="schema")
    total_raw = response.get("total")
    try:
        total = int(str(total_raw).strip())
    except ValueError as error:
        raise BadPayload(SOURCE, f"'response.total' is {total_raw!r}, not a count"
                                 " (schema changed?)",
                         kind="schema") from error
    records: list[tuple[str, str, float]] = []
    for row in data:
        if not isinstance(row, Mapping) or "period" not in row or "series" not in row:
            raise BadPayload(SOURCE, "a data row is missing 'period' or 'series'"
                                     " (schema changed?)", kind="schema")
        value = _number(row.get("value"))
        if value is not None:
            records.append((str(row["series"]), str(row["period"]), value))
    frame = pd.DataFrame.from_records(records, columns=["series", "period", "value"])
    try:
        frame["period"] = pd.to_datetime(frame["period"], format="%Y-%m-%d")
    except ValueError as error:
        raise BadPayload(SOURCE, f"a period is not YYYY-MM-DD ({error})"
                                 " (schema changed?)", kind="schema") from error
    frame["value"] = frame["value"].astype("float64")
    return frame, total


def _number(raw: Any) -> float | None:
    if raw is None or isinstance(raw, bool):
        return None
    try:
        value = float(str(raw).strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _error_message(error: Any) -> str:
    if isinstance(error, Mapping):
        error = error.get("message") or error.get("code") or "EIA reported an error"
    return _API_KEY_IN_TEXT.sub(r"\1***", str(error))


def _error_code(payload: Mapping[str, Any]) -> str | None:
    error = payload.get("error")
    code = error.get("code") if isinstance(error, Mapping) else payload.get("code")
    return None if code is None else str(code)


class EiaFetcher(BaseFetcher):
    """Brent, WTI and propane spot prices from EIA v2 (needs the key in `api_key_env`)."""

    name: ClassVar[str] = SOURCE
    also_serves: ClassVar[tuple[str, ...]] = tuple(item for item, _ in SERIES_INDICATORS.values())

    def extract(self, request: FetchRequest, session: requests.Session) -> Extracted:
        """Page through the spot-price query for every mapped series.

        Args:
            request: indicators, `since` (incremental start minus an overlap), settings
                `api_key_env` and `page_length`.
            session: the injected session.

        Returns:
            One `EiaPage` per page.

        Raises:
            FetchError: the key variable is unset (nothing is requested), or any HTTP/payload
                failure; the key never appears in a message.
        """
        key_env = str(getattr(request.settings, "api_key_env", "") or "EIA_API_KEY")
        api_key = os.environ.get(key_env, "").strip()
        if not api_key:
            raise FetchError(
                SOURCE, f"{key_env} is not set: export your EIA API key in it (free at "
                "https://www.eia.gov/opendata/) or disable [sources.eia]",
            )
        series = _series_for(request)
        if not series:
            return Extracted(warnings=["no EIA series maps to an enabled indicator"])
        configured = int(getattr(request.settings, "page_length", MAX_PAGE_LENGTH))
        length = min(MAX_PAGE_LENGTH, configured)
        # requests adds params after a query already in the URL: the repeated facet goes there.
        facets = "&".join(f"facets[series][]={code}" for code in series)
        url = f"{request.base_url}/{ROUTE}?{facets}"
        start = _incremental_start(request)
        payloads: list[Any] = []
        offset = 0
        try:
            while True:
                params: dict[str, str | int | float] = {
                    "api_key": api_key,
                    "frequency": "daily",
                    "data[0]": "value",
                    "sort[0][column]": "period",
                    "sort[0][direction]": "asc",
                    "offset": offset,
                    "length": length,
                }
                if start is not None:
                    params["start"] = start.isoformat()
                response = http.get(
                    session, url, source=SOURCE, params=params, expect="json",
                    timeout=request.settings.timeout_seconds, error_body_statuses=(400, 403),
                )
                _rows, total = parse_page(response.payload)
                payloads.append(EiaPage(offset, response.payload))
                served = len(response.payload["response"]["data"])
                offset += served
                if served == 0 or offset >= total:
                    break
        except FetchError as error:
            error.message = _API_KEY_IN_TEXT.sub(r"\1***", error.message.replace(api_key, "***"))
            error.args = (f"{error.source}: {error.message}",)
            raise error from None
        return Extracted(payloads=payloads)

    def transform(self, payloads: Sequence[Any], request: FetchRequest) -> pd.DataFrame:
        """WLD observations of the mapped indicators.

        Args:
            payloads: `EiaPage` items.
            request: indicators (units) and `now`.

        Returns:
            The canonical frame.

        Raises:
            ApiError, BadPayload: see `parse_page`.
        """
        wanted = _series_for(request)
        units = {item.id: item.unit for item in request.indicators}
        parts = []
        for payload in payloads:
            if not isinstance(payload, EiaPage):
                raise BadPayload(SOURCE, f"unexpected payload {type(payload).__name__}")
            parts.append(parse_page(payload.payload)[0])
        if not parts:
            return empty_observations()
        rows = pd.concat(parts, ignore_index=True)
        rows = rows[rows["series"].isin(wanted)].drop_duplicates(["series", "period"], keep="last")
        if rows.empty:
            raise BadPayload(SOURCE, "no data rows for any requested series (empty result)",
                             kind="empty")
        indicator = rows["series"].map(lambda code: SERIES_INDICATORS[code][0])
        return pd.DataFrame(
            {
                "indicator": indicator,
                "country": WORLD,
                "period": rows["period"],
                "value": rows["value"],
                "unit": [units.get(item, SERIES_INDICATORS_UNIT[item]) for item in indicator],
                "source": SOURCE,
                "fetched_at": request.now,
            }
        )


def _series_for(request: FetchRequest) -> list[str]:
    """EIA series whose indicator is requested (every mapped series when none is given)."""
    wanted = {item.id for item in request.indicators}
    return [
        code for code, (indicator, _unit) in SERIES_INDICATORS.items()
        if not wanted or indicator in wanted
    ]


def _incremental_start(request: FetchRequest) -> dt.date | None:
    newest: list[dt.date] = []
    for code in _series_for(request):
        stored = request.since.get((SERIES_INDICATORS[code][0], WORLD))
        if stored is None:
            return None
        newest.append(stored)
    return min(newest) - dt.timedelta(days=OVERLAP_DAYS) if newest else None
