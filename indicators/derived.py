"""Derived indicators: fuel-price steps, % changes, currency depreciation, price gaps, spikes.

Computed from the stored base series, never fetched, vectorised over the whole panel: one pass per
derived indicator definition (≈10), each a handful of groupby / merge_asof / rolling operations.
Every derived row carries the publication date of the newest input it used, so a derived value is
only visible point in time once all of its inputs were (see `indicators.pointintime`).

Definitions (also in docs/METHODOLOGY.md):

* `step_change` — per base series the % step between consecutive observations. A **sampled**
  series (WFP monthly medians, weekly bulletins: each row a reading of a moving price) counts a step
  only when the previous observation is at most `window_days` earlier (a jump across a multi-year
  gap is drift, not a datable step). A **price-in-force** series (both rows from a source the base
  indicator lists in `in_force_sources`, or rows an analyst imported as official revisions, source
  `…:revisions`: one row per official revision, the price holding until the next) compares the
  new price with the price in force the day before, whatever the gap — Sri Lanka's 22 Apr →
  24 May 2022 revision (32 days) is a step. At each observation date of any base series, the
  largest such step (signed: a price cut is negative) dated within the trailing window
  `(d − window_days, d]`. LPG 55 (2021-12-31) → 120 (2022-01-01) gives +118 % on 2022-01-01.
* `change_mom` / `change_yoy` — % change against the same series' value 1 / 12 months earlier
  (the newest observation at most 10 days before that anchor; for a price-in-force series the price
  in force on the anchor day, however old). Several bases: the largest change on each date.
* `depreciation_1m/3m/12m` — % rise in local-currency units per USD over 1/3/12 months. The
  bases are alternatives in order of preference (`usd_fx_rate` daily, then `fx_rate_annual`): a
  later base only fills dates before the preferred base's first derived value for that country.
* `price_gap` — % gap of a domestic price (converted to USD with the optional third base, an
  LCU-per-USD rate) to a world reference price (country `WLD`), per litre when the world price is
  per barrel or per US gallon.
* `spike` — z-score of `log1p(count)` against the same series' previous `normalisation.window`
  observations (the current one excluded), needing at least `SPIKE_MIN_HISTORY` of them; the
  trailing standard deviation is floored at `SPIKE_MIN_SD` so a flat history cannot produce an
  infinite z. Adding a constant to the transformed series changes nothing.
* `daily_spike` — z-score of a daily count (Anscombe-transformed) against the same series' previous
  `normalisation.window` calendar days; see `indicators.daily_spike`.
* `seasonal_deviation` — per monthly price series, the deviation of the log price from its own
  seasonal trend (linear trend + month-of-year effects fitted on the previous observations within
  `window_days`, at least 36 of them) in residual standard deviations, WFP ALPS-style
  (`indicators.food_shock`); the largest across the bases per (country, month).

A `derived_from` entry ending in `*` names every catalogue indicator with that prefix
(`food_price_*`: every staple food price series, whoever adds them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from indicators.catalogue import Catalogue, Indicator
from indicators.daily_spike import daily_spike
from indicators.food_shock import MIN_HISTORY, food_price_deviation
from indicators.observations import OBSERVATION_COLUMNS
from indicators.pointintime import (
    PUBLISHED,
    concat_compact,
    visible_observations,
    with_publication,
)

DERIVED_SOURCE = "derived"
# A spike needs at least this many earlier observations of the series.
SPIKE_MIN_HISTORY = 6
# Floor of the trailing standard deviation (in log1p units for spikes): ~10 % of a count.
SPIKE_MIN_SD = 0.1
# How far before the 1-/3-/12-month anchor an earlier observation may lie and still be used.
CHANGE_TOLERANCE = pd.Timedelta(days=10)
# Litres per barrel / per US gallon, for price gaps against world prices quoted per bbl or gal.
LITRES_PER_UNIT = {"bbl": 158.987294928, "gal": 3.785411784}
# Mean days per month: `seasonal_deviation` turns its `window_days` into a number of months.
DAYS_PER_MONTH = 30.44
# How far back a world price or fx rate may be carried to a domestic price's date.
GAP_TOLERANCE = pd.Timedelta(days=31)
# Column set on the base rows handed to the derivations: True for a price-in-force row.
IN_FORCE = "in_force"
# The source of rows an analyst declared official revisions (`price_in_force = true` in an import
# file) ends with this: "analyst:revisions". The declaration travels with each stored row, so it
# holds for every indicator and whatever `--source-name` was, without a catalogue edit.
DECLARED_REVISIONS_SUFFIX = ":revisions"

_KEYS = ["indicator", "country"]
_RESULT_COLUMNS = ["country", "period", "value", PUBLISHED, "fetched_at"]

Derivation = Callable[[pd.DataFrame, Indicator], pd.DataFrame]


def _empty_result() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "country": pd.Series(dtype="object"),
            "period": pd.Series(dtype="datetime64[ns]"),
            "value": pd.Series(dtype="float64"),
            PUBLISHED: pd.Series(dtype="datetime64[ns]"),
            "fetched_at": pd.Series(dtype="datetime64[ns]"),
        }
    )


def _pct_change(value: pd.Series, previous: pd.Series) -> pd.Series:
    """(value / previous − 1) × 100, NaN where the previous value is missing or not positive."""
    ratio = value / previous.where(previous > 0)
    return (ratio - 1.0) * 100.0


def _latest_of(*columns: pd.Series) -> pd.Series:
    """Row-wise maximum of datetime columns, ignoring NaT."""
    stacked = pd.concat(columns, axis=1)
    return stacked.max(axis=1).astype("datetime64[ns]")


def _combine_max(frame: pd.DataFrame) -> pd.DataFrame:
    """Collapse several bases on the same (country, period) to the largest value."""
    if frame.empty:
        return _empty_result()
    if "indicator" in frame.columns and frame["indicator"].nunique() <= 1:
        # One base series: (country, period) is already unique, nothing to collapse.
        return frame[_RESULT_COLUMNS].reset_index(drop=True)
    grouped = frame.groupby(["country", "period"], sort=False, observed=True).agg(
        value=("value", "max"), published=(PUBLISHED, "max"), fetched_at=("fetched_at", "max")
    )
    return grouped.reset_index()[_RESULT_COLUMNS]


def trailing_zscore(
    values: pd.Series,
    groups: list[pd.Series],
    window: int,
    *,
    min_history: int = SPIKE_MIN_HISTORY,
    min_sd: float = SPIKE_MIN_SD,
) -> pd.Series:
    """z-score of each value against the previous `window` values of its group (current excluded).

    Vectorised with cumulative sums over the group-sorted values (no per-group Python work); each
    group's values are taken relative to its first value, so a constant shift cancels.

    Args:
        values: the (transformed) values, sorted by period within each group.
        groups: Series aligned with `values` identifying each group (e.g. indicator and country).
        window: how many earlier observations form the baseline.
        min_history: fewer earlier observations than this give NaN.
        min_sd: floor of the baseline's standard deviation.

    Returns:
        The z-scores aligned with `values`. Adding a constant to a group changes nothing.
    """
    if values.empty:
        return values.astype("float64")
    codes = pd.Series(0, index=values.index).groupby(groups, sort=False).ngroup().to_numpy()
    order = np.argsort(codes, kind="stable")
    x = values.to_numpy(dtype="float64")[order]
    group = codes[order]
    position = np.arange(len(x))
    is_start = np.r_[True, group[1:] != group[:-1]]
    start = np.maximum.accumulate(np.where(is_start, position, 0))
    relative = x - x[start]
    sums = np.concatenate([[0.0], np.cumsum(relative)])
    squares = np.concatenate([[0.0], np.cumsum(relative * relative)])
    low = np.maximum(position - window, start)
    count = (position - low).astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (sums[position] - sums[low]) / count
        variance = (squares[position] - squares[low] - count * mean * mean) / (count - 1.0)
        sd = np.sqrt(np.maximum(variance, 0.0))
        z = (relative - mean) / np.maximum(sd, min_sd)
    z[count < max(min_history, 2)] = np.nan
    result = np.empty_like(z)
    result[order] = z
    return pd.Series(result, index=values.index, dtype="float64")


def declared_revisions_source(source: str) -> str:
    """The source recorded on rows an analyst declared official revisions ("analyst:revisions")."""
    return f"{source}{DECLARED_REVISIONS_SUFFIX}"


def price_in_force_rows(frame: pd.DataFrame, catalogue: Catalogue) -> pd.Series:
    """Which rows belong to a price-in-force series: their source is in the indicator's
    `in_force_sources`, or the analyst declared them revisions (`DECLARED_REVISIONS_SUFFIX`).

    Args:
        frame: observations with `indicator` and `source` columns.
        catalogue: each base indicator's `in_force_sources`.

    Returns:
        A boolean Series aligned with `frame`: True for an official revision's row (the price holds
        until the series' next row), False for a sampled reading.
    """
    # Test the few distinct source names, not every row's text (the panel has millions of rows).
    declared = [
        name
        for name in pd.unique(frame["source"])
        if isinstance(name, str) and name.endswith(DECLARED_REVISIONS_SUFFIX)
    ]
    in_force = frame["source"].isin(declared).astype(bool)
    # One vectorised test per indicator with revision sources (the four fuel prices), not per row.
    for item in catalogue.indicators:
        if item.in_force_sources:
            in_force |= (frame["indicator"] == item.id) & frame["source"].isin(
                item.in_force_sources
            )
    return in_force


def _step_change(inputs: pd.DataFrame, item: Indicator) -> pd.DataFrame:
    frame = inputs.sort_values([*_KEYS, "period"], kind="mergesort")
    grouped = frame.groupby(_KEYS, sort=False)
    previous_value = grouped["value"].shift(1)
    previous_period = grouped["period"].shift(1)
    previous_published = grouped[PUBLISHED].shift(1)
    window = pd.Timedelta(days=item.window_days)
    # The previous row of a revision series is the price in force the day before, however old;
    # a sampled reading that old says nothing about when the price moved.
    close_enough = (frame["period"] - previous_period) <= window
    if IN_FORCE in frame.columns:
        in_force = frame[IN_FORCE].fillna(False).astype(bool)
        previous_in_force = grouped[IN_FORCE].shift(1).fillna(False).astype(bool)
        close_enough |= in_force & previous_in_force
    step = _pct_change(frame["value"], previous_value).where(close_enough)
    steps = pd.DataFrame(
        {
            "country": frame["country"],
            "period": frame["period"],
            "value": step,
            PUBLISHED: _latest_of(frame[PUBLISHED], previous_published.where(close_enough)),
            "fetched_at": frame["fetched_at"],
        }
    )
    per_day = steps.groupby(["country", "period"], sort=True).agg(
        value=("value", "max"), published=(PUBLISHED, "max"), fetched_at=("fetched_at", "max")
    )
    per_day = per_day.reset_index()
    numeric = pd.DataFrame(
        {
            "value": per_day["value"],
            "published_ns": per_day[PUBLISHED].astype("int64").where(per_day[PUBLISHED].notna()),
            "fetched_ns": per_day["fetched_at"]
            .astype("int64")
            .where(per_day["fetched_at"].notna()),
        }
    )
    numeric.index = pd.DatetimeIndex(per_day["period"])
    rolled = (
        numeric.groupby(per_day["country"].to_numpy(), sort=False)
        .rolling(f"{item.window_days}D", min_periods=1)
        .max()
    )
    result = pd.DataFrame(
        {
            "country": rolled.index.get_level_values(0).astype(str),
            "period": rolled.index.get_level_values(1),
            "value": rolled["value"].to_numpy(),
            PUBLISHED: pd.to_datetime(rolled["published_ns"].to_numpy()),
            "fetched_at": pd.to_datetime(rolled["fetched_ns"].to_numpy()),
        }
    )
    return result[result["value"].notna()].reset_index(drop=True)[_RESULT_COLUMNS]


def _changes_over(inputs: pd.DataFrame, months: int) -> pd.DataFrame:
    """Per base series, % change of each observation against the value `months` earlier.

    The earlier value is the newest observation at most `CHANGE_TOLERANCE` before the anchor — or,
    when both rows belong to a price-in-force series, the price in force on the anchor day,
    however long before it was set.
    """
    in_force = (
        inputs[IN_FORCE].fillna(False).astype(bool)
        if IN_FORCE in inputs.columns
        else pd.Series(False, index=inputs.index)
    )
    left = inputs[[*_KEYS, "period", "value", PUBLISHED, "fetched_at"]].assign(in_force=in_force)
    left["anchor"] = left["period"] - pd.DateOffset(months=months)
    right = (
        inputs[[*_KEYS, "period", "value", PUBLISHED]]
        .assign(anchor_in_force=in_force)
        .rename(
            columns={
                "period": "anchor_period",
                "value": "anchor_value",
                PUBLISHED: "anchor_published",
            }
        )
    )
    merged = pd.merge_asof(
        left.sort_values("anchor", kind="mergesort"),
        right.sort_values("anchor_period", kind="mergesort"),
        left_on="anchor",
        right_on="anchor_period",
        by=_KEYS,
        direction="backward",
    )
    recent = (merged["anchor"] - merged["anchor_period"]) <= CHANGE_TOLERANCE
    held = merged["in_force"] & merged["anchor_in_force"].fillna(False).astype(bool)
    usable = recent | held
    merged["anchor_value"] = merged["anchor_value"].where(usable)
    merged["anchor_published"] = merged["anchor_published"].where(usable)
    merged["value"] = _pct_change(merged["value"], merged["anchor_value"])
    merged[PUBLISHED] = _latest_of(merged[PUBLISHED], merged["anchor_published"])
    merged = merged[merged["value"].notna()]
    return merged[[*_KEYS, "period", "value", PUBLISHED, "fetched_at"]]


def _change(months: int) -> Derivation:
    def derive(inputs: pd.DataFrame, item: Indicator) -> pd.DataFrame:
        return _combine_max(_changes_over(inputs, months))

    return derive


def _depreciation(months: int) -> Derivation:
    def derive(inputs: pd.DataFrame, item: Indicator) -> pd.DataFrame:
        changes = _changes_over(inputs, months)
        kept: list[pd.DataFrame] = []
        # Bases are alternatives, most preferred first; a loop over the (two) bases, not rows.
        cutoff = pd.Series(dtype="datetime64[ns]")
        for base in item.derived_from:
            rows = changes[changes["indicator"] == base]
            if not cutoff.empty:
                limit = rows["country"].map(cutoff)
                rows = rows[limit.isna() | (rows["period"] < limit)]
            kept.append(rows)
            first = rows.groupby("country")["period"].min()
            cutoff = pd.concat([cutoff, first]).groupby(level=0).min()
        if not kept:
            return _empty_result()
        return _combine_max(pd.concat(kept, ignore_index=True))

    return derive


def _litres_per_unit(unit: str) -> float:
    for name, litres in LITRES_PER_UNIT.items():
        if name in unit.lower():
            return litres
    return 1.0


def _price_gap(inputs: pd.DataFrame, item: Indicator) -> pd.DataFrame:
    if len(item.derived_from) < 2:
        return _empty_result()
    domestic_id, world_id = item.derived_from[0], item.derived_from[1]
    domestic = inputs[inputs["indicator"] == domestic_id].sort_values("period", kind="mergesort")
    world = inputs[(inputs["indicator"] == world_id) & (inputs["country"] == "WLD")]
    if domestic.empty or world.empty:
        return _empty_result()
    domestic = domestic[["country", "period", "value", PUBLISHED, "fetched_at"]].copy()
    if len(item.derived_from) >= 3:
        fx = inputs[inputs["indicator"] == item.derived_from[2]]
        fx = fx[["country", "period", "value", PUBLISHED]].rename(
            columns={"period": "fx_period", "value": "fx", PUBLISHED: "fx_published"}
        )
        domestic = pd.merge_asof(
            domestic,
            fx.sort_values("fx_period", kind="mergesort"),
            left_on="period",
            right_on="fx_period",
            by="country",
            direction="backward",
            tolerance=GAP_TOLERANCE,
        )
        domestic["value"] = domestic["value"] / domestic["fx"].where(domestic["fx"] > 0)
        domestic[PUBLISHED] = _latest_of(domestic[PUBLISHED], domestic["fx_published"])
    unit = str(world["unit"].iloc[0])
    reference = world[["period", "value", PUBLISHED]].rename(
        columns={"period": "world_period", "value": "world", PUBLISHED: "world_published"}
    )
    reference["world"] = reference["world"] / _litres_per_unit(unit)
    merged = pd.merge_asof(
        domestic.sort_values("period", kind="mergesort"),
        reference.sort_values("world_period", kind="mergesort"),
        left_on="period",
        right_on="world_period",
        direction="backward",
        tolerance=GAP_TOLERANCE,
    )
    merged["value"] = _pct_change(merged["value"], merged["world"])
    merged[PUBLISHED] = _latest_of(merged[PUBLISHED], merged["world_published"])
    return _combine_max(merged[merged["value"].notna()])


def _seasonal_deviation(inputs: pd.DataFrame, item: Indicator) -> pd.DataFrame:
    months = max(MIN_HISTORY + 1, round(item.window_days / DAYS_PER_MONTH))
    result = food_price_deviation(inputs, months)
    return result[_RESULT_COLUMNS]


def _spike(inputs: pd.DataFrame, item: Indicator) -> pd.DataFrame:
    frame = inputs.sort_values([*_KEYS, "period"], kind="mergesort")
    transformed = np.log1p(frame["value"].clip(lower=0.0))
    groups = [frame["indicator"], frame["country"]]
    z = trailing_zscore(transformed, groups, item.normalisation.window)
    published = frame[PUBLISHED].groupby(groups, sort=False).cummax()
    result = pd.DataFrame(
        {
            "indicator": frame["indicator"],
            "country": frame["country"],
            "period": frame["period"],
            "value": z,
            PUBLISHED: published,
            "fetched_at": frame["fetched_at"],
        }
    )
    return _combine_max(result[result["value"].notna()])


DERIVATIONS: dict[str, Derivation] = {
    "step_change": _step_change,
    "change_mom": _change(1),
    "change_yoy": _change(12),
    "depreciation_1m": _depreciation(1),
    "depreciation_3m": _depreciation(3),
    "depreciation_12m": _depreciation(12),
    "price_gap": _price_gap,
    "spike": _spike,
    "daily_spike": daily_spike,
    "seasonal_deviation": _seasonal_deviation,
}


def empty_derived() -> pd.DataFrame:
    """An empty derived frame: the canonical columns plus `published`."""
    frame = pd.DataFrame({name: pd.Series(dtype="object") for name in OBSERVATION_COLUMNS})
    frame[PUBLISHED] = pd.Series(dtype="datetime64[ns]")
    return _canonical(frame)


def _canonical(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame
    out["value"] = out["value"].astype("float64")
    out["period"] = pd.to_datetime(out["period"]).astype("datetime64[ns]")
    for name in ("published_at", "fetched_at", PUBLISHED):
        out[name] = pd.to_datetime(out[name]).astype("datetime64[ns]")
    out["is_forecast"] = out["is_forecast"].astype(bool)
    for name in ("indicator", "country", "unit", "source", "vintage"):
        column = out[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            out[name] = column.cat.remove_unused_categories()
        else:
            out[name] = column.astype("category")
    return out[[*OBSERVATION_COLUMNS, PUBLISHED]].reset_index(drop=True)


def derive_indicators(
    observations: pd.DataFrame, catalogue: Catalogue, as_of: Any | None = None
) -> pd.DataFrame:
    """Compute every enabled derived indicator of the catalogue from its base series.

    Args:
        observations: canonical observations (base series; rows of other indicators are ignored).
        catalogue: the derived indicators' definitions (`derivation`, `derived_from`, `window_days`,
            `normalisation.window`).
        as_of: when given, only observations visible at the end of that day are used (see
            `indicators.pointintime`); otherwise all actuals of the newest vintage.

    Returns:
        The derived rows in the canonical frame (source "derived", vintage "", `published_at` = the
        publication date of the newest input used) plus the `published` column.
    """
    definitions = [item for item in catalogue.enabled_indicators if item.derivation is not None]
    if not definitions:
        return empty_derived()
    subset = observations[observations["indicator"].isin(derivation_bases(catalogue))]
    base = visible_observations(with_publication(subset, catalogue), catalogue, as_of)
    return derive_from_visible(base, catalogue)


def base_ids(item: Indicator, catalogue: Catalogue) -> list[str]:
    """The ids `item` derives from, a `prefix*` entry expanded over the catalogue's indicators."""
    known = [indicator.id for indicator in catalogue.indicators]
    out: list[str] = []
    for entry in item.derived_from:
        if entry.endswith("*"):
            prefix = entry[:-1]
            out.extend(name for name in known if name.startswith(prefix) and name != item.id)
        else:
            out.append(entry)
    return list(dict.fromkeys(out))


