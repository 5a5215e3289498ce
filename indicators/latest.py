"""Picking the latest visible row of every series, for one as-of day or many at once.

Part of the scoring pipeline (`indicators.scoring`, steps 1–3): the pool of visible base and
derived rows, the newest row visible at the end of each date, its age and staleness.
"""

from __future__ import annotations

import pandas as pd

from indicators.catalogue import Catalogue
from indicators.derived import derive_indicators, standardise_zscore_indicators
from indicators.pointintime import PUBLISHED, age_in_days, concat_compact, period_end
from indicators.tables import indicator_table

_SERIES_VINTAGE = ["indicator", "country", "vintage"]


def prepare_pool(visible: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """Visible base rows plus derived rows, with z-scored base indicators standardised.

    Args:
        visible: output of `visible_observations` (with `published`).
        catalogue: the catalogue.

    Returns:
        The pool scoring picks the latest values from.
    """
    derived = derive_indicators(visible, catalogue)
    pool = concat_compact([visible, derived]) if not derived.empty else visible
    return standardise_zscore_indicators(pool, catalogue)


def latest_on_dates(prepared: pd.DataFrame, dates: pd.DatetimeIndex) -> pd.DataFrame:
    """The latest row visible at the end of each date, per (indicator, country), vectorised.

    Per series-vintage, a row becomes "the latest" when it is published, provided its period is
    newer than every period published before it (a back-filled older period never supersedes a
    newer one). `merge_asof` then picks, for every date, the last such row published by the end of
    the date; among vintages, the one with the most recent publication visible then wins (as in
    `pointintime.newest_vintage`).

    Args:
        prepared: rows with `published` (several vintages allowed; no forecasts).
        dates: as-of days.

    Returns:
        One row per (date, indicator, country) that has a visible row, with a `date` column.
    """
    if prepared.empty:
        return prepared.assign(date=pd.Series(dtype="datetime64[ns]"))
    ordered = prepared.sort_values([PUBLISHED, "period"], kind="mergesort")
    grouped = ordered.groupby(_SERIES_VINTAGE, sort=False)["period"]
    previous_max = (
        grouped.cummax().groupby([ordered[name] for name in _SERIES_VINTAGE], sort=False).shift(1)
    )
    records = ordered[previous_max.isna() | (ordered["period"] > previous_max)]

    keys = ordered[_SERIES_VINTAGE].drop_duplicates()
    left = keys.merge(pd.DataFrame({"date": dates}), how="cross")
    left["date"] = left["date"].astype("datetime64[ns]")
    left["cutoff"] = left["date"] + pd.Timedelta(days=1)
    records = records.assign(**{PUBLISHED: records[PUBLISHED].astype("datetime64[ns]")})
    left = left.sort_values("cutoff", kind="mergesort")
    matched = pd.merge_asof(
        left,
        records,
        left_on="cutoff",
        right_on=PUBLISHED,
        by=_SERIES_VINTAGE,
        direction="backward",
        allow_exact_matches=False,
    )
    matched = matched[matched["value"].notna()]
    several = matched.groupby(["date", "indicator", "country"], sort=False)["vintage"].transform(
        "nunique"
    )
    if (several > 1).any():
        stamps = ordered[[*_SERIES_VINTAGE, PUBLISHED]].rename(columns={PUBLISHED: "vintage_seen"})
        stamps["vintage_seen"] = stamps["vintage_seen"].astype("datetime64[ns]")
        stamps = stamps.sort_values("vintage_seen", kind="mergesort")
        ranked = pd.merge_asof(
            matched.sort_values("cutoff", kind="mergesort"),
            stamps,
            left_on="cutoff",
            right_on="vintage_seen",
            by=_SERIES_VINTAGE,
            direction="backward",
            allow_exact_matches=False,
        )
        matched = ranked.sort_values(
            ["date", "indicator", "country", "vintage_seen", "vintage"], kind="mergesort"
        ).drop_duplicates(["date", "indicator", "country"], keep="last")
        matched = matched.drop(columns="vintage_seen")
    return matched.drop(columns="cutoff").reset_index(drop=True)


def latest_single(pool: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """Latest row per (indicator, country) of a pool already visible at `day` (one vintage each)."""
    newest = pool.groupby(["indicator", "country"], observed=True, sort=False)["period"].idxmax()
    latest = pool.loc[newest.to_numpy()]
    return latest.assign(date=day).reset_index(drop=True)


def enrich_latest(latest: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """Add `period_end`, `age_days` (from the row's `date`) and `stale`; drop unknown indicators."""
    table = indicator_table(catalogue)
    latest = latest[latest["indicator"].isin(table.index)].reset_index(drop=True)
    frequency = latest["indicator"].map(table["frequency"])
    latest["period_end"] = period_end(latest["period"], frequency)
    latest["age_days"] = age_in_days(latest["date"], latest["period_end"])
    max_age = latest["indicator"].map(table["max_age_days"]).astype("float64")
    latest["stale"] = latest["age_days"] > max_age
    return latest
