"""`flashpoint serve` as a real subprocess for tests: a config with second-level schedules,
start/stop helpers, and polling with a deadline (never a fixed sleep hoping something happened).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KZ_FUEL_FIXTURE = ROOT / "tests" / "fixtures" / "analyst" / "kz_fuel_price_points_from_reports.csv"
# Sources the serve tests switch off (no recorded responses are served for them there).
DISABLED = (
    "worldbank", "imf", "fred", "eia", "gdelt", "acled", "fx", "eu_oil_bulletin", "nz_mbie",
    "malaysia_fuelprice", "brazil_anp", "wfp",
)


def write_serve_config(
    tmp_path: Path,
    database_url: str,
    *,
    nbk_url: str | None,
    analyst_files: list[Path],
    schedule: str = "every 2s",
) -> Path:
    """A config for `serve`: KAZ only, NBK (when `nbk_url`) and analyst CSVs on `schedule`."""
    disabled = list(DISABLED) + ([] if nbk_url else ["nbk"])
    lines = [
        "[general]",
        'countries = ["KAZ"]',
        f'data_dir = "{tmp_path / "data"}"',
        "[store]",
        f'url = "{database_url}"',
        "[scheduler]",
        "jitter_seconds = 0",
        "misfire_grace_seconds = 60",
    ]
    for name in disabled:
        lines += [f"[sources.{name}]", "enabled = false"]
    if nbk_url:
        lines += [
            "[sources.nbk]",
            f'base_url = "{nbk_url}"',
            f'schedule = "{schedule}"',
            "backfill_days = 3",
            "min_interval_seconds = 0",
            "max_retries = 0",
        ]
    files = ", ".join(f'"{path}"' for path in analyst_files)
    lines += ["[sources.analyst]", f'schedule = "{schedule}"', f"files = [{files}]"]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def start_serve(config: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    """Start `flashpoint serve` (no snapshot) with its log lines appended to `log`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASHPOINT_")}
    env["FLASHPOINT_LOG_LEVEL"] = "INFO"
    with log.open("ab") as sink:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "flashpoint.cli",
                "serve",
                "--config",
                str(config),
                "--no-snapshot",
                *extra,
            ],
            stdout=sink,
            stderr=sink,
            env=env,
            cwd=ROOT,
        )


def wait_for(
    condition: Callable[[], bool], *, timeout: float, what: str, log: Path | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)  # polling interval against a deadline, not a guess at timing
    tail = f"; serve log:\n{log.read_text()[-3000:]}" if log is not None else ""
    raise AssertionError(f"timed out waiting for {what}{tail}")


def stop_serve(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    if process.poll() is None:
        process.send_signal(sig)
    try:
        return process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
