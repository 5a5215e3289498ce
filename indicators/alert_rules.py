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
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Final, Literal, get_args

import numpy as np
import pandas as pd

from indicators.catalogue import Catalogue, Indicator
from indicators.scoring import PanelScore

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

RuleKind = Literal["level", "change", "spike", "stale", "band_change"]
Condition = Literal["above", "below"]
Severity = Literal["info", "warning", "critical"]
StateName = Literal["ok", "pending", "firing", "resolved"]

WATCHED: Final = "watched"
# Source-staleness rules are not about a country: they have one instance under this pseudo-country.
WORLD_INSTANCE: Final = "WLD"
# A `stale` rule on a source without a threshold fires after this many days without a good run.
DEFAULT_SOURCE_MAX_AGE_DAYS: Final = 7.0

# Which targets each kind may watch (the same table `flashpoint.config` enforces on config.toml).
ALLOWED_TARGETS: Final[Mapping[str, tuple[str, ...]]] = {
    "level": ("composite", "pillar", "indicator"),
    "change": ("composite", "pillar", "indicator"),
    "spike": ("indicator",),
    "stale": ("indicator", "source"),
    "band_change": ("composite",),
}
_KINDS_NEEDING_THRESHOLD: Final = ("level", "change", "spike")
_RULE_ID = re.compile(r"[a-z][a-z0-9_]*")
_ISO3 = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True)
class FieldError:
    """A problem with one field of a rule definition, for a form or a CLI message."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True)
class AlertRule:
    """One alert rule (see `flashpoint.config.AlertRule` for the documented config keys).

    `threshold` is in the unit of what the kind measures: the 0–10 score (composite, pillar), the
    indicator's raw unit (level on an indicator, e.g. `fuel_price_step` in %), % change (change on
    an indicator) or score points (change on composite/pillar), z (spike), days (stale) and bands
    (band_change). None is allowed only for stale (→ the indicator's `max_age_days`, or
    `DEFAULT_SOURCE_MAX_AGE_DAYS` for a source) and band_change (→ 0: any move).
    """

    id: str
    name: str = ""
    kind: RuleKind = "level"
    target: str = "composite"
    scope: tuple[str, ...] = (WATCHED,)
    condition: Condition = "above"
    threshold: float | None = None
    recovery: float | None = None
    window_days: int = 30
    pending_evaluations: int = 1
    renotify_hours: float = 24.0
    severity: Severity = "warning"
    channels: tuple[str, ...] = ("log",)
    enabled: bool = True
    description: str = ""

    @property
    def title(self) -> str:
        """The name shown to people (the id when no name is set)."""
        return self.name or self.id

    @property
    def target_kind(self) -> str:
        """`composite`, `pillar`, `indicator` or `source`."""
        return self.target.split(":", 1)[0]

    @property
    def target_id(self) -> str:
        """The id after the colon (`""` for `composite`)."""
        return self.target.split(":", 1)[1] if ":" in self.target else ""

    def countries(self, watched: Iterable[str]) -> tuple[str, ...]:
        """The ISO3 codes this rule covers (`watched` expanded); source rules have one instance."""
        if self.target_kind == "source":
            return (WORLD_INSTANCE,)
        out: list[str] = []
        watched = tuple(watched)
        for item in self.scope:
            for code in watched if item == WATCHED else (item,):
                if code not in out:
                    out.append(code)
        return tuple(out)


@dataclass(frozen=True)
class RuleState:
    """The persisted state of one (rule, country) instance."""

    state: StateName = "ok"
    since: datetime | None = None
    pending_count: int = 0
    last_value: float | None = None
    last_evaluated_at: datetime | None = None
    last_notified_at: datetime | None = None


@dataclass(frozen=True)
class Silence:
    """Mute a rule, a country, or one rule in one country, until a moment (exclusive)."""

    rule_id: str | None
    country: str | None
    until: datetime
    comment: str = ""
    created_by: str = ""
    created_at: datetime | None = None
    id: int | None = None

    def matches(self, rule_id: str, country: str, now: datetime) -> bool:
        """Whether this silence mutes instance (rule_id, country) at `now`."""
        if now >= self.until:
            return False
        if self.created_at is not None and now < self.created_at:
            return False
        return (self.rule_id is None or self.rule_id == rule_id) and (
            self.country is None or self.country == country
        )


@dataclass(frozen=True)
class Measurement:
    """The value a rule watches for one country, with a human-readable detail for messages."""

    value: float | None
    detail: str = ""


@dataclass(frozen=True)
class AlertEvent:
    """One recorded state change (or re-notification) of an instance."""

    rule_id: str
    country: str
    at: datetime
    from_state: StateName
    to_state: StateName
    value: float | None
    threshold: float | None
    message: str
    notify: bool = False
    silenced: bool = False
    # Since when the condition has held (pending/firing start); for a new state, the event time.
    since: datetime | None = None


@dataclass(frozen=True)
class Transition:
    """What one evaluation of one instance did."""

    new_state: RuleState
    notify: bool
    event: AlertEvent | None


@dataclass(frozen=True)
class NotificationDue:
    """A notification the service must send: the event, its rule and where to send it."""

    event: AlertEvent
    rule: AlertRule
    channels: tuple[str, ...]
    detail: str = ""


@dataclass(frozen=True)
class EvaluationResult:
    """The outcome of evaluating every instance once."""

    states: dict[tuple[str, str], RuleState]
    events: list[AlertEvent] = field(default_factory=list)
    notifications: list[NotificationDue] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Parsing and validation


_FIELDS: Final = frozenset(AlertRule.__dataclass_fields__)


def _as_number(value: object) -> float | None:
    """A finite float from a number or numeric text; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip().replace(",", "."))
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _as_int(value: object) -> int | None:
    number = _as_number(value)
    if number is None or not number.is_integer():
        return None
    return int(number)


