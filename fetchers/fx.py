"""Keyless daily USD exchange rates (open.er-api.com) for the watched countries other than KAZ."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd
import requests

from fetchers import http
from fetchers.base import BaseFetcher, Extracted, FetchRequest, Transformed
from fetchers.errors import ApiError, BadPayload
from fetchers.fx_currencies import DEFAULT_CURRENCIES as DEFAULT_CURRENCIES
from indicators.observations import empty_observations

SOURCE = "fx"
INDICATOR = "usd_fx_rate"
UNIT = "LCU per USD"


@dataclass(frozen=True)
class LatestRates:
    """One `latest/USD` document: the UTC day it was last updated and units of each currency."""

    updated: dt.date
    per_usd: dict[str, float]


def parse_latest(payload: Any) -> LatestRates:
    """Parse open.er-api.com's `/v6/latest/USD` answer.

    Args:
        payload: the decoded JSON.

    Returns:
        The update day (from `time_last_update_unix`, UTC) and currency → units per 1 USD.

    Raises:
        ApiError: the API's error envelope (`{"result": "error", "error-type": ...}`).
        BadPayload: no `rates`, a base other than USD, or no update time (a changed schema).
    """
    if not isinstance(payload, Mapping):
        raise BadPayload(SOURCE, "expected a JSON object (schema changed?)", kind="schema")
    if payload.get("result") == "error":
        error_type = str(payload.get("error-type") or "unknown-error")
        raise ApiError(SOURCE, f"open.er-api.com reported an error: {error_type}", code=error_type)
    rates = payload.get("rates")
    if payload.get("result") != "success" or not isinstance(rates, Mapping):
        raise BadPayload(SOURCE, "the answer is missing 'result': 'success' and 'rates'"
                                 " (schema changed?)",
                         kind="schema")
    base = payload.get("base_code")
    if base != "USD":
        raise BadPayload(SOURCE, f"rates are quoted against {base!r}, expected 'USD'"
                                 " (schema changed?)",
                         kind="schema")
    stamp = payload.get("time_last_update_unix")
    if not isinstance(stamp, int | float) or isinstance(stamp, bool):
        raise BadPayload(SOURCE, "the answer is missing 'time_last_update_unix'"
                                 " (schema changed?)", kind="schema")
    updated = dt.datetime.fromtimestamp(float(stamp), tz=dt.UTC).date()
    per_usd: dict[str, float] = {}
    for code, value in rates.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
            if math.isfinite(number) and number > 0:
                per_usd[str(code).upper()] = number
    return LatestRates(updated=updated, per_usd=per_usd)


class FxFetcher(BaseFetcher):
    """`usd_fx_rate` for the watched countries in the currency table, from one request a day."""

    name: ClassVar[str] = SOURCE
    # usd_fx_rate is catalogued under nbk (Kazakhstan); this source fills the other countries.
    also_serves: ClassVar[tuple[str, ...]] = (INDICATOR,)

    def extract(self, request: FetchRequest, session: requests.Session) -> Extracted:
        """GET the latest rates per USD (the configured `base_url` is the full endpoint).

        Args:
            request: settings (`base_url`, `timeout_seconds`).
            session: the injected session.

        Returns:
            The decoded JSON as the only payload.

        Raises:
            FetchError: transport, status (429 included) or payload failures.
        """
        response = http.get(
            session, request.base_url, source=SOURCE, expect="json",
            timeout=request.settings.timeout_seconds,
        )
        return Extracted(payloads=[response.payload])

    def transform(self, payloads: Sequence[Any], request: FetchRequest) -> Transformed:
        """One observation per watched country with a known currency quoted in the answer.

        Args:
            payloads: decoded `latest/USD` documents.
            request: countries, `settings.currencies` and `now`.

        Returns:
            `usd_fx_rate` rows dated by the document's update day; a missing currency is a
            warning, not an error.

        Raises:
            ApiError: the API's error envelope.
            BadPayload: a changed schema.
        """
        table = _currency_table(request)
        unit = next((item.unit for item in request.indicators if item.id == INDICATOR), UNIT)
        countries = [country for country in request.countries if country in table]
        if not request.countries:
            countries = sorted(table)
        rows: list[dict[str, Any]] = []
        warnings: list[str] = []
        for payload in payloads:
            latest = parse_latest(payload)
            for country in countries:
                currency = table[country]
                if currency not in latest.per_usd:
                    warnings.append(f"no {currency} rate for {country} in the answer")
                    continue
                rows.append(
                    {
                        "indicator": INDICATOR,
                        "country": country,
                        "period": pd.Timestamp(latest.updated),
                        "value": latest.per_usd[currency],
                        "unit": unit,
                        "source": SOURCE,
                        "fetched_at": request.now,
                    }
                )
        if payloads and countries and not rows:
            raise BadPayload(SOURCE, "no rate for any watched country (empty result)",
                             kind="empty")
        frame = pd.DataFrame(rows) if rows else empty_observations()
        return Transformed(frame, warnings=warnings)


def _currency_table(request: FetchRequest) -> dict[str, str]:
    configured = getattr(request.settings, "currencies", None)
    table = configured if isinstance(configured, Mapping) and configured else DEFAULT_CURRENCIES
    return {str(country).upper(): str(code).upper() for country, code in table.items()}
