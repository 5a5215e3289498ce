"""A second writer waits for another process's long write with bounded, reported retries.

Another process holds SQLite's write lock (a real `BEGIN IMMEDIATE` on the same file, as a big
import's switch does) for longer than the busy timeout. The busy timeout and the pause between
attempts are shortened here so that "longer than the busy timeout" takes a second, not a minute;
the code path is the one every writing command takes.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from flashpoint import cli, store
from flashpoint.store import engine as store_engine_module

REPO_ROOT = Path(__file__).resolve().parents[2]

# Holds the write lock of the SQLite file argv[1] until the file argv[2] appears.
LOCK_HOLDER = r"""
import sqlite3, sys, time
from pathlib import Path
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
release = Path(sys.argv[2])
deadline = time.monotonic() + 300
while not release.exists() and time.monotonic() < deadline:
    time.sleep(0.05)
connection.execute("ROLLBACK")
print("released", flush=True)
"""


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def store_log() -> Iterator[_Lines]:
    handler = _Lines()
    logger = logging.getLogger("flashpoint.store")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@pytest.fixture
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_engine_module, "BUSY_TIMEOUT_MS", 200)
    monkeypatch.setattr(store_engine_module, "WRITE_LOCK_PAUSE_SECONDS", 0.1)


def _hold_lock(database: Path, release: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(database), str(release)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "locked", holder.stderr
    return holder


def _wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _config(tmp_path: Path) -> tuple[Path, Path, str]:
    database = tmp_path / "flashpoint.db"
    url = f"sqlite:///{database}"
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\nurl = "{url}"\n', encoding="utf-8")
    return config, database, url


def _series_csv(path: Path) -> Path:
    path.write_text(
        "indicator,country,period,value,unit\n"
        "fuel_lpg_retail,KAZ,2022-01-01,120,KZT/litre\n"
        "fuel_lpg_retail,KAZ,2022-01-02,120,KZT/litre\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.usefixtures("short_busy_timeout")
def test_a_writing_command_waits_for_the_lock_and_reports_each_wait(
    tmp_path: Path, store_log: _Lines, capsys: pytest.CaptureFixture[str]
) -> None:
    config, database, url = _config(tmp_path)
    assert cli.main(["init", "--config", str(config)]) == 0
    release = tmp_path / "release"
    holder = _hold_lock(database, release)
    outcome: dict[str, int] = {}
    try:
        importer = threading.Thread(
            target=lambda: outcome.setdefault(
                "code",
                cli.main(["import", str(_series_csv(tmp_path / "s.csv")), "--config", str(config)]),
            )
        )
        importer.start()
        # The import is waiting, and has said so at least twice: then let the holder finish.
        _wait_until(lambda: len(store_log.lines) >= 2, "two reported waits")
        assert importer.is_alive()
        release.touch()
        importer.join(timeout=120)
        assert not importer.is_alive()
    finally:
        release.touch()
        holder.communicate(timeout=60)
    assert outcome["code"] == 0, capsys.readouterr().err
    assert all("store locked by another writer" in line for line in store_log.lines)
    assert "(attempt 2 of 6)" in store_log.lines[0]
    engine = store.open_for_reading(url)
    try:
        assert len(store.read_observations(engine, countries=["KAZ"])) == 2
    finally:
        engine.dispose()


@pytest.mark.usefixtures("short_busy_timeout")
def test_a_writer_gives_up_after_the_bounded_retries_with_one_line(
    tmp_path: Path, store_log: _Lines, capsys: pytest.CaptureFixture[str]
) -> None:
    config, database, url = _config(tmp_path)
    assert cli.main(["init", "--config", str(config)]) == 0
    capsys.readouterr()
    release = tmp_path / "release"
    holder = _hold_lock(database, release)
    try:
        started = time.monotonic()
        code = cli.main(["import", str(_series_csv(tmp_path / "s.csv")), "--config", str(config)])
        waited = time.monotonic() - started
    finally:
        release.touch()
        holder.communicate(timeout=60)
    err = capsys.readouterr().err
    assert code != 0
    lines = [line for line in err.splitlines() if line.startswith("flashpoint: error")]
    assert len(lines) == 1, err
    assert "stayed locked by another writer" in lines[0]
    assert "(6 attempts to write)" in lines[0]
    assert "Traceback" not in err
    assert len(store_log.lines) == store_engine_module.WRITE_LOCK_ATTEMPTS - 1
    # Bounded: six attempts of 0.2 s plus five pauses, with room for a loaded machine.
    assert waited < 60
    engine = store.open_for_reading(url)
    try:
        assert store.is_empty(engine)
    finally:
        engine.dispose()


def test_a_write_that_fails_for_another_reason_is_not_retried(
    tmp_path: Path, store_log: _Lines
) -> None:
    _, _, url = _config(tmp_path)
    engine = store.open_for_writing(url)
    try:
        with pytest.raises(Exception, match="no such table"), store.begin_write(engine) as c:
            c.exec_driver_sql("INSERT INTO no_such_table VALUES (1)")
    finally:
        engine.dispose()
    assert store_log.lines == []
