"""How the indicator search on the train years is shown: a table of its steps and the lines that
say where it stopped and whether the configuration adopted it (VALIDATION.md, the CLI and the
Validation page all render these)."""

from __future__ import annotations

import pandas as pd

from indicators.validation.backtest import BacktestResult
from indicators.validation.indicator_search import INDICATOR_WEIGHT_GRID


def indicator_search_table(result: BacktestResult) -> pd.DataFrame:
    """The indicator search, one row per step (empty when not run)."""
    calibration = result.calibration
    if calibration is None or calibration.indicators is None:
        return pd.DataFrame()
    rows = [
        {
            "step": step["step"],
            "change": step["change"] or "design weights and transforms (start)",
            **{key: value for key, value in step.items() if key not in ("step", "change")},
        }
        for step in calibration.indicators.steps
    ]
    return pd.DataFrame(rows).rename(columns={"mean": "mean train AUC"})


def indicator_search_method() -> str:
    """One sentence on how the search moves (the grid it tries)."""
    grid = ", ".join(f"{weight:g}" for weight in INDICATOR_WEIGHT_GRID)
    return (
        "Then the structural indicators' own weights and transforms, under the chosen aggregation "
        "and pillar weights: a coordinate search from their design values; each step is the one "
        f"change of one indicator (its weight within its pillar to {grid}, or its goalposts "
        "switched between the raw value and log1p of it) that raised the mean train AUC most."
    )


def indicator_lines(result: BacktestResult) -> list[str]:
    """Where the indicator search stopped and whether the configuration adopted it."""
    calibration = result.calibration
    if calibration is None or calibration.indicators is None:
        return []
    search = calibration.indicators
    changed = search.changed()
    stopped = "; ".join(f"{item} {change}" for item, change in sorted(changed.items()))
    lines = [
        f"Stopped at: {stopped or 'the design values (no change raised the mean enough)'} "
        f"(under {search.aggregation}).",
    ]
    unadopted = search.changed(search.current)
    if unadopted:
        differing = "; ".join(f"{item} {change}" for item, change in sorted(unadopted.items()))
        lines.append(
            "**The train years now choose other indicator settings than the configured ones** "
            f"(configured → chosen: {differing}): their report-year figures are the \"V chosen\" "
            "rows above; adopting them is a methodology change (a new version)."
        )
    else:
        lines.append(
            "Configured (`[[indicators]]` `weight`, `[indicators.normalisation]` `log`): the "
            "settings the search stopped at."
        )
    return lines