def _as_names(value: object) -> tuple[str, ...] | None:
    if isinstance(value, str):
        parts = [part.strip() for part in value.replace(";", ",").split(",")]
        return tuple(part for part in parts if part)
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return tuple(str(item).strip() for item in value if str(item).strip())
    return None


def parse_rule(definition: Mapping[str, Any]) -> tuple[AlertRule | None, list[FieldError]]:
    """Build a rule from a loose definition (config entry, stored JSON or form values).

    Types are checked here (a threshold of "abc" is refused as `threshold`); meaning is checked
    by `validate_rule`. Numeric text ("25", "2,5") is accepted, as a form would send it; empty
    text for `threshold`/`recovery` means "not set".

    Args:
        definition: field name → value; unknown field names are errors.

    Returns:
        (the rule, []) or (None, the errors naming each bad field).
    """
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    for key in definition:
        if key not in _FIELDS:
            errors.append(FieldError(str(key), "unknown field"))
    for key in ("id", "name", "target", "description"):
        if key in definition:
            raw = definition[key]
            if isinstance(raw, str):
                values[key] = raw.strip()
            else:
                errors.append(FieldError(key, f"must be text, got {raw!r}"))
    literal_fields: dict[str, tuple[str, ...]] = {
        "kind": get_args(RuleKind),
        "condition": get_args(Condition),
        "severity": get_args(Severity),
    }
    for key, allowed in literal_fields.items():
        if key in definition:
            raw = definition[key]
            if raw in allowed:
                values[key] = raw
            else:
                errors.append(FieldError(key, f"must be one of {', '.join(allowed)}; got {raw!r}"))
    for key in ("threshold", "recovery"):
        if key in definition:
            raw = definition[key]
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                values[key] = None
                continue
            number = _as_number(raw)
            if number is None:
                errors.append(FieldError(key, f"must be a number, got {raw!r}"))
            else:
                values[key] = number
    if "renotify_hours" in definition:
        number = _as_number(definition["renotify_hours"])
        if number is None:
            errors.append(
                FieldError(
                    "renotify_hours", f"must be a number, got {definition['renotify_hours']!r}"
                )
            )
        else:
            values["renotify_hours"] = number
    for key in ("window_days", "pending_evaluations"):
        if key in definition:
            integer = _as_int(definition[key])
            if integer is None:
                errors.append(FieldError(key, f"must be a whole number, got {definition[key]!r}"))
            else:
                values[key] = integer
    for key in ("scope", "channels"):
        if key in definition:
            names = _as_names(definition[key])
            if names is None:
                errors.append(FieldError(key, f"must be a list of names, got {definition[key]!r}"))
            else:
                values[key] = names
    if "enabled" in definition:
        if isinstance(definition["enabled"], bool):
            values["enabled"] = definition["enabled"]
        else:
            errors.append(
                FieldError("enabled", f"must be true or false, got {definition['enabled']!r}")
            )
    if "id" not in values and not any(error.field == "id" for error in errors):
        errors.append(FieldError("id", "every rule needs an id"))
    if errors:
        return None, errors
    return AlertRule(**values), []


