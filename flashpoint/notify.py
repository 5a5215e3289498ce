"""Notification channels: e-mail over SMTP, webhooks (JSON or Slack), and the log.

Each configured `[notifications.channels.<name>]` becomes a `Channel` with one method, `send`.
`deliver` wraps a send in bounded retries with exponential backoff (the sleep is injectable, so
tests never wait) and returns a `DeliveryResult` instead of raising, so one failing channel never
blocks the others or the caller. Errors are recorded verbatim except for secrets: SMTP
credentials are read from the environment variables the config names and never appear in a
message or a log line, and a webhook URL (a Slack webhook URL *is* a credential) is redacted from
every error text.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import ssl
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Literal, Protocol
from urllib.parse import urlencode, urlsplit

import requests

from fetchers.redact import redact
from flashpoint import __version__
from flashpoint.config import EmailChannel as EmailSettings
from flashpoint.config import LogChannel as LogSettings
from flashpoint.config import Settings
from flashpoint.config import WebhookChannel as WebhookSettings
from indicators.methodology import METHODOLOGY_VERSION

__all__ = [
    "ALERT_LINK_PAGE",
    "Channel",
    "DeliveryError",
    "DeliveryResult",
    "EmailChannel",
    "LogChannel",
    "Notice",
    "WebhookChannel",
    "build_channels",
    "dashboard_link",
    "deliver",
    "deliver_all",
    "make_test_notice",
]

ALERTS_LOGGER = "flashpoint.alerts"
# The dashboard page an alert links to (`st.Page(url_path=...)` of the country detail page).
ALERT_LINK_PAGE = "country"
USER_AGENT = f"Flashpoint/{__version__} (alert webhook)"
DEFAULT_ATTEMPTS = 3
DEFAULT_BACKOFF_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 60.0

log = logging.getLogger(ALERTS_LOGGER)


class DeliveryError(Exception):
    """A channel could not deliver a message (the text is safe to record: no secrets)."""


def dashboard_link(public_url: str, country: str, page: str = ALERT_LINK_PAGE) -> str:
    """The dashboard URL of `page` for `country`, e.g. `http://host:8501/country?country=KAZ`."""
    base = public_url.rstrip("/")
    return f"{base}/{page}?{urlencode({'country': country})}"


@dataclass(frozen=True)
class Notice:
    """Everything a notification says, independent of the channel that carries it."""

    rule_id: str
    rule_name: str
    country: str
    state: str  # "firing" or "resolved"
    value: float | None
    threshold: float | None
    condition: str = "above"
    severity: str = "warning"
    since: datetime | None = None
    at: datetime | None = None
    measure: str = ""  # what the value is, e.g. "fuel_price_step (%)"
    detail: str = ""  # how it was measured, e.g. "fuel_lpg_retail 55 → 120 KZT/litre"
    contributors: tuple[str, ...] = ()
    # The country's trigger state and composite in words ("trigger blind since …; composite …").
    trigger_note: str = ""
    link: str = ""
    event_id: int | None = None
    country_name: str = ""
    is_test: bool = False

    @property
    def comparison(self) -> str:
        """`value 118 vs threshold > 25`."""
        sign = ">" if self.condition == "above" else "<"
        value = (
            "n/a"
            if self.value is None
            else "never" if self.value == float("inf") else f"{self.value:.4g}"
        )
        threshold = "n/a" if self.threshold is None else f"{self.threshold:g}"
        return f"value {value} vs threshold {sign} {threshold}"

    @property
    def subject(self) -> str:
        """One line: severity, state, rule, country, value vs threshold."""
        prefix = "[TEST] " if self.is_test else ""
        where = f"{self.country_name} ({self.country})" if self.country_name else self.country
        return (
            f"{prefix}[{self.severity.upper()}] {self.state.upper()}: {self.rule_name} — {where}: "
            f"{self.comparison}"
        )

    def lines(self) -> list[str]:
        """The plain-text body, one fact per line."""
        where = f"{self.country_name} ({self.country})" if self.country_name else self.country
        out = [
            f"Rule: {self.rule_name} ({self.rule_id}), severity {self.severity}",
            f"Country: {where}",
            f"State: {self.state}",
            f"Measure: {self.measure}" if self.measure else "",
            f"Value: {self.comparison}",
            f"Detail: {self.detail}" if self.detail else "",
            f"Score: {self.trigger_note}" if self.trigger_note else "",
            f"Since: {_stamp(self.since)}",
            f"Evaluated at: {_stamp(self.at)}",
            f"Methodology version: {METHODOLOGY_VERSION}",
        ]
        if self.contributors:
            out.append("Top contributors:")
            out.extend(f"  - {item}" for item in self.contributors)
        if self.link:
            out.append(f"Dashboard: {self.link}")
        if self.is_test:
            out.append("This is a test message sent by `flashpoint alerts test-channel`.")
        return [line for line in out if line]

    @property
    def text(self) -> str:
        """The plain-text message."""
        return "\n".join(self.lines())

    def as_json(self) -> dict[str, Any]:
        """The JSON webhook body."""
        return {
            "source": "flashpoint",
            "event_id": self.event_id,
            "rule_id": self.rule_id,
            "rule": self.rule_name,
            "country": self.country,
            "country_name": self.country_name,
            "state": self.state,
            "severity": self.severity,
            "condition": self.condition,
            "value": self.value,
            "threshold": self.threshold,
            "measure": self.measure,
            "detail": self.detail,
            "since": _iso(self.since),
            "at": _iso(self.at),
            "contributors": list(self.contributors),
            "trigger_note": self.trigger_note,
            "link": self.link,
            "test": self.is_test,
            "methodology_version": METHODOLOGY_VERSION,
            "summary": self.subject,
            "text": self.text,
        }

    def as_slack(self) -> dict[str, Any]:
        """A Slack incoming-webhook body: `text` (the fallback) plus Block Kit `blocks`."""
        fields = [
            f"*Country*\n{_slack_escape(self.country_name or self.country)} ({self.country})",
            f"*State*\n{self.state}",
            f"*Value*\n{_slack_escape(self.comparison)}",
            f"*Since*\n{_stamp(self.since)}",
        ]
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": self.subject[:150]}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": item} for item in fields]},
        ]
        if self.detail:
            blocks.append(
                {"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(self.detail)}}
            )
        if self.trigger_note:
            blocks.append(
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": _slack_escape(self.trigger_note)},
                }
            )
        if self.contributors:
            listing = "\n".join(f"• {_slack_escape(item)}" for item in self.contributors)
            blocks.append(
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": f"*Top contributors*\n{listing}"},
                }
            )
        if self.link:
            blocks.append(
                {
                    "type": "context",
                    "elements": [
                        {
                            "type": "mrkdwn",
                            "text": f"<{self.link}|Open in the Flashpoint dashboard>",
                        }
                    ],
                }
            )
        return {"text": _slack_escape(self.subject), "blocks": blocks}


def _stamp(moment: datetime | None) -> str:
    return "n/a" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _slack_escape(text: str) -> str:
    # Slack mrkdwn control characters; anything else (names of indicators, countries) is literal.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --------------------------------------------------------------------------------------------
# Channels


class Channel(Protocol):
    """Something that can send a notice; raises `DeliveryError` (or anything) on failure."""

    name: str

    def send(self, notice: Notice) -> None:
        """Deliver `notice` once (no retries: `deliver` retries)."""


@dataclass
class LogChannel:
    """Writes each notice as one line to the `flashpoint.alerts` logger."""

    name: str
    level: str = "WARNING"

    def send(self, notice: Notice) -> None:
        """Log the notice."""
        log.log(
            logging.getLevelName(self.level),
            notice.subject,
            extra={
                "event": "alert",
                "channel": self.name,
                "rule_id": notice.rule_id,
                "country": notice.country,
                "state": notice.state,
                "alert_value": notice.value,
                "threshold": notice.threshold,
                "link": notice.link,
            },
        )


@dataclass
class EmailChannel:
    """Sends each notice as a plain-text e-mail over SMTP (STARTTLS, implicit TLS or plain)."""

    name: str
    host: str
    port: int
    security: Literal["starttls", "ssl", "none"]
    sender: str
    recipients: tuple[str, ...]
    username_env: str = ""
    password_env: str = ""
    timeout_seconds: float = 30.0
    ssl_context: ssl.SSLContext | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)

    def _credentials(self) -> tuple[str, str] | None:
        if not self.username_env:
            return None
        username = self.environ.get(self.username_env, "")
        password = self.environ.get(self.password_env, "") if self.password_env else ""
        if not username:
            raise DeliveryError(f"environment variable {self.username_env} (SMTP user) is not set")
        if self.password_env and not password:
            raise DeliveryError(
                f"environment variable {self.password_env} (SMTP password) is not set"
            )
        return username, password

    def build_message(self, notice: Notice) -> EmailMessage:
        """The e-mail for `notice`; its Message-ID is derived from the alert event."""
        message = EmailMessage()
        message["Subject"] = notice.subject
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message["Date"] = formatdate(localtime=False, usegmt=True)
        domain = self.sender.rsplit("@", 1)[-1] if "@" in self.sender else "flashpoint.local"
        # A stable Message-ID per (event, channel): a mail system that sees the same alert twice
        # can drop the duplicate.
        if notice.event_id is not None:
            message["Message-ID"] = f"<flashpoint-alert-{notice.event_id}-{self.name}@{domain}>"
        else:
            message["Message-ID"] = make_msgid("flashpoint", domain=domain)
        message["X-Flashpoint-Rule"] = notice.rule_id
        message["X-Flashpoint-Country"] = notice.country
        message.set_content(notice.text + "\n")
        return message

    def send(self, notice: Notice) -> None:
        """Connect, (STARTTLS,) (log in,) send, quit."""
        if not self.recipients:
            raise DeliveryError("no recipients configured")
        credentials = self._credentials()
        message = self.build_message(notice)
        context = self.ssl_context or ssl.create_default_context()
        try:
            client: smtplib.SMTP
            if self.security == "ssl":
                client = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout_seconds, context=context
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds)
            with client:
                if self.security == "starttls":
                    client.starttls(context=context)
                if credentials is not None:
                    client.login(*credentials)
                refused = client.send_message(message, self.sender, list(self.recipients))
        except smtplib.SMTPAuthenticationError as error:
            raise DeliveryError(f"SMTP login refused ({error.smtp_code})") from None
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(
                f"SMTP {self.host}:{self.port}: {type(error).__name__}: {error}"
            ) from error
        if refused:
            raise DeliveryError(f"recipients refused: {', '.join(sorted(refused))}")


@dataclass
class WebhookChannel:
    """POSTs each notice as JSON (`format="json"`) or as a Slack message (`format="slack"`)."""

    name: str
    url: str = ""
    url_env: str = ""
    format: Literal["json", "slack"] = "json"
    timeout_seconds: float = 10.0
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    session: requests.Session | None = None

    def _url(self) -> str:
        if self.url_env:
            url = self.environ.get(self.url_env, "")
            if not url:
                raise DeliveryError(f"environment variable {self.url_env} (webhook URL) is not set")
            return url
        if not self.url:
            raise DeliveryError("no webhook URL configured")
        return self.url

    def body(self, notice: Notice) -> dict[str, Any]:
        """The JSON body for `notice` in this channel's format."""
        return notice.as_slack() if self.format == "slack" else notice.as_json()

    def send(self, notice: Notice) -> None:
        """POST the body; any non-2xx status is a failure."""
        url = self._url()
        headers = {"User-Agent": USER_AGENT, "Content-Type": "application/json"}
        if notice.event_id is not None:
            # Lets a receiver drop a duplicate delivery of the same alert event.
            headers["Idempotency-Key"] = f"flashpoint-alert-{notice.event_id}-{self.name}"
        poster = self.session or requests
        try:
            response = poster.post(
                url,
                data=json.dumps(self.body(notice)).encode("utf-8"),
                headers=headers,
                timeout=self.timeout_seconds,
            )
        except requests.RequestException as error:
            raise DeliveryError(
                _redact(f"{type(error).__name__}: {error}", url, self.url_env)
            ) from None
        if not 200 <= response.status_code < 300:
            snippet = response.text[:200].replace("\n", " ")
            raise DeliveryError(
                _redact(f"HTTP {response.status_code}: {snippet}", url, self.url_env)
            )


