"""Fetch runs: one row per fetch of a source, opened when it starts and closed with its outcome.

A run opens as `running` with the process that runs it (pid, host, and on Linux the boot and
process start time, so a recycled pid is not mistaken for it) in `detail`. If that process dies
before closing the run (SIGKILL, power loss), the next command that opens the store for writing
finds the process gone and closes the run as `interrupted` (`close_interrupted_runs`).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Final

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from fetchers.redact import redact, redact_value
from flashpoint.errors import StoreError
from flashpoint.store.engine import _reading, _utcnow, _writing
from flashpoint.store.frames import UpsertCounts, _as_datetime, _frame, _read_newest
from flashpoint.store.schema import fetch_runs, observations

FETCH_RUN_STATUSES: Final = frozenset(
    {"running", "ok", "not_modified", "error", "partial", "interrupted"}
)
# A `running` row whose process cannot be checked from here (another host, or written before
# runs recorded their process) counts as interrupted once it is this old: no fetch runs so long.
UNCHECKABLE_RUN_HOURS: Final = 6


@cache
def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        return ""


def _process_started(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux /proc), None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # Field 22 (starttime); the fields after "(comm)" start at field 3.
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def current_process() -> dict[str, Any]:
    """This process as recorded in a running fetch run's `detail`."""
    pid = os.getpid()
    return {
        "pid": pid,
        "host": socket.gethostname(),
        "boot_id": _boot_id(),
        "process_started": _process_started(pid) or "",
    }


def process_is_gone(recorded: Mapping[str, Any]) -> bool | None:
    """Whether the process recorded in a run's detail has ended: True, False, or None when it
    cannot be told from this host (another machine, or no process recorded)."""
    pid, host = recorded.get("pid"), recorded.get("host")
    if not isinstance(pid, int) or host != socket.gethostname():
        return None
    if recorded.get("boot_id") and _boot_id() and recorded["boot_id"] != _boot_id():
        return True  # the machine rebooted since: every process of that boot has ended
    if recorded.get("process_started") and _boot_id():
        # A live pid with another start time is a recycled pid, not the run's process.
        return bool(_process_started(pid) != recorded["process_started"])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, owned by another user
    return False


def start_fetch_run(engine: Engine | Connection, source: str) -> int:
    """Record that a fetch of `source` started (and which process runs it); returns its id."""
    with _writing(engine) as connection:
        result = connection.execute(
            fetch_runs.insert().values(
                source=source, started_at=_utcnow(), status="running", detail=current_process()
            )
        )
        key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def finish_fetch_run(
    engine: Engine | Connection,
    run_id: int,
    *,
    status: str,
    requests: int,
    counts: UpsertCounts | None,
    error: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Close a fetch run with its outcome.

    Raises:
        ValueError: for an unknown status.
        StoreError: when no run has this id.
    """
    if status not in FETCH_RUN_STATUSES:
        raise ValueError(
            f"unknown fetch-run status {status!r}; expected one of {sorted(FETCH_RUN_STATUSES)}"
        )
    counts = counts or UpsertCounts()
    with _writing(engine) as connection:
        updated = connection.execute(
            fetch_runs.update()
            .where(fetch_runs.c.id == run_id)
            .values(
                finished_at=_utcnow(),
                status=status,
                requests=requests,
                rows_new=counts.new,
                rows_changed=counts.changed,
                rows_unchanged=counts.unchanged,
                # Upstream text can echo a request: nothing reaches the table unredacted.
                error=redact(error) if error is not None else None,
                detail=redact_value(dict(detail)) if detail is not None else None,
            )
        )
        if updated.rowcount == 0:
            raise StoreError(f"no fetch run with id {run_id}")


def close_interrupted_runs(engine: Engine | Connection) -> int:
    """Mark `running` fetch runs whose process is gone as `interrupted`; returns how many.

    A run's process is gone when it is recorded on this host and no longer alive (or its pid now
    belongs to another process). Runs from another host, or without a recorded process, are
    closed only once older than `UNCHECKABLE_RUN_HOURS`. Safe to call from any writing command:
    a run whose process is still working is left alone.
    """
    now = _utcnow()
    horizon = now - dt.timedelta(hours=UNCHECKABLE_RUN_HOURS)
    with _reading(engine) as connection:
        running = connection.execute(
            sa.select(fetch_runs.c.id, fetch_runs.c.started_at, fetch_runs.c.detail).where(
                fetch_runs.c.status == "running"
            )
        ).all()
    closed = 0
    for run_id, started_at, detail in running:
        recorded = detail if isinstance(detail, Mapping) else {}
        gone = process_is_gone(recorded)
        if gone is False or (gone is None and started_at > horizon):
            continue
        who = (
            f"pid {recorded.get('pid')} on {recorded.get('host')}"
            if recorded.get("pid") is not None
            else "its process"
        )
        with _writing(engine) as connection:
            stored = connection.execute(
                sa.select(sa.func.count())
                .select_from(observations)
                .where(observations.c.fetch_run_id == run_id)
            ).scalar_one()
            kept = (
                "nothing from this run was stored"
                if not stored
                else f"the {stored} observation(s) it had stored are kept"
            )
            updated = connection.execute(
                fetch_runs.update()
                .where(fetch_runs.c.id == run_id, fetch_runs.c.status == "running")
                .values(
                    status="interrupted",
                    finished_at=now,
                    error=f"interrupted: {who} ended before the run finished; {kept}",
                )
            )
            closed += int(updated.rowcount or 0)
    return closed


_FETCH_RUN_TIMES = ("started_at", "finished_at")


def read_fetch_runs(
    engine: Engine | Connection, *, source: str | None = None, limit: int = 100
) -> pd.DataFrame:
    """Fetch runs, newest first."""
    query = sa.select(fetch_runs)
    if source is not None:
        query = query.where(fetch_runs.c.source == source)
    return _read_newest(engine, fetch_runs, query, limit, _FETCH_RUN_TIMES)


def last_fetch_runs(engine: Engine | Connection) -> pd.DataFrame:
    """The latest fetch run of every source, sorted by source."""
    latest = (
        sa.select(sa.func.max(fetch_runs.c.id).label("id"))
        .group_by(fetch_runs.c.source)
        .scalar_subquery()
    )
    query = sa.select(fetch_runs).where(fetch_runs.c.id.in_(latest)).order_by(fetch_runs.c.source)
    with _reading(engine) as connection:
        result = _frame(connection.execute(query))
    return _as_datetime(result, _FETCH_RUN_TIMES)
