"""Alert rules as data and their pure evaluator: parse, validate, measure, step the state machine.

Vocabulary borrowed from Grafana/Prometheus alerting (see docs/ARCHITECTURE.md and the anchors):
a *rule* is evaluated per country in its scope; each (rule, country) pair is an *instance* with a
persisted `RuleState`. One evaluation of an instance is `step`:

    ok ──breach──▶ pending ──breach × pending_evaluations──▶ firing ──recovered──▶ resolved ──▶ ok
     ▲               │ no breach                               │  ▲ still not recovered:
     └───────────────┘                                         └──┘ re-notify every renotify_hours

* **breach** — the measured value is strictly past `threshold` (`above`: value > threshold).
* **pending** — the breach must hold for `pending_evaluations` consecutive evaluations before the
  instance fires (Prometheus `for:`); with 1 it fires at the first breach.
* **recovered** — a firing instance resolves only once the value is back on the safe side of
  `recovery` (`above`: value ≤ recovery). Between `recovery` and `threshold` it keeps firing, so a
  value hovering at the line does not flap (Grafana's custom recovery threshold).
* **resolved** lasts one evaluation, then the instance is `ok` again (or pending/firing anew).
* **notify** on entering firing, on a still-firing instance once `renotify_hours` have passed since
  the last notification, and on resolving (only if the firing was notified). A *silenced* instance
  changes state and records history exactly the same way but notifies nobody; a firing instance
  whose firing was never notified (it was silenced) is notified when the silence ends.
* **no data** (value None/NaN) leaves the state untouched: missing data is what `stale` rules
  are for.

No I/O here: the service (`flashpoint.alerts`) loads states, calls `evaluate`, persists the
result and sends the notifications.

The package (this module re-exports the public API of all of it): `model` (the rule, state and
event types), `parsing` (parse, validate, effective thresholds), `state_machine` (`step`,
`evaluate`, `is_silenced`) and `measurement` (`measure`).
"""

from __future__ import annotations

from indicators.alert_rules.measurement import measure
from indicators.alert_rules.model import (
    ALLOWED_TARGETS,
    DEFAULT_SOURCE_MAX_AGE_DAYS,
    WATCHED,
    WORLD_INSTANCE,
    AlertEvent,
    AlertRule,
    Condition,
    EvaluationResult,
    FieldError,
    Measurement,
    NotificationDue,
    RuleKind,
    RuleState,
    Severity,
    Silence,
    StateName,
    Transition,
)
from indicators.alert_rules.parsing import (
    effective_threshold,
    parse_rule,
    rule_to_definition,
    validate_rule,
)
from indicators.alert_rules.state_machine import evaluate, is_silenced, step

__all__ = [
    "ALLOWED_TARGETS",
    "DEFAULT_SOURCE_MAX_AGE_DAYS",
    "WATCHED",
    "WORLD_INSTANCE",
    "AlertEvent",
    "AlertRule",
    "Condition",
    "EvaluationResult",
    "FieldError",
    "Measurement",
    "NotificationDue",
    "RuleKind",
    "RuleState",
    "Severity",
    "Silence",
    "StateName",
    "Transition",
    "effective_threshold",
    "evaluate",
    "is_silenced",
    "measure",
    "parse_rule",
    "rule_to_definition",
    "step",
    "validate_rule",
]
