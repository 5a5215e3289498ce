"""`evaluate_alerts`: measure every rule, step the state machine, write the outbox atomically."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from flashpoint import store
from flashpoint.alerts.clock import _naive, _utcnow
from flashpoint.alerts.delivery import DeliveryRecord, deliver_pending
from flashpoint.alerts.measuring import _measure_all, _ScoringContext
from flashpoint.alerts.rules import load_rule_entries
from flashpoint.alerts.silences import _load_silences
from flashpoint.config import Settings
from flashpoint.notify import DEFAULT_ATTEMPTS, DEFAULT_BACKOFF_SECONDS, Channel
from indicators.alert_rules import AlertEvent, RuleState, evaluate
from indicators.observations import WORLD
from indicators.pointintime import as_of_day

_SUCCESSFUL_RUNS: Final = ("ok", "not_modified", "partial")
_PG_ALERTS_LOCK_KEY: Final = 0x46_4C_41_4C  # "FLAL": serialises alert evaluations on PostgreSQL


@dataclass
class EvaluationReport:
    """What one `evaluate_alerts` run did."""

    now: datetime
    as_of: pd.Timestamp
    rules: int = 0
    instances: int = 0
    events: list[AlertEvent] = field(default_factory=list)
    deliveries: list[DeliveryRecord] = field(default_factory=list)
    firing: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def failed_deliveries(self) -> list[DeliveryRecord]:
        """Deliveries that did not go out."""
        return [record for record in self.deliveries if record.result.status == "failed"]


def _source_ages(
    connection: Connection, settings: Settings, now: datetime
) -> dict[str, float | None]:
    """Days since each enabled source's last successful run (never run: None; tried but never
    succeeded: days since the first attempt, so a source that always fails does go stale)."""
    runs = store.fetch_runs
    good = dict(
        connection.execute(
            sa.select(
                runs.c.source, sa.func.max(sa.func.coalesce(runs.c.finished_at, runs.c.started_at))
            )
            .where(runs.c.status.in_(_SUCCESSFUL_RUNS))
            .group_by(runs.c.source)
        ).all()
    )
    first = dict(
        connection.execute(
            sa.select(runs.c.source, sa.func.min(runs.c.started_at)).group_by(runs.c.source)
        ).all()
    )
    ages: dict[str, float | None] = {}
    for name in settings.sources.names():
        if not settings.sources.get(name).enabled:
            continue
        moment = good.get(name) or first.get(name)
        ages[name] = None if moment is None else max(0.0, (now - moment).total_seconds() / 86400)
    return ages


def _load_states(connection: Connection) -> dict[tuple[str, str], RuleState]:
    states: dict[tuple[str, str], RuleState] = {}
    for row in connection.execute(sa.select(store.alert_state)).mappings():
        states[(str(row["rule_id"]), str(row["country"]))] = RuleState(
            state=row["state"],
            since=row["since"],
            pending_count=int(row["pending_count"] or 0),
            last_value=row["last_value"],
            last_evaluated_at=row["last_evaluated_at"],
            last_notified_at=row["last_notified_at"],
        )
    return states


def _lock_for_evaluation(connection: Connection) -> None:
    # SQLite: begin_write's BEGIN IMMEDIATE already serialises writers.
    if connection.dialect.name == "postgresql":
        connection.execute(
            sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_ALERTS_LOCK_KEY}
        )


def _write_state(
    connection: Connection, key: tuple[str, str], state: RuleState, existed: bool
) -> None:
    values = {
        "state": state.state,
        "since": state.since,
        "pending_count": state.pending_count,
        "last_value": state.last_value
        if state.last_value is None or math.isfinite(state.last_value)
        else None,
        "last_evaluated_at": state.last_evaluated_at,
        "last_notified_at": state.last_notified_at,
    }
    table = store.alert_state
    if existed:
        connection.execute(
            table.update()
            .where(table.c.rule_id == key[0], table.c.country == key[1])
            .values(**values)
        )
    else:
        connection.execute(table.insert().values(rule_id=key[0], country=key[1], **values))


def _finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def evaluate_alerts(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime | None = None,
    as_of: Any | None = None,
    channels: Mapping[str, Channel] | None = None,
    attempts: int = DEFAULT_ATTEMPTS,
    backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    observations: pd.DataFrame | None = None,
) -> EvaluationReport:
    """Evaluate every enabled rule for every country in scope, persist, then notify.

    See the module docstring for the exactly-once design. Delivery failures never raise: they
    are recorded in `notifications` and in the report.

    Args:
        engine: the store.
        settings: the configuration (rules, channels, watched countries, dashboard URL).
        now: the evaluation time (default: the current UTC time); naive means UTC.
        as_of: the day to score as of (default: the day of `now`).
        channels: channel objects by name (default: built from the config; tests inject).
        attempts: delivery attempts per notification and channel.
        backoff_seconds: first backoff between attempts (doubles each time).
        sleep: the backoff's sleep (tests inject a recorder).
        observations: the observations to score (default: read from the store).

    Returns:
        The report: rules and instances evaluated, events, deliveries, firing instances.
    """
    moment = _naive(now) if now is not None else _utcnow()
    day = as_of_day(as_of if as_of is not None else moment)
    catalogue = settings.catalogue()
    watched = list(settings.general.countries)
    report = EvaluationReport(now=moment, as_of=day)
    entries = load_rule_entries(engine, settings)
    report.problems.extend(f"{e.rule.id}: {e.problem}" for e in entries if e.problem)
    rules = [entry.rule for entry in entries if not entry.deleted and entry.rule.enabled]
    report.rules = len(rules)

    if observations is None:
        observations = store.read_observations(engine, countries=[*watched, WORLD])
    context = _ScoringContext(observations, catalogue, watched, rules, day)
    with engine.connect() as connection:
        source_ages = _source_ages(connection, settings, moment)
    values = _measure_all(rules, catalogue, context, day, watched, source_ages)
    report.instances = sum(len(per_country) for per_country in values.values())

    with store.begin_write(engine) as connection:
        _lock_for_evaluation(connection)
        prior = _load_states(connection)
        silences = _load_silences(connection, moment)
        result = evaluate(rules, prior, values, moment, silences, catalogue=catalogue)
        evaluated = {(rule_id, c) for rule_id, per in values.items() for c in per}
        for key in evaluated:
            _write_state(connection, key, result.states[key], key in prior)
        due_by_event = {id(due.event): due for due in result.notifications}
        event_since: dict[int, datetime] = {}
        for event in result.events:
            inserted = connection.execute(
                store.alert_events.insert().values(
                    rule_id=event.rule_id,
                    country=event.country,
                    at=event.at,
                    from_state=event.from_state,
                    to_state=event.to_state,
                    value=_finite_or_none(event.value),
                    threshold=_finite_or_none(event.threshold),
                    message=event.message,
                )
            )
            event_key = inserted.inserted_primary_key
            assert event_key is not None
            event_id = int(event_key[0])
            due = due_by_event.get(id(event))
            if due is None:
                continue
            if event.since is not None:
                event_since[event_id] = event.since
            for channel_name in due.channels:
                connection.execute(
                    store.notifications.insert().values(
                        alert_event_id=event_id,
                        channel=channel_name,
                        status="pending",
                        attempts=0,
                        error=None,
                        at=moment,
                    )
                )
    report.events = list(result.events)
    report.firing = sorted(key for key in evaluated if result.states[key].state == "firing")
    report.deliveries = deliver_pending(
        engine,
        settings,
        channels=channels,
        attempts=attempts,
        backoff_seconds=backoff_seconds,
        sleep=sleep,
        now=moment,
        panel=context.panel(day),
        rules=rules,
        details={
            (rule_id, country): measurement.detail
            for rule_id, per in values.items()
            for country, measurement in per.items()
        },
        since=event_since,
    )
    return report
