"""`[[alerts.rules]]` and `[notifications.channels.*]`: alert rules and where notifications go."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Literal, Union

from pydantic import AfterValidator, BeforeValidator, Field

from flashpoint.config.base import (
    MAX_TIMEOUT_SECONDS,
    WATCHED,
    ConfigModel,
    EnvName,
    Identifier,
    ScopeItem,
    _scope_from_toml,
)
from flashpoint.config.defaults import _default_document

AlertKind = Literal["level", "change", "spike", "stale", "band_change"]
_KINDS_NEEDING_THRESHOLD: tuple[str, ...] = ("level", "change", "spike")


class AlertRule(ConfigModel):
    """One `[[alerts.rules]]` entry, evaluated per country in scope after every scoring.

    kind:
      level        the target's latest value is above/below `threshold`
      change       its % change over `window_days` is above/below `threshold`
      spike        z-score of its latest value against its own trailing history ≥ `threshold`
      stale        the target has no new data for more than `threshold` days
                   (indicator: defaults to its `max_age_days`; source: days since the last
                   successful fetch run, never fetched = always; trigger: days the trigger
                   has been blind, never seen = always, not blind = 0)
      band_change  the composite band moved up (`above`) or down (`below`) against window_days ago
    target: `composite` (0–10 score), `pillar:<id>` (0–10 score), `indicator:<id>` (the raw
      value in its unit), `source:<name>` or `source:*` (every enabled source; stale only),
      `trigger` (the country's trigger state; stale only).
    """

    id: Identifier = Field(default="", description="Unique rule id.")
    name: str = Field(default="", description="Human-readable name used in notifications.")
    description: str = Field(default="", description="Why the rule exists.")
    kind: AlertKind = Field(default="level", description="What is compared (see above).")
    target: str = Field(default="composite", description="What the rule watches (see above).")
    scope: Annotated[list[ScopeItem], BeforeValidator(_scope_from_toml)] = Field(
        default_factory=lambda: [WATCHED],
        description='ISO3 codes, or "watched" for every watched country.',
    )
    condition: Literal["above", "below"] = Field(
        default="above", description="Fire when the measure is above or below `threshold`."
    )
    threshold: float | None = Field(
        default=None, description="Level, % change, z or days (by kind)."
    )
    recovery: float | None = Field(
        default=None,
        description="Resolve only once the measure is back past this value (hysteresis); must "
        "be on the safe side of `threshold`. Absent: resolve at `threshold`.",
    )
    window_days: int = Field(
        default=30, ge=1, description="change, spike, band_change: the comparison window, days."
    )
    margin: float = Field(
        default=0.0,
        ge=0,
        le=1.5,
        description="band_change only: score points the composite must be inside the higher "
        "band before a rise counts (hysteresis at a band's edge); 0 = any crossing.",
    )
    pending_evaluations: int = Field(
        default=1, ge=1, description="Consecutive breaching evaluations before it fires."
    )
    renotify_hours: float = Field(
        default=24.0, ge=0, description="Repeat a notification while firing; 0 = never."
    )
    severity: Literal["info", "warning", "critical"] = Field(
        default="warning", description="Severity shown in notifications."
    )
    channels: list[str] = Field(
        default_factory=lambda: ["log"], description="Channel names (`[notifications.channels.*]`)."
    )
    enabled: bool = Field(default=True, description="Disabled rules are not evaluated.")

    def countries(self, watched: Iterable[str]) -> list[str]:
        """The ISO3 codes this rule covers, with "watched" expanded to `watched`."""
        out: list[str] = []
        for item in self.scope:
            for code in watched if item == WATCHED else (item,):
                if code not in out:
                    out.append(code)
        return out

    @property
    def target_kind(self) -> str:
        """`composite`, `pillar`, `indicator` or `source`."""
        return self.target.split(":", 1)[0]

    @property
    def target_id(self) -> str:
        """The id after the colon (`""` for `composite`)."""
        return self.target.split(":", 1)[1] if ":" in self.target else ""


class AlertsSettings(ConfigModel):
    """`[alerts]`: the configured rules (admins may override them in the dashboard)."""

    rules: list[AlertRule] = Field(
        default_factory=lambda: _default_rules(), description="The alert rules."
    )


class ChannelBase(ConfigModel):
    """Settings every notification channel has."""

    enabled: bool = Field(default=True, description="Disabled channels send nothing.")


class LogChannel(ChannelBase):
    """`type = "log"`: writes each notification to the `flashpoint.alerts` logger."""

    type: Literal["log"] = Field(default="log", description="Channel type.")
    level: Literal["INFO", "WARNING", "ERROR"] = Field(
        default="WARNING", description="Log level of the message."
    )


class EmailChannel(ChannelBase):
    """`type = "email"`: sends each notification by SMTP."""

    type: Literal["email"] = Field(default="email", description="Channel type.")
    host: str = Field(default="localhost", description="SMTP server host.")
    port: int = Field(default=587, ge=1, le=65535, description="SMTP port.")
    security: Literal["starttls", "ssl", "none"] = Field(
        default="starttls", description="Connection security."
    )
    sender: str = Field(default="flashpoint@localhost", description="From address.")
    recipients: list[str] = Field(default_factory=list, description="To addresses.")
    username_env: EnvName = Field(
        default="", description="Environment variable with the SMTP user (empty: no login)."
    )
    password_env: EnvName = Field(
        default="", description="Environment variable with the SMTP password."
    )
    timeout_seconds: float = Field(
        default=30.0, gt=0, le=MAX_TIMEOUT_SECONDS, description="SMTP timeout, seconds."
    )


class WebhookChannel(ChannelBase):
    """`type = "webhook"`: POSTs each notification as JSON (or a Slack message)."""

    type: Literal["webhook"] = Field(default="webhook", description="Channel type.")
    url: str = Field(default="", description="Target URL (prefer `url_env` for secret URLs).")
    url_env: EnvName = Field(
        default="", description="Environment variable holding the URL (Slack webhooks are secret)."
    )
    format: Literal["json", "slack"] = Field(default="json", description="Body format.")
    timeout_seconds: float = Field(
        default=10.0, gt=0, le=MAX_TIMEOUT_SECONDS, description="HTTP timeout, seconds."
    )


Channel = Annotated[Union[LogChannel, EmailChannel, WebhookChannel], Field(discriminator="type")]  # noqa: UP007


def _default_channels() -> dict[str, LogChannel | EmailChannel | WebhookChannel]:
    return {"log": LogChannel()}


def _with_log_channel(
    channels: dict[str, LogChannel | EmailChannel | WebhookChannel],
) -> dict[str, LogChannel | EmailChannel | WebhookChannel]:
    # The `log` channel always exists, so adding an e-mail channel does not silently break every
    # default rule that notifies `log`. Defining `[notifications.channels.log]` configures it.
    if "log" not in channels:
        channels = {"log": LogChannel(), **channels}
    return channels


class NotificationsSettings(ConfigModel):
    """`[notifications]`: where alert notifications go (`log` always exists)."""

    channels: Annotated[dict[str, Channel], AfterValidator(_with_log_channel)] = Field(
        default_factory=_default_channels,
        description="Named channels; rules refer to them by name.",
    )


def _default_rules() -> list[AlertRule]:
    raw = _default_document().get("alerts", {}).get("rules", [])
    return [AlertRule.model_validate(item) for item in raw]
