"""WFP market prices from HDX: domestic fuel and staple food prices, one CSV per country.

Each configured country's file (`wfp_food_prices_<iso3>.csv`) is requested conditionally (its
stored ETag / Last-Modified), so an unchanged country costs one request answered 304. A country
that fails (transport, status, unreadable body) becomes a warning and the others carry on; only
when every country fails is the run an error.

From a file's market prices (`fetchers.wfp_layouts`) to one national monthly value per indicator
(the rule is also in docs/METHODOLOGY.md, "WFP market prices"):

1. keep the tracked commodities (`indicator_for`), drop `forecast` rows, placeholder dates (1900),
   wholesale prices and prices that are not positive;
2. one currency per country: the currency of most of the file's rows (Somalia: SOS); rows in
   another one (Somaliland's SLS) are dropped with a warning, never averaged in;
3. per (indicator, flag segment) one commodity variety and unit (retail before unknown price
   type, then the most rows, then by name), so a series never mixes varieties;
4. the price per kg or litre (`12 KG` cylinder / 12, `20 L` / 20, `Gallon` / 3.785);
5. per month, the median over markets of each market's (median) price.

WFP's `actual` and `aggregate` rows are different series (market mix and method change at the
switch: Afghanistan 9 → 34 markets in 2020-05): they are stored as vintages `wfp` and
`wfp:aggregate`, so scoring, which uses the newest vintage per (indicator, country), never
computes a step across the break. Periods: the month's first day for monthly indicators (the
food prices), its last day for the price-in-force fuel series (catalogued daily: a month's median
is the price as the month ends, so its age counts from then); `published_at` is the month's end
plus `publication_lag_days` (the file records no publication date).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd
import requests

from fetchers import http
from fetchers.base import BaseFetcher, Extracted, FetchRequest, HttpValidator, Transformed
from fetchers.errors import BadPayload, FetchError
from fetchers.wfp_layouts import (
    FIRST_VALID_MONTH,
    FUEL_INDICATORS,
    SOURCE,
    check_body,
    indicator_for,
    parse_market_prices,
    unit_size,
)
from fetchers.wfp_resources import DEFAULT_RESOURCES as DEFAULT_RESOURCES
from indicators.observations import empty_observations
from indicators.units import unit_accepts

VINTAGE_ACTUAL = "wfp"
VINTAGE_AGGREGATE = "wfp:aggregate"
DEFAULT_PUBLICATION_LAG_DAYS = 15


@dataclass(frozen=True)
class WfpFile:
    """One country's file as served."""

    country: str
    body: bytes


def file_path(country: str, resources: Mapping[str, str]) -> str:
    """The path below `base_url` of a country's file: its HDX resource path, else the flat
    mirror name `wfp_food_prices_<iso3>.csv`."""
    return resources.get(country) or f"wfp_food_prices_{country.lower()}.csv"


def validator_key(country: str) -> str:
    """The source-local key a country file's validators are stored under."""
    return f"file:{country}"


@dataclass(frozen=True)
class NationalSeries:
    """`national_series` output: observations plus the notes worth a warning."""

    observations: pd.DataFrame
    warnings: list[str]


