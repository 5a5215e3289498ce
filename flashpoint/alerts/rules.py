"""Effective alert rules: the config's defaults overridden by audited rows in `alert_rules`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from flashpoint import store
from flashpoint.alerts.clock import _naive, _utcnow
from flashpoint.alerts.history import _reading
from flashpoint.config import Settings, iso3_countries
from indicators.alert_rules import (
    AlertRule,
    FieldError,
    parse_rule,
    rule_to_definition,
    validate_rule,
)

# Fields whose change alters what a rule means: changing one resets the rule's instances to ok.
_EVALUATION_FIELDS: Final = (
    "kind",
    "target",
    "scope",
    "condition",
    "threshold",
    "recovery",
    "window_days",
    "margin",
    "pending_evaluations",
)


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
