"""`flashpoint status` on the bundled snapshot: world domestic fuel prices, each licensed."""

from __future__ import annotations

import gzip
import io
import json
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

from flashpoint import cli
from flashpoint.commands.status import DOMESTIC_FUEL_INDICATORS
from flashpoint.config import CONFIG_ENV, DATABASE_URL_ENV
from tests.support.snapshot_template import copy_of_template

# Issue 11: a fresh install shows domestic fuel prices for at least 45 countries offline.
MIN_DOMESTIC_FUEL_COUNTRIES = 45


@pytest.fixture
def bundled_status(
    snapshot_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[dict[str, object], str]:
    copy = copy_of_template(snapshot_template, tmp_path / "data")
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv(DATABASE_URL_ENV, f"sqlite:///{copy}")
    config = tmp_path / "config.toml"
    config.write_text('[general]\ndata_dir = "data"\n', encoding="utf-8")
    assert cli.main(["status", "--format", "json", "--config", str(config)]) == 0
    document = json.loads(capsys.readouterr().out)
    assert cli.main(["status", "--config", str(config)]) == 0
    return document, capsys.readouterr().out


def bundled_fuel_countries() -> set[str]:
    """Countries with a domestic fuel row in the bundled file itself, read independently."""
    data = resources.files("flashpoint") / "snapshot_data" / "observations.csv.gz"
    with gzip.open(io.BytesIO(data.read_bytes()), "rt", encoding="utf-8") as handle:
        frame = pd.read_csv(handle, usecols=["indicator", "country"], keep_default_na=False)
    return set(frame.loc[frame["indicator"].isin(DOMESTIC_FUEL_INDICATORS), "country"])


def test_status_counts_the_countries_with_domestic_fuel_prices(
    bundled_status: tuple[dict[str, object], str],
) -> None:
    document, table = bundled_status
    countries = bundled_fuel_countries()
    assert len(countries) >= MIN_DOMESTIC_FUEL_COUNTRIES
    assert document["domestic_fuel_countries"] == len(countries)
    assert f"Domestic retail fuel prices for {len(countries)} countries" in table


def test_every_bundled_series_names_its_licence(
    bundled_status: tuple[dict[str, object], str],
) -> None:
    document, table = bundled_status
    series = document["series"]
    assert isinstance(series, list) and series
    unlicensed = [(row["source"], row["indicator"]) for row in series if not row["licence"]]
    assert unlicensed == []
    wfp = next(row for row in series if row["source"] == "snapshot:wfp")
    assert "CC-BY-IGO-3.0" in wfp["licence"]
    header = next(line for line in table.splitlines() if line.startswith("source "))
    assert header.split()[-1] == "licence"
