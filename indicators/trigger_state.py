"""Trigger state: active, quiet or blind — a trigger that cannot see is never shown as calm.

A country's trigger is

- **blind** when none of its own trigger inputs is fresh (present and not older than its
  `max_age_days`). World inputs broadcast from `WLD` (world oil) do not count: they say nothing
  about the country's own pump prices or streets. A blind trigger has no value (`trigger` NaN); the
  part still visible (world oil, stale inputs at 0) is `trigger_seen`, and the composite is given
  as a range: `composite` = V amplified by `trigger_seen` (what can be seen), `composite_high` = V
  amplified by a full trigger (10) (what an unseen shock could make of it);
- **active** when it has a fresh own input and the trigger is at least
  `model.trigger_active_at`;
- **quiet** when it has a fresh own input and the trigger is below that.

`blind_since` is the first day on which the last fresh own input was stale (NaT when no own
trigger input was ever visible). See docs/METHODOLOGY.md, "Blind triggers".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from indicators.catalogue import Catalogue
from indicators.tables import indicator_table

ACTIVE = "active"
QUIET = "quiet"
BLIND = "blind"
TRIGGER_STATES: tuple[str, ...] = (ACTIVE, QUIET, BLIND)

STATE_COLUMNS: tuple[str, ...] = ("trigger_state", "blind_since", "trigger_reason")

_UNIT = ["date", "country"]


def trigger_signals(catalogue: Catalogue) -> list[str]:
    """What the scored trigger pillars see, in catalogue order ("domestic fuel price", "unrest")."""
    scored = set(indicator_table(catalogue).query("kind == 'trigger'")["pillar"])
    return [
        pillar.signal or pillar.name.lower()
        for pillar in catalogue.pillars
        if pillar.kind == "trigger" and pillar.weight > 0 and pillar.id in scored
    ]


def _joined(signals: list[str]) -> str:
    if not signals:
        return "trigger"
    if len(signals) == 1:
        return signals[0]
    return ", ".join(signals[:-1]) + " or " + signals[-1]


def trigger_state_frame(
    grid: pd.DataFrame, trigger: pd.Series, catalogue: Catalogue, units: pd.MultiIndex
) -> pd.DataFrame:
    """The trigger state of every (date, country) unit.

    Args:
        grid: the scoring grid, one row per (date, country, expected indicator) with `kind`,
            `indicator`, `value`, `stale`, `age_days`, `broadcast_from`, `weight`, `pillar_weight`.
        trigger: the trigger level per unit (index `units`), from every input (stale ones at 0).
        catalogue: the catalogue (max ages, pillar signals, `model.trigger_active_at`).
        units: the (date, country) index.

    Returns:
        Index `units`, columns `STATE_COLUMNS`: `trigger_state` ("active" / "quiet" / "blind"),
        `blind_since` (Timestamp, NaT unless blind after having seen a fresh input) and
        `trigger_reason` (why it is blind; "" otherwise).
    """
    table = indicator_table(catalogue)
    own = (
        (grid["kind"] == "trigger")
        & grid["value"].notna()
        & (grid["broadcast_from"] == "")
        & (grid["weight"] > 0)
        & (grid["pillar_weight"] > 0)
    )
    rows = grid[own]
    by_unit = [rows[name] for name in _UNIT]
    fresh = (~rows["stale"]).groupby(by_unit).any().reindex(units, fill_value=False)
    fresh = fresh.astype(bool)
    # An input is stale once its age exceeds max_age_days: the day after period end + max age.
    max_age = rows["indicator"].map(table["max_age_days"]).astype("float64")
    stale_from = (
        pd.to_datetime(rows["date"])
        - pd.to_timedelta(rows["age_days"], unit="D")
        + pd.to_timedelta(max_age + 1.0, unit="D")
    )
    since = stale_from.groupby(by_unit).max().reindex(units)
    blind = ~fresh.to_numpy()
    level = trigger.reindex(units).fillna(0.0).to_numpy(dtype="float64")
    state = np.where(
        blind, BLIND, np.where(level >= catalogue.model.trigger_active_at, ACTIVE, QUIET)
    )
    signals = _joined(trigger_signals(catalogue))
    seen_before = since.notna().to_numpy()
    reason = np.where(
        blind,
        np.where(seen_before, f"no fresh {signals} data", f"no {signals} data at all"),
        "",
    )
    return pd.DataFrame(
        {
            "trigger_state": pd.Series(state, index=units, dtype="object"),
            "blind_since": pd.Series(
                np.where(blind, since.to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT")),
                index=units,
                dtype="datetime64[ns]",
            ),
            "trigger_reason": pd.Series(reason, index=units, dtype="object"),
        },
        index=units,
    )


def _day(value: Any) -> str:
    stamp = pd.Timestamp(value)
    return f"{stamp.day} {stamp:%b %Y}"


def is_blind(row: Any) -> bool:
    """Whether a country row (a Series or mapping with `trigger_state`) has a blind trigger."""
    return str(_get(row, "trigger_state", "")) == BLIND


def _get(row: Any, key: str, default: Any) -> Any:
    try:
        value = row[key]
    except (KeyError, IndexError):
        return default
    return default if value is None else value


def describe_trigger(row: Any, *, digits: int = 1) -> str:
    """The trigger in words, the same in the CLI, exports, notifications and the dashboard.

    Args:
        row: a country row (Series or mapping) with `trigger`, and `trigger_state`,
            `blind_since`, `trigger_reason` when scored by this version.
        digits: decimals of the trigger level.

    Returns:
        "trigger blind since 6 Jan 2022: no fresh domestic fuel price or unrest data",
        "trigger blind: no domestic fuel price or unrest data at all", "trigger 7.3 (active)",
        "trigger 0.4 (quiet)"; "trigger –" when there is no value and no state.
    """
    state = str(_get(row, "trigger_state", ""))
    if state == BLIND:
        since = _get(row, "blind_since", None)
        reason = str(_get(row, "trigger_reason", "")) or "no fresh trigger input"
        if since is not None and not pd.isna(since):
            return f"trigger blind since {_day(since)}: {reason}"
        return f"trigger blind: {reason}"
    level = _get(row, "trigger", None)
    if level is None or pd.isna(level):
        return "trigger –"
    suffix = f" ({state})" if state else ""
    return f"trigger {float(level):.{digits}f}{suffix}"


def describe_composite(row: Any, *, digits: int = 1) -> str:
    """The composite in words: "4.2 (medium)", or for a blind trigger its range and the flag.

    Args:
        row: a country row with `composite`, `band`, and `composite_high`, `band_high`,
            `trigger_state` when scored by this version.
        digits: decimals.

    Returns:
        "4.2 (medium)"; "4.2–8.1 (medium to very high; trigger blind)"; "no score" when the
        composite is missing.
    """
    composite = _get(row, "composite", None)
    if composite is None or pd.isna(composite):
        return "no score"
    band = str(_get(row, "band", ""))
    if not is_blind(row):
        return f"{float(composite):.{digits}f} ({band})"
    high = _get(row, "composite_high", None)
    band_high = str(_get(row, "band_high", ""))
    if high is None or pd.isna(high):
        return f"{float(composite):.{digits}f} ({band}; trigger blind)"
    bands = band if band_high in ("", band) else f"{band} to {band_high}"
    return f"{float(composite):.{digits}f}–{float(high):.{digits}f} ({bands}; trigger blind)"