def rule_to_definition(rule: AlertRule) -> dict[str, Any]:
    """The JSON-serialisable definition stored in `alert_rules.definition` and the audit log."""
    data = asdict(rule)
    data["scope"] = list(rule.scope)
    data["channels"] = list(rule.channels)
    return data


def validate_rule(
    rule: AlertRule,
    catalogue: Catalogue,
    *,
    sources: Collection[str] | None = None,
    channels: Collection[str] | None = None,
    countries: Collection[str] | None = None,
) -> list[FieldError]:
    """Everything wrong with a rule's meaning, each error naming its field.

    Args:
        rule: the parsed rule.
        catalogue: indicators and pillars a target may name.
        sources: source names a `source:<name>` target may name (default: the catalogue's).
        channels: configured channel names (None: not checked).
        countries: ISO3 codes a scope may name (None: any three capital letters).

    Returns:
        The errors; empty when the rule is valid.
    """
    errors: list[FieldError] = []
    if not _RULE_ID.fullmatch(rule.id):
        errors.append(
            FieldError(
                "id",
                f"{rule.id!r} is not a valid id (lower-case letters, digits and underscores, "
                "starting with a letter)",
            )
        )
    target_error = _target_error(rule, catalogue, sources)
    if target_error:
        errors.append(FieldError("target", target_error))
    if rule.threshold is None and rule.kind in _KINDS_NEEDING_THRESHOLD:
        errors.append(FieldError("threshold", f"a {rule.kind} rule needs a threshold"))
    for name in ("threshold", "recovery"):
        number = getattr(rule, name)
        if number is not None and (isinstance(number, bool) or not isinstance(number, int | float)):
            errors.append(FieldError(name, f"must be a number, got {number!r}"))
        elif number is not None and not math.isfinite(number):
            errors.append(FieldError(name, "must be a finite number"))
    if (
        isinstance(rule.threshold, int | float)
        and isinstance(rule.recovery, int | float)
        and not any(error.field in ("threshold", "recovery") for error in errors)
    ):
        wrong = (
            rule.recovery > rule.threshold
            if rule.condition == "above"
            else rule.recovery < rule.threshold
        )
        if wrong:
            safe = "at or below" if rule.condition == "above" else "at or above"
            errors.append(
                FieldError(
                    "recovery",
                    f"recovery ({rule.recovery:g}) must be {safe} the threshold "
                    f"({rule.threshold:g}) for a rule that fires {rule.condition} it",
                )
            )
    if rule.kind == "stale" and rule.condition != "above":
        errors.append(FieldError("condition", "a stale rule fires when data is older: use above"))
    if rule.window_days < 1:
        errors.append(FieldError("window_days", "must be at least 1"))
    if rule.pending_evaluations < 1:
        errors.append(FieldError("pending_evaluations", "must be at least 1"))
    if rule.renotify_hours < 0:
        errors.append(FieldError("renotify_hours", "must be 0 (never) or more"))
    if not rule.scope and rule.target_kind != "source":
        errors.append(FieldError("scope", 'name at least one country, or "watched"'))
    for item in rule.scope:
        if item == WATCHED:
            continue
        if not _ISO3.fullmatch(item) or (countries is not None and item not in countries):
            errors.append(FieldError("scope", f"{item!r} is not a known ISO3 country code"))
    if channels is not None:
        for name in rule.channels:
            if name not in channels:
                known = ", ".join(sorted(channels)) or "none"
                errors.append(
                    FieldError("channels", f"unknown channel {name!r} (defined: {known})")
                )
    return errors


