"""Measuring a rule: the value each instance is compared with, from panels and visible series."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
import pandas as pd

from indicators.alert_rules.model import (
    DEFAULT_SOURCE_MAX_AGE_DAYS,
    WORLD_INSTANCE,
    AlertRule,
    Measurement,
)
from indicators.catalogue import Catalogue, Indicator
from indicators.scoring import PanelScore
from indicators.trigger_state import describe_trigger, is_blind
from indicators.units import shown_unit

# A spike needs at least this many earlier observations inside the rule's window.
SPIKE_MIN_HISTORY: Final = 6

# Floor of the baseline standard deviation for spikes on log1p-transformed non-negative series.
SPIKE_MIN_SD: Final = 0.1


def _band_ranks(catalogue: Catalogue) -> dict[str, int]:
    ordered = sorted(catalogue.bands, key=lambda band: band.lower)
    return {band.name: rank for rank, band in enumerate(ordered)}


def _finite(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _day(moment: object) -> str:
    stamp = pd.Timestamp(moment)  # type: ignore[arg-type]
    return "?" if pd.isna(stamp) else stamp.strftime("%Y-%m-%d")


def measure(
    rule: AlertRule,
    catalogue: Catalogue,
    *,
    panel: PanelScore,
    countries: Sequence[str],
    pool: pd.DataFrame | None = None,
    earlier: PanelScore | None = None,
    source_ages: Mapping[str, float | None] | None = None,
) -> dict[str, Measurement]:
    """The value `rule` watches for each country, as of `panel.as_of`.

    What is measured, by kind and target:

    * level — composite or pillar: the 0–10 score. indicator: the latest visible **raw** value in
      the indicator's unit (what users set thresholds on, e.g. `fuel_price_step` 25 %); a value
      older than the indicator's `max_age_days` is no data, and a `step_change` indicator whose
      latest step is older than its own window reads 0 (no step inside the window any more).
    * change — indicator: % change of the latest visible value against the value in force
      `window_days` before `as_of` (or, when the series starts inside the window, its first value
      there); no data when that value is older than the indicator's `max_age_days` (a sparse
      series cannot say what was in force then); composite or pillar: the change in score points
      against `earlier`.
    * spike — z-score of the latest value against the same series' observations in the
      `window_days` before it (log1p-transformed when the series is never negative, like counts).
    * stale — indicator: days from the end of the latest visible period to `as_of`; source: days
      since the last successful fetch run (`source_ages`), one instance under `WORLD_INSTANCE`.
    * stale on `trigger` — days the country's trigger has been blind (from `blind_since`, the
      first blind day counting 1; `math.inf` when no own trigger input was ever seen; 0 when not
      blind).
    * band_change — band rank now minus the band rank in `earlier` (+1 = one band up).

    A country with nothing to measure is absent or has a None value (the state is kept).

    Args:
        rule: the rule.
        catalogue: indicators (units, maximum ages, windows) and bands.
        panel: the panel scored as of the evaluation day.
        countries: the rule's countries (its scope, expanded).
        pool: visible rows (base and derived, with `published`) as of `panel.as_of`; needed by
            change and spike rules on indicators and for the detail of step changes.
        earlier: the panel scored `rule.window_days` before (change on scores, band_change).
        source_ages: source name → days since its last successful run (None: never succeeded).

    Returns:
        country → `Measurement(value, detail)`.
    """
    kind, target = rule.target_kind, rule.target_id
    if rule.kind == "stale" and kind == "source":
        return {WORLD_INSTANCE: _source_staleness(rule, target, source_ages or {})}
    if rule.kind == "stale" and kind == "trigger":
        return _trigger_blindness(panel, countries)
    if kind == "indicator":
        try:
            indicator = catalogue.indicator(target)
        except KeyError:
            return {}
        if rule.kind == "level":
            return _indicator_level(rule, indicator, panel, countries, pool)
        if rule.kind == "stale":
            return _indicator_age(indicator, panel, countries)
        if rule.kind in ("change", "spike"):
            series = _series(pool, indicator.id, countries, panel.as_of)
            if rule.kind == "change":
                return _indicator_change(rule, indicator, series, panel.as_of)
            return _indicator_spike(rule, indicator, series, panel.as_of)
        return {}
    scores_now = _scores(panel, rule)
    if rule.kind == "level":
        return {
            country: Measurement(scores_now.get(country), _score_detail(rule, panel, country))
            for country in countries
            if country in scores_now
        }
    if earlier is None:
        return {}
    if rule.kind == "change":
        scores_then = _scores(earlier, rule)
        out: dict[str, Measurement] = {}
        for country in countries:
            now, then = scores_now.get(country), scores_then.get(country)
            value = None if now is None or then is None else now - then
            detail = (
                f"{_what(rule)} {_fmt(then)} on {_day(earlier.as_of)} → {_fmt(now)} on "
                f"{_day(panel.as_of)}"
            )
            out[country] = Measurement(value, detail)
        return out
    if rule.kind == "band_change":
        ranks = _band_ranks(catalogue)
        out = {}
        for country in countries:
            band_now = _band_of(panel, country)
            band_then = _band_of(earlier, country)
            rank_now, rank_then = ranks.get(band_now or ""), ranks.get(band_then or "")
            detail = (
                f"band {band_then} on {_day(earlier.as_of)} → {band_now} on {_day(panel.as_of)}"
            )
            if rule.margin and rank_now is not None:
                composite = scores_now.get(country)
                rank_now = _confirmed_rank(rule, catalogue, ranks, composite, rank_now)
                detail += f" (composite {_fmt(composite)}; a move counts {rule.margin:g} inside)"
            value = None if rank_now is None or rank_then is None else float(rank_now - rank_then)
            out[country] = Measurement(value, detail)
        return out
    return {}


def _confirmed_rank(
    rule: AlertRule,
    catalogue: Catalogue,
    ranks: dict[str, int],
    composite: float | None,
    rank_now: int,
) -> int | None:
    """The band rank the composite holds with `rule.margin` to spare: the band of the composite
    less the margin for a rise ("above"), plus it for a fall ("below")."""
    if composite is None:
        return None
    shifted = composite - rule.margin if rule.condition == "above" else composite + rule.margin
    rank = ranks[catalogue.band_for(shifted).name]
    return min(rank, rank_now) if rule.condition == "above" else max(rank, rank_now)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _what(rule: AlertRule) -> str:
    return "composite" if rule.target == "composite" else f"pillar {rule.target_id}"


def _scores(panel: PanelScore, rule: AlertRule) -> dict[str, float | None]:
    if rule.target == "composite":
        column = panel.countries["composite"]
        return {str(country): _finite(value) for country, value in column.items()}
    pillars = panel.pillars[panel.pillars["pillar"] == rule.target_id]
    return {
        str(country): _finite(score)
        for country, score in zip(pillars["country"], pillars["score"], strict=True)
    }


def _band_of(panel: PanelScore, country: str) -> str | None:
    if country not in panel.countries.index:
        return None
    band = panel.countries.at[country, "band"]
    return str(band) if isinstance(band, str) else None


def _score_detail(rule: AlertRule, panel: PanelScore, country: str) -> str:
    if country not in panel.countries.index:
        return ""
    row = panel.countries.loc[country]
    if rule.target == "composite":
        return (
            f"composite {_fmt(_finite(row['composite']))} (band {row['band']}), {row['confidence']}"
        )
    return f"{_what(rule)}; composite {_fmt(_finite(row['composite']))} (band {row['band']})"


def _latest_rows(panel: PanelScore, indicator_id: str, countries: Sequence[str]) -> pd.DataFrame:
    """Latest rows of one indicator for `countries`; a world-only series is measured on WLD."""
    rows = panel.latest[panel.latest["indicator"] == indicator_id]
    own = rows[rows["country"].isin(list(countries))]
    if own.empty and (rows["country"] == WORLD_INSTANCE).any():
        return rows[rows["country"] == WORLD_INSTANCE]
    return own


def _indicator_level(
    rule: AlertRule,
    indicator: Indicator,
    panel: PanelScore,
    countries: Sequence[str],
    pool: pd.DataFrame | None,
) -> dict[str, Measurement]:
    out: dict[str, Measurement] = {}
    rows = _latest_rows(panel, indicator.id, countries)
    for row in rows.itertuples(index=False):
        value = _finite(row.value)
        age = _finite(row.age_days)
        country = str(row.country)
        if value is None or (age is not None and age > indicator.max_age_days):
            out[country] = Measurement(None, f"{indicator.id}: no value within its maximum age")
            continue
        if (
            indicator.derivation == "step_change"
            and age is not None
            and age > indicator.window_days
        ):
            out[country] = Measurement(
                0.0, f"{indicator.id}: no step within {indicator.window_days} days"
            )
            continue
        unit = shown_unit(indicator.unit, getattr(row, "unit", None))
        detail = f"{indicator.id} {value:.4g} {unit} ({_day(row.period)})"
        if indicator.derivation == "step_change" and pool is not None:
            until = pd.Timestamp(str(row.period))
            detail = _step_detail(indicator, pool, country, until) or detail
        out[country] = Measurement(value, detail)
    return out


def _step_detail(
    indicator: Indicator, pool: pd.DataFrame, country: str, until: pd.Timestamp
) -> str:
    """The largest step behind a step change, e.g. `fuel_lpg_retail 55 → 120 KZT/litre (…)`."""
    start = until - pd.Timedelta(days=indicator.window_days)
    rows = pool[
        pool["indicator"].isin(list(indicator.derived_from))
        & (pool["country"] == country)
        & (pool["period"] <= until)
    ].sort_values(["indicator", "period"], kind="mergesort")
    if rows.empty:
        return ""
    previous_value = rows.groupby("indicator", sort=False)["value"].shift(1)
    previous_period = rows.groupby("indicator", sort=False)["period"].shift(1)
    gap_ok = (rows["period"] - previous_period) <= pd.Timedelta(days=indicator.window_days)
    step = ((rows["value"] / previous_value - 1.0) * 100.0).where(
        gap_ok & (rows["period"] > start) & (previous_value > 0)
    )
    steps = step.to_numpy(dtype="float64")
    if np.isnan(steps).all():
        return ""
    best = int(np.nanargmax(steps))
    row = rows.iloc[best]
    return (
        f"{row['indicator']} {previous_value.iloc[best]:.4g} → {row['value']:.4g} {row['unit']} "
        f"({_day(previous_period.iloc[best])} → {_day(row['period'])}, {steps[best]:+.0f} %)"
    )


def _indicator_age(
    indicator: Indicator, panel: PanelScore, countries: Sequence[str]
) -> dict[str, Measurement]:
    rows = _latest_rows(panel, indicator.id, countries)
    return {
        str(row.country): Measurement(
            _finite(row.age_days),
            f"{indicator.id}: latest period {_day(row.period)}, maximum age "
            f"{indicator.max_age_days} days",
        )
        for row in rows.itertuples(index=False)
    }


def _series(
    pool: pd.DataFrame | None, indicator_id: str, countries: Sequence[str], as_of: pd.Timestamp
) -> pd.DataFrame:
    if pool is None or pool.empty:
        return pd.DataFrame(columns=["country", "period", "value", "unit"])
    rows = pool[(pool["indicator"] == indicator_id) & (pool["period"] <= as_of)]
    own = rows[rows["country"].isin(list(countries))]
    if own.empty and (rows["country"] == WORLD_INSTANCE).any():
        own = rows[rows["country"] == WORLD_INSTANCE]
    return own.sort_values(["country", "period"], kind="mergesort")


def _indicator_change(
    rule: AlertRule, indicator: Indicator, series: pd.DataFrame, as_of: pd.Timestamp
) -> dict[str, Measurement]:
    out: dict[str, Measurement] = {}
    window_start = as_of - pd.Timedelta(days=rule.window_days)
    for country, rows in series.groupby("country", sort=True):
        now = rows.iloc[-1]
        before = rows[rows["period"] <= window_start]
        inside = rows[rows["period"] > window_start]
        baseline = before.iloc[-1] if not before.empty else inside.iloc[0]
        baseline_age = (window_start - pd.Timestamp(baseline["period"])).days
        if baseline_age > indicator.max_age_days:
            # A sparse series (regulated prices reported now and then) says nothing about the
            # price in force a window ago when its last point is older than the indicator's
            # max age: comparing with it would call a two-year drift a one-month jump.
            out[str(country)] = Measurement(
                None,
                f"{indicator.id}: no baseline — the value in force {rule.window_days} d ago "
                f"dates from {_day(baseline['period'])}, older than the maximum age of "
                f"{indicator.max_age_days} days",
            )
            continue
        now_value, base_value = _finite(now["value"]), _finite(baseline["value"])
        if now_value is None or base_value is None or base_value == 0:
            out[str(country)] = Measurement(None, f"{indicator.id}: no baseline")
            continue
        change = (now_value / base_value - 1.0) * 100.0
        detail = (
            f"{indicator.id} {base_value:.4g} ({_day(baseline['period'])}) → {now_value:.4g} "
            f"{shown_unit(indicator.unit, now.get('unit'))} ({_day(now['period'])}), "
            f"{change:+.1f} % in {rule.window_days} d"
        )
        out[str(country)] = Measurement(change, detail)
    return out


def _indicator_spike(
    rule: AlertRule, indicator: Indicator, series: pd.DataFrame, as_of: pd.Timestamp
) -> dict[str, Measurement]:
    out: dict[str, Measurement] = {}
    for country, rows in series.groupby("country", sort=True):
        latest = rows.iloc[-1]
        latest_period = pd.Timestamp(latest["period"])
        if (as_of - latest_period).days > indicator.max_age_days:
            out[str(country)] = Measurement(None, f"{indicator.id}: latest value is stale")
            continue
        window_start = latest_period - pd.Timedelta(days=rule.window_days)
        history = rows[(rows["period"] < latest_period) & (rows["period"] >= window_start)]
        if len(history) < SPIKE_MIN_HISTORY:
            out[str(country)] = Measurement(
                None, f"{indicator.id}: {len(history)} earlier values, {SPIKE_MIN_HISTORY} needed"
            )
            continue
        values = history["value"].to_numpy(dtype="float64")
        current = float(latest["value"])
        # Counts are skewed: compare them on log1p, where a flat baseline cannot explode the z.
        logged = bool((values >= 0).all() and current >= 0)
        base = np.log1p(values) if logged else values
        point = math.log1p(current) if logged else current
        spread = float(np.std(base, ddof=1))
        floor = SPIKE_MIN_SD if logged else 1e-9 * max(1.0, abs(float(np.mean(base))))
        z = (point - float(np.mean(base))) / max(spread, floor)
        detail = (
            f"{indicator.id} {current:.4g} {shown_unit(indicator.unit, latest.get('unit'))} "
            f"({_day(latest_period)}) against a mean "
            f"of {float(np.mean(values)):.4g} over {len(history)} earlier values: z {z:.2f}"
        )
        out[str(country)] = Measurement(z, detail)
    return out


def _trigger_blindness(panel: PanelScore, countries: Sequence[str]) -> dict[str, Measurement]:
    scored = panel.countries
    out: dict[str, Measurement] = {}
    for country in countries:
        if country not in scored.index or "trigger_state" not in scored.columns:
            continue
        row = scored.loc[country]
        if not is_blind(row):
            out[country] = Measurement(0.0, describe_trigger(row))
            continue
        since = row["blind_since"]
        days: float = (
            math.inf if pd.isna(since) else float((panel.as_of - pd.Timestamp(since)).days + 1)
        )
        out[country] = Measurement(days, describe_trigger(row))
    return out


def _source_staleness(
    rule: AlertRule, target: str, source_ages: Mapping[str, float | None]
) -> Measurement:
    # A source that never ran is infinitely stale (`math.inf`, which a stale rule breaches):
    # an enabled source that was never fetched is exactly what this rule exists to catch.
    if target != "*":
        if target not in source_ages:
            return Measurement(None, f"source {target}: not an enabled source")
        age = source_ages[target]
        if age is None:
            return Measurement(math.inf, f"source {target}: never fetched")
        return Measurement(age, f"source {target}: last successful run {age:.1f} days ago")
    if not source_ages:
        return Measurement(None, "no source is enabled")
    ages = {name: math.inf if age is None else age for name, age in source_ages.items()}
    worst = max(ages.values())
    limit = rule.threshold if rule.threshold is not None else DEFAULT_SOURCE_MAX_AGE_DAYS
    late = sorted((name for name, age in ages.items() if age > limit), key=lambda n: -ages[n])
    listing = (
        ", ".join(
            f"{name} never fetched" if ages[name] == math.inf else f"{name} {ages[name]:.1f} d"
            for name in late
        )
        or "none over the limit"
    )
    return Measurement(worst, f"days since the last successful run: {listing}")
