"""Replay: the score series as it would have been seen on each date, honestly point in time.

The derived series are computed once from everything published by the end of the replay (they use
trailing data only and each derived row carries the publication date of its newest input); each
date then sees only the base and derived rows published by its end, with the newest vintage visible
*then* (`scoring.latest_on_dates`, one `merge_asof` for all dates), and all dates are scored in
one vectorised pass of the same core as `score_panel`. The one way this can
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
from indicators.pointintime import PUBLISHED, as_of_day, concat_compact, with_publication
from indicators.scoring import ScoreFrames, latest_on_dates, score_latest

Every = Literal["day", "week"]

REPLAY_BASE_COLUMNS: tuple[str, ...] = (
    "date",
    "country",
    "composite",
    "band",
    "vulnerability",
    "trigger",
    "trigger_state",
    "blind_since",
    "trigger_reason",
    "trigger_seen",
    "composite_high",
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
        dates = pd.DatetimeIndex([*dates, last])
    return dates


def replay_scores(
    observations: pd.DataFrame,
    catalogue: Catalogue,
    *,
    countries: Iterable[str],
    start: Any,
    end: Any,
    every: Every = "day",
) -> ScoreFrames:
    """The full scoring frames (countries, pillars, contributions, latest) for every replay date.

    Args:
        observations: canonical observations (include `WLD` world series for world triggers).
        catalogue: the catalogue.
        countries: ISO3 codes to replay.
        start: first as-of day.
        end: last as-of day (included).
        every: "day" or "week".

    Returns:
        `ScoreFrames` with a `date` column; `.at(date)` gives that date's `PanelScore`.
    """
    return score_days(
        observations, catalogue, countries=countries, dates=replay_dates(start, end, every)
    )


def score_days(
    observations: pd.DataFrame,
    catalogue: Catalogue,
    *,
    countries: Iterable[str],
    dates: pd.DatetimeIndex,
) -> ScoreFrames:
    """`replay_scores` on any set of as-of days (sorted, at least one), in one vectorised pass."""
    wanted = sorted({str(code) for code in countries} - {WORLD})
    dates = pd.DatetimeIndex(sorted(set(pd.DatetimeIndex(dates).normalize())))
    subset = observations[observations["country"].isin([*wanted, WORLD])]
    # Derive once from everything visible by the end; publication dates keep each date honest.
    derived = derive_indicators(subset, catalogue, as_of=dates[-1])
    base = with_publication(subset, catalogue)
    base = base[~base["is_forecast"].to_numpy(dtype=bool)]
    base = base[base[PUBLISHED] < dates[-1] + pd.Timedelta(days=1)]
    prepared = standardise_zscore_indicators(concat_compact([base, derived]), catalogue)
    latest = latest_on_dates(prepared, dates)
    return score_latest(latest, catalogue, dates=dates, countries=wanted)


def replay_table(frames: ScoreFrames, catalogue: Catalogue) -> pd.DataFrame:
    """The replay's one-row-per-(date, country) table from its scoring frames (see `replay`)."""
    pillar_ids = [p.id for p in catalogue.pillars if p.kind in ("structural", "trigger")]
    pillar_wide = frames.pillars.pivot_table(
        index=["date", "country"], columns="pillar", values="score", aggfunc="first", dropna=False
    ).reindex(columns=pillar_ids)
    contributions = frames.contributions
    triggers = contributions[
        (contributions["kind"] == "trigger") & (contributions["contribution"] > 1e-9)
    ].sort_values(["date", "country", "contribution"], ascending=[True, True, False])
    trigger_driver = triggers.drop_duplicates(["date", "country"]).set_index(["date", "country"])[
        "indicator"
    ]
    result = frames.countries.join(pillar_wide, on=["date", "country"])
    units = pd.MultiIndex.from_frame(result[["date", "country"]])
    result["trigger_driver"] = trigger_driver.reindex(units).fillna("").to_numpy()
    ordered = [
        *REPLAY_BASE_COLUMNS,
        *pillar_ids,
        "top_driver",
        "trigger_driver",
        "inputs_present",
        "inputs_stale",
        "confidence",
    ]
    return result[ordered].sort_values(["country", "date"], kind="mergesort").reset_index(drop=True)


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
    frames = replay_scores(
        observations, catalogue, countries=countries, start=start, end=end, every=every
    )
    return replay_table(frames, catalogue)


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
