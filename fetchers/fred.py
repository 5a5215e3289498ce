"""FRED daily energy prices: keyless `fredgraph.csv` (bulk) or the JSON API when a key is set."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urljoin

import pandas as pd
import requests

from fetchers import http
from fetchers.base import BaseFetcher, Extracted, FetchRequest
from fetchers.errors import ApiError, BadPayload, FetchError
from indicators.observations import WORLD, empty_observations
from indicators.pointintime import estimated_publication

SOURCE = "fred"

# fredgraph writes a gap as "." (older files) or as an empty field (today).
MISSING_MARKERS = frozenset({"", "."})
DATE_HEADERS = frozenset({"observation_date", "date"})

_API_KEY_IN_TEXT = re.compile(r"(api_key=)[^&\s\"']+", flags=re.IGNORECASE)


def redact_api_key(text: str) -> str:
    """Replace the value of any `api_key=` query parameter in `text` with `***`.

    Args:
        text: a URL, log line or error message.

    Returns:
        The same text with the key value hidden.
    """
    return _API_KEY_IN_TEXT.sub(r"\1***", text)


def _to_float(raw: str | None) -> float | None:
    """A FRED value as a float; `.`/empty/non-numeric are missing (None), never zero."""
    if raw is None:
        return None
    text = raw.strip()
    if text in MISSING_MARKERS:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_fredgraph_csv(body: bytes, series_ids: Sequence[str]) -> pd.DataFrame:
    """Parse a `fredgraph.csv?id=A,B,…` body into long rows.

    Args:
        body: the raw CSV (header `observation_date,<ids…>` or the older `DATE,<ids…>`).
        series_ids: the ids that were asked for; each must have a column.

    Returns:
        Columns `series_id`, `date` (datetime64), `value` (float64); missing values have no row.

    Raises:
        BadPayload: an HTML page, an empty body, no date column, or an asked-for id without a
            column (a changed schema), or a date that does not parse.
    """
    text = body.decode("utf-8-sig", errors="replace")
    stripped = text.lstrip()
    if not stripped:
        raise BadPayload(SOURCE, "fredgraph.csv came back empty", kind="empty")
    if stripped[:15].lower().startswith(("<!doctype html", "<html")):
        raise BadPayload(SOURCE, "fredgraph.csv came back as an HTML page", kind="html")
    if not text.endswith("\n"):
        # fredgraph ends every line, the last one included, with a newline.
        raise BadPayload(SOURCE, "fredgraph.csv stops mid-line (truncated)", kind="truncated")
    reader = csv.reader(io.StringIO(text))
    header = [name.strip() for name in next(reader, [])]
    if not header or header[0].lower() not in DATE_HEADERS:
        shown = ",".join(header[:3])
        raise BadPayload(
            SOURCE, f"fredgraph.csv header is {shown!r}, expected observation_date,<ids>",
            kind="schema",
        )
    columns = {name.upper(): index for index, name in enumerate(header)}
    missing = [code for code in series_ids if code.upper() not in columns]
    if missing:
        raise BadPayload(
            SOURCE, f"fredgraph.csv is missing the column of {', '.join(missing)}"
                    " (schema changed?)", kind="schema"
        )
    records: list[tuple[str, str, float]] = []
    width = len(header)
    for line_number, row in enumerate(reader, start=2):
        if not row or not row[0].strip():
            continue
        if len(row) != width:
            raise BadPayload(
                SOURCE,
                f"fredgraph.csv line {line_number} has {len(row)} fields, expected {width} "
                "(truncated?)",
                kind="truncated",
            )
        for code in series_ids:
            value = _to_float(row[columns[code.upper()]])
            if value is not None:
                records.append((code, row[0].strip(), value))
    return _long_frame(records)


def parse_observations_json(payload: Any, series_id: str) -> tuple[pd.DataFrame, int]:
    """Parse one `series/observations?file_type=json` page.

    Args:
        payload: the decoded JSON.
        series_id: the series the page belongs to (FRED does not repeat it in the body).

    Returns:
        `(rows, count)`: long rows as in `parse_fredgraph_csv` and the total `count` the API
        reports over all pages (for paging with `offset`).

    Raises:
        ApiError: FRED's own error body (`{"error_code":…, "error_message":…}`).
        BadPayload: no `observations` list, or an observation without `date`/`value`.
    """
    raise_for_api_error(payload)
    if not isinstance(payload, Mapping) or not isinstance(payload.get("observations"), list):
        raise BadPayload(
            SOURCE, f"series/observations for {series_id} is missing the 'observations' list"
                    " (schema changed?)",
            kind="schema",
        )
    records: list[tuple[str, str, float]] = []
    for item in payload["observations"]:
        if not isinstance(item, Mapping) or "date" not in item or "value" not in item:
            raise BadPayload(
                SOURCE, f"an observation of {series_id} is missing 'date' or 'value'"
                        " (schema changed?)", kind="schema"
            )
        value = _to_float(str(item["value"]) if item["value"] is not None else None)
        if value is not None:
            records.append((series_id, str(item["date"]), value))
    return _long_frame(records), _total_count(payload, len(records))


def raise_for_api_error(payload: Any) -> None:
    """Raise `ApiError` with FRED's own message when `payload` is its error body.

    Args:
        payload: decoded JSON of any FRED API response.

    Raises:
        ApiError: when the body carries `error_message` (e.g. an unknown series, a bad key).
    """
    if isinstance(payload, Mapping) and "error_message" in payload:
        message = redact_api_key(str(payload.get("error_message", "")).strip())
        code = payload.get("error_code")
        raise ApiError(SOURCE, message or "FRED reported an error", code=str(code))


def _long_frame(records: list[tuple[str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records, columns=["series_id", "date", "value"])
    try:
        frame["date"] = pd.to_datetime(frame["date"], format="%Y-%m-%d")
    except ValueError as error:
        raise BadPayload(SOURCE, f"a date does not parse as YYYY-MM-DD ({error}) (schema changed?)",
                         kind="schema") from error
    frame["value"] = frame["value"].astype("float64")
    frame["series_id"] = frame["series_id"].astype(str)
    return frame


# ---------------------------------------------------------------------------------------------
# The fetcher
# ---------------------------------------------------------------------------------------------

LITRES_PER_US_GALLON = 3.785411784


@dataclass(frozen=True)
class CountrySeries:
    """A FRED series stored for one country under an indicator catalogued by another source."""

    indicator: str
    country: str
    unit: str
    factor: float  # multiplies FRED's value into `unit`
    # FRED gives no first-release date: `realtime_start` is the vintage the request sees (the
    # recorded GNPCA page dates 1929 "2020-05-20", the day it was asked). So `published_at` =
    # the observation date + this lag, from the publisher's own schedule.
    publication_lag: pd.Timedelta

# FRED ids served for the generic fuel catalogue (C1), whose entries another source owns.
# GASREGW (EIA weekly US regular gasoline, all formulations) is USD per US gallon; it is stored
# per litre like every other country's series, so steps and levels read the same everywhere.
COUNTRY_SERIES: Mapping[str, CountrySeries] = {
    # EIA releases Monday's price around 17:00 ET that Monday, on Tuesday after a federal holiday
    # (and since 2025 on Tuesday mornings): one day after the date.
    "GASREGW": CountrySeries("fuel_gasoline_retail", "USA", "USD/litre",
                             1.0 / LITRES_PER_US_GALLON, pd.Timedelta(days=1)),
}

# Days re-fetched before the newest stored date, so a late-filled gap or a corrected last value
# is picked up (the store records it as a revision).
OVERLAP_DAYS = 14
DEFAULT_CSV_URL = "https://fred.stlouisfed.org/graph/fredgraph.csv"
JSON_PAGE_LIMIT = 100_000  # FRED's maximum `limit`


@dataclass(frozen=True)
class FredCsvPayload:
    """One `fredgraph.csv` body and the ids it was asked for."""

    series_ids: tuple[str, ...]
    body: bytes


@dataclass(frozen=True)
class FredJsonPayload:
    """One `series/observations` JSON page of one series."""

    series_id: str
    payload: Any


class FredFetcher(BaseFetcher):
    """Brent, WTI, Henry Hub and propane from FRED, stored under country `WLD`.

    Keyless by default: one `fredgraph.csv?id=A,B,C` request for every series (conditional on
    the stored ETag / Last-Modified). When the config's `api_key_env` variable is set, the JSON
    API is used instead (one series per request, paged with `offset`). The key is never logged:
    it only travels in the query string, and every error message is scrubbed of it.
    """

    name: ClassVar[str] = SOURCE
    also_serves: ClassVar[tuple[str, ...]] = tuple(
        dict.fromkeys(item.indicator for item in COUNTRY_SERIES.values())
    )

    def extract(self, request: FetchRequest, session: requests.Session) -> Extracted:
        """Download every requested series (see the class docstring).

        Args:
            request: indicators (their `source_code` is the FRED id) and `since`.
            session: the injected session.

        Returns:
            `FredCsvPayload` or `FredJsonPayload` items.

        Raises:
            FetchError: transport, status or payload failures, the API's own error message.
        """
        codes = _series_codes(request)
        if not codes:
            return Extracted(warnings=["no FRED indicators are enabled"])
        key_env = str(getattr(request.settings, "api_key_env", "") or "")
        api_key = os.environ.get(key_env, "").strip() if key_env else ""
        # The WLD series share one start; a country series (GASREGW) has its own, so a country
        # the refresh does not watch (no `since`) never turns the WLD fetch into a full one.
        groups = _start_groups(request, codes)
        if api_key:
            payloads: list[Any] = []
            try:
                for start, group in groups:
                    payloads.extend(
                        self._extract_json(request, session, group, start, api_key).payloads
                    )
            except FetchError as error:
                raise _scrubbed(error, api_key) from None
            return Extracted(payloads=payloads)
        parts = [self._extract_csv(request, session, group, start) for start, group in groups]
        validators = {key: value for part in parts for key, value in part.validators.items()}
        if all(part.not_modified for part in parts):
            return Extracted(not_modified=True, validators=validators)
        return Extracted(
            payloads=[payload for part in parts for payload in part.payloads],
            validators=validators,
        )

    def _extract_csv(
        self,
        request: FetchRequest,
        session: requests.Session,
        codes: tuple[str, ...],
        start: dt.date | None,
    ) -> Extracted:
        url = str(getattr(request.settings, "csv_url", "") or "").strip() or DEFAULT_CSV_URL
        if "://" not in url:  # a relative csv_url lives under base_url (a mirror or proxy)
            url = urljoin(request.base_url + "/", url)
        params: dict[str, str | int | float] = {"id": ",".join(codes)}
        if start is not None:
            params["cosd"] = start.isoformat()
        validator_key = "fredgraph.csv?id=" + ",".join(codes)
        response = http.get(
            session,
            url,
            source=SOURCE,
            params=params,
            validator=request.validators.get(validator_key),
            expect="bytes",
            timeout=request.settings.timeout_seconds,
        )
        validators = {validator_key: response.validator} if any(response.validator) else {}
        if response.not_modified:
            return Extracted(not_modified=True, validators=validators)
        return Extracted(payloads=[FredCsvPayload(codes, response.content)], validators=validators)

    def _extract_json(
        self,
        request: FetchRequest,
        session: requests.Session,
        codes: tuple[str, ...],
        start: dt.date | None,
        api_key: str,
    ) -> Extracted:
        url = request.base_url + "/series/observations"
        payloads: list[Any] = []
        for code in codes:
            offset = 0
            while True:
                params: dict[str, str | int | float] = {
                    "series_id": code,
                    "api_key": api_key,
                    "file_type": "json",
                    "limit": JSON_PAGE_LIMIT,
                    "offset": offset,
                }
                if start is not None:
                    params["observation_start"] = start.isoformat()
                response = http.get(
                    session,
                    url,
                    source=SOURCE,
                    params=params,
                    expect="json",
                    timeout=request.settings.timeout_seconds,
                    error_body_statuses=(400,),
                )
                raise_for_api_error(response.payload)
                payloads.append(FredJsonPayload(code, response.payload))
                page_size = _page_size(response.payload)
                offset += page_size
                if page_size == 0 or offset >= _total_count(response.payload, offset):
                    break
        return Extracted(payloads=payloads)

    def transform(self, payloads: Sequence[Any], request: FetchRequest) -> pd.DataFrame:
        """Turn FRED bodies into `WLD` observations of the requested indicators.

        Args:
            payloads: `FredCsvPayload` / `FredJsonPayload` items.
            request: indicators (FRED id → catalogue id and unit) and `now`.

        Returns:
            The canonical frame; `.`/empty values have no row.

        Raises:
            BadPayload: a body whose layout is not fredgraph's / the API's.
            ApiError: FRED's own error body.
        """
        # The WLD spot series are catalogued under FRED itself: their catalogue lag applies, so
        # they carry no lag here (published_at stays empty).
        by_code: dict[str, tuple[str, str, str, float, pd.Timedelta | None]] = {
            code.upper(): (item.id, WORLD, item.unit, 1.0, None)
            for code, item in request.indicators_by_code().items()
            if item.source == SOURCE
        }
        by_code.update(_country_series(request))
        parts: list[pd.DataFrame] = []
        for payload in payloads:
            if isinstance(payload, FredCsvPayload):
                parts.append(parse_fredgraph_csv(payload.body, payload.series_ids))
            elif isinstance(payload, FredJsonPayload):
                parts.append(parse_observations_json(payload.payload, payload.series_id)[0])
            else:
                raise BadPayload(SOURCE, f"unexpected payload {type(payload).__name__}")
        if not parts:
            return empty_observations()
        rows = pd.concat(parts, ignore_index=True)
        rows = rows[rows["series_id"].str.upper().isin(list(by_code))]
        if rows.empty:
            # The window always overlaps stored data, so an answer without values is wrong.
            raise BadPayload(SOURCE, "the answer has no observations for any requested series "
                             "(empty result)", kind="empty")
        # Pages of one series never overlap, but a CSV and a retried page could: keep the last.
        rows = rows.drop_duplicates(subset=["series_id", "date"], keep="last")
        mapped = rows["series_id"].str.upper().map(by_code)
        lags = pd.Series(
            pd.to_timedelta([target[4] if target[4] is not None else pd.NaT for target in mapped]),
            index=rows.index,
        )
        return pd.DataFrame(
            {
                "indicator": [target[0] for target in mapped],
                "country": [target[1] for target in mapped],
                "period": rows["date"],
                "value": rows["value"] * [target[3] for target in mapped],
                "unit": [target[2] for target in mapped],
                "source": SOURCE,
                "published_at": estimated_publication(rows["date"], lags, request.now),
                "fetched_at": request.now,
            }
        )


def _country_series(
    request: FetchRequest,
) -> dict[str, tuple[str, str, str, float, pd.Timedelta | None]]:
    """FRED id → (indicator, country, unit, factor, publication lag) of the requested country
    series."""
    wanted = {item.id for item in request.indicators}
    return {
        code: (
            series.indicator, series.country, series.unit, series.factor, series.publication_lag
        )
        for code, series in COUNTRY_SERIES.items()
        if series.indicator in wanted
    }


def _series_codes(request: FetchRequest) -> tuple[str, ...]:
    """FRED ids to ask for: the fred-catalogued indicators' codes, then the country series."""
    own = [item.source_code for item in request.indicators if item.source == SOURCE]
    return tuple(dict.fromkeys([*own, *_country_series(request)]))


