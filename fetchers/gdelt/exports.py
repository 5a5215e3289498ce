"""GDELT export files: reject what is not a zip, stream the rows, count events (pure).

Only three columns of each tab-separated row are read: SQLDATE (the day the event happened),
EventRootCode and ActionGeo_CountryCode (FIPS 10-4, see `fetchers.gdelt.countries`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from fetchers.errors import BadPayload, RateLimited
from fetchers.gdelt.countries import fips_to_iso3

SOURCE = "gdelt"
RATE_LIMIT_TEXT = b"please limit requests"
ZIP_MAGIC = b"PK\x03\x04"
# Share of rows with an unexpected number of columns above which the layout has changed.
MAX_MALFORMED_SHARE = 0.01


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
