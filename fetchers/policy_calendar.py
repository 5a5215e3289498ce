"""The policy calendar: announced price changes, validated completely before any write.

An analyst records a price change that has been announced but may not have taken effect yet
(Kazakhstan's move to exchange pricing; a subsidy decree), by CSV or in the dashboard::

    country,product,announced,effective,expected_change_pct,source_url,note
    KAZ,LPG,2021-12-01,2022-01-01,100,https://...,

Each announcement is stored as it was recorded (product, source URL and note included: the
`announcements` table). What the trigger sees is derived from them (`shock_observations`): one
observation of `announced_price_change` per country and effective date in the canonical format,
`period` = the effective date, `published_at` = the announcement date, `value` = the expected
change in %. So, point in time, the change is visible **from its announcement** (scoring sees
nothing published later than its as-of day) and stays fresh until `max_age_days` after it takes
effect, when the actual price series (and `fuel_price_step`) has taken over. Several products
announced for the same country and effective date count once, with the largest change (the store
holds one value per country and period); the rule is `indicators.announced_shocks`, which also
names the product behind a scored row from the stored announcements (the row itself has no room
for it), so the trigger reads "LPG +100 % announced …".

`check_announcement` is the one set of rules for the CSV import and the dashboard form, so both
refuse the same things with the same words. CSV rows are numbered as a spreadsheet shows them
(header = row 1); every problem names the file, the row and the column, and nothing is returned
unless every row is good.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from fetchers.errors import ImportFileError
from indicators.announced_shocks import ANNOUNCED_SHOCK_INDICATOR, scored_announcements
from indicators.countries import iso3_countries
from indicators.observations import conform_observations

INDICATOR = ANNOUNCED_SHOCK_INDICATOR
SOURCE = "policy_calendar"
UNIT = "%"
# Required CSV columns; `note` is optional.
COLUMNS: tuple[str, ...] = (
    "country",
    "product",
    "announced",
    "effective",
    "expected_change_pct",
    "source_url",
)
OPTIONAL_COLUMNS: tuple[str, ...] = ("note",)
MAX_PRODUCT_CHARS = 80
MAX_URL_CHARS = 2000
MAX_NOTE_CHARS = 1000
# A price can fall by at most 100 % (to zero); a rise has no natural bound.
LOWEST_CHANGE_PCT = -100.0


@dataclass(frozen=True)
class Announcement:
    """One announced price change, as the analyst recorded it.

    `source_url` is "" when it was not recorded (shown as "not recorded", never as a link).
    """

    country: str
    product: str
    announced: dt.date
    effective: dt.date
    expected_change_pct: float
    source_url: str = ""
    note: str = ""

    def as_record(self) -> dict[str, Any]:
        """JSON-ready fields (dates as ISO text), for the audit log and exports."""
        record = asdict(self)
        record["announced"] = self.announced.isoformat()
        record["effective"] = self.effective.isoformat()
        return record


@dataclass(frozen=True)
class FieldProblem:
    """What is wrong with one field of an announcement."""

    field: str
    message: str


@dataclass(frozen=True)
class Announcements:
    """A parsed policy-calendar file."""

    records: tuple[Announcement, ...]
    rows_read: int

    @property
    def observations(self) -> pd.DataFrame:
        """The scheduled shocks these announcements make (one per country and effective date)."""
        return shock_observations(announcement_frame(self.records))

    @property
    def merged(self) -> int:
        """Announcements that share a country and effective date with a larger one."""
        return len(self.records) - len(self.observations)


def _has_control_characters(text: str) -> bool:
    return any(unicodedata.category(char) in {"Cc", "Cf"} for char in text)


def _day(value: object) -> dt.date | None:
    """A date from a date object or strict ISO text (pandas would read "1 Dec" as year 1)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        return None


def url_problem(url: str) -> str | None:
    """Why `url` cannot be stored as a source URL, or None when it can ("" = not recorded)."""
    if not url:
        return None
    if len(url) > MAX_URL_CHARS:
        return f"longer than {MAX_URL_CHARS} characters"
    if any(char.isspace() for char in url) or _has_control_characters(url):
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
    except ValueError:
        return f"{url!r} is not a URL"
    if parts.scheme.lower() not in {"http", "https"}:
        return f"{url!r} is not an http(s) URL (it must start with http:// or https://)"
    if not parts.hostname:
        return f"{url!r} has no host name"
    return None


def is_safe_link(url: object) -> bool:
    """Whether a stored URL may be shown as a clickable link (http(s) with a host)."""
    return isinstance(url, str) and bool(url) and url_problem(url) is None


