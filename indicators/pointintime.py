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
* **Release calendars** (`indicators.releases`): for an indicator whose catalogue entry names a
  `release_calendar` (vintage-less annual sources: WGI, TI CPI, WDI, UCDP GED), the rows of the
  oldest vintage held are visible from their data year's first release —
  `min(calendar day, published_at, fetched_at)` — so a replay of 2012 sees WGI 2010 (out Sept
  2011), not nothing (the bundled file is the 2020 release) and not WGI 2011 (Sept 2012). Newer
  vintages keep their own publication date.
* Forecasts (`is_forecast`) are never visible to scoring.
* A series is (indicator, country, vintage). For each (indicator, country) only the **newest
  vintage that has any visible row** is kept — newest meaning the vintage whose latest visible
  row was published last (ties broken by the vintage label) — so vintages are never mixed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
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
    codes = frequency.map(FREQUENCY_CODES).fillna(0).to_numpy(dtype="int64")
    return _period_end_from_codes(period, codes)


# Frequencies as small integers, so per-row period ends compare integers, not strings.
FREQUENCY_CODES = {"daily": 0, "weekly": 1, "monthly": 2, "quarterly": 3, "annual": 4}


def _period_end_from_codes(period: pd.Series, kind: np.ndarray) -> pd.Series:
    days = pd.to_datetime(period).to_numpy().astype("datetime64[D]")
    one_day = np.timedelta64(1, "D")
    # Calendar arithmetic on numpy datetime64 units (months / years), not per-row offsets.
    months = days.astype("datetime64[M]")
    month_end = (months + 1).astype("datetime64[D]") - one_day
    quarter_start = months - (months.astype("int64") % 3)
    quarter_end = (quarter_start + 3).astype("datetime64[D]") - one_day
    year_end = (days.astype("datetime64[Y]") + 1).astype("datetime64[D]") - one_day
    end = np.select(
        [kind == 1, kind == 2, kind == 3, kind == 4],
        [days + 6 * one_day, month_end, quarter_end, year_end],
        default=days,
    )
    return pd.Series(end.astype("datetime64[ns]"), index=period.index)


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
    if not isinstance(indicator.dtype, pd.CategoricalDtype):
        indicator = indicator.astype("category")
    # Look the parameters up once per distinct indicator, then index them by category code.
    categories = pd.Index(indicator.cat.categories.astype(str))
    frequency_of = (
        table["frequency"].reindex(categories).map(FREQUENCY_CODES).fillna(0).to_numpy("int64")
    )
    lag_of = table["publication_lag_days"].reindex(categories).fillna(0).to_numpy(dtype="int64")
    codes = indicator.cat.codes.to_numpy()
    lag = lag_of[codes].astype("timedelta64[D]").astype("timedelta64[ns]")
    estimated = _period_end_from_codes(observations["period"], frequency_of[codes]) + lag
    fetched = pd.to_datetime(observations["fetched_at"])
    estimated = estimated.where(fetched.isna() | (fetched >= estimated), fetched)
    published = pd.to_datetime(observations["published_at"])
    result = published.where(published.notna(), estimated).astype("datetime64[ns]")
    calendar_of = table["release_calendar"].reindex(categories).fillna("").to_numpy(dtype=object)
    if not any(calendar_of):
        return result
    return _apply_release_calendars(
        observations, result, calendar_of[codes], published, fetched, catalogue
    )


def _apply_release_calendars(
    observations: pd.DataFrame,
    published: pd.Series,
    calendar: np.ndarray,
    recorded: pd.Series,
    fetched: pd.Series,
    catalogue: Catalogue,
) -> pd.Series:
    """Re-date the oldest held vintage of calendar indicators to each data year's first release.

    The oldest vintage Flashpoint holds stands in for every release before it (their values are
    not held; the revision is the approximation, documented in METHODOLOGY.md): its rows are
    visible from the calendar's day, or from their recorded `published_at` when that is earlier
    (the source said so), or from the fetch when that is earlier still. Newer vintages keep their
    own publication date: a later release's revision becomes visible only from that release.
    A data year the calendar does not list keeps the date computed without it.
    """
    rows = np.flatnonzero(calendar != "")
    if rows.size == 0:
        return published
    part = pd.DataFrame(
        {
            "indicator": observations["indicator"].to_numpy()[rows],
            "country": observations["country"].to_numpy()[rows],
            "vintage": observations["vintage"].fillna("").astype(str).to_numpy()[rows],
            "calendar": calendar[rows].astype(str),
            "data_year": pd.to_datetime(observations["period"]).dt.year.to_numpy()[rows],
            "published": published.to_numpy()[rows],
        }
    )
    # Oldest vintage per series = earliest own publication date (ties: the smaller label).
    vintage_dates = (
        part.groupby(["indicator", "country", "vintage"], sort=False)["published"]
        .max()
        .reset_index()
        .sort_values(["indicator", "country", "published", "vintage"])
        .drop_duplicates(["indicator", "country"], keep="first")
    )
    oldest = pd.MultiIndex.from_frame(vintage_dates[["indicator", "country", "vintage"]])
    is_oldest = pd.MultiIndex.from_frame(part[["indicator", "country", "vintage"]]).isin(oldest)
    releases = catalogue.releases.table().set_index(["calendar", "data_year"])["first_release"]
    first = releases.reindex(
        pd.MultiIndex.from_arrays([part["calendar"], part["data_year"].astype("int64")])
    ).to_numpy()
    use = is_oldest & ~pd.isna(first)
    if not use.any():
        return published
    dated = pd.Series(first, dtype="datetime64[ns]")
    # A recorded publication or a fetch before the calendar's day: public by then at the latest.
    for earlier in (recorded, fetched):
        known = pd.Series(pd.to_datetime(earlier).to_numpy()[rows], dtype="datetime64[ns]")
        dated = dated.where(known.isna() | (known >= dated), known)
    values = published.to_numpy().copy()
    values[rows[use]] = dated.to_numpy()[use]
    return pd.Series(values, index=published.index, dtype="datetime64[ns]")


