"""The fetcher contract: what a source gets (`FetchRequest`) and returns (`FetchResult`).

A source is a class with a `name` and `fetch(request, session) -> FetchResult`. Most sources
subclass `BaseFetcher`, which splits the work the OpenBB way:

    extract(request, session) -> Extracted    all I/O: HTTP through `fetchers.http.get`
    transform(payloads, request) -> frame     pure: recorded bodies in, canonical frame out

`BaseFetcher.fetch` runs the two, counts the session's HTTP attempts, conforms the frame to
`indicators.observations.OBSERVATION_COLUMNS`, and turns a parser tripping over an unexpected
layout (KeyError, TypeError, ...) into `BadPayload`, so a changed schema is a recorded fetch
error, never a crash and never a partial write.

Validators: `FetchRequest.validators` and `FetchResult.validators` are keyed by a source-local
key (e.g. a URL without its query's secrets, or `"lastupdated:WDI"`); the refresh stores them
in `http_validators` under `"<source>:<key>"`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Protocol, runtime_checkable

import pandas as pd
import requests

from fetchers.errors import BadPayload, FetchError
from fetchers.http import HttpValidator, requests_made
from indicators.catalogue import Indicator
from indicators.observations import conform_observations, empty_observations

__all__ = [
    "BaseFetcher",
    "Extracted",
    "FetchRequest",
    "FetchResult",
    "Fetcher",
    "HttpValidator",
    "SeriesKey",
    "SourceSettings",
    "Transformed",
    "utc_now",
]

# (indicator id, ISO3 country)
SeriesKey = tuple[str, str]


class SourceSettings(Protocol):
    """The part of a `[sources.<name>]` config table every fetcher may rely on.

    Source-specific keys (World Bank `per_page`, credential env-var names, ...) are read with
    `getattr(settings, "per_page", default)` so that a settings object without them still works.
    """

    @property
    def base_url(self) -> str: ...

    @property
    def timeout_seconds(self) -> float: ...

    @property
    def max_retries(self) -> int: ...

    @property
    def min_interval_seconds(self) -> float: ...


def utc_now() -> datetime:
    """Now as a naive UTC datetime (the store's convention)."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class FetchRequest:
    """Everything one source needs for one refresh.

    Attributes:
        source: registry name of the source (`"worldbank"`).
        settings: the source's settings (`base_url`, `timeout_seconds`, `max_retries`,
            `min_interval_seconds`, plus source-specific keys).
        indicators: the enabled catalogue indicators whose `source` is this source; each
            `source_code` is the source's own code (`"SI.POV.GINI"`), `id` the catalogue id.
        countries: ISO3 codes to fetch (empty tuple: the source's natural scope, e.g. WLD).
        validators: stored validators by source-local key.
        since: newest stored period per (indicator id, country); absent = nothing stored.
        now: the refresh's clock (naive UTC); fetchers stamp `fetched_at` with it.
    """

    source: str
    settings: SourceSettings
    indicators: tuple[Indicator, ...]
    countries: tuple[str, ...] = ()
    validators: Mapping[str, HttpValidator] = field(default_factory=dict)
    since: Mapping[SeriesKey, date] = field(default_factory=dict)
    now: datetime = field(default_factory=utc_now)

    @property
    def base_url(self) -> str:
        """The configured base URL without a trailing slash."""
        return str(self.settings.base_url).rstrip("/")

    def indicators_by_code(self) -> dict[str, Indicator]:
        """Catalogue indicators keyed by the source's own code."""
        return {item.source_code: item for item in self.indicators}

    def newest_stored(self, indicator_id: str) -> date | None:
        """The oldest of the newest stored periods over the requested countries (None if any
        country has nothing stored), i.e. the date an incremental fetch can safely start from."""
        if not self.countries:
            return None
        dates = [self.since.get((indicator_id, country)) for country in self.countries]
        if any(item is None for item in dates):
            return None
        return min(item for item in dates if item is not None)


@dataclass
class FetchResult:
    """What one source's fetch produced; the refresh writes it in one transaction.

    Attributes:
        observations: canonical observation frame (may be empty).
        requests_made: HTTP attempts made, retries included.
        not_modified: True when the source said nothing changed (HTTP 304, same `lastupdated`).
        validators: validators to store, by source-local key.
        warnings: plain-words notes for the fetch run (skipped series, unknown codes, ...).
        extra_tables: source-specific raw tables for the store (e.g. `"acled_events"`).
    """

    observations: pd.DataFrame
    requests_made: int = 0
    not_modified: bool = False
    validators: dict[str, HttpValidator] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    extra_tables: dict[str, pd.DataFrame] = field(default_factory=dict)


@dataclass
class Extracted:
    """What `extract` hands to `transform`: raw payloads plus what the I/O learned."""

    payloads: list[Any] = field(default_factory=list)
    not_modified: bool = False
    validators: dict[str, HttpValidator] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass
class Transformed:
    """`transform`'s output when a source has more than observations to return."""

    observations: pd.DataFrame
    extra_tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@runtime_checkable
class Fetcher(Protocol):
    """Anything the refresh can run: a registry name and a `fetch`."""

    name: ClassVar[str]

    def fetch(self, request: FetchRequest, session: requests.Session) -> FetchResult: ...


# Exceptions a parser raises when a body does not have the layout it was written for.
_LAYOUT_ERRORS = (KeyError, IndexError, TypeError, ValueError, AttributeError)


class BaseFetcher(ABC):
    """A fetcher split into `extract` (I/O) and `transform` (pure); `fetch` runs both."""

    name: ClassVar[str]

    @abstractmethod
    def extract(self, request: FetchRequest, session: requests.Session) -> Extracted:
        """Make the HTTP requests and return the raw payloads.

        Args:
            request: what to fetch.
            session: the injected session; pass it to `fetchers.http.get`.

        Returns:
            The payloads (decoded JSON, text or bytes) and what the I/O learned.

        Raises:
            FetchError: any failure, already classified.
        """

    @abstractmethod
    def transform(
        self, payloads: Sequence[Any], request: FetchRequest
    ) -> pd.DataFrame | Transformed:
        """Turn raw payloads into canonical observations; pure, no I/O.

        Args:
            payloads: what `extract` returned (or recorded bodies, in tests).
            request: the request, for indicator codes, countries and `now`.

        Returns:
            A frame with at least indicator, country, period, value, unit and source, or a
            `Transformed` when there are extra tables or warnings.

        Raises:
            BadPayload: the payload's layout is not the one documented.
            ApiError: the payload is the API's own error message.
        """

    def fetch(self, request: FetchRequest, session: requests.Session) -> FetchResult:
        """Extract, transform and conform; the refresh's single entry point.

        Args:
            request: what to fetch.
            session: the injected session.

        Returns:
            The canonical result; `requests_made` counts the session's attempts during the call.

        Raises:
            FetchError: any failure (a parser's layout error becomes `BadPayload`).
        """
        before = requests_made(session)
        extracted = self.extract(request, session)
        count = requests_made(session) - before
        if extracted.not_modified and not extracted.payloads:
            return FetchResult(
                observations=empty_observations(),
                requests_made=count,
                not_modified=True,
                validators=dict(extracted.validators),
                warnings=list(extracted.warnings),
            )
        try:
            produced = self.transform(extracted.payloads, request)
            if isinstance(produced, Transformed):
                frame, extra = produced.observations, produced.extra_tables
                notes = produced.warnings
            else:
                frame, extra, notes = produced, {}, []
            frame = frame.copy()
            if "fetched_at" not in frame.columns:
                frame["fetched_at"] = request.now
            observations = conform_observations(frame)
        except FetchError:
            raise
        except _LAYOUT_ERRORS as error:
            raise BadPayload(
                self.name,
                f"the response does not have the expected layout ({type(error).__name__}: "
                f"{error})",
                kind="schema",
            ) from error
        return FetchResult(
            observations=observations,
            requests_made=count,
            not_modified=extracted.not_modified and observations.empty,
            validators=dict(extracted.validators),
            warnings=[*extracted.warnings, *notes],
            extra_tables=dict(extra),
        )
