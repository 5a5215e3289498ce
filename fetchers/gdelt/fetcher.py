"""The GDELT fetcher: download the recount window's export files and count them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import urljoin

import pandas as pd
import requests

from fetchers import http
from fetchers.base import BaseFetcher, Extracted, FetchRequest, HttpValidator
from fetchers.errors import BadPayload, HTTPStatusError
from fetchers.gdelt.aggregate import CountWindow, aggregate_counts
from fetchers.gdelt.exports import (
    GDELT1_DAILY,
    GDELT2_15MIN,
    SOURCE,
    FileCounts,
    Layout,
    count_events,
    parse_lastupdate,
)
from fetchers.gdelt.window import Variant, daily_stamps, quarter_hour_stamps, recount_start
from indicators.catalogue import Indicator
from indicators.observations import empty_observations

DEFAULT_MAX_FILES: Mapping[str, int] = {"daily": 62, "15min": 3000}


class GdeltFetcher(BaseFetcher):
    """Monthly protest/conflict counts and daily protest and event totals from the bulk exports."""

    name: ClassVar[str] = SOURCE

    def extract(self, request: FetchRequest, session: requests.Session) -> Extracted:
        """Download and count the export files of the recount window, oldest first.

        Args:
            request: indicators, countries, `since`, validators (the cursor), `now`, and the
                settings `events_url`, `events_variant` ("daily" | "15min"),
                `max_files_per_run`.
            session: the injected session (its rate limiter keeps GDELT's pace).

        Returns:
            One `CountWindow` payload (file counts, not bodies: a month of daily files would
            otherwise sit in memory), or not-modified when no new file was published.

        Raises:
            FetchError: transport/status failures, the rate-limit text, a damaged file.
        """
        variant = _variant(request)
        today = request.now.date()
        monthly = [item for item in request.indicators if item.frequency == "monthly"]
        stored = _oldest_newest_month(request, monthly or list(request.indicators))
        start = recount_start(stored, today, variant)
        root = _events_root(request)
        cursor_key = f"cursor:{variant}"
        cursor = request.validators.get(cursor_key)
        validators: dict[str, HttpValidator] = {}

        if variant == "daily":
            # A daily file covers a whole UTC day and is published the morning after.
            newest_expected = (today - dt.timedelta(days=1)).strftime("%Y%m%d")
            stamps = daily_stamps(start, today - dt.timedelta(days=1))
            layout, folder = GDELT1_DAILY, "events"
        else:
            listing = http.get(
                session, f"{root}/gdeltv2/lastupdate.txt", source=SOURCE, expect="bytes",
                validator=request.validators.get("lastupdate.txt"),
                timeout=request.settings.timeout_seconds,
            )
            if any(listing.validator):
                validators["lastupdate.txt"] = listing.validator
            if listing.not_modified:
                return Extracted(not_modified=True, validators=validators)
            newest_expected = parse_lastupdate(listing.text)
            stamps = quarter_hour_stamps(start, newest_expected)
            layout, folder = GDELT2_15MIN, "gdeltv2"

        counted: dict[str, FileCounts] = {}
        if cursor is not None and cursor.etag and stored is not None:
            if cursor.etag >= newest_expected:
                return Extracted(not_modified=True, validators=validators)
            if variant == "daily":
                # One request tells whether the newest daily file is out yet; if not, the month
                # need not be recounted (runs are hourly, the file comes once a day). Probing the
                # newest file, not the one after the cursor, means a day GDELT never published
                # cannot stall the source.
                probe = newest_expected
                if probe in stamps:
                    probed = self._download(request, session, root, "events", probe, layout)
                    if probed is None:
                        return Extracted(not_modified=True, validators=validators)
                    counted[probe] = probed

        limit = int(getattr(request.settings, "max_files_per_run", 0) or DEFAULT_MAX_FILES[variant])
        reached_newest = len(stamps) <= limit
        stamps = stamps[:limit]
        files: list[FileCounts] = []
        missing: list[str] = []
        warnings: list[str] = []
        for stamp in stamps:
            result = counted.get(stamp) or self._download(
                request, session, root, folder, stamp, layout
            )
            if result is None:
                if stamp == stamps[-1] and reached_newest:
                    break  # the newest file is not published yet
                missing.append(stamp)
                continue
            files.append(result)
            if result.malformed:
                warnings.append(f"{stamp}: skipped {result.malformed} malformed row(s)")
        if missing:
            warnings.append(
                f"{len(missing)} export file(s) missing upstream, counts exclude them: "
                + ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
            )
        if files:
            validators[cursor_key] = HttpValidator(max(item.stamp for item in files), None)
        window = CountWindow(variant, start, tuple(files), reached_newest, tuple(missing))
        return Extracted(payloads=[window], validators=validators, warnings=warnings)

    @staticmethod
    def _download(
        request: FetchRequest,
        session: requests.Session,
        root: str,
        folder: str,
        stamp: str,
        layout: Layout,
    ) -> FileCounts | None:
        """Download and count one export file; None when it does not exist (HTTP 404)."""
        url = f"{root}/{folder}/{stamp}.export.CSV.zip"
        try:
            response = http.get(
                session, url, source=SOURCE, expect="bytes",
                timeout=request.settings.timeout_seconds,
            )
        except HTTPStatusError as error:
            if error.status == 404:
                return None
            raise
        return count_events(response.content, layout, stamp)

    def transform(self, payloads: Sequence[Any], request: FetchRequest) -> pd.DataFrame:
        """Aggregate the counted window into observations (see `aggregate_counts`).

        Args:
            payloads: `CountWindow` items (one per run).
            request: indicators, countries, `now`.

        Returns:
            The canonical frame.

        Raises:
            BadPayload: an unexpected payload.
        """
        frames = []
        for payload in payloads:
            if not isinstance(payload, CountWindow):
                raise BadPayload(SOURCE, f"unexpected payload {type(payload).__name__}")
            frames.append(
                aggregate_counts(payload, request.indicators, request.countries, request.now)
            )
        return pd.concat(frames, ignore_index=True) if frames else empty_observations()


def _variant(request: FetchRequest) -> Variant:
    value = str(getattr(request.settings, "events_variant", "daily") or "daily")
    if value not in ("daily", "15min"):
        raise BadPayload(SOURCE, f"events_variant {value!r} is neither 'daily' nor '15min'")
    return "daily" if value == "daily" else "15min"


def _events_root(request: FetchRequest) -> str:
    """`http://data.gdeltproject.org` from the configured `events_url` (…/gdeltv2 or the root).

    A relative `events_url` is resolved against `base_url` (a mirror serving both).
    """
    url = str(getattr(request.settings, "events_url", "") or "http://data.gdeltproject.org")
    if "://" not in url:
        url = urljoin(request.base_url + "/", url)
    url = url.rstrip("/")
    for suffix in ("/gdeltv2", "/events"):
        if url.endswith(suffix):
            return url[: -len(suffix)]
    return url


def _oldest_newest_month(request: FetchRequest, indicators: Sequence[Indicator]) -> dt.date | None:
    newest = [request.newest_stored(item.id) for item in indicators]
    if not newest or any(item is None for item in newest):
        return None
    return min(item for item in newest if item is not None)
