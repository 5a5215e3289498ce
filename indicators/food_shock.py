"""Food-price shock: a staple's price against its own seasonal trend, in standard deviations.

The idea is WFP's Alert for Price Spikes (ALPS): the gap between the observed price and its
long-term seasonally adjusted trend, in units of standard deviations, classed normal / stress /
alert / crisis (see docs/METHODOLOGY.md §3 for the sources and thresholds). Flashpoint's variant is
point in time: for each month, the trend is fitted on the series' *previous* observations only
(at most `window` of them, at least `MIN_HISTORY`), so a value never uses the future it is meant
to warn about:

    log p_j = a + b · (t_j − t) + Σ_m c_m · [month_j = m] + e_j      (j earlier than t)
    deviation_t = (log p_t − (a + c_month(t))) / sd(e)

Fitted by weighted normal equations for all months of a series at once (numpy, batched), one
pass per series. The `food_price_shock` indicator is the largest deviation across a country's
staples (`food_price_*` series) in each month.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from indicators.pointintime import PUBLISHED

# ALPS selection criterion: a series needs at least three years of data.
MIN_HISTORY: Final = 36
# Floor of the residual standard deviation (log units, ≈ 1 %): a perfectly smooth history cannot
# make a tiny move look like a crisis.
MIN_SD: Final = 0.01
# ALPS classes: lower bounds in standard deviations (normal below 0.25).
ALPS_CLASSES: Final[tuple[tuple[str, float], ...]] = (
    ("stress", 0.25),
    ("alert", 1.0),
    ("crisis", 2.0),
)

_KEYS = ["indicator", "country"]
_PARAMETERS = 13  # intercept, trend, 11 month dummies


def alps_class(deviation: pd.Series) -> pd.Series:
    """ALPS class of each deviation: "normal" (< 0.25), "stress", "alert", "crisis" (≥ 2).

    Args:
        deviation: deviations from the seasonal trend in standard deviations.

    Returns:
        The class names (NaN deviation → "no data").
    """
    values = deviation.to_numpy(dtype="float64")
    names = np.full(len(values), "normal", dtype=object)
    for name, lower in ALPS_CLASSES:
        names = np.where(values >= lower, name, names)
    names = np.where(np.isnan(values), "no data", names)
    return pd.Series(names, index=deviation.index, dtype="object")


def _design(months: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Rows [1, offset in years, dummies for months 2–12] (January is the base month)."""
    columns = [np.ones_like(offsets), offsets / 12.0]
    columns += [(months == month).astype("float64") for month in range(2, 13)]
    return np.stack(columns, axis=-1)


def series_deviation(periods: pd.Series, prices: pd.Series, window: int) -> np.ndarray:
    """Point-in-time deviation of one monthly price series from its seasonal trend, in SDs.

    Args:
        periods: the observation months (sorted ascending, unique).
        prices: the prices (> 0; others are ignored).
        window: how many earlier observations the trend is fitted on (at most).

    Returns:
        One deviation per observation; NaN where fewer than `MIN_HISTORY` earlier observations
        exist or the price is not positive.
    """
    stamps = pd.to_datetime(periods).reset_index(drop=True)
    raw = prices.to_numpy(dtype="float64")
    n = len(raw)
    result = np.full(n, np.nan)
    if n <= MIN_HISTORY:
        return result
    positive = raw > 0
    y = np.log(np.where(positive, raw, 1.0))
    month_index = (stamps.dt.year * 12 + stamps.dt.month - 1).to_numpy(dtype="float64")
    months = stamps.dt.month.to_numpy()
    targets = np.arange(MIN_HISTORY, n)
    # lag[i, k] = k + 1 observations before target i; invalid before the series start.
    lags = np.arange(1, window + 1)
    earlier = targets[:, None] - lags[None, :]
    valid = earlier >= 0
    earlier = np.where(valid, earlier, 0)
    valid &= positive[earlier]
    offsets = month_index[earlier] - month_index[targets][:, None]
    x = _design(months[earlier], offsets)
    w = valid.astype("float64")
    xtx = np.einsum("tk,tkp,tkq->tpq", w, x, x)
    xty = np.einsum("tk,tkp,tk->tp", w, x, y[earlier])
    beta = np.einsum("tpq,tq->tp", np.linalg.pinv(xtx), xty)
    fitted = np.einsum("tkp,tp->tk", x, beta)
    count = w.sum(axis=1)
    dof = np.maximum(count - _PARAMETERS, 1.0)
    sd = np.sqrt((w * (y[earlier] - fitted) ** 2).sum(axis=1) / dof)
    own = _design(months[targets], np.zeros(len(targets)))
    predicted = np.einsum("tp,tp->t", own, beta)
    deviation = (y[targets] - predicted) / np.maximum(sd, MIN_SD)
    enough = (count >= MIN_HISTORY) & positive[targets]
    result[targets] = np.where(enough, deviation, np.nan)
    return result


def food_price_deviation(inputs: pd.DataFrame, window: int) -> pd.DataFrame:
    """Deviation of every staple series from its own seasonal trend, the largest per month.

    Args:
        inputs: visible monthly price rows (`indicator`, `country`, `period`, `value`,
            `published`, `fetched_at`), any number of staples and countries, one vintage each.
        window: earlier observations the trend is fitted on (at most).

    Returns:
        Columns `country, period, value, published, fetched_at, indicator`: per (country, month)
        the largest deviation across the staples, `indicator` naming the staple that set it and
        `published` the publication of the newest input used.
    """
    columns = ["country", "period", "value", PUBLISHED, "fetched_at", "indicator"]
    frame = inputs.sort_values([*_KEYS, "period"], kind="mergesort")
    frame = frame.drop_duplicates([*_KEYS, "period"], keep="last")
    if frame.empty:
        return pd.DataFrame({name: pd.Series(dtype="object") for name in columns})
    groups = [frame["indicator"], frame["country"]]
    deviation = pd.Series(np.nan, index=frame.index)
    for _, rows in frame.groupby(groups, sort=False, observed=True):
        deviation.loc[rows.index] = series_deviation(rows["period"], rows["value"], window)
    published = frame[PUBLISHED].groupby(groups, sort=False, observed=True).cummax()
    result = pd.DataFrame(
        {
            "country": frame["country"].astype(str),
            "period": frame["period"],
            "value": deviation,
            PUBLISHED: published,
            "fetched_at": frame["fetched_at"],
            "indicator": frame["indicator"].astype(str),
        }
    )
    result = result[result["value"].notna()]
    best = result.sort_values(["country", "period", "value"], kind="mergesort")
    best = best.drop_duplicates(["country", "period"], keep="last")
    # A month's value is known only once every staple observed that month was published.
    newest = result.groupby(["country", "period"], sort=False)[PUBLISHED].max()
    best[PUBLISHED] = newest.reindex(pd.MultiIndex.from_frame(best[["country", "period"]])).values
    return best[columns].reset_index(drop=True)
