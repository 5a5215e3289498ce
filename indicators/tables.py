"""The catalogue as small DataFrames: scoring joins parameters onto the panel instead of looping."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from indicators.catalogue import Catalogue

# One row per indicator; the columns scoring joins onto observations.
INDICATOR_TABLE_COLUMNS: tuple[str, ...] = (
    "pillar",
    "kind",
    "pillar_weight",
    "pillar_aggregation",
    "weight",
    "higher_is_riskier",
    "frequency",
    "publication_lag_days",
    "max_age_days",
    "method",
    "lower",
    "upper",
    "log",
    "window",
    "z_at_10",
    "step_at_10",
    "derivation",
    "enabled",
    "unit",
    "release_calendar",
)


@functools.lru_cache(maxsize=32)
def indicator_table(catalogue: Catalogue) -> pd.DataFrame:
    """Every catalogue indicator as a row (index: indicator id) with its pillar's kind and weight.

    Args:
        catalogue: the catalogue.

    Returns:
        A DataFrame indexed by indicator id with the columns of `INDICATOR_TABLE_COLUMNS`. An
        indicator whose pillar is not in the catalogue counts as context (shown, never scored).
        The frame is cached per catalogue: callers must not modify it.
    """
    pillars = {pillar.id: pillar for pillar in catalogue.pillars}
    rows = []
    for item in catalogue.indicators:
        pillar = pillars.get(item.pillar)
        norm = item.normalisation
        rows.append(
            {
                "indicator": item.id,
                "pillar": item.pillar,
                "kind": pillar.kind if pillar is not None else "context",
                "pillar_weight": pillar.weight if pillar is not None else 0.0,
                "pillar_aggregation": pillar.aggregation if pillar is not None else "mean",
                "weight": float(item.weight),
                "higher_is_riskier": bool(item.higher_is_riskier),
                "frequency": item.frequency,
                "publication_lag_days": int(item.publication_lag_days),
                "max_age_days": int(item.max_age_days),
                "method": norm.method,
                "lower": np.nan if norm.lower is None else float(norm.lower),
                "upper": np.nan if norm.upper is None else float(norm.upper),
                "log": bool(norm.log),
                "window": int(norm.window),
                "z_at_10": float(norm.z_at_10),
                "step_at_10": float(norm.step_at_10),
                "derivation": item.derivation or "",
                "enabled": bool(item.enabled),
                "unit": item.unit,
                "release_calendar": item.release_calendar,
            }
        )
    if not rows:
        return pd.DataFrame(
            columns=list(INDICATOR_TABLE_COLUMNS), index=pd.Index([], name="indicator")
        )
    return pd.DataFrame(rows).set_index("indicator")


def scored_indicator_ids(catalogue: Catalogue) -> list[str]:
    """Ids of enabled indicators in structural or trigger pillars (the inputs a composite needs)."""
    table = indicator_table(catalogue)
    mask = table["enabled"] & table["kind"].isin(["structural", "trigger"])
    return [str(name) for name in table.index[mask]]