def _target_error(rule: AlertRule, catalogue: Catalogue, sources: Collection[str] | None) -> str:
    kind, target_id = rule.target_kind, rule.target_id
    if rule.target == "composite":
        pass
    elif kind == "pillar":
        if target_id not in {pillar.id for pillar in catalogue.pillars}:
            return f"unknown pillar {target_id!r}"
    elif kind == "indicator":
        if target_id not in {indicator.id for indicator in catalogue.indicators}:
            return f"unknown indicator {target_id!r}"
    elif kind == "source":
        known = set(sources) if sources is not None else _catalogue_sources(catalogue)
        if target_id != "*" and target_id not in known:
            return f"unknown source {target_id!r}"
    else:
        return (
            f"{rule.target!r} is not a target: use composite, pillar:<id>, indicator:<id> "
            "or source:<name>"
        )
    allowed = ALLOWED_TARGETS.get(rule.kind, ())
    if kind not in allowed:
        return f"a {rule.kind} rule cannot watch a {kind} (use: {', '.join(allowed)})"
    return ""


def _catalogue_sources(catalogue: Catalogue) -> set[str]:
    return {indicator.source for indicator in catalogue.indicators if indicator.source != "derived"}


def effective_threshold(rule: AlertRule, catalogue: Catalogue | None = None) -> float:
    """The threshold `step` compares against, with the documented defaults filled in."""
    if rule.threshold is not None:
        return float(rule.threshold)
    if rule.kind == "stale":
        if rule.target_kind == "indicator" and catalogue is not None:
            try:
                return float(catalogue.indicator(rule.target_id).max_age_days)
            except KeyError:
                pass
        return DEFAULT_SOURCE_MAX_AGE_DAYS
    return 0.0


def _effective_recovery(rule: AlertRule, threshold: float) -> float:
    return threshold if rule.recovery is None else float(rule.recovery)


# --------------------------------------------------------------------------------------------
# The state machine


def _breaches(condition: Condition, value: float, threshold: float) -> bool:
    return value > threshold if condition == "above" else value < threshold


def _recovered(condition: Condition, value: float, recovery: float) -> bool:
    return value <= recovery if condition == "above" else value >= recovery


def _describe(rule: AlertRule, country: str, value: float, threshold: float, what: str) -> str:
    sign = ">" if rule.condition == "above" else "<"
    return f"{rule.title} [{country}]: {what}; value {value:.4g} (threshold {sign} {threshold:g})"


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
    if value is None or not math.isfinite(value):
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


# --------------------------------------------------------------------------------------------
# Measuring: the value each rule watches, per country, from a scored panel and the visible series

# A spike needs at least this many earlier observations inside the rule's window.
SPIKE_MIN_HISTORY: Final = 6
# Floor of the baseline standard deviation for spikes on log1p-transformed non-negative series.
SPIKE_MIN_SD: Final = 0.1


def _band_ranks(catalogue: Catalogue) -> dict[str, int]:
    ordered = sorted(catalogue.bands, key=lambda band: band.lower)
    return {band.name: rank for rank, band in enumerate(ordered)}


