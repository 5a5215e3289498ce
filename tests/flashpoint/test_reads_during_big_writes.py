"""Issue 14's done-when: `flashpoint score` reads and a dashboard page loop never fail while
`load-snapshot --force` rewrites the store and while a big `flashpoint import` runs, and each
read sees the store before or after a write, never a mix.

One writer process runs, in order: a live source takes over every snapshot row (same values),
`flashpoint load-snapshot --force` writes them all back (491k changed rows), then `flashpoint
import` of a generated CSV (SYNTHETIC: daily LPG and diesel prices for 40 countries, plus a
Kazakhstan LPG series whose jump on 2022-01-05 changes KAZ's score). Meanwhile this process runs
500 `flashpoint score` reads through the CLI's own read path, and a second process runs the
Overview page under AppTest in a loop; once the import has started, a second writer (`flashpoint
import` of another small file) runs alongside it and must succeed, waiting for the lock when it
meets it (`test_store_write_retry.py` proves that wait deterministically).

The import here has 400,000 rows by default: enough to hold the write lock for several seconds on
a busy machine, which is what the readers must survive, and short enough for every CI run.
`FLASHPOINT_TEST_IMPORT_ROWS=1000000` runs it with the issue's full million rows (minutes more);
the 1M-row time, peak memory and longest lock are measured by `bench/bench_import_memory.py`.

Each read is the store access `flashpoint score --country KAZ` makes (`open_store`: a fresh
read-only opening with its schema and emptiness checks), then a read of KAZ's trigger inputs (a
slice of what scoring reads: the whole read costs a second on a busy machine), compared with the
inputs before and after the writes; every 50th read is the whole in-process `flashpoint score`
command, compared with its output before and after. The page loop runs with the dashboard's
caches on, as served: each write changes the store's data version, so the next run reads again.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from flashpoint import store
from flashpoint.cli import main
from flashpoint.config import load_config
from indicators.countries import iso3_countries
from tests.support.snapshot_template import copy_of_template

REPO_ROOT = Path(__file__).resolve().parents[2]
READS = 500
FULL_SCORE_EVERY = 50
IMPORT_ROWS = int(os.environ.get("FLASHPOINT_TEST_IMPORT_ROWS", "400000"))
SCORE_ARGS = ["score", "--country", "KAZ", "--as-of", "2022-01-10"]
TRIGGER_INPUTS = ["fuel_lpg_retail", "fuel_gasoline_retail", "fuel_diesel_retail", "usd_fx_rate"]

# The writer: takeover, forced snapshot load, big import; each phase announced in the state file.
WRITER = r"""
import json, sys
from pathlib import Path
import sqlalchemy as sa
from flashpoint import store
from flashpoint.cli import main

config, url, big_csv, state = sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])
engine = store.make_engine(url)
with store.begin_write(engine) as connection:
    connection.execute(sa.text(
        "UPDATE observations SET source = 'live:replica' WHERE source LIKE 'snapshot:%'"
    ))
engine.dispose()
codes = []
state.write_text("force-load")
# A short composite history: the precompute still writes after the load, in seconds.
codes.append(main(["load-snapshot", "--force", "--config", config, "--history-days", "30"]))
state.write_text("import")
codes.append(main(["import", big_csv, "--config", config]))
state.write_text("done")
print(json.dumps({"codes": codes}), flush=True)
"""

# The dashboard page loop: the Overview under AppTest (one process, so Streamlit's caches carry
# over between runs as on a server) until the stop file appears.
PAGE_LOOP = r"""
import json, sys, traceback
from pathlib import Path
from streamlit.testing.v1 import AppTest

app, stop = sys.argv[1], Path(sys.argv[2])
runs, failures = 0, []
while not stop.exists() or runs < 2:
    try:
        at = AppTest.from_file(app, default_timeout=600)
        at.run()
        problems = [str(e.value)[:300] for e in at.exception] + [
            str(e.value)[:300] for e in at.error
        ]
        failures.extend(problems)
        if not at.metric:
            failures.append("the overview showed no metric")
    except Exception:
        failures.append(traceback.format_exc()[-500:])
    runs += 1
    print(f"run {runs}", flush=True)
    if runs >= 40:
        break
