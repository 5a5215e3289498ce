"""Which announced price change makes each scheduled shock, and that announcement in words.

The store keeps one `announced_price_change` value per country and effective date, but an analyst
may record several products for one day (LPG +100 %, diesel +20 %). The value scored is the
largest change; of equal changes, the earliest announcement (it was known first). This module
holds that rule once: the policy calendar derives the stored rows with it
(`fetchers.policy_calendar.shock_observations`), and the trigger tile, `flashpoint score` and
the announcements view use it to name the product behind a scored row — the stored announcement
whose change is the row's value — so the viewer reads "LPG +100 % announced …", not a bare %.
"""

from __future__ import annotations

import math

import pandas as pd

ANNOUNCED_SHOCK_INDICATOR = "announced_price_change"
# Shown when an announcement was stored before products were recorded (schema v3 and older).
PRODUCT_NOT_RECORDED = "product not recorded"


def scored_announcements(announcements: pd.DataFrame) -> pd.DataFrame:
    """The announcement that makes each (country, effective date)'s shock.

    Args:
        announcements: at least country, announced, effective and expected_change_pct (any other
            column, e.g. product, is kept).

    Returns:
        One row per (country, effective date), the largest expected change and of equal changes
        the earliest announcement; the input's index is kept, so callers can mark which stored
        rows count.
    """
    if announcements.empty:
        return announcements.copy()
    order = announcements.assign(
        _effective=pd.to_datetime(announcements["effective"]).dt.normalize(),
        _announced=pd.to_datetime(announcements["announced"]),
        _change=pd.to_numeric(announcements["expected_change_pct"], errors="coerce"),
    ).sort_values(
        ["country", "_effective", "_change", "_announced"],
        ascending=[True, True, True, False],
        kind="mergesort",
    )
    kept = order.drop_duplicates(["country", "_effective"], keep="last")
    return kept.drop(columns=["_effective", "_announced", "_change"])


def announcement_behind_shock(
    announcements: pd.DataFrame, country: str, period: object, change: float
) -> pd.Series | None:
    """The stored announcement whose change is the scored shock of `country` on `period`.

    Args:
        announcements: stored announcements (`store.read_announcements`: country, product,
            announced, effective, expected_change_pct, …), any countries.
        country: ISO3 code of the scored row.
        period: the scored row's period (the effective date).
        change: the scored row's value (the expected change in %).

    Returns:
        The announcement's row, or None when no stored announcement made that value that day
        (then the row is not named rather than named wrongly).
    """
    if announcements.empty or not math.isfinite(change):
        return None
    day = pd.to_datetime(pd.Series([period]), errors="coerce").dt.normalize().iloc[0]
    if pd.isna(day):
        return None
    candidates = announcements[
        (announcements["country"] == country)
        & (pd.to_datetime(announcements["effective"]).dt.normalize() == day)
    ]
    scored = scored_announcements(candidates)
    if scored.empty:
        return None
    best: pd.Series = scored.iloc[0]
    stored = float(best["expected_change_pct"])
    return best if abs(stored - change) <= 1e-9 * max(1.0, abs(change)) else None


def product_of(announcement: pd.Series) -> str:
    """The announcement's product, or `PRODUCT_NOT_RECORDED` when it was never stored."""
    product = announcement.get("product")
    if product is None or (isinstance(product, float) and math.isnan(product)):
        return PRODUCT_NOT_RECORDED
    text = " ".join(str(product).split())
    return text or PRODUCT_NOT_RECORDED


def describe_announcement(announcement: pd.Series) -> str:
    """The scored announcement in words: "LPG +100 % announced 1 Dec 2021, effective 1 Jan 2022".

    Args:
        announcement: a row from `announcement_behind_shock` (or any stored announcement).

    Returns:
        Product, expected change, announcement and effective dates (plain text: the caller
        escapes it for wherever it is shown).
    """
    change = float(announcement["expected_change_pct"])
    announced = pd.Timestamp(announcement["announced"])
    effective = pd.Timestamp(announcement["effective"])
    return (
        f"{product_of(announcement)} {change:+.0f} % announced {announced.day} "
        f"{announced:%b %Y}, effective {effective.day} {effective:%b %Y}"
    )