def _redact(text: str, url: str, url_env: str) -> str:
    """Remove a webhook URL's secret parts (path and query: Slack's token lives there)."""
    parts = urlsplit(url)
    secret_bits = [url]
    tail = parts.path + (f"?{parts.query}" if parts.query else "")
    if tail not in ("", "/"):
        secret_bits.append(tail)
        secret_bits.append(parts.path)
    for bit in sorted(set(secret_bits), key=len, reverse=True):
        if bit:
            text = text.replace(bit, f"<{url_env or 'webhook URL'}>")
    return text


def build_channels(
    settings: Settings, *, environ: Mapping[str, str] | None = None
) -> dict[str, Channel]:
    """One `Channel` per enabled `[notifications.channels.<name>]`."""
    env = os.environ if environ is None else environ
    channels: dict[str, Channel] = {}
    for name, config in settings.notifications.channels.items():
        if not config.enabled:
            continue
        if isinstance(config, LogSettings):
            channels[name] = LogChannel(name=name, level=config.level)
        elif isinstance(config, EmailSettings):
            channels[name] = EmailChannel(
                name=name,
                host=config.host,
                port=config.port,
                security=config.security,
                sender=config.sender,
                recipients=tuple(config.recipients),
                username_env=config.username_env,
                password_env=config.password_env,
                timeout_seconds=config.timeout_seconds,
                environ=env,
            )
        elif isinstance(config, WebhookSettings):
            channels[name] = WebhookChannel(
                name=name,
                url=config.url,
                url_env=config.url_env,
                format=config.format,
                timeout_seconds=config.timeout_seconds,
                environ=env,
            )
    return channels


