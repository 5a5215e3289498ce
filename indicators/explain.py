"""Explanations: what moved a country's composite between two scored panels."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd

from indicators.scoring import PanelScore, ScoreFrames

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


# "Change since": label → days back (the overview's and compare's recent change).
RECENT_CHANGES: tuple[tuple[str, int], ...] = (("yesterday", 1), ("last week", 7))
MOVER_COLUMNS: tuple[str, ...] = ("country", "since", "days", "change", "movers")
# A contribution that moved by less than this (composite points) did not move it.
MOVED_AT_LEAST = 0.005
TOP_MOVERS = 3


def recent_movers(frames: ScoreFrames, countries: Iterable[str], as_of: dt.date) -> pd.DataFrame:
    """How much each country's composite moved since each of `RECENT_CHANGES`, and the inputs
    that moved it most.

    Args:
        frames: replayed scores holding `as_of` and the `RECENT_CHANGES` days before it.
        countries: ISO3 codes.
        as_of: the day the change runs to.

    Returns:
        Columns `MOVER_COLUMNS`: one row per (country, since) with `days` back, `change` (NaN
        when either end has no score: unknown, never 0) and `movers`, a tuple of
        (indicator id, contribution change) pairs, largest first (at most `TOP_MOVERS`; empty
        when unknown or nothing moved).
    """
    wanted = list(countries)
    now = frames.at(as_of)
    rows: list[dict[str, object]] = []
    for label, days in RECENT_CHANGES:
        then = frames.at(as_of - dt.timedelta(days=days))
        for country in wanted:
            after = now.countries["composite"].get(country)
            before = then.countries["composite"].get(country)
            change = float("nan")
            movers: tuple[tuple[str, float], ...] = ()
            if after is not None and before is not None and pd.notna(after) and pd.notna(before):
                change = float(after) - float(before)
                explained = explain_change(then, now, country)
                moved = explained[explained["delta"].abs() >= MOVED_AT_LEAST].head(TOP_MOVERS)
                movers = tuple(
                    (str(indicator), float(delta))
                    for indicator, delta in zip(moved["indicator"], moved["delta"], strict=True)
                )
            rows.append(
                {
                    "country": country,
                    "since": label,
                    "days": days,
                    "change": change,
                    "movers": movers,
                }
            )
    return pd.DataFrame(rows, columns=list(MOVER_COLUMNS))
