"""The aggregation candidates and the train-only choice (hand-checked inputs)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from indicators.scoring import score_panel
from indicators.validation.calibration import (
    MIN_GAIN,
    WEIGHT_GRID,
    Candidate,
    aggregate,
    calibrate,
    calibrate_weights,
)
from tests.indicators.scoring_support import observations, structural_rows, synthetic_catalogue


def _pillars(scores: list[float], weights: list[float] | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "country": "AAA",
            "year": 2010,
            "score": scores,
            "weight": weights or [1.0] * len(scores),
        }
    )


def test_power_means_by_hand() -> None:
    pillars = _pillars([0.0, 8.0, 8.0, 8.0])  # one pillar at zero (no resource rents)
    value = lambda p, floor: float(aggregate(pillars, Candidate(p, floor)).iloc[0])  # noqa: E731
    assert value(0.0, 0.1) == pytest.approx((0.1 * 8**3) ** 0.25)  # ≈ 2.7: the zero drags V down
    assert value(1.0, 0.1) == pytest.approx((0.1 + 24) / 4)
    assert value(2.0, 1.0) == pytest.approx(np.sqrt((1 + 3 * 64) / 4))
    assert value(np.inf, 0.1) == pytest.approx(8.0)
    # Methodology 3 (p = -1, floor 2): the zero pillar counts as 2, so it cannot hide three 8s.
    assert value(-1.0, 2.0) == pytest.approx(4 / (1 / 2 + 3 / 8))
    assert value(-1.0, 2.0) > value(0.0, 0.1)
    weighted = aggregate(_pillars([2.0, 8.0], [3.0, 1.0]), Candidate(1.0, 0.1))
    assert float(weighted.iloc[0]) == pytest.approx((3 * 2 + 8) / 4)


@pytest.mark.parametrize(("power", "floor"), [(-1.0, 2.0), (0.0, 0.1), (0.5, 1.0)])
def test_the_configured_candidate_reproduces_the_scored_vulnerability(
    power: float, floor: float
) -> None:
    catalogue = synthetic_catalogue(vulnerability_power=power, pillar_floor=floor)
    panel = score_panel(
        observations(structural_rows("KAZ") + structural_rows("KGZ", inflation=40.0)),
        catalogue,
        as_of="2021-12-31",
    )
    weights = {p.id: p.weight for p in catalogue.pillars if p.kind == "structural"}
    pillars = panel.pillars[panel.pillars["pillar"].isin(list(weights))].dropna(subset=["score"])
    frame = pd.DataFrame(
        {
            "country": pillars["country"].astype(str),
            "year": 2022,
            "score": pillars["score"],
            "weight": pillars["pillar"].map(weights),
        }
    )
    recomputed = aggregate(frame, Candidate.of(catalogue.model))
    for country in ("KAZ", "KGZ"):
        assert float(recomputed.loc[(country, 2022)]) == pytest.approx(
            float(panel.countries.at[country, "vulnerability"])
        )


def test_the_choice_looks_only_at_the_train_years() -> None:
    rows = pd.DataFrame(
        {
            "country": ["A", "B", "C", "D"] * 2,
            "year": [2010] * 4 + [2020] * 4,
            "label": [1, 0, 1, 0, 1, 0, 1, 0],
        }
    )
    index = pd.MultiIndex.from_frame(rows[["country", "year"]])
    # "train_good" ranks the 2010 onsets first; "report_good" only the 2020 ones.
    train_good = pd.Series([9, 1, 8, 2, 1, 9, 2, 8], index=index, dtype="float64")
    report_good = pd.Series([1, 9, 2, 8, 9, 1, 8, 2], index=index, dtype="float64")
    result = calibrate(
        {"fam": rows},
        {"train_good": train_good, "report_good": report_good},
        train_last_year=2015,
        current="report_good",
    )
    assert result.chosen == "train_good"
    table = {row["name"]: row for row in result.candidates}
    assert table["train_good"]["fam"] == 1.0 and table["report_good"]["fam"] == 0.0


def _two_pillar_panel(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """40 countries × 2011–2030: in the train years (2011–2015) the onsets are the countries
    whose pillar `signal` is high; pillar `noise` is unrelated. After 2015 the roles swap, for
    three times as many years: a search that looked past 2015 would favour `noise`."""
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    for year in range(2011, 2031):
        signal = rng.uniform(0, 10, 40)
        noise = rng.uniform(0, 10, 40)
        informative = signal if year <= 2015 else noise
        onset = informative > 7.5
        for i in range(40):
            country = f"C{i:02d}"
            rows.append((country, year, "signal", signal[i]))
            rows.append((country, year, "noise", noise[i]))
            labels.append((country, year, int(onset[i])))
    pillars = pd.DataFrame(rows, columns=["country", "year", "pillar", "score"])
    return pillars, pd.DataFrame(labels, columns=["country", "year", "label"])


def test_the_weight_search_raises_the_informative_pillar_on_the_train_years_only() -> None:
    pillars, labels = _two_pillar_panel(seed=3)
    search = calibrate_weights(
        {"fam": labels},
        pillars,
        Candidate(1.0, 0.1),
        train_last_year=2015,
        current={"signal": 1.0, "noise": 1.0},
    )
    # From equal weights, the train years favour `signal` over `noise` (the report years, where
    # `noise` predicts, play no part), up to the ratio the grid allows.
    assert search.steps[0]["weights"] == {"noise": 1.0, "signal": 1.0}
    assert search.chosen["signal"] / search.chosen["noise"] == max(WEIGHT_GRID) / min(WEIGHT_GRID)
    means = [float(step["mean"]) for step in search.steps]  # type: ignore[arg-type]
    assert all(later >= earlier + MIN_GAIN - 1e-4 for earlier, later in itertools.pairwise(means))
    assert search.steps[-1]["weights"] == search.chosen
    assert search.current == {"signal": 1.0, "noise": 1.0}


def test_the_weight_search_stops_at_equal_weights_when_no_change_helps() -> None:
    pillars, labels = _two_pillar_panel(seed=5)
    # Both pillars the same series: no weighting changes V, so no step is taken.
    same = pillars[pillars["pillar"] == "signal"]
    twins = pd.concat([same, same.assign(pillar="twin")], ignore_index=True)
    search = calibrate_weights(
        {"fam": labels},
        twins,
        Candidate(0.0, 0.1),
        train_last_year=2015,
        current={"signal": 1.0, "twin": 1.0},
    )
    assert len(search.steps) == 1 and search.steps[0]["change"] == ""
    assert search.chosen == {"signal": 1.0, "twin": 1.0}
