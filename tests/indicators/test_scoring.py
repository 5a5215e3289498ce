"""score_panel on a synthetic panel: the formula, confidence, contributions and its properties.

All observations here are SYNTHETIC (made up) so the expected numbers can be derived by hand.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indicators.catalogue import Catalogue
from indicators.scoring import assign_bands, combine, score_panel
from tests.indicators.scoring_support import observations, structural_rows, synthetic_catalogue

CATALOGUE = synthetic_catalogue()
AS_OF = "2022-01-02"


def scenario(
    *,
    structural: dict[str, float] | None = None,
    lpg_jump: float = 120.0,
    brent_now: float = 80.0,
    protests_now: float = 60.0,
    sentiment_now: float = 1.0,
    sentiment_shift: float = 0.0,
    drop: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Country KAZ (and KGZ with fewer inputs), world oil, a fuel jump on 2022-01-01."""
    rows: list[tuple[Any, ...]] = structural_rows("KAZ", **(structural or {}))
    rows += structural_rows("KGZ", inflation=4.0, corruption=0.5)
    # A World Bank style world aggregate: must never stand in for a country.
    rows += [("inflation", "WLD", "2020-01-01", 45.0, "2021-06-30")]
    rows += [
        ("fuel_price", "KAZ", "2021-12-30", 55.0, "2021-12-30"),
        ("fuel_price", "KAZ", "2021-12-31", 55.0, "2021-12-31"),
        ("fuel_price", "KAZ", "2022-01-01", lpg_jump, "2022-01-01"),
    ]
    rows += [
        ("oil_price", "WLD", "2021-01-01", 50.0, "2021-01-01"),
        ("oil_price", "WLD", "2022-01-01", brent_now, "2022-01-01"),
    ]
    months = pd.date_range("2020-01-01", "2021-12-01", freq="MS")
    history = [40, 55, 48, 61, 52, 47, 58, 50, 45, 62, 49, 53] * 2
    for month, count in zip(months[:-1], history[:-1], strict=True):
        rows.append(("protests", "KAZ", month, float(count), month + pd.offsets.MonthEnd(0)))
        value = float(count) / 10 + sentiment_shift
        rows.append(("sentiment", "KAZ", month, value, month + pd.offsets.MonthEnd(0)))
    last = months[-1]
    rows.append(("protests", "KAZ", last, protests_now, last + pd.offsets.MonthEnd(0)))
    rows.append(
        ("sentiment", "KAZ", last, sentiment_now + sentiment_shift, last + pd.offsets.MonthEnd(0))
    )
    frame = observations(rows)
    return frame[~frame["indicator"].isin(drop)].reset_index(drop=True)


def _kaz(panel: Any) -> pd.Series:
    return panel.countries.loc["KAZ"]


def _power_mean_by_hand(weighted: dict[float, float], catalogue: Catalogue) -> float:
    """(Σ w·max(s, floor)^p / Σ w)^(1/p), p = 0 the geometric mean; `weighted`: score → weight."""
    power, floor = catalogue.model.vulnerability_power, catalogue.model.pillar_floor
    total = sum(weighted.values())
    if power == 0:
        return math.exp(sum(w * math.log(max(s, floor)) for s, w in weighted.items()) / total)
    return (sum(w * max(s, floor) ** power for s, w in weighted.items()) / total) ** (1 / power)


def test_the_panel_has_every_documented_column() -> None:
    panel = score_panel(scenario(), CATALOGUE, as_of=AS_OF)
    assert {
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
    } <= set(panel.countries.columns)
    assert panel.countries.index.name == "country"
    assert list(panel.pillars.columns[:7]) == [
        "country",
        "pillar",
        "kind",
        "score",
        "inputs_present",
        "inputs_expected",
        "inputs_stale",
    ]
    assert {
        "country",
        "indicator",
        "pillar",
        "value",
        "unit",
        "period",
        "published",
        "age_days",
        "stale",
        "normalised",
        "weight",
        "contribution",
    } <= set(panel.contributions.columns)
    assert "WLD" not in panel.countries.index
    assert sorted(panel.countries.index) == ["KAZ", "KGZ"]


