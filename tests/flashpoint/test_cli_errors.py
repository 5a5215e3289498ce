"""Every command turns OS errors and absurd values into one line and an exit code; anything
unexpected gives one line plus the path of a crash log, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flashpoint import cli
from flashpoint.commands import status as status_command
from flashpoint.config import CONFIG_ENV, DATABASE_URL_ENV
from flashpoint.logs import CRASH_DIR_ENV


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    path = tmp_path / "config.toml"
    path.write_text('[general]\ndata_dir = "data"\n', encoding="utf-8")
    return path


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = cli.main(args)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("flashpoint: error: ")
    return lines[0]


def test_data_dir_pointing_at_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "not-a-dir"
    a_file.write_text("x", encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(f'[general]\ndata_dir = "{a_file}"\n', encoding="utf-8")

    for command in (["init"], ["status"], ["score"]):
        status, _, err = run_cli([*command, "--config", str(config)], capsys)
        line = assert_one_line(err)
        assert status == 2
        assert line == (
            f"flashpoint: error: {config}: general.data_dir: {str(a_file)!r} is a file, "
            "not a directory"
        )


def test_data_dir_under_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "plain"
    a_file.write_text("x", encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(f'[general]\ndata_dir = "{a_file}/sub"\n', encoding="utf-8")
    status, _, err = run_cli(["init", "--config", str(config)], capsys)
    assert status == 2
    assert f"is under {a_file}, a file" in assert_one_line(err)


def test_export_to_a_directory(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run_cli(
        ["export", "--output", str(tmp_path), "--config", str(config_file)], capsys
    )
    assert status == 1
    assert assert_one_line(err) == (
        f"flashpoint: error: --output {tmp_path}: is a directory; give a file name"
    )


@pytest.mark.parametrize("target", ["/proc/flashpoint-export.csv", "/proc/self/x/y.csv"])
def test_export_under_proc(
    target: str, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run_cli(["export", "--output", target, "--config", str(config_file)], capsys)
    assert status == 1
    line = assert_one_line(err)
    assert line.startswith(f"flashpoint: error: --output {target}: ")


def test_export_under_a_file(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run_cli(
        ["export", "--output", str(config_file / "out.csv"), "--config", str(config_file)], capsys
    )
    assert status == 1
    assert f"{config_file} is not a directory" in assert_one_line(err)


@pytest.mark.parametrize("until", ["99999999999w", "1" + "0" * 400 + "h", "nat", "9999999-01-01"])
def test_silence_until_absurd(
    until: str, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run_cli(
        ["alerts", "silence", "add", "--country", "KAZ", "--until", until, "--comment", "c",
         "--config", str(config_file)],
        capsys,
    )
    assert status == 2
    assert f"--until {until!r}" in assert_one_line(err)


def test_alerts_list_with_a_nan_threshold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[general]\ndata_dir = "data"\n[[alerts.rules]]\nid = "r"\nthreshold = nan\n',
        encoding="utf-8",
    )
    status, _, err = run_cli(["alerts", "list", "--config", str(config)], capsys)
    assert status == 2
    line = assert_one_line(err)
    assert line.startswith(f"flashpoint: error: {config}: alerts.rules[0].threshold: ")


def test_an_os_error_in_any_command_is_one_line(
    config_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def denied(_args: object) -> int:
        raise PermissionError(13, "Permission denied", "/srv/flashpoint/flashpoint.db")

    monkeypatch.setattr(status_command, "run", denied)
    status, _, err = run_cli(["status", "--config", str(config_file)], capsys)
    assert status == 1
    assert assert_one_line(err) == (
        "flashpoint: error: /srv/flashpoint/flashpoint.db: Permission denied"
    )


def test_last_resort_prints_one_line_and_the_crash_log(
    config_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    crash_dir = tmp_path / "crashes"
    crash_dir.mkdir()
    monkeypatch.setenv(CRASH_DIR_ENV, str(crash_dir))

    def broken(_args: object) -> int:
        raise RuntimeError("unexpected\nstate password=hunter22-secret")

    monkeypatch.setattr(status_command, "run", broken)
    status, _, err = run_cli(["status", "--config", str(config_file)], capsys)

    assert status == 70
    line = assert_one_line(err)
    logs = list(crash_dir.glob("flashpoint-crash-*.log"))
    assert len(logs) == 1
    assert line == (
        "flashpoint: error: internal error (RuntimeError: unexpected state password=***); "
        f"details in {logs[0]}"
    )
    text = logs[0].read_text(encoding="utf-8")
    assert "Traceback" in text and "in broken" in text
    assert "hunter22-secret" not in text
    assert (logs[0].stat().st_mode & 0o777) == 0o600


def test_a_real_process_never_shows_a_traceback(tmp_path: Path) -> None:
    """The installed entry point, end to end: a file as data_dir and a bad --until."""
    a_file = tmp_path / "file"
    a_file.write_text("x", encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(f'[general]\ndata_dir = "{a_file}"\n', encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key not in (CONFIG_ENV,
                                                                            DATABASE_URL_ENV)}
    result = subprocess.run(
        [sys.executable, "-m", "flashpoint.cli", "status", "--config", str(config)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert result.returncode == 2
    assert_one_line(result.stderr)


def test_status_never_prints_nan(
    config_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """One source failed (error text), one succeeded (NULL error), one is still running."""
    from flashpoint.store import finish_fetch_run, make_engine, start_fetch_run

    assert cli.main(["init", "--config", str(config_file)]) == 0
    url = f"sqlite:///{config_file.parent / 'data' / 'flashpoint.db'}"
    engine = make_engine(url)
    try:
        failed = start_fetch_run(engine, "fred")
        finish_fetch_run(engine, failed, status="error", requests=1, counts=None,
                         error="fred: api.example/fred answered HTTP 503\nsecond line")
        good = start_fetch_run(engine, "imf")
        finish_fetch_run(engine, good, status="ok", requests=1, counts=None)
        start_fetch_run(engine, "worldbank")  # still running: no finished_at, no error
    finally:
        engine.dispose()
    capsys.readouterr()

    assert cli.main(["status", "--config", str(config_file)]) == 0
    out = capsys.readouterr().out
    sources = out.split("Sources:")[1]
    assert "nan" not in sources.lower().replace("never", "")
    assert "NaT" not in sources
    fred = next(line for line in sources.splitlines() if line.startswith("fred"))
    assert "answered HTTP 503 second line" in fred
    worldbank = next(line for line in sources.splitlines() if line.startswith("worldbank"))
    assert "running" in worldbank
