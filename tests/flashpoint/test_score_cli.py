"""`flashpoint score` and `flashpoint replay` end to end on the real bundled snapshot.

Each store starts empty: the commands load the bundled snapshot themselves.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from flashpoint import store
from flashpoint.cli import main
from indicators.methodology import METHODOLOGY_VERSION
from indicators.observations import conform_observations


def _config(directory: Path, database: Path) -> Path:
    path = directory / "config.toml"
    path.write_text(f'[store]\nurl = "sqlite:///{database}"\n', encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A config whose store the first command fills with the snapshot (done once per module)."""
    directory = tmp_path_factory.mktemp("score-cli")
    database = directory / "flashpoint.db"
    config = _config(directory, database)
    assert (
        main(["score", "--config", str(config), "--country", "KAZ", "--as-of", "2021-12-31"]) == 0
    )
    return config, database


def _run_json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict[str, object]:
    capsys.readouterr()
    assert main(argv) == 0
    document: dict[str, object] = json.loads(capsys.readouterr().out)
    return document


def test_score_loads_the_snapshot_into_an_empty_store_and_prints_the_confidence(
    loaded: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, database = loaded
    assert database.exists()
    capsys.readouterr()
    assert (
        main(["score", "--config", str(config), "--country", "KAZ", "--as-of", "2022-01-01"]) == 0
    )
    out = capsys.readouterr().out
    assert "as of 2022-01-01" in out
    assert "KAZ  composite" in out
    assert "inputs," in out and "stale" in out  # "24 of 27 inputs, 1 stale"
    assert "top contributors:" in out and "fuel_price_step" in out
    assert "pillars: fuel_shock" in out


def test_score_json_as_of_the_eve(
    loaded: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, _ = loaded
    eve = _run_json(
        capsys,
        [
            "score",
            "--config",
            str(config),
            "--country",
            "KAZ",
            "--as-of",
            "2021-12-31",
            "--format",
            "json",
        ],
    )
    day = _run_json(
        capsys,
        [
            "score",
            "--config",
            str(config),
            "--country",
            "KAZ",
            "--as-of",
            "2022-01-01",
            "--format",
            "json",
        ],
    )
    assert eve["as_of"] == "2021-12-31"
    assert eve["methodology_version"] == METHODOLOGY_VERSION
    kaz_eve = eve["countries"][0]  # type: ignore[index]
    kaz_day = day["countries"][0]  # type: ignore[index]
    assert kaz_eve["country"] == "KAZ"
    assert kaz_day["composite"] > kaz_eve["composite"]
    assert kaz_day["top_contributors"][0] == "fuel_price_step"
    assert set(kaz_eve["pillars"]) >= {"fuel_shock", "unrest_spike", "macro", "governance"}
    total = sum(c["contribution"] or 0.0 for c in kaz_day["contributions"])
    assert total == pytest.approx(kaz_day["composite"])
    published = [c["published"] for c in kaz_eve["contributions"] if c["published"]]
    assert published and max(pd.Timestamp(p) for p in published) < pd.Timestamp("2022-01-01")


def test_score_as_of_ignores_an_observation_published_later(
    loaded: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, database = loaded
    copy = tmp_path / "copy.db"
    with sqlite3.connect(database) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    copy_config = _config(tmp_path, copy)
    argv = [
        "score",
        "--config",
        str(copy_config),
        "--country",
        "KAZ",
        "--as-of",
        "2021-12-31",
        "--format",
        "json",
    ]
    before = _run_json(capsys, argv)
    engine = store.make_engine(f"sqlite:///{copy}")
    try:
        store.upsert_observations(
            engine,
            conform_observations(
                pd.DataFrame(
                    {
                        "indicator": ["gdp_growth"],
                        "country": ["KAZ"],
                        "period": ["2021-01-01"],
                        "value": [-30.0],
                        "unit": ["%"],
                        "source": ["test:later"],
                        "published_at": ["2022-02-01"],
                    }
                )
            ),
        )
    finally:
        engine.dispose()
    after = _run_json(capsys, argv)
    assert after == before
    later = _run_json(capsys, [*argv[:-4], "--as-of", "2022-02-01", "--format", "json"])
    growth = {c["indicator"]: c for c in later["countries"][0]["contributions"]}["gdp_growth"]  # type: ignore[index]
    assert growth["value"] == -30.0


def test_score_csv_and_bad_arguments(
    loaded: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, _ = loaded
    capsys.readouterr()
    assert main(["score", "--config", str(config), "--as-of", "2021-12-31", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("country,composite,band,vulnerability,trigger")
    assert lines[0].endswith(",methodology_version")
    assert all(line.endswith(f",{METHODOLOGY_VERSION}") for line in lines[1:])
    assert len(lines) == 1 + 11  # the default config watches 11 countries
    assert main(["score", "--config", str(config), "--country", "XXX"]) == 2
    assert "--country: unknown ISO3 code(s): XXX" in capsys.readouterr().err
    assert main(["score", "--config", str(config), "--as-of", "yesterday-ish"]) == 2
    assert "--as-of" in capsys.readouterr().err


def test_replay_shows_the_january_jump_and_its_driver(
    loaded: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, _ = loaded
    capsys.readouterr()
    argv = [
        "replay",
        "--config",
        str(config),
        "--country",
        "KAZ",
        "--from",
        "2021-10-01",
        "--to",
        "2022-02-15",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Trigger crossings" in out and "Band changes:" in out
    jump = [line for line in out.splitlines() if line.startswith("  2022-01-0") and "→" in line]
    assert jump, out
    assert "fuel_price_step" in jump[0]
    assert "what moved it: fuel_price_step" in out

    document = _run_json(capsys, [*argv, "--format", "json"])
    series = pd.DataFrame(document["series"])
    assert len(series) == len(pd.date_range("2021-10-01", "2022-02-15"))
    changes = pd.DataFrame(document["band_changes"])
    ups = changes[changes["direction"] == "up"]
    days = pd.to_datetime(ups["date"]).dt.strftime("%Y-%m-%d")
    # The autumn's rises are the composite crossing a band edge it sits on (world oil moving it
    # by hundredths); the band-rise alert, which needs the composite well inside the higher
    # band, first fires with the fuel step.
    autumn = ups[days < "2022-01-01"]
    assert (autumn["top_driver"] != "fuel_price_step").all()
    moves = autumn["composite"] - autumn["composite_before"]
    assert all(abs(move) < 0.5 for move in moves)
    january = ups[days.isin(["2022-01-01", "2022-01-02"])]
    assert not january.empty and january.iloc[0]["top_driver"] == "fuel_price_step"
    alerts = pd.DataFrame(document["alerts"]["KAZ"])  # type: ignore[index]
    band_rise = alerts[
        (alerts["rule_id"] == "composite_band_rise") & (alerts["to_state"] == "firing")
    ]
    first_alert = pd.Timestamp(band_rise.iloc[0]["date"]).strftime("%Y-%m-%d")
    assert first_alert in ("2022-01-01", "2022-01-02")


def test_replay_weekly_csv(loaded: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    config, _ = loaded
    capsys.readouterr()
    argv = [
        "replay",
        "--config",
        str(config),
        "--country",
        "KAZ",
        "--from",
        "2021-12-01",
        "--to",
        "2022-01-15",
        "--every",
        "week",
        "--format",
        "csv",
    ]
    assert main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("date,country,composite,band,vulnerability,trigger")
    assert [line.split(",")[0] for line in lines[1:]] == [
        "2021-12-01",
        "2021-12-08",
        "2021-12-15",
        "2021-12-22",
        "2021-12-29",
        "2022-01-05",
        "2022-01-12",
        "2022-01-15",
    ]
    assert main([*argv[:-2], "--to", "2021-11-01"]) == 2
    assert "before --from" in capsys.readouterr().err
