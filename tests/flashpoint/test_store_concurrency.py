"""One writer process and a busy reader on the same SQLite file (WAL): no "database is locked"."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.exc import OperationalError

from flashpoint import store
from tests.support.snapshot_template import copy_of_template

REPO_ROOT = Path(__file__).resolve().parents[2]

# Runs in a separate interpreter: upserts batches (new periods plus revisions of the previous
# batch, inside fetch runs) until the stop file appears, then prints one JSON summary line.
WRITER = r"""
import json, sys
from pathlib import Path
import numpy as np, pandas as pd
from flashpoint import store

url, stop_file = sys.argv[1], Path(sys.argv[2])
engine = store.make_engine(url)
store.init_schema(engine)
print("ready", flush=True)
countries = [f"C{i:02d}" for i in range(40)]
batches, locked, failures, rows = 0, 0, [], 0
while not stop_file.exists() and batches < 2000:
    periods = pd.date_range("1900-01-01", periods=batches + 1, freq="MS")[-2:]
    frame = pd.DataFrame(
        [(f"ind_{i}", c, p) for i in range(10) for c in countries for p in periods],
        columns=["indicator", "country", "period"],
    )
    frame["value"] = np.arange(len(frame), dtype="float64") + batches
    frame["unit"] = "%"
    frame["source"] = "writer"
    try:
        run = store.start_fetch_run(engine, "writer")
        counts = store.upsert_observations(engine, frame, fetch_run_id=run)
        store.finish_fetch_run(engine, run, status="ok", requests=1, counts=counts)
        rows += counts.new
        batches += 1
    except Exception as error:
        if "database is locked" in str(error):
            locked += 1
        else:
            failures.append(repr(error))
            break
print(json.dumps({"batches": batches, "locked": locked, "failures": failures, "rows": rows}))
"""


def _wait_for_line(process: subprocess.Popen[str], expected: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.strip() == expected:
            return
        if not line and process.poll() is not None:
            break
    stderr = process.stderr.read() if process.stderr else ""
    pytest.fail(f"writer never printed {expected!r} (exit {process.poll()}): {stderr}")


def test_reads_never_see_database_is_locked_while_a_writer_upserts(
    sqlite_url: str, tmp_path: Path
) -> None:
    stop_file = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, sqlite_url, str(stop_file)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    engine = store.make_engine(sqlite_url)
    reads = 0
    locked: list[str] = []
    observed_counts: set[int] = set()
    try:
        store.init_schema(engine)  # both processes create the schema idempotently at start
        _wait_for_line(writer, "ready", timeout=60)
        deadline = time.monotonic() + 120
        # Keep reading until 500 reads are done and the writer has committed several batches
        # meanwhile (proof that the two overlapped).
        while reads < 500 or len(observed_counts) < 5:
            assert time.monotonic() < deadline, f"only {reads} reads, {observed_counts=}"
            assert writer.poll() is None, "writer exited early"
            try:
                # Three different reads, each its own read transaction, each counted.
                frame = store.read_observations(engine, countries=["C07", "C21"])
                assert frame.empty or set(frame["country"]) <= {"C07", "C21"}
                reads += 1
                version = store.data_version(engine)
                observed_counts.add(int(version.split("|", 1)[0]))
                reads += 1
                runs = store.last_fetch_runs(engine)
                assert runs.empty or runs["source"].tolist() == ["writer"]
                reads += 1
                if reads % 60 == 0:
                    # An occasional write from this process too: writers queue, never fail.
                    store.set_http_validator(engine, f"reader:{reads}", f'"{version}"', None)
            except OperationalError as error:
                if "database is locked" not in str(error):
                    raise
                locked.append(str(error))
        stop_file.touch()
        stdout, stderr = writer.communicate(timeout=120)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.communicate()
        engine.dispose()
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert writer.returncode == 0, stderr
    assert locked == []
    assert summary["locked"] == 0
    assert summary["failures"] == []
    assert reads >= 500
    assert summary["batches"] >= 5
    # Everything the writer committed is there, and the store is sound.
    assert len(store_rows(sqlite_url)) == summary["rows"]
    check = store.make_engine(sqlite_url)
    try:
        assert store.integrity_check(check) == []
        assert (
            len(store.read_fetch_runs(check, source="writer", limit=100_000)) == summary["batches"]
        )
    finally:
        check.dispose()


def store_rows(url: str) -> pd.DataFrame:
    engine = store.make_engine(url)
    try:
        return store.read_observations(engine)
    finally:
        engine.dispose()


# Runs in a separate interpreter: until the stop file appears (and at least twice), a live source
# takes over every snapshot row with the same values, then `flashpoint load-snapshot --force`
# rewrites them all back: two long write transactions per cycle that change no score. The state
# file says whether a forced load is in progress, so the reader can prove the two overlapped.
SNAPSHOT_WRITER = r"""
import json, sys
from pathlib import Path
import sqlalchemy as sa
from flashpoint import store
from flashpoint.cli import main

