"""Replay: the score series as it would have been seen on each date, honestly point in time.

The derived series are computed once from everything published by the end of the replay (they use
trailing data only and each derived row carries the publication date of its newest input); each
date then sees only the base and derived rows published by its end, with the newest vintage visible
*then*, and is scored by the same vectorised `score_pool` as `score_panel`. The one way this can
differ from scoring each date from scratch: an observation back-filled later for an earlier period
changes a derived value's inputs; the replay then hides that derived value until the back-fill was
published (it never shows a value earlier than it could have been known).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
import pandas as pd

from indicators.catalogue import Catalogue
from indicators.derived import derive_indicators, standardise_zscore_indicators
from indicators.observations import WORLD
from indicators.pointintime import PUBLISHED, as_of_day, with_publication
from indicators.scoring import score_pool, select_visible

Every = Literal["day", "week"]

REPLAY_BASE_COLUMNS: tuple[str, ...] = (
    "date",
    "country",
    "composite",
    "band",
    "vulnerability",
    "trigger",
)
CROSSING_COLUMNS: tuple[str, ...] = (
    "date",
    "country",
    "direction",
    "trigger_before",
    "trigger_after",
    "composite",
    "band",
    "top_driver",
    "trigger_driver",
)


def replay_dates(start: Any, end: Any, every: Every = "day") -> pd.DatetimeIndex:
    """The as-of dates of a replay: every day, or every 7 days from `start`, `end` included."""
    first, last = as_of_day(start), as_of_day(end)
    if last < first:
        raise ValueError(f"replay end {last.date()} is before its start {first.date()}")
    if every not in ("day", "week"):
        raise ValueError(f"every must be 'day' or 'week', not {every!r}")
    step = "D" if every == "day" else "7D"
    dates = pd.date_range(first, last, freq=step)
    if dates[-1] != last:
        dates = dates.append(pd.DatetimeIndex([last]))
    return dates


def _prune(prepared: pd.DataFrame, first: pd.Timestamp) -> pd.DataFrame:
    """Drop rows that can never be the latest visible value on or after `first`.

    Within a series-vintage, once a row with period P is visible at `first`, rows with earlier
    periods that were also visible then are superseded for every later date. The row with the
    latest publication per series-vintage is kept too, because it ranks vintages.
    """
    cutoff = first + pd.Timedelta(days=1)
    keys = ["indicator", "country", "vintage"]
    early = prepared[PUBLISHED] < cutoff
    newest_early = (
        prepared["period"]
        .where(early)
        .groupby([prepared[name] for name in keys], sort=False)
        .transform("max")
    )
    last_published = (
        prepared[PUBLISHED].groupby([prepared[name] for name in keys], sort=False).transform("max")
    )
    keep = (
        ~early
        | newest_early.isna()
        | (prepared["period"] >= newest_early)
        | (prepared[PUBLISHED] == last_published)
    )
    return prepared[keep.to_numpy()]


def replay(
    observations: pd.DataFrame,
    catalogue: Catalogue,
    *,
    countries: Iterable[str],
    start: Any,
    end: Any,
    every: Every = "day",
) -> pd.DataFrame:
    """Score `countries` on every date from `start` to `end` as it would have been seen then.

    Args:
        observations: canonical observations (include `WLD` world series for world triggers).
        catalogue: the catalogue.
        countries: ISO3 codes to replay.
        start: first as-of day.
        end: last as-of day (included).
        every: "day" or "week".

    Returns:
        One row per (date, country): `date, country, composite, band, vulnerability, trigger`, one
        column per structural/trigger pillar (named by pillar id), `top_driver` (the indicator with
        the largest contribution), `trigger_driver` (the trigger indicator with the largest
        contribution, "" when the trigger adds nothing), `inputs_present`, `inputs_stale`,
        `confidence`.
    """
    wanted = sorted({str(code) for code in countries} - {WORLD})
    dates = replay_dates(start, end, every)
    subset = observations[observations["country"].isin([*wanted, WORLD])]
    # Derive once from everything visible by the end; publication dates keep each date honest.
    derived = derive_indicators(subset, catalogue, as_of=dates[-1])
    base = with_publication(subset, catalogue)
    base = base[~base["is_forecast"].to_numpy(dtype=bool)]
    prepared = standardise_zscore_indicators(
        pd.concat([base, derived], ignore_index=True), catalogue
    )
    prepared = _prune(prepared, dates[0]).reset_index(drop=True)

    pillar_ids = [p.id for p in catalogue.pillars if p.kind in ("structural", "trigger")]
    frames: list[pd.DataFrame] = []
    # One vectorised scoring pass per date (the dates are few; the panel work inside is vectorised).
    for day in dates:
        panel = score_pool(select_visible(prepared, day), catalogue, as_of=day, countries=wanted)
        countries_frame = panel.countries.reset_index()
        pillar_wide = panel.pillars.pivot(index="country", columns="pillar", values="score")
        pillar_wide = pillar_wide.reindex(columns=pillar_ids)
        contributions = panel.contributions
        triggers = contributions[
            (contributions["kind"] == "trigger") & (contributions["contribution"] > 1e-9)
        ].sort_values(["country", "contribution"], ascending=[True, False], kind="mergesort")
        trigger_driver = triggers.drop_duplicates("country").set_index("country")["indicator"]
        row = countries_frame[
            [
                "country",
                "composite",
                "band",
                "vulnerability",
                "trigger",
                "top_driver",
                "inputs_present",
                "inputs_stale",
                "confidence",
            ]
        ].copy()
        row["trigger_driver"] = row["country"].map(trigger_driver).fillna("")
        row = row.join(pillar_wide, on="country")
        row.insert(0, "date", day)
        frames.append(row)
    result = pd.concat(frames, ignore_index=True)
    ordered = [
        *REPLAY_BASE_COLUMNS,
        *pillar_ids,
        "top_driver",
        "trigger_driver",
        "inputs_present",
        "inputs_stale",
        "confidence",
    ]
    return result[ordered]


def trigger_crossings(replay_frame: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Dates on which a country's trigger crossed `threshold` (up: from below to at/above; down).

    Args:
        replay_frame: output of `replay`.
        threshold: trigger level on the 0–10 scale.

    Returns:
        Columns `CROSSING_COLUMNS`, sorted by country and date.
    """
    frame = replay_frame.sort_values(["country", "date"], kind="mergesort")
    before = frame.groupby("country", sort=False)["trigger"].shift(1)
    above = frame["trigger"] >= threshold
    was_above = before >= threshold
    up = above & before.notna() & ~was_above
    down = ~above & before.notna() & was_above
    chosen = frame[up | down].copy()
    chosen["direction"] = np.where(up[up | down], "up", "down")
    chosen["trigger_before"] = before[up | down]
    chosen = chosen.rename(columns={"trigger": "trigger_after"})
    return chosen[list(CROSSING_COLUMNS)].reset_index(drop=True)


def band_changes(replay_frame: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """Dates on which a country's band changed, with the direction ("up" = riskier) and the driver.

    Args:
        replay_frame: output of `replay`.
        catalogue: supplies the band order.

    Returns:
        Columns `date, country, band_before, band, direction, composite_before, composite,
        top_driver, trigger_driver`.
    """
    order = {
        band.name: rank for rank, band in enumerate(sorted(catalogue.bands, key=lambda b: b.lower))
    }
    frame = replay_frame.sort_values(["country", "date"], kind="mergesort").copy()
    grouped = frame.groupby("country", sort=False)
    frame["band_before"] = grouped["band"].shift(1)
    frame["composite_before"] = grouped["composite"].shift(1)
    rank = frame["band"].map(order)
    rank_before = frame["band_before"].map(order)
    changed = frame["band_before"].notna() & (frame["band"] != frame["band_before"])
    chosen = frame[changed].copy()
    chosen["direction"] = np.where(rank[changed] > rank_before[changed], "up", "down")
    columns = [
        "date",
        "country",
        "band_before",
        "band",
        "direction",
        "composite_before",
        "composite",
        "top_driver",
        "trigger_driver",
    ]
    return chosen[columns].reset_index(drop=True)
