"""Source schedules: a crontab line or an `every N[smhd]` interval, as APScheduler triggers.

Kept apart from `flashpoint.scheduler` so the config can validate schedules without importing the
service (and its store, scoring and alerting dependencies).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

_INTERVAL = re.compile(r"^\s*every\s+(\d+)\s*([smhd])\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_schedule(
    schedule: str, *, timezone: str = "UTC", jitter: int | None = None
) -> BaseTrigger:
    """Turn a source's `schedule` into an APScheduler trigger.

    Args:
        schedule: a five-field crontab line (`"0 6 * * *"`) or an interval (`"every 15m"`,
            `"every 2s"` — seconds are meant for tests and demos).
        timezone: the zone cron fields are read in.
        jitter: random delay in seconds added to each run, so many sources (or many installs)
            do not hit the same API at the same second.

    Returns:
        A CronTrigger or IntervalTrigger.

    Raises:
        ValueError: when the text is neither.
    """
    match = _INTERVAL.match(schedule)
    if match:
        seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
        if seconds <= 0:
            raise ValueError(f"interval must be positive: {schedule!r}")
        return IntervalTrigger(seconds=seconds, timezone=timezone, jitter=jitter)
    return CronTrigger.from_crontab(schedule, timezone=timezone)  # ValueError when malformed


def next_run_time(
    schedule: str, *, timezone: str = "UTC", now: datetime | None = None
) -> datetime | None:
    """When a schedule fires next after `now` (ignoring jitter), or None if it never does."""
    trigger = parse_schedule(schedule, timezone=timezone)
    moment = now or datetime.now(UTC)
    fire: datetime | None = trigger.get_next_fire_time(None, moment)
    return fire