def national_series(
    prices: pd.DataFrame,
    *,
    country: str,
    wanted: Mapping[str, str],
    publication_lag_days: int = DEFAULT_PUBLICATION_LAG_DAYS,
    dated_at_month_end: Collection[str] = (),
) -> NationalSeries:
    """One national value per (indicator, vintage, month) from one file's market prices.

    Args:
        prices: `parse_market_prices` output.
        country: ISO3 of the file.
        wanted: indicator id → catalogue unit (`LCU/litre`, `LCU/kg or LCU/litre`) of the
            indicators to produce.
        publication_lag_days: days after the month's end when a value counts as published.
        dated_at_month_end: indicators whose period is the month's last day (price-in-force
            series catalogued daily, like the fuel prices); the others (monthly indicators) are
            dated the month's first day, the store's convention for monthly periods.

    Returns:
        Canonical observation columns (indicator, country, period, value, unit, source, vintage,
        published_at) and warnings (dropped currencies, forecasts, unusable units).
    """
    notes: list[str] = []
    frame = prices.copy()
    frame["indicator"] = frame["commodity"].map(indicator_for)
    frame = frame[frame["indicator"].isin(list(wanted))]
    forecast = frame["flag"].str.contains("forecast")
    if forecast.any():
        notes.append(f"{country}: {int(forecast.sum())} forecast row(s) dropped")
    early = frame["month"] < FIRST_VALID_MONTH
    if early.any():
        notes.append(f"{country}: {int(early.sum())} row(s) with a placeholder date (before "
                     f"{FIRST_VALID_MONTH.year}) dropped")
    wholesale = frame["pricetype"].str.lower() == "wholesale"
    frame = frame[~forecast & ~early & ~wholesale & (frame["price"] > 0)]
    if frame.empty:
        return NationalSeries(_empty(), notes)

    main_currency = str(prices["currency"].value_counts().idxmax())
    other = frame["currency"] != main_currency
    if other.any():
        dropped = ", ".join(
            f"{count} in {currency}"
            for currency, count in frame.loc[other, "currency"].value_counts().items()
        )
        notes.append(
            f"{country}: rows in another currency than {main_currency} dropped ({dropped}): a "
            "series never mixes currencies"
        )
        frame = frame[~other]

    sizes = frame["unit"].map(unit_size)
    frame = frame.assign(
        quantity=[size[0] if size else float("nan") for size in sizes],
        per=[size[1] if size else "" for size in sizes],
    )
    frame["row_unit"] = main_currency + "/" + frame["per"]
    usable = [
        bool(per) and unit_accepts(wanted[indicator], unit)
        for indicator, per, unit in zip(frame["indicator"], frame["per"], frame["row_unit"],
                                        strict=True)
    ]
    unusable = frame.loc[[not item for item in usable]]
    if not unusable.empty:
        units = ", ".join(sorted(set(unusable["unit"])))
        notes.append(f"{country}: {len(unusable)} row(s) with a unit that is not a mass or volume "
                     f"the indicator takes dropped ({units})")
    frame = frame.loc[usable]
    if frame.empty:
        return NationalSeries(_empty(), notes)
    frame["vintage"] = frame["flag"].map(
        lambda flag: VINTAGE_AGGREGATE if "aggregate" in flag else VINTAGE_ACTUAL
    )
    frame["value"] = frame["price"] / frame["quantity"]
    chosen = _one_variety(frame)
    per_market = chosen.groupby(
        ["indicator", "vintage", "row_unit", "month", "market"], as_index=False
    )["value"].median()
    national = per_market.groupby(
        ["indicator", "vintage", "row_unit", "month"], as_index=False
    )["value"].median()
    month_end = national["month"] + pd.offsets.MonthEnd(0)
    observations = pd.DataFrame({
        "indicator": national["indicator"],
        "country": country,
        "period": national["month"].where(~national["indicator"].isin(list(dated_at_month_end)),
                                          month_end),
        "value": national["value"],
        "unit": national["row_unit"],
        "source": SOURCE,
        "vintage": national["vintage"],
        "published_at": month_end + pd.Timedelta(days=publication_lag_days),
    })
    return NationalSeries(observations.reset_index(drop=True), notes)


