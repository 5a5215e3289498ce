"""Replay: which rules would have fired when, with the same evaluator as the live service."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, Literal

import pandas as pd

from flashpoint.alerts.measuring import _measure_all, _needs_earlier, _ScoringContext
from indicators.alert_rules import WORLD_INSTANCE, AlertRule, RuleState, evaluate
from indicators.catalogue import Catalogue
from indicators.observations import WORLD
from indicators.pointintime import as_of_day
from indicators.replay import replay_scores

REPLAY_COLUMNS: Final = (
    "date",
    "rule_id",
    "rule",
    "severity",
    "country",
    "from_state",
    "to_state",
    "value",
    "threshold",
    "notify",
    "message",
)


def replay_alerts(
    observations: pd.DataFrame,
    catalogue: Catalogue,
    rules: Sequence[AlertRule],
    *,
    country: str,
    start: Any,
    end: Any,
    watched: Sequence[str] | None = None,
    include_reminders: bool = False,
    every: Literal["day", "week"] = "day",
) -> pd.DataFrame:
    """Evaluate `rules` for one country on every day from `start` to `end`, point in time.

    Each day is scored from what had been published by its end (as `indicators.replay`), measured
    with `measure` and stepped with `evaluate` — the same evaluator as `evaluate_alerts` — starting
    from ok on `start`, with no silences. Source-staleness rules are skipped (a replay has no
    fetch history).

    Args:
        observations: canonical observations (include `WLD` for world series).
        catalogue: the catalogue.
        rules: the rules (disabled ones and rules whose scope excludes the country are skipped).
        country: the ISO3 code.
        start: first day.
        end: last day (included).
        watched: what "watched" in a scope means (default: the country is watched).
        include_reminders: also list the re-notifications of still-firing alerts.
        every: evaluate every day (default) or every 7 days from `start` (a coarser replay:
            a pending period then counts weeks).

    Returns:
        One row per recorded event (`REPLAY_COLUMNS`): `date`, the rule, the transition, the value
        and threshold, whether it would have notified, and the message.
    """
    first, last = as_of_day(start), as_of_day(end)
    if last < first:
        raise ValueError(f"replay end {last.date()} is before its start {first.date()}")
    scope = list(watched) if watched is not None else [country]
    chosen = [
        rule
        for rule in rules
        if rule.enabled and rule.target_kind != "source" and country in rule.countries(scope)
    ]
    subset = observations[observations["country"].isin([country, WORLD])]
    lookback = max([rule.window_days for rule in chosen if _needs_earlier(rule)], default=0)
    frames = replay_scores(
        subset,
        catalogue,
        countries=[country],
        start=first - pd.Timedelta(days=lookback),
        end=last,
    )
    context = _ScoringContext(subset, catalogue, [country], chosen, last, frames)
    states: dict[tuple[str, str], RuleState] = {}
    rows: list[dict[str, Any]] = []
    by_id = {rule.id: rule for rule in chosen}
    if every not in ("day", "week"):
        raise ValueError(f"every must be 'day' or 'week', not {every!r}")
    for day in pd.date_range(first, last, freq="D" if every == "day" else "7D"):
        values = _measure_all(chosen, catalogue, context, day, [country], {})
        # Only this country (a world-only indicator is measured on WLD: keep that instance too).
        values = {
            rule_id: {c: m for c, m in per.items() if c in (country, WORLD_INSTANCE)}
            for rule_id, per in values.items()
        }
        moment = day.to_pydatetime()
        result = evaluate(chosen, states, values, moment, (), catalogue=catalogue)
        states = result.states
        for event in result.events:
            if event.from_state == event.to_state and not include_reminders:
                continue
            rule = by_id[event.rule_id]
            rows.append(
                {
                    "date": day,
                    "rule_id": rule.id,
                    "rule": rule.title,
                    "severity": rule.severity,
                    "country": event.country,
                    "from_state": event.from_state,
                    "to_state": event.to_state,
                    "value": event.value,
                    "threshold": event.threshold,
                    "notify": event.notify,
                    "message": event.message,
                }
            )
    return pd.DataFrame(rows, columns=list(REPLAY_COLUMNS))
