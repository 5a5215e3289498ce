"""AUC, AP and the bootstrap against independent brute-force computations on small inputs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indicators.validation.metrics import average_precision, bootstrap, bootstrap_paired, roc_auc


def _pairwise_auc(scores: list[float], labels: list[int]) -> float:
    """Brute force: the share of (positive, negative) pairs ordered correctly, ties ½."""
    rows = list(zip(scores, labels, strict=True))
    pairs = [
        1.0 if p > n else 0.5 if p == n else 0.0
        for (p, lp), (n, ln) in itertools.product(rows, rows)
        if lp == 1 and ln == 0
    ]
    return sum(pairs) / len(pairs)


def _thresholds_ap(scores: list[float], labels: list[int]) -> float:
    """Brute force: at each distinct score as a threshold, precision × recall gained."""
    total = sum(labels)
    area, previous_recall = 0.0, 0.0
    for cut in sorted(set(scores), reverse=True):
        chosen = [label for score, label in zip(scores, labels, strict=True) if score >= cut]
        recall = sum(chosen) / total
        area += (recall - previous_recall) * (sum(chosen) / len(chosen))
        previous_recall = recall
    return area


def test_hand_checked_values() -> None:
    # Positives 0.9 and 0.4, negatives 0.8, 0.4 and 0.1: pairs 0.9 beats all three (3),
    # 0.4 ties 0.4 (½) and beats 0.1 (1) → 4.5 of 6.
    scores, labels = [0.9, 0.8, 0.4, 0.4, 0.1], [1, 0, 1, 0, 0]
    assert roc_auc(scores, labels) == pytest.approx(4.5 / 6)
    # Thresholds 0.9: P 1, R ½; 0.8: no gain; 0.4: P 2/4, R 1 → ½·1 + ½·½ = 0.75.
    assert average_precision(scores, labels) == pytest.approx(0.75)


def test_a_constant_score_is_the_base_rate() -> None:
    labels = [1, 0, 0, 0, 1, 0, 0, 0, 0, 0]
    assert roc_auc([3.0] * 10, labels) == pytest.approx(0.5)
    assert average_precision([3.0] * 10, labels) == pytest.approx(0.2)


def test_missing_values_are_dropped_and_one_class_is_undefined() -> None:
    assert roc_auc([1.0, np.nan, 0.0], [1, 1, 0]) == pytest.approx(1.0)
    assert np.isnan(roc_auc([1.0, 2.0], [0, 0]))
    assert np.isnan(average_precision([1.0, 2.0], [0, 0]))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 1)), min_size=2, max_size=14
    ).filter(lambda rows: 0 < sum(label for _, label in rows) < len(rows))
)
def test_matches_brute_force(rows: list[tuple[int, int]]) -> None:
    scores = [float(score) for score, _ in rows]
    labels = [label for _, label in rows]
    assert roc_auc(scores, labels) == pytest.approx(_pairwise_auc(scores, labels))
    assert average_precision(scores, labels) == pytest.approx(_thresholds_ap(scores, labels))


def test_bootstrap_is_deterministic_and_brackets_the_point_value() -> None:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 300)
    scores = labels * 0.8 + rng.normal(0, 1, 300)
    auc, ap = bootstrap(scores, labels, replicates=400, seed=3)
    again = bootstrap(scores, labels, replicates=400, seed=3)
    assert (auc, ap) == again
    assert auc.low < auc.value < auc.high and ap.low < ap.value < ap.high
    assert auc.value == pytest.approx(roc_auc(scores, labels))
    # A replicate is a resample: check the interval against a plain loop of resamples.
    positives, negatives = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    loop = np.random.default_rng(5)
    values = []
    for _ in range(400):
        take = np.r_[loop.choice(positives, positives.size), loop.choice(negatives, negatives.size)]
        values.append(roc_auc(scores[take], labels[take]))
    assert auc.low == pytest.approx(np.percentile(values, 2.5), abs=0.03)
    assert auc.high == pytest.approx(np.percentile(values, 97.5), abs=0.03)


def test_more_data_narrows_the_interval() -> None:
    rng = np.random.default_rng(2)
    widths = []
    for size in (60, 2000):
        labels = rng.integers(0, 2, size)
        scores = labels * 0.5 + rng.normal(0, 1, size)
        auc, _ = bootstrap(scores, labels, replicates=300)
        widths.append(auc.high - auc.low)
    assert widths[1] < widths[0] / 2


def test_paired_bootstrap_shares_rows_and_resamples() -> None:
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 2, 200).astype(float)
    good = labels + rng.normal(0, 1, 200)
    gappy = good.copy()
    gappy[:10] = np.nan
    paired = bootstrap_paired({"a": good, "b": gappy}, labels, replicates=200, seed=9)
    # Both were scored on the 190 rows where every predictor is present, with the same draws.
    assert paired["a"] == paired["b"]
    assert paired["a"][0].value == pytest.approx(roc_auc(good[10:], labels[10:]))
