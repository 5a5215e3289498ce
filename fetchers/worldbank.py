"""World Bank Indicators API v2: WDI indicators and the Worldwide Governance Indicators (WGI).

Requests are bulk: one *indicator group* per World Bank source id — every WDI code in one call
(`source=2`), every WGI code (`PV.EST`, `CC.STD.ERR`, ...) in another (`source=3`) — for all
requested countries at once (`KAZ;KGZ;...`, or `all` when more than `ALL_COUNTRIES_THRESHOLD`
are asked for, keeping only real countries so the API's aggregates such as `ARB` or `EUU` are
dropped), with a large `per_page` and `pages` followed until the last page or an empty array.
Several indicators in one call only work together with `source=`; without it the API answers
with its error envelope, so every call names its source.

Incremental refresh. Each page's metadata carries `lastupdated`, the date the World Bank last
updated that database; it is stored as the group's validator. On the next refresh a one-row
probe (`per_page=1`) reads `lastupdated` again: unchanged means nothing to fetch, so an
unchanged source costs one request per group. When it changed and every requested series
already has data, only the years from `REVISION_LOOKBACK_YEARS` before the oldest newest-stored
year are fetched (`date=from:to`): recent years are where the Bank revises values.

The API's quirks handled here: errors come as HTTP 200 with `[{"message": [{"id", "key",
"value"}]}]` (→ `ApiError` with the API's own text); an occasional HTTP 400 with a BOM-prefixed
XHTML "Request Error" page is retried as transient, then reported; bodies are decoded as
`utf-8-sig`; `countryiso3code` (not `country.id`, which is ISO2) is the country; a null value
is no row.

Vintage: WGI values are re-estimated with every annual release, so WGI rows carry
`vintage` = the year of the page's `lastupdated` (the release that produced them); WDI rows have
`vintage` "" (one running vintage, revisions go to the store's revisions table).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

import pandas as pd
import requests

from fetchers.base import BaseFetcher, Extracted, FetchRequest, Transformed
from fetchers.errors import ApiError, BadPayload, HTTPStatusError
from fetchers.http import HttpValidator, describe_url, get
from indicators.countries import iso3_countries

SOURCE = "worldbank"
WDI_SOURCE_ID = 2
DEFAULT_WGI_SOURCE_ID = 3
DEFAULT_PER_PAGE = 20_000
DEFAULT_DATE_RANGE = "1990:2030"
# Above this many countries one `country/all` call is cheaper than a long `KAZ;KGZ;...` list.
ALL_COUNTRIES_THRESHOLD = 50
# Years re-fetched before the newest stored year when the database changed.
REVISION_LOOKBACK_YEARS = 5
# The World Bank's transient HTTP 400 HTML page is retried this many extra times.
TRANSIENT_400_RETRIES = 2

_PERIOD = re.compile(r"^(?P<year>\d{4})(?:(?P<kind>[MQ])(?P<sub>\d{1,2}))?$")


@dataclass(frozen=True)
class IndicatorGroup:
    """Indicators fetched together: same World Bank source id, same countries."""

    source_id: int
    codes: tuple[str, ...]
    countries_param: str  # "KAZ;KGZ" or "all"

    @property
    def path(self) -> str:
        """`country/{countries}/indicator/{codes}` relative to the base URL."""
        return f"country/{self.countries_param}/indicator/{';'.join(self.codes)}"

    @property
    def validator_key(self) -> str:
        """Source-local key of this group's `lastupdated` validator."""
        identity = f"{self.source_id}|{';'.join(sorted(self.codes))}|{self.countries_param}"
        digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
        return f"lastupdated:source={self.source_id}:{digest}"


_WGI_CODE = re.compile(
    r"^(VA|PV|GE|RQ|RL|CC)\.(EST|STD\.ERR|NO\.SRC|PER\.RNK(\.LOWER|\.UPPER)?)$"
)


def is_wgi_code(code: str) -> bool:
    """WGI codes (`PV.EST`, `CC.STD.ERR`, `RL.PER.RNK`, ...) are served by the WGI source."""
    return _WGI_CODE.match(code.upper()) is not None


