"""The stability-risk score: structural vulnerability amplified by triggers, with confidence.

Pipeline, vectorised over the whole panel (all dates × countries × indicators at once):

1. point in time — `pointintime.visible_observations` (published on or before `as_of`, no
   forecasts, newest visible vintage per series);
2. derived indicators — `derived.derive_indicators` on the visible rows (steps, changes, spikes);
3. the latest visible value per (indicator, country), its age (days from the period's end to the
   as-of day) and staleness (`age > max_age_days`); trigger indicators measured only on `WLD`
   (world oil) are broadcast to every scored country;
4. `normalise` to 0–10; a **stale trigger scores 0** (an old shock has passed; the staleness is
   recorded), a stale structural input is still used (structures move slowly) and flagged;
   a missing input is NaN and excluded — never a zero;
5. pillar = weighted mean of its available indicators (a pillar with `aggregation = "max"`: its
   strongest available indicator, see `pillar_aggregation`);
   vulnerability V = weighted power mean of the available structural pillars, each floored first
   (`model.vulnerability_power`, `model.pillar_floor`; `indicators.structural_mean`), so one
   near-zero pillar cannot hide several terrible ones;
   trigger T = the largest trigger pillar (each scaled by its weight relative to the heaviest);
   the trigger state is active / quiet / blind (`indicators.trigger_state`): a blind trigger (no
   fresh own input) has no value (`trigger` NaN, `trigger_seen` what is still visible) and its
   composite is a range [C(V, trigger_seen), C(V, 10)] (`composite`, `composite_high`);
6. composite C = V + (10 − V) · min(1, a · (T / 10) · (V / pivot)) — the trigger closes a share of
   the headroom above V that grows with both trigger intensity and vulnerability; C = V when T = 0,
   C ≤ 10, and C is non-decreasing in V and T (see docs/METHODOLOGY.md for the proof and sources);
7. confidence (inputs present / expected, stale, oldest / newest age), bands, contributions
   (each indicator's share of the composite's points; they sum to C).

`score_panel` scores one as-of date; `indicators.replay` feeds many dates through the same core.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from indicators.catalogue import Catalogue, ModelParameters
from indicators.composite import NO_SCORE_BAND, NO_SCORE_COLOUR, assign_bands, combine
from indicators.derived import (
    derive_from_visible,
    standardise_zscore_indicators,
    zscore_indicator_ids,
)
from indicators.latest import enrich_latest, latest_on_dates, latest_single, prepare_pool
from indicators.normalise import normalise
from indicators.observations import WORLD
from indicators.pillar_aggregation import keep_strongest
from indicators.pointintime import (
    PUBLISHED,
    as_of_day,
    concat_compact,
    visible_observations,
)
from indicators.structural_mean import power_mean
from indicators.tables import indicator_table, scored_indicator_ids
from indicators.trigger_state import BLIND, trigger_state_frame

_UNIT = ["date", "country"]

COUNTRY_COLUMNS: tuple[str, ...] = (
    "composite",
    "band",
    "band_colour",
    "vulnerability",
    "trigger",
    "trigger_seen",
    "trigger_state",
    "blind_since",
    "trigger_reason",
    "composite_high",
    "band_high",
    "inputs_present",
    "inputs_expected",
    "inputs_stale",
    "oldest_input_age_days",
    "newest_input_age_days",
    "missing_pillars",
    "as_of",
    "coverage",
    "confidence",
    "top_driver",
    "reason",
)
PILLAR_COLUMNS: tuple[str, ...] = (
    "country",
    "pillar",
    "kind",
    "score",
    "inputs_present",
    "inputs_expected",
    "inputs_stale",
)
CONTRIBUTION_COLUMNS: tuple[str, ...] = (
    "country",
    "indicator",
    "pillar",
    "kind",
    "value",
    "unit",
    "period",
    "published",
    "age_days",
    "stale",
    "status",
    "normalised",
    "scored",
    "weight",
    "contribution",
    "source",
    "vintage",
    "broadcast_from",
)
LATEST_COLUMNS: tuple[str, ...] = (
    "indicator",
    "country",
    "period",
    "value",
    "unit",
    "source",
    "vintage",
    "published",
    "period_end",
    "age_days",
    "stale",
)


@dataclass(frozen=True)
class PanelScore:
    """A scored panel as of one date.

    Attributes:
        as_of: the calendar day the score is as of.
        countries: one row per scored country (index `country`), columns `COUNTRY_COLUMNS`.
        pillars: one row per (country, pillar) of structural and trigger pillars, `PILLAR_COLUMNS`.
        contributions: one row per (country, expected indicator), `CONTRIBUTION_COLUMNS`:
            `value` the latest visible raw value, `normalised` its 0–10 score, `scored` what entered
            the pillar (0 for a stale trigger, NaN when missing), `contribution` its share of the
            composite's points (sums to `composite` per country; NaN when missing or unscored),
            `status` "ok" / "stale" / "missing", `broadcast_from` "WLD" for world values.
        latest: the latest visible value of every catalogue indicator (including context series
            such as fuel and world prices) per country, `LATEST_COLUMNS`.
    """

    as_of: pd.Timestamp
    countries: pd.DataFrame
    pillars: pd.DataFrame
    contributions: pd.DataFrame
    latest: pd.DataFrame

    def country(self, code: str) -> pd.Series:
        """The country row (KeyError if the country was not scored)."""
        row = self.countries.loc[code]
        if not isinstance(row, pd.Series):
            raise KeyError(code)
        return row


@dataclass(frozen=True)
class ScoreFrames:
    """The scoring core's output for many dates at once (each frame has a `date` column)."""

    countries: pd.DataFrame
    pillars: pd.DataFrame
    contributions: pd.DataFrame
    latest: pd.DataFrame

    def at(self, date: Any) -> PanelScore:
        """The `PanelScore` of one of the scored dates."""
        day = as_of_day(date)
        countries = self.countries[self.countries["date"] == day].drop(columns="date")
        return PanelScore(
            as_of=day,
            countries=countries.set_index("country"),
            pillars=_without_date(self.pillars, day),
            contributions=_without_date(self.contributions, day),
            latest=_without_date(self.latest, day),
        )