# Text columns held as categoricals while scoring: every take, sort, map and group-by on them then
# works on small integer codes instead of (Arrow) strings — most of the panel's scoring time.
KEY_COLUMNS: tuple[str, ...] = ("indicator", "country", "vintage", "unit", "source")


def compact_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its text key columns as categoricals (values unchanged; no copy if already)."""
    todo = [
        name
        for name in KEY_COLUMNS
        if name in frame.columns and not isinstance(frame[name].dtype, pd.CategoricalDtype)
    ]
    if not todo:
        return frame
    return frame.assign(**{name: frame[name].astype("category") for name in todo})


def concat_compact(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate observation frames keeping the key columns categorical (categories unioned)."""
    frames = [compact_keys(frame) for frame in frames]
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    aligned = []
    unions: dict[str, pd.Index] = {}
    for name in KEY_COLUMNS:
        present = [frame[name].cat.categories for frame in frames if name in frame.columns]
        if present:
            union = present[0]
            for categories in present[1:]:
                union = union.union(categories)
            unions[name] = union
    for frame in frames:
        aligned.append(
            frame.assign(
                **{
                    name: frame[name].cat.set_categories(categories)
                    for name, categories in unions.items()
                    if name in frame.columns
                }
            )
        )
    return pd.concat(aligned, ignore_index=True)


def with_publication(observations: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """`observations` (keys compacted) with the `published` column added (kept when present)."""
    out = compact_keys(observations)
    if PUBLISHED in out.columns:
        return out
    out = out.copy() if out is observations else out
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
    # Only indicators stored in several vintages need the choice (WGI); the rest pass untouched.
    vintages = frame.groupby("indicator", observed=True, sort=False)["vintage"].nunique()
    several = frame["indicator"].isin(vintages.index[vintages > 1])
    if not several.any():
        return frame
    single, frame = frame[~several], frame[several]
    latest = (
        frame.groupby(["indicator", "country", "vintage"], observed=True, sort=False)[PUBLISHED]
        .max()
        .reset_index()
        .sort_values(["indicator", "country", PUBLISHED, "vintage"])
        .drop_duplicates(_SERIES, keep="last")
    )
    keys = pd.MultiIndex.from_frame(frame[["indicator", "country", "vintage"]])
    chosen = pd.MultiIndex.from_frame(latest[["indicator", "country", "vintage"]])
    return pd.concat([single, frame[keys.isin(chosen)]]).sort_index()


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


def estimated_publication(
    dates: pd.Series, lag: pd.Timedelta | pd.Series, fetched_at: pd.Timestamp | dt.datetime
) -> pd.Series:
    """A fetcher's `published_at` for a source that records no publication date.

    Args:
        dates: each row's date (the day its price was in force or its period's end).
        lag: the source's documented delay from that date to publication (one, or one per row;
            NaT = no estimate: the row keeps no `published_at`).
        fetched_at: when the rows were fetched.

    Returns:
        `dates + lag`, but never after `fetched_at`: a row in hand was public by then, so the
        newest bulletin counts the day it was fetched rather than a day later.
    """
    estimate = pd.to_datetime(dates) + lag
    moment = pd.Timestamp(fetched_at)
    if moment.tzinfo is not None:
        moment = moment.tz_convert("UTC").tz_localize(None)
    return estimate.where(estimate.isna() | (estimate <= moment), moment).astype("datetime64[ns]")


__all__ = [
    "PUBLISHED",
    "age_in_days",
    "as_of_day",
    "estimated_publication",
    "newest_vintage",
    "period_end",
    "publication_dates",
    "visible_observations",
    "with_publication",
]
