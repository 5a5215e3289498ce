"""Which export files one run reads: the recount window (see `fetchers.gdelt`)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

Variant = Literal["daily", "15min"]


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
