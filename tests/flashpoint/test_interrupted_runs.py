"""Interrupted runs close themselves: a killed `refresh` leaves no `running` row behind."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from flashpoint import store
from flashpoint.cli import main
from flashpoint.config import SourcesSettings
from flashpoint.store.runs import current_process
from tests.support.replay_server import ReplayServer, hang
from tests.support.serve_process import wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]
WB_ROUTE = r"/v2/country/KAZ/indicator/[A-Z0-9.;]+"


def _config(tmp_path: Path, base_url: str) -> Path:
    lines = [
        "[general]",
        'countries = ["KAZ"]',
        'default_country = "KAZ"',
        f'data_dir = "{tmp_path / "data"}"',
        "[store]",
        f'url = "sqlite:///{tmp_path / "store.db"}"',
    ]
    for name in SourcesSettings.model_fields:
        lines += [f"[sources.{name}]", f"enabled = {'true' if name == 'worldbank' else 'false'}"]
        if name == "worldbank":
            # Long enough that the stalled request is still pending when the process is killed.
            lines += [f'base_url = "{base_url}/v2"', "timeout_seconds = 120.0", "max_retries = 0"]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _runs(url: str) -> pd.DataFrame:
    if not Path(sa.make_url(url).database or "").exists():
        return pd.DataFrame(columns=["status"])
    engine = store.make_engine(url, read_only=True)
    try:
        if store.read_schema_version(engine) is None:
            return pd.DataFrame(columns=["status"])
        return store.read_fetch_runs(engine, limit=100)
    finally:
        engine.dispose()


def test_a_killed_refresh_is_shown_then_closed_by_the_next_writing_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("FLASHPOINT_DATABASE_URL", raising=False)
    server = ReplayServer().start()
    try:
        server.add(re.compile(WB_ROUTE), hang(300))  # the upstream stalls
        config = _config(tmp_path, server.url)
        url = f"sqlite:///{tmp_path / 'store.db'}"
        process = subprocess.Popen(
            [sys.executable, "-m", "flashpoint.cli", "refresh", "--fetch-only", "--quiet",
             "--config", str(config)],
            cwd=REPO_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            wait_for(
                lambda: bool((_runs(url)["status"] == "running").any()),
                timeout=60.0,
                what="the refresh to start a run",
            )
            wait_for(lambda: server.count() > 0, timeout=60.0,
                     what="the refresh to ask the stalled upstream")
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
    finally:
        server.stop()
    killed = _runs(url)
    assert killed["status"].tolist() == ["running"]
    assert killed["detail"].iloc[0]["pid"] == process.pid

    # A run of a process that is alive (this one) must survive the clean-up.
    writer = store.make_engine(url)
    try:
        live_run = store.start_fetch_run(writer, "live_source")
    finally:
        writer.dispose()

    # `status` is read-only: it shows the dead run as interrupted without touching the store.
    assert main(["status", "--config", str(config)]) == 0
    shown = capsys.readouterr().out
    line = next(text for text in shown.splitlines() if text.startswith("worldbank"))
    assert "interrupted" in line and "its process ended before the run finished" in line
    assert (_runs(url)["status"] == "running").sum() == 2

    # Any writing command closes it.
    assert main(["init", "--config", str(config)]) == 0
    assert "Marked 1 fetch run(s) as interrupted" in capsys.readouterr().out
    runs = _runs(url).set_index("source")
    assert runs.at["worldbank", "status"] == "interrupted"
    assert runs.at["worldbank", "error"] == (
        f"interrupted: pid {process.pid} on {socket.gethostname()} ended before the run "
        "finished; nothing from this run was stored"
    )
    assert pd.notna(runs.at["worldbank", "finished_at"])
    assert runs.at["live_source", "status"] == "running"
    assert int(runs.at["live_source", "id"]) == live_run
    assert main(["status", "--config", str(config)]) == 0
    after = capsys.readouterr().out
    assert "interrupted" in next(t for t in after.splitlines() if t.startswith("worldbank"))


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_recycled_pids_other_hosts_and_unrecorded_processes(sqlite_url: str) -> None:
    me = current_process()
    assert me["pid"] == os.getpid() and me["process_started"]
    now = pd.Timestamp.now("UTC").tz_localize(None)
    rows = {
        # This process's pid with another start time: the pid was recycled, the run's is gone.
        "recycled": ({**me, "process_started": "1"}, now),
        "other_host_recent": ({**me, "host": "elsewhere.example"}, now),
        "other_host_old": ({**me, "host": "elsewhere.example"}, now - pd.Timedelta(hours=7)),
        "unrecorded_recent": (None, now),
        "unrecorded_old": (None, now - pd.Timedelta(hours=7)),
        "alive": (me, now),
    }
    engine = store.open_for_writing(sqlite_url)
    try:
        with store.begin_write(engine) as connection:
            for source, (detail, started) in rows.items():
                connection.execute(
                    store.fetch_runs.insert().values(
                        source=source,
                        status="running",
                        started_at=started.to_pydatetime(),
                        detail=detail,
                    )
                )
        closed = store.close_interrupted_runs(engine)
        runs = store.read_fetch_runs(engine).set_index("source")["status"].to_dict()
    finally:
        engine.dispose()
    assert runs == {
        "recycled": "interrupted",
        "other_host_recent": "running",
        "other_host_old": "interrupted",
        "unrecorded_recent": "running",
        "unrecorded_old": "interrupted",
        "alive": "running",
    }
    assert closed == 3
