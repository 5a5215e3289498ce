"""Release calendars: when each data year of a vintage-less annual source was first public.

Sources such as the WGI, TI's CPI and the WDI publish a value for year Y months after Y ends, and
the copies Flashpoint holds carry either no publication date or the date of one later release (the
bundled WGI file is the 2020 release). Without a calendar a replay of 2012 sees either the future
(period end + lag, ignoring that WGI 2011 came out in Sept 2012) or nothing at all (every WGI row
dated 2020). The calendar gives, per source and data year, the estimated first-release day;
`indicators.pointintime` uses it for the indicators whose catalogue entry names the calendar.

The bundled calendar (`data/release_calendar.csv`, researched and cited in the project's
`data/release-calendars/PROVENANCE.md`) errs late: a replay may miss a release by a few weeks but
never sees data before it was public.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

_BUNDLED_FILE = Path(__file__).resolve().parent / "data" / "release_calendar.csv"


@dataclass(frozen=True)
class ReleaseDate:
    """One calendar row: `data_year` of `calendar` was first public on `first_release`."""

    calendar: str
    data_year: int
    first_release: date
    basis: str = "rule"  # "documented" (a source states the day) or "rule" (derived)


@dataclass(frozen=True)
class ReleaseCalendars:
    """All release calendars (hashable, so a `Catalogue` holding it stays a cache key)."""

    rows: tuple[ReleaseDate, ...] = ()

    @property
    def names(self) -> frozenset[str]:
        """The calendar names present (e.g. `wgi`, `ti_cpi`, `wdi`)."""
        return frozenset(row.calendar for row in self.rows)

    def first_release(self, calendar: str, data_year: int) -> date | None:
        """The first-release day of `data_year` in `calendar` (None when not listed)."""
        return _lookup(self).get((calendar, int(data_year)))

    def table(self) -> pd.DataFrame:
        """The calendar as a frame: columns `calendar, data_year, first_release` (datetime64)."""
        return _table(self)


@functools.lru_cache(maxsize=8)
def _lookup(calendars: ReleaseCalendars) -> dict[tuple[str, int], date]:
    return {(row.calendar, row.data_year): row.first_release for row in calendars.rows}


@functools.lru_cache(maxsize=8)
def _table(calendars: ReleaseCalendars) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "calendar": [row.calendar for row in calendars.rows],
            "data_year": pd.Series([row.data_year for row in calendars.rows], dtype="int64"),
            "first_release": pd.to_datetime(
                pd.Series([row.first_release.isoformat() for row in calendars.rows], dtype=object)
            ).astype("datetime64[ns]"),
        }
    )


def read_release_calendars(path: Path) -> ReleaseCalendars:
    """Read a calendar CSV (`source, data_year, first_release[, basis, citation]`).

    Args:
        path: the CSV file; `source` names the calendar, `first_release` is an ISO date.

    Returns:
        The calendars, one `ReleaseDate` per row.

    Raises:
        ValueError: a row has no source, a non-integer year, a bad date, or repeats a
            (source, data_year) pair; the message names the line.
    """
    rows: list[ReleaseDate] = []
    seen: set[tuple[str, int]] = set()
    with path.open(encoding="utf-8", newline="") as handle:
        for line, record in enumerate(csv.DictReader(handle), start=2):
            name = (record.get("source") or "").strip()
            try:
                year = int((record.get("data_year") or "").strip())
                day = date.fromisoformat((record.get("first_release") or "").strip())
            except ValueError as exc:
                raise ValueError(f"{path.name} line {line}: {exc}") from exc
            if not name:
                raise ValueError(f"{path.name} line {line}: empty source")
            if (name, year) in seen:
                raise ValueError(f"{path.name} line {line}: {name} {year} listed twice")
            seen.add((name, year))
            basis = (record.get("basis") or "rule").strip() or "rule"
            rows.append(ReleaseDate(name, year, day, basis))
    return ReleaseCalendars(tuple(rows))


@functools.lru_cache(maxsize=1)
def bundled_release_calendars() -> ReleaseCalendars:
    """The calendars shipped with Flashpoint (WGI, TI CPI, WDI, WDI survey series, UCDP GED)."""
    return read_release_calendars(_BUNDLED_FILE)


__all__ = [
    "ReleaseCalendars",
    "ReleaseDate",
    "bundled_release_calendars",
    "read_release_calendars",
]
