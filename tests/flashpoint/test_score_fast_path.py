"""`flashpoint score --country KAZ` from the stored panel: the same output as scoring live, and a
command that imports only what scoring needs (issue 13: under 1 s warm).

Real data: KAZ, NGA and the world series from the bundled snapshot, precomputed into a store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.engine import Engine

import fetchers
from flashpoint import precompute, scoring, store
from flashpoint.cli import main
from flashpoint.config import load_config
from flashpoint.scoring import today
from flashpoint.store.schema import scored_panel_frames, scored_panels
from indicators.scoring import PanelScore
from tests.flashpoint.conftest import PRECOMPUTE_COUNTRIES

REPO = Path(__file__).resolve().parents[2]
COUNTRIES = PRECOMPUTE_COUNTRIES
# Never needed to print a score: the dashboard's libraries, HTTP, and every source's fetcher.
NOT_FOR_SCORING = ("streamlit", "plotly", "scipy", "requests", "urllib3", "openpyxl", "tqdm")
# Every source's fetcher module (the registry's), and the HTTP session they share.
FETCHER_MODULES = {fetcher.__module__ for fetcher in fetchers.REGISTRY.values()} | {"fetchers.http"}


@pytest.fixture
def precomputed(
    store_url: str, snapshot_rows: pd.DataFrame, tmp_path: Path
) -> Iterator[tuple[Path, Engine]]:
    """A config naming a store whose panel is precomputed (and current), and its engine."""
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\nurl = "{store_url}"\n', encoding="utf-8")
    engine = store.open_for_writing(store_url)
    store.upsert_observations(engine, snapshot_rows)
    try:
        precompute.precompute(engine, load_config(config), history_days=0)
        yield config, engine
    finally:
        engine.dispose()


def _printed(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    capsys.readouterr()
    assert main(argv) == 0
    out: str = capsys.readouterr().out
    return out


def _drop_stored_panel(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(scored_panel_frames.delete())
        connection.execute(scored_panels.delete())


def test_one_countrys_rows_of_the_stored_panel_equal_the_whole_panel_filtered(
    precomputed: tuple[Path, Engine],
) -> None:
    config, engine = precomputed
    catalogue = load_config(config).catalogue()
    whole = precompute.read_panel(engine, catalogue, today().date())
    some = precompute.read_panel(engine, catalogue, today().date(), countries=["NGA", "KAZ"])
    assert whole is not None and some is not None
    assert whole.previous is not None and some.previous is not None
    for full, part in ((whole.now, some.now), (whole.previous, some.previous)):
        expected = PanelScore(
            as_of=full.as_of,
            countries=full.countries.loc[["NGA", "KAZ"]],
            **{
                name: getattr(full, name)[getattr(full, name)["country"].isin(["NGA", "KAZ"])]
                .reset_index(drop=True)
                for name in ("pillars", "contributions", "latest")
            },
        )
        assert pd.Timestamp(part.as_of) == pd.Timestamp(expected.as_of)
        for name in ("countries", "pillars", "contributions", "latest"):
            pd.testing.assert_frame_equal(
                getattr(part, name), getattr(expected, name), check_exact=True
            )
    only_kaz = precompute.read_panel(engine, catalogue, today().date(), countries=["KAZ", "XYZ"])
    assert only_kaz is not None and list(only_kaz.now.countries.index) == ["KAZ"]


@pytest.mark.parametrize("output", ["table", "json", "csv"])
def test_score_from_the_stored_panel_prints_what_scoring_live_prints(
    precomputed: tuple[Path, Engine],
    output: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FLASHPOINT_DATABASE_URL", raising=False)
    config, engine = precomputed
    argv = ["score", "--config", str(config), "--country", "KAZ", "--format", output]

    def no_live_scoring(*args: object, **kwargs: object) -> None:
        raise AssertionError("the stored panel is current: score must not score live")

    with monkeypatch.context() as patched:
        patched.setattr(scoring, "score_from_store", no_live_scoring)
        stored = _printed(capsys, argv)
    _drop_stored_panel(engine)
    live = _printed(capsys, argv)
    assert stored == live
    assert "KAZ" in stored
    if output == "json":
        assert [c["country"] for c in json.loads(stored)["countries"]] == ["KAZ"]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_the_score_command_imports_neither_the_dashboard_nor_the_fetchers(
    precomputed: tuple[Path, Engine],
) -> None:
    config, _ = precomputed
    program = (
        "import sys\n"
        "from flashpoint.cli import main\n"
        f"status = main(['score', '--config', {str(config)!r}, '--country', 'KAZ'])\n"
        "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)\n"
        "sys.exit(status)\n"
    )
    environment = {k: v for k, v in os.environ.items() if k != "FLASHPOINT_DATABASE_URL"}
    completed = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        env=environment,
        cwd=REPO,
        check=False,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    assert "KAZ  composite" in completed.stdout
    modules = set(completed.stderr.split())
    assert "flashpoint.commands.score" in modules  # the listing is the command's own
    imported = sorted(
        name
        for name in modules
        if name.split(".")[0] in NOT_FOR_SCORING or name in FETCHER_MODULES
    )
    assert imported == []
