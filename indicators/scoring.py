"""The stability-risk score: structural vulnerability amplified by triggers, with confidence and contributions.

Pipeline for one as-of date, vectorised over the whole panel (all countries × all indicators):

1. point in time — `pointintime.visible_observations` (published on or before `as_of`, no
   forecasts, newest visible vintage per series);
2. derived indicators — `derived.derive_indicators` on the visible rows (steps, changes, spikes);
3. the latest visible value per (indicator, country), its age (days from the period's end) and
   staleness (`age > max_age_days`); trigger indicators measured only on `WLD` (world oil) are
   broadcast to every scored country;
4. `normalise` to 0–10; a **stale trigger scores 0** (an old shock has passed; the staleness is
   recorded), a stale structural input is still used (structures move slowly) and flagged;
   a missing input is NaN and excluded — never a zero;
5. pillar = weighted mean of its available indicators;
   vulnerability V = weighted geometric mean of the available structural pillars (each floored at
   `PILLAR_FLOOR` so one pillar at 0 cannot zero the product);
   trigger T = the largest trigger pillar (each scaled by its weight relative to the heaviest);
6. composite C = V + (10 − V) · min(1, a · (T / 10) · (V / pivot)) — the trigger closes a share of
   the headroom above V that grows with both trigger intensity and vulnerability; C = V when T = 0,
   C ≤ 10, and C is non-decreasing in V and T (see docs/METHODOLOGY.md for the proof and sources);
7. confidence (inputs present / expected, stale, oldest / newest age), bands, contributions
   (each indicator's share of the composite's points; they sum to C).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from indicators.catalogue import Catalogue
from indicators.derived import derive_indicators, standardise_zscore_indicators
from indicators.normalise import normalise
from indicators.observations import WORLD
from indicators.pointintime import (
    PUBLISHED,
    age_in_days,
    as_of_day,
    newest_vintage,
    period_end,
    visible_observations,
)
from indicators.tables import indicator_table, scored_indicator_ids

# A structural pillar scored below this enters the geometric mean at this value (0 has no logarithm;
# 0.1 on the 0–10 scale is "negligible" without letting one perfect pillar zero the product).
PILLAR_FLOOR = 0.1
NO_SCORE_BAND = "no score"
NO_SCORE_COLOUR = "#bdbdbd"

COUNTRY_COLUMNS: tuple[str, ...] = (
    "composite",
    "band",
    "band_colour",
    "vulnerability",
    "trigger",
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
            composite's points (sums to `composite` per country; NaN when missing or unscored).
        latest: the latest visible value of every indicator (including context series such as the
            fuel prices and world prices) per country, with `published`, `age_days`, `stale`.
    """

    as_of: pd.Timestamp
    countries: pd.DataFrame
    pillars: pd.DataFrame
    contributions: pd.DataFrame
    latest: pd.DataFrame

    def country(self, code: str) -> pd.Series:
        """The country row (KeyError if the country was not scored)."""
        return self.countries.loc[code]