def test_formula_by_hand() -> None:
    panel = score_panel(scenario(), CATALOGUE, as_of=AS_OF)
    kaz = _kaz(panel)
    rows = panel.contributions[panel.contributions["country"] == "KAZ"].set_index("indicator")
    # Pillars: weighted means of the normalised inputs.
    macro = (rows.at["inflation", "normalised"] + rows.at["growth", "normalised"]) / 2
    governance = (
        2 * rows.at["corruption", "normalised"]
        + rows.at["violence", "normalised"]
        + rows.at["sentiment", "normalised"]
    ) / 4
    fuel = (rows.at["fuel_step", "normalised"] + 0.25 * rows.at["oil_yoy", "normalised"]) / 1.25
    pillars = panel.pillars[panel.pillars["country"] == "KAZ"].set_index("pillar")["score"]
    assert pillars["macro"] == pytest.approx(macro)
    assert pillars["governance"] == pytest.approx(governance)
    assert pillars["fuel_shock"] == pytest.approx(fuel)
    # V: the configured power mean of the floored pillars, pillar weights macro 1, governance 2.
    vulnerability = _power_mean_by_hand({macro: 1.0, governance: 2.0}, CATALOGUE)
    assert kaz["vulnerability"] == pytest.approx(vulnerability)
    # T: the larger trigger pillar.
    trigger = max(fuel, pillars["unrest_spike"])
    assert kaz["trigger"] == pytest.approx(trigger)
    # C = V + (10 − V) · min(1, a · T/10 · V/pivot) with a = 1, pivot = 5.
    share = min(1.0, trigger / 10 * vulnerability / 5)
    assert kaz["composite"] == pytest.approx(vulnerability + (10 - vulnerability) * share)
    assert kaz["band"] == CATALOGUE.band_for(kaz["composite"]).name
    # The +118 % LPG step is what lifts KAZ above its structure.
    assert rows.at["fuel_step", "value"] == pytest.approx((120 / 55 - 1) * 100)
    assert kaz["top_driver"] == "fuel_step"


def test_contributions_sum_to_the_composite() -> None:
    panel = score_panel(scenario(), CATALOGUE, as_of=AS_OF)
    sums = panel.contributions.groupby("country")["contribution"].sum()
    for country, row in panel.countries.iterrows():
        assert sums[country] == pytest.approx(row["composite"])
    structural = panel.contributions[panel.contributions["kind"] == "structural"]
    kaz_structural = structural[structural["country"] == "KAZ"]["contribution"].sum()
    assert kaz_structural == pytest.approx(_kaz(panel)["vulnerability"])


def test_no_trigger_input_is_blind_not_zero_and_the_composite_is_a_range() -> None:
    frame = scenario(drop=("fuel_price", "oil_price", "protests"))
    kaz = _kaz(score_panel(frame, CATALOGUE, as_of=AS_OF))
    # Nothing seen: the trigger is blind (no value), never 0.
    assert math.isnan(kaz["trigger"])
    assert kaz["trigger_state"] == "blind"
    assert pd.isna(kaz["blind_since"])
    assert kaz["trigger_reason"].endswith("data at all")
    assert kaz["trigger_seen"] == 0.0
    # The composite is V (what can be seen) up to V amplified by a full trigger.
    assert kaz["composite"] == pytest.approx(kaz["vulnerability"])
    v = kaz["vulnerability"]
    assert kaz["composite_high"] == pytest.approx(v + (10 - v) * min(1.0, v / 5))
    assert kaz["band_high"] == CATALOGUE.band_for(kaz["composite_high"]).name
    assert kaz["missing_pillars"] == "fuel_shock,unrest_spike"


