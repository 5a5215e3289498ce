"""The background precompute beside `flashpoint dashboard`: it knows when its server has gone.

The server holds the write end of a pipe; the precompute polls the read end, which reads as
end-of-file only once every write end has closed (the server exited). A real pipe and a real
store (two snapshot countries) throughout.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from flashpoint import store
from flashpoint.commands import background_precompute
from flashpoint.config import load_config
from flashpoint.precompute import panel_is_current
from flashpoint.scoring import today


def test_the_server_reads_as_gone_only_once_its_end_of_the_pipe_has_closed() -> None:
    reader, writer = os.pipe()
    try:
        assert not background_precompute.server_has_exited(reader)
        assert not background_precompute.server_has_exited(reader)  # polling reads nothing
        os.close(writer)
        assert background_precompute.server_has_exited(reader)
    finally:
        os.close(reader)


@pytest.fixture
def config_with_store(tmp_path: Path, snapshot_rows: pd.DataFrame) -> Path:
    database = tmp_path / "fp.db"
    engine = store.open_for_writing(f"sqlite:///{database}")
    try:
        store.upsert_observations(engine, snapshot_rows)
    finally:
        engine.dispose()
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{database}"\n', encoding="utf-8")
    return config


def test_once_the_server_has_gone_the_precompute_stops_quietly_and_stores_nothing(
    config_with_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reader, writer = os.pipe()
    os.close(writer)  # the server exited before the precompute's first step
    try:
        status = background_precompute.main(
            ["--config", str(config_with_store), "--server-alive-fd", str(reader), "--no-detach"]
        )
    finally:
        os.close(reader)
    assert status == 0
    assert background_precompute.PREFIX not in capsys.readouterr().out
    settings = load_config(config_with_store)
    engine = store.make_engine(settings.database_url)
    try:
        assert not panel_is_current(engine, settings.catalogue(), today().date())
    finally:
        engine.dispose()
