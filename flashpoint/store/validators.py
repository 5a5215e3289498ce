"""Conditional-request validators (ETag, Last-Modified) remembered per request key."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from flashpoint.store.engine import _reading, _utcnow, _writing
from flashpoint.store.frames import _upsert
from flashpoint.store.schema import http_validators


def get_http_validator(engine: Engine | Connection, key: str) -> tuple[str | None, str | None]:
    """The stored (ETag, Last-Modified) for a request key; (None, None) when unknown."""
    with _reading(engine) as connection:
        row = connection.execute(
            sa.select(http_validators.c.etag, http_validators.c.last_modified).where(
                http_validators.c.url_key == key
            )
        ).first()
    if row is None:
        return None, None
    return row.etag, row.last_modified


def read_http_validators(engine: Engine | Connection) -> dict[str, tuple[str | None, str | None]]:
    """Every stored validator: url_key → (ETag, Last-Modified)."""
    with _reading(engine) as connection:
        rows = connection.execute(
            sa.select(
                http_validators.c.url_key, http_validators.c.etag, http_validators.c.last_modified
            )
        ).all()
    return {row.url_key: (row.etag, row.last_modified) for row in rows}


def set_http_validator(
    engine: Engine | Connection, key: str, etag: str | None, last_modified: str | None
) -> None:
    """Remember the validators a response carried, for the next conditional request."""
    with _writing(engine) as connection:
        _upsert(
            connection,
            http_validators,
            [
                {
                    "url_key": key,
                    "etag": etag,
                    "last_modified": last_modified,
                    "updated_at": _utcnow(),
                }
            ],
            key=["url_key"],
            update=["etag", "last_modified", "updated_at"],
        )
