"""The trigger's own driver: the trigger input that sets a country's trigger level, in words.

The composite's top driver is often a structural input (fuel exports, resource rents); the
trigger tile must instead name what drives the *trigger* ("LPG price step +98 %"). The driver is
the trigger input with the largest contribution (the trigger's lift of the composite goes to the
pillar that sets the trigger, split within it by weight × score); when the lift is nil (the
trigger at 0, or no vulnerability to amplify) the input with the largest weight × score still
says which signal is the strongest. An input at 0 drives nothing: no driver is named then.
"""

from __future__ import annotations

import math

import pandas as pd

from indicators.announced_shocks import ANNOUNCED_SHOCK_INDICATOR, describe_announcement

# The derived step of domestic fuel prices: the tile names which fuel stepped.
FUEL_STEP_INDICATOR = "fuel_price_step"


def trigger_driver(contributions: pd.DataFrame, country: str) -> pd.Series | None:
    """The trigger input that drives `country`'s trigger, or None when none is raised.

    Args:
        contributions: a `PanelScore.contributions` frame (`CONTRIBUTION_COLUMNS`).
        country: ISO3 code.

    Returns:
        The driver's contribution row (with `indicator`, `pillar`, `value`, `unit`, `period`,
        `broadcast_from`), or None when no fresh trigger input has a score above 0.
    """
    rows = contributions[
        (contributions["country"] == country)
        & (contributions["kind"] == "trigger")
        & (contributions["status"] == "ok")
    ]
    if rows.empty:
        return None
    scored = pd.to_numeric(rows["scored"], errors="coerce").fillna(0.0)
    weight = pd.to_numeric(rows["weight"], errors="coerce").fillna(0.0)
    ranked = rows.assign(
        _contribution=pd.to_numeric(rows["contribution"], errors="coerce").fillna(0.0),
        _strength=scored * weight,
    )
    ranked = ranked[ranked["_strength"] > 0]
    if ranked.empty:
        return None
    ranked = ranked.sort_values(
        ["_contribution", "_strength", "indicator"],
        ascending=[False, False, True],
        kind="mergesort",
    )
    best: pd.Series = ranked.iloc[0]
    return best


def fuel_behind_step(prices: pd.DataFrame, period: object, step: float) -> str | None:
    """Which domestic fuel made the fuel-price step of `step` % dated `period`.

    Args:
        prices: columns `label`, `period`, `axis` ("domestic"/"world"), `step_pct` (the trigger
            panel's series, `dashboard.data.fuel_price_frame`).
        period: the step's date (the derived indicator's period).
        step: the step in %.

    Returns:
        The fuel's label ("LPG"), or None when no domestic series stepped by that much that day.
    """
    if prices.empty or not math.isfinite(step):
        return None
    day = pd.to_datetime(pd.Series([period]), errors="coerce").dt.normalize().iloc[0]
    if pd.isna(day):
        return None
    candidates = prices[
        (prices["axis"] == "domestic") & (pd.to_datetime(prices["period"]).dt.normalize() == day)
    ]
    steps = pd.to_numeric(candidates["step_pct"], errors="coerce")
    close = candidates[(steps - step).abs() <= max(0.05, abs(step) * 1e-3)]
    return str(close["label"].iloc[0]) if not close.empty else None


def describe_driver(
    driver: pd.Series,
    name: str,
    *,
    fuel: str | None = None,
    announcement: pd.Series | None = None,
) -> str:
    """The driver in words: "LPG price step +98 %", "Protest event spike (daily) z +2.3".

    Args:
        driver: a row from `trigger_driver`.
        name: the indicator's display name.
        fuel: for the fuel-price step, the fuel that stepped (`fuel_behind_step`).
        announcement: for an announced price change, the stored announcement whose change is
            scored (`indicators.announced_shocks.announcement_behind_shock`).

    Returns:
        Name (the fuel's "… price step" when known) and the latest value with its unit; world
        inputs say "(world)". A scheduled shock with its announcement reads "Announced price
        change: LPG +100 % announced 1 Dec 2021, effective 1 Jan 2022".
    """
    if announcement is not None and driver["indicator"] == ANNOUNCED_SHOCK_INDICATOR:
        return f"{name}: {describe_announcement(announcement)}"
    label = f"{fuel} price step" if fuel and driver["indicator"] == FUEL_STEP_INDICATOR else name
    value = pd.to_numeric(pd.Series([driver.get("value")]), errors="coerce").iloc[0]
    unit = str(driver.get("unit") or "")
    if pd.isna(value):
        shown = ""
    elif unit == "%":
        shown = f" {value:+.0f} %"
    elif unit == "z":
        shown = f" z {value:+.1f}"
    else:
        shown = f" {value:,.3g} {unit}".rstrip()
    world = " (world)" if str(driver.get("broadcast_from") or "") else ""
    return f"{label}{shown}{world}"
