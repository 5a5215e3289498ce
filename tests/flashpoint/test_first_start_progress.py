"""The first start on an empty store says what it is doing while the snapshot loads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flashpoint import cli, snapshot
from flashpoint.commands.dashboard import prepare_store

PERCENT = re.compile(r"^snapshot: loaded ([\d,]+) of ([\d,]+) rows \((\d+)%\)$")


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "fp.db"}"\n', encoding="utf-8")
    return config


def _assert_progress(err: str) -> None:
    total = snapshot.snapshot_manifest()["files"]["observations.csv.gz"]["rows"]
    lines = err.splitlines()
    assert f"snapshot: reading the bundled data ({total:,} observations)" in lines
    percents = [PERCENT.match(line) for line in lines]
    shown = [(int(m[1].replace(",", "")), int(m[3])) for m in percents if m is not None]
    assert len(shown) >= 5, err
    assert [done for done, _ in shown] == sorted(done for done, _ in shown)
    assert shown[-1] == (total, 100)
    done = [line for line in lines if re.fullmatch(r"snapshot: done in \d+\.\d s", line)]
    assert len(done) == 1, err
    last_percent = f"snapshot: loaded {total:,} of {total:,} rows (100%)"
    assert lines.index(done[0]) > lines.index(last_percent)


@pytest.mark.slow
def test_load_snapshot_prints_rows_and_percent_then_done(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # No composite history (--history-days 0): what is under test is the load's progress.
    config = str(_config(tmp_path))
    assert cli.main(["load-snapshot", "--config", config, "--history-days", "0"]) == 0
    captured = capsys.readouterr()
    _assert_progress(captured.err)
    assert "new, 0 changed, 0 unchanged observations" in captured.out


@pytest.mark.slow
def test_the_first_dashboard_start_prints_progress_before_the_server_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    prepare_store(config)  # what `flashpoint dashboard` does before it becomes Streamlit
    _assert_progress(capsys.readouterr().err)
    # The second start finds data and loads nothing: no progress to show.
    prepare_store(config)
    assert "snapshot:" not in capsys.readouterr().err