def test_world_trigger_is_broadcast_but_world_aggregates_never_stand_in() -> None:
    frame = scenario()
    frame = frame[~((frame["country"] == "KGZ") & (frame["indicator"] == "inflation"))]
    panel = score_panel(frame, CATALOGUE, as_of=AS_OF)
    rows = panel.contributions.set_index(["country", "indicator"])
    assert rows.loc[("KGZ", "oil_yoy"), "broadcast_from"] == "WLD"
    assert rows.loc[("KGZ", "oil_yoy"), "value"] == pytest.approx(60.0)  # 50 → 80
    assert rows.loc[("KAZ", "oil_yoy"), "value"] == pytest.approx(60.0)
    # KGZ has no inflation of its own: missing, not the WLD aggregate's 45 %.
    assert rows.loc[("KGZ", "inflation"), "status"] == "missing"
    assert math.isnan(rows.loc[("KGZ", "inflation"), "value"])


def test_a_stale_trigger_drops_out_and_is_recorded() -> None:
    frame = scenario()
    fresh = _kaz(score_panel(frame, CATALOGUE, as_of=AS_OF))
    # 40 days later the 2022-01-01 step is older than max_age (31 days).
    later = score_panel(frame, CATALOGUE, as_of="2022-02-10")
    rows = later.contributions.set_index(["country", "indicator"])
    step = rows.loc[("KAZ", "fuel_step")]
    assert bool(step["stale"]) and step["status"] == "stale"
    assert step["normalised"] == 10.0 and step["scored"] == 0.0
    assert step["contribution"] == 0.0
    kaz = later.countries.loc["KAZ"]
    assert kaz["inputs_stale"] >= 1
    assert kaz["composite"] < fresh["composite"]


def test_low_coverage_gives_no_score_and_says_why() -> None:
    catalogue = replace(CATALOGUE, model=replace(CATALOGUE.model, min_coverage=0.8))
    frame = scenario(drop=("growth", "violence", "sentiment", "protests"))
    kgz_only = frame[frame["country"].isin(["KGZ", "WLD"])]
    panel = score_panel(kgz_only, catalogue, as_of=AS_OF)
    kgz = panel.countries.loc["KGZ"]
    assert math.isnan(kgz["composite"])
    assert kgz["band"] == "no score"
    assert "coverage" in kgz["reason"] and "below the minimum 80 %" in kgz["reason"]
    assert not math.isnan(kgz["vulnerability"])


@pytest.mark.parametrize(
    ("power", "floor"),
    [(0.0, 0.1), (-1.0, 2.0), (1.0, 0.5), (2.0, 1.0)],
    ids=["geometric-methodology-2", "harmonic-floor-2", "arithmetic", "quadratic"],
)
def test_the_pillar_floor_keeps_a_zero_pillar_defined_and_bounds_its_pull(
    power: float, floor: float
) -> None:
    # Inflation 0 and growth 10 % (lower is riskier) → macro pillar 0; governance has weight 2.
    catalogue = replace(
        CATALOGUE,
        model=replace(CATALOGUE.model, vulnerability_power=power, pillar_floor=floor),
    )
    panel = score_panel(
        scenario(structural={"inflation": 0.0, "growth": 10.0}), catalogue, as_of=AS_OF
    )
    pillars = panel.pillars[panel.pillars["country"] == "KAZ"].set_index("pillar")["score"]
    assert pillars["macro"] == 0.0
    macro, governance = floor, max(float(pillars["governance"]), floor)
    if power == 0:
        expected = (macro * governance**2) ** (1 / 3)
    else:
        expected = ((macro**power + 2 * governance**power) / 3) ** (1 / power)
    vulnerability = _kaz(panel)["vulnerability"]
    assert vulnerability == pytest.approx(expected)
    # The zero pillar pulls V down, but never below the floor.
    assert floor <= vulnerability <= governance


def test_bands_follow_the_catalogue_cut_offs() -> None:
    composite = pd.Series([0.0, 1.99, 2.0, 3.5, 4.99, 5.0, 6.5, 10.0, np.nan])
    bands, colours = assign_bands(composite, CATALOGUE)
    assert list(bands) == [
        "very low",
        "very low",
        "low",
        "medium",
        "medium",
        "high",
        "very high",
        "very high",
        "no score",
    ]
    assert colours.iloc[-1] == "#bdbdbd"


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

