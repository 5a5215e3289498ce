"""The aggregation candidates and the train-only choice (hand-checked inputs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from indicators.scoring import score_panel
from indicators.validation.calibration import Candidate, aggregate, calibrate
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
