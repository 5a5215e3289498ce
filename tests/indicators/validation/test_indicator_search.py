"""The indicator weights and transforms searched on the train years (methodology 5)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from indicators.validation.calibration import MIN_GAIN, Candidate, structural_weights
from indicators.validation.indicator_search import (
    DESIGN,
    INDICATOR_WEIGHT_GRID,
    IndicatorSetting,
    YearEndInputs,
    configured_settings,
    pillar_scores,
    search_indicators,
    with_indicator_settings,
    year_end_inputs,
)
from indicators.validation.panels import prepare, score_dates
from tests.indicators.scoring_support import observations, structural_rows, synthetic_catalogue


def _engine_pillars(frames: object, weights: dict[str, float]) -> pd.DataFrame:
    pillars = frames.pillars  # type: ignore[attr-defined]
    pillars = pillars[pillars["pillar"].astype(str).isin(list(weights)) & pillars["score"].notna()]
    return pd.DataFrame(
        {
            "country": pillars["country"].astype(str).to_numpy(),
            "year": pd.DatetimeIndex(pillars["date"]).year.to_numpy() + 1,
            "pillar": pillars["pillar"].astype(str).to_numpy(),
            "score": pillars["score"].to_numpy(dtype="float64"),
        }
    ).sort_values(["country", "year", "pillar"], ignore_index=True)


@pytest.mark.parametrize(
    "changes",
    [
        {},  # as configured
        # Another weight and both transforms switched, one of them inside a pillar that also
        # holds a z-score indicator (which the search leaves as the engine scored it).
        {
            "inflation": IndicatorSetting(3.0, True),
            "violence": IndicatorSetting(0.25, False),
            "corruption": IndicatorSetting(2.0, True),
        },
    ],
)
def test_recomputed_pillars_equal_the_engines_under_the_same_settings(
    changes: dict[str, IndicatorSetting],
) -> None:
    catalogue = synthetic_catalogue(vulnerability_power=-1.0, pillar_floor=2.0)
    scored_with = with_indicator_settings(catalogue, changes)
    rows = (
        structural_rows("KAZ")
        + structural_rows("KGZ", inflation=40.0, violence=600.0, corruption=1.2)
        + [("inflation", "UZB", "2020-01-01", 3.0, "2021-06-30")]  # a one-input pillar
    )
    # Monthly z-score rows, so the governance pillar mixes a goalposts and a z-score input.
    rows += [
        ("sentiment", "KAZ", f"2020-{month:02d}-01", float(month % 4), f"2020-{month:02d}-28")
        for month in range(1, 13)
    ]
    pool = prepare(observations(rows), scored_with, until=pd.Timestamp("2021-12-31"))
    dates = pd.DatetimeIndex(["2020-12-31", "2021-12-31"])
    frames = score_dates(pool, scored_with, dates, list(pool.countries))
    weights = structural_weights(scored_with)
    inputs = year_end_inputs(frames, scored_with, set(weights))
    assert "sentiment" in inputs.indicators and bool(
        inputs.fixed[inputs.indicators.index("sentiment")]
    )
    settings = configured_settings(scored_with, inputs.indicators)
    for item, setting in changes.items():
        assert settings[item] == setting
    recomputed = pillar_scores(inputs, settings, weights)
    engine = _engine_pillars(frames, weights)
    assert len(engine) > 4
    pd.testing.assert_frame_equal(
        recomputed[["country", "year", "pillar", "score"]], engine, check_exact=False, rtol=1e-12
    )


def _planted(seed: int, *, skewed: bool = False) -> tuple[YearEndInputs, pd.DataFrame]:
    """One pillar of two indicators on goalposts 0–100. Up to 2015 the onsets go with `signal`
    (`noise` is unrelated); afterwards with `noise`, for three times as many years: a search that
    looked past 2015 would favour `noise`. With `skewed`, `signal` takes values 1–5 only, which
    linear goalposts squeeze into 0.1–0.5 while log1p spreads them."""
    rng = np.random.default_rng(seed)
    keys, values, labels = [], [], []
    for year in range(2011, 2031):
        signal = rng.uniform(1, 5, 60) if skewed else rng.uniform(0, 100, 60)
        noise = rng.uniform(0, 100, 60)
        informative = signal if year <= 2015 else noise
        onset = informative > np.quantile(informative, 0.8)
        for i in range(60):
            keys.append((f"C{i:02d}", year))
            values.append((signal[i], noise[i]))
            labels.append((f"C{i:02d}", year, int(onset[i])))
    inputs = YearEndInputs(
        keys=pd.DataFrame(keys, columns=["country", "year"]),
        values=np.array(values, dtype="float64"),
        indicators=("signal", "noise"),
        fixed=np.array([False, False]),
        pillar_of=("p", "p"),
        lower=np.array([0.0, 0.0]),
        upper=np.array([100.0, 100.0]),
        riskier_high=np.array([True, True]),
        strongest=frozenset(),
    )
    return inputs, pd.DataFrame(labels, columns=["country", "year", "label"])


def _search(inputs: YearEndInputs, labels: pd.DataFrame, start: IndicatorSetting) -> object:
    return search_indicators(
        {"fam": labels},
        inputs,
        Candidate(1.0, 0.1),
        {"p": 1.0},
        train_last_year=2015,
        start={"signal": start, "noise": start},
        current={"signal": start, "noise": start},
    )


def test_the_search_weights_the_informative_indicator_on_the_train_years_only() -> None:
    inputs, labels = _planted(seed=4)
    search = _search(inputs, labels, IndicatorSetting(1.0, False))
    chosen = search.chosen  # type: ignore[attr-defined]
    # The train years favour `signal` (the report years, where `noise` predicts, play no part),
    # as far as the grid allows; the transforms of same-scaled inputs are left alone.
    ratio = chosen["signal"].weight / chosen["noise"].weight
    assert ratio == max(INDICATOR_WEIGHT_GRID) / min(INDICATOR_WEIGHT_GRID)
    assert not chosen["signal"].log and not chosen["noise"].log
    steps = search.steps  # type: ignore[attr-defined]
    means = [float(step["mean"]) for step in steps]
    assert all(later >= earlier + MIN_GAIN - 1e-4 for earlier, later in itertools.pairwise(means))
    assert steps[0]["change"] == "" and all(step["change"] for step in steps[1:])
    assert search.changed() == {  # type: ignore[attr-defined]
        item: f"weight 1, linear → {setting.label}"
        for item, setting in chosen.items()
        if setting != IndicatorSetting(1.0, False)
    }


def test_the_search_log_transforms_a_squeezed_informative_indicator() -> None:
    inputs, labels = _planted(seed=7, skewed=True)
    # Weights fixed by a one-point grid would hide the transform's effect; here both move, and
    # the first step the search takes is the transform that spreads `signal`'s values.
    search = _search(inputs, labels, IndicatorSetting(1.0, False))
    steps = search.steps  # type: ignore[attr-defined]
    assert search.chosen["signal"].log  # type: ignore[attr-defined]
    assert "signal: linear → log" in [step["change"] for step in steps]


def test_the_search_stops_at_the_start_when_no_change_helps() -> None:
    inputs, labels = _planted(seed=5)
    # Both indicators the same series: no weight or transform changes V's ranking enough.
    twins = YearEndInputs(**{**inputs.__dict__, "values": inputs.values[:, [0, 0]]})
    search = _search(twins, labels, IndicatorSetting(1.0, False))
    assert len(search.steps) == 1  # type: ignore[attr-defined]
    assert search.changed() == {}  # type: ignore[attr-defined]


def test_the_configuration_holds_what_the_indicator_search_chose() -> None:
    """config.toml differs from the design values exactly where the committed backtest's search
    moved them (docs/validation.json, which VALIDATION.md renders)."""
    import json

    from flashpoint.config import default_config_path, load_config
    from flashpoint.validation_results import default_results_path

    search = json.loads(default_results_path().read_text())["calibration"]["indicators"]
    catalogue = load_config(default_config_path()).catalogue()
    configured = configured_settings(catalogue, tuple(search["chosen"]))
    chosen = {item: IndicatorSetting(v["weight"], v["log"]) for item, v in search["chosen"].items()}
    assert configured == chosen
    start = {item: IndicatorSetting(v["weight"], v["log"]) for item, v in search["start"].items()}
    assert start == {item: DESIGN[item] for item in start}
    assert {item for item in start if start[item] != chosen[item]}, "the search moved nothing"
