"""An analyst's official revision list (`price_in_force`) is scored as price in force, end to end.

The revision rows are SYNTHETIC (made up for the test, shaped like a ministry's revision table):
Sri Lankan diesel 100 LKR/litre from 1 Jan 2022, revised to 150 on 1 Apr 2022 — three months
with no row, because the price did not change. Read as samples, that gap hides the step; read as
revisions, the step is +50 % on the revision day.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.engine import Engine

from fetchers.analyst_csv import parse_analyst_csv
from fetchers.errors import ImportFileError
from flashpoint import cli
from flashpoint.config import CONFIG_ENV, DATABASE_URL_ENV, load_config
from flashpoint.store import read_observations

CONFIG = Path(__file__).resolve().parents[2] / "config.toml"
HEADER = "indicator,country,period,value,unit,price_in_force\n"
# SYNTHETIC revisions (see the module docstring); `{flag}` is the price_in_force cell.
REVISIONS = (
    "fuel_diesel_retail,LKA,2022-01-01,100,LKR/litre,{flag}\n"
    "fuel_diesel_retail,LKA,2022-04-01,150,LKR/litre,{flag}\n"
)


@pytest.fixture
def cli_config(
    tmp_path: Path, store_engine: Engine, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv(DATABASE_URL_ENV, store_url)
    config = tmp_path / "config.toml"
    config.write_text('[general]\ndata_dir = "data"\n', encoding="utf-8")
    return config


def import_and_score(
    tmp_path: Path, config: Path, flag: str, capsys: pytest.CaptureFixture[str]
) -> tuple[dict[str, object] | None, str]:
    """Import the revision file with `price_in_force` = `flag`, then `flashpoint score` LKA on
    the revision day; returns the fuel_price_step contribution (None when absent) and stderr."""
    path = tmp_path / f"revisions-{flag or 'empty'}.csv"
    path.write_text(HEADER + REVISIONS.format(flag=flag), encoding="utf-8")
    assert cli.main(["import", str(path), "--config", str(config)]) == 0
    imported = capsys.readouterr()
    argv = ["score", "--config", str(config), "--country", "LKA", "--as-of", "2022-04-01"]
    assert cli.main([*argv, "--format", "json"]) == 0
    (country,) = json.loads(capsys.readouterr().out)["countries"]
    steps = [row for row in country["contributions"] if row["indicator"] == "fuel_price_step"]
    return (steps[0] if steps else None), imported.err


def test_declared_revisions_step_on_the_revision_day_after_a_three_month_gap(
    tmp_path: Path, cli_config: Path, store_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    step, err = import_and_score(tmp_path, cli_config, "true", capsys)
    assert step is not None and step["status"] == "ok"
    assert step["value"] == pytest.approx(50.0)  # 100 → 150, in force since 1 Jan
    assert step["period"] == "2022-04-01"
    assert "Warning" not in err  # a revision list is not too sparse for a step
    stored = read_observations(store_engine, indicators=["fuel_diesel_retail"])
    assert set(stored["source"]) == {"analyst:revisions"}  # the declaration is in the store


def test_the_same_rows_read_as_samples_give_no_step_and_a_warning(
    tmp_path: Path, cli_config: Path, store_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    step, err = import_and_score(tmp_path, cli_config, "", capsys)
    # A sampled series with a 90-day gap: no datable step — missing, never a zero step.
    assert step is None or step["value"] is None
    assert "fuel_diesel_retail LKA: 2 observation(s)" in err
    stored = read_observations(store_engine, indicators=["fuel_diesel_retail"])
    assert set(stored["source"]) == {"analyst"}


def test_re_importing_without_the_declaration_turns_the_rows_back_into_samples(
    tmp_path: Path, cli_config: Path, store_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    # The file is the record: what it says now is what the store holds, source included.
    step, _ = import_and_score(tmp_path, cli_config, "true", capsys)
    assert step is not None and step["value"] == pytest.approx(50.0)
    step, _ = import_and_score(tmp_path, cli_config, "false", capsys)
    assert step is None or step["value"] is None
    stored = read_observations(store_engine, indicators=["fuel_diesel_retail"])
    assert set(stored["source"]) == {"analyst"}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("fuel_diesel_retail,LKA,2022-01-01,100,LKR/litre,maybe", "row 2, column price_in_force"),
        ("fuel_diesel_retail,LKA,2022-01-01,100,LKR/litre,true,true", "a forecast is not an"),
    ],
)
def test_a_bad_declaration_is_named(line: str, expected: str) -> None:
    settings = load_config(CONFIG)
    header = HEADER.strip() + (",is_forecast\n" if line.count(",") == 6 else "\n")
    with pytest.raises(ImportFileError, match=expected):
        parse_analyst_csv(header + line + "\n", settings, file="revisions.csv")


def test_a_source_name_cannot_claim_revisions_by_itself() -> None:
    settings = load_config(CONFIG)
    text = HEADER + REVISIONS.format(flag="")
    with pytest.raises(ImportFileError, match="price_in_force column"):
        parse_analyst_csv(text, settings, file="x.csv", source="ministry:revisions")


def test_the_scheduled_analyst_source_reads_the_declaration_the_same_way() -> None:
    from fetchers.analyst import AnalystFile, parse_analyst_file

    settings = load_config(CONFIG)
    text = HEADER + REVISIONS.format(flag="true") + (
        "fuel_gasoline_retail,LKA,2022-01-01,120,LKR/litre,\n"
    )
    rows = parse_analyst_file(AnalystFile("lka.csv", text), settings.indicators)
    sources = rows.set_index("indicator")["source"]
    assert set(sources.loc[["fuel_diesel_retail"]]) == {"analyst:revisions"}
    assert sources.loc["fuel_gasoline_retail"] == "analyst"
    assert pd.api.types.is_string_dtype(rows["source"])
