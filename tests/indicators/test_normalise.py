"""Normalisation to 0–10: goalposts (caps, log, inversion), z-scores, steps; NaN stays NaN."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indicators.catalogue import Catalogue, Indicator, Normalisation, Pillar
from indicators.normalise import normalise
from tests.indicators.scoring_support import synthetic_catalogue

CATALOGUE = synthetic_catalogue()


def _score(indicator: str, value: float) -> float:
    frame = pd.DataFrame({"indicator": [indicator], "value": [value]})
    return float(normalise(frame, CATALOGUE).iloc[0])


def test_goalposts_are_min_max_with_caps() -> None:
    # inflation: goalposts 0–50, higher is riskier.
    assert _score("inflation", 0.0) == 0.0
    assert _score("inflation", 25.0) == pytest.approx(5.0)
    assert _score("inflation", 50.0) == 10.0
    assert _score("inflation", 557.0) == 10.0  # capped (INFORM outlier treatment)
    assert _score("inflation", -3.0) == 0.0


def test_lower_is_riskier_is_inverted() -> None:
    # corruption (WGI-like): goalposts −2.5…2.5, lower is riskier.
    assert _score("corruption", -2.5) == 10.0
    assert _score("corruption", 2.5) == 0.0
    assert _score("corruption", -0.32) == pytest.approx((2.5 + 0.32) / 5 * 10)


def test_log_goalposts() -> None:
    # violence: log1p goalposts 0–1000.
    expected = math.log1p(30) / math.log1p(1000) * 10
    assert _score("violence", 30.0) == pytest.approx(expected)


def test_zscore_and_step_mappings() -> None:
    # protest_spike: z_at_10 = 4; negatives → 0.
    assert _score("protest_spike", 2.0) == pytest.approx(5.0)
    assert _score("protest_spike", -1.5) == 0.0
    assert _score("protest_spike", 9.0) == 10.0
    # fuel_step: step_at_10 = 100 %; cuts → 0.
    assert _score("fuel_step", 118.18) == 10.0
    assert _score("fuel_step", 25.0) == pytest.approx(2.5)
    assert _score("fuel_step", -43.0) == 0.0


def test_nan_in_gives_nan_out_and_context_is_unscored() -> None:
    frame = pd.DataFrame(
        {"indicator": ["inflation", "fuel_step", "fuel_price"], "value": [np.nan, np.nan, 55.0]}
    )
    assert normalise(frame, CATALOGUE).isna().all()


def test_unknown_indicator_and_missing_goalposts_are_errors() -> None:
    with pytest.raises(KeyError, match="not_in_catalogue"):
        normalise(pd.DataFrame({"indicator": ["not_in_catalogue"], "value": [1.0]}), CATALOGUE)
    broken = Catalogue(
        (
            Indicator(
                "x", "x", "macro", "f", "t", "x", "u", True, "annual", Normalisation("goalposts")
            ),
        ),
        (Pillar("macro", "M", "structural"),),
    )
    with pytest.raises(ValueError, match="goalposts need"):
        normalise(pd.DataFrame({"indicator": ["x"], "value": [1.0]}), broken)


SCORED = [item.id for item in CATALOGUE.indicators if item.pillar != "context"]


@settings(max_examples=200, deadline=None)
@given(
    indicator=st.sampled_from(SCORED),
    low=st.floats(-1e6, 1e6, allow_nan=False),
    high=st.floats(-1e6, 1e6, allow_nan=False),
)
def test_scores_stay_in_range_and_follow_the_risk_direction(
    indicator: str, low: float, high: float
) -> None:
    low, high = min(low, high), max(low, high)
    frame = pd.DataFrame({"indicator": [indicator, indicator], "value": [low, high]})
    lower_score, higher_score = normalise(frame, CATALOGUE)
    assert 0.0 <= lower_score <= 10.0
    assert 0.0 <= higher_score <= 10.0
    if CATALOGUE.indicator(indicator).higher_is_riskier:
        assert higher_score >= lower_score
    else:
        assert higher_score <= lower_score
