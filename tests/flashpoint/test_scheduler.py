"""The scheduler service: schedules, the one-scheduler lock, `flashpoint serve` as a real process.

The serve tests run `python -m flashpoint.cli serve` as a subprocess against a store on disk (and a
real PostgreSQL server), with second-level schedules, fetching the real recorded NBK responses from
a loopback server and the analyst's CSV from a file. They poll the store with a deadline — they
never sleep a fixed time hoping something happened.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, select

from flashpoint import store
from flashpoint.config import load_config
from flashpoint.errors import ConfigError
from flashpoint.scheduler import FileLock, PostgresAdvisoryLock, SchedulerService, scheduled_jobs
from flashpoint.schedules import next_run_time, parse_schedule
from tests.support.replay_server import ReplayServer, Reply, running_replay_server
from tests.support.serve_process import (
    DISABLED,
    KZ_FUEL_FIXTURE,
    start_serve,
    stop_serve,
    wait_for,
    write_serve_config,
)

ROOT = Path(__file__).resolve().parents[2]
NBK_FIXTURE = ROOT / "tests" / "fixtures" / "nbk" / "get_rates_fdate_01.08.2026.trimmed.xml"


# ------------------------------------------------------------------------------------------
# Pure parts: schedules
# ------------------------------------------------------------------------------------------


def test_parse_schedule_reads_cron_and_intervals() -> None:
    now = datetime(2026, 11, 29, 5, 59, tzinfo=UTC)
    assert next_run_time("0 6 * * *", now=now) == datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
    assert next_run_time("every 15m", now=now) is not None
    interval = parse_schedule("every 2s")
    first = interval.get_next_fire_time(None, now)
    second = interval.get_next_fire_time(first, first)
    assert (second - first).total_seconds() == 2


@pytest.mark.parametrize("bad", ["every 0s", "every 5 weeks", "61 * * * *", "* * *", "daily"])
def test_parse_schedule_refuses_nonsense(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_schedule(bad)


def test_config_accepts_interval_schedules_and_names_a_bad_one(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[sources.nbk]\nschedule = "every 30s"\n', encoding="utf-8")
    assert load_config(good).sources.nbk.schedule == "every 30s"
    bad = tmp_path / "bad.toml"
    bad.write_text('[sources.nbk]\nschedule = "every 0s"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    assert "sources.nbk.schedule" in str(caught.value)


def test_scheduled_jobs_lists_each_enabled_source_once(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        "".join(f"[sources.{name}]\nenabled = false\n" for name in DISABLED)
        + '[sources.nbk]\nschedule = "every 2s"\n',
        encoding="utf-8",
    )
    jobs = scheduled_jobs(load_config(config))
    assert [job["job_id"] for job in jobs] == ["refresh:nbk", "refresh:analyst"]
    assert all(job["next_run"] is not None for job in jobs)


def test_build_gives_explicit_ids_coalescing_one_instance_and_real_grace(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[scheduler]\nmisfire_grace_seconds = 600\n", encoding="utf-8")
    settings = load_config(config)
    engine = store.make_engine(f"sqlite:///{tmp_path / 'fp.db'}")
    scheduler = SchedulerService(engine=engine, settings=settings).build()
    jobs = {job.id: job for job in scheduler.get_jobs()}
    enabled = [name for name, source in settings.sources.items() if source.enabled]
    assert sorted(jobs) == sorted(f"refresh:{name}" for name in enabled)
    for job in jobs.values():
        assert job.coalesce is True
        assert job.max_instances == 1
        assert job.misfire_grace_time == 600
    engine.dispose()


# ------------------------------------------------------------------------------------------
# Locks
# ------------------------------------------------------------------------------------------

_HOLD_LOCK = """
import sys, time
from pathlib import Path
from flashpoint.scheduler import FileLock
lock = FileLock(Path(sys.argv[1]))
print("got" if lock.acquire() else "busy", flush=True)
sys.stdin.readline()
"""


def test_file_lock_is_exclusive_across_processes_and_freed_when_the_holder_dies(
    tmp_path: Path,
) -> None:
    path = tmp_path / "fp.db.scheduler.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "got"
        assert FileLock(path).acquire() is False
    finally:
        holder.kill()
        holder.wait()
    # The OS drops the lock with the process, even on SIGKILL.
    lock = FileLock(path)
    assert lock.acquire() is True
    lock.release()


@pytest.mark.postgres
def test_postgres_advisory_lock_is_exclusive_between_engines(postgres_url: str) -> None:
    first, second = store.make_engine(postgres_url), store.make_engine(postgres_url)
    try:
        holder = PostgresAdvisoryLock(first)
        assert holder.acquire() is True
        assert PostgresAdvisoryLock(second).acquire() is False
        holder.release()
        other = PostgresAdvisoryLock(second)
        assert other.acquire() is True
        other.release()
    finally:
        first.dispose()
        second.dispose()


# ------------------------------------------------------------------------------------------
# `flashpoint serve` as a real process
# ------------------------------------------------------------------------------------------


def _runs(engine: Engine) -> pd.DataFrame:
    return store.read_fetch_runs(engine, limit=1000)


@pytest.fixture
def nbk_server() -> Iterator[ReplayServer]:
    with running_replay_server() as server:
        server.add("/get_rates.cfm", Reply.from_file(NBK_FIXTURE))
        yield server


def _serve_runs_the_pipeline(tmp_path: Path, database_url: str, nbk_server: ReplayServer) -> None:
    config = write_serve_config(
        tmp_path, database_url, nbk_url=nbk_server.url, analyst_files=[KZ_FUEL_FIXTURE]
    )
    engine = store.make_engine(database_url)
    store.init_schema(engine)
    log = tmp_path / "serve.log"
    process = start_serve(config, log)
    try:

        def ran_twice_each() -> bool:
            runs = _runs(engine)
            done = runs[runs["status"].isin(["ok", "not_modified"])] if not runs.empty else runs
            counts = done["source"].value_counts() if not done.empty else pd.Series(dtype=int)
            return counts.get("nbk", 0) >= 2 and counts.get("analyst", 0) >= 2

        wait_for(ran_twice_each, timeout=90, what="two runs of each source", log=log)
        wait_for(lambda: not store.read_scores(engine).empty, timeout=30, what="scores", log=log)
        with engine.connect() as connection:
            states = connection.execute(select(store.alert_state)).all()
        assert states, "alert rules were evaluated after the refresh"
    finally:
        status = stop_serve(process)
    assert status == 0, log.read_text()[-3000:]
    observations = store.read_observations(engine)
    fx = observations[observations["indicator"] == "usd_fx_rate"]
    # The recorded NBK document (01.08.2026) quotes USD at 473.59 KZT.
    assert fx.loc[fx["period"] == pd.Timestamp("2026-08-01"), "value"].tolist() == [473.59]
    lpg = observations[observations["indicator"] == "fuel_lpg_retail"].set_index("period")
    assert lpg.loc[pd.Timestamp("2022-01-01"), "value"] == 120
    assert nbk_server.count("/get_rates.cfm") >= 2
    runs = _runs(engine)
    assert set(runs["source"]) == {"nbk", "analyst"}
    assert not (runs["status"] == "running").any()
    # The second run of an unchanged source writes nothing new.
    later = runs.sort_values("id").groupby("source").tail(1)
    assert (later["rows_new"] == 0).all()
    log_text = log.read_text()
    assert "event=job" in log_text and "source=nbk" in log_text
    assert "Traceback" not in log_text
    engine.dispose()


@pytest.mark.slow
def test_serve_runs_jobs_on_schedule_then_scores_and_alerts_sqlite(
    tmp_path: Path, nbk_server: ReplayServer
) -> None:
    _serve_runs_the_pipeline(tmp_path, f"sqlite:///{tmp_path / 'fp.db'}", nbk_server)


@pytest.mark.slow
@pytest.mark.postgres
def test_serve_runs_jobs_on_schedule_then_scores_and_alerts_postgres(
    tmp_path: Path, postgres_url: str, nbk_server: ReplayServer
) -> None:
    _serve_runs_the_pipeline(tmp_path, postgres_url, nbk_server)


def _second_serve_is_refused(tmp_path: Path, database_url: str) -> None:
    config = write_serve_config(
        tmp_path, database_url, nbk_url=None, analyst_files=[KZ_FUEL_FIXTURE]
    )
    engine = store.make_engine(database_url)
    store.init_schema(engine)
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = start_serve(config, first_log)
    try:
        wait_for(
            lambda: "scheduler starting" in first_log.read_text(),
            timeout=60,
            what="the first scheduler",
            log=first_log,
        )
        second = start_serve(config, second_log)
        assert second.wait(timeout=60) == 3
        message = second_log.read_text()
        assert "another `flashpoint serve` already runs against this store" in message
        assert "Traceback" not in message
        # A standby waits, and takes over once the first stops.
        standby_log = tmp_path / "standby.log"
        standby = start_serve(config, standby_log, "--standby", "--standby-poll", "0.2")
        try:
            wait_for(
                lambda: "standing by" in standby_log.read_text(),
                timeout=60,
                what="the standby",
                log=standby_log,
            )
            runs_before_takeover = len(_runs(engine))
            assert standby.poll() is None
            assert stop_serve(first) == 0
            wait_for(
                lambda: "lock acquired after standby" in standby_log.read_text(),
                timeout=120,
                what="the takeover",
                log=standby_log,
            )
            wait_for(
                lambda: len(_runs(engine)) > runs_before_takeover,
                timeout=120,
                what="a run by the standby",
                log=standby_log,
            )
        finally:
            assert stop_serve(standby) == 0
    finally:
        stop_serve(first)
        engine.dispose()


@pytest.mark.slow
def test_second_serve_does_not_run_jobs_sqlite(tmp_path: Path) -> None:
    _second_serve_is_refused(tmp_path, f"sqlite:///{tmp_path / 'fp.db'}")


@pytest.mark.slow
@pytest.mark.postgres
def test_second_serve_does_not_run_jobs_postgres(tmp_path: Path, postgres_url: str) -> None:
    _second_serve_is_refused(tmp_path, postgres_url)


# ------------------------------------------------------------------------------------------
# Crashes and signals mid-refresh
# ------------------------------------------------------------------------------------------

BIG_INDICATOR = "fuel_lpg_retail"
# Not KAZ: the real KZ fuel-price points stay out of the synthetic batch.
BIG_COUNTRIES = sorted(
    set(pd.read_csv(ROOT / "indicators" / "data" / "iso3_countries.csv")["iso3"]) - {"WLD", "KAZ"}
)[:150]


# SYNTHETIC: a large analyst CSV (made-up values) whose only purpose is to make one refresh a
# long write, so that signals land while the batch's transaction is open.
def _write_big_csv(path: Path, version: int, *, months: int = 600) -> int:
    countries = BIG_COUNTRIES
    periods = pd.date_range("1970-01-01", periods=months, freq="MS")
    grid = pd.MultiIndex.from_product([countries, periods], names=["country", "period"])
    frame = grid.to_frame(index=False)
    frame.insert(0, "indicator", "fuel_lpg_retail")
    frame["period"] = frame["period"].dt.strftime("%Y-%m-%d")
    frame["value"] = version + (frame.index % 97) / 100.0
    frame["unit"] = "KZT/litre"
    frame.to_csv(path, index=False)
    return len(frame)


@dataclass
class _BigBatchStore:
    """A SQLite store and a serve config whose analyst source re-imports one big CSV each second."""

    csv: Path
    rows: int
    database_url: str
    config: Path
    engine: Engine


def _big_batch_store(tmp_path: Path) -> _BigBatchStore:
    csv = tmp_path / "big.csv"
    rows = _write_big_csv(csv, 1)
    database_url = f"sqlite:///{tmp_path / 'fp.db'}"
    config = write_serve_config(
        tmp_path, database_url, nbk_url=None, analyst_files=[csv], schedule="every 1s"
    )
    engine = store.make_engine(database_url)
    store.init_schema(engine)
    return _BigBatchStore(csv, rows, database_url, config, engine)


def _versions_in_store(engine: Engine) -> set[int]:
    observations = store.read_observations(
        engine, indicators=[BIG_INDICATOR], countries=BIG_COUNTRIES
    )
    return set(observations["value"].astype(int).unique())


@pytest.mark.slow
def test_sigterm_during_a_refresh_exits_0_and_leaves_the_store_consistent(tmp_path: Path) -> None:
    big = _big_batch_store(tmp_path)
    rows, config, engine = big.rows, big.config, big.engine
    log = tmp_path / "serve.log"
    process = start_serve(config, log)

    def running() -> bool:
        runs = _runs(engine)
        return not runs.empty and (runs["status"] == "running").any()

    try:
        wait_for(running, timeout=60, what="a refresh in progress", log=log)
    finally:
        status = stop_serve(process, signal.SIGTERM)
    assert status == 0, log.read_text()[-3000:]
    assert store.integrity_check(engine) == []
    # Either the whole batch landed or none of it: never a partial batch.
    count = len(
        store.read_observations(engine, indicators=[BIG_INDICATOR], countries=BIG_COUNTRIES)
    )
    assert count in (0, rows)
    runs = _runs(engine)
    # The run the signal interrupted was finished (not left 'running').
    assert not (runs["status"] == "running").any(), runs
    engine.dispose()


@pytest.mark.slow
def test_sigkill_during_refreshes_never_corrupts_or_loses_rows(tmp_path: Path) -> None:
    big = _big_batch_store(tmp_path)
    csv, rows, config, engine = big.csv, big.rows, big.config, big.engine
    # A first clean run stores version 1 of every row.
    log = tmp_path / "serve.log"
    process = start_serve(config, log)
    try:
        wait_for(
            lambda: _versions_in_store(engine) == {1},
            timeout=120,
            what="the first complete batch",
            log=log,
        )
    finally:
        assert stop_serve(process) == 0
    generator = random.Random(20220101)
    killed_mid_run = 0
    for attempt in range(2, 12):  # ten SIGKILLs
        _write_big_csv(csv, attempt)
        process = start_serve(config, log)
        runs_before = len(_runs(engine))
        try:
            wait_for(
                lambda before=runs_before: len(_runs(engine)) > before,
                timeout=60,
                what="a refresh to start",
                log=log,
            )
            time.sleep(generator.uniform(0.0, 1.5))  # a random instant inside the refresh
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        runs = _runs(engine)
        killed_mid_run += int((runs["status"] == "running").any())
        assert store.integrity_check(engine) == [], f"attempt {attempt}"
        stored = store.read_observations(
            engine, indicators=[BIG_INDICATOR], countries=BIG_COUNTRIES
        )
        assert len(stored) == rows, f"attempt {attempt}: rows were lost"
        versions = set(stored["value"].astype(int).unique())
        assert len(versions) == 1, f"attempt {attempt}: a partial batch landed ({versions})"
        assert versions <= set(range(1, attempt + 1))
    # The kills really landed while runs were open (else this test proves little).
    assert killed_mid_run >= 3
    # A restart closes the runs the crashes left open and carries on.
    process = start_serve(config, log)
    try:
        wait_for(
            lambda: _versions_in_store(engine) == {11},
            timeout=120,
            what="a complete batch after the crashes",
            log=log,
        )
    finally:
        assert stop_serve(process) == 0
    runs = _runs(engine)
    assert not (runs["status"] == "running").any()
    assert runs["error"].fillna("").str.startswith("interrupted").sum() >= killed_mid_run
    engine.dispose()


@pytest.mark.slow
def test_dashboard_reads_while_the_scheduler_writes_never_see_a_locked_database(
    tmp_path: Path,
) -> None:
    big = _big_batch_store(tmp_path)
    csv, config, writer_engine = big.csv, big.config, big.engine
    reader = store.make_engine(big.database_url)
    log = tmp_path / "serve.log"
    process = start_serve(config, log)
    reads, locked, version = 0, 0, 1
    try:
        # Generous: on a busy 2-core machine two full batch rewrites can take minutes; the loop
        # ends as soon as both conditions hold.
        deadline = time.monotonic() + 420
        while (reads < 500 or version < 3) and time.monotonic() < deadline:
            # Checking which batch landed reads 90k rows: do it every 25 reads, not every read.
            if reads % 25 == 0 and _versions_in_store(reader) == {version}:
                version += 1
                _write_big_csv(csv, version)  # the next scheduled run rewrites every row
            try:
                # What the dashboard's loaders read on every rerun.
                store.data_version(reader)
                store.read_observations(reader, indicators=["fuel_lpg_retail"], countries=["KAZ"])
                store.last_fetch_runs(reader)
                reads += 1
            except Exception as error:  # counted, not swallowed: asserted below
                if "locked" in str(error).lower():
                    locked += 1
                else:
                    raise
    finally:
        assert stop_serve(process) == 0
    assert reads >= 500
    assert version >= 3, "the scheduler wrote at least two full batches during the reads"
    assert locked == 0
    writer_engine.dispose()
    reader.dispose()
