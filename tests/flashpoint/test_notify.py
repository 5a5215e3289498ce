"""Notification channels against real loopback receivers: aiosmtpd SMTP and an HTTP webhook sink."""

from __future__ import annotations

import logging
import ssl
from datetime import datetime
from pathlib import Path

import pytest

from flashpoint.config import Settings
from flashpoint.notify import (
    EmailChannel,
    LogChannel,
    Notice,
    WebhookChannel,
    build_channels,
    dashboard_link,
    deliver,
    deliver_all,
)
from indicators.methodology import METHODOLOGY_VERSION
from tests.support.mail_and_hooks import (
    check_login,
    free_port,
    make_certificate,
    server_tls_context,
    smtp_server,
    webhook_server,
)

NOTICE = Notice(
    rule_id="fuel_price_shock",
    rule_name="Fuel price shock",
    country="KAZ",
    country_name="Kazakhstan",
    state="firing",
    value=118.18,
    threshold=25.0,
    condition="above",
    severity="critical",
    since=datetime(2022, 1, 1, 6, 0),
    at=datetime(2022, 1, 1, 6, 0),
    measure="fuel_price_step (%)",
    detail="fuel_lpg_retail 55 → 120 KZT/litre",
    contributors=("Fuel & energy price shock: +4.1", "Governance & corruption: +1.2"),
    link=dashboard_link("http://flashpoint.example:8501/", "KAZ"),
    event_id=42,
)


