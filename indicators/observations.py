"""The canonical long format every observation travels in, from fetcher to store to scoring."""

from __future__ import annotations

import pandas as pd

OBSERVATION_COLUMNS: tuple[str, ...] = (
    "indicator",
    "country",
    "period",
    "value",
    "unit",
    "source",
    "vintage",
    "is_forecast",
    "published_at",
    "fetched_at",
)

# The store's primary key: one value per series (indicator, country, vintage) and period.
OBSERVATION_KEY: tuple[str, ...] = ("indicator", "country", "period", "vintage")

# Global series (Brent, propane, Henry Hub) are stored under this pseudo-country.
WORLD = "WLD"


def empty_observations() -> pd.DataFrame:
    """An empty frame with the canonical columns and dtypes."""
    return conform_observations(pd.DataFrame({name: [] for name in OBSERVATION_COLUMNS}))


def conform_observations(frame: pd.DataFrame) -> pd.DataFrame:
    """Return `frame` with exactly the canonical columns, in order, with canonical dtypes.

    Missing optional columns get their defaults (vintage "", is_forecast False, published_at NaT,
    fetched_at NaT); rows whose value is not a finite number are dropped, because a missing value
    is never stored as a number.

    Args:
        frame: observations with at least indicator, country, period, value, unit and source.

    Returns:
        A new frame in the canonical format.

    Raises:
        ValueError: when a required column is missing.
    """
    required = ("indicator", "country", "period", "value", "unit", "source")
    missing = [name for name in required if name not in frame.columns]
    if missing:
        raise ValueError(f"observations lack required columns: {', '.join(missing)}")
    out = frame.copy()
    if "vintage" not in out.columns:
        out["vintage"] = ""
    if "is_forecast" not in out.columns:
        out["is_forecast"] = False
    for name in ("published_at", "fetched_at"):
        if name not in out.columns:
            out[name] = pd.NaT
    out["value"] = pd.to_numeric(out["value"], errors="coerce").astype("float64")
    out = out[out["value"].notna() & ~out["value"].isin([float("inf"), float("-inf")])]
    for name in ("indicator", "country", "unit", "source", "vintage"):
        out[name] = out[name].fillna("").astype(str)
    out["period"] = pd.to_datetime(out["period"]).astype("datetime64[ns]")
    for name in ("published_at", "fetched_at"):
        stamps = pd.to_datetime(out[name], utc=True).dt.tz_localize(None)
        out[name] = stamps.astype("datetime64[ns]")
    out["is_forecast"] = out["is_forecast"].fillna(False).astype(bool)
    return out.loc[:, list(OBSERVATION_COLUMNS)].reset_index(drop=True)
