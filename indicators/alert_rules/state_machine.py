"""The per-instance state machine (`step`) and one evaluation of every instance (`evaluate`)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from indicators.alert_rules.model import (
    AlertEvent,
    AlertRule,
    Condition,
    EvaluationResult,
    Measurement,
    NotificationDue,
    RuleState,
    Silence,
    StateName,
    Transition,
)
from indicators.alert_rules.parsing import _effective_recovery, effective_threshold
from indicators.catalogue import Catalogue


def _breaches(condition: Condition, value: float, threshold: float) -> bool:
    return value > threshold if condition == "above" else value < threshold


def _recovered(condition: Condition, value: float, recovery: float) -> bool:
    return value <= recovery if condition == "above" else value >= recovery


def _describe(rule: AlertRule, country: str, value: float, threshold: float, what: str) -> str:
    sign = ">" if rule.condition == "above" else "<"
    shown = "never" if value == math.inf else f"{value:.4g}"
    return f"{rule.title} [{country}]: {what}; value {shown} (threshold {sign} {threshold:g})"


def step(
    rule: AlertRule,
    state: RuleState | None,
    value: float | None,
    now: datetime,
    *,
    silenced: bool = False,
    country: str = "",
    threshold: float | None = None,
) -> Transition:
    """Evaluate one instance once.

    Args:
        rule: the rule.
        state: the instance's persisted state (None: a new instance, ok).
        value: the measured value (None or NaN: no data, the state is kept).
        now: the evaluation time (naive UTC).
        silenced: whether a silence covers the instance now (state changes, no notification).
        country: the instance's country, for the event and its message.
        threshold: the effective threshold (default: `effective_threshold(rule)`).

    Returns:
        The new state, whether to notify, and the event to record (None when nothing changed).
    """
    current = state if state is not None else RuleState(state="ok", since=now)
    limit = effective_threshold(rule) if threshold is None else threshold
    # An infinite age is a stale rule's "never": a source never fetched is as stale as can be
    # (it breaches); any other non-finite value is no data.
    never = rule.kind == "stale" and value == math.inf
    if value is None or not (math.isfinite(value) or never):
        return Transition(replace(current, last_evaluated_at=now), False, None)
    recovery = _effective_recovery(rule, limit)
    evaluated = replace(current, last_value=value, last_evaluated_at=now)

    def event(to_state: StateName, what: str, notify: bool) -> AlertEvent:
        return AlertEvent(
            rule_id=rule.id,
            country=country,
            at=now,
            from_state=current.state,
            to_state=to_state,
            value=value,
            threshold=limit,
            message=_describe(rule, country, value, limit, what),
            notify=notify,
            silenced=silenced,
            since=current.since if current.state in ("pending", "firing") else now,
        )

    if current.state == "firing":
        if _recovered(rule.condition, value, recovery):
            notify = not silenced and current.last_notified_at is not None
            new_state = replace(
                evaluated,
                state="resolved",
                since=now,
                pending_count=0,
                last_notified_at=now if notify else current.last_notified_at,
            )
            return Transition(new_state, notify, event("resolved", "resolved", notify))
        if silenced:
            return Transition(evaluated, False, None)
        if current.last_notified_at is None:
            what = "firing (not notified before: it was silenced)"
        elif rule.renotify_hours > 0 and now - current.last_notified_at >= timedelta(
            hours=rule.renotify_hours
        ):
            what = f"still firing since {_stamp(current.since)}"
        else:
            return Transition(evaluated, False, None)
        new_state = replace(evaluated, last_notified_at=now)
        return Transition(new_state, True, event("firing", what, True))

    breach = _breaches(rule.condition, value, limit)
    if breach:
        count = (current.pending_count if current.state == "pending" else 0) + 1
        if count >= max(rule.pending_evaluations, 1):
            notify = not silenced
            new_state = replace(
                evaluated,
                state="firing",
                since=now,
                pending_count=count,
                last_notified_at=now if notify else None,
            )
            what = "firing" if count == 1 else f"firing after {count} consecutive breaches"
            return Transition(new_state, notify, event("firing", what, notify))
        if current.state == "pending":
            return Transition(replace(evaluated, pending_count=count), False, None)
        new_state = replace(evaluated, state="pending", since=now, pending_count=count)
        what = f"pending (1 of {rule.pending_evaluations} breaches needed)"
        return Transition(new_state, False, event("pending", what, False))

    if current.state in ("pending", "resolved"):
        what = "condition cleared before firing" if current.state == "pending" else "back to ok"
        new_state = replace(evaluated, state="ok", since=now, pending_count=0)
        return Transition(new_state, False, event("ok", what, False))
    return Transition(evaluated, False, None)


def _stamp(moment: datetime | None) -> str:
    return "?" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def is_silenced(silences: Iterable[Silence], rule_id: str, country: str, now: datetime) -> bool:
    """Whether any silence mutes instance (rule_id, country) at `now`."""
    return any(silence.matches(rule_id, country, now) for silence in silences)


def evaluate(
    rules: Sequence[AlertRule],
    states: Mapping[tuple[str, str], RuleState],
    values: Mapping[str, Mapping[str, Measurement]],
    now: datetime,
    silences: Sequence[Silence] = (),
    *,
    catalogue: Catalogue | None = None,
) -> EvaluationResult:
    """Step every enabled rule's instances once.

    A loop over instances on purpose: each instance is a small sequential state machine; the
    measurement (the vectorised part) has already been done by `measure`.

    Args:
        rules: the effective rules; disabled ones are skipped (their states are kept).
        states: (rule_id, country) → persisted state; missing instances start ok.
        values: rule_id → country → measurement; a country absent here is not evaluated.
        now: the evaluation time (naive UTC).
        silences: the silences in force (expired ones are ignored).
        catalogue: for default thresholds (stale rules on indicators).

    Returns:
        Every state (changed or not), the events to record and the notifications to send.
    """
    new_states: dict[tuple[str, str], RuleState] = dict(states)
    events: list[AlertEvent] = []
    due: list[NotificationDue] = []
    for rule in rules:
        if not rule.enabled:
            continue
        threshold = effective_threshold(rule, catalogue)
        for country, measurement in values.get(rule.id, {}).items():
            key = (rule.id, country)
            transition = step(
                rule,
                states.get(key),
                measurement.value,
                now,
                silenced=is_silenced(silences, rule.id, country, now),
                country=country,
                threshold=threshold,
            )
            new_states[key] = transition.new_state
            if transition.event is not None:
                events.append(transition.event)
                if transition.notify:
                    due.append(
                        NotificationDue(
                            transition.event, rule, tuple(rule.channels), measurement.detail
                        )
                    )
    return EvaluationResult(new_states, events, due)
