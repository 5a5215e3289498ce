"""The CLI's basics: every command has --help and --config; init is idempotent; status explains."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from flashpoint import cli
from flashpoint.config import CONFIG_ENV, DATABASE_URL_ENV
from flashpoint.store import (
    CURRENT_SCHEMA_VERSION,
    finish_fetch_run,
    make_engine,
    read_observations,
    read_schema_version,
    start_fetch_run,
    upsert_observations,
)


def registered_commands() -> list[str]:
    parser = cli.build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(actions[0].choices)


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config whose data directory is inside the test's temporary directory."""
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    path = tmp_path / "config.toml"
    path.write_text('[general]\ndata_dir = "data"\n', encoding="utf-8")
    return path


def test_my_commands_are_registered() -> None:
    assert {"init", "status", "import", "export"} <= set(registered_commands())


def command_paths() -> list[list[str]]:
    """Every runnable command line: `[command]`, or `[command, action]` for commands with
    their own sub-commands (e.g. `alerts list`)."""
    paths: list[list[str]] = []

    def walk(parser: argparse.ArgumentParser, prefix: list[str]) -> None:
        nested = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not nested:
            paths.append(prefix)
            return
        for name, child in nested[0].choices.items():
            walk(child, [*prefix, name])

    root = cli.build_parser()
    top = next(a for a in root._actions if isinstance(a, argparse._SubParsersAction))
    for name, child in top.choices.items():
        walk(child, [name])
    return sorted(paths)


