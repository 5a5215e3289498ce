"""Pillars with `aggregation = "max"`: only their strongest available indicator enters (pure).

Such a pillar holds several views of one phenomenon at different time scales (the daily and the
monthly protest spike). Averaging them would let a quiet lagging view dilute a fresh shock, and
count one source twice; the strongest available view is the pillar. Missing indicators (no row,
NaN) never take part, so a country with no data in any of them has no pillar score ("no data"),
never a 0.
"""

from __future__ import annotations

import pandas as pd

from indicators.catalogue import Catalogue
from indicators.tables import indicator_table

# Scores this close to the pillar's best count as tied (all tied indicators enter).
_TIE = 1e-12


def keep_strongest(grid: pd.DataFrame, catalogue: Catalogue) -> pd.Series:
    """`grid["scored"]` with every non-strongest indicator of a "max" pillar set to NaN.

    Args:
        grid: the scoring grid: `date`, `country`, `indicator`, `pillar`, `weight`, `scored`.
        catalogue: the pillars' aggregation.

    Returns:
        The scores that enter the pillars (aligned with `grid`); "mean" pillars are unchanged.
    """
    scored = grid["scored"].astype("float64")
    rule = indicator_table(catalogue)["pillar_aggregation"]
    max_ids = [str(name) for name in rule.index[rule == "max"]]
    if not max_ids:
        return scored
    in_max = grid["indicator"].isin(max_ids).to_numpy() & scored.notna().to_numpy()
    in_max &= (grid["weight"] > 0).to_numpy()
    if not in_max.any():
        return scored
    chosen = grid.loc[in_max, ["date", "country", "pillar"]]
    values = scored[in_max]
    keys = [chosen["date"], chosen["country"], chosen["pillar"]]
    best = values.groupby(keys, sort=False, observed=True).transform("max")
    weaker = pd.Series(False, index=grid.index)
    weaker[in_max] = (values < best - _TIE).to_numpy()
    return scored.mask(weaker)
