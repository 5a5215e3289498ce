"""The alert vocabulary: rule kinds, `AlertRule`, instance state, events and evaluation results."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal

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
    "stale": ("indicator", "source", "trigger"),
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

    `margin` (band_change only, score points): a rise counts only once the composite is this far
    inside the higher band, so a score hovering at a band's edge does not fire on every wobble
    (the band rule's hysteresis; 0 = any crossing).
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
    margin: float = 0.0
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
        """`composite`, `pillar`, `indicator`, `source` or `trigger`."""
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
