"""Point in time: which observations had been published by a given date (no replay sees the future).

The rule (also in docs/METHODOLOGY.md, "Point in time"):

* An observation's **publication date** is its `published_at` when the source recorded one.
* Otherwise it is estimated as the **end of its period** (annual 2021 → 2021-12-31, monthly
  2021-12 → 2021-12-31, weekly → start + 6 days, daily → the day itself) **plus the indicator's
  `publication_lag_days`** — unless Flashpoint **fetched** the row earlier than that, in which
  case the fetch time is used: a value we already held was public by then at the latest, so
  `min(period_end + lag, fetched_at)`. A fetch time *later* than the estimate says nothing
  about when the value was first published (the snapshot is loaded years afterwards), so it
  never delays visibility.
* `as_of` is a calendar day and means "as seen at the end of that day": a row is visible when its
  publication date falls on or before `as_of`.
* Forecasts (`is_forecast`) are never visible to scoring.
* A series is (indicator, country, vintage). For each (indicator, country) only the **newest
  vintage that has any visible row** is kept — newest meaning the vintage whose latest visible
  row was published last (ties broken by the vintage label) — so vintages are never mixed.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from indicators.catalogue import Catalogue
from indicators.tables import indicator_table

# Column added by this module: the effective publication date used for visibility.
PUBLISHED = "published"

_SERIES = ["indicator", "country"]


def as_of_day(as_of: Any) -> pd.Timestamp:
    """Normalise an as-of date (str, date, datetime, Timestamp) to a naive midnight Timestamp.

    Args:
        as_of: anything `pandas.Timestamp` accepts; a time of day is dropped.

    Returns:
        The calendar day as a naive Timestamp.
    """
    stamp = pd.Timestamp(as_of)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.normalize()


def period_end(period: pd.Series, frequency: pd.Series) -> pd.Series:
    """The last day of each observation's period, given its frequency (vectorised).

    Args:
        period: period starts (datetime64).
        frequency: the indicator's frequency per row ("daily", "weekly", "monthly",
            "quarterly", "annual"); anything else is treated as daily.

    Returns:
        A datetime64 Series aligned with `period`.
    """
    start = pd.to_datetime(period).dt.normalize()
    end = start.copy()
    offsets: dict[str, Any] = {
        "weekly": pd.Timedelta(days=6),
        "monthly": pd.offsets.MonthEnd(0),
        "quarterly": pd.offsets.QuarterEnd(0),
        "annual": pd.offsets.YearEnd(0),
    }
    for name, offset in offsets.items():
        mask = (frequency == name).to_numpy()
        if mask.any():
            shifted = pd.DatetimeIndex(start[mask]) + offset
            end.loc[mask] = shifted.to_numpy()
    return end


def publication_dates(observations: pd.DataFrame, catalogue: Catalogue) -> pd.Series:
    """The effective publication date of every row (see the module docstring for the rule).

    Args:
        observations: canonical observation frame.
        catalogue: supplies each indicator's frequency and publication lag; indicators not in the
            catalogue are treated as daily with no lag.

    Returns:
        A datetime64 Series aligned with `observations`.
    """
    table = indicator_table(catalogue)
    indicator = observations["indicator"]
    frequency = indicator.map(table["frequency"]).fillna("daily")
    lag_days = indicator.map(table["publication_lag_days"]).fillna(0).astype("int64")
    estimated = period_end(observations["period"], frequency) + pd.to_timedelta(lag_days, unit="D")
    fetched = pd.to_datetime(observations["fetched_at"])
    estimated = estimated.where(fetched.isna() | (fetched >= estimated), fetched)
    published = pd.to_datetime(observations["published_at"])
    return published.where(published.notna(), estimated).astype("datetime64[ns]")


def with_publication(observations: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """`observations` with the `published` column added (kept when already present)."""
    if PUBLISHED in observations.columns:
        return observations
    out = observations.copy()
    out[PUBLISHED] = publication_dates(out, catalogue)
    return out


def newest_vintage(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep, per (indicator, country), only the rows of the newest vintage present in `frame`.

    Args:
        frame: observations with a `published` column.

    Returns:
        The rows of the newest vintage per (indicator, country).
    """
    if frame.empty or frame["vintage"].nunique() <= 1:
        return frame
    latest = (
        frame.groupby(["indicator", "country", "vintage"], sort=False)[PUBLISHED]
        .max()
        .reset_index()
        .sort_values(["indicator", "country", PUBLISHED, "vintage"])
        .drop_duplicates(_SERIES, keep="last")
    )
    keys = pd.MultiIndex.from_frame(frame[["indicator", "country", "vintage"]])
    chosen = pd.MultiIndex.from_frame(latest[["indicator", "country", "vintage"]])
    return frame[keys.isin(chosen)]


def visible_observations(
    observations: pd.DataFrame, catalogue: Catalogue, as_of: Any | None
) -> pd.DataFrame:
    """The observations an analyst could have seen at the end of `as_of`.

    Args:
        observations: canonical observation frame (a `published` column, if present, is trusted).
        catalogue: supplies frequencies and publication lags.
        as_of: the calendar day; None keeps every actual (no date cut) but still drops forecasts
            and older vintages.

    Returns:
        The visible rows (forecasts dropped, newest visible vintage per (indicator, country)),
        with the canonical columns plus `published`, the effective publication date.
    """
    frame = with_publication(observations, catalogue)
    keep = ~frame["is_forecast"].to_numpy(dtype=bool)
    if as_of is not None:
        cutoff = as_of_day(as_of) + pd.Timedelta(days=1)
        keep &= (frame[PUBLISHED] < cutoff).to_numpy()
    visible = frame[keep]
    return newest_vintage(visible).reset_index(drop=True)


def age_in_days(as_of: pd.Timestamp | pd.Series, ends: pd.Series) -> pd.Series:
    """Whole days from each period end to `as_of` (a day, or one per row; never negative)."""
    days = (as_of - pd.to_datetime(ends)).dt.days
    return days.clip(lower=0).astype("float64")


__all__ = [
    "PUBLISHED",
    "age_in_days",
    "as_of_day",
    "newest_vintage",
    "period_end",
    "publication_dates",
    "visible_observations",
    "with_publication",
]