def derivation_bases(catalogue: Catalogue) -> set[str]:
    """Ids of the indicators the enabled derived indicators are computed from."""
    return {
        base
        for item in catalogue.enabled_indicators
        if item.derivation is not None
        for base in base_ids(item, catalogue)
    }


def derive_from_visible(base: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """`derive_indicators` on rows already made visible (with `published`, one vintage each).

    Args:
        base: output of `visible_observations` (rows of other indicators are ignored).
        catalogue: the derived indicators' definitions.

    Returns:
        The derived rows (see `derive_indicators`).
    """
    definitions = [item for item in catalogue.enabled_indicators if item.derivation is not None]
    if not definitions:
        return empty_derived()
    base = base[base["indicator"].isin(derivation_bases(catalogue))]
    base = base.assign(**{IN_FORCE: price_in_force_rows(base, catalogue)})
    pieces: dict[str, pd.DataFrame] = {}
    for item in definitions:
        bases = base_ids(item, catalogue)
        inputs = base[base["indicator"].isin(bases)]
        earlier = [pieces[name] for name in bases if name in pieces]
        if earlier:
            inputs = concat_compact([inputs, *earlier])
        if inputs.empty:
            continue
        assert item.derivation is not None
        result = DERIVATIONS[item.derivation](inputs, item)
        if result.empty:
            continue
        result = result.assign(
            indicator=item.id,
            unit=item.unit,
            source=DERIVED_SOURCE,
            vintage="",
            is_forecast=False,
            published_at=result[PUBLISHED],
        )
        pieces[item.id] = _canonical(result)
    if not pieces:
        return empty_derived()
    return concat_compact(list(pieces.values()))


def zscore_indicator_ids(catalogue: Catalogue) -> list[str]:
    """Enabled base (non-derived) indicators normalised by `zscore`."""
    return [
        item.id
        for item in catalogue.enabled_indicators
        if item.normalisation.method == "zscore" and item.derivation is None
    ]


def standardise_zscore_indicators(frame: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """Replace the values of non-derived indicators normalised by `zscore` with trailing z-scores.

    A derived `spike` already is a z-score; a base series configured with `method = "zscore"` is
    standardised here against its own previous `window` observations (log1p first when
    `normalisation.log` is set).

    Args:
        frame: observations (with `published`), one vintage per series.
        catalogue: the normalisation settings.

    Returns:
        `frame` with those indicators' values replaced (rows without enough history dropped).
    """
    targets = [
        item
        for item in catalogue.enabled_indicators
        if item.normalisation.method == "zscore" and item.derivation is None
    ]
    if not targets:
        return frame
    target_ids = [item.id for item in targets]
    mask = frame["indicator"].isin(target_ids)
    if not mask.any():
        return frame
    chosen = frame[mask].sort_values([*_KEYS, "vintage", "period"], kind="mergesort")
    windows = {item.id: item.normalisation.window for item in targets}
    logs = {item.id: item.normalisation.log for item in targets}
    parts = []
    # One pass per configured z-scored indicator (their windows differ), never per row.
    for indicator_id, rows in chosen.groupby("indicator", sort=False):
        values = rows["value"]
        if logs[str(indicator_id)]:
            values = np.log1p(values.clip(lower=0.0))
        z = trailing_zscore(values, [rows["country"], rows["vintage"]], windows[str(indicator_id)])
        parts.append(rows.assign(value=z)[z.notna()])
    return concat_compact([frame[~mask], *parts])


def derivation_names() -> tuple[str, ...]:
    """The supported derivations."""
    return tuple(DERIVATIONS)
