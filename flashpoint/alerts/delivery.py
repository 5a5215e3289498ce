"""Delivery of the notification outbox: claim each pending row, send it, close it."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from fetchers.redact import redact
from flashpoint import store
from flashpoint.alerts.clock import _naive, _utcnow
from flashpoint.alerts.rules import effective_rules
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
from indicators.alert_rules import WORLD_INSTANCE, AlertRule, effective_threshold
from indicators.catalogue import Catalogue
from indicators.scoring import PanelScore
from indicators.trigger_state import describe_composite, describe_trigger

# A `sending` row older than this was interrupted (the process died mid-delivery).
SENDING_TIMEOUT: Final = timedelta(minutes=15)


@dataclass(frozen=True)
class DeliveryRecord:
    """One closed `notifications` row."""

    notification_id: int
    alert_event_id: int
    rule_id: str
    country: str
    result: DeliveryResult


def _trigger_note(panel: PanelScore | None, country: str) -> str:
    """ "trigger blind since 6 Jan 2022: …; composite 3.5–8.1 (medium to very high; trigger
    blind)" — every notice carries the country's trigger state, so a blind country never reads
    as calm."""
    if panel is None or country == WORLD_INSTANCE or country not in panel.countries.index:
        return ""
    row = panel.countries.loc[country]
    return f"{describe_trigger(row)}; composite {describe_composite(row)}"


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
            trigger_note=_trigger_note(panel, country),
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
                    # An SMTP server or webhook can echo credentials: redacted like every table.
                    error=redact(result.error) if result.error is not None else None,
                    at=_utcnow() if now is None else moment,
                )
            )
        records.append(DeliveryRecord(int(row["id"]), event_id, rule.id, country, result))
    return records