def _start_groups(
    request: FetchRequest, codes: tuple[str, ...]
) -> list[tuple[dt.date | None, tuple[str, ...]]]:
    """The requests to make: the WLD series together, the country series with their own start."""
    country = _country_series(request)
    world = tuple(code for code in codes if code not in country)
    groups: list[tuple[dt.date | None, tuple[str, ...]]] = []
    if world:
        keys = [(item.id, WORLD) for item in request.indicators if item.source == SOURCE]
        groups.append((_incremental_start(keys, request), world))
    mine = tuple(code for code in codes if code in country)
    if mine:
        keys = [(country[code][0], country[code][1]) for code in mine]
        groups.append((_incremental_start(keys, request), mine))
    return groups


def _incremental_start(
    keys: Sequence[tuple[str, str]], request: FetchRequest
) -> dt.date | None:
    """First date to ask for: the oldest newest-stored date minus an overlap; None = everything."""
    newest: list[dt.date] = []
    for key in keys:
        stored = request.since.get(key)
        if stored is None:
            return None
        newest.append(stored)
    if not newest:
        return None
    return min(newest) - dt.timedelta(days=OVERLAP_DAYS)


def _page_size(payload: Any) -> int:
    observations = payload.get("observations") if isinstance(payload, Mapping) else None
    return len(observations) if isinstance(observations, list) else 0


def _total_count(payload: Any, default: int) -> int:
    count = payload.get("count") if isinstance(payload, Mapping) else None
    if isinstance(count, int):
        return count
    if isinstance(count, str) and count.isdigit():
        return int(count)
    return default


def _scrubbed(error: FetchError, secret: str) -> FetchError:
    """The same error with `secret` (and any `api_key=` value) removed from its message."""
    message = redact_api_key(error.message.replace(secret, "***"))
    error.message = message
    error.args = (f"{error.source}: {message}",)
    return error