print(json.dumps({"runs": runs, "failures": failures}), flush=True)
"""


def _write_big_csv(path: Path, rows: int) -> None:
    """SYNTHETIC prices: KAZ's LPG from 2019 with a jump on 2022-01-05, then daily LPG and
    diesel for 40 other countries until `rows` rows are written."""
    start = dt.date(2019, 1, 1)
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["indicator", "country", "period", "value", "unit"])
        written = 0
        day = start
        while day <= dt.date(2022, 1, 10):
            price = 200.0 if day >= dt.date(2022, 1, 5) else 60.0
            out.writerow(["fuel_lpg_retail", "KAZ", day.isoformat(), f"{price:.2f}", "KZT/litre"])
            written += 1
            day += dt.timedelta(days=1)
        others = [code for code in sorted(iso3_countries()) if code != "KAZ"][:40]
        per_day = 2 * len(others)
        for offset in range(-(-(rows - written) // per_day)):
            period = (dt.date(1990, 1, 1) + dt.timedelta(days=offset)).isoformat()
            for c, country in enumerate(others):
                for i, indicator in enumerate(("fuel_lpg_retail", "fuel_diesel_retail")):
                    if written == rows:
                        return
                    value = 50 + (offset % 97) + c * 0.5 + i
                    out.writerow([indicator, country, period, f"{value:.2f}", "KZT/litre"])
                    written += 1


class Reader:
    """`flashpoint score`'s store access, and the whole command now and then."""

    def __init__(self, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.config = config
        self.settings = load_config(config)
        self.capsys = capsys

    def inputs(self) -> pd.DataFrame:
        from flashpoint.commands.score import open_store

        engine = open_store(self.settings)
        try:
            frame = store.read_observations(
                engine, indicators=TRIGGER_INPUTS, countries=["KAZ"], include_forecasts=False
            )
        finally:
            engine.dispose()
        return frame.drop(columns=["source", "fetched_at"]).reset_index(drop=True)

    def score(self) -> tuple[int, str, str]:
        code = main([*SCORE_ARGS, "--config", str(self.config)])
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err


def _equal(left: pd.DataFrame, right: pd.DataFrame) -> bool:
    try:
        pd.testing.assert_frame_equal(left, right)
    except AssertionError:
        return False
    return True


def _state(path: Path) -> str:
    return path.read_text().strip() if path.exists() else ""


@pytest.mark.slow
def test_score_reads_and_pages_never_fail_during_a_forced_load_and_a_big_import(
    tmp_path: Path, snapshot_template: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = copy_of_template(snapshot_template, tmp_path / "store")
    url = f"sqlite:///{database}"
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\nurl = "{url}"\n', encoding="utf-8")
    big_csv = tmp_path / "big.csv"
    _write_big_csv(big_csv, IMPORT_ROWS)
    small_csv = tmp_path / "small.csv"
    small_csv.write_text(
        "indicator,country,period,value,unit\nfuel_diesel_retail,UZB,2022-01-03,7000,UZS/litre\n",
        encoding="utf-8",
    )
    reader = Reader(config, capsys)
    before_inputs = reader.inputs()
    code, before_score, _ = reader.score()
    assert code == 0 and "KAZ" in before_score

    state, stop = tmp_path / "state", tmp_path / "stop"
    env_pages = {"FLASHPOINT_CONFIG": str(config)}
    pages = subprocess.Popen(
        [sys.executable, "-c", PAGE_LOOP, str(REPO_ROOT / "dashboard" / "app.py"), str(stop)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **env_pages},
    )  # fmt: skip
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(config), url, str(big_csv), str(state)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    seen: list[tuple[str, pd.DataFrame | tuple[int, str, str]]] = []
    failures: list[str] = []
    second_writer: subprocess.Popen[str] | None = None
    phases: dict[str, int] = {}
    try:
        deadline = time.monotonic() + 1800
        reads = 0
        while reads < READS or writer.poll() is None:
            assert time.monotonic() < deadline, f"only {reads} reads"
            phase = _state(state)
            if phase == "import" and second_writer is None:
                second_writer = subprocess.Popen(
                    [sys.executable, "-m", "flashpoint.cli", "import", str(small_csv),
                     "--config", str(config)],
                    cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                )  # fmt: skip
            try:
                if reads % FULL_SCORE_EVERY == 0:
                    seen.append((phase, reader.score()))
                else:
                    seen.append((phase, reader.inputs()))
            except Exception as error:  # a read that fails at all is the failure under test
                failures.append(f"read {reads} ({phase}): {type(error).__name__}: {error}"[:300])
            if phase == _state(state):
                phases[phase] = phases.get(phase, 0) + 1  # the whole read ran in this phase
            reads += 1
        stop.touch()
        writer_out, writer_err = writer.communicate(timeout=600)
        pages_out, pages_err = pages.communicate(timeout=1200)
        assert second_writer is not None, "the import phase was never seen"
        _, second_err = second_writer.communicate(timeout=600)
    finally:
        stop.touch()
        for process in (writer, pages, second_writer):
            if process is not None and process.poll() is None:
                process.kill()
                process.communicate()

    assert writer.returncode == 0, writer_err
    assert json.loads(writer_out.strip().splitlines()[-1])["codes"] == [0, 0], writer_err
    assert second_writer.returncode == 0, second_err
    assert failures == []
    assert len(seen) >= READS
    # Reads overlapped both long writes.
    assert phases.get("force-load", 0) >= 5 and phases.get("import", 0) >= 5, phases

    after_inputs = reader.inputs()
    code, after_score, _ = reader.score()
    assert code == 0
    assert not _equal(after_inputs, before_inputs), "the import did not change KAZ's inputs"
    assert after_score != before_score, "the import did not change KAZ's score"
    mixed: list[str] = []
    befores = afters = 0
    for phase, outcome in seen:
        if isinstance(outcome, tuple):
            code, out, err = outcome
            ok_before, ok_after = out == before_score, out == after_score
            if code != 0:
                mixed.append(f"score exit {code} ({phase}): {err.strip()[:200]}")
                continue
        else:
            ok_before, ok_after = _equal(outcome, before_inputs), _equal(outcome, after_inputs)
        befores += ok_before
        afters += ok_after
        if not (ok_before or ok_after):
            mixed.append(f"a read during {phase!r} matched neither state")
    assert mixed == []
    assert befores > 0 and afters > 0

    page_summary = json.loads(pages_out.strip().splitlines()[-1])
    assert page_summary["failures"] == [], pages_err[-2000:]
    assert page_summary["runs"] >= 2
    for text in (writer_err, second_err, pages_err):
        assert "database is locked" not in text
    check = store.make_engine(url)
    try:
        assert store.integrity_check(check) == []
        runs = store.read_fetch_runs(check, limit=100)
        assert "error" not in set(runs["status"])
    finally:
        check.dispose()
