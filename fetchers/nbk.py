"""National Bank of Kazakhstan official exchange rates (`get_rates.cfm`, one date per request)."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd
import requests

from fetchers import http
from fetchers.base import BaseFetcher, Extracted, FetchRequest, HttpValidator, Transformed
from fetchers.errors import BadPayload, PayloadKind
from indicators.catalogue import Indicator
from indicators.observations import empty_observations

SOURCE = "nbk"


@dataclass(frozen=True)
class NbkRates:
    """One `get_rates.cfm` document: its own date and KZT per one unit of each currency."""

    date: dt.date | None
    kzt_per_unit: dict[str, float]


def parse_rates_xml(body: bytes) -> NbkRates:
    """Parse one `get_rates.cfm?fdate=` response.

    A date outside the bank's served window comes back as an empty `<rates>` document with
    HTTP 200: that parses to no date and no rates, which is "no data", not an error.

    Args:
        body: the raw response body (UTF-8 XML).

    Returns:
        The document's own `<date>` and, per currency code, KZT per one unit
        (`description / quant`; e.g. UZS is quoted per 100).

    Raises:
        BadPayload: an HTML page, a truncated or otherwise unparsable document, or XML whose
            root is not `<rates>`.
    """
    head = body.lstrip()[:200].lower()
    if head.startswith((b"<!doctype html", b"<html")):
        raise BadPayload(SOURCE, "received an HTML page instead of the rates XML", kind="html")
    if not head:
        raise BadPayload(SOURCE, "received an empty body instead of the rates XML", kind="empty")
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as error:
        # A parse error on the body's last line means the document stops early.
        at_end = error.position[0] >= len(body.rstrip().splitlines())
        kind: PayloadKind = "truncated" if at_end else "invalid"
        state = "truncated" if at_end else "not well-formed"
        raise BadPayload(SOURCE, f"the rates XML is {state} ({error})", kind=kind) from error
    if root.tag != "rates":
        raise BadPayload(SOURCE, f"unexpected document <{root.tag}>, expected <rates>"
                                 " (schema changed?)", kind="schema")
    date_text = (root.findtext("date") or "").strip()
    quoted: dt.date | None = None
    if date_text:
        try:
            quoted = dt.datetime.strptime(date_text, "%d.%m.%Y").date()
        except ValueError as error:
            raise BadPayload(
                SOURCE, f"<date> is {date_text!r}, expected DD.MM.YYYY"
                        " (schema changed?)", kind="schema"
            ) from error
    rates: dict[str, float] = {}
    for item in root.iterfind("item"):
        code = (item.findtext("title") or "").strip().upper()
        rate = _kzt_per_unit(item.findtext("description"), item.findtext("quant"))
        if code and rate is not None:
            rates[code] = rate
    if rates and quoted is None:
        raise BadPayload(SOURCE, "the rates XML has rates but is missing <date>"
                                 " (schema changed?)", kind="schema")
    return NbkRates(date=quoted, kzt_per_unit=rates)


def _kzt_per_unit(description: str | None, quant: str | None) -> float | None:
    """`description / quant`, or None when either is missing or not a positive number."""
    try:
        price = float((description or "").strip())
        units = float((quant or "1").strip() or "1")
    except ValueError:
        return None
    if units <= 0 or price <= 0:
        return None
    return price / units


# ---------------------------------------------------------------------------------------------
# The fetcher
# ---------------------------------------------------------------------------------------------

COUNTRY = "KAZ"
DEFAULT_BACKFILL_DAYS = 45


@dataclass(frozen=True)
class NbkPayload:
    """The body served for one requested date."""

    requested: dt.date
    body: bytes


def dates_to_fetch(newest_stored: dt.date | None, today: dt.date, max_days: int) -> list[dt.date]:
    """The dates to request, oldest first.

    The newest stored date is fetched again (one conditional request: a corrected rate becomes a
    revision, and a second refresh with nothing new costs about one request); older gaps than
    `max_days` are left to the bundled snapshot.

    Args:
        newest_stored: newest stored rate date (None: nothing stored).
        today: the refresh's date.
        max_days: the most dates requested in one run (`backfill_days`).

    Returns:
        Consecutive calendar dates ending today (weekends included: the document says which
        date it quotes).
    """
    if max_days <= 0:
        return []
    first = today - dt.timedelta(days=max_days - 1)
    if newest_stored is not None:
        first = max(first, min(newest_stored, today))
    return [first + dt.timedelta(days=offset) for offset in range((today - first).days + 1)]


class NbkFetcher(BaseFetcher):
    """KZT per USD (or the configured currency) from the National Bank of Kazakhstan."""

    name: ClassVar[str] = SOURCE

    def extract(self, request: FetchRequest, session: requests.Session) -> Extracted:
        """Request `get_rates.cfm?fdate=DD.MM.YYYY` for each date from the newest stored to today.

        Args:
            request: `since` of the KAZ rate series, `settings.backfill_days`, `now`.
            session: the injected session.

        Returns:
            One `NbkPayload` per date answered (304 answers are skipped).

        Raises:
            FetchError: transport or status failures (a whole run fails; nothing is stored).
        """
        indicator = _rate_indicator(request)
        newest = request.since.get((indicator.id, COUNTRY)) if indicator is not None else None
        max_days = int(getattr(request.settings, "backfill_days", DEFAULT_BACKFILL_DAYS))
        dates = dates_to_fetch(newest, request.now.date(), max_days)
        url = request.base_url + "/get_rates.cfm"
        payloads: list[Any] = []
        validators: dict[str, HttpValidator] = {}
        for position, day in enumerate(dates, start=1):
            fdate = day.strftime("%d.%m.%Y")
            key = f"get_rates.cfm?fdate={fdate}"
            response = http.get(
                session,
                url,
                source=SOURCE,
                params={"fdate": fdate},
                validator=request.validators.get(key),
                expect="bytes",
                timeout=request.settings.timeout_seconds,
            )
            if day == dates[-1] and any(response.validator):
                # Only the newest date is asked again next time; keep one validator, not one a day.
                validators[key] = response.validator
            if not response.not_modified:
                # A bad body fails the whole run (see transform): stop here instead of spending
                # one request per remaining backfill day on a bank that serves nonsense.
                try:
                    parse_rates_xml(response.content)
                except BadPayload as error:
                    raise BadPayload(
                        SOURCE,
                        f"{error.message} (for {day.isoformat()}; stopped after {position} of "
                        f"{len(dates)} request(s))",
                        kind=error.kind,
                    ) from error
                payloads.append(NbkPayload(day, response.content))
        not_modified = bool(dates) and not payloads
        return Extracted(payloads=payloads, not_modified=not_modified, validators=validators)

    def transform(self, payloads: Sequence[Any], request: FetchRequest) -> Transformed:
        """One observation per distinct document date that quotes the currency.

        Args:
            payloads: `NbkPayload` items.
            request: the rate indicator (`source_code` = currency code) and `now`.

        Returns:
            Observations of the rate for KAZ, dated by each document's own `<date>`; dates the
            bank did not serve (empty `<rates>`) give no row and a warning.

        Raises:
            BadPayload: a body that is not the rates XML.
        """
        if not request.indicators:
            return Transformed(empty_observations(), warnings=["no NBK indicator is enabled"])
        parsed = []
        for payload in payloads:
            if not isinstance(payload, NbkPayload):
                raise BadPayload(SOURCE, f"unexpected payload {type(payload).__name__}")
            parsed.append((payload.requested, parse_rates_xml(payload.body)))
        frames: list[pd.DataFrame] = []
        warnings: list[str] = []
        for indicator in request.indicators:
            # source_code is the currency quoted (USD); KZT per one unit of it.
            currency = (indicator.source_code or "USD").strip().upper()
            rows: dict[dt.date, float] = {}
            unserved: list[str] = []
            for requested, rates in parsed:
                if rates.date is None or currency not in rates.kzt_per_unit:
                    unserved.append(requested.isoformat())
                    continue
                rows[rates.date] = rates.kzt_per_unit[currency]
            if unserved:
                warnings.append(
                    f"no {currency} rate served for {len(unserved)} date(s): {', '.join(unserved)}"
                )
            days = sorted(rows)
            frames.append(
                pd.DataFrame(
                    {
                        "indicator": indicator.id,
                        "country": COUNTRY,
                        "period": pd.to_datetime(days),
                        "value": [rows[day] for day in days],
                        "unit": indicator.unit,
                        "source": SOURCE,
                        "fetched_at": request.now,
                    }
                )
            )
        frame = pd.concat(frames, ignore_index=True)
        if parsed and frame.empty:
            # A date outside the bank's window is empty; every requested date empty is not.
            raise BadPayload(SOURCE, "no rates served for any requested date (empty result)",
                             kind="empty")
        return Transformed(frame, warnings=warnings)


def _rate_indicator(request: FetchRequest) -> Indicator | None:
    return request.indicators[0] if request.indicators else None
