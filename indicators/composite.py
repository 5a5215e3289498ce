"""Bands and the trigger × vulnerability formula of the composite (`indicators.scoring`, step 6)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from indicators.catalogue import Catalogue

NO_SCORE_BAND = "no score"
NO_SCORE_COLOUR = "#bdbdbd"


def assign_bands(composite: pd.Series, catalogue: Catalogue) -> tuple[pd.Series, pd.Series]:
    """Band name and colour for each composite (NaN → "no score").

    Args:
        composite: 0–10 scores.
        catalogue: the bands.

    Returns:
        (band names, band colours) aligned with `composite`.
    """
    bands = sorted(catalogue.bands, key=lambda band: band.lower)
    lowers = np.array([band.lower for band in bands], dtype="float64")
    names = np.asarray([band.name for band in bands], dtype=object)
    colours = np.asarray([band.colour for band in bands], dtype=object)
    values = composite.to_numpy(dtype="float64")
    position = np.clip(np.searchsorted(lowers, values, side="right") - 1, 0, len(lowers) - 1)
    missing = np.isnan(values)
    band = np.where(missing, NO_SCORE_BAND, names[position])
    colour = np.where(missing, NO_SCORE_COLOUR, colours[position])
    return (
        pd.Series(band, index=composite.index, name="band", dtype="object"),
        pd.Series(colour, index=composite.index, name="band_colour", dtype="object"),
    )


def combine(
    vulnerability: np.ndarray | pd.Series,
    trigger: np.ndarray | pd.Series,
    *,
    amplification: float,
    pivot: float,
) -> np.ndarray:
    """Composite = V + (10 − V) · min(1, amplification · (T/10) · (V/pivot)), in [0, 10].

    Equivalent to min(10, V + amplification · T · (V/pivot) · (10 − V)/10).

    Args:
        vulnerability: structural vulnerability V in [0, 10].
        trigger: trigger intensity T in [0, 10] (NaN counts as no trigger).
        amplification: `model.trigger_amplification` (≥ 0).
        pivot: `model.vulnerability_pivot` (> 0).

    Returns:
        The composite (NaN where V is NaN).
    """
    v = np.clip(np.asarray(vulnerability, dtype="float64"), 0.0, 10.0)
    t = np.clip(np.nan_to_num(np.asarray(trigger, dtype="float64"), nan=0.0), 0.0, 10.0)
    share = np.minimum(1.0, amplification * (t / 10.0) * (v / pivot))
    result: np.ndarray = np.clip(v + (10.0 - v) * share, 0.0, 10.0)
    return result
