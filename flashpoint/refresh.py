"""Refresh orchestration: run each enabled source's fetcher and write what it found to the store.

For every source (looked up by name in `fetchers.REGISTRY`): open a fetch-run row, build the
`FetchRequest` (catalogue indicators of that source, countries, stored validators, newest stored
periods), fetch over HTTP with no database transaction open, then write observations, extra
tables and validators in ONE transaction and close the run with its counts. A source that fails
(any `FetchError`, a store error, or an unexpected exception) gets status "error" with the cause
in plain words; nothing it fetched is written, and the next source still runs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol

import pandas as pd
import requests
from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from fetchers import REGISTRY
from fetchers.base import FetchRequest, FetchResult, SeriesKey, SourceSettings, utc_now
from fetchers.errors import FetchError
from fetchers.http import HttpValidator, make_session, requests_made
from flashpoint import store
from flashpoint.errors import StoreError
from indicators.catalogue import Catalogue
from indicators.observations import WORLD

log = logging.getLogger("flashpoint.refresh")

Outcome = Literal["ok", "not_modified", "error", "skipped"]


class _SourcesSettings(Protocol):
    def names(self) -> tuple[str, ...]: ...

    def get(self, name: str) -> Any: ...


class _GeneralSettings(Protocol):
    @property
    def countries(self) -> Sequence[str]: ...


class RefreshSettings(Protocol):
    """What the refresh reads from `flashpoint.config.Settings`."""

    @property
    def general(self) -> _GeneralSettings: ...

    @property
    def sources(self) -> _SourcesSettings: ...

    def catalogue(self) -> Catalogue: ...


class SessionFactory(Protocol):
    """Builds the HTTP session for one source (`fetchers.http.make_session` by default)."""

    def __call__(
        self, *, max_retries: int, timeout: float, min_interval_seconds: float
    ) -> requests.Session: ...


# Writers for a fetcher's extra tables (FetchResult.extra_tables), by table name. Each writes
# inside the source's transaction (it receives the open connection) and returns rows written.
ExtraTableWriter = Callable[[Connection, pd.DataFrame], int]
EXTRA_TABLE_WRITERS: dict[str, ExtraTableWriter] = {"acled_events": store.upsert_acled_events}


@dataclass(frozen=True)
class SourceRunReport:
    """The outcome of one source in one refresh."""

    source: str
    status: Outcome
    run_id: int | None = None
    requests: int = 0
    rows_new: int = 0
    rows_changed: int = 0
    rows_unchanged: int = 0
    duration_seconds: float = 0.0
    error: str | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """True unless the source failed."""
        return self.status != "error"


ProgressCallback = Callable[[str, SourceRunReport | None], None]


def all_ok(reports: Iterable[SourceRunReport]) -> bool:
    """True when no source in `reports` failed (skipped and not-modified sources are fine)."""
    return all(report.ok for report in reports)


def refresh_sources(
    engine: Engine,
    settings: RefreshSettings,
    *,
    sources: Sequence[str] | None = None,
    countries: Sequence[str] | None = None,
    session_factory: SessionFactory = make_session,
    progress: ProgressCallback | None = None,
    now: datetime | None = None,
) -> list[SourceRunReport]:
    """Refresh sources into the store, one fetch run each; a failing source never stops the rest.

    Args:
        engine: the store.
        settings: the configuration (sources, watched countries, catalogue).
        sources: source names to refresh, in this order; None = every enabled configured source
            that has a registered fetcher. A name given here runs even if disabled in the config.
        countries: ISO3 codes; None = the config's watched countries.
        session_factory: builds each source's HTTP session (tests point it at loopback).
        progress: called with (source, None) when a source starts and (source, report) when done.
        now: the refresh clock (naive UTC); the current time when None.

    Returns:
        One report per source, in order.
    """
    catalogue = settings.catalogue()
    chosen = sources_to_refresh(settings, sources)
    watched = tuple(countries if countries is not None else settings.general.countries)
    stamp = now or utc_now()
    try:
        all_validators = store.read_http_validators(engine)
    except Exception:
        log.exception("could not read stored HTTP validators; fetching without them")
        all_validators = {}
    reports = []
    for name in chosen:
        if progress is not None:
            progress(name, None)
        report = _refresh_one(
            engine, settings, catalogue, name,
            countries=watched, validators=all_validators, session_factory=session_factory,
            now=stamp,
        )
        _log_report(report)
        reports.append(report)
        if progress is not None:
            progress(name, report)
    return reports


def sources_to_refresh(settings: RefreshSettings, requested: Sequence[str] | None) -> list[str]:
    """The sources a refresh runs, in order: `requested` (deduplicated) when given, else every
    enabled configured source that has a registered fetcher."""
    if requested is not None:
        return list(dict.fromkeys(requested))
    chosen = []
    for name in settings.sources.names():
        if not settings.sources.get(name).enabled:
            continue
        if name not in REGISTRY:
            log.warning("source has no fetcher yet; skipped", extra={"source": name})
            continue
        chosen.append(name)
    return chosen


def _refresh_one(
    engine: Engine,
    settings: RefreshSettings,
    catalogue: Catalogue,
    name: str,
    *,
    countries: tuple[str, ...],
    validators: Mapping[str, tuple[str | None, str | None]],
    session_factory: SessionFactory,
    now: datetime,
) -> SourceRunReport:
    started = time.monotonic()
    try:
        source_settings: SourceSettings = settings.sources.get(name)
    except KeyError:
        return SourceRunReport(name, "error", error=f"{name}: no such source in the config")
    fetcher_class = REGISTRY.get(name)
    if fetcher_class is None:
        known = ", ".join(REGISTRY) or "none"
        return SourceRunReport(
            name, "error", error=f"{name}: no fetcher is registered for it (known: {known})"
        )
    # A fetcher may also serve indicators catalogued under another source (`also_serves`): fx
    # writes usd_fx_rate for the countries NBK does not quote, eia the spot prices FRED serves.
    also_serves = frozenset(getattr(fetcher_class, "also_serves", ()))
    indicators = tuple(
        item for item in catalogue.indicators
        if (item.source == name or item.id in also_serves) and item.enabled
    )
    if not indicators:
        return SourceRunReport(
            name, "skipped", warnings=("no enabled catalogue indicator uses this source",)
        )

    run_id = store.start_fetch_run(engine, name)
    session: requests.Session | None = None
    result: FetchResult | None = None
    try:
        request = FetchRequest(
            source=name,
            settings=source_settings,
            indicators=indicators,
            countries=countries,
            validators=_validators_for(name, validators),
            since=_newest_periods(engine, [item.id for item in indicators], countries),
            now=now,
        )
        session = session_factory(
            max_retries=int(source_settings.max_retries),
            timeout=float(source_settings.timeout_seconds),
            min_interval_seconds=float(source_settings.min_interval_seconds),
        )
        result = fetcher_class().fetch(request, session)
        counts = _write(engine, name, result, run_id)
    except Exception as error:  # a failing source must never stop the others
        message = _plain_error(name, error)
        made = result.requests_made if result is not None else _session_count(session)
        duration = time.monotonic() - started
        _finish(engine, run_id, status="error", requests=made, counts=None, error=message,
                detail={"duration_seconds": round(duration, 3)})
        return SourceRunReport(name, "error", run_id, requests=made,
                               duration_seconds=duration, error=message)
    finally:
        if session is not None:
            session.close()

    duration = time.monotonic() - started
    status: Outcome = "not_modified" if result.not_modified and counts.written == 0 else "ok"
    _finish(
        engine, run_id, status=status, requests=result.requests_made, counts=counts,
        detail={
            "duration_seconds": round(duration, 3),
            "rows_fetched": len(result.observations),
            "warnings": list(result.warnings),
        },
    )
    return SourceRunReport(
        name, status, run_id,
        requests=result.requests_made,
        rows_new=counts.new, rows_changed=counts.changed, rows_unchanged=counts.unchanged,
        duration_seconds=duration, warnings=tuple(result.warnings),
    )


def _write(engine: Engine, name: str, result: FetchResult, run_id: int) -> store.UpsertCounts:
    """Observations, extra tables and validators of one source, in one transaction."""
    unknown = sorted(set(result.extra_tables) - set(EXTRA_TABLE_WRITERS))
    if unknown:
        raise ValueError(f"no store writer for the extra table(s) {', '.join(unknown)}")
    with store.begin_write(engine) as connection:
        counts = store.upsert_observations(connection, result.observations, fetch_run_id=run_id)
        for table, rows in result.extra_tables.items():
            EXTRA_TABLE_WRITERS[table](connection, rows)
        for key, validator in result.validators.items():
            store.set_http_validator(
                connection, f"{name}:{key}", validator.etag, validator.last_modified
            )
    return counts


def _validators_for(
    name: str, stored: Mapping[str, tuple[str | None, str | None]]
) -> dict[str, HttpValidator]:
    prefix = f"{name}:"
    return {
        key[len(prefix):]: HttpValidator(*value)
        for key, value in stored.items()
        if key.startswith(prefix)
    }


def _newest_periods(
    engine: Engine, indicator_ids: Sequence[str], countries: Sequence[str]
) -> dict[SeriesKey, date]:
    latest = store.latest_periods(engine, indicators=indicator_ids)
    if latest.empty:
        return {}
    if countries:
        # Global series (Brent, propane) are stored under WLD, which is never a watched country.
        latest = latest[latest["country"].isin([*countries, WORLD])]
    newest = latest.groupby(["indicator", "country"], as_index=False)["last_period"].max()
    return {
        (str(indicator), str(country)): pd.Timestamp(period).date()
        for indicator, country, period in zip(
            newest["indicator"], newest["country"], newest["last_period"], strict=True
        )
    }


def _finish(
    engine: Engine, run_id: int, *, status: str, requests: int,
    counts: store.UpsertCounts | None, error: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    try:
        store.finish_fetch_run(engine, run_id, status=status, requests=requests, counts=counts,
                               error=error, detail=detail)
    except Exception:
        log.exception("could not record the end of fetch run %s", run_id)


def _plain_error(name: str, error: BaseException) -> str:
    """One line for the fetch-run row: the source and the cause, no traceback."""
    if isinstance(error, FetchError):
        return str(error) if error.source == name else f"{name}: {error}"
    if isinstance(error, StoreError):
        return f"{name}: the store refused the data: {error}"
    if isinstance(error, ValueError):
        # e.g. a fetcher returning a repeated (indicator, country, period, vintage) key
        log.exception("source returned data the store cannot take", extra={"source": name})
        return f"{name}: the fetched data could not be stored: {error}"
    log.exception("unexpected error while refreshing", extra={"source": name})
    return f"{name}: unexpected {type(error).__name__} while refreshing: {error}"


def _session_count(session: requests.Session | None) -> int:
    return requests_made(session) if session is not None else 0


def _log_report(report: SourceRunReport) -> None:
    level = logging.WARNING if report.status == "error" else logging.INFO
    log.log(
        level,
        "refreshed source",
        extra={
            "event": "refresh",
            "source": report.source,
            "outcome": report.status,
            "requests": report.requests,
            "rows_new": report.rows_new,
            "rows_changed": report.rows_changed,
            "rows_unchanged": report.rows_unchanged,
            "duration_s": round(report.duration_seconds, 3),
            "error": report.error or "",
        },
    )