def prepare_pool(visible: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """Visible base rows plus derived rows, with z-scored base indicators standardised.

    Args:
        visible: output of `visible_observations` (one vintage per series, with `published`).
        catalogue: the catalogue.

    Returns:
        The pool scoring picks the latest values from.
    """
    derived = derive_indicators(visible, catalogue)
    pool = pd.concat([visible, derived], ignore_index=True) if not derived.empty else visible
    return standardise_zscore_indicators(pool, catalogue)


def latest_values(pool: pd.DataFrame, catalogue: Catalogue, as_of: pd.Timestamp) -> pd.DataFrame:
    """The latest row per (indicator, country) with period end, age and staleness.

    Args:
        pool: visible rows (one vintage per series) with `published`.
        catalogue: frequencies and maximum ages.
        as_of: the as-of day.

    Returns:
        One row per (indicator, country) with the canonical columns, `published`, `period_end`,
        `age_days` and `stale`.
    """
    table = indicator_table(catalogue)
    known = pool[pool["indicator"].isin(table.index)]
    latest = known.sort_values("period", kind="mergesort").drop_duplicates(
        ["indicator", "country"], keep="last"
    )
    latest = latest.reset_index(drop=True)
    frequency = latest["indicator"].map(table["frequency"])
    latest["period_end"] = period_end(latest["period"], frequency)
    latest["age_days"] = age_in_days(as_of, latest["period_end"])
    max_age = latest["indicator"].map(table["max_age_days"]).astype("float64")
    latest["stale"] = latest["age_days"] > max_age
    return latest


def _band_arrays(catalogue: Catalogue) -> tuple[np.ndarray, list[str], list[str]]:
    bands = sorted(catalogue.bands, key=lambda band: band.lower)
    lowers = np.array([band.lower for band in bands], dtype="float64")
    return lowers, [band.name for band in bands], [band.colour for band in bands]


def assign_bands(composite: pd.Series, catalogue: Catalogue) -> tuple[pd.Series, pd.Series]:
    """Band name and colour for each composite (NaN → "no score").

    Args:
        composite: 0–10 scores.
        catalogue: the bands.

    Returns:
        (band names, band colours) aligned with `composite`.
    """
    lowers, names, colours = _band_arrays(catalogue)
    values = composite.to_numpy(dtype="float64")
    position = np.clip(np.searchsorted(lowers, values, side="right") - 1, 0, len(lowers) - 1)
    missing = np.isnan(values)
    band = np.where(missing, NO_SCORE_BAND, np.asarray(names, dtype=object)[position])
    colour = np.where(missing, NO_SCORE_COLOUR, np.asarray(colours, dtype=object)[position])
    return (
        pd.Series(band, index=composite.index, name="band", dtype="object"),
        pd.Series(colour, index=composite.index, name="band_colour", dtype="object"),
    )


def combine(
    vulnerability: np.ndarray | pd.Series,
    trigger: np.ndarray | pd.Series,
    *,
    amplification: float,
    pivot: float,
) -> np.ndarray:
    """Composite = V + (10 − V) · min(1, amplification · (T/10) · (V/pivot)), in [0, 10].

    Args:
        vulnerability: structural vulnerability V in [0, 10].
        trigger: trigger intensity T in [0, 10] (NaN counts as no trigger).
        amplification: `model.trigger_amplification` (≥ 0).
        pivot: `model.vulnerability_pivot` (> 0).

    Returns:
        The composite (NaN where V is NaN).
    """
    v = np.clip(np.asarray(vulnerability, dtype="float64"), 0.0, 10.0)
    t = np.clip(np.nan_to_num(np.asarray(trigger, dtype="float64"), nan=0.0), 0.0, 10.0)
    share = np.minimum(1.0, amplification * (t / 10.0) * (v / pivot))
    return np.asarray(np.clip(v + (10.0 - v) * share, 0.0, 10.0), dtype="float64")


def _scored_countries(pool: pd.DataFrame, countries: Iterable[str] | None) -> list[str]:
    if countries is not None:
        return sorted({str(code) for code in countries} - {WORLD})
    return sorted(set(pool["country"].astype(str).unique()) - {WORLD})


def _grid(latest: pd.DataFrame, catalogue: Catalogue, countries: list[str]) -> pd.DataFrame:
    """One row per (scored country, expected indicator), latest values joined, WLD broadcast."""
    table = indicator_table(catalogue)
    expected = scored_indicator_ids(catalogue)
    grid = pd.MultiIndex.from_product([countries, expected], names=["country", "indicator"])
    grid_frame = grid.to_frame(index=False)
    own = latest[latest["country"].isin(countries) & latest["indicator"].isin(expected)]
    merged = grid_frame.merge(own, on=["country", "indicator"], how="left")
    # World-measured trigger indicators (world oil price changes) hit every country: a scored
    # country without its own value takes the WLD value. Structural WLD aggregates never do.
    world = latest[latest["country"] == WORLD].set_index("indicator")
    kind = merged["indicator"].map(table["kind"])
    take_world = (
        merged["value"].isna() & (kind == "trigger") & merged["indicator"].isin(world.index)
    )
    if take_world.any():
        fill_columns = [c for c in world.columns if c != "country"]
        source_rows = world.loc[merged.loc[take_world, "indicator"], fill_columns]
        source_rows.index = merged.index[take_world]
        for column in fill_columns:
            merged.loc[take_world, column] = source_rows[column].to_numpy()
    merged["broadcast_from"] = np.where(take_world, WORLD, "")
    merged["pillar"] = merged["indicator"].map(table["pillar"])
    merged["kind"] = kind
    merged["weight"] = merged["indicator"].map(table["weight"]).astype("float64")
    merged["pillar_weight"] = merged["indicator"].map(table["pillar_weight"]).astype("float64")
    merged["stale"] = merged["stale"].fillna(False).astype(bool)
    return merged


def _weighted_pillars(grid: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    present = grid["value"].notna()
    usable = grid["scored"].notna() & (grid["weight"] > 0)
    work = pd.DataFrame(
        {
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
    pillars = work.groupby(["country", "pillar"], sort=True).agg(
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


def _vulnerability(pillars: pd.DataFrame, countries: list[str]) -> pd.Series:
    structural = pillars[
        (pillars["kind"] == "structural")
        & pillars["score"].notna()
        & (pillars["pillar_weight"] > 0)
    ]
    log_score = np.log(np.maximum(structural["score"].to_numpy(), PILLAR_FLOOR))
    work = pd.DataFrame(
        {
            "country": structural["country"].to_numpy(),
            "wlog": structural["pillar_weight"].to_numpy() * log_score,
            "w": structural["pillar_weight"].to_numpy(),
        }
    )
    sums = work.groupby("country").sum()
    vulnerability = np.exp(sums["wlog"] / sums["w"])
    return vulnerability.reindex(countries).clip(0.0, 10.0)


def _trigger(pillars: pd.DataFrame, countries: list[str]) -> tuple[pd.Series, pd.DataFrame]:
    triggers = pillars[(pillars["kind"] == "trigger") & (pillars["pillar_weight"] > 0)].copy()
    heaviest = triggers["pillar_weight"].max() if not triggers.empty else 1.0
    triggers["relative"] = triggers["score"] * triggers["pillar_weight"] / heaviest
    trigger = triggers.groupby("country")["relative"].max().reindex(countries)
    return trigger, triggers


def _missing_pillars(pillars: pd.DataFrame, countries: list[str]) -> pd.Series:
    missing = pillars[pillars["score"].isna()]
    if missing.empty:
        return pd.Series("", index=countries, dtype="object")
    joined = missing.groupby("country")["pillar"].agg(lambda names: ",".join(sorted(names)))
    return joined.reindex(countries).fillna("").astype("object")


def _contributions(
    grid: pd.DataFrame,
    pillars: pd.DataFrame,
    triggers: pd.DataFrame,
    scores: pd.DataFrame,
) -> pd.Series:
    """Each indicator's share of the composite's points (sums to the composite per country).

    The structural part V is split over structural pillars in proportion to pillar_weight × score and
    within a pillar in proportion to weight × score; the trigger's lift C − V goes to the trigger
    pillar(s) that set T, split within the pillar in proportion to weight × score.
    """
    pillar_key = pillars.set_index(["country", "pillar"])
    key = pd.MultiIndex.from_frame(grid[["country", "pillar"]])
    pillar_w_sum = pillar_key["w"].reindex(key).to_numpy()
    pillar_wx_sum = pillar_key["wx"].reindex(key).to_numpy()
    x = grid["scored"].to_numpy(dtype="float64")
    w = grid["weight"].to_numpy(dtype="float64")
    usable = ~np.isnan(x) & (w > 0)
    country = grid["country"]
    v = country.map(scores["vulnerability"]).to_numpy(dtype="float64")
    c = country.map(scores["composite"]).to_numpy(dtype="float64")

    # Structural: V · (pw_p · w_i · x_i / W_p) / Σ_q pw_q · P_q.
    structural = pillars[
        (pillars["kind"] == "structural")
        & pillars["score"].notna()
        & (pillars["pillar_weight"] > 0)
    ]
    denominator = (
        (structural["pillar_weight"] * structural["score"]).groupby(structural["country"]).sum()
    )
    weight_total = structural["pillar_weight"].groupby(structural["country"]).sum()
    denominator_row = country.map(denominator).to_numpy(dtype="float64")
    weight_total_row = country.map(weight_total).to_numpy(dtype="float64")
    pw = grid["pillar_weight"].to_numpy(dtype="float64")
    is_structural = (grid["kind"] == "structural").to_numpy() & usable & (pw > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        proportional = v * pw * w * x / pillar_w_sum / denominator_row
        # All structural pillars at 0: V is the floor, split by weight alone.
        even = v * (pw / weight_total_row) * (w / pillar_w_sum)
    structural_share = np.where(denominator_row > 0, proportional, even)

    # Trigger: (C − V) to the pillar(s) attaining T, within a pillar ∝ weight × score.
    lift = np.nan_to_num(c - v, nan=0.0)
    if not triggers.empty:
        best = triggers.groupby("country")["relative"].transform("max")
        winners = triggers[(triggers["relative"] >= best - 1e-12) & triggers["relative"].notna()]
        winner_count = winners.groupby("country")["pillar"].transform("count")
        winner_share = pd.Series(
            (1.0 / winner_count).to_numpy(),
            index=pd.MultiIndex.from_frame(winners[["country", "pillar"]]),
        )
        pillar_share = winner_share.reindex(key).fillna(0.0).to_numpy()
    else:
        pillar_share = np.zeros(len(grid))
    is_trigger = (grid["kind"] == "trigger").to_numpy() & usable
    with np.errstate(invalid="ignore", divide="ignore"):
        within = np.where(pillar_wx_sum > 0, w * x / pillar_wx_sum, 0.0)
    trigger_share = lift * pillar_share * within

    contribution = np.where(is_structural, structural_share, np.nan)
    contribution = np.where(is_trigger, trigger_share, contribution)
    contribution = np.where(np.isnan(c), np.nan, contribution)
    return pd.Series(contribution, index=grid.index, dtype="float64")


def _format_confidence(present: pd.Series, expected: pd.Series, stale: pd.Series) -> pd.Series:
    text = (
        present.astype(int).astype(str)
        + " of "
        + expected.astype(int).astype(str)
        + " inputs, "
        + stale.astype(int).astype(str)
        + " stale"
    )
    return text.astype("object")


def score_pool(
    pool: pd.DataFrame,
    catalogue: Catalogue,
    *,
    as_of: Any,
    countries: Iterable[str] | None = None,
) -> PanelScore:
    """Score an already prepared pool (visible base rows + derived rows) as of `as_of`.

    Args:
        pool: rows visible at `as_of` (one vintage per series) with `published`, as built by
            `prepare_pool`.
        catalogue: the catalogue.
        as_of: the as-of day.
        countries: which countries to score (default: every country in the pool except WLD).

    Returns:
        The `PanelScore`.
    """
    day = as_of_day(as_of)
    model = catalogue.model
    latest = latest_values(pool, catalogue, day)
    scored = _scored_countries(pool, countries)
    grid = _grid(latest, catalogue, scored)
    grid["normalised"] = normalise(grid[["indicator", "value"]], catalogue)
    stale_trigger = (grid["kind"] == "trigger") & grid["stale"] & grid["value"].notna()
    grid["scored"] = grid["normalised"].where(~stale_trigger, 0.0)

    pillars = _weighted_pillars(grid, catalogue)
    vulnerability = _vulnerability(pillars, scored)
    trigger, triggers = _trigger(pillars, scored)

    present = grid["value"].notna()
    counts = pd.DataFrame(
        {
            "inputs_present": present.groupby(grid["country"]).sum(),
            "inputs_expected": grid.groupby("country")["indicator"].count(),
            "inputs_stale": (present & grid["stale"]).groupby(grid["country"]).sum(),
            "oldest_input_age_days": grid["age_days"]
            .astype("float64")
            .groupby(grid["country"])
            .max(),
            "newest_input_age_days": grid["age_days"]
            .astype("float64")
            .groupby(grid["country"])
            .min(),
        }
    ).reindex(scored)
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
        index=pd.Index(scored, name="country"),
    )
    reason = pd.Series("", index=composite.index, dtype="object")
    no_structure = vulnerability.isna()
    reason = reason.mask(no_structure, "no structural pillar has any input")
    too_thin = coverage < model.min_coverage
    thin_text = (
        "coverage "
        + (coverage * 100).round().astype(int).astype(str)
        + f" % is below the minimum {model.min_coverage * 100:.0f} %"
    )
    reason = reason.mask(too_thin & ~no_structure, thin_text)
    composite = composite.mask(no_structure | too_thin)
    band, colour = assign_bands(composite, catalogue)

    scores = pd.DataFrame(
        {
            "composite": composite,
            "vulnerability": vulnerability.reindex(composite.index),
            "trigger": trigger.reindex(composite.index).fillna(0.0),
        }
    )
    grid["contribution"] = _contributions(grid, pillars, triggers, scores)
    grid["status"] = np.where(~present, "missing", np.where(grid["stale"], "stale", "ok")).astype(
        "object"
    )

    top = grid[grid["contribution"].notna()].sort_values(
        ["country", "contribution"], ascending=[True, False], kind="mergesort"
    )
    top_driver = top.drop_duplicates("country").set_index("country")["indicator"]

    countries_frame = pd.DataFrame(
        {
            "composite": composite,
            "band": band,
            "band_colour": colour,
            "vulnerability": scores["vulnerability"],
            "trigger": scores["trigger"],
            "inputs_present": counts["inputs_present"],
            "inputs_expected": counts["inputs_expected"],
            "inputs_stale": counts["inputs_stale"],
            "oldest_input_age_days": counts["oldest_input_age_days"],
            "newest_input_age_days": counts["newest_input_age_days"],
            "missing_pillars": _missing_pillars(pillars, scored),
            "as_of": day,
            "coverage": coverage,
            "confidence": _format_confidence(
                counts["inputs_present"], counts["inputs_expected"], counts["inputs_stale"]
            ),
            "top_driver": top_driver.reindex(composite.index).fillna("").astype("object"),
            "reason": reason,
        },
        index=pd.Index(scored, name="country"),
    )

    pillar_frame = pillars[list(PILLAR_COLUMNS)].reset_index(drop=True)
    contributions = grid.rename(columns={PUBLISHED: "published"})
    for column in CONTRIBUTION_COLUMNS:
        if column not in contributions.columns:
            contributions[column] = np.nan
    contributions = contributions[list(CONTRIBUTION_COLUMNS)].reset_index(drop=True)
    contributions["broadcast_from"] = grid["broadcast_from"].to_numpy()
    return PanelScore(
        as_of=day,
        countries=countries_frame,
        pillars=pillar_frame,
        contributions=contributions,
        latest=latest,
    )


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
    visible = visible_observations(observations, catalogue, as_of)
    pool = prepare_pool(visible, catalogue)
    return score_pool(pool, catalogue, as_of=as_of, countries=countries)


def select_visible(prepared: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Rows of a prepared pool published by the end of `as_of`, newest visible vintage per series."""
    cutoff = as_of + pd.Timedelta(days=1)
    return newest_vintage(prepared[prepared[PUBLISHED] < cutoff])