def check_announcement(
    fields: Mapping[str, object], *, known_countries: Collection[str] | None = None
) -> tuple[Announcement | None, list[FieldProblem]]:
    """Validate one announcement's fields (text from a CSV cell or values from a form).

    Args:
        fields: country, product, announced, effective, expected_change_pct, source_url and
            optionally note; dates as `datetime.date` or YYYY-MM-DD text, the change as a number
            or its text.
        known_countries: the accepted ISO3 codes (default: every country Flashpoint knows).

    Returns:
        The announcement and no problems, or None and every problem found (field by field, in
        the order of `COLUMNS`).
    """
    known = iso3_countries() if known_countries is None else known_countries
    problems: list[FieldProblem] = []

    def text(name: str) -> str:
        value = fields.get(name)
        return "" if value is None else str(value).strip()

    country = text("country").upper()
    if not country:
        problems.append(FieldProblem("country", "required (an ISO3 code, e.g. KAZ)"))
    elif country not in known:
        problems.append(FieldProblem("country", f"{text('country')!r} is not an ISO3 country code"))
    product = " ".join(text("product").split())
    if not product:
        problems.append(FieldProblem("product", "required (e.g. LPG, diesel, bread)"))
    elif len(product) > MAX_PRODUCT_CHARS or _has_control_characters(product):
        problems.append(
            FieldProblem("product", f"at most {MAX_PRODUCT_CHARS} printable characters")
        )
    announced = _day(fields.get("announced"))
    if announced is None:
        problems.append(
            FieldProblem("announced", f"{text('announced')!r} is not a date (YYYY-MM-DD)")
        )
    effective = _day(fields.get("effective"))
    if effective is None:
        problems.append(
            FieldProblem("effective", f"{text('effective')!r} is not a date (YYYY-MM-DD)")
        )
    elif announced is not None and effective < announced:
        problems.append(
            FieldProblem(
                "effective",
                f"{effective:%Y-%m-%d} is before the announcement ({announced:%Y-%m-%d})",
            )
        )
    change = _change(fields.get("expected_change_pct"), problems)
    url = text("source_url")
    url_error = url_problem(url)
    if url_error is not None:
        problems.append(FieldProblem("source_url", url_error))
    note = text("note")
    if len(note) > MAX_NOTE_CHARS:
        problems.append(FieldProblem("note", f"at most {MAX_NOTE_CHARS} characters"))
    if problems or announced is None or effective is None or change is None:
        return None, problems
    return Announcement(country, product, announced, effective, change, url, note), []


def _change(value: object, problems: list[FieldProblem]) -> float | None:
    shown = "" if value is None else str(value).strip()
    try:
        change = float(shown) if not isinstance(value, int | float) else float(value)
    except ValueError:
        problems.append(FieldProblem("expected_change_pct", f"{shown!r} is not a number"))
        return None
    if not math.isfinite(change):
        problems.append(FieldProblem("expected_change_pct", "must be a finite number"))
        return None
    if change < LOWEST_CHANGE_PCT:
        problems.append(
            FieldProblem(
                "expected_change_pct",
                f"{change:g} is below -100 (a price cannot fall by more than 100 %)",
            )
        )
        return None
    return change


ANNOUNCEMENT_COLUMNS: tuple[str, ...] = (
    "country",
    "product",
    "announced",
    "effective",
    "expected_change_pct",
    "source_url",
    "note",
)


def announcement_frame(records: Sequence[Announcement]) -> pd.DataFrame:
    """Announcements as a frame (the columns of `ANNOUNCEMENT_COLUMNS`, dates as datetimes)."""
    frame = pd.DataFrame([asdict(record) for record in records], columns=ANNOUNCEMENT_COLUMNS)
    for name in ("announced", "effective"):
        frame[name] = pd.to_datetime(frame[name])
    frame["expected_change_pct"] = frame["expected_change_pct"].astype("float64")
    return frame


def shock_observations(
    announcements: pd.DataFrame, *, fetched_at: pd.Timestamp | None = None
) -> pd.DataFrame:
    """The scheduled shocks announcements make: canonical `announced_price_change` rows.

    Args:
        announcements: at least country, announced, effective and expected_change_pct.
        fetched_at: the time recorded as `fetched_at` (default: now, UTC, naive).

    Returns:
        One observation per (country, effective date): the largest expected change, published on
        its announcement (of equal changes, the earliest announcement).
    """
    kept = scored_announcements(announcements)
    frame = pd.DataFrame(
        {
            "country": kept["country"].astype(str),
            "period": pd.to_datetime(kept["effective"]),
            "value": kept["expected_change_pct"].astype("float64"),
            "published_at": pd.to_datetime(kept["announced"]),
        }
    )
    moment = fetched_at if fetched_at is not None else pd.Timestamp.now("UTC").tz_localize(None)
    return conform_observations(
        frame.assign(indicator=INDICATOR, unit=UNIT, source=SOURCE, fetched_at=moment)
    )


def announcement_key(record: Announcement) -> tuple[str, str, dt.date]:
    """What identifies an announcement: its country, product and effective date."""
    return (record.country, record.product.casefold(), record.effective)


def parse_announcements(text: str, *, name: str = "file") -> Announcements:
    """Validate a policy-calendar CSV.

    Args:
        text: the file's text (UTF-8, header row required).
        name: the file name, for messages.

    Returns:
        Every row's announcement and the number of rows read.

    Raises:
        ImportFileError: a missing column, an unknown country, a bad date, number or URL, an
            effective date before its announcement, a row repeating another's country, product
            and effective date — naming the row and column; nothing is returned.
    """
    reader = csv.DictReader(io.StringIO(text))
    header = [column.strip() for column in (reader.fieldnames or [])]
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        raise ImportFileError(f"{name}: missing column(s) {', '.join(missing)}")
    known = iso3_countries()
    records: list[Announcement] = []
    first_row: dict[tuple[str, str, dt.date], int] = {}
    for number, row in enumerate(reader, start=2):
        cells = {key.strip(): (value or "").strip() for key, value in row.items() if key}
        record, problems = check_announcement(cells, known_countries=known)
        if record is None:
            problem = problems[0]
            raise ImportFileError(f"{name} row {number}, {problem.field}: {problem.message}")
        key = announcement_key(record)
        if key in first_row:
            raise ImportFileError(
                f"{name} row {number}: repeats row {first_row[key]} ({record.country}, "
                f"{record.product}, effective {record.effective:%Y-%m-%d}); keep one of them"
            )
        first_row[key] = number
        records.append(record)
    if not records:
        raise ImportFileError(f"{name}: no announcement rows")
    return Announcements(tuple(records), rows_read=len(records))


def read_announcements(path: str | Path) -> Announcements:
    """`parse_announcements` on a file (ImportFileError when it cannot be read)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise ImportFileError(f"{file}: cannot be read ({error})") from error
    return parse_announcements(text, name=str(file))
