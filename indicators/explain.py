"""Explanations: what moved a country's composite between two scored panels."""

from __future__ import annotations

import numpy as np
import pandas as pd

from indicators.scoring import PanelScore

EXPLAIN_COLUMNS: tuple[str, ...] = (
    "indicator",
    "pillar",
    "contribution_before",
    "contribution_after",
    "delta",
    "value_before",
    "value_after",
)


def explain_change(before: PanelScore, after: PanelScore, country: str) -> pd.DataFrame:
    """Per-indicator change of the contribution to `country`'s composite, largest |delta| first.

    Contributions sum to the composite, so the deltas sum to the change of the composite (a missing
    contribution counts as 0 in the delta; its value columns stay NaN).

    Args:
        before: the earlier panel (e.g. yesterday's refresh).
        after: the later panel.
        country: ISO3 code.

    Returns:
        Columns `EXPLAIN_COLUMNS`, one row per indicator scored in either panel, sorted by |delta|
        descending (ties by indicator id).
    """
    columns = ["indicator", "pillar", "contribution", "value"]
    old = before.contributions.loc[before.contributions["country"] == country, columns]
    new = after.contributions.loc[after.contributions["country"] == country, columns]
    merged = old.merge(new, on="indicator", how="outer", suffixes=("_before", "_after"))
    merged["pillar"] = merged["pillar_after"].fillna(merged["pillar_before"])
    merged["delta"] = merged["contribution_after"].fillna(0.0) - merged[
        "contribution_before"
    ].fillna(0.0)
    merged["_order"] = -np.abs(merged["delta"].to_numpy(dtype="float64"))
    merged = merged.sort_values(["_order", "indicator"], kind="mergesort")
    return merged[list(EXPLAIN_COLUMNS)].reset_index(drop=True)
