"""Scores on chosen (country, date) grids, and the default alert rules stepped over them.

The backtest needs two kinds of history: every country at each 31 December (structural
discrimination) and one country on every day around an episode (event study). Both come from the
same point-in-time core as `indicators.replay`: derived series computed once, then
`latest_on_dates` + `score_latest` for the dates wanted.

Alerts are the configured rules stepped with the real state machine (`alert_rules.step`). Their
values are measured from the replay frames, which is what makes a backtest over thousands of
country-days fast: composite level (`composite`), band change (band rank now minus
`window_days` earlier), a level rule on a scored indicator (its latest raw value; 0 once older
than the indicator's maximum age, as a `step_change` past its window), and a spike rule on an
indicator whose scored `spike` derivative exists (its z-score). Rules measured otherwise (source
staleness, changes of context series) are listed as not replayed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from indicators.alert_rules import AlertRule, RuleState, step
from indicators.alert_rules.parsing import effective_threshold
from indicators.catalogue import Catalogue
from indicators.composite import assign_bands
from indicators.countries import iso3_countries
from indicators.derived import derive_indicators, standardise_zscore_indicators
from indicators.observations import WORLD
from indicators.pointintime import PUBLISHED, concat_compact, with_publication
from indicators.scoring import ScoreFrames, latest_on_dates, score_latest


@dataclass(frozen=True)
class PreparedPool:
    """Base and derived rows with publication dates, ready for `latest_on_dates`."""

    rows: pd.DataFrame
    countries: tuple[str, ...]


def prepare(
    observations: pd.DataFrame, catalogue: Catalogue, *, until: pd.Timestamp
) -> PreparedPool:
    """Derive once from everything published by `until` (each date is then cut point in time).

    Args:
        observations: canonical observations (with `WLD`).
        catalogue: the catalogue.
        until: the last as-of day any later call asks for.

    Returns:
        The prepared pool.
    """
    derived = derive_indicators(observations, catalogue, as_of=until)
    base = with_publication(observations, catalogue)
    base = base[~base["is_forecast"].to_numpy(dtype=bool)]
    base = base[base[PUBLISHED] < until + pd.Timedelta(days=1)]
    rows = standardise_zscore_indicators(concat_compact([base, derived]), catalogue)
    # Countries only: World Bank aggregates (ARB, ECS …) and the world are never scored.
    known = iso3_countries()
    present = {str(code) for code in observations["country"].astype(str).unique()}
    countries = tuple(sorted(code for code in present if code in known and code != WORLD))
    return PreparedPool(rows, countries)


def score_dates(
    pool: PreparedPool,
    catalogue: Catalogue,
    dates: pd.DatetimeIndex,
    countries: Sequence[str],
) -> ScoreFrames:
    """Score `countries` on `dates` from a prepared pool (one vectorised pass)."""
    wanted = [*countries, WORLD]
    rows = pool.rows[pool.rows["country"].isin(wanted)]
    latest = latest_on_dates(rows, dates)
    return score_latest(latest, catalogue, dates=dates, countries=list(countries))


def subset_frames(frames: ScoreFrames, country: str, dates: pd.DatetimeIndex) -> ScoreFrames:
    """The rows of one country on `dates` (frames scored for several countries and windows)."""

    def cut(frame: pd.DataFrame) -> pd.DataFrame:
        keep = (frame["country"].astype(str) == country) & frame["date"].isin(dates)
        return frame[keep.to_numpy()].reset_index(drop=True)

    return ScoreFrames(
        countries=cut(frames.countries),
        pillars=cut(frames.pillars),
        contributions=cut(frames.contributions),
        latest=cut(frames.latest),
    )


def indicator_values(
    frames: ScoreFrames, indicator_id: str, *, include_stale: bool = False
) -> pd.Series:
    """The latest raw value of one scored indicator per (date, country); NaN when missing.

    A stale value is NaN unless `include_stale` (structural inputs are used while stale).
    """
    rows = frames.contributions[frames.contributions["indicator"] == indicator_id]
    usable = rows["status"].isin(["ok", "stale"] if include_stale else ["ok"])
    values = rows["value"].where(usable)
    return pd.Series(
        values.to_numpy(dtype="float64"),
        index=pd.MultiIndex.from_frame(rows[["date", "country"]].astype({"country": str})),
    )


def _band_rank(
    frames: ScoreFrames, catalogue: Catalogue, *, margin: float = 0.0, condition: str = "above"
) -> pd.Series:
    """Each (date, country)'s band rank; with a `margin`, the rank the composite holds with that
    many points to spare (as `measure` does for a band_change rule's margin)."""
    order = {b.name: r for r, b in enumerate(sorted(catalogue.bands, key=lambda b: b.lower))}
    countries = frames.countries
    rank = countries["band"].map(order).to_numpy(dtype="float64")
    if margin:
        composite = countries["composite"].astype("float64")
        shifted = composite - margin if condition == "above" else composite + margin
        names, _ = assign_bands(shifted, catalogue)
        held = names.map(order).to_numpy(dtype="float64")
        rank = np.fmin(rank, held) if condition == "above" else np.fmax(rank, held)
        rank = np.where(composite.isna().to_numpy(), np.nan, rank)
    return pd.Series(
        rank,
        index=pd.MultiIndex.from_frame(countries[["date", "country"]].astype({"country": str})),
    )


def replayable(rule: AlertRule, catalogue: Catalogue) -> bool:
    """Whether `rule_values` can measure the rule from replay frames."""
    if not rule.enabled:
        return False
    if rule.target == "composite":
        return rule.kind in ("level", "band_change")
    if rule.target_kind != "indicator":
        return False
    if rule.kind == "level":
        return _scored(catalogue, rule.target_id)
    if rule.kind == "spike":
        return _spike_of(catalogue, rule.target_id) is not None
    return False


def _scored(catalogue: Catalogue, indicator_id: str) -> bool:
    try:
        indicator = catalogue.indicator(indicator_id)
    except KeyError:
        return False
    kinds = {pillar.id: pillar.kind for pillar in catalogue.pillars}
    return indicator.enabled and kinds.get(indicator.pillar) in ("structural", "trigger")


def _spike_of(catalogue: Catalogue, indicator_id: str) -> str | None:
    for item in catalogue.enabled_indicators:
        spike = item.derivation == "spike" and item.derived_from == (indicator_id,)
        if spike and _scored(catalogue, item.id):
            return item.id
    return None


def _wide(ranks: pd.Series) -> pd.DataFrame:
    wide = ranks.unstack("country")
    wide.index = pd.DatetimeIndex(wide.index)
    return wide.sort_index()


def rule_values(
    rule: AlertRule, frames: ScoreFrames, catalogue: Catalogue, dates: pd.DatetimeIndex
) -> pd.DataFrame:
    """The value `rule` watches on each (date, country) of `frames` (wide: dates × countries)."""
    if rule.target == "composite" and rule.kind == "level":
        series = frames.countries.set_index(["date", "country"])["composite"].astype("float64")
    elif rule.target == "composite":
        # Now: the band held with the rule's margin to spare; then: the plain band (as
        # `measure` compares them), so the margin is hysteresis, not moved band edges.
        held = _wide(_band_rank(frames, catalogue, margin=rule.margin, condition=rule.condition))
        plain = _wide(_band_rank(frames, catalogue))
        # The band `window_days` earlier: the last scored date on or before then (exact on a
        # daily grid, the previous month end on a monthly one).
        earlier = dates - pd.Timedelta(days=rule.window_days)
        before = plain.reindex(earlier, method="ffill")
        before.index = dates
        return held.reindex(dates) - before
    elif rule.kind == "level":
        series = indicator_values(frames, rule.target_id).fillna(0.0)
    else:
        spike = _spike_of(catalogue, rule.target_id)
        series = indicator_values(frames, spike or "")
    wide = series.unstack("country")
    wide.index = pd.DatetimeIndex(wide.index)
    return wide.reindex(dates)


def alert_firings(
    rules: Sequence[AlertRule],
    frames: ScoreFrames,
    catalogue: Catalogue,
    dates: pd.DatetimeIndex,
) -> pd.DataFrame:
    """Every transition into `firing` of the replayable rules, stepping each instance in date order.

    Returns:
        Columns `date, country, rule_id, value` (sorted by country, date).
    """
    rows: list[dict[str, object]] = []
    for rule in rules:
        if not replayable(rule, catalogue):
            continue
        threshold = effective_threshold(rule, catalogue)
        wide = rule_values(rule, frames, catalogue, dates)
        for country in wide.columns:
            state: RuleState | None = None
            values = wide[country].to_numpy(dtype="float64")
            for day, value in zip(dates, values, strict=True):
                measured = None if np.isnan(value) else float(value)
                result = step(
                    rule,
                    state,
                    measured,
                    day.to_pydatetime(),
                    silenced=False,
                    country=str(country),
                    threshold=threshold,
                )
                if result.new_state.state == "firing" and (
                    state is None or state.state != "firing"
                ):
                    rows.append(
                        {"date": day, "country": str(country), "rule_id": rule.id, "value": value}
                    )
                state = result.new_state
    frame = pd.DataFrame(rows, columns=["date", "country", "rule_id", "value"])
    return frame.sort_values(["country", "date"], kind="mergesort").reset_index(drop=True)
