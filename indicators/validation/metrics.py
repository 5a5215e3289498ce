"""Ranking metrics with ties handled exactly, and their stratified bootstrap (vectorised).

ROC AUC is the Mann–Whitney probability that a random positive scores above a random negative
(ties count one half). Average precision (AUPRC) is the step-wise area under the precision–recall
curve with one threshold per distinct score: AP = Σ (R_k − R_{k−1}) · P_k. Both are computed from
per-row weights, so a bootstrap replicate is just another weight vector (how often each row was
drawn): all replicates are evaluated in one matrix pass.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    # Unrounded: the results file is read back to render VALIDATION.md and the dashboard page,
    # and a rounded copy would be rounded twice on display (0.65352 → 0.6535 → "0.653").
    return None if not np.isfinite(number) else float(number)


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


def _draw_counts(rng: np.random.Generator, replicates: int, size: int) -> np.ndarray:
    """How often each of `size` rows is drawn in each replicate of `size` draws with replacement."""
    draws = rng.integers(0, size, size=(replicates, size))
    flat = (draws + (np.arange(replicates) * size)[:, None]).ravel()
    counts: np.ndarray = np.bincount(flat, minlength=replicates * size).reshape(replicates, size)
    return counts


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
    return bootstrap_paired({"score": scores}, labels, replicates=replicates, seed=seed)["score"]


def bootstrap_paired(
    predictors: Mapping[str, object],
    labels: object,
    *,
    replicates: int = 1000,
    seed: int = 12,
) -> dict[str, tuple[Estimate, Estimate]]:
    """`bootstrap` of several predictors on the same rows with the **same** resamples (paired).

    Rows where any predictor or the label is missing are dropped for all of them, so every
    predictor is scored on the same rows; sharing the resamples makes the intervals comparable.

    Args:
        predictors: name → scores (aligned with `labels`).
        labels: binary labels.
        replicates: number of bootstrap replicates.
        seed: random seed.

    Returns:
        name → (AUC, AP) estimates.
    """
    y_all = np.asarray(labels, dtype="float64")
    arrays = {name: np.asarray(values, dtype="float64") for name, values in predictors.items()}
    for name, values in arrays.items():
        if values.shape != y_all.shape:
            raise ValueError(f"{name}: scores and labels differ in length")
    keep = np.isfinite(y_all)
    for values in arrays.values():
        keep &= np.isfinite(values)
    y = y_all[keep] > 0
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    weights = None
    if n_pos > 0 and n_neg > 0 and replicates >= 1:
        rng = np.random.default_rng(seed)
        weights = np.zeros((replicates, y.size), dtype="float32")
        weights[:, np.flatnonzero(y)] = _draw_counts(rng, replicates, n_pos)
        weights[:, np.flatnonzero(~y)] = _draw_counts(rng, replicates, n_neg)
    out: dict[str, tuple[Estimate, Estimate]] = {}
    for name, values in arrays.items():
        s = values[keep]
        point_pos, point_neg = _grouped(s, y, np.ones((1, s.size)))
        auc = float(_auc(point_pos, point_neg)[0])
        ap = float(_average_precision(point_pos, point_neg)[0])
        if weights is None:
            out[name] = (Estimate(auc, np.nan, np.nan), Estimate(ap, np.nan, np.nan))
            continue
        pos, neg = _grouped(s, y, weights)
        aucs, aps = _auc(pos, neg), _average_precision(pos, neg)
        out[name] = (
            Estimate(auc, *np.nanpercentile(aucs, [2.5, 97.5]).tolist()),
            Estimate(ap, *np.nanpercentile(aps, [2.5, 97.5]).tolist()),
        )
    return out
