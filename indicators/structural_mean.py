"""The structural aggregation: a weighted power mean of floored pillar scores (pure).

`M_p = (Σ w·max(s, floor)^p / Σ w)^(1/p)`; p = 0 is the weighted geometric mean
`exp(Σ w·ln max(s, floor) / Σ w)`, p = 1 the arithmetic mean, p = ∞ the largest pillar. The floor
applies before aggregating: it keeps the logarithm (p = 0) and negative powers defined when a pillar
scores 0, and it bounds how far one near-zero pillar (no resource rents) can pull V down however
bad the others are. Scoring (`indicators.scoring`) and the backtest's calibration
(`indicators.validation.calibration`) both aggregate through this one function.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def power_mean(
    score: np.ndarray,
    weight: np.ndarray,
    keys: Sequence[np.ndarray],
    *,
    power: float,
    floor: float,
) -> pd.Series:
    """The weighted power mean of floored scores per group, clipped to 0–10.

    Args:
        score: pillar scores (0–10, no NaN: leave missing pillars out).
        weight: pillar weights (> 0), aligned with `score`.
        keys: group labels (e.g. date and country arrays), aligned with `score`.
        power: the exponent p (0: geometric; `np.inf`: maximum; p ≤ 0 needs `floor` > 0).
        floor: each score enters as `max(score, floor)`.

    Returns:
        One value per group, indexed by the group keys.
    """
    floored = np.maximum(np.asarray(score, dtype="float64"), floor)
    weights = np.asarray(weight, dtype="float64")
    key_list = list(keys)
    if np.isinf(power):
        return pd.Series(floored).groupby(key_list).max().clip(0.0, 10.0)
    terms = weights * np.log(floored) if power == 0 else weights * floored**power
    sums = pd.DataFrame({"t": terms, "w": weights}).groupby(key_list).sum()
    mean = sums["t"] / sums["w"]
    value = np.exp(mean) if power == 0 else mean ** (1.0 / power)
    return pd.Series(value, index=sums.index).clip(0.0, 10.0)
