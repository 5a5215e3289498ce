"""The audit log: who changed what, with the old and new values."""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from flashpoint.store.engine import _utcnow, _writing
from flashpoint.store.frames import _read_newest
from flashpoint.store.schema import audit_log


def write_audit(
    engine: Engine | Connection,
    *,
    actor: str,
    action: str,
    obj: str,
    old: Any,
    new: Any,
) -> int:
    """Append an audit entry (old/new must be JSON-serialisable); returns its id.

    Pass a `Connection` to record the entry in the same transaction as the change it describes.
    """
    with _writing(engine) as connection:
        result = connection.execute(
            audit_log.insert().values(
                at=_utcnow(), actor=actor, action=action, object=obj, old=old, new=new
            )
        )
        key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def read_audit(
    engine: Engine | Connection, *, obj: str | None = None, limit: int = 200
) -> pd.DataFrame:
    """Audit entries, newest first: id, at, actor, action, object, old, new."""
    query = sa.select(audit_log)
    if obj is not None:
        query = query.where(audit_log.c.object == obj)
    return _read_newest(engine, audit_log, query, limit, ("at",))
