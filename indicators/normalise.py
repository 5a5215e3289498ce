"""Normalisation: raw indicator values → 0–10 risk scores (10 = riskiest), vectorised.

* `goalposts` (INFORM): cap the value at the goalposts `lower`/`upper` (INFORM's outlier
  treatment), optionally `log1p` (for skewed counts/rates), min–max rescale to 0–10, and invert when
  lower values are riskier.
* `zscore`: the value is a z-score against the country's own trailing history (a derived `spike`, or
  a base series standardised by `derived.standardise_zscore_indicators`); z ≤ 0 → 0, z = `z_at_10`
  → 10, linear between, capped at 10. Lower-is-riskier indicators use −z.
* `step`: a % step change; 0 % (or a cut) → 0, `step_at_10` % → 10, linear between, capped.

NaN in gives NaN out: a missing value is never a silent zero. Context indicators are not scored
and always give NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from indicators.catalogue import Catalogue
from indicators.tables import indicator_table


def goalposts_score(
    value: np.ndarray,
    lower: np.ndarray | float,
    upper: np.ndarray | float,
    log: np.ndarray | bool,
    higher_is_riskier: np.ndarray | bool,
) -> np.ndarray:
    """The goalposts risk score (0–10) of raw values; NaN in gives NaN out.

    The backtest's indicator search (`indicators.validation.indicator_search`) rescales raw
    values through this same function when it tries another transform.
    """
    value = np.asarray(value, dtype="float64")
    score = _goalposts(
        value,
        np.broadcast_to(np.asarray(lower, dtype="float64"), value.shape),
        np.broadcast_to(np.asarray(upper, dtype="float64"), value.shape),
        np.broadcast_to(np.asarray(log, dtype=bool), value.shape),
    )
    result: np.ndarray = np.where(higher_is_riskier, score, 10.0 - score)
    result[np.isnan(value)] = np.nan
    return result


def _goalposts(
    value: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    log: np.ndarray,
) -> np.ndarray:
    capped = np.clip(value, np.minimum(lower, upper), np.maximum(lower, upper))
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(log, np.log1p(lower), lower)
        high = np.where(log, np.log1p(upper), upper)
        scaled = np.where(log, np.log1p(capped), capped)
        share = (scaled - low) / (high - low)
    result: np.ndarray = np.clip(share, 0.0, 1.0) * 10.0
    return result


def normalise(values: pd.DataFrame, catalogue: Catalogue) -> pd.Series:
    """Map each row's raw value to a 0–10 risk score according to its indicator's normalisation.

    Args:
        values: a frame with at least `indicator` and `value` columns (any index).
        catalogue: supplies each indicator's method, parameters and direction.

    Returns:
        A float Series aligned with `values.index`, in [0, 10] or NaN (missing value, context
        indicator).

    Raises:
        KeyError: an indicator is not in the catalogue.
        ValueError: a scored goalposts indicator lacks `lower`/`upper`, or they are equal.
    """
    table = indicator_table(catalogue)
    indicators = values["indicator"].astype(str)
    unknown = sorted(set(indicators.unique()) - set(table.index))
    if unknown:
        raise KeyError(f"indicators not in the catalogue: {', '.join(unknown)}")
    params = table.reindex(indicators.to_numpy())
    value = pd.to_numeric(values["value"], errors="coerce").to_numpy(dtype="float64")
    method = params["method"].to_numpy()
    scored = params["kind"].isin(["structural", "trigger"]).to_numpy()
    riskier_high = params["higher_is_riskier"].to_numpy(dtype=bool)

    lower = params["lower"].to_numpy(dtype="float64")
    upper = params["upper"].to_numpy(dtype="float64")
    is_goalposts = (method == "goalposts") & scored
    bad = is_goalposts & (np.isnan(lower) | np.isnan(upper) | (lower == upper))
    if bad.any():
        names = sorted(set(indicators.to_numpy()[bad]))
        raise ValueError(f"goalposts need distinct lower and upper bounds: {', '.join(names)}")

    out = np.full(value.shape, np.nan)
    if is_goalposts.any():
        out[is_goalposts] = goalposts_score(
            value[is_goalposts],
            lower[is_goalposts],
            upper[is_goalposts],
            params["log"].to_numpy(dtype=bool)[is_goalposts],
            riskier_high[is_goalposts],
        )

    signed = np.where(riskier_high, value, -value)
    is_zscore = (method == "zscore") & scored
    if is_zscore.any():
        z_at_10 = params["z_at_10"].to_numpy(dtype="float64")[is_zscore]
        out[is_zscore] = np.clip(signed[is_zscore] / z_at_10 * 10.0, 0.0, 10.0)
    is_step = (method == "step") & scored
    if is_step.any():
        step_at_10 = params["step_at_10"].to_numpy(dtype="float64")[is_step]
        out[is_step] = np.clip(signed[is_step] / step_at_10 * 10.0, 0.0, 10.0)

    out[np.isnan(value)] = np.nan
    return pd.Series(out, index=values.index, name="normalised", dtype="float64")
