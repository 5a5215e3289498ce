"""GDELT event counts per country: protests (CAMEO root 14), conflict (18–20) and all events.

Counts come from GDELT's bulk event exports, keyless: the 1.0 daily files
`{root}/events/YYYYMMDD.export.CSV.zip` (default) or the 2.0 15-minute files
`{root}/gdeltv2/YYYYMMDDHHMMSS.export.CSV.zip`, discovered through `{root}/gdeltv2/lastupdate.txt`.
Each zip holds one tab-separated file without a header, streamed row by row; only three columns
are read: SQLDATE (the day the event happened), EventRootCode and ActionGeo_CountryCode (FIPS
10-4, mapped to ISO3 with the packaged `fetchers/data/fips_countries.json`).

Counting rule — the same as the bundled monthly backfill (`gdelt-monthly/`, built by a BigQuery
`COUNTIF` over `gdelt-bq.full.events` grouped by ActionGeo_CountryCode and SQLDATE month): an event
counts for the country where it happened and the month (or day) of its SQLDATE, whichever file
reported it.

Why every run recounts from the start of a month: an event is reported in the file of the day
it was seen, and late reports of earlier days trickle in over the next files, so a month's count
is only right when every file of that month (up to the newest) is counted together. The store
keeps totals, not per-file parts, so a run that counted only the new files would overwrite the
month with a fraction of it. Each run therefore starts at the first day of the newest stored
month (nothing stored: the previous month for daily files, the current one for 15-minute
files) and recounts through the newest file: complete months are final, the current month is
stored month-to-date and revised by later runs. A run with no new file makes no request at all
(the newest file counted is kept as a cursor among the validators). Files are immutable, so no
conditional request is made for them; `lastupdate.txt` is fetched conditionally.

Cost: up to one daily file (~5–10 MB) per day of the month so far, paced by
`min_interval_seconds`; the 15-minute variant needs 96 files a day and suits short windows.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import zipfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, ClassVar, Literal
from urllib.parse import urljoin

import pandas as pd
import requests

from fetchers import http
from fetchers.base import BaseFetcher, Extracted, FetchRequest, HttpValidator
from fetchers.errors import BadPayload, HTTPStatusError, RateLimited
from indicators.catalogue import Indicator
from indicators.observations import empty_observations

SOURCE = "gdelt"
Variant = Literal["daily", "15min"]
RATE_LIMIT_TEXT = b"please limit requests"
ZIP_MAGIC = b"PK\x03\x04"
# Share of rows with an unexpected number of columns above which the layout has changed.
MAX_MALFORMED_SHARE = 0.01
DEFAULT_MAX_FILES: Mapping[str, int] = {"daily": 62, "15min": 3000}


@dataclass(frozen=True)
class Layout:
    """Where the three columns Flashpoint reads sit in one export layout (0-based)."""

    name: str
    widths: frozenset[int]
    sqldate: int
    root_code: int
    country: int


GDELT1_DAILY = Layout("GDELT 1.0 daily export", frozenset({57, 58}), 1, 28, 51)
GDELT2_15MIN = Layout("GDELT 2.0 15-minute export", frozenset({61}), 1, 28, 53)


@functools.cache
def fips_to_iso3() -> dict[str, str]:
    """FIPS 10-4 country code → ISO3, from the packaged `fips_countries.json`.

    Returns:
        The mapping (codes without an ISO3, e.g. oceans, are left out).
    """
    text = resources.files("fetchers").joinpath("data/fips_countries.json").read_text("utf-8")
    table: dict[str, Any] = json.loads(text)
    return {
        fips: str(entry["iso3"])
        for fips, entry in table.items()
        if isinstance(entry, Mapping) and entry.get("iso3")
    }


# ---------------------------------------------------------------------------------------------
# Pure parsing
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileCounts:
    """Events in one export file by (ISO3 country, SQLDATE day, root code)."""

    stamp: str  # YYYYMMDD or YYYYMMDDHHMMSS, as in the file name
    counts: Mapping[tuple[str, dt.date, str], int]
    rows: int
    malformed: int = 0
    unmapped: int = 0


def check_export_body(body: bytes, where: str) -> None:
    """Reject what is not a zip before unzipping it.

    Args:
        body: the downloaded bytes.
        where: host and path, for the message.

    Raises:
        RateLimited: GDELT's plain-text "Please limit requests to one every 5 seconds…", which
            it sends with HTTP 429 and sometimes with HTTP 200.
        BadPayload: an HTML page, an empty body or anything else that is not a zip.
    """
    head = body[:200].lstrip().lower()
    if head.startswith(RATE_LIMIT_TEXT):
        text = body[:200].decode("utf-8", errors="replace").strip()
        raise RateLimited(SOURCE, f"{where} asked us to slow down: {text!r}")
    if not body:
        raise BadPayload(SOURCE, f"{where} sent an empty body instead of a zip", kind="empty")
    if head.startswith((b"<!doctype html", b"<html")):
        raise BadPayload(SOURCE, f"{where} sent an HTML page instead of a zip", kind="html")
    if not body.startswith(ZIP_MAGIC):
        raise BadPayload(SOURCE, f"{where} sent something that is not a zip", kind="invalid")


def count_events(
    body: bytes, layout: Layout, stamp: str, fips: Mapping[str, str] | None = None
) -> FileCounts:
    """Stream one zipped export and count its events.

    Args:
        body: the zip as downloaded.
        layout: the export layout (1.0 daily or 2.0 15-minute).
        stamp: the file's time stamp (for messages and ordering).
        fips: FIPS → ISO3 (the packaged table by default).

    Returns:
        Counts by (ISO3, SQLDATE day, EventRootCode); rows whose place has no ISO3 (oceans,
        no location) are counted as `unmapped`.

    Raises:
        RateLimited, BadPayload: see `check_export_body`; a damaged zip is `truncated`, and a
            file where more than 1 % of rows have an unexpected column count is a changed schema.
    """
    where = f"{stamp}.export.CSV.zip"
    check_export_body(body, where)
    table = fips if fips is not None else fips_to_iso3()
    counts: Counter[tuple[str, dt.date, str]] = Counter()
    rows = malformed = unmapped = 0
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            names = archive.namelist()
            if not names:
                raise BadPayload(SOURCE, f"{where} is an empty zip", kind="empty")
            with archive.open(names[0]) as raw:
                text = io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")
                reader = csv.reader(text, delimiter="\t", quoting=csv.QUOTE_NONE)
                for record in reader:
                    if not record:
                        continue
                    rows += 1
                    if len(record) not in layout.widths:
                        malformed += 1
                        continue
                    day = _sqldate(record[layout.sqldate])
                    if day is None:
                        malformed += 1
                        continue
                    iso3 = table.get(record[layout.country].strip())
                    if iso3 is None:
                        unmapped += 1
                        continue
                    counts[(iso3, day, record[layout.root_code].strip())] += 1
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as error:
        raise BadPayload(SOURCE, f"{where} is truncated or damaged: not a readable zip ({error})",
                         kind="truncated") from error
    if rows == 0:
        raise BadPayload(SOURCE, f"{where} contains no events (empty file)", kind="empty")
    if malformed > MAX_MALFORMED_SHARE * rows:
        widths = "/".join(str(width) for width in sorted(layout.widths))
        raise BadPayload(
            SOURCE,
            f"{where}: {malformed} of {rows} rows do not have the {widths} columns of the "
            f"{layout.name} (schema changed?)",
            kind="schema",
        )
    return FileCounts(stamp, dict(counts), rows, malformed, unmapped)


def _sqldate(text: str) -> dt.date | None:
    text = text.strip()
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def parse_lastupdate(text: str) -> str:
    """The time stamp of the newest 2.0 export listed in `lastupdate.txt`.

    Args:
        text: the file (lines `size md5 url`, one each for export, mentions and gkg).

    Returns:
        `YYYYMMDDHHMMSS` of the `.export.CSV.zip` line.

    Raises:
        RateLimited: the rate-limit text instead of the list.
        BadPayload: no export line.
    """
    if text.lstrip().lower().startswith(RATE_LIMIT_TEXT.decode()):
        raise RateLimited(SOURCE, f"lastupdate.txt asked us to slow down: {text.strip()!r}")
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2].endswith(".export.CSV.zip"):
            stamp = parts[2].rsplit("/", 1)[-1].split(".", 1)[0]
            if len(stamp) == 14 and stamp.isdigit():
                return stamp
    raise BadPayload(SOURCE, "lastupdate.txt lists no .export.CSV.zip file"
                             " (schema changed?)", kind="schema")


# ---------------------------------------------------------------------------------------------
# The recount window
# ---------------------------------------------------------------------------------------------


def month_start(day: dt.date) -> dt.date:
    """The first day of `day`'s month.

    Args:
        day: any date.

    Returns:
        The 1st of that month.
    """
    return day.replace(day=1)


def recount_start(newest_stored_month: dt.date | None, today: dt.date, variant: Variant) -> dt.date:
    """First day of the recount window (see the module docstring).

    Args:
        newest_stored_month: the newest stored month of the monthly counts over the watched
            countries (the oldest of them), None when a country has none.
        today: the refresh's UTC date.
        variant: "daily" (1.0 files) or "15min" (2.0 files).

    Returns:
        The first day of a month.
    """
    if newest_stored_month is not None:
        return month_start(min(newest_stored_month, today))
    if variant == "daily":
        return month_start(month_start(today) - dt.timedelta(days=1))
    return month_start(today)


def daily_stamps(start: dt.date, newest: dt.date) -> list[str]:
    """`YYYYMMDD` of every 1.0 daily file from `start` through `newest`.

    Args:
        start: first day.
        newest: last day (inclusive).

    Returns:
        The stamps, oldest first.
    """
    days = (newest - start).days + 1
    return [(start + dt.timedelta(days=offset)).strftime("%Y%m%d") for offset in range(days)]


def quarter_hour_stamps(start: dt.date, newest: str) -> list[str]:
    """`YYYYMMDDHHMMSS` of every 2.0 file from `start` 00:00:00 through the stamp `newest`.

    Args:
        start: first day.
        newest: the newest file's stamp (from `lastupdate.txt`).

    Returns:
        The stamps every 15 minutes, oldest first.
    """
    last = dt.datetime.strptime(newest, "%Y%m%d%H%M%S")
    moment = dt.datetime.combine(start, dt.time())
    stamps = []
    while moment <= last:
        stamps.append(moment.strftime("%Y%m%d%H%M%S"))
        moment += dt.timedelta(minutes=15)
    return stamps


def stamp_day(stamp: str) -> dt.date:
    """The UTC day of a file stamp.

    Args:
        stamp: `YYYYMMDD` or `YYYYMMDDHHMMSS`.

    Returns:
        The date.
    """
    return dt.date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:8]))


# ---------------------------------------------------------------------------------------------
# Aggregation (pure)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountWindow:
    """What one run counted: the window, the files read and their counts."""

    variant: Variant
    start: dt.date
    files: tuple[FileCounts, ...]
    # True when the last file counted is the newest one published (the current month may then
    # be stored month-to-date); False when the run stopped at max_files_per_run.
    reached_newest: bool
    missing: tuple[str, ...] = field(default_factory=tuple)


def root_codes(source_code: str) -> frozenset[str] | None:
    """The CAMEO root codes an indicator counts: `root:14` → {"14"}; `all` → None (every event).

    Args:
        source_code: the catalogue indicator's `source_code`.

    Returns:
        The two-digit root codes, or None for every event.

    Raises:
        ValueError: any other form.
    """
    code = source_code.strip().lower()
    if code == "all":
        return None
    if code.startswith("root:"):
        roots = frozenset(item.strip().zfill(2) for item in code[5:].split(",") if item.strip())
        if roots:
            return roots
    raise ValueError(f"GDELT source_code {source_code!r} is neither 'all' nor 'root:NN[,NN…]'")


def aggregate_counts(
    window: CountWindow, indicators: Sequence[Indicator], countries: Iterable[str], now: dt.datetime
) -> pd.DataFrame:
    """Observations from a window's file counts.

    Daily indicators get one row per country and SQLDATE day whose own file was counted; monthly
    ones one row per country and month, zero-filled, for every month of the window that is
    complete or, when the newest file was reached, the current month to date. Events dated
    before the window or after its last file are ignored (re-reports of old events).

    Args:
        window: the counted files.
        indicators: GDELT indicators (`source_code` `all` or `root:NN,…`; daily or monthly).
        countries: ISO3 codes to keep (empty: every mapped country).
        now: `fetched_at`.

    Returns:
        A canonical observation frame.
    """
    if not window.files:
        return empty_observations()
    last_day = stamp_day(max(item.stamp for item in window.files))
    counted_days = sorted({stamp_day(item.stamp) for item in window.files})
    total: Counter[tuple[str, dt.date, str]] = Counter()
    for item in window.files:
        total.update(item.counts)
    frame = pd.DataFrame(
        [(country, day, root, n) for (country, day, root), n in total.items()],
        columns=["country", "day", "root", "events"],
    )
    frame = frame[(frame["day"] >= window.start) & (frame["day"] <= last_day)]
    wanted = sorted(set(countries)) or sorted(set(frame["country"]))
    frame = frame[frame["country"].isin(wanted)]
    frame["day"] = pd.to_datetime(frame["day"])
    frame["month"] = frame["day"].dt.to_period("M").dt.to_timestamp()

    months = _months_to_store(window, last_day)
    outputs: list[pd.DataFrame] = []
    for indicator in indicators:
        roots = root_codes(indicator.source_code)
        chosen = frame if roots is None else frame[frame["root"].isin(roots)]
        if indicator.frequency == "monthly":
            period_column, periods = "month", [pd.Timestamp(item) for item in months]
        else:
            period_column, periods = "day", [pd.Timestamp(item) for item in counted_days]
        summed = chosen.groupby(["country", period_column])["events"].sum()
        grid = pd.MultiIndex.from_product([wanted, periods], names=["country", period_column])
        filled = summed.reindex(grid, fill_value=0).reset_index()
        outputs.append(
            pd.DataFrame(
                {
                    "indicator": indicator.id,
                    "country": filled["country"],
                    "period": filled[period_column],
                    "value": filled["events"].astype("float64"),
                    "unit": indicator.unit,
                    "source": SOURCE,
                    "fetched_at": now,
                }
            )
        )
    return pd.concat(outputs, ignore_index=True) if outputs else empty_observations()


def _months_to_store(window: CountWindow, last_day: dt.date) -> list[dt.date]:
    """Months of the window that are complete, plus the current one when the newest file was read.

    A month is complete once a file of its last day was counted (daily files) or a file of the
    next month's first day (15-minute files, whose last file of a month ends at 23:45).
    """
    months = []
    month = window.start
    while month <= last_day:
        following = month_start(month + dt.timedelta(days=32))
        boundary = following - dt.timedelta(days=1) if window.variant == "daily" else following
        if last_day >= boundary or window.reached_newest:
            months.append(month)
        month = following
    return months


# ---------------------------------------------------------------------------------------------
# The fetcher
# ---------------------------------------------------------------------------------------------


class GdeltFetcher(BaseFetcher):
    """Monthly protest/conflict counts and daily event totals from the bulk exports."""

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