unit_interval = st.floats(0.0, 10.0, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(
    v=unit_interval,
    t=unit_interval,
    dv=unit_interval,
    dt=unit_interval,
    amplification=st.floats(0.0, 5.0),
    pivot=st.floats(0.5, 10.0),
)
def test_combine_is_bounded_monotone_and_equals_v_without_trigger(
    v: float, t: float, dv: float, dt: float, amplification: float, pivot: float
) -> None:
    def c(vv: float, tt: float) -> float:
        return float(
            combine(np.array([vv]), np.array([tt]), amplification=amplification, pivot=pivot)[0]
        )

    assert 0.0 <= c(v, t) <= 10.0
    assert c(v, 0.0) == pytest.approx(v)
    assert c(min(10.0, v + dv), t) >= c(v, t) - 1e-12
    assert c(v, min(10.0, t + dt)) >= c(v, t) - 1e-12


structural_values = st.fixed_dictionaries(
    {
        "inflation": st.floats(-5.0, 80.0),
        "growth": st.floats(-20.0, 20.0),
        "corruption": st.floats(-3.0, 3.0),
        "violence": st.floats(0.0, 5000.0),
    }
)


def _composite(frame: pd.DataFrame, catalogue: Catalogue = CATALOGUE) -> float:
    return float(score_panel(frame, catalogue, as_of=AS_OF).countries.at["KAZ", "composite"])


@settings(max_examples=20, deadline=None)
@given(
    structural=structural_values,
    lpg=st.floats(20.0, 300.0),
    brent=st.floats(10.0, 300.0),
    protests=st.floats(0.0, 5000.0),
)
def test_scores_stay_within_0_and_10(
    structural: dict[str, float], lpg: float, brent: float, protests: float
) -> None:
    panel = score_panel(
        scenario(structural=structural, lpg_jump=lpg, brent_now=brent, protests_now=protests),
        CATALOGUE,
        as_of=AS_OF,
    )
    for column in ("composite", "vulnerability", "trigger_seen", "composite_high"):
        values = panel.countries[column].to_numpy(dtype="float64")
        assert ((values >= 0) & (values <= 10)).all()
    # The trigger has a value exactly when it is not blind (KGZ has no trigger input: blind).
    blind = (panel.countries["trigger_state"] == "blind").to_numpy()
    assert (np.isnan(panel.countries["trigger"].to_numpy(dtype="float64")) == blind).all()
    assert blind.any()
    assert (panel.countries["composite"] <= panel.countries["composite_high"] + 1e-12).all()
    scores = panel.pillars["score"].dropna().to_numpy()
    assert ((scores >= 0) & (scores <= 10)).all()
    normalised = panel.contributions["normalised"].dropna().to_numpy()
    assert ((normalised >= 0) & (normalised <= 10)).all()
    sums = panel.contributions.groupby("country")["contribution"].sum()
    assert np.allclose(sums.reindex(panel.countries.index), panel.countries["composite"])


# (input, how to make it riskier): structural values move in their risk direction; triggers
# move the latest raw observation they are derived from.
RISK_INPUTS = (
    "inflation",
    "growth",
    "corruption",
    "violence",
    "lpg",
    "brent",
    "protests",
    "sentiment",
)


@settings(max_examples=40, deadline=None)
@given(
    structural=structural_values,
    lpg=st.floats(20.0, 300.0),
    brent=st.floats(10.0, 300.0),
    protests=st.floats(0.0, 3000.0),
    sentiment=st.floats(-5.0, 20.0),
    which=st.sampled_from(RISK_INPUTS),
    bump=st.floats(0.01, 500.0),
)
def test_raising_a_risk_input_never_lowers_the_composite(
    structural: dict[str, float],
    lpg: float,
    brent: float,
    protests: float,
    sentiment: float,
    which: str,
    bump: float,
) -> None:
    base: dict[str, Any] = {
        "structural": dict(structural),
        "lpg_jump": lpg,
        "brent_now": brent,
        "protests_now": protests,
        "sentiment_now": sentiment,
    }
    riskier: dict[str, Any] = {**base, "structural": dict(structural)}
    if which in structural:
        sign = 1.0 if CATALOGUE.indicator(which).higher_is_riskier else -1.0
        riskier["structural"][which] = structural[which] + sign * bump
    else:
        key = {
            "lpg": "lpg_jump",
            "brent": "brent_now",
            "protests": "protests_now",
            "sentiment": "sentiment_now",
        }[which]
        riskier[key] = base[key] + bump
    assert _composite(scenario(**riskier)) >= _composite(scenario(**base)) - 1e-9


@pytest.mark.parametrize("missing", ["inflation", "growth", "corruption", "violence", "oil_price"])
def test_a_missing_input_changes_confidence_not_the_value_to_zero(missing: str) -> None:
    full = score_panel(scenario(), CATALOGUE, as_of=AS_OF)
    thinner = score_panel(scenario(drop=(missing,)), CATALOGUE, as_of=AS_OF)
    expected_id = "oil_yoy" if missing == "oil_price" else missing
    assert (
        thinner.countries.at["KAZ", "inputs_present"]
        == full.countries.at["KAZ", "inputs_present"] - 1
    )
    assert (
        thinner.countries.at["KAZ", "inputs_expected"]
        == full.countries.at["KAZ", "inputs_expected"]
    )
    row = thinner.contributions.set_index(["country", "indicator"]).loc[("KAZ", expected_id)]
    assert (
        row["status"] == "missing"
        and math.isnan(row["normalised"])
        and math.isnan(row["contribution"])
    )
    # The value is what the model gives without that input at all (excluded, not scored 0) ...
    disabled = replace(
        CATALOGUE,
        indicators=tuple(replace(i, enabled=i.id != expected_id) for i in CATALOGUE.indicators),
    )
    without = score_panel(scenario(), disabled, as_of=AS_OF)
    assert thinner.countries.at["KAZ", "composite"] == pytest.approx(
        without.countries.at["KAZ", "composite"]
    )
    # ... and differs from scoring the input as 0 (a silent zero would give this pillar score;
    # V may not differ: a pillar below the pillar floor enters V at the floor either way).
    zero_like = {"inflation": -10.0, "growth": 50.0, "corruption": 5.0, "violence": 0.0}
    if missing in zero_like:
        zeroed = score_panel(scenario(structural={missing: zero_like[missing]}), CATALOGUE,
                             as_of=AS_OF)

        def pillar_score(panel: Any) -> float:
            pillars = panel.pillars.set_index(["country", "pillar"])["score"]
            return float(pillars.loc[("KAZ", row["pillar"])])

        assert pillar_score(thinner) != pytest.approx(pillar_score(zeroed))


@settings(max_examples=10, deadline=None)
@given(indicator_scale=st.floats(0.01, 100.0), pillar_scale=st.floats(0.01, 100.0))
def test_weights_are_normalised(indicator_scale: float, pillar_scale: float) -> None:
    scaled = replace(
        CATALOGUE,
        indicators=tuple(
            replace(i, weight=i.weight * indicator_scale) for i in CATALOGUE.indicators
        ),
        pillars=tuple(replace(p, weight=p.weight * pillar_scale) for p in CATALOGUE.pillars),
    )
    frame = scenario()
    plain = score_panel(frame, CATALOGUE, as_of=AS_OF)
    other = score_panel(frame, scaled, as_of=AS_OF)
    pd.testing.assert_series_equal(
        plain.countries["composite"], other.countries["composite"], rtol=1e-9
    )
    np.testing.assert_allclose(
        plain.contributions["contribution"].to_numpy(dtype="float64"),
        other.contributions["contribution"].to_numpy(dtype="float64"),
        rtol=1e-9,
    )


@settings(max_examples=10, deadline=None)
@given(shift=st.floats(-1000.0, 1000.0), sentiment=st.floats(-5.0, 20.0))
def test_a_constant_shift_in_a_zscored_series_changes_nothing(
    shift: float, sentiment: float
) -> None:
    plain = _composite(scenario(sentiment_now=sentiment))
    shifted = _composite(scenario(sentiment_now=sentiment, sentiment_shift=shift))
    assert shifted == pytest.approx(plain, rel=1e-6, abs=1e-6)
