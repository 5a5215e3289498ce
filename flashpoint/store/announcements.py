"""The policy calendar in the store: announcements as recorded, and the shocks derived from them.

Every write (the CSV import, an admin's add, edit or delete in the dashboard) runs in one
transaction that (1) changes the `announcements` rows, (2) re-derives the `announced_price_change`
observations of every (country, effective date) it touched — the largest change of the
announcements left, or no observation when none is left — and (3) appends one audit entry per
changed announcement naming who did it. So the trigger, the alert rule and replays always see
exactly the stored announcements, and nothing is half-written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from fetchers.policy_calendar import (
    INDICATOR,
    SOURCE,
    Announcement,
    announcement_key,
    shock_observations,
)
from flashpoint.errors import StoreError
from flashpoint.store.audit import write_audit
from flashpoint.store.engine import _reading, _utcnow, _writing
from flashpoint.store.frames import UpsertCounts, _as_datetime, _frame
from flashpoint.store.schema import announcements, observations
from flashpoint.store.series import upsert_observations

AUDIT_OBJECT_PREFIX = "announcement:"
_EDITABLE = ("product", "announced", "expected_change_pct", "source_url", "note")


class AnnouncementConflict(StoreError):
    """An add or edit would repeat another announcement's country, product and effective date,
    or names an announcement that no longer exists."""


@dataclass(frozen=True)
class CalendarCounts:
    """What a policy-calendar write did: announcements and the shocks derived from them."""

    announcements: UpsertCounts
    shocks_written: int
    shocks_removed: int


def read_announcements(
    engine: Engine | Connection, *, countries: Iterable[str] | None = None
) -> pd.DataFrame:
    """Stored announcements, by effective date then country: id, country, product, announced,
    effective, expected_change_pct, source_url, note, created_at, created_by, updated_at,
    updated_by. A product or URL never recorded is None (rows from before they were stored)."""
    query = sa.select(*(column for column in announcements.c if column.name != "product_key"))
    if countries is not None:
        query = query.where(announcements.c.country.in_(sorted(set(countries))))
    query = query.order_by(
        announcements.c.effective.desc(), announcements.c.country, announcements.c.id
    )
    with _reading(engine) as connection:
        frame = _frame(connection.execute(query))
    if frame.empty:
        frame = pd.DataFrame(
            columns=[column.name for column in announcements.c if column.name != "product_key"]
        )
    frame["expected_change_pct"] = frame["expected_change_pct"].astype("float64")
    return _as_datetime(frame, ("announced", "effective", "created_at", "updated_at"))


def _record(row: Any) -> dict[str, Any]:
    """A stored row as JSON-ready fields (the audit log's old/new values)."""
    return {
        "country": row.country,
        "product": row.product,
        "announced": row.announced.isoformat(),
        "effective": row.effective.isoformat(),
        "expected_change_pct": float(row.expected_change_pct),
        "source_url": row.source_url,
        "note": row.note,
    }


def _values(record: Announcement) -> dict[str, Any]:
    return {
        "country": record.country,
        "product": record.product,
        "product_key": announcement_key(record)[1],
        "announced": record.announced,
        "effective": record.effective,
        "expected_change_pct": float(record.expected_change_pct),
        "source_url": record.source_url or None,
        "note": record.note,
    }


def _sync_shocks(connection: Connection, keys: set[tuple[str, dt.date]]) -> tuple[int, int]:
    """Re-derive the shock observations of these (country, effective date) keys; returns
    (observations written or revised, observations removed)."""
    if not keys:
        return 0, 0
    countries = sorted({country for country, _ in keys})
    stored = _frame(
        connection.execute(
            sa.select(
                announcements.c.country,
                announcements.c.announced,
                announcements.c.effective,
                announcements.c.expected_change_pct,
            ).where(announcements.c.country.in_(countries))
        )
    )
    wanted = {(country, pd.Timestamp(day)) for country, day in keys}
    if not stored.empty:
        stored["effective"] = pd.to_datetime(stored["effective"])
        in_keys = [
            (country, day) in wanted
            for country, day in zip(stored["country"], stored["effective"], strict=True)
        ]
        stored = stored.loc[in_keys]
    remaining = {
        (str(country), pd.Timestamp(day))
        for country, day in zip(stored.get("country", []), stored.get("effective", []), strict=True)
    }
    written = 0
    if not stored.empty:
        counts = upsert_observations(connection, shock_observations(stored))
        written = counts.written
    removed = 0
    for country, day in sorted(wanted - remaining):
        result = connection.execute(
            observations.delete().where(
                observations.c.indicator == INDICATOR,
                observations.c.source == SOURCE,
                observations.c.country == country,
                observations.c.period == day.date(),
            )
        )
        removed += int(result.rowcount or 0)
    return written, removed


def _find(connection: Connection, record: Announcement) -> Any:
    return connection.execute(
        sa.select(announcements).where(
            announcements.c.country == record.country,
            announcements.c.product_key == announcement_key(record)[1],
            announcements.c.effective == record.effective,
        )
    ).one_or_none()


def save_announcements(
    engine: Engine | Connection, records: Sequence[Announcement], *, actor: str
) -> CalendarCounts:
    """Add or update announcements keyed on (country, product, effective date); idempotent.

    One transaction: the rows, the derived shocks and an audit entry per new or changed row.
    """
    now = _utcnow()
    new = changed = unchanged = 0
    touched: set[tuple[str, dt.date]] = set()
    with _writing(engine) as connection:
        for record in records:
            values = _values(record)
            existing = _find(connection, record)
            if existing is None:
                result = connection.execute(
                    announcements.insert().values(
                        **values, created_at=now, created_by=actor, updated_at=now, updated_by=actor
                    )
                )
                key = result.inserted_primary_key
                assert key is not None
                write_audit(
                    connection,
                    actor=actor,
                    action="announcement_add",
                    obj=f"{AUDIT_OBJECT_PREFIX}{int(key[0])}",
                    old=None,
                    new=record.as_record(),
                )
                new += 1
                touched.add((record.country, record.effective))
                continue
            if all(getattr(existing, name) == values[name] for name in _EDITABLE):
                unchanged += 1
                continue
            connection.execute(
                announcements.update()
                .where(announcements.c.id == existing.id)
                .values(**values, updated_at=now, updated_by=actor)
            )
            write_audit(
                connection,
                actor=actor,
                action="announcement_edit",
                obj=f"{AUDIT_OBJECT_PREFIX}{existing.id}",
                old=_record(existing),
                new=record.as_record(),
            )
            changed += 1
            touched.add((record.country, record.effective))
        written, removed = _sync_shocks(connection, touched)
    return CalendarCounts(UpsertCounts(new, changed, unchanged), written, removed)


def add_announcement(engine: Engine, record: Announcement, *, actor: str) -> int:
    """Record a new announcement; returns its id.

    Raises:
        AnnouncementConflict: when one with the same country, product and effective date exists.
    """
    now = _utcnow()
    with _writing(engine) as connection:
        if _find(connection, record) is not None:
            raise AnnouncementConflict(
                f"{record.country} {record.product} effective {record.effective:%Y-%m-%d} is "
                "already recorded; edit that announcement instead"
            )
        result = connection.execute(
            announcements.insert().values(
                **_values(record),
                created_at=now,
                created_by=actor,
                updated_at=now,
                updated_by=actor,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        announcement_id = int(key[0])
        write_audit(
            connection,
            actor=actor,
            action="announcement_add",
            obj=f"{AUDIT_OBJECT_PREFIX}{announcement_id}",
            old=None,
            new=record.as_record(),
        )
        _sync_shocks(connection, {(record.country, record.effective)})
    return announcement_id


def _existing(connection: Connection, announcement_id: int) -> Any:
    row = connection.execute(
        sa.select(announcements).where(announcements.c.id == announcement_id)
    ).one_or_none()
    if row is None:
        raise AnnouncementConflict(
            f"announcement {announcement_id} no longer exists (deleted meanwhile?)"
        )
    return row


def update_announcement(
    engine: Engine, announcement_id: int, record: Announcement, *, actor: str
) -> None:
    """Replace an announcement's fields (audited with the old and new values).

    Raises:
        AnnouncementConflict: when it no longer exists, or the edit would repeat another
            announcement's country, product and effective date.
    """
    with _writing(engine) as connection:
        before = _existing(connection, announcement_id)
        clash = _find(connection, record)
        if clash is not None and clash.id != announcement_id:
            raise AnnouncementConflict(
                f"{record.country} {record.product} effective {record.effective:%Y-%m-%d} is "
                "already recorded as another announcement"
            )
        connection.execute(
            announcements.update()
            .where(announcements.c.id == announcement_id)
            .values(**_values(record), updated_at=_utcnow(), updated_by=actor)
        )
        write_audit(
            connection,
            actor=actor,
            action="announcement_edit",
            obj=f"{AUDIT_OBJECT_PREFIX}{announcement_id}",
            old=_record(before),
            new=record.as_record(),
        )
        _sync_shocks(
            connection,
            {(before.country, before.effective), (record.country, record.effective)},
        )


def delete_announcement(engine: Engine, announcement_id: int, *, actor: str) -> None:
    """Delete an announcement; its shock goes unless another announcement still makes one.

    Raises:
        AnnouncementConflict: when it no longer exists.
    """
    with _writing(engine) as connection:
        before = _existing(connection, announcement_id)
        connection.execute(announcements.delete().where(announcements.c.id == announcement_id))
        write_audit(
            connection,
            actor=actor,
            action="announcement_delete",
            obj=f"{AUDIT_OBJECT_PREFIX}{announcement_id}",
            old=_record(before),
            new=None,
        )
        _sync_shocks(connection, {(before.country, before.effective)})
