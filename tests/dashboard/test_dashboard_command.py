"""`flashpoint dashboard`: production flags, snapshot loaded into an empty store, a real server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from flashpoint import snapshot, store
from flashpoint.commands.dashboard import app_path, streamlit_command
from flashpoint.config import load_config
from flashpoint.precompute import read_panel
from flashpoint.scoring import today
from tests.dashboard.conftest import free_port, sqlite_url, wait_for_health


def test_command_line_uses_the_installed_app_and_production_flags() -> None:
    app = app_path()
    assert app.is_file()
    assert (app.parent / ".streamlit" / "config.toml").is_file()
    assert (app.parent / "static" / "topojson" / "world_110m.json").is_file()
    command = streamlit_command(app, port=8765, address="0.0.0.0")
    # Streamlit's own command line, its imports warmed up first (`dashboard.warmup`).
    assert command[:5] == [sys.executable, "-m", "dashboard.warmup", "run", str(app)]
    flags = dict(zip(command[5::2], command[6::2], strict=True))
    assert flags == {
        "--server.port": "8765",
        "--server.address": "0.0.0.0",
        "--server.headless": "true",
        "--server.fileWatcherType": "none",
        "--server.enableStaticServing": "true",
        "--server.runOnSave": "false",
        "--browser.gatherUsageStats": "false",
        "--global.developmentMode": "false",
    }


# A first start's background precompute takes about a minute here, several on a busy machine.
PRECOMPUTE_SECONDS = 600.0


def wait_for_log_line(log: Path, start: bytes) -> bytes:
    """The first line of `log` starting with `start`, waiting for it with a generous deadline."""
    deadline = time.monotonic() + PRECOMPUTE_SECONDS
    while time.monotonic() < deadline:
        for line in log.read_bytes().splitlines():
            if line.startswith(start):
                return line
        time.sleep(1)  # polling a log another process appends to
    tail = log.read_text(errors="replace")[-4000:]
    raise AssertionError(f"no line starting {start!r} after {PRECOMPUTE_SECONDS:.0f} s:\n{tail}")


def _processes() -> list[tuple[int, int, str, bytes]]:
    """(pid, parent pid, state, command line) of every process visible in /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:  # it ended while we looked
            continue
        # The command name in parentheses may hold spaces: the fields follow its last ')'.
        state, parent = stat[stat.rindex(")") + 2 :].split()[:2]
        found.append((int(entry.name), int(parent), state, cmdline))
    return found


def wait_until_precompute_exits(config: Path) -> None:
    """Wait (generously) until no live background precompute for `config` is left."""
    marker = str(config).encode()
    deadline = time.monotonic() + PRECOMPUTE_SECONDS
    while time.monotonic() < deadline:
        running = [
            pid
            for pid, _, state, cmdline in _processes()
            if b"background_precompute" in cmdline and marker in cmdline and state != "Z"
        ]
        if not running:
            return
        time.sleep(0.5)  # polling for another process to end
    raise AssertionError(f"background precompute still running after {PRECOMPUTE_SECONDS:.0f} s")


def test_dashboard_loads_the_snapshot_into_an_empty_store_and_serves(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[general]\ncountries = ["KAZ", "KGZ"]\ndefault_country = "KAZ"\n', encoding="utf-8"
    )
    database = tmp_path / "store.db"
    environment = {**os.environ, "FLASHPOINT_DATABASE_URL": sqlite_url(database)}
    environment.pop("FLASHPOINT_CONFIG", None)
    port = free_port()
    log = tmp_path / "dashboard.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "flashpoint.cli", "dashboard",
                "--config", str(config), "--port", str(port), "--address", "127.0.0.1",
            ],
            env=environment,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for_health(f"http://127.0.0.1:{port}", process, log)
        engine = store.make_engine(sqlite_url(database))
        try:
            with engine.connect() as connection:
                rows = connection.execute(
                    sa.select(sa.func.count()).select_from(store.observations)
                ).scalar_one()
        finally:
            engine.dispose()
        expected = snapshot.snapshot_manifest()["files"]["observations.csv.gz"]["rows"]
        assert rows == expected
        # The command became the Streamlit server (Streamlit's command line run through the
        # import warm-up), which knows which config to read.
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")
        assert cmdline[1:4] == [b"-m", b"dashboard.warmup", b"run"]
        assert str(port).encode() in cmdline
        environ = Path(f"/proc/{process.pid}/environ").read_bytes().split(b"\0")
        assert f"FLASHPOINT_CONFIG={config.resolve()}".encode() in environ
        shown = log.read_bytes()
        assert b"Flashpoint dashboard on http://127.0.0.1:" in shown
        # The first start said what it was doing while the snapshot loaded, before serving.
        total = f"{expected:,}".encode()
        assert b"snapshot: loaded " + total + b" of " + total + b" rows (100%)" in shown
        assert shown.index(b"snapshot: done in ") < shown.index(b"Flashpoint dashboard on")
        # Today's panel is stored beside the server (which answered before it was done), so
        # later pages read it instead of scoring the whole store.
        assert b"storing them in the background" in shown
        finished = wait_for_log_line(log, b"background precompute: scored panel stored: ")
        assert b"composite history" in finished
        engine = store.make_engine(sqlite_url(database))
        try:
            catalogue = load_config(config).catalogue()
            stored = read_panel(engine, catalogue, today().date(), with_reference=False)
        finally:
            engine.dispose()
        assert stored is not None and {"KAZ", "KGZ"} <= set(stored.now.countries.index)
        # The finished precompute is gone, not left as the server's unreaped (zombie) child,
        # and the server carries on.
        wait_until_precompute_exits(config)
        zombies = [
            pid for pid, parent, state, _ in _processes() if parent == process.pid and state == "Z"
        ]
        assert zombies == []
        assert process.poll() is None
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