# --------------------------------------------------------------------------------------------
# Delivery with retries


@dataclass(frozen=True)
class DeliveryResult:
    """What happened when one notice was offered to one channel."""

    channel: str
    status: Literal["sent", "failed", "skipped"]
    attempts: int
    error: str | None = None


def deliver(
    channel: Channel,
    notice: Notice,
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryResult:
    """Send with bounded retries and exponential backoff; never raises.

    Waits `backoff_seconds`, then twice that, … (capped at a minute) between attempts.
    """
    error_text = ""
    for attempt in range(1, max(attempts, 1) + 1):
        try:
            channel.send(notice)
        except Exception as error:  # one failing channel must never stop the others
            error_text = str(error) if isinstance(error, DeliveryError) else _describe(error)
            # A receiver can echo the credentials it was sent (an SMTP reply quoting the login,
            # a proxy page quoting the headers): scrubbed here, before any log record, result
            # or table can hold the text.
            error_text = redact(error_text)
            log.warning(
                "alert delivery failed",
                extra={
                    "event": "alert_delivery",
                    "channel": channel.name,
                    "attempt": attempt,
                    "error": error_text,
                },
            )
            if attempt < attempts:
                sleep(min(backoff_seconds * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS))
            continue
        return DeliveryResult(channel.name, "sent", attempt)
    return DeliveryResult(channel.name, "failed", max(attempts, 1), error_text)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def deliver_all(
    channels: Mapping[str, Channel],
    names: Sequence[str],
    notice: Notice,
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    disabled: Collection[str] = (),
) -> list[DeliveryResult]:
    """Offer `notice` to each named channel in turn.

    A channel disabled in the config is recorded as skipped; a name that is not configured at all
    (say a rule edited in the dashboard still names a removed channel) is recorded as failed.
    """
    results: list[DeliveryResult] = []
    for name in names:
        channel = channels.get(name)
        if channel is None:
            if name in disabled:
                results.append(DeliveryResult(name, "skipped", 0, "channel disabled in config"))
            else:
                results.append(DeliveryResult(name, "failed", 0, f"unknown channel {name!r}"))
            continue
        results.append(
            deliver(
                channel, notice, attempts=attempts, backoff_seconds=backoff_seconds, sleep=sleep
            )
        )
    return results


def make_test_notice(settings: Settings, channel: str, *, now: datetime | None = None) -> Notice:
    """A clearly-labelled test notice (for `flashpoint alerts test-channel NAME`)."""
    country = settings.dashboard.default_country
    return Notice(
        rule_id="test",
        rule_name=f"Test message for channel {channel}",
        country=country,
        state="firing",
        value=1.0,
        threshold=0.0,
        severity="info",
        since=now,
        at=now,
        measure="test",
        detail="If you can read this, the channel works.",
        link=dashboard_link(settings.dashboard.public_url, country),
        is_test=True,
    )