def _one_variety(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep, per (indicator, vintage), the rows of one (commodity, unit, price type)."""
    counts = (
        frame.groupby(["indicator", "vintage", "commodity", "unit", "pricetype"], as_index=False)
        .size()
    )
    # Retail first, then an unknown price type (a layout that lost the column), then the most
    # rows, then names (deterministic).
    counts["rank"] = counts["pricetype"].str.lower().map({"retail": 0, "": 1}).fillna(2)
    counts = counts.sort_values(
        ["indicator", "vintage", "rank", "size", "commodity", "unit"],
        ascending=[True, True, True, False, True, True],
    )
    best = counts.drop_duplicates(["indicator", "vintage"])
    return frame.merge(
        best[["indicator", "vintage", "commodity", "unit", "pricetype"]],
        on=["indicator", "vintage", "commodity", "unit", "pricetype"],
    )


def _empty() -> pd.DataFrame:
    return empty_observations().drop(columns=["fetched_at", "is_forecast"])


class WfpFetcher(BaseFetcher):
    """WFP market prices (HDX per-country CSVs): fuel and staple food, national monthly."""

    name: ClassVar[str] = SOURCE
    # The generic fuel catalogue (C1) is catalogued under the analyst's source; WFP serves it too.
    also_serves: ClassVar[tuple[str, ...]] = tuple(FUEL_INDICATORS.values())

    def extract(self, request: FetchRequest, session: requests.Session) -> Extracted:
        """GET each configured country's file, conditionally on its stored validators.

        Args:
            request: settings `countries`, `resources`; stored validators per country file.
            session: the injected session.

        Returns:
            One `WfpFile` per country answered with a body (304 answers add none); failures of
            single countries as warnings.

        Raises:
            FetchError: every country failed (the first failure; the others are in its message).
        """
        countries = _countries(request)
        resources = {
            str(key).upper(): str(value)
            for key, value in dict(getattr(request.settings, "resources", {}) or {}).items()
        }
        payloads: list[Any] = []
        validators: dict[str, HttpValidator] = {}
        warnings: list[str] = []
        failures: list[FetchError] = []
        unchanged = 0
        for country in countries:
            key = validator_key(country)
            url = f"{request.base_url}/{file_path(country, resources)}"
            try:
                response = http.get(
                    session, url, source=SOURCE, validator=request.validators.get(key),
                    expect="bytes", timeout=request.settings.timeout_seconds,
                )
            except FetchError as error:
                failures.append(error)
                warnings.append(f"{country}: {error.message}")
                continue
            if not response.not_modified:
                try:
                    check_body(response.content, country=country)
                except BadPayload as error:
                    # Its ETag is not kept: the next refresh asks for the whole file again.
                    failures.append(error)
                    warnings.append(error.message)
                    continue
            if any(response.validator):
                validators[key] = response.validator
            if response.not_modified:
                unchanged += 1
                continue
            payloads.append(WfpFile(country, response.content))
        if failures and not payloads and not unchanged:
            first = failures[0]
            if len(failures) > 1:
                first.message = f"every country failed: {'; '.join(warnings)}"
                first.args = (f"{first.source}: {first.message}",)
            raise first
        return Extracted(
            payloads=payloads,
            not_modified=bool(countries) and not payloads and not failures,
            validators=validators,
            warnings=warnings,
        )

    def transform(self, payloads: Sequence[Any], request: FetchRequest) -> Transformed:
        """National monthly series of every requested indicator from the country files.

        Args:
            payloads: `WfpFile` items.
            request: indicators (ids and catalogue units), settings `publication_lag_days`, now.

        Returns:
            The observations and per-country warnings (a country whose file cannot be read is a
            warning while another country's can).

        Raises:
            BadPayload: no file could be read, or none had a row for a requested indicator.
        """
        wanted = {item.id: item.unit for item in request.indicators}
        month_end = {item.id for item in request.indicators if item.frequency != "monthly"}
        lag = int(getattr(request.settings, "publication_lag_days", DEFAULT_PUBLICATION_LAG_DAYS))
        frames: list[pd.DataFrame] = []
        warnings: list[str] = []
        failures: list[BadPayload] = []
        for payload in payloads:
            if not isinstance(payload, WfpFile):
                raise BadPayload(SOURCE, f"unexpected payload {type(payload).__name__}")
            try:
                prices = parse_market_prices(payload.body, country=payload.country)
            except BadPayload as error:
                failures.append(error)
                warnings.append(error.message)
                continue
            series = national_series(prices, country=payload.country, wanted=wanted,
                                     publication_lag_days=lag, dated_at_month_end=month_end)
            warnings.extend(series.warnings)
            if series.observations.empty:
                warnings.append(f"{payload.country}: no rows for any requested indicator")
            frames.append(series.observations)
        if failures and not frames:
            raise failures[0]
        frame = pd.concat(frames, ignore_index=True) if frames else _empty()
        if payloads and frame.empty:
            raise BadPayload(SOURCE, "no fuel or staple food rows in any country file (empty "
                                     "result)", kind="empty")
        frame["fetched_at"] = request.now
        return Transformed(frame, warnings=warnings)


def _countries(request: FetchRequest) -> list[str]:
    configured = getattr(request.settings, "countries", None)
    if configured is None:
        configured = sorted(DEFAULT_RESOURCES)
    codes = (str(item).strip().upper() for item in configured)
    return list(dict.fromkeys(code for code in codes if code))
