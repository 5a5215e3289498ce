"""The policy calendar: announced price changes from CSV, validated completely before any write.

An analyst records a price change that has been announced but may not have taken effect yet
(Kazakhstan's move to exchange pricing; a subsidy decree)::

    country,product,announced,effective,expected_change_pct,source_url
    KAZ,LPG,2021-12-01,2022-01-01,100,https://...

Each row becomes one observation of `announced_price_change` in the canonical format: `period`
= the effective date, `published_at` = the announcement date, `value` = the expected change in %.
So, point in time, the change is visible **from its announcement** (scoring sees nothing published
later than its as-of day) and stays fresh until `max_age_days` after it takes effect, when the
actual price series (and `fuel_price_step`) has taken over. Several products announced for the
same country and effective date keep the largest change (the store holds one value per country
and period); the product and URL document the row and are reported, not stored.

Rows are numbered as a spreadsheet shows them (header = row 1). Every problem names the file, the
row and the column; nothing is returned unless every row is good.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from fetchers.errors import ImportFileError
from indicators.countries import iso3_countries
from indicators.observations import conform_observations

INDICATOR = "announced_price_change"
SOURCE = "policy_calendar"
UNIT = "%"
COLUMNS: tuple[str, ...] = (
    "country",
    "product",
    "announced",
    "effective",
    "expected_change_pct",
    "source_url",
)


@dataclass(frozen=True)
class Announcements:
    """A parsed policy-calendar file."""

    observations: pd.DataFrame  # canonical rows of `announced_price_change`
    rows_read: int
    merged: int  # rows folded into another (same country and effective date, smaller change)


def _day(text: str, where: str) -> pd.Timestamp:
    # Strict ISO dates only: pandas would read "1 Dec" as 1 December of the year 1.
    try:
        return pd.Timestamp(dt.date.fromisoformat(text.strip()))
    except ValueError as error:
        raise ImportFileError(f"{where}: {text!r} is not a date (YYYY-MM-DD)") from error


def parse_announcements(
    text: str, *, name: str = "file", fetched_at: pd.Timestamp | None = None
) -> Announcements:
    """Validate a policy-calendar CSV and turn it into observations.

    Args:
        text: the file's text (UTF-8, header row required).
        name: the file name, for messages.
        fetched_at: the time recorded as `fetched_at` (default: now, UTC, naive).

    Returns:
        The observations (one per country and effective date), rows read and rows merged.

    Raises:
        ImportFileError: a missing column, an unknown country, a bad date or number, an effective
            date before its announcement — naming the row and column; nothing is returned.
    """
    reader = csv.DictReader(io.StringIO(text))
    header = [column.strip() for column in (reader.fieldnames or [])]
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        raise ImportFileError(f"{name}: missing column(s) {', '.join(missing)}")
    known = iso3_countries()
    records = []
    for number, row in enumerate(reader, start=2):
        cells = {key.strip(): (value or "").strip() for key, value in row.items() if key}
        where = f"{name} row {number}"
        country = cells["country"].upper()
        if country not in known:
            raise ImportFileError(f"{where}, country: {cells['country']!r} is not an ISO3 code")
        if not cells["product"]:
            raise ImportFileError(f"{where}, product: required (e.g. LPG, diesel, bread)")
        announced = _day(cells["announced"], f"{where}, announced")
        effective = _day(cells["effective"], f"{where}, effective")
        if effective < announced:
            raise ImportFileError(
                f"{where}, effective: {effective:%Y-%m-%d} is before the announcement "
                f"({announced:%Y-%m-%d})"
            )
        try:
            change = float(cells["expected_change_pct"])
        except ValueError as error:
            raise ImportFileError(
                f"{where}, expected_change_pct: {cells['expected_change_pct']!r} is not a number"
            ) from error
        if not math.isfinite(change):
            raise ImportFileError(f"{where}, expected_change_pct: must be a finite number")
        records.append((country, effective, change, announced))
    if not records:
        raise ImportFileError(f"{name}: no announcement rows")
    frame = pd.DataFrame(records, columns=["country", "period", "value", "published_at"])
    # Same country and effective date: keep the largest change (its announcement date with it).
    frame = frame.sort_values(["country", "period", "value"], kind="mergesort")
    kept = frame.drop_duplicates(["country", "period"], keep="last")
    moment = fetched_at if fetched_at is not None else pd.Timestamp.now("UTC").tz_localize(None)
    observations = conform_observations(
        kept.assign(indicator=INDICATOR, unit=UNIT, source=SOURCE, fetched_at=moment)
    )
    return Announcements(observations, rows_read=len(records), merged=len(frame) - len(kept))


def read_announcements(path: str | Path) -> Announcements:
    """`parse_announcements` on a file (ImportFileError when it cannot be read)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise ImportFileError(f"{file}: cannot be read ({error})") from error
    return parse_announcements(text, name=str(file))
