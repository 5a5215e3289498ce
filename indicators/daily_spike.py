"""`daily_spike`: how far yesterday's event count is above the country's own trailing days (pure).

For each (indicator, country) series of daily counts, the count of day d is compared with the
counts of the `window` calendar days before it (d − window … d − 1; day d itself excluded):

    y = 2·√(count + 3/8)            (Anscombe's transform: a Poisson count gets variance ≈ 1)
    z = (y_d − mean(y over the window)) / max(sd(y over the window), DAILY_SPIKE_MIN_SD)

The transform matters for daily counts, which are small in most countries: on a log scale
with a tiny standard-deviation floor, three events after ninety empty days would be a z of ~14
(a false alarm from noise). With Anscombe's transform the floor of 1 is the Poisson noise of the
count itself, so 3 events after 90 empty days is z ≈ 2.4 and 10 events z ≈ 5.2, while a country
with hundreds of events a day is judged by its own (larger, over-dispersed) day-to-day spread.
At least `DAILY_SPIKE_MIN_DAYS` days must be in the window; days with no row (a missing export
file, a country GDELT does not cover) are absent from the window, never zeros.

Each result row carries the latest publication date of the rows it used, so it is visible (the
morning after the day, with the daily counts' one-day lag) only once its own count was.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from indicators.catalogue import Indicator
from indicators.pointintime import PUBLISHED

# A daily spike needs at least this many days of history in its trailing window.
DAILY_SPIKE_MIN_DAYS = 28
# Floor of the trailing standard deviation in Anscombe units: the Poisson noise of a count.
DAILY_SPIKE_MIN_SD = 1.0

_KEYS = ["indicator", "country"]


def anscombe(counts: pd.Series) -> pd.Series:
    """2·√(x + 3/8) of non-negative counts (negative values are treated as 0).

    Args:
        counts: event counts.

    Returns:
        The transformed values (same index).
    """
    shifted = counts.astype("float64").clip(lower=0.0) + 0.375
    return pd.Series(2.0 * np.sqrt(shifted.to_numpy()), index=counts.index, dtype="float64")


def daily_spike(inputs: pd.DataFrame, item: Indicator) -> pd.DataFrame:
    """z-score of each day's count against the series' previous `window` calendar days.

    Args:
        inputs: visible rows of the base daily count(s): `indicator`, `country`, `period`,
            `value`, `published`, `fetched_at` (one row per series and day).
        item: the derived indicator; `normalisation.window` is the window in days.

    Returns:
        Columns `country`, `period`, `value` (z), `published`, `fetched_at`; days without enough
        history are left out. Several bases: the largest z per country and day.
    """
    columns = ["country", "period", "value", PUBLISHED, "fetched_at"]
    if inputs.empty:
        return pd.DataFrame({name: pd.Series(dtype=_dtype(name)) for name in columns})
    frame = inputs.sort_values([*_KEYS, "period"], kind="mergesort").reset_index(drop=True)
    key = frame["indicator"].astype(str) + "|" + frame["country"].astype(str)
    work = pd.DataFrame(
        {"key": key.to_numpy(), "y": anscombe(frame["value"]).to_numpy()},
        index=pd.DatetimeIndex(frame["period"]),
    )
    rolling = work.groupby("key", sort=False)["y"].rolling(
        f"{int(item.normalisation.window)}D", closed="left", min_periods=1
    )
    mean = rolling.mean().to_numpy()
    sd = rolling.std().to_numpy()
    count = rolling.count().to_numpy()
    # groupby(sort=False).rolling keeps each group's rows together in first-seen order, which
    # is the frame's order: the frame is sorted by series, then day.
    spread = np.maximum(np.nan_to_num(sd, nan=0.0), DAILY_SPIKE_MIN_SD)
    with np.errstate(invalid="ignore"):
        z = (work["y"].to_numpy() - mean) / spread
    z[~(count >= DAILY_SPIKE_MIN_DAYS)] = np.nan
    published = frame[PUBLISHED].groupby([frame["indicator"], frame["country"]], sort=False)
    result = pd.DataFrame(
        {
            "country": frame["country"].astype(str),
            "period": frame["period"],
            "value": z,
            PUBLISHED: published.cummax(),
            "fetched_at": frame["fetched_at"],
        }
    )
    result = result[result["value"].notna()]
    grouped = result.groupby(["country", "period"], sort=True).agg(
        value=("value", "max"), published=(PUBLISHED, "max"), fetched_at=("fetched_at", "max")
    )
    return grouped.reset_index()[columns]


def _dtype(name: str) -> str:
    return "object" if name == "country" else ("float64" if name == "value" else "datetime64[ns]")
