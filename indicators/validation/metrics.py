"""Ranking metrics with ties handled exactly, and their stratified bootstrap (vectorised).

ROC AUC is the Mann–Whitney probability that a random positive scores above a random negative
(ties count one half). Average precision (AUPRC) is the step-wise area under the precision–recall
curve with one threshold per distinct score: AP = Σ (R_k − R_{k−1}) · P_k. Both are computed from
per-row weights, so a bootstrap replicate is just another weight vector (how often each row was
drawn): all replicates are evaluated in one matrix pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Estimate:
    """A metric with its bootstrap 95 % interval (NaN when undefined, e.g. no positives)."""

    value: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float | None]:
        """Plain numbers (None for NaN) for JSON."""
        return {name: _plain(getattr(self, name)) for name in ("value", "low", "high")}


def _plain(number: float) -> float | None:
    return None if not np.isfinite(number) else round(float(number), 4)


def _grouped(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, ...]:
    """Positive and negative weight per distinct score, highest score first (R × G arrays)."""
    order = np.argsort(-scores, kind="mergesort")
    ordered = scores[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    positive = labels[order].astype(bool)
    w = weights[:, order]
    pos = np.add.reduceat(np.where(positive, w, 0.0), starts, axis=1)
    neg = np.add.reduceat(np.where(positive, 0.0, w), starts, axis=1)
    return pos, neg


def _auc(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    total_pos, total_neg = pos.sum(axis=1), neg.sum(axis=1)
    # Negatives strictly below each group = all negatives − those at or above it.
    below = total_neg[:, None] - np.cumsum(neg, axis=1)
    wins = (pos * (below + 0.5 * neg)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        result: np.ndarray = wins / (total_pos * total_neg)
    result[(total_pos == 0) | (total_neg == 0)] = np.nan
    return result


def _average_precision(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    tp, fp = np.cumsum(pos, axis=1), np.cumsum(neg, axis=1)
    total_pos = pos.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        gained = pos / total_pos[:, None]
        result: np.ndarray = (gained * precision).sum(axis=1)
    result[total_pos == 0] = np.nan
    return result


def _clean(scores: object, labels: object) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype="float64")
    y = np.asarray(labels, dtype="float64")
    if s.shape != y.shape:
        raise ValueError(f"scores and labels differ in length: {s.size} vs {y.size}")
    keep = np.isfinite(s) & np.isfinite(y)
    return s[keep], y[keep] > 0


def roc_auc(scores: object, labels: object) -> float:
    """ROC AUC of `scores` for binary `labels` (rows with a NaN are dropped; ties count ½).

    Args:
        scores: higher = more likely positive.
        labels: 1/True = positive, 0/False = negative.

    Returns:
        The AUC in [0, 1], NaN when either class is empty.
    """
    s, y = _clean(scores, labels)
    pos, neg = _grouped(s, y, np.ones((1, s.size)))
    return float(_auc(pos, neg)[0])


def average_precision(scores: object, labels: object) -> float:
    """Average precision (area under the precision–recall curve, one step per distinct score).

    Args:
        scores: higher = more likely positive.
        labels: 1/True = positive.

    Returns:
        AP in [0, 1] (the prevalence for a constant score), NaN without positives.
    """
    s, y = _clean(scores, labels)
    pos, neg = _grouped(s, y, np.ones((1, s.size)))
    return float(_average_precision(pos, neg)[0])


def bootstrap(
    scores: object, labels: object, *, replicates: int = 1000, seed: int = 12
) -> tuple[Estimate, Estimate]:
    """AUC and AP with percentile 95 % intervals from a bootstrap stratified by class.

    Positives and negatives are resampled separately (with replacement, class sizes kept), so
    every replicate has both classes. Deterministic for a given `seed`.

    Args:
        scores: higher = more likely positive.
        labels: binary labels.
        replicates: number of bootstrap replicates.
        seed: random seed.

    Returns:
        (AUC, AP) estimates: the point value on the data, the 2.5 and 97.5 percentiles.
    """
    s, y = _clean(scores, labels)
    point_pos, point_neg = _grouped(s, y, np.ones((1, s.size)))
    auc = float(_auc(point_pos, point_neg)[0])
    ap = float(_average_precision(point_pos, point_neg)[0])
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0 or replicates < 1:
        return Estimate(auc, np.nan, np.nan), Estimate(ap, np.nan, np.nan)
    rng = np.random.default_rng(seed)
    weights = np.zeros((replicates, s.size))
    positives, negatives = np.flatnonzero(y), np.flatnonzero(~y)
    weights[:, positives] = rng.multinomial(n_pos, np.full(n_pos, 1.0 / n_pos), size=replicates)
    weights[:, negatives] = rng.multinomial(n_neg, np.full(n_neg, 1.0 / n_neg), size=replicates)
    pos, neg = _grouped(s, y, weights)
    aucs, aps = _auc(pos, neg), _average_precision(pos, neg)
    return (
        Estimate(auc, *np.nanpercentile(aucs, [2.5, 97.5]).tolist()),
        Estimate(ap, *np.nanpercentile(aps, [2.5, 97.5]).tolist()),
    )