config, url, stop_file, state_file = sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
engine = store.make_engine(url)
print("ready", flush=True)
loads, codes = 0, []
while loads < 2 or not stop_file.exists():
    with store.begin_write(engine) as connection:
        connection.execute(sa.text(
            "UPDATE observations SET source = 'live:replica' WHERE source LIKE 'snapshot:%'"
        ))
    state_file.write_text(f"loading {loads}")
    # A short composite history: the precompute still writes after each load, in seconds.
    code = main(["load-snapshot", "--force", "--config", config, "--history-days", "30"])
    codes.append(code)
    if code != 0:
        break
    loads += 1
    state_file.write_text(f"done {loads}")
engine.dispose()
print(json.dumps({"loads": loads, "codes": codes}), flush=True)
"""

SCORE_ARGS = ["score", "--country", "KAZ", "--as-of", "2022-01-10"]
FULL_SCORE_EVERY = 50  # every 50th read is a whole in-process `flashpoint score`
# Reads over at least two whole forced loads. The 500-read run of issue 14 (a forced load, a big
# import and a page loop together) is tests/flashpoint/test_reads_during_big_writes.py; this one
# proves repeated forced loads and real `score` processes alongside.
READS = 200
FUEL_INDICATORS = ["fuel_lpg_retail", "fuel_gasoline_retail", "fuel_diesel_retail", "usd_fx_rate"]


def _loads_done(state_file: Path) -> int:
    text = state_file.read_text() if state_file.exists() else ""
    return int(text.split()[1]) if text.startswith("done") else 0


def _loading(state_file: Path) -> bool:
    return state_file.exists() and state_file.read_text().startswith("loading")


@pytest.mark.slow
def test_score_reads_never_fail_while_load_snapshot_force_rewrites_the_store(
    tmp_path: Path, snapshot_template: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from flashpoint.cli import main

    database = copy_of_template(snapshot_template, tmp_path / "store")
    url = f"sqlite:///{database}"
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\nurl = "{url}"\n', encoding="utf-8")

    def score_in_process() -> tuple[int, str, str]:
        code = main([*SCORE_ARGS, "--config", str(config)])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    def score_inputs() -> pd.DataFrame:
        # `score`'s way into the store: a fresh read-only opening (the schema check that used
        # to take the write lock, the emptiness check), then a read of the trigger's inputs (a
        # slice of what scoring reads: the whole read costs seconds on a busy machine).
        engine = store.open_for_reading(url)
        try:
            assert not store.is_empty(engine)
            frame = store.read_observations(
                engine, indicators=FUEL_INDICATORS, countries=["KAZ"], include_forecasts=False
            )
        finally:
            engine.dispose()
        return frame.drop(columns=["source", "fetched_at"])

    code, baseline, _ = score_in_process()
    assert code == 0 and "KAZ  composite" in baseline
    baseline_inputs = score_inputs()
    assert len(baseline_inputs) > 10

    stop_file, state_file = tmp_path / "stop", tmp_path / "state"
    writer = subprocess.Popen(
        [sys.executable, "-c", SNAPSHOT_WRITER, str(config), url, str(stop_file), str(state_file)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    subprocess_reads: list[subprocess.Popen[str]] = []
    failures: list[str] = []
    reads = full_scores = during_load = 0
    try:
        _wait_for_line(writer, "ready", timeout=60)
        deadline = time.monotonic() + 2400
        while reads < READS or _loads_done(state_file) < 2:
            assert time.monotonic() < deadline, f"only {reads} reads"
            assert writer.poll() is None, "writer exited early"
            loading = _loading(state_file)
            if reads in (25, 75, 125) and len(subprocess_reads) < 3:
                # Real `flashpoint score` processes too, running alongside.
                subprocess_reads.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "flashpoint.cli", *SCORE_ARGS, "--config",
                         str(config)],
                        cwd=REPO_ROOT,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE,
                        text=True,
                    )
                )
            if reads % FULL_SCORE_EVERY == 0:
                code, out, err = score_in_process()
                full_scores += 1
                if code != 0 or out != baseline:
                    failures.append(f"read {reads}: score exit {code}: {err.strip()[:200]}")
            else:
                try:
                    pd.testing.assert_frame_equal(score_inputs(), baseline_inputs)
                except (AssertionError, OperationalError, store.StoreNotReadyError) as error:
                    failures.append(f"read {reads}: {str(error)[:200]}")
            reads += 1
            if loading and _loading(state_file):
                during_load += 1  # the whole read ran while a forced load was in progress
        stop_file.touch()
        stdout, stderr = writer.communicate(timeout=600)
        outcomes = [process.communicate(timeout=300) for process in subprocess_reads]
    finally:
        for process in [writer, *subprocess_reads]:
            if process.poll() is None:
                process.kill()
                process.communicate()
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert writer.returncode == 0, stderr
    assert summary["codes"] == [0] * summary["loads"] and summary["loads"] >= 2
    assert failures == []
    assert reads >= READS and full_scores >= READS // FULL_SCORE_EVERY
    assert during_load >= 25, (reads, during_load)
    assert len(outcomes) == 3
    for process, (out, err) in zip(subprocess_reads, outcomes, strict=True):
        assert process.returncode == 0, err
        assert out == baseline
    check = store.make_engine(url)
    try:
        assert store.integrity_check(check) == []
        runs = store.read_fetch_runs(check, source="snapshot", limit=1000)
        assert set(runs["status"]) == {"ok"}
        stored = store.read_observations(check)
        assert not stored["source"].str.startswith("live:").any()
    finally:
        check.dispose()