def _finite(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _day(moment: object) -> str:
    stamp = pd.Timestamp(moment)  # type: ignore[arg-type]
    return "?" if pd.isna(stamp) else stamp.strftime("%Y-%m-%d")


def measure(
    rule: AlertRule,
    catalogue: Catalogue,
    *,
    panel: PanelScore,
    countries: Sequence[str],
    pool: pd.DataFrame | None = None,
    earlier: PanelScore | None = None,
    source_ages: Mapping[str, float | None] | None = None,
) -> dict[str, Measurement]:
    """The value `rule` watches for each country, as of `panel.as_of`.

    What is measured, by kind and target:

    * level — composite or pillar: the 0–10 score. indicator: the latest visible **raw** value in
      the indicator's unit (what users set thresholds on, e.g. `fuel_price_step` 25 %); a value
      older than the indicator's `max_age_days` is no data, and a `step_change` indicator whose
      latest step is older than its own window reads 0 (no step inside the window any more).
    * change — indicator: % change of the latest visible value against the value in force
      `window_days` before `as_of` (or, when the series starts inside the window, its first value
      there); no data when that value is older than the indicator's `max_age_days` (a sparse
      series cannot say what was in force then); composite or pillar: the change in score points
      against `earlier`.
    * spike — z-score of the latest value against the same series' observations in the
      `window_days` before it (log1p-transformed when the series is never negative, like counts).
    * stale — indicator: days from the end of the latest visible period to `as_of`; source: days
      since the last successful fetch run (`source_ages`), one instance under `WORLD_INSTANCE`.
    * band_change — band rank now minus the band rank in `earlier` (+1 = one band up).

    A country with nothing to measure is absent or has a None value (the state is kept).

    Args:
        rule: the rule.
        catalogue: indicators (units, maximum ages, windows) and bands.
        panel: the panel scored as of the evaluation day.
        countries: the rule's countries (its scope, expanded).
        pool: visible rows (base and derived, with `published`) as of `panel.as_of`; needed by
            change and spike rules on indicators and for the detail of step changes.
        earlier: the panel scored `rule.window_days` before (change on scores, band_change).
        source_ages: source name → days since its last successful run (None: never succeeded).

    Returns:
        country → `Measurement(value, detail)`.
    """
    kind, target = rule.target_kind, rule.target_id
    if rule.kind == "stale" and kind == "source":
        return {WORLD_INSTANCE: _source_staleness(rule, target, source_ages or {})}
    if kind == "indicator":
        try:
            indicator = catalogue.indicator(target)
        except KeyError:
            return {}
        if rule.kind == "level":
            return _indicator_level(rule, indicator, panel, countries, pool)
        if rule.kind == "stale":
            return _indicator_age(indicator, panel, countries)
        if rule.kind in ("change", "spike"):
            series = _series(pool, indicator.id, countries, panel.as_of)
            if rule.kind == "change":
                return _indicator_change(rule, indicator, series, panel.as_of)
            return _indicator_spike(rule, indicator, series, panel.as_of)
        return {}
    scores_now = _scores(panel, rule)
    if rule.kind == "level":
        return {
            country: Measurement(scores_now.get(country), _score_detail(rule, panel, country))
            for country in countries
            if country in scores_now
        }
    if earlier is None:
        return {}
    if rule.kind == "change":
        scores_then = _scores(earlier, rule)
        out: dict[str, Measurement] = {}
        for country in countries:
            now, then = scores_now.get(country), scores_then.get(country)
            value = None if now is None or then is None else now - then
            detail = (
                f"{_what(rule)} {_fmt(then)} on {_day(earlier.as_of)} → {_fmt(now)} on "
                f"{_day(panel.as_of)}"
            )
            out[country] = Measurement(value, detail)
        return out
    if rule.kind == "band_change":
        ranks = _band_ranks(catalogue)
        out = {}
        for country in countries:
            band_now = _band_of(panel, country)
            band_then = _band_of(earlier, country)
            rank_now, rank_then = ranks.get(band_now or ""), ranks.get(band_then or "")
            value = None if rank_now is None or rank_then is None else float(rank_now - rank_then)
            detail = (
                f"band {band_then} on {_day(earlier.as_of)} → {band_now} on {_day(panel.as_of)}"
            )
            out[country] = Measurement(value, detail)
        return out
    return {}


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _what(rule: AlertRule) -> str:
    return "composite" if rule.target == "composite" else f"pillar {rule.target_id}"


def _scores(panel: PanelScore, rule: AlertRule) -> dict[str, float | None]:
    if rule.target == "composite":
        column = panel.countries["composite"]
        return {str(country): _finite(value) for country, value in column.items()}
    pillars = panel.pillars[panel.pillars["pillar"] == rule.target_id]
    return {
        str(country): _finite(score)
        for country, score in zip(pillars["country"], pillars["score"], strict=True)
    }


def _band_of(panel: PanelScore, country: str) -> str | None:
    if country not in panel.countries.index:
        return None
    band = panel.countries.at[country, "band"]
    return str(band) if isinstance(band, str) else None


def _score_detail(rule: AlertRule, panel: PanelScore, country: str) -> str:
    if country not in panel.countries.index:
        return ""
    row = panel.countries.loc[country]
    if rule.target == "composite":
        return (
            f"composite {_fmt(_finite(row['composite']))} (band {row['band']}), {row['confidence']}"
        )
    return f"{_what(rule)}; composite {_fmt(_finite(row['composite']))} (band {row['band']})"


def _latest_rows(panel: PanelScore, indicator_id: str, countries: Sequence[str]) -> pd.DataFrame:
    """Latest rows of one indicator for `countries`; a world-only series is measured on WLD."""
    rows = panel.latest[panel.latest["indicator"] == indicator_id]
    own = rows[rows["country"].isin(list(countries))]
    if own.empty and (rows["country"] == WORLD_INSTANCE).any():
        return rows[rows["country"] == WORLD_INSTANCE]
    return own


def _indicator_level(
    rule: AlertRule,
    indicator: Indicator,
    panel: PanelScore,
    countries: Sequence[str],
    pool: pd.DataFrame | None,
) -> dict[str, Measurement]:
    out: dict[str, Measurement] = {}
    rows = _latest_rows(panel, indicator.id, countries)
    for row in rows.itertuples(index=False):
        value = _finite(row.value)
        age = _finite(row.age_days)
        country = str(row.country)
        if value is None or (age is not None and age > indicator.max_age_days):
            out[country] = Measurement(None, f"{indicator.id}: no value within its maximum age")
            continue
        if (
            indicator.derivation == "step_change"
            and age is not None
            and age > indicator.window_days
        ):
            out[country] = Measurement(
                0.0, f"{indicator.id}: no step within {indicator.window_days} days"
            )
            continue
        detail = f"{indicator.id} {value:.4g} {indicator.unit} ({_day(row.period)})"
        if indicator.derivation == "step_change" and pool is not None:
            until = pd.Timestamp(str(row.period))
            detail = _step_detail(indicator, pool, country, until) or detail
        out[country] = Measurement(value, detail)
    return out


def _step_detail(
    indicator: Indicator, pool: pd.DataFrame, country: str, until: pd.Timestamp
) -> str:
    """The largest step behind a step change, e.g. `fuel_lpg_retail 55 → 120 KZT/litre (…)`."""
    start = until - pd.Timedelta(days=indicator.window_days)
    rows = pool[
        pool["indicator"].isin(list(indicator.derived_from))
        & (pool["country"] == country)
        & (pool["period"] <= until)
    ].sort_values(["indicator", "period"], kind="mergesort")
    if rows.empty:
        return ""
    previous_value = rows.groupby("indicator", sort=False)["value"].shift(1)
    previous_period = rows.groupby("indicator", sort=False)["period"].shift(1)
    gap_ok = (rows["period"] - previous_period) <= pd.Timedelta(days=indicator.window_days)
    step = ((rows["value"] / previous_value - 1.0) * 100.0).where(
        gap_ok & (rows["period"] > start) & (previous_value > 0)
    )
    steps = step.to_numpy(dtype="float64")
    if np.isnan(steps).all():
        return ""
    best = int(np.nanargmax(steps))
    row = rows.iloc[best]
    return (
        f"{row['indicator']} {previous_value.iloc[best]:.4g} → {row['value']:.4g} {row['unit']} "
        f"({_day(previous_period.iloc[best])} → {_day(row['period'])}, {steps[best]:+.0f} %)"
    )


def _indicator_age(
    indicator: Indicator, panel: PanelScore, countries: Sequence[str]
) -> dict[str, Measurement]:
    rows = _latest_rows(panel, indicator.id, countries)
    return {
        str(row.country): Measurement(
            _finite(row.age_days),
            f"{indicator.id}: latest period {_day(row.period)}, maximum age "
            f"{indicator.max_age_days} days",
        )
        for row in rows.itertuples(index=False)
    }


def _series(
    pool: pd.DataFrame | None, indicator_id: str, countries: Sequence[str], as_of: pd.Timestamp
) -> pd.DataFrame:
    if pool is None or pool.empty:
        return pd.DataFrame(columns=["country", "period", "value", "unit"])
    rows = pool[(pool["indicator"] == indicator_id) & (pool["period"] <= as_of)]
    own = rows[rows["country"].isin(list(countries))]
    if own.empty and (rows["country"] == WORLD_INSTANCE).any():
        own = rows[rows["country"] == WORLD_INSTANCE]
    return own.sort_values(["country", "period"], kind="mergesort")


def _indicator_change(
    rule: AlertRule, indicator: Indicator, series: pd.DataFrame, as_of: pd.Timestamp
) -> dict[str, Measurement]:
    out: dict[str, Measurement] = {}
    window_start = as_of - pd.Timedelta(days=rule.window_days)
    for country, rows in series.groupby("country", sort=True):
        now = rows.iloc[-1]
        before = rows[rows["period"] <= window_start]
        inside = rows[rows["period"] > window_start]
        baseline = before.iloc[-1] if not before.empty else inside.iloc[0]
        baseline_age = (window_start - pd.Timestamp(baseline["period"])).days
        if baseline_age > indicator.max_age_days:
            # A sparse series (regulated prices reported now and then) says nothing about the
            # price in force a window ago when its last point is older than the indicator's
            # max age: comparing with it would call a two-year drift a one-month jump.
            out[str(country)] = Measurement(
                None,
                f"{indicator.id}: no baseline — the value in force {rule.window_days} d ago "
                f"dates from {_day(baseline['period'])}, older than the maximum age of "
                f"{indicator.max_age_days} days",
            )
            continue
        now_value, base_value = _finite(now["value"]), _finite(baseline["value"])
        if now_value is None or base_value is None or base_value == 0:
            out[str(country)] = Measurement(None, f"{indicator.id}: no baseline")
            continue
        change = (now_value / base_value - 1.0) * 100.0
        detail = (
            f"{indicator.id} {base_value:.4g} ({_day(baseline['period'])}) → {now_value:.4g} "
            f"{indicator.unit} ({_day(now['period'])}), {change:+.1f} % in {rule.window_days} d"
        )
        out[str(country)] = Measurement(change, detail)
    return out


def _indicator_spike(
    rule: AlertRule, indicator: Indicator, series: pd.DataFrame, as_of: pd.Timestamp
) -> dict[str, Measurement]:
    out: dict[str, Measurement] = {}
    for country, rows in series.groupby("country", sort=True):
        latest = rows.iloc[-1]
        latest_period = pd.Timestamp(latest["period"])
        if (as_of - latest_period).days > indicator.max_age_days:
            out[str(country)] = Measurement(None, f"{indicator.id}: latest value is stale")
            continue
        window_start = latest_period - pd.Timedelta(days=rule.window_days)
        history = rows[(rows["period"] < latest_period) & (rows["period"] >= window_start)]
        if len(history) < SPIKE_MIN_HISTORY:
            out[str(country)] = Measurement(
                None, f"{indicator.id}: {len(history)} earlier values, {SPIKE_MIN_HISTORY} needed"
            )
            continue
        values = history["value"].to_numpy(dtype="float64")
        current = float(latest["value"])
        # Counts are skewed: compare them on log1p, where a flat baseline cannot explode the z.
        logged = bool((values >= 0).all() and current >= 0)
        base = np.log1p(values) if logged else values
        point = math.log1p(current) if logged else current
        spread = float(np.std(base, ddof=1))
        floor = SPIKE_MIN_SD if logged else 1e-9 * max(1.0, abs(float(np.mean(base))))
        z = (point - float(np.mean(base))) / max(spread, floor)
        detail = (
            f"{indicator.id} {current:.4g} {indicator.unit} ({_day(latest_period)}) against a mean "
            f"of {float(np.mean(values)):.4g} over {len(history)} earlier values: z {z:.2f}"
        )
        out[str(country)] = Measurement(z, detail)
    return out


def _source_staleness(
    rule: AlertRule, target: str, source_ages: Mapping[str, float | None]
) -> Measurement:
    if target != "*":
        age = source_ages.get(target)
        detail = (
            f"source {target}: never succeeded"
            if age is None
            else f"source {target}: last successful run {age:.1f} days ago"
        )
        return Measurement(age, detail)
    known = {name: age for name, age in source_ages.items() if age is not None}
    if not known:
        return Measurement(None, "no source has run yet")
    worst = max(known.values())
    limit = rule.threshold if rule.threshold is not None else DEFAULT_SOURCE_MAX_AGE_DAYS
    late = sorted((name for name, age in known.items() if age > limit), key=lambda n: -known[n])
    listing = ", ".join(f"{name} {known[name]:.1f} d" for name in late) or "none over the limit"
    return Measurement(worst, f"days since the last successful run: {listing}")