class RecordingSleep:
    """Stands in for time.sleep: records the backoff delays, waits for nothing."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def test_dashboard_link_points_at_the_country_page() -> None:
    assert dashboard_link("https://risk.example.org/app/", "KAZ") == (
        "https://risk.example.org/app/country?country=KAZ"
    )


def test_email_is_delivered_to_a_real_smtp_server() -> None:
    with smtp_server() as (sink, port):
        channel = EmailChannel(
            name="ops",
            host="127.0.0.1",
            port=port,
            security="none",
            sender="flashpoint@example.org",
            recipients=("analyst@example.org", "desk@example.org"),
        )
        result = deliver(channel, NOTICE, sleep=RecordingSleep())
    assert result.status == "sent" and result.attempts == 1
    assert len(sink.received) == 1
    mail = sink.received[0]
    assert mail.rcpt_tos == ["analyst@example.org", "desk@example.org"]
    subject = mail.message["Subject"]
    assert "Fuel price shock" in subject and "Kazakhstan (KAZ)" in subject
    assert "value 118.2 vs threshold > 25" in subject
    assert mail.message["Message-ID"] == "<flashpoint-alert-42-ops@example.org>"
    body = mail.body
    assert "Country: Kazakhstan (KAZ)" in body
    assert "Value: value 118.2 vs threshold > 25" in body
    assert "Since: 2022-01-01 06:00 UTC" in body
    assert "fuel_lpg_retail 55 → 120 KZT/litre" in body
    assert "  - Fuel & energy price shock: +4.1" in body
    assert "Dashboard: http://flashpoint.example:8501/country?country=KAZ" in body


def test_email_over_starttls_with_login_from_the_environment(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    secret = "s3cret-pa55word"
    with smtp_server(
        tls_context=server_tls_context(cert, key),
        require_starttls=True,
        authenticator=check_login("alerts", secret),
        auth_required=True,
    ) as (sink, port):
        channel = EmailChannel(
            name="ops",
            host="127.0.0.1",
            port=port,
            security="starttls",
            sender="flashpoint@example.org",
            recipients=("analyst@example.org",),
            username_env="SMTP_USER",
            password_env="SMTP_PASSWORD",
            ssl_context=ssl.create_default_context(cafile=str(cert)),
            environ={"SMTP_USER": "alerts", "SMTP_PASSWORD": secret},
        )
        sent = deliver(channel, NOTICE, sleep=RecordingSleep())
        channel.environ = {"SMTP_USER": "alerts", "SMTP_PASSWORD": "wrong-" + secret}
        refused = deliver(channel, NOTICE, attempts=2, sleep=RecordingSleep())
    assert sent.status == "sent"
    assert [mail.login for mail in sink.received] == ["alerts"]
    assert refused.status == "failed" and refused.attempts == 2
    assert refused.error is not None and "login refused" in refused.error
    assert secret not in refused.error


def test_email_over_implicit_tls(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    with smtp_server(ssl_context=server_tls_context(cert, key)) as (sink, port):
        channel = EmailChannel(
            name="ops",
            host="127.0.0.1",
            port=port,
            security="ssl",
            sender="flashpoint@example.org",
            recipients=("analyst@example.org",),
            ssl_context=ssl.create_default_context(cafile=str(cert)),
        )
        result = deliver(channel, NOTICE, sleep=RecordingSleep())
    assert result.status == "sent", result.error
    assert "Fuel price shock" in sink.received[0].message["Subject"]


def test_missing_smtp_credentials_name_the_variable_not_a_value() -> None:
    channel = EmailChannel(
        name="ops",
        host="127.0.0.1",
        port=free_port(),
        security="none",
        sender="a@b.c",
        recipients=("d@e.f",),
        username_env="SMTP_USER",
        password_env="SMTP_PASSWORD",
        environ={},
    )
    result = deliver(channel, NOTICE, attempts=1)
    assert result.status == "failed"
    assert result.error == "environment variable SMTP_USER (SMTP user) is not set"


def test_webhook_json_reaches_a_real_http_server() -> None:
    with webhook_server() as (received, base):
        channel = WebhookChannel(name="hook", url=f"{base}/alerts", format="json")
        result = deliver(channel, NOTICE, sleep=RecordingSleep())
    assert result.status == "sent"
    assert len(received) == 1
    request = received[0]
    assert request.path == "/alerts"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Idempotency-Key"] == "flashpoint-alert-42-hook"
    body = request.json()
    assert body["rule_id"] == "fuel_price_shock" and body["country"] == "KAZ"
    assert body["state"] == "firing" and body["severity"] == "critical"
    assert body["value"] == pytest.approx(118.18) and body["threshold"] == 25.0
    assert body["since"] == "2022-01-01T06:00:00"
    assert body["contributors"][0] == "Fuel & energy price shock: +4.1"
    assert body["link"] == "http://flashpoint.example:8501/country?country=KAZ"
    assert body["methodology_version"] == METHODOLOGY_VERSION
    assert f"Methodology version: {METHODOLOGY_VERSION}" in body["text"]


def test_webhook_slack_format() -> None:
    with webhook_server() as (received, base):
        channel = WebhookChannel(name="slack", url=f"{base}/services/T0/B0/XXXX", format="slack")
        result = deliver(channel, NOTICE, sleep=RecordingSleep())
    assert result.status == "sent"
    body = received[0].json()
    assert set(body) == {"text", "blocks"}
    assert "Fuel price shock" in body["text"] and "value 118.2 vs threshold &gt; 25" in body["text"]
    kinds = [block["type"] for block in body["blocks"]]
    assert kinds[0] == "header" and "section" in kinds and kinds[-1] == "context"
    fields = [item["text"] for item in body["blocks"][1]["fields"]]
    assert "*Country*\nKazakhstan (KAZ)" in fields
    link = body["blocks"][-1]["elements"][0]["text"]
    assert (
        link
        == "<http://flashpoint.example:8501/country?country=KAZ|Open in the Flashpoint dashboard>"
    )


def test_webhook_error_status_is_retried_then_recorded_without_the_secret_url() -> None:
    with webhook_server(status=500) as (received, base):
        secret_path = "/services/T000/B000/verysecrettoken"
        channel = WebhookChannel(
            name="slack",
            url_env="SLACK_WEBHOOK_URL",
            format="slack",
            environ={"SLACK_WEBHOOK_URL": base + secret_path},
        )
        sleep = RecordingSleep()
        result = deliver(channel, NOTICE, attempts=3, backoff_seconds=0.5, sleep=sleep)
    assert len(received) == 3
    assert result.status == "failed" and result.attempts == 3
    assert result.error is not None and result.error.startswith("HTTP 500")
    assert sleep.delays == [0.5, 1.0]
    assert "verysecrettoken" not in result.error


def test_failing_channel_is_recorded_and_does_not_block_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    closed_port = free_port()
    secret_path = "/hooks/secret-token-123"
    channels = {
        "broken_mail": EmailChannel(
            name="broken_mail",
            host="127.0.0.1",
            port=closed_port,
            security="none",
            sender="a@example.org",
            recipients=("b@example.org",),
            timeout_seconds=2,
        ),
        "broken_hook": WebhookChannel(
            name="broken_hook",
            url_env="HOOK_URL",
            environ={"HOOK_URL": f"http://127.0.0.1:{closed_port}{secret_path}"},
            timeout_seconds=2,
        ),
        "log": LogChannel(name="log"),
    }
    sleep = RecordingSleep()
    with webhook_server() as (received, base), caplog.at_level(logging.INFO, "flashpoint.alerts"):
        channels["hook"] = WebhookChannel(name="hook", url=f"{base}/in")
        results = deliver_all(
            channels,
            ["broken_mail", "broken_hook", "hook", "log", "gone", "muted"],
            NOTICE,
            attempts=3,
            backoff_seconds=1.0,
            sleep=sleep,
            disabled={"muted"},
        )
    by_channel = {result.channel: result for result in results}
    assert by_channel["broken_mail"].status == "failed"
    assert by_channel["broken_mail"].attempts == 3
    assert "ConnectionRefusedError" in (by_channel["broken_mail"].error or "")
    assert by_channel["broken_hook"].status == "failed" and by_channel["broken_hook"].attempts == 3
    assert secret_path not in (by_channel["broken_hook"].error or "")
    assert by_channel["hook"].status == "sent" and len(received) == 1
    assert by_channel["log"].status == "sent"
    assert by_channel["gone"].status == "failed" and "unknown channel" in (
        by_channel["gone"].error or ""
    )
    assert by_channel["muted"].status == "skipped"
    assert sleep.delays == [1.0, 2.0, 1.0, 2.0]  # two failing channels, bounded backoff each
    assert any(record.getMessage() == NOTICE.subject for record in caplog.records)
    assert all(secret_path not in record.getMessage() for record in caplog.records)
    assert all(secret_path not in str(vars(record)) for record in caplog.records)


def test_build_channels_from_config() -> None:
    settings = Settings.model_validate(
        {
            "notifications": {
                "channels": {
                    "log": {"type": "log"},
                    "mail": {"type": "email", "recipients": ["x@example.org"], "port": 2525},
                    "slack": {"type": "webhook", "url_env": "SLACK_URL", "format": "slack"},
                    "off": {"type": "log", "enabled": False},
                }
            }
        }
    )
    channels = build_channels(settings, environ={})
    assert sorted(channels) == ["log", "mail", "slack"]
    assert isinstance(channels["mail"], EmailChannel) and channels["mail"].port == 2525
    assert isinstance(channels["slack"], WebhookChannel) and channels["slack"].format == "slack"
