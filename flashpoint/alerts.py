"""The alerts service: effective rules (config defaults + audited dashboard overrides), silences,
evaluation with persisted state, notification delivery, and the alert replay.

How a notification is sent exactly once (a transactional outbox):

1. `evaluate_alerts` measures every rule (outside any transaction), then opens ONE write
   transaction (SQLite `BEGIN IMMEDIATE`; PostgreSQL also takes a transaction-level advisory lock,
   so two evaluators never interleave) that loads the persisted states and silences, steps the
   state machine (`indicators.alert_rules.evaluate`), and writes, atomically:
   the new `alert_state` rows (including `last_notified_at = now` for every instance that is due a
   notification), one `alert_events` row per state change or reminder, and one `notifications`
   row with status `pending` per (event, channel) — the outbox.
2. Only after that commit are the pending rows delivered. Each row is first *claimed*
   (`pending → sending`, a conditional UPDATE that only one process can win), then sent with
   bounded retries, then closed as `sent`, `failed` (with the error and the attempt count) or
   `skipped` (channel disabled).

Consequences: a restart re-reads `alert_state`, sees `last_notified_at`, and does not notify
again until `renotify_hours` have passed; a crash after the commit but before delivery leaves
`pending` rows that the next run delivers (late, not lost); a crash in the middle of sending
leaves a `sending` row that is never retried (it may have gone out) and is marked failed as
"interrupted" after `SENDING_TIMEOUT` — at most once, never twice.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from flashpoint import store
from flashpoint.config import Settings, iso3_countries
from flashpoint.notify import (
    DEFAULT_ATTEMPTS,
    DEFAULT_BACKOFF_SECONDS,
    Channel,
    DeliveryResult,
    Notice,
    build_channels,
    dashboard_link,
    deliver,
)
from indicators.alert_rules import (
    WORLD_INSTANCE,
    AlertEvent,
    AlertRule,
    FieldError,
    Measurement,
    RuleState,
    Silence,
    effective_threshold,
    evaluate,
    measure,
    parse_rule,
    rule_to_definition,
    validate_rule,
)
from indicators.catalogue import Catalogue
from indicators.derived import derive_indicators
from indicators.observations import WORLD
from indicators.pointintime import PUBLISHED, as_of_day, newest_vintage, with_publication
from indicators.replay import replay_scores
from indicators.scoring import PanelScore, ScoreFrames, score_panel

__all__ = [
    "EVENT_COLUMNS",
    "REPLAY_COLUMNS",
    "SENDING_TIMEOUT",
    "DeliveryRecord",
    "EvaluationReport",
    "RuleEntry",
    "add_silence",
    "config_rules",
    "delete_rule",
    "deliver_pending",
    "effective_rules",
    "evaluate_alerts",
    "expire_silence",
    "load_rule_entries",
    "read_alert_events",
    "read_alert_states",
    "read_notifications",
    "read_silences",
    "replay_alerts",
    "reset_rule_to_config",
    "save_rule",
    "set_rule_enabled",
    "validate_definition",
]

# A `sending` row older than this was interrupted (the process died mid-delivery).
SENDING_TIMEOUT: Final = timedelta(minutes=15)
# Fields whose change alters what a rule means: changing one resets the rule's instances to ok.
_EVALUATION_FIELDS: Final = (
    "kind",
    "target",
    "scope",
    "condition",
    "threshold",
    "recovery",
    "window_days",
    "pending_evaluations",
)
_SUCCESSFUL_RUNS: Final = ("ok", "not_modified", "partial")
_PG_ALERTS_LOCK_KEY: Final = 0x46_4C_41_4C  # "FLAL": serialises alert evaluations on PostgreSQL
EVENT_COLUMNS: Final = (
    "id",
    "rule_id",
    "country",
    "at",
    "from_state",
    "to_state",
    "value",
    "threshold",
    "message",
)
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


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo is not None else moment


# --------------------------------------------------------------------------------------------
# Rules: config defaults, overridden by audited rows in `alert_rules`


@dataclass(frozen=True)
class RuleEntry:
    """One rule as the dashboard lists it: the effective definition and where it comes from.

    origin: "config" (the file's rule), "override" (a config rule edited in the dashboard) or
    "dashboard" (created in the dashboard). `problem` is set when a stored override no longer
    validates (say the config lost an indicator): the config rule is used instead.
    """

    rule: AlertRule
    origin: Literal["config", "override", "dashboard"]
    config_rule: AlertRule | None = None
    updated_at: datetime | None = None
    updated_by: str = ""
    deleted: bool = False
    problem: str = ""


def config_rules(settings: Settings) -> list[AlertRule]:
    """The `[[alerts.rules]]` of the config as pure rules (config.py has validated them)."""
    rules: list[AlertRule] = []
    for item in settings.alerts.rules:
        rule, errors = parse_rule(item.model_dump())
        if rule is None:  # cannot happen for a loaded config; keep the message if it does
            raise ValueError(f"alerts.rules {item.id}: {'; '.join(map(str, errors))}")
        rules.append(rule)
    return rules


def _validation_context(settings: Settings) -> dict[str, Any]:
    return {
        "sources": set(settings.sources.names()),
        "channels": set(settings.notifications.channels),
        "countries": set(iso3_countries()),
    }


def validate_definition(
    settings: Settings, definition: Mapping[str, Any] | AlertRule
) -> tuple[AlertRule | None, list[FieldError]]:
    """Parse and validate a rule definition (form values, stored JSON); errors name the field."""
    if isinstance(definition, AlertRule):
        rule: AlertRule | None = definition
    else:
        rule, errors = parse_rule(definition)
        if rule is None:
            return None, errors
    assert rule is not None
    errors = validate_rule(rule, settings.catalogue(), **_validation_context(settings))
    return (None, errors) if errors else (rule, [])


def load_rule_entries(engine: Engine | Connection, settings: Settings) -> list[RuleEntry]:
    """Every rule (deleted ones included, flagged), config order first, then dashboard rules."""
    with _reading(engine) as connection:
        rows = connection.execute(sa.select(store.alert_rules)).mappings().all()
    stored = {str(row["rule_id"]): row for row in rows}
    entries: list[RuleEntry] = []
    for config_rule in config_rules(settings):
        row = stored.pop(config_rule.id, None)
        if row is None:
            entries.append(RuleEntry(config_rule, "config", config_rule))
            continue
        entries.append(_entry_from_row(settings, row, config_rule))
    for rule_id in sorted(stored):
        entries.append(_entry_from_row(settings, stored[rule_id], None))
    return [entry for entry in entries if entry is not None]


def _entry_from_row(settings: Settings, row: Any, config_rule: AlertRule | None) -> RuleEntry:
    definition = dict(row["definition"] or {})
    definition["id"] = str(row["rule_id"])
    definition["enabled"] = bool(row["enabled"])
    rule, errors = validate_definition(settings, definition)
    origin: Literal["override", "dashboard"] = "override" if config_rule else "dashboard"
    common = {
        "config_rule": config_rule,
        "updated_at": row["updated_at"],
        "updated_by": str(row["updated_by"] or ""),
        "deleted": bool(row["deleted"]),
    }
    if rule is None:
        problem = "stored definition is invalid: " + "; ".join(map(str, errors))
        fallback = config_rule or AlertRule(id=str(row["rule_id"]), enabled=False)
        return RuleEntry(fallback, origin, problem=problem, **common)
    return RuleEntry(rule, origin, **common)


def effective_rules(engine: Engine | Connection, settings: Settings) -> list[AlertRule]:
    """The rules evaluation uses: config defaults overridden by the dashboard, minus deleted."""
    return [entry.rule for entry in load_rule_entries(engine, settings) if not entry.deleted]


def _current_definition(
    connection: Connection, settings: Settings, rule_id: str
) -> dict[str, Any] | None:
    for entry in load_rule_entries(connection, settings):
        if entry.rule.id == rule_id and not entry.deleted:
            return rule_to_definition(entry.rule)
    return None


def _meaning_changed(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> bool:
    if old is None or new is None:
        return True
    return any(old.get(name) != new.get(name) for name in _EVALUATION_FIELDS)


def _reset_instances(connection: Connection, rule_id: str, actor: str, now: datetime) -> None:
    """A rule whose meaning changed starts again from ok (Grafana does the same); the reset of
    every instance that was not ok is recorded in the history."""
    rows = (
        connection.execute(
            sa.select(store.alert_state).where(
                store.alert_state.c.rule_id == rule_id, store.alert_state.c.state != "ok"
            )
        )
        .mappings()
        .all()
    )
    for row in rows:
        connection.execute(
            store.alert_events.insert().values(
                rule_id=rule_id,
                country=row["country"],
                at=now,
                from_state=row["state"],
                to_state="ok",
                value=row["last_value"],
                threshold=None,
                message=f"rule changed by {actor}: instance reset to ok",
            )
        )
    connection.execute(store.alert_state.delete().where(store.alert_state.c.rule_id == rule_id))


def _upsert_rule_row(
    connection: Connection,
    rule_id: str,
    definition: Mapping[str, Any],
    *,
    enabled: bool,
    deleted: bool,
    actor: str,
    now: datetime,
) -> None:
    values = {
        "definition": dict(definition),
        "enabled": enabled,
        "updated_at": now,
        "updated_by": actor,
        "deleted": deleted,
    }
    updated = connection.execute(
        store.alert_rules.update().where(store.alert_rules.c.rule_id == rule_id).values(**values)
    )
    if updated.rowcount == 0:
        connection.execute(store.alert_rules.insert().values(rule_id=rule_id, **values))


def save_rule(
    engine: Engine,
    settings: Settings,
    rule: AlertRule | Mapping[str, Any],
    *,
    actor: str,
    action: str = "alert_rule.save",
    now: datetime | None = None,
) -> list[FieldError]:
    """Validate and store a rule (new, or overriding the config's); audited old → new.

    Nothing is written when the rule is invalid; the errors name the fields. Changing what the
    rule means (kind, target, scope, condition, thresholds, windows) resets its instances to ok.

    Returns:
        The validation errors (empty: saved).
    """
    if not actor.strip():
        return [FieldError("actor", "who is making the change must be known")]
    valid, errors = validate_definition(settings, rule)
    if valid is None:
        return errors
    moment = _naive(now) if now is not None else _utcnow()
    new = rule_to_definition(valid)
    with store.begin_write(engine) as connection:
        old = _current_definition(connection, settings, valid.id)
        if old == new:
            return []
        _upsert_rule_row(
            connection, valid.id, new, enabled=valid.enabled, deleted=False, actor=actor, now=moment
        )
        store.write_audit(
            connection, actor=actor, action=action, obj=f"alert_rule:{valid.id}", old=old, new=new
        )
        if _meaning_changed(old, new):
            _reset_instances(connection, valid.id, actor, moment)
    return []


def set_rule_enabled(
    engine: Engine, settings: Settings, rule_id: str, enabled: bool, *, actor: str
) -> list[FieldError]:
    """Enable or disable a rule (stored as an override, audited)."""
    for rule in effective_rules(engine, settings):
        if rule.id == rule_id:
            action = "alert_rule.enable" if enabled else "alert_rule.disable"
            return save_rule(
                engine, settings, replace(rule, enabled=enabled), actor=actor, action=action
            )
    return [FieldError("rule_id", f"unknown rule {rule_id!r}")]


def reset_rule_to_config(
    engine: Engine, settings: Settings, rule_id: str, *, actor: str, now: datetime | None = None
) -> bool:
    """Drop the dashboard's override so the config's rule applies again (audited).

    A rule created in the dashboard has no config version: resetting it removes it.

    Returns:
        Whether there was an override to drop.
    """
    moment = _naive(now) if now is not None else _utcnow()
    config = {rule.id: rule for rule in config_rules(settings)}
    with store.begin_write(engine) as connection:
        row = (
            connection.execute(
                sa.select(store.alert_rules).where(store.alert_rules.c.rule_id == rule_id)
            )
            .mappings()
            .first()
        )
        if row is None:
            return False
        old = _current_definition(connection, settings, rule_id)
        new = rule_to_definition(config[rule_id]) if rule_id in config else None
        connection.execute(store.alert_rules.delete().where(store.alert_rules.c.rule_id == rule_id))
        store.write_audit(
            connection,
            actor=actor,
            action="alert_rule.reset_to_config",
            obj=f"alert_rule:{rule_id}",
            old=old,
            new=new,
        )
        if _meaning_changed(old, new):
            _reset_instances(connection, rule_id, actor, moment)
    return True


def delete_rule(
    engine: Engine, settings: Settings, rule_id: str, *, actor: str, now: datetime | None = None
) -> bool:
    """Delete a rule (a config rule stays deleted until reset to config); audited."""
    moment = _naive(now) if now is not None else _utcnow()
    with store.begin_write(engine) as connection:
        old = _current_definition(connection, settings, rule_id)
        if old is None:
            return False
        _upsert_rule_row(
            connection, rule_id, old, enabled=False, deleted=True, actor=actor, now=moment
        )
        store.write_audit(
            connection,
            actor=actor,
            action="alert_rule.delete",
            obj=f"alert_rule:{rule_id}",
            old=old,
            new=None,
        )
        _reset_instances(connection, rule_id, actor, moment)
    return True


# --------------------------------------------------------------------------------------------
# Silences


def add_silence(
    engine: Engine,
    settings: Settings,
    *,
    rule_id: str | None,
    country: str | None,
    until: datetime,
    comment: str,
    actor: str,
    now: datetime | None = None,
) -> tuple[int | None, list[FieldError]]:
    """Mute a rule, a country, or one rule in one country until `until` (naive UTC); audited.

    Returns:
        (the silence id, []) or (None, errors naming the fields).
    """
    moment = _naive(now) if now is not None else _utcnow()
    rule_id = (rule_id or "").strip() or None
    country = (country or "").strip().upper() or None
    errors: list[FieldError] = []
    if rule_id is not None and rule_id not in {r.id for r in effective_rules(engine, settings)}:
        errors.append(FieldError("rule_id", f"unknown rule {rule_id!r}"))
    if country is not None and country not in iso3_countries():
        errors.append(FieldError("country", f"{country!r} is not a known ISO3 country code"))
    if _naive(until) <= moment:
        errors.append(FieldError("until", "must be in the future"))
    if not comment.strip():
        errors.append(FieldError("comment", "say why the alert is silenced"))
    if not actor.strip():
        errors.append(FieldError("actor", "who sets the silence must be known"))
    if errors:
        return None, errors
    values = {
        "rule_id": rule_id,
        "country": country,
        "until": _naive(until),
        "comment": comment.strip(),
        "created_by": actor,
        "created_at": moment,
    }
    with store.begin_write(engine) as connection:
        result = connection.execute(store.silences.insert().values(**values))
        key = result.inserted_primary_key
        assert key is not None
        silence_id = int(key[0])
        store.write_audit(
            connection,
            actor=actor,
            action="silence.add",
            obj=f"silence:{silence_id}",
            old=None,
            new={
                "rule_id": rule_id,
                "country": country,
                "until": _naive(until).isoformat(),
                "comment": comment.strip(),
            },
        )
    return silence_id, []


def expire_silence(
    engine: Engine, silence_id: int, *, actor: str, now: datetime | None = None
) -> bool:
    """End a silence now (audited). Returns whether it was still active."""
    moment = _naive(now) if now is not None else _utcnow()
    with store.begin_write(engine) as connection:
        row = (
            connection.execute(sa.select(store.silences).where(store.silences.c.id == silence_id))
            .mappings()
            .first()
        )
        if row is None or row["until"] <= moment:
            return False
        connection.execute(
            store.silences.update().where(store.silences.c.id == silence_id).values(until=moment)
        )
        store.write_audit(
            connection,
            actor=actor,
            action="silence.expire",
            obj=f"silence:{silence_id}",
            old={"until": row["until"].isoformat()},
            new={"until": moment.isoformat()},
        )
    return True


def read_silences(
    engine: Engine | Connection, *, now: datetime | None = None, active_only: bool = True
) -> pd.DataFrame:
    """Silences (newest first); only those still in force unless `active_only=False`."""
    moment = _naive(now) if now is not None else _utcnow()
    query = sa.select(store.silences).order_by(store.silences.c.id.desc())
    if active_only:
        query = query.where(store.silences.c.until > moment)
    with _reading(engine) as connection:
        return _frame(connection.execute(query), [c.name for c in store.silences.columns])


def _load_silences(connection: Connection, now: datetime) -> list[Silence]:
    rows = connection.execute(
        sa.select(store.silences).where(store.silences.c.until > now)
    ).mappings()
    return [
        Silence(
            rule_id=row["rule_id"],
            country=row["country"],
            until=row["until"],
            comment=row["comment"],
            created_by=row["created_by"],
            created_at=row["created_at"],
            id=row["id"],
        )
        for row in rows
    ]


# --------------------------------------------------------------------------------------------
# Reading state, history and notifications


@contextmanager
def _reading(bind: Engine | Connection) -> Iterator[Connection]:
    """A connection to read with (a given connection is used as it is, in its transaction)."""
    if isinstance(bind, Connection):
        yield bind
        return
    with bind.connect() as connection:
        yield connection


def _frame(result: sa.CursorResult[Any], columns: Sequence[str]) -> pd.DataFrame:
    rows = [dict(row) for row in result.mappings()]
    return pd.DataFrame(rows, columns=list(columns))


def read_alert_states(engine: Engine | Connection) -> pd.DataFrame:
    """Every persisted instance state, firing first."""
    order = sa.case(
        {"firing": 0, "pending": 1, "resolved": 2, "ok": 3}, value=store.alert_state.c.state
    )
    query = sa.select(store.alert_state).order_by(
        order, store.alert_state.c.rule_id, store.alert_state.c.country
    )
    with _reading(engine) as connection:
        return _frame(connection.execute(query), [c.name for c in store.alert_state.columns])


def read_alert_events(
    engine: Engine | Connection,
    *,
    rule_id: str | None = None,
    country: str | None = None,
    limit: int = 500,
) -> pd.DataFrame:
    """The state history, newest first."""
    query = sa.select(store.alert_events).order_by(store.alert_events.c.id.desc()).limit(limit)
    if rule_id:
        query = query.where(store.alert_events.c.rule_id == rule_id)
    if country:
        query = query.where(store.alert_events.c.country == country)
    with _reading(engine) as connection:
        return _frame(connection.execute(query), EVENT_COLUMNS)


def read_notifications(
    engine: Engine | Connection,
    *,
    statuses: Iterable[str] | None = None,
    limit: int = 500,
) -> pd.DataFrame:
    """Delivery attempts with their event's rule and country, newest first."""
    n, e = store.notifications, store.alert_events
    query = (
        sa.select(
            n.c.id,
            n.c.at,
            n.c.channel,
            n.c.status,
            n.c.attempts,
            n.c.error,
            n.c.alert_event_id,
            e.c.rule_id,
            e.c.country,
            e.c.to_state,
            e.c.value,
            e.c.threshold,
        )
        .select_from(n.join(e, n.c.alert_event_id == e.c.id))
        .order_by(n.c.id.desc())
        .limit(limit)
    )
    if statuses is not None:
        query = query.where(n.c.status.in_(list(statuses)))
    columns = [
        "id",
        "at",
        "channel",
        "status",
        "attempts",
        "error",
        "alert_event_id",
        "rule_id",
        "country",
        "to_state",
        "value",
        "threshold",
    ]
    with _reading(engine) as connection:
        return _frame(connection.execute(query), columns)


# --------------------------------------------------------------------------------------------
# Evaluation


@dataclass(frozen=True)
class DeliveryRecord:
    """One closed `notifications` row."""

    notification_id: int
    alert_event_id: int
    rule_id: str
    country: str
    result: DeliveryResult


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


class _ScoringContext:
    """Panels and visible series for the as-of days an evaluation or a replay needs.

    Panels come from `indicators.scoring.score_panel` (or, in a replay, from one vectorised
    `replay_scores` pass), cached per day. The series rules look at directly (change, spike, the
    steps behind a step change) are derived once and cut per day by publication date, exactly as
    `indicators.replay` does, so every day sees only what had been published by its end.
    """

    def __init__(
        self,
        observations: pd.DataFrame,
        catalogue: Catalogue,
        countries: Sequence[str],
        rules: Sequence[AlertRule],
        last_day: pd.Timestamp,
        frames: ScoreFrames | None = None,
    ) -> None:
        self.observations = observations
        self.catalogue = catalogue
        self.countries = list(countries)
        self.frames = frames
        self.frame_days = (
            set(pd.DatetimeIndex(frames.countries["date"].unique()))
            if frames is not None
            else set()
        )
        self._panels: dict[pd.Timestamp, PanelScore] = {}
        self.series = _series_pool(observations, catalogue, rules, last_day)

    def panel(self, day: pd.Timestamp) -> PanelScore:
        """The panel as of `day`."""
        if day not in self._panels:
            if self.frames is not None and day in self.frame_days:
                self._panels[day] = self.frames.at(day)
            else:
                self._panels[day] = score_panel(
                    self.observations, self.catalogue, as_of=day, countries=self.countries
                )
        return self._panels[day]

    def pool(self, day: pd.Timestamp) -> pd.DataFrame:
        """The watched series' rows visible at the end of `day` (newest visible vintage)."""
        visible = self.series[self.series[PUBLISHED] < day + pd.Timedelta(days=1)]
        return newest_vintage(visible)


def _series_pool(
    observations: pd.DataFrame,
    catalogue: Catalogue,
    rules: Sequence[AlertRule],
    last_day: pd.Timestamp,
) -> pd.DataFrame:
    """Base and derived rows of the indicators that rules read as series, with `published`."""
    wanted: set[str] = set()
    for rule in rules:
        if rule.target_kind != "indicator":
            continue
        wanted.add(rule.target_id)
        try:
            wanted.update(catalogue.indicator(rule.target_id).derived_from)
        except KeyError:
            continue
    base = with_publication(observations[observations["indicator"].isin(wanted)], catalogue)
    base = base[~base["is_forecast"].to_numpy(dtype=bool)]
    derived_ids = {
        item.id for item in catalogue.indicators if item.id in wanted and item.derivation
    }
    if not derived_ids:
        return base
    derived = derive_indicators(observations, catalogue, as_of=last_day)
    derived = derived[derived["indicator"].isin(derived_ids)]
    return pd.concat([base, derived], ignore_index=True)


def _needs_earlier(rule: AlertRule) -> bool:
    return rule.kind == "band_change" or (
        rule.kind == "change" and rule.target_kind in ("composite", "pillar")
    )


def _measure_all(
    rules: Sequence[AlertRule],
    catalogue: Catalogue,
    context: _ScoringContext,
    day: pd.Timestamp,
    watched: Sequence[str],
    source_ages: Mapping[str, float | None],
) -> dict[str, dict[str, Measurement]]:
    panel, pool = context.panel(day), context.pool(day)
    values: dict[str, dict[str, Measurement]] = {}
    for rule in rules:
        if not rule.enabled:
            continue
        earlier = None
        if _needs_earlier(rule):
            earlier = context.panel(day - pd.Timedelta(days=rule.window_days))
        values[rule.id] = measure(
            rule,
            catalogue,
            panel=panel,
            countries=rule.countries(watched),
            pool=pool,
            earlier=earlier,
            source_ages=source_ages,
        )
    return values


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


# --------------------------------------------------------------------------------------------
# Delivery of the outbox


def _contributors(panel: PanelScore | None, catalogue: Catalogue, country: str) -> tuple[str, ...]:
    if panel is None or country == WORLD_INSTANCE:
        return ()
    rows = panel.contributions[
        (panel.contributions["country"] == country) & panel.contributions["contribution"].notna()
    ]
    top = rows.sort_values("contribution", ascending=False, kind="mergesort").head(3)
    names = {indicator.id: indicator.name for indicator in catalogue.indicators}
    out: list[str] = []
    columns = (top["indicator"], top["value"], top["unit"], top["contribution"])
    for indicator, raw, unit, points in zip(*columns, strict=True):
        latest = "n/a" if pd.isna(raw) else f"{float(raw):.4g} {unit}"
        out.append(
            f"{names.get(str(indicator), str(indicator))}: "
            f"{float(points):.2f} points of the composite (latest {latest})"
        )
    return tuple(out)


def _measure_label(rule: AlertRule, catalogue: Catalogue) -> str:
    units = {
        "level": "",
        "change": " (% change)" if rule.target_kind == "indicator" else " (change, points)",
        "spike": " (z-score)",
        "stale": " (days without new data)",
        "band_change": " (bands moved)",
    }
    unit = ""
    if rule.kind == "level" and rule.target_kind == "indicator":
        try:
            unit = f" ({catalogue.indicator(rule.target_id).unit})"
        except KeyError:
            unit = ""
    elif rule.kind == "level":
        unit = " (score 0–10)"
    return f"{rule.target}{unit or units.get(rule.kind, '')}"


def deliver_pending(
    engine: Engine,
    settings: Settings,
    *,
    channels: Mapping[str, Channel] | None = None,
    attempts: int = DEFAULT_ATTEMPTS,
    backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    now: datetime | None = None,
    panel: PanelScore | None = None,
    rules: Sequence[AlertRule] | None = None,
    details: Mapping[tuple[str, str], str] | None = None,
    since: Mapping[int, datetime] | None = None,
) -> list[DeliveryRecord]:
    """Deliver every `pending` notification (this run's and any a crash left behind).

    Each row is claimed (pending → sending) by a conditional UPDATE before it is sent, so two
    processes never send the same row; `sending` rows older than `SENDING_TIMEOUT` are closed as
    failed ("interrupted") and never re-sent.

    `panel`, `details` and `since` enrich the messages of this run's events (top contributors,
    how the value was measured, since when the condition has held); rows left over from an
    earlier run fall back to the stored event message and the instance's state.
    """
    moment = _naive(now) if now is not None else _utcnow()
    catalogue = settings.catalogue()
    chosen = channels if channels is not None else build_channels(settings)
    disabled = {name for name, c in settings.notifications.channels.items() if not c.enabled}
    known_rules = {rule.id: rule for rule in (rules or effective_rules(engine, settings))}
    names = iso3_countries()
    n, e, s = store.notifications, store.alert_events, store.alert_state
    with store.begin_write(engine) as connection:
        connection.execute(
            n.update()
            .where(n.c.status == "sending", n.c.at < moment - SENDING_TIMEOUT)
            .values(
                status="failed",
                error="interrupted while sending (the process stopped); not re-sent, it may "
                "have been delivered",
            )
        )
    with engine.connect() as connection:
        pending = (
            connection.execute(
                sa.select(
                    n.c.id,
                    n.c.alert_event_id,
                    n.c.channel,
                    e.c.rule_id,
                    e.c.country,
                    e.c.at,
                    e.c.to_state,
                    e.c.value,
                    e.c.threshold,
                    e.c.message,
                    s.c.since.label("state_since"),
                )
                .select_from(
                    n.join(e, n.c.alert_event_id == e.c.id).outerjoin(
                        s, sa.and_(s.c.rule_id == e.c.rule_id, s.c.country == e.c.country)
                    )
                )
                .where(n.c.status == "pending")
                .order_by(n.c.id)
            )
            .mappings()
            .all()
        )
    records: list[DeliveryRecord] = []
    for row in pending:
        with store.begin_write(engine) as connection:
            claimed = connection.execute(
                n.update()
                .where(n.c.id == row["id"], n.c.status == "pending")
                .values(status="sending", at=_utcnow() if now is None else moment)
            ).rowcount
        if claimed != 1:
            continue  # another process took it
        rule = known_rules.get(str(row["rule_id"])) or AlertRule(id=str(row["rule_id"]))
        country = str(row["country"])
        event_id = int(row["alert_event_id"])
        held_since = (since or {}).get(event_id) or (
            row["state_since"] if row["to_state"] == "firing" else row["at"]
        )
        link = (
            settings.dashboard.public_url
            if country == WORLD_INSTANCE
            else dashboard_link(settings.dashboard.public_url, country)
        )
        notice = Notice(
            rule_id=rule.id,
            rule_name=rule.title,
            country=country,
            country_name=names.get(country, ""),
            state=str(row["to_state"]),
            value=row["value"],
            threshold=row["threshold"]
            if row["threshold"] is not None
            else effective_threshold(rule, catalogue),
            condition=rule.condition,
            severity=rule.severity,
            since=held_since,
            at=row["at"],
            measure=_measure_label(rule, catalogue),
            detail=(details or {}).get((rule.id, country), "") or str(row["message"]),
            contributors=_contributors(panel, catalogue, country),
            link=link,
            event_id=event_id,
        )
        channel = chosen.get(str(row["channel"]))
        if channel is None:
            result = (
                DeliveryResult(str(row["channel"]), "skipped", 0, "channel disabled in config")
                if row["channel"] in disabled
                else DeliveryResult(
                    str(row["channel"]), "failed", 0, f"unknown channel {row['channel']!r}"
                )
            )
        else:
            result = deliver(
                channel, notice, attempts=attempts, backoff_seconds=backoff_seconds, sleep=sleep
            )
        with store.begin_write(engine) as connection:
            connection.execute(
                n.update()
                .where(n.c.id == row["id"])
                .values(
                    status=result.status,
                    attempts=result.attempts,
                    error=result.error,
                    at=_utcnow() if now is None else moment,
                )
            )
        records.append(DeliveryRecord(int(row["id"]), event_id, rule.id, country, result))
    return records


# --------------------------------------------------------------------------------------------
# Replay: which rules would have fired when, with the same evaluator


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
