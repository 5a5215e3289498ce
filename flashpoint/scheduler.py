"""The scheduler service: one process, one job per enabled source, each on its own cadence.

`flashpoint serve` runs an APScheduler 3 `BlockingScheduler`. Exactly one scheduler may write to a
store: it holds an OS file lock (SQLite) or a PostgreSQL advisory lock for its whole life, and a
second `serve` against the same store refuses to start (or waits as a standby). On SIGTERM/SIGINT
the service stops taking jobs, lets the running job finish its current source (each source's rows
land in one transaction, so an abandoned batch leaves nothing half-written) and exits 0.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import Connection, Engine, text

from flashpoint.errors import ConfigError, LockHeldError
from flashpoint.pipeline import PipelineOutcome, run_pipeline
from flashpoint.schedules import next_run_time, parse_schedule

log = logging.getLogger("flashpoint.scheduler")

# Any stable 63-bit number works; this one spells "Flashpnt" in ASCII.
ADVISORY_LOCK_KEY = 0x466C617368706E74


class SchedulerLock(Protocol):
    """Held by the one scheduler that may run jobs against a store."""

    description: str

    def acquire(self) -> bool:
        """Try to take the lock without waiting; True when this process now holds it."""
        ...

    def release(self) -> None:
        """Give the lock up (also released by the OS when the process dies)."""
        ...


@dataclass
class FileLock:
    """An OS advisory lock on a file beside the SQLite database (released if the process dies)."""

    path: Path
    description: str = ""
    _fd: int | None = None

    def __post_init__(self) -> None:
        self.description = f"lock file {self.path}"

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


@dataclass
class PostgresAdvisoryLock:
    """A session-level PostgreSQL advisory lock held on a dedicated connection."""

    engine: Engine
    key: int = ADVISORY_LOCK_KEY
    description: str = "PostgreSQL advisory lock"
    _connection: Connection | None = None

    def acquire(self) -> bool:
        connection = self.engine.connect()
        got = bool(
            connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar()
        )
        connection.commit()
        if not got:
            connection.close()
            return False
        self._connection = connection
        return True

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                self._connection.commit()
            finally:
                self._connection.close()
                self._connection = None


def lock_for(engine: Engine, lock_path: Path) -> SchedulerLock:
    """The lock for this store: an advisory lock on PostgreSQL, else the file at `lock_path`."""
    if engine.dialect.name == "postgresql":
        return PostgresAdvisoryLock(engine)
    if engine.url.database in (None, "", ":memory:"):
        raise ConfigError(
            "config", "store.url", "the scheduler needs a file or server store, not :memory:"
        )
    return FileLock(lock_path)


@contextmanager
def held_lock(
    lock: SchedulerLock, *, standby: bool, poll_seconds: float, stop: threading.Event
) -> Iterator[bool]:
    """Hold `lock` for the block; refuse (LockHeldError) or wait as a standby when it is taken.

    Yields False only when a standby was told to stop before it ever got the lock.
    """
    if not lock.acquire():
        if not standby:
            raise LockHeldError(
                f"another `flashpoint serve` already runs against this store ({lock.description}); "
                "refusing to start a second scheduler. Use --standby to wait and take over."
            )
        log.info("standing by: another scheduler holds the lock", extra={"lock": lock.description})
        while not lock.acquire():
            if stop.wait(poll_seconds):
                yield False
                return
        log.info("lock acquired after standby", extra={"lock": lock.description})
    try:
        yield True
    finally:
        lock.release()


@dataclass
class SchedulerService:
    """Builds and runs the scheduler for a store and its settings."""

    engine: Engine
    settings: Any
    pipeline: Callable[..., PipelineOutcome] = run_pipeline
    stop: threading.Event = field(default_factory=threading.Event)
    scheduler: BlockingScheduler | None = None

    def build(self) -> BlockingScheduler:
        """One job per enabled source, with explicit ids, coalescing, one instance, a real grace."""
        sched_cfg = self.settings.scheduler
        scheduler = BlockingScheduler(
            timezone=sched_cfg.timezone,
            job_defaults={
                "coalesce": True,  # after downtime, N missed runs collapse into one
                "max_instances": 1,  # a slow source never overlaps itself
                "misfire_grace_time": sched_cfg.misfire_grace_seconds,
            },
        )
        for name, source in self.settings.sources.items():
            if not source.enabled:
                continue
            trigger = parse_schedule(
                source.schedule,
                timezone=sched_cfg.timezone,
                jitter=sched_cfg.jitter_seconds or None,
            )
            scheduler.add_job(
                self._run_job,
                trigger,
                args=[name],
                id=f"refresh:{name}",
                name=f"refresh {name}",
                replace_existing=True,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=sched_cfg.misfire_grace_seconds,
            )
        self.scheduler = scheduler
        return scheduler

    def _run_job(self, source: str) -> None:
        if self.stop.is_set():
            return
        started = time.monotonic()
        try:
            outcome = self.pipeline(self.engine, self.settings, sources=[source], stop=self.stop)
        except Exception as error:  # a failing job is logged and the service keeps running
            log.exception(
                "job failed",
                extra={"event": "job", "source": source, "outcome": "error", "error": str(error)},
            )
            return
        log.info(
            "job finished",
            extra={
                "event": "job",
                "source": source,
                "outcome": "ok" if outcome.ok else "error",
                "rows_changed": outcome.rows_changed,
                "rescored": outcome.rescored,
                "alerts_evaluated": outcome.alerts_evaluated,
                "stopped_early": outcome.stopped_early,
                "duration_s": round(time.monotonic() - started, 3),
            },
        )

    def request_stop(self, signum: int | None = None, _frame: FrameType | None = None) -> None:
        """Stop taking jobs; the running one finishes its current source."""
        if not self.stop.is_set():
            log.info("stopping", extra={"event": "shutdown", "signal": signum or 0})
        self.stop.set()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def serve(
        self, *, standby: bool = False, poll_seconds: float = 5.0, drain_seconds: float = 60.0
    ) -> int:
        """Run until SIGTERM/SIGINT; returns the exit status (0 on a clean stop)."""
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        lock = lock_for(self.engine, self.settings.lock_path)
        with held_lock(lock, standby=standby, poll_seconds=poll_seconds, stop=self.stop) as got:
            if not got:
                return 0
            interrupted = close_interrupted_runs(self.engine)
            if interrupted:
                log.warning(
                    "closed fetch runs interrupted by an earlier crash",
                    extra={"event": "start", "interrupted_runs": interrupted},
                )
            scheduler = self.build()
            jobs = scheduler.get_jobs()
            log.info(
                "scheduler starting",
                extra={"event": "start", "jobs": len(jobs), "lock": lock.description},
            )
            if not jobs:
                log.warning("no enabled sources: nothing to schedule", extra={"event": "start"})
            if not self.stop.is_set():
                scheduler.start()  # blocks until request_stop() shuts it down
            self._drain(drain_seconds)
        log.info("scheduler stopped", extra={"event": "stop"})
        return 0

    def _drain(self, drain_seconds: float) -> None:
        """Wait (bounded) for job threads still running, so their transactions end cleanly."""
        deadline = time.monotonic() + drain_seconds
        for thread in threading.enumerate():
            # APScheduler's default executor runs jobs on concurrent.futures worker threads.
            if thread is not threading.current_thread() and thread.name.startswith(
                "ThreadPoolExecutor"
            ):
                thread.join(max(0.0, deadline - time.monotonic()))


def close_interrupted_runs(engine: Engine) -> int:
    """Mark fetch runs left 'running' by a process that died as `interrupted`; returns how many.

    The store's own check (`store.close_interrupted_runs`): a run whose process is still alive,
    such as a manual `flashpoint refresh` next to the service, is left alone.
    """
    from flashpoint import store

    return store.close_interrupted_runs(engine)


def scheduled_jobs(settings: Any, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Each enabled source's job id, schedule and next run time (for `flashpoint status`)."""
    moment = now or datetime.now(UTC)
    jobs = []
    for name, source in settings.sources.items():
        if not source.enabled:
            continue
        fire = next_run_time(source.schedule, timezone=settings.scheduler.timezone, now=moment)
        jobs.append(
            {
                "job_id": f"refresh:{name}",
                "source": name,
                "schedule": source.schedule,
                "next_run": fire,
            }
        )
    return jobs


def seconds_until(moment: datetime | None, *, now: datetime | None = None) -> float | None:
    """Seconds from now until `moment` (None stays None)."""
    if moment is None:
        return None
    return (moment - (now or datetime.now(UTC))) / timedelta(seconds=1)
