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

The package, along those seams (this module re-exports the public API of all of them): `rules`
(effective rules, audited overrides), `silences`, `history` (reading states, events and
notifications), `measuring` (scored panels and rule measurement per day, shared by evaluation
and replay), `evaluation` (`evaluate_alerts`, step 1), `delivery` (`deliver_pending`, step 2),
`replay` (`replay_alerts`) and `clock` (naive-UTC time).
"""

from __future__ import annotations

from flashpoint.alerts.delivery import SENDING_TIMEOUT, DeliveryRecord, deliver_pending
from flashpoint.alerts.evaluation import EvaluationReport, evaluate_alerts
from flashpoint.alerts.history import (
    EVENT_COLUMNS,
    read_alert_events,
    read_alert_states,
    read_notifications,
)
from flashpoint.alerts.replay import REPLAY_COLUMNS, replay_alerts
from flashpoint.alerts.rules import (
    RuleEntry,
    config_rules,
    delete_rule,
    effective_rules,
    load_rule_entries,
    reset_rule_to_config,
    save_rule,
    set_rule_enabled,
    validate_definition,
)
from flashpoint.alerts.silences import add_silence, expire_silence, read_silences

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
