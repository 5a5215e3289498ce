"""The trigger panel's fuel prices: which series it draws, the fuel-shock rule's threshold, the
price frame with its steps, and where the chart starts. Pure (frames and settings in, frames out);
`dashboard.data.load_fuel_prices` is its cached loader."""

from __future__ import annotations

import pandas as pd

from flashpoint.config import AlertRule, Settings
from indicators.catalogue import Catalogue
from indicators.derived import price_in_force_rows
from indicators.observations import WORLD

# The generic fuel catalogue (any country; each row carries its own unit, e.g. KZT/litre, BDT/kg).
FUEL_PRICE_INDICATORS: tuple[tuple[str, str], ...] = (
    ("fuel_lpg_retail", "LPG"),
    ("fuel_gasoline_retail", "Gasoline"),
    ("fuel_diesel_retail", "Diesel"),
    ("fuel_kerosene_retail", "Kerosene"),
)
WORLD_PRICE_INDICATORS: tuple[tuple[str, str], ...] = (("brent_price", "Brent crude"),)
FUEL_SHOCK_INDICATOR = "fuel_price_step"
DEFAULT_SHOCK_THRESHOLD = 25.0


def fuel_shock_rule(settings: Settings) -> AlertRule | None:
    """The enabled rule that watches the fuel-price step (the trigger), if any."""
    for rule in settings.alerts.rules:
        if rule.enabled and rule.target == f"indicator:{FUEL_SHOCK_INDICATOR}":
            return rule
    return None


def fuel_shock_threshold(settings: Settings) -> float:
    """The fuel-shock rule's threshold in %, or the default 25 % when no rule sets one."""
    rule = fuel_shock_rule(settings)
    if rule is not None and rule.threshold is not None:
        return float(rule.threshold)
    return DEFAULT_SHOCK_THRESHOLD


def fuel_price_frame(
    observations: pd.DataFrame,
    country: str,
    window_days: int,
    *,
    catalogue: Catalogue | None = None,
) -> pd.DataFrame:
    """The trigger panel's series for `country`: its domestic fuel prices and the world crude price.

    Args:
        observations: canonical rows of `country` and `WLD`.
        country: ISO3 code.
        window_days: a change counts as a *step* only between observations at most this many
            days apart (the fuel-price-step indicator's window); across longer gaps `step_pct`
            is NaN, because a move spread over years is not a shock.
        catalogue: when given, a change between two rows of a price-in-force source (the
            catalogue's `in_force_sources`: official revisions) is a step whatever the gap, as
            the fuel-price-step indicator counts it.

    Returns:
        Columns `indicator, label, period, value, unit, axis ("domestic"/"world"), step_pct,
        gap_days`, one row per observation, series in catalogue order.
    """
    frames: list[pd.DataFrame] = []
    for indicator_id, label in FUEL_PRICE_INDICATORS + WORLD_PRICE_INDICATORS:
        is_world = (indicator_id, label) in WORLD_PRICE_INDICATORS
        owner = WORLD if is_world else country
        rows = observations[
            (observations["indicator"] == indicator_id) & (observations["country"] == owner)
        ]
        if rows.empty:
            continue
        # One value per period: the newest vintage wins.
        rows = rows.sort_values(["period", "vintage"]).drop_duplicates("period", keep="last")
        gap = rows["period"].diff().dt.days
        step = rows["value"].pct_change() * 100
        datable = gap <= window_days
        if catalogue is not None:
            in_force = price_in_force_rows(rows, catalogue)
            datable |= in_force & in_force.shift(1, fill_value=False)
        # A change of vintage is a series break (WFP's actual → aggregate markets): no step
        # is drawn across it.
        same_series = rows["vintage"].eq(rows["vintage"].shift(1))
        step = step.where(same_series)
        frames.append(
            pd.DataFrame(
                {
                    "indicator": indicator_id,
                    "label": label,
                    "period": rows["period"].to_numpy(),
                    "value": rows["value"].to_numpy(dtype="float64"),
                    "unit": rows["unit"].to_numpy(),
                    "axis": "world" if is_world else "domestic",
                    "step_pct": step.where(datable).to_numpy(dtype="float64"),
                    "gap_days": gap.to_numpy(dtype="float64"),
                }
            )
        )
    if not frames:
        return pd.DataFrame(
            columns=[
                "indicator",
                "label",
                "period",
                "value",
                "unit",
                "axis",
                "step_pct",
                "gap_days",
            ]
        )
    return pd.concat(frames, ignore_index=True)


def trigger_window_start(
    prices: pd.DataFrame, today: pd.Timestamp, years: int | None
) -> pd.Timestamp | None:
    """Where the trigger chart starts: `years` back from today, moved to shortly before the first
    domestic price inside that window (sparse administered prices are not squeezed against
    years of daily Brent); the first domestic price for "all" (`years` None)."""
    domestic = prices[prices["axis"] == "domestic"]["period"]
    if years is None:
        return pd.Timestamp(domestic.min()) if not domestic.empty else None
    start = today - pd.DateOffset(years=years)
    if domestic.empty:
        return pd.Timestamp(start)
    inside = domestic[domestic >= start]
    first = inside.min() if not inside.empty else domestic.max()
    return pd.Timestamp(first) - pd.Timedelta(days=60)
