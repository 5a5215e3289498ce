"""Silences: audited mutes of a rule, a country, or one rule in one country, until a time."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from flashpoint import store
from flashpoint.alerts.clock import _naive, _utcnow
from flashpoint.alerts.history import _frame, _reading
from flashpoint.alerts.rules import effective_rules
from flashpoint.config import Settings, iso3_countries
from indicators.alert_rules import FieldError, Silence


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
