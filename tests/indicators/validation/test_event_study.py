"""The event-study read-out on hand-built replay frames: offsets, first band rise, hit rule."""

from __future__ import annotations

import pandas as pd

from indicators.scoring import ScoreFrames
from indicators.validation.backtest import episode_dates, study_episode
from tests.indicators.scoring_support import synthetic_catalogue

T = pd.Timestamp("2022-01-01")


def _frames(composite: dict[int, float]) -> ScoreFrames:
    """One country; the composite is `composite[k]` from T+k on (steps), V fixed at 4."""
    catalogue = synthetic_catalogue()
    dates = episode_dates(T)
    values = []
    current = composite[min(composite)]
    for day in dates:
        offset = (day - T).days
        current = composite.get(offset, current)
        values.append(current)
    bands = [catalogue.band_for(v).name for v in values]
    countries = pd.DataFrame(
        {
            "date": dates,
            "country": "KAZ",
            "composite": values,
            "vulnerability": 4.0,
            "trigger": [max(0.0, v - 4.0) for v in values],
            "band": bands,
        }
    )
    empty = pd.DataFrame(columns=["date", "country", "indicator", "value", "status"])
    return ScoreFrames(countries=countries, pillars=empty, contributions=empty, latest=empty)


def _episode(onset: str | None) -> dict[str, object]:
    return {
        "id": "KAZ-2022",
        "country": "KAZ",
        "kind": "event",
        "reference": T,
        "reference_basis": "effective",
        "onset": pd.Timestamp(onset) if onset else pd.NaT,
    }


NO_OBSERVATIONS = pd.DataFrame({"indicator": [], "country": [], "period": []})


def test_a_jump_on_t_is_a_hit_with_its_band_rise() -> None:
    frames = _frames({-60: 3.9, 0: 7.3})  # medium → very high on T
    outcome = study_episode(
        _episode("2022-01-02"), frames, synthetic_catalogue(), [], NO_OBSERVATIONS
    )
    assert outcome.composite[-1] == 3.9 and outcome.composite[0] == 7.3
    assert outcome.band[-1] == "medium" and outcome.band[7] == "very high"
    assert outcome.first_band_rise_from_t == 0 and outcome.first_band_rise_from_onset == -1
    assert outcome.rise == 3.4 and outcome.hit is True
    assert outcome.first_alert_from_t is None and outcome.domestic_series is False


def test_a_flat_score_is_no_hit_and_a_late_rise_does_not_count() -> None:
    catalogue = synthetic_catalogue()
    flat = study_episode(_episode(None), _frames({-60: 4.0}), catalogue, [], NO_OBSERVATIONS)
    assert flat.hit is False and flat.first_band_rise_from_t is None
    late = study_episode(
        _episode(None), _frames({-60: 4.0, 3: 6.0}), synthetic_catalogue(), [], NO_OBSERVATIONS
    )
    assert late.hit is False  # T+3 is outside [T−7, T+2]
    assert late.first_band_rise_from_t == 3


def test_no_score_is_no_verdict() -> None:
    frames = _frames({-60: float("nan")})
    frames.countries["band"] = None
    outcome = study_episode(_episode(None), frames, synthetic_catalogue(), [], NO_OBSERVATIONS)
    assert outcome.hit is None and outcome.composite[0] is None