def indicator_groups(request: FetchRequest) -> list[IndicatorGroup]:
    """The bulk calls for a request: one per World Bank source id.

    Args:
        request: the fetch request (indicators, countries, settings).

    Returns:
        Groups in a stable order (WDI first).
    """
    wgi_source = int(getattr(request.settings, "wgi_source", DEFAULT_WGI_SOURCE_ID))
    countries_param = countries_parameter(request.countries)
    by_source: dict[int, list[str]] = {}
    for item in request.indicators:
        source_id = wgi_source if is_wgi_code(item.source_code) else WDI_SOURCE_ID
        codes = by_source.setdefault(source_id, [])
        if item.source_code not in codes:
            codes.append(item.source_code)
    return [
        IndicatorGroup(source_id, tuple(codes), countries_param)
        for source_id, codes in sorted(by_source.items())
    ]


def countries_parameter(countries: Sequence[str]) -> str:
    """`KAZ;KGZ` for a short list; `all` for none or more than `ALL_COUNTRIES_THRESHOLD`."""
    if not countries or len(countries) > ALL_COUNTRIES_THRESHOLD:
        return "all"
    return ";".join(countries)


def kept_countries(countries: Sequence[str]) -> frozenset[str]:
    """Countries whose rows are kept: those asked for, or every real country (no aggregates)."""
    if countries:
        return frozenset(countries)
    return frozenset(code for code in iso3_countries() if code != "WLD")


def page_parts(body: Any, *, where: str = "the World Bank API") -> tuple[dict[str, Any], list[Any]]:
    """Split one decoded page into its metadata and its rows, checking the shape.

    Args:
        body: a decoded JSON page.
        where: host and path, for error messages.

    Returns:
        (metadata, rows); rows is empty when the API sent `null` or `[]`.

    Raises:
        ApiError: the body is the API's error envelope.
        BadPayload: anything else that is not `[metadata, rows]`.
    """
    if isinstance(body, list) and body and isinstance(body[0], dict) and "message" in body[0]:
        raise ApiError(SOURCE, _envelope_text(body[0]["message"], where), code=_envelope_code(body))
    if not (isinstance(body, list) and len(body) == 2 and isinstance(body[0], dict)):
        raise BadPayload(
            SOURCE,
            f"{where} sent a body without the expected [metadata, rows] layout",
            kind="schema",
        )
    meta, rows = body
    for key in ("page", "pages"):
        if key not in meta:
            raise BadPayload(
                SOURCE, f"{where}: page metadata lacks the '{key}' field (the layout changed)",
                kind="schema",
            )
    if rows is None:
        return meta, []
    if not isinstance(rows, list):
        raise BadPayload(SOURCE, f"{where}: the rows are not a list (the layout changed)",
                         kind="schema")
    return meta, rows


def _envelope_text(messages: Any, where: str) -> str:
    texts: list[str] = []
    if isinstance(messages, list):
        for item in messages:
            if isinstance(item, dict):
                text = " — ".join(
                    str(item[key]) for key in ("key", "value") if item.get(key)
                )
                if text and text not in texts:
                    texts.append(text)
    detail = "; ".join(texts) or "no message text"
    return f"the World Bank API answered with an error for {where}: {detail}"


def _envelope_code(body: list[Any]) -> str | None:
    messages = body[0].get("message")
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        code = messages[0].get("id")
        return str(code) if code is not None else None
    return None


def parse_period(text: str) -> pd.Timestamp:
    """Start of a World Bank period: "2021" → 2021-01-01, "2021M03" → 2021-03-01, "2021Q2" → 04-01.

    Raises:
        ValueError: an unrecognised period.
    """
    match = _PERIOD.match(text.strip())
    if match is None:
        raise ValueError(f"unrecognised World Bank period {text!r}")
    year = int(match["year"])
    if match["kind"] == "M":
        return pd.Timestamp(year, int(match["sub"]), 1)
    if match["kind"] == "Q":
        return pd.Timestamp(year, 3 * (int(match["sub"]) - 1) + 1, 1)
    return pd.Timestamp(year, 1, 1)


