"""From counted export files to observations (pure): monthly by SQLDATE, daily by report day.

* **Monthly** indicators count an event for the month of its SQLDATE, whichever file reported
  it — the rule of the bundled monthly backfill (`gdelt-monthly/`), so live months continue it.
* **Daily** indicators count an event on the UTC day of the file that reported it (its
  DATEADDED), provided its SQLDATE is at most `REPORT_WINDOW_DAYS` earlier (older SQLDATEs are
  retrospective mentions, e.g. anniversaries). A day's count is then final as soon as its
  file(s) are published: yesterday's count seen the next morning is the same number a replay
  sees years later, and it is never revised upwards by late reports, which would bias a
  trailing z-score against an already revised history.

Zero-fill is coverage-aware: a requested country gets a zero for a counted day or month only
when GDELT can place events there at all (`countries.covered_iso3`); a country no FIPS code
maps to gets no row — "no data", never "peaceful".
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from fetchers.gdelt.countries import covered_iso3
from fetchers.gdelt.exports import SOURCE, FileCounts
from fetchers.gdelt.window import Variant, month_start, stamp_day
from indicators.catalogue import Indicator
from indicators.observations import empty_observations

# A daily count takes an event reported in a day's file when its SQLDATE is that day or at most
# this many days earlier.
REPORT_WINDOW_DAYS = 2

_COLUMNS = ["country", "day", "root", "events"]


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

    Root 14 (PROTEST) includes its sub-code 145 (protest violently, riot).

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


def by_event_day(window: CountWindow) -> pd.DataFrame:
    """Events of every counted file by (country, SQLDATE day, root), inside the window.

    Args:
        window: the counted files.

    Returns:
        Columns `country`, `day` (datetime64), `root`, `events`; events dated before the window
        or after its last file (re-reports of old events, bad dates) are left out.
    """
    last_day = stamp_day(max(item.stamp for item in window.files))
    total: Counter[tuple[str, dt.date, str]] = Counter()
    for item in window.files:
        total.update(item.counts)
    rows = [
        (country, day, root, n)
        for (country, day, root), n in total.items()
        if window.start <= day <= last_day
    ]
    return _frame(rows)


def by_report_day(window: CountWindow) -> pd.DataFrame:
    """Events of every counted file by (country, the file's UTC day, root).

    Args:
        window: the counted files.

    Returns:
        Columns `country`, `day` (the file's day), `root`, `events`; only events whose SQLDATE
        is the file's day or at most `REPORT_WINDOW_DAYS` earlier count.
    """
    total: Counter[tuple[str, dt.date, str]] = Counter()
    earliest = dt.timedelta(days=REPORT_WINDOW_DAYS)
    for item in window.files:
        reported = stamp_day(item.stamp)
        for (country, day, root), n in item.counts.items():
            if reported - earliest <= day <= reported:
                total[(country, reported, root)] += n
    return _frame([(country, day, root, n) for (country, day, root), n in total.items()])


def _frame(rows: list[tuple[str, dt.date, str, int]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=_COLUMNS)
    frame["day"] = pd.to_datetime(frame["day"])
    return frame


def aggregate_counts(
    window: CountWindow, indicators: Sequence[Indicator], countries: Iterable[str], now: dt.datetime
) -> pd.DataFrame:
    """Observations from a window's file counts.

    Daily indicators get one row per country and day whose file(s) were counted (by report day,
    see the module docstring; 15-minute files: complete days only); monthly ones one row per
    country and SQLDATE month for every month of the window that is complete or, when the newest
    file was reached, the current month to date (published, i.e. visible, only from the month's
    end + the indicator's lag). Both are zero-filled for requested countries GDELT covers, and
    only for those.

    Args:
        window: the counted files.
        indicators: GDELT indicators (`source_code` `all` or `root:NN,…`; daily or monthly).
        countries: ISO3 codes to keep (empty: every country with an event).
        now: `fetched_at`.

    Returns:
        A canonical observation frame.
    """
    if not window.files:
        return empty_observations()
    last_day = stamp_day(max(item.stamp for item in window.files))
    counted_days = _complete_days(window)
    requested = sorted(set(countries))
    monthly_rows = by_event_day(window)
    daily_rows = by_report_day(window)
    if requested:
        wanted = [code for code in requested if code in covered_iso3()]
    else:
        wanted = sorted(set(monthly_rows["country"]) | set(daily_rows["country"]))
    monthly_rows = monthly_rows[monthly_rows["country"].isin(wanted)]
    monthly_rows = monthly_rows.assign(
        period=monthly_rows["day"].dt.to_period("M").dt.to_timestamp()
    )
    daily_rows = daily_rows[daily_rows["country"].isin(wanted)].rename(columns={"day": "period"})

    months = [pd.Timestamp(item) for item in _months_to_store(window, last_day)]
    complete_through = pd.Timestamp(counted_days[-1]) if counted_days else None
    days = [pd.Timestamp(item) for item in counted_days]
    outputs: list[pd.DataFrame] = []
    for indicator in indicators:
        roots = root_codes(indicator.source_code)
        monthly = indicator.frequency == "monthly"
        rows = monthly_rows if monthly else daily_rows
        chosen = rows if roots is None else rows[rows["root"].isin(roots)]
        summed = chosen.groupby(["country", "period"])["events"].sum()
        grid = pd.MultiIndex.from_product(
            [wanted, months if monthly else days], names=["country", "period"]
        )
        filled = summed.reindex(grid, fill_value=0).reset_index()
        frame = pd.DataFrame(
            {
                "indicator": indicator.id,
                "country": filled["country"],
                "period": filled["period"],
                "value": filled["events"].astype("float64"),
                "unit": indicator.unit,
                "source": SOURCE,
                "fetched_at": now,
            }
        )
        if monthly:
            frame["published_at"] = _month_to_date_publication(
                frame["period"], complete_through, indicator.publication_lag_days
            )
        outputs.append(frame)
    return pd.concat(outputs, ignore_index=True) if outputs else empty_observations()


def _month_to_date_publication(
    period: pd.Series, complete_through: pd.Timestamp | None, lag_days: int
) -> pd.Series:
    """`published_at` of monthly rows: the month's end + lag while the month is still running.

    A month-to-date count compared with whole months would read as a quiet month (and its
    spike as strongly negative) early in every month, so it becomes visible only when the month
    is over, like the backfill's months; once complete, the row is estimated as usual (NaT).
    """
    month_end = pd.to_datetime(period) + pd.offsets.MonthEnd(0)
    published = month_end + pd.Timedelta(days=lag_days)
    if complete_through is None:  # no complete day counted yet: every month is still running
        return published
    return published.where(month_end > complete_through)


def _complete_days(window: CountWindow) -> list[dt.date]:
    """Days whose files were counted; with 15-minute files only days counted through 23:45.

    The day of the newest 15-minute file is still being published: storing it would show a
    fraction of a day as a quiet day.
    """
    days = {stamp_day(item.stamp) for item in window.files}
    if window.variant == "15min":
        newest = max(item.stamp for item in window.files)
        days = {day for day in days if newest >= day.strftime("%Y%m%d") + "234500"}
    return sorted(days)


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