def _without_date(frame: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    return frame[frame["date"] == day].drop(columns="date").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# The core: (date, country) units × expected indicators
# --------------------------------------------------------------------------------------------


def _grid(
    latest: pd.DataFrame, catalogue: Catalogue, dates: pd.DatetimeIndex, countries: list[str]
) -> pd.DataFrame:
    """One row per (date, scored country, expected indicator): latest values, WLD broadcast."""
    table = indicator_table(catalogue)
    expected = scored_indicator_ids(catalogue)
    grid = pd.MultiIndex.from_product(
        [dates, countries, expected], names=["date", "country", "indicator"]
    ).to_frame(index=False)
    columns = [
        "date",
        "country",
        "indicator",
        "value",
        "unit",
        "period",
        PUBLISHED,
        "source",
        "vintage",
        "age_days",
        "stale",
    ]
    own = latest.loc[latest["country"].isin(countries), columns]
    merged = grid.merge(own, on=["date", "country", "indicator"], how="left")
    # World-measured trigger indicators (world oil price changes) hit every country: a scored
    # country without its own value takes the WLD value. Structural WLD aggregates never do.
    world = latest.loc[latest["country"] == WORLD, columns].drop(columns="country")
    world = world[world["indicator"].map(table["kind"]) == "trigger"]
    take_world = np.zeros(len(merged), dtype=bool)
    if not world.empty:
        merged = merged.merge(world, on=["date", "indicator"], how="left", suffixes=("", "_world"))
        take_world = (merged["value"].isna() & merged["value_world"].notna()).to_numpy()
        for column in columns[3:]:
            merged[column] = merged[column].where(~take_world, merged[f"{column}_world"])
        merged = merged.drop(columns=[f"{column}_world" for column in columns[3:]])
    merged["broadcast_from"] = np.where(take_world, WORLD, "")
    # The per-indicator attributes by position after one factorisation of the indicator column
    # (a `map` per attribute converts the whole string column each time).
    codes = pd.Categorical(merged["indicator"], categories=expected).codes
    attributes = table.reindex(expected)
    merged["pillar"] = attributes["pillar"].array.take(codes)
    merged["kind"] = attributes["kind"].array.take(codes)
    merged["weight"] = attributes["weight"].to_numpy(dtype="float64")[codes]
    merged["pillar_weight"] = attributes["pillar_weight"].to_numpy(dtype="float64")[codes]
    merged["stale"] = merged["stale"].astype("boolean").fillna(False).astype(bool)
    merged["age_days"] = merged["age_days"].astype("float64")
    merged["value"] = merged["value"].astype("float64")
    return merged


def _pillar_scores(grid: pd.DataFrame) -> pd.DataFrame:
    present = grid["value"].notna()
    usable = grid["scored"].notna() & (grid["weight"] > 0)
    work = pd.DataFrame(
        {
            "date": grid["date"],
            "country": grid["country"],
            "pillar": grid["pillar"],
            "kind": grid["kind"],
            "pillar_weight": grid["pillar_weight"],
            "wx": np.where(usable, grid["weight"] * grid["scored"], 0.0),
            "w": np.where(usable, grid["weight"], 0.0),
            "present": present.astype("int64"),
            "expected": 1,
            "stale": (present & grid["stale"]).astype("int64"),
        }
    )
    pillars = work.groupby([*_UNIT, "pillar"], sort=True).agg(
        kind=("kind", "first"),
        pillar_weight=("pillar_weight", "first"),
        wx=("wx", "sum"),
        w=("w", "sum"),
        inputs_present=("present", "sum"),
        inputs_expected=("expected", "sum"),
        inputs_stale=("stale", "sum"),
    )
    pillars["score"] = (pillars["wx"] / pillars["w"].where(pillars["w"] > 0)).clip(0.0, 10.0)
    return pillars.reset_index()


def _usable_structural(pillars: pd.DataFrame) -> pd.DataFrame:
    mask = (
        (pillars["kind"] == "structural")
        & pillars["score"].notna()
        & (pillars["pillar_weight"] > 0)
    )
    return pillars[mask]


def _vulnerability(
    pillars: pd.DataFrame, units: pd.MultiIndex, model: ModelParameters
) -> pd.Series:
    structural = _usable_structural(pillars)
    if structural.empty:
        return pd.Series(np.nan, index=units, dtype="float64")
    vulnerability = power_mean(
        structural["score"].to_numpy(dtype="float64"),
        structural["pillar_weight"].to_numpy(dtype="float64"),
        [structural["date"].to_numpy(), structural["country"].to_numpy()],
        power=model.vulnerability_power,
        floor=model.pillar_floor,
    )
    vulnerability.index = vulnerability.index.set_names(_UNIT)
    return vulnerability.reindex(units)


def _trigger(pillars: pd.DataFrame, units: pd.MultiIndex) -> tuple[pd.Series, pd.DataFrame]:
    triggers = pillars[(pillars["kind"] == "trigger") & (pillars["pillar_weight"] > 0)].copy()
    heaviest = float(triggers["pillar_weight"].max()) if not triggers.empty else 1.0
    triggers["relative"] = triggers["score"] * triggers["pillar_weight"] / heaviest
    trigger = triggers.groupby(_UNIT)["relative"].max().reindex(units)
    return trigger, triggers


def _missing_pillars(pillars: pd.DataFrame, units: pd.MultiIndex) -> pd.Series:
    missing = pillars[pillars["score"].isna()].sort_values("pillar", kind="mergesort")
    if missing.empty:
        return pd.Series("", index=units, dtype="object")
    joined = missing.groupby(_UNIT)["pillar"].agg(",".join)
    return joined.reindex(units).fillna("").astype("object")


def _contributions(
    grid: pd.DataFrame,
    pillars: pd.DataFrame,
    triggers: pd.DataFrame,
    vulnerability: pd.Series,
    composite: pd.Series,
) -> np.ndarray:
    """Each indicator's share of the composite's points (sums to the composite per unit).

    The structural part V is split over structural pillars in proportion to pillar_weight × score
    and within a pillar in proportion to weight × score; the trigger's lift C − V goes to the
    trigger pillar(s) that set T, split within the pillar in proportion to weight × score.
    """
    unit_key = pd.MultiIndex.from_frame(grid[_UNIT])
    pillar_key = pd.MultiIndex.from_frame(grid[[*_UNIT, "pillar"]])
    by_pillar = pillars.set_index([*_UNIT, "pillar"])
    pillar_w_sum = by_pillar["w"].reindex(pillar_key).to_numpy(dtype="float64")
    pillar_wx_sum = by_pillar["wx"].reindex(pillar_key).to_numpy(dtype="float64")
    x = grid["scored"].to_numpy(dtype="float64")
    w = grid["weight"].to_numpy(dtype="float64")
    pw = grid["pillar_weight"].to_numpy(dtype="float64")
    usable = ~np.isnan(x) & (w > 0)
    v = vulnerability.reindex(unit_key).to_numpy(dtype="float64")
    c = composite.reindex(unit_key).to_numpy(dtype="float64")

    structural = _usable_structural(pillars)
    units = [structural[name] for name in _UNIT]
    denominator = (structural["pillar_weight"] * structural["score"]).groupby(units).sum()
    weight_total = structural["pillar_weight"].groupby(units).sum()
    denominator_row = denominator.reindex(unit_key).to_numpy(dtype="float64")
    weight_total_row = weight_total.reindex(unit_key).to_numpy(dtype="float64")
    in_structural = pd.MultiIndex.from_frame(structural[[*_UNIT, "pillar"]])
    is_structural = pillar_key.isin(in_structural) & usable
    with np.errstate(invalid="ignore", divide="ignore"):
        # V · (pw_p · w_i · x_i / W_p) / Σ_q pw_q · P_q ; all pillars at 0: split V by weight.
        proportional = v * pw * w * x / pillar_w_sum / denominator_row
        even = v * (pw / weight_total_row) * (w / pillar_w_sum)
    structural_share = np.where(denominator_row > 0, proportional, even)

    lift = np.nan_to_num(c - v, nan=0.0)
    pillar_share = np.zeros(len(grid))
    if not triggers.empty:
        scored_triggers = triggers[triggers["relative"].notna()]
        best = scored_triggers.groupby(_UNIT)["relative"].transform("max")
        winners = scored_triggers[scored_triggers["relative"] >= best - 1e-12]
        count = winners.groupby(_UNIT)["pillar"].transform("count")
        share = pd.Series(
            (1.0 / count).to_numpy(dtype="float64"),
            index=pd.MultiIndex.from_frame(winners[[*_UNIT, "pillar"]]),
        )
        pillar_share = share.reindex(pillar_key).fillna(0.0).to_numpy(dtype="float64")
    is_trigger = (grid["kind"] == "trigger").to_numpy() & usable
    with np.errstate(invalid="ignore", divide="ignore"):
        within = np.where(pillar_wx_sum > 0, w * x / pillar_wx_sum, 0.0)
    trigger_share = lift * pillar_share * within

    contribution = np.where(is_structural, structural_share, np.nan)
    contribution = np.where(is_trigger, trigger_share, contribution)
    result: np.ndarray = np.where(np.isnan(c), np.nan, contribution)
    return result


def _format_confidence(present: pd.Series, expected: pd.Series, stale: pd.Series) -> pd.Series:
    text = (
        present.astype("int64").astype(str)
        + " of "
        + expected.astype("int64").astype(str)
        + " inputs, "
        + stale.astype("int64").astype(str)
        + " stale"
    )
    return text.astype("object")


def score_latest(
    latest: pd.DataFrame,
    catalogue: Catalogue,
    *,
    dates: pd.DatetimeIndex,
    countries: list[str],
) -> ScoreFrames:
    """The scoring core: latest visible rows per (date, indicator, country) → scores per unit.

    Args:
        latest: output of `latest_on_dates` (or one date's latest rows with a `date` column).
        catalogue: the catalogue.
        dates: the as-of days (each row's age is measured to its own date).
        countries: the countries to score (never `WLD`).

    Returns:
        `ScoreFrames` with a `date` column on every frame.
    """
    model = catalogue.model
    latest = enrich_latest(latest, catalogue)
    units = pd.MultiIndex.from_product([dates, countries], names=_UNIT)
    grid = _grid(latest, catalogue, dates, countries)
    grid["normalised"] = normalise(grid[["indicator", "value"]], catalogue)
    stale_trigger = (grid["kind"] == "trigger") & grid["stale"] & grid["value"].notna()
    grid["scored"] = grid["normalised"].mask(stale_trigger, 0.0)
    grid["scored"] = keep_strongest(grid, catalogue)  # pillars with aggregation = "max"

    pillars = _pillar_scores(grid)
    vulnerability = _vulnerability(pillars, units, model)
    trigger, triggers = _trigger(pillars, units)

    present = grid["value"].notna()
    by_unit = [grid[name] for name in _UNIT]
    counts = pd.DataFrame(
        {
            "inputs_present": present.groupby(by_unit).sum(),
            "inputs_expected": present.groupby(by_unit).size(),
            "inputs_stale": (present & grid["stale"]).groupby(by_unit).sum(),
            "oldest_input_age_days": grid["age_days"].groupby(by_unit).max(),
            "newest_input_age_days": grid["age_days"].groupby(by_unit).min(),
        }
    ).reindex(units)
    for column in ("inputs_present", "inputs_expected", "inputs_stale"):
        counts[column] = counts[column].fillna(0).astype("int64")
    expected = counts["inputs_expected"].where(counts["inputs_expected"] > 0)
    coverage = (counts["inputs_present"] / expected).fillna(0.0)

    composite = pd.Series(
        combine(
            vulnerability.to_numpy(),
            trigger.to_numpy(),
            amplification=model.trigger_amplification,
            pivot=model.vulnerability_pivot,
        ),
        index=units,
    )
    no_structure = vulnerability.isna()
    too_thin = coverage < model.min_coverage
    thin_text = (
        "coverage "
        + (coverage * 100).round().astype("int64").astype(str)
        + f" % is below the minimum {model.min_coverage * 100:.0f} %"
    )
    reason = pd.Series("", index=units, dtype="object")
    reason = reason.mask(too_thin, thin_text).mask(
        no_structure, "no structural pillar has any input"
    )
    composite = composite.mask(no_structure | too_thin)
    band, colour = assign_bands(composite, catalogue)
    trigger_seen = trigger.fillna(0.0)
    states = trigger_state_frame(grid, trigger_seen, catalogue, units)
    blind = states["trigger_state"] == BLIND
    # What an unseen shock could make of a blind country: V amplified by a full trigger.
    full = pd.Series(
        combine(
            vulnerability.to_numpy(),
            np.full(len(units), 10.0),
            amplification=model.trigger_amplification,
            pivot=model.vulnerability_pivot,
        ),
        index=units,
    )
    composite_high = full.where(blind, composite).mask(composite.isna())
    band_high, _ = assign_bands(composite_high, catalogue)
    trigger = trigger_seen.mask(blind)

    grid["contribution"] = _contributions(grid, pillars, triggers, vulnerability, composite)
    grid["status"] = np.where(~present, "missing", np.where(grid["stale"], "stale", "ok"))
    grid["status"] = grid["status"].astype("object")
    top = grid[grid["contribution"].notna()].sort_values(
        [*_UNIT, "contribution"], ascending=[True, True, False], kind="mergesort"
    )
    top_driver = top.drop_duplicates(_UNIT).set_index(_UNIT)["indicator"]

    countries_frame = pd.DataFrame(
        {
            "composite": composite,
            "band": band,
            "band_colour": colour,
            "vulnerability": vulnerability,
            "trigger": trigger,
            "trigger_seen": trigger_seen,
            "trigger_state": states["trigger_state"],
            "blind_since": states["blind_since"],
            "trigger_reason": states["trigger_reason"],
            "composite_high": composite_high,
            "band_high": band_high,
            "inputs_present": counts["inputs_present"],
            "inputs_expected": counts["inputs_expected"],
            "inputs_stale": counts["inputs_stale"],
            "oldest_input_age_days": counts["oldest_input_age_days"],
            "newest_input_age_days": counts["newest_input_age_days"],
            "missing_pillars": _missing_pillars(pillars, units),
            "as_of": units.get_level_values("date"),
            "coverage": coverage,
            "confidence": _format_confidence(
                counts["inputs_present"], counts["inputs_expected"], counts["inputs_stale"]
            ),
            "top_driver": top_driver.reindex(units).fillna("").astype("object"),
            "reason": reason,
        },
        index=units,
    ).reset_index()

    # A blind country's trigger pillars are "cannot see", not 0 (their stale inputs still entered
    # the composite at 0: the floor of its range).
    blind_units = pd.MultiIndex.from_frame(pillars[_UNIT]).isin(units[blind.to_numpy()])
    pillars["score"] = pillars["score"].mask(blind_units & (pillars["kind"] == "trigger"))
    pillar_frame = pillars[["date", *PILLAR_COLUMNS]].reset_index(drop=True)
    contributions = grid.rename(columns={PUBLISHED: "published"})
    contributions = contributions[["date", *CONTRIBUTION_COLUMNS]].reset_index(drop=True)
    latest_frame = latest.rename(columns={PUBLISHED: "published"})
    latest_frame = latest_frame[["date", *LATEST_COLUMNS]].reset_index(drop=True)
    return ScoreFrames(
        countries=_plain_text(countries_frame),
        pillars=_plain_text(pillar_frame),
        contributions=_plain_text(contributions),
        latest=_plain_text(latest_frame),
    )


def _plain_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns back to plain text: results never expose the internal categories."""
    categorical = [
        name for name in frame.columns if isinstance(frame[name].dtype, pd.CategoricalDtype)
    ]
    if not categorical:
        return frame
    return frame.assign(**{name: frame[name].astype(object) for name in categorical})


def scored_countries(observations: pd.DataFrame, countries: Iterable[str] | None) -> list[str]:
    """The countries a panel scores: `countries` if given, else all present; never `WLD`."""
    if countries is not None:
        return sorted({str(code) for code in countries} - {WORLD})
    return sorted(set(observations["country"].astype(str).unique()) - {WORLD})


def score_panel(
    observations: pd.DataFrame,
    catalogue: Catalogue,
    *,
    as_of: Any,
    countries: Iterable[str] | None = None,
) -> PanelScore:
    """Score every country of the panel as of a date, point in time.

    Args:
        observations: canonical observations of any number of countries and indicators (include the
            `WLD` world series: they feed world-price triggers and are never scored themselves).
        catalogue: indicators, pillars, bands and model parameters.
        as_of: the calendar day (str / date / Timestamp); only observations published on or before
            its end are used.
        countries: restrict scoring to these ISO3 codes (default: every country present except
            `WLD`). Use it to leave out regional aggregates present in World Bank files.

    Returns:
        A `PanelScore` (per-country composite, band, vulnerability, trigger, confidence; pillars;
        per-indicator contributions; the latest visible values).
    """
    day = as_of_day(as_of)
    visible = visible_observations(observations, catalogue, day)
    # Only the latest row of each series is scored: take it from the visible rows, the derived
    # rows and the standardised z-score rows separately instead of concatenating the history.
    derived = derive_from_visible(visible, catalogue)
    zscored = zscore_indicator_ids(catalogue)
    plain = visible[~visible["indicator"].isin(zscored)]
    standardised = standardise_zscore_indicators(
        visible[visible["indicator"].isin(zscored)], catalogue
    )
    latest = concat_compact(
        [latest_single(part, day) for part in (plain, derived, standardised) if not part.empty]
        or [latest_single(plain, day)]
    )
    frames = score_latest(
        latest,
        catalogue,
        dates=pd.DatetimeIndex([day]),
        countries=scored_countries(observations, countries),
    )
    return frames.at(day)


# Re-exported: the pipeline's public pieces live in indicators.latest and indicators.composite.
__all__ = [
    "CONTRIBUTION_COLUMNS",
    "COUNTRY_COLUMNS",
    "LATEST_COLUMNS",
    "NO_SCORE_BAND",
    "NO_SCORE_COLOUR",
    "PILLAR_COLUMNS",
    "PanelScore",
    "ScoreFrames",
    "assign_bands",
    "combine",
    "latest_on_dates",
    "prepare_pool",
    "score_latest",
    "score_panel",
    "scored_countries",
]