def rows_to_frame(
    pages: Sequence[Any], request: FetchRequest, *, countries: frozenset[str] | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Turn decoded pages into canonical observations (pure).

    Args:
        pages: decoded JSON pages (`[metadata, rows]`).
        request: gives the indicator codes ↔ catalogue ids, units and `now`.
        countries: ISO3 codes to keep; default `kept_countries(request.countries)`.

    Returns:
        The observations frame and warnings (codes the catalogue does not know).

    Raises:
        ApiError: a page is the API's error envelope.
        BadPayload: a page or row lacks a field the parser needs.
    """
    by_code = request.indicators_by_code()
    keep = countries if countries is not None else kept_countries(request.countries)
    # Column lists, not a dict per row: a full refresh parses a quarter of a million rows.
    codes: list[str] = []
    iso3: list[str] = []
    periods: list[str] = []
    values: list[float] = []
    vintages: list[str] = []
    unknown: set[str] = set()
    for body in pages:
        meta, rows = page_parts(body)
        release = str(meta.get("lastupdated") or "")[:4]
        for row in rows:
            try:
                code = row["indicator"]["id"]
                country = row["countryiso3code"]
                period_text = row["date"]
                value = row["value"]
            except (KeyError, TypeError) as error:
                raise BadPayload(
                    SOURCE,
                    f"a data row lacks the field {error} (the response layout changed)",
                    kind="schema",
                ) from error
            if value is None or country not in keep:
                continue
            if code not in by_code:
                unknown.add(str(code))
                continue
            codes.append(code)
            iso3.append(country)
            periods.append(str(period_text))
            values.append(float(value))
            vintages.append(release if is_wgi_code(code) else "")
    warnings = (
        [f"ignored rows of codes not in the catalogue: {', '.join(sorted(unknown))}"]
        if unknown else []
    )
    indicators = [by_code[code] for code in codes]
    frame = pd.DataFrame(
        {
            "indicator": [item.id for item in indicators],
            "country": iso3,
            "period": _periods(periods),
            "value": pd.Series(values, dtype="float64"),
            "unit": [item.unit for item in indicators],
            "source": SOURCE,
            "vintage": vintages,
            "is_forecast": False,
            "fetched_at": request.now,
        },
        index=pd.RangeIndex(len(codes)),
    )
    return frame, warnings


def _periods(texts: list[str]) -> pd.Series:
    """Period starts for World Bank date strings; annual ones ("2021") parsed in one go."""
    if all(len(text) == 4 and text.isdigit() for text in texts):
        return pd.Series(pd.to_datetime(texts, format="%Y"), dtype="datetime64[ns]")
    return pd.Series([parse_period(text) for text in texts], dtype="datetime64[ns]")


class WorldBankFetcher(BaseFetcher):
    """WDI and WGI from the World Bank Indicators API v2, bulk and incremental."""

    name: ClassVar[str] = SOURCE

    def extract(self, request: FetchRequest, session: requests.Session) -> Extracted:
        """Probe each indicator group's `lastupdated`, then page through the changed ones.

        Args:
            request: indicators, countries, stored validators, newest stored periods.
            session: the injected session.

        Returns:
            The decoded pages of every changed group; `not_modified` when no group changed.

        Raises:
            FetchError: transport, status, envelope or payload errors, with the API's message.
        """
        extracted = Extracted()
        groups = indicator_groups(request)
        changed_groups = 0
        for group in groups:
            stored = request.validators.get(group.validator_key)
            stored_release = stored.last_modified if stored is not None else None
            if stored_release:
                meta, _ = self._page(request, session, group, page=1, per_page=1,
                                     date_param=None)
                if str(meta.get("lastupdated") or "") == stored_release:
                    continue
            changed_groups += 1
            pages, release = self._all_pages(request, session, group)
            extracted.payloads.extend(pages)
            if release:
                extracted.validators[group.validator_key] = HttpValidator(None, release)
        extracted.not_modified = bool(groups) and changed_groups == 0
        return extracted

    def transform(self, payloads: Sequence[Any], request: FetchRequest) -> Transformed:
        """Decoded pages → canonical observations (see `rows_to_frame`).

        Args:
            payloads: decoded JSON pages.
            request: the request.

        Returns:
            Observations and warnings.
        """
        frame, warnings = rows_to_frame(payloads, request)
        return Transformed(frame, warnings=warnings)

    # -- I/O helpers ---------------------------------------------------------------------------
    def _all_pages(
        self, request: FetchRequest, session: requests.Session, group: IndicatorGroup
    ) -> tuple[list[Any], str]:
        per_page = int(getattr(request.settings, "per_page", DEFAULT_PER_PAGE))
        date_param = self._date_param(request, group)
        first_meta, first_rows = self._page(request, session, group, page=1, per_page=per_page,
                                            date_param=date_param)
        where = describe_url(f"{request.base_url}/{group.path}")
        if not first_rows:
            raise BadPayload(
                SOURCE,
                f"{where} returned an empty result (total "
                f"{first_meta.get('total', 0)}) for {', '.join(group.codes)} where data was "
                "expected",
                kind="empty",
            )
        release = str(first_meta.get("lastupdated") or "")
        pages: list[Any] = [[first_meta, first_rows]]
        total_pages = _as_int(first_meta.get("pages"), where, "pages")
        for number in range(2, total_pages + 1):
            meta, rows = self._page(request, session, group, page=number, per_page=per_page,
                                    date_param=date_param)
            if not rows:
                break  # the API's own end marker, even when `pages` promised more
            if str(meta.get("lastupdated") or "") != release:
                raise BadPayload(
                    SOURCE,
                    f"{where}: the data were updated while being paged "
                    f"(lastupdated {release} → {meta.get('lastupdated')}); try again",
                    kind="invalid",
                )
            pages.append([meta, rows])
        return pages, release

    def _date_param(self, request: FetchRequest, group: IndicatorGroup) -> str:
        date_range = str(getattr(request.settings, "date_range", DEFAULT_DATE_RANGE))
        start_text, _, end_text = date_range.partition(":")
        by_code = request.indicators_by_code()
        newest: list[date] = []
        for code in group.codes:
            stored = request.newest_stored(by_code[code].id)
            if stored is None:
                return date_range
            newest.append(stored)
        if not newest or not start_text.isdigit():
            return date_range
        start = max(int(start_text), min(newest).year - REVISION_LOOKBACK_YEARS)
        return f"{start}:{end_text or start_text}"

    def _page(
        self,
        request: FetchRequest,
        session: requests.Session,
        group: IndicatorGroup,
        *,
        page: int,
        per_page: int,
        date_param: str | None,
    ) -> tuple[dict[str, Any], list[Any]]:
        url = f"{request.base_url}/{group.path}"
        params: dict[str, str | int | float] = {
            "format": "json",
            "source": group.source_id,
            "per_page": per_page,
            "page": page,
        }
        if date_param:
            params["date"] = date_param
        try:
            response = get(
                session, url, source=SOURCE, params=params,
                retry_non_json_statuses=(400,), extra_attempts=TRANSIENT_400_RETRIES,
            )
        except HTTPStatusError as error:
            if error.status == 400:
                raise HTTPStatusError(
                    SOURCE,
                    f"{error.message} — the World Bank API kept answering HTTP 400 with its "
                    f"'Request Error' page after {TRANSIENT_400_RETRIES + 1} attempts (an "
                    f"unknown source id or indicator code can cause it: source "
                    f"{group.source_id}, codes {', '.join(group.codes)})",
                    status=400,
                ) from error
            raise
        return page_parts(response.payload, where=describe_url(url))


def _as_int(value: Any, where: str, field_name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as error:
        raise BadPayload(
            SOURCE, f"{where}: page metadata field '{field_name}' is not a number: {value!r}",
            kind="schema",
        ) from error