@pytest.mark.parametrize("command", registered_commands())
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main([command, "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: flashpoint {command}")


@pytest.mark.parametrize("path", command_paths(), ids=" ".join)
def test_every_runnable_command_takes_a_config_option(
    path: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main([*path, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: flashpoint {' '.join(path)}")
    assert "--config" in out


def test_init_twice_is_harmless(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database = config_file.parent / "data" / "flashpoint.db"
    assert cli.main(["init", "--config", str(config_file)]) == 0
    first = capsys.readouterr().out
    assert database.is_file()
    assert "created" in first and str(database) in first

    engine = make_engine(f"sqlite:///{database}")
    try:
        counts = upsert_observations(
            engine,
            pd.DataFrame(
                {
                    "indicator": ["gini"],
                    "country": ["KAZ"],
                    "period": [pd.Timestamp("2021-01-01")],
                    "value": [29.2],
                    "unit": ["index"],
                    "source": ["analyst"],
                }
            ),
        )
        assert counts.new == 1
        assert cli.main(["init", "--config", str(config_file)]) == 0
        second = capsys.readouterr().out
        assert "already up to date" in second
        assert read_schema_version(engine) == CURRENT_SCHEMA_VERSION
        stored = read_observations(engine)
        assert stored["value"].tolist() == [29.2]
    finally:
        engine.dispose()


def test_init_uses_database_url_from_environment(
    config_file: Path,
    store_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(DATABASE_URL_ENV, store_url)
    for _ in range(2):
        assert cli.main(["init", "--config", str(config_file)]) == 0
    out = capsys.readouterr().out
    assert "created" in out and "already up to date" in out
    engine = make_engine(store_url)
    try:
        assert read_schema_version(engine) == CURRENT_SCHEMA_VERSION
    finally:
        engine.dispose()


def test_status_before_init_says_what_to_do_and_creates_nothing(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["status", "--config", str(config_file)]) == 0
    out = capsys.readouterr().out
    assert "No store" in out and "flashpoint init" in out
    assert not (config_file.parent / "data").exists()


def test_status_on_empty_store_says_it_is_empty_and_what_to_do(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["init", "--config", str(config_file)]) == 0
    capsys.readouterr()
    assert cli.main(["status", "--config", str(config_file)]) == 0
    out = capsys.readouterr().out
    assert "is empty" in out
    assert "flashpoint load-snapshot" in out
    assert "never run" in out  # the per-source table is still shown


def test_status_lists_series_and_fetch_runs(
    config_file: Path,
    store_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(DATABASE_URL_ENV, store_url)
    assert cli.main(["init", "--config", str(config_file)]) == 0
    engine = make_engine(store_url)
    try:
        run_id = start_fetch_run(engine, "fred")
        counts = upsert_observations(
            engine,
            pd.DataFrame(
                {
                    "indicator": ["brent_price"] * 3 + ["gini"],
                    "country": ["WLD"] * 3 + ["KAZ"],
                    "period": pd.to_datetime(
                        ["2022-01-03", "2022-01-04", "2022-01-05", "2021-01-01"]
                    ),
                    "value": [78.98, 80.0, 80.5, 29.2],
                    "unit": ["USD/bbl"] * 3 + ["index"],
                    "source": ["fred"] * 3 + ["snapshot:wdi"],
                }
            ),
            fetch_run_id=run_id,
        )
        finish_fetch_run(engine, run_id, status="ok", requests=1, counts=counts)
    finally:
        engine.dispose()
    capsys.readouterr()

    assert cli.main(["status", "--config", str(config_file)]) == 0
    table = capsys.readouterr().out
    brent_line = next(line for line in table.splitlines() if "brent_price" in line)
    assert brent_line.split()[:6] == ["fred", "brent_price", "3", "1", "2022-01-03", "2022-01-05"]
    fred_source_line = next(
        line for line in table.split("Sources:")[1].splitlines() if line.startswith("fred")
    )
    assert " ok " in fred_source_line

    assert cli.main(["status", "--config", str(config_file), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["empty"] is False
    series = {row["indicator"]: row for row in document["series"]}
    assert series["gini"]["rows"] == 1 and series["gini"]["source"] == "snapshot:wdi"
    sources = {row["source"]: row for row in document["sources"]}
    assert sources["fred"]["last_status"] == "ok"
    assert sources["fred"]["rows_new"] == "4"
    assert sources["worldbank"]["last_status"] == "never run"

    assert cli.main(["status", "--config", str(config_file), "--format", "csv"]) == 0
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert dict(zip(frame["indicator"], frame["rows"], strict=True)) == {
        "brent_price": 3,
        "gini": 1,
    }


def test_python_dash_m_flashpoint_is_the_same_command_line() -> None:
    import subprocess
    import sys

    shown = subprocess.run(
        [sys.executable, "-m", "flashpoint", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    direct = subprocess.run(
        [sys.executable, "-m", "flashpoint.cli", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == direct.stdout and shown.stdout.startswith("flashpoint ")
    refused = subprocess.run(
        [sys.executable, "-m", "flashpoint", "score", "--nonsense"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 2 and "unrecognized arguments: --nonsense" in refused.stderr


def test_status_says_how_far_the_live_wfp_fetcher_reaches(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fetchers.wfp_resources import DEFAULT_RESOURCES

    assert cli.main(["status", "--config", str(config_file)]) == 0
    out = capsys.readouterr().out
    assert f"a refresh reaches {len(DEFAULT_RESOURCES)} countries on HDX" in out
    assert "bundled snapshot where it has them (Pakistan)" in out
    assert cli.main(["status", "--config", str(config_file), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["wfp_live_countries"] == sorted(DEFAULT_RESOURCES)


def test_status_names_wfp_countries_configured_without_an_hdx_link(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_file.write_text(
        '[general]\ndata_dir = "data"\n\n[sources.wfp]\ncountries = ["KEN", "PAK"]\n',
        encoding="utf-8",
    )
    assert cli.main(["status", "--config", str(config_file), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["wfp_live_countries"] == ["KEN"]
    assert cli.main(["status", "--config", str(config_file)]) == 0
    out = capsys.readouterr().out
    assert "a refresh reaches 1 country on HDX" in out
    assert "Configured without an HDX link" in out and out.rstrip().endswith(": PAK.")
