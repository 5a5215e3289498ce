"""ACLED events with the user's own myACLED account (optional): monthly protest and fatality counts.

Authentication is ACLED's OAuth password grant: `POST {token_url}` with the e-mail and password
from the environment variables the config names (`client_id=acled`) returns an access token
(24 h) and a refresh token. Tokens are cached in memory for the life of the process, renewed
with `grant_type=refresh_token` when they expire or a request is refused (HTTP 401), and a new
login is made when the refresh fails. Credentials and tokens never appear in a message or log.

Data: `GET {base}/acled/read?_format=json&iso=<ISO numeric>&event_date=A|B&event_date_where=BETWEEN
&limit=N&page=P` with `Authorization: Bearer`, one country at a time, paging until a short page.
ACLED's terms forbid passing on raw rows, so the events go to the store's local `acled_events`
table only (never exported, bundled or shown row by row); observations are the monthly
aggregates `acled_protest_events` (event types Protests and Riots) and `acled_fatalities`.

Window: ACLED revises recent weeks in its weekly releases, so each run re-reads from the start
of the month before the newest stored month (nothing stored: 24 months back) through today;
every month in the window is recounted whole, never partially overwritten.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import math
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, ClassVar
from urllib.parse import urljoin

import pandas as pd
import requests

from fetchers import http, redact
from fetchers.base import BaseFetcher, Extracted, FetchRequest, Transformed
from fetchers.errors import (
    ApiError,
    BadPayload,
    FetchError,
    HTTPStatusError,
    RateLimited,
    TransportError,
)
from indicators.catalogue import Indicator
from indicators.observations import empty_observations

SOURCE = "acled"
EXTRA_TABLE = "acled_events"
CLIENT_ID = "acled"
DEFAULT_TOKEN_URL = "https://acleddata.com/oauth/token"
DEFAULT_TOKEN_SECONDS = 24 * 3600
EXPIRY_MARGIN_SECONDS = 300
DEFAULT_HISTORY_MONTHS = 24
EVENT_COLUMNS: tuple[str, ...] = (
    "event_id_cnty", "event_date", "country", "event_type", "sub_event_type", "fatalities",
    "admin1", "location", "latitude", "longitude", "notes", "fetched_at",
)


@functools.cache
def iso3_to_numeric() -> dict[str, str]:
    """ISO3 → ISO 3166 numeric code (ACLED's `iso`), from the packaged Natural Earth extract.

    Returns:
        The mapping, codes without leading zeros (`"398"`, `"31"`) as ACLED writes them.
    """
    text = resources.files("fetchers").joinpath("data/iso3_numeric.csv").read_text("utf-8")
    return {row["iso3"]: row["numeric"] for row in csv.DictReader(text.splitlines())}


# ---------------------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------------------


@dataclass
class _Token:
    access: str
    refresh: str | None
    expires_at: float  # on the fetcher's clock


_TOKENS: dict[tuple[str, str], _Token] = {}
_TOKENS_LOCK = threading.Lock()


def clear_token_cache() -> None:
    """Forget every cached token (tests; a changed password)."""
    with _TOKENS_LOCK:
        _TOKENS.clear()


def parse_token(payload: Any, issued_at: float) -> _Token:
    """Read an OAuth token answer.

    Args:
        payload: decoded JSON of the token endpoint.
        issued_at: the clock reading when it was requested.

    Returns:
        The token with its expiry (`expires_in`, else 24 h).

    Raises:
        ApiError: an OAuth error answer (`error`, `error_description`).
        BadPayload: no `access_token`.
    """
    if isinstance(payload, Mapping) and "error" in payload and "access_token" not in payload:
        description = payload.get("error_description") or payload.get("message") or ""
        detail = f": {description}" if description else ""
        raise ApiError(
            SOURCE, f"login refused: {payload['error']}{detail}", code=str(payload["error"])
        )
    if not isinstance(payload, Mapping) or not isinstance(payload.get("access_token"), str):
        raise BadPayload(SOURCE, "the token answer is missing access_token"
                                 " (schema changed?)", kind="schema")
    lifetime = payload.get("expires_in")
    seconds = float(lifetime) if isinstance(lifetime, int | float) and lifetime > 0 else (
        DEFAULT_TOKEN_SECONDS
    )
    refresh = payload.get("refresh_token")
    # Tokens this process holds are secrets: no output channel may show them.
    redact.register_secret(payload["access_token"])
    redact.register_secret(refresh if isinstance(refresh, str) else None)
    return _Token(payload["access_token"], refresh if isinstance(refresh, str) else None,
                  issued_at + seconds)


# ---------------------------------------------------------------------------------------------
# Parsing and aggregation (pure)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AcledPage:
    """One page of `acled/read` for one requested country."""

    country: str
    page: int
    payload: Any


@dataclass(frozen=True)
class AcledWindow:
    """All pages of one run and the date window they cover."""

    start: dt.date
    end: dt.date
    pages: tuple[AcledPage, ...]


def page_rows(payload: Any) -> list[Mapping[str, Any]]:
    """The event rows of one `acled/read` answer.

    Args:
        payload: the decoded JSON.

    Returns:
        The rows (objects) of `data`.

    Raises:
        ApiError: `success: false` or an `error` member (ACLED's own message).
        BadPayload: no `data` list.
    """
    if not isinstance(payload, Mapping):
        raise BadPayload(SOURCE, "expected a JSON object (schema changed?)", kind="schema")
    if payload.get("success") is False or "error" in payload:
        error = payload.get("error")
        if isinstance(error, Mapping):
            error = error.get("message") or error.get("code")
        messages = payload.get("messages")
        text = error or (messages[0] if isinstance(messages, list) and messages else None)
        raise ApiError(SOURCE, f"ACLED reported an error: {text or 'no message'}")
    data = payload.get("data")
    if not isinstance(data, list):
        raise BadPayload(SOURCE, "the answer is missing the 'data' list"
                                 " (schema changed?)", kind="schema")
    return [row for row in data if isinstance(row, Mapping)]


def events_frame(window: AcledWindow, now: dt.datetime) -> tuple[pd.DataFrame, list[str]]:
    """The raw events of a window as rows of the store's `acled_events` table.

    Args:
        window: the pages read.
        now: `fetched_at`.

    Returns:
        `(events, warnings)`; events are unique by `event_id_cnty`, `country` is ISO3 (from the
        row's numeric `iso`, else the country the page was asked for).

    Raises:
        ApiError, BadPayload: see `page_rows`; a row without `event_id_cnty`/`event_date`.
    """
    by_numeric = {numeric: iso3 for iso3, numeric in iso3_to_numeric().items()}
    records: list[dict[str, Any]] = []
    unknown_fatalities = 0
    for page in window.pages:
        for row in page_rows(page.payload):
            if not row.get("event_id_cnty") or not row.get("event_date"):
                raise BadPayload(SOURCE, "an event is missing event_id_cnty or event_date"
                                         " (schema changed?)",
                                 kind="schema")
            fatalities = _integer(row.get("fatalities"))
            if fatalities is None:
                unknown_fatalities += 1
            records.append(
                {
                    "event_id_cnty": str(row["event_id_cnty"]),
                    "event_date": dt.date.fromisoformat(str(row["event_date"])[:10]),
                    "country": by_numeric.get(str(row.get("iso", "")).lstrip("0"), page.country),
                    "event_type": str(row.get("event_type", "")),
                    "sub_event_type": str(row.get("sub_event_type", "")),
                    "fatalities": fatalities or 0,
                    "admin1": str(row.get("admin1", "")),
                    "location": str(row.get("location", "")),
                    "latitude": _decimal(row.get("latitude")),
                    "longitude": _decimal(row.get("longitude")),
                    "notes": str(row.get("notes", "")),
                    "fetched_at": now,
                }
            )
    events = pd.DataFrame(records, columns=list(EVENT_COLUMNS))
    events = events.drop_duplicates("event_id_cnty", keep="last").reset_index(drop=True)
    warnings = []
    if unknown_fatalities:
        warnings.append(f"{unknown_fatalities} event(s) without a fatality count (counted as 0)")
    return events, warnings


def monthly_aggregates(
    events: pd.DataFrame,
    indicators: Sequence[Indicator],
    countries: Sequence[str],
    start: dt.date,
    end: dt.date,
    now: dt.datetime,
) -> pd.DataFrame:
    """Per country and month of the window: events of the listed types, or fatalities.

    `source_code` is `fatalities` (sum of fatalities) or event types separated by `;`
    (`Protests;Riots`: count of events). Months without events are 0 for every requested
    country: the whole window was read, so no event means none happened (as far as ACLED knows).

    Args:
        events: rows as returned by `events_frame`.
        indicators: ACLED indicators.
        countries: ISO3 codes (empty: those with events).
        start: first day of the window (a month start).
        end: last day of the window.
        now: `fetched_at`.

    Returns:
        A canonical observation frame.
    """
    wanted = sorted(set(countries)) or sorted(set(events["country"]))
    months = pd.period_range(pd.Timestamp(start), pd.Timestamp(end), freq="M").to_timestamp()
    frame = events[events["country"].isin(wanted)].copy()
    frame["month"] = pd.to_datetime(frame["event_date"]).dt.to_period("M").dt.to_timestamp()
    grid = pd.MultiIndex.from_product([wanted, months], names=["country", "month"])
    outputs = []
    for indicator in indicators:
        code = indicator.source_code.strip()
        if code.lower() == "fatalities":
            summed = frame.groupby(["country", "month"])["fatalities"].sum()
        else:
            types = {item.strip() for item in code.split(";") if item.strip()}
            chosen = frame[frame["event_type"].isin(types)]
            summed = chosen.groupby(["country", "month"])["event_id_cnty"].count()
        filled = summed.reindex(grid, fill_value=0).rename("value").reset_index()
        outputs.append(
            pd.DataFrame(
                {
                    "indicator": indicator.id,
                    "country": filled["country"],
                    "period": filled["month"],
                    "value": filled["value"].astype("float64"),
                    "unit": indicator.unit,
                    "source": SOURCE,
                    "fetched_at": now,
                }
            )
        )
    return pd.concat(outputs, ignore_index=True) if outputs else empty_observations()


def _integer(raw: Any) -> int | None:
    try:
        return int(str(raw).strip())
    except ValueError:
        return None


def _decimal(raw: Any) -> float | None:
    try:
        value = float(str(raw).strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def window_start(newest_stored_month: dt.date | None, today: dt.date) -> dt.date:
    """First day of the month before the newest stored one (nothing stored: 24 months back).

    Args:
        newest_stored_month: the newest stored month over the countries, or None.
        today: the refresh's date.

    Returns:
        A month start.
    """
    anchor = newest_stored_month or _add_months(today.replace(day=1), -DEFAULT_HISTORY_MONTHS + 1)
    return _add_months(min(anchor, today).replace(day=1), -1 if newest_stored_month else 0)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


# ---------------------------------------------------------------------------------------------
# The fetcher
# ---------------------------------------------------------------------------------------------


class AcledFetcher(BaseFetcher):
    """Monthly ACLED aggregates per watched country; raw rows to the local `acled_events` table."""

    name: ClassVar[str] = SOURCE

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def extract(self, request: FetchRequest, session: requests.Session) -> Extracted:
        """Log in (or reuse/refresh the cached token) and page through each country's events.

        Args:
            request: countries, `since`, settings (`base_url`, `token_url`, `username_env`,
                `password_env`, `page_limit`).
            session: the injected session.

        Returns:
            One `AcledWindow` payload.

        Raises:
            FetchError: missing credentials, a refused login, HTTP or payload failures.
        """
        username, password = self._credentials(request)
        secrets = (username, password)
        redact.register_secret(username)
        redact.register_secret(password)
        try:
            return self._extract(request, session, username, password)
        except FetchError as error:
            message = error.message
            for secret in secrets:
                message = message.replace(secret, "***")
            message = redact.redact(message)
            error.message = message
            error.args = (f"{error.source}: {message}",)
            raise error from None

    def _extract(
        self, request: FetchRequest, session: requests.Session, username: str, password: str
    ) -> Extracted:
        today = request.now.date()
        newest = [request.newest_stored(item.id) for item in request.indicators]
        stored = None if not newest or None in newest else min(d for d in newest if d)
        start = window_start(stored, today)
        limit = int(getattr(request.settings, "page_limit", 5000))
        numeric = iso3_to_numeric()
        url = request.base_url + "/acled/read"
        pages: list[AcledPage] = []
        warnings: list[str] = []
        for country in request.countries:
            code = numeric.get(country)
            if code is None:
                warnings.append(f"{country}: no ISO numeric code known; not requested")
                continue
            page = 1
            while True:
                params: dict[str, str | int | float] = {
                    "_format": "json",
                    "iso": code,
                    "event_date": f"{start.isoformat()}|{today.isoformat()}",
                    "event_date_where": "BETWEEN",
                    "limit": limit,
                    "page": page,
                }
                payload = self._get(request, session, url, params, username, password)
                rows = page_rows(payload)
                pages.append(AcledPage(country, page, payload))
                if len(rows) < limit:
                    break
                page += 1
        window = AcledWindow(start, today, tuple(pages))
        return Extracted(payloads=[window], warnings=warnings)

    def _get(
        self,
        request: FetchRequest,
        session: requests.Session,
        url: str,
        params: Mapping[str, str | int | float],
        username: str,
        password: str,
    ) -> Any:
        """GET with the bearer token; on HTTP 401 renew the token once and try again."""
        for attempt in (1, 2):
            token = self._token(request, session, username, password, force=attempt == 2)
            try:
                response = http.get(
                    session, url, source=SOURCE, params=params, expect="json",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=request.settings.timeout_seconds,
                )
            except HTTPStatusError as error:
                if error.status == 401 and attempt == 1:
                    continue
                if error.status == 401:
                    raise ApiError(SOURCE, "ACLED refused a freshly issued token (HTTP 401); "
                                   "check that the account has API access") from None
                raise
            return response.payload
        raise AssertionError("unreachable")  # pragma: no cover

    def _credentials(self, request: FetchRequest) -> tuple[str, str]:
        user_env = str(getattr(request.settings, "username_env", "") or "ACLED_USERNAME")
        password_env = str(getattr(request.settings, "password_env", "") or "ACLED_PASSWORD")
        username = os.environ.get(user_env, "").strip()
        password = os.environ.get(password_env, "")
        missing = [name for name, value in ((user_env, username), (password_env, password))
                   if not value]
        if missing:
            raise FetchError(
                SOURCE, f"{' and '.join(missing)} not set: ACLED needs your own myACLED e-mail "
                "and password in these environment variables (or disable [sources.acled])",
            )
        return username, password

    def _token(
        self,
        request: FetchRequest,
        session: requests.Session,
        username: str,
        password: str,
        *,
        force: bool = False,
    ) -> str:
        """A valid access token: cached, else refreshed, else a new login."""
        token_url = str(getattr(request.settings, "token_url", "") or DEFAULT_TOKEN_URL)
        if "://" not in token_url:  # relative: on the same host as base_url (a proxy)
            token_url = urljoin(request.base_url + "/", token_url)
        key = (token_url, username)
        with _TOKENS_LOCK:
            cached = _TOKENS.get(key)
        now = self._clock()
        if cached is not None and not force and now < cached.expires_at - EXPIRY_MARGIN_SECONDS:
            return cached.access
        token: _Token | None = None
        if cached is not None and cached.refresh:
            try:
                token = self._request_token(
                    request, session, token_url,
                    {"grant_type": "refresh_token", "refresh_token": cached.refresh,
                     "client_id": CLIENT_ID},
                )
            except (ApiError, HTTPStatusError, BadPayload):
                token = None  # an expired or revoked refresh token: log in again
        if token is None:
            token = self._request_token(
                request, session, token_url,
                {"username": username, "password": password, "grant_type": "password",
                 "client_id": CLIENT_ID},
            )
        with _TOKENS_LOCK:
            _TOKENS[key] = token
        return token.access

    def _request_token(
        self, request: FetchRequest, session: requests.Session, url: str, form: Mapping[str, str]
    ) -> _Token:
        where = http.describe_url(url)
        issued_at = self._clock()
        try:
            response = session.post(
                url, data=dict(form), headers={"Accept": "application/json"},
                timeout=request.settings.timeout_seconds,
            )
        except requests.exceptions.Timeout:
            raise TransportError(SOURCE, f"timed out waiting for {where}", kind="timeout") from None
        except requests.exceptions.RequestException:
            raise TransportError(SOURCE, f"could not get a response from {where}") from None
        if response.status_code == 429:
            raise RateLimited(SOURCE, f"rate limited by {where}: HTTP 429",
                              retry_after=http.parse_retry_after(response.headers.get("Retry-After")))
        payload: Any = None
        if response.content.lstrip()[:1] in (b"{", b"["):
            payload = http.parse_json(response.content, source=SOURCE, where=where)
        if response.status_code in (400, 401, 403) and isinstance(payload, Mapping):
            return parse_token(payload, issued_at)  # raises ApiError with OAuth's message
        if response.status_code >= 400:
            raise HTTPStatusError(SOURCE, f"{where} answered HTTP {response.status_code}",
                                  status=response.status_code)
        if payload is None:
            payload = http.parse_json(response.content, source=SOURCE, where=where)
        return parse_token(payload, issued_at)

    def transform(self, payloads: Sequence[Any], request: FetchRequest) -> Transformed:
        """Monthly aggregates as observations; the raw events as the `acled_events` extra table.

        Args:
            payloads: `AcledWindow` items.
            request: indicators, countries, `now`.

        Returns:
            Observations plus `extra_tables={"acled_events": events}`.

        Raises:
            ApiError, BadPayload: see `page_rows`.
        """
        observations: list[pd.DataFrame] = []
        events_parts: list[pd.DataFrame] = []
        warnings: list[str] = []
        for payload in payloads:
            if not isinstance(payload, AcledWindow):
                raise BadPayload(SOURCE, f"unexpected payload {type(payload).__name__}")
            events, notes = events_frame(payload, request.now)
            warnings.extend(notes)
            events_parts.append(events)
            observations.append(
                monthly_aggregates(events, request.indicators, request.countries,
                                   payload.start, payload.end, request.now)
            )
        if not observations:
            return Transformed(empty_observations())
        events = pd.concat(events_parts, ignore_index=True)
        if events.empty and request.countries:
            # Months of a watched country without a single event are implausible; an account
            # without API access, or a broken filter, answers this way.
            raise BadPayload(SOURCE, "no events for any requested country in the window "
                             "(empty result)", kind="empty")
        return Transformed(
            pd.concat(observations, ignore_index=True),
            extra_tables={EXTRA_TABLE: events.drop_duplicates("event_id_cnty", keep="last")},
            warnings=warnings,
        )
