"""`flashpoint import` (validated, all-or-nothing, revisions kept) and `export` (never ACLED)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.engine import Engine

from flashpoint import cli
from flashpoint.config import CONFIG_ENV, DATABASE_URL_ENV, load_config
from flashpoint.store import (
    read_observations,
    read_revisions,
    save_scores,
    upsert_observations,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
FUEL_POINTS = REPO_ROOT / "data" / "kz-fuel-prices" / "kz_fuel_price_points_from_reports.csv"

GOOD_CSV = """\
indicator,country,period,value,unit,vintage,note,source_url
fuel_lpg_retail,KAZ,2021-12-31,55,KZT/litre,,Mangystau 50-60,https://example.org/a
fuel_lpg_retail,KAZ,2022-01-01,120,KZT/litre,,exchange pricing,https://example.org/b
gini,KAZ,2021,29.2,index,,,
cpi_inflation,KGZ,2022,13.9,%,,,
"""


@pytest.fixture
def cli_store(
    tmp_path: Path, store_engine: Engine, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Engine]:
    """A config file plus $FLASHPOINT_DATABASE_URL pointing the CLI at the test's store."""
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv(DATABASE_URL_ENV, store_url)
    config = tmp_path / "config.toml"
    config.write_text('[general]\ndata_dir = "data"\n', encoding="utf-8")
    return config, store_engine


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run_import(config: Path, path: Path, *extra: str) -> int:
    return cli.main(["import", str(path), "--config", str(config), *extra])


# (case, CSV text, expected row, column, a fragment of the problem); the header is row 1.
MALFORMED: list[tuple[str, str, int, str, str]] = [
    (
        "unknown_indicator",
        GOOD_CSV + "lpg_price,KAZ,2022-01-02,90,KZT/litre,,,\n",
        6,
        "indicator",
        "unknown indicator 'lpg_price'",
    ),
    (
        "bad_iso3",
        GOOD_CSV + "gini,KZX,2020,28.0,index,,,\n",
        6,
        "country",
        "unknown country code 'KZX'",
    ),
    (
        "unparseable_date",
        GOOD_CSV + "fuel_lpg_retail,KAZ,01/02/2022,90,KZT/litre,,,\n",
        6,
        "period",
        "'01/02/2022' is not a date",
    ),
    (
        "impossible_date",
        GOOD_CSV + "fuel_lpg_retail,KAZ,2022-02-30,90,KZT/litre,,,\n",
        6,
        "period",
        "is not a date",
    ),
    (
        "daily_series_without_day",
        GOOD_CSV + "fuel_lpg_retail,KAZ,2022-02,90,KZT/litre,,,\n",
        6,
        "period",
        "is not a date",
    ),
    (
        "non_numeric_value",
        GOOD_CSV.replace("120,KZT", "120 tenge,KZT"),
        3,
        "value",
        "'120 tenge' is not a number",
    ),
    (
        "decimal_comma",
        GOOD_CSV.replace("gini,KAZ,2021,29.2", 'gini,KAZ,2021,"29,2"'),
        4,
        "value",
        "is not a number",
    ),
    (
        "wrong_unit",
        GOOD_CSV.replace("13.9,%", "13.9,percent"),
        5,
        "unit",
        "'percent' is not the unit of cpi_inflation",
    ),
    (
        "local_currency_placeholder_instead_of_a_currency",
        GOOD_CSV + "fuel_gasoline_retail,IRN,2019-11-15,15000,LCU/litre,,,\n",
        6,
        "unit",
        "the country's currency code, e.g. IRR/litre",
    ),
    (
        "fuel_price_per_kg_where_the_catalogue_takes_litres",
        GOOD_CSV + "fuel_diesel_retail,IRN,2019-11-15,15000,IRR/kg,,,\n",
        6,
        "unit",
        "'IRR/kg' is not a unit of fuel_diesel_retail",
    ),
    (
        "empty_unit_of_a_local_currency_price",
        GOOD_CSV + "fuel_gasoline_retail,IRN,2019-11-15,15000,,,,\n",
        6,
        "unit",
        "give the unit, e.g. IRR/litre",
    ),
    (
        "duplicate_key",
        GOOD_CSV + "gini,KAZ,2021-06-30,29.4,index,,,\n",
        6,
        "period",
        "duplicate of row 4",
    ),
    (
        "derived_indicator",
        GOOD_CSV + "fuel_price_step,KAZ,2022-01-01,100,%,,,\n",
        6,
        "indicator",
        "derived from other series",
    ),
    (
        "missing_column",
        "indicator,country,period,value\ngini,KAZ,2021,29.2\n",
        1,
        "unit",
        "missing column",
    ),
    (
        "unknown_column",
        "indicator,country,period,vlaue,unit\ngini,KAZ,2021,29.2,index\n",
        1,
        "vlaue",
        "unknown column",
    ),
    (
        "too_many_cells",
        GOOD_CSV + "gini,KAZ,2019,28.0,index,,,,extra\n",
        6,
        "",
        "9 cells but the header has 8",
    ),
]


@pytest.mark.parametrize(
    ("text", "row", "column", "problem"),
    [
        pytest.param(text, row, column, problem, id=case)
        for case, text, row, column, problem in MALFORMED
    ],
)
def test_malformed_csv_writes_nothing_and_names_the_row(
    tmp_path: Path,
    cli_store: tuple[Path, Engine],
    capsys: pytest.CaptureFixture[str],
    text: str,
    row: int,
    column: str,
    problem: str,
) -> None:
    config, engine = cli_store
    path = write(tmp_path, "series.csv", text)
    assert run_import(config, path) != 0
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    where = f"row {row}, column {column}" if column else f"row {row}"
    assert f"{path}: {where}: " in lines[0]
    assert problem in lines[0]
    assert read_observations(engine).empty


def test_every_bad_row_is_counted_and_the_first_is_named(
    tmp_path: Path, cli_store: tuple[Path, Engine], capsys: pytest.CaptureFixture[str]
) -> None:
    config, engine = cli_store
    text = GOOD_CSV + "gini,XXX,2020,1,index,,,\ngini,KAZ,2019,n/a,index,,,\n"
    assert run_import(config, write(tmp_path, "two-bad.csv", text)) != 0
    err = capsys.readouterr().err
    assert "row 6, column country" in err and "(and 1 more problem(s)" in err
    assert read_observations(engine).empty


def test_a_price_in_any_countrys_own_currency_is_imported_with_its_unit(
    tmp_path: Path, cli_store: tuple[Path, Engine]
) -> None:
    # SYNTHETIC rows: Iran's Nov 2019 gasoline move (10,000 → 15,000 IRR/l, rationed quota) and
    # an LPG cylinder price per kg; the catalogue units are LCU patterns.
    config, engine = cli_store
    text = (
        "indicator,country,period,value,unit\n"
        "fuel_gasoline_retail,IRN,2019-11-14,10000,IRR/litre\n"
        "fuel_gasoline_retail,IRN,2019-11-15,15000,IRR/litre\n"
        "fuel_lpg_retail,BGD,2024-02-01,120.5,BDT/kg\n"
        "fuel_kerosene_retail,KEN,2020-12-01,97.2,KES/litre\n"
    )
    assert run_import(config, write(tmp_path, "iran.csv", text)) == 0
    stored = read_observations(engine).sort_values(["indicator", "period"])
    units = dict(zip(stored["country"] + " " + stored["indicator"], stored["unit"], strict=False))
    assert units == {
        "IRN fuel_gasoline_retail": "IRR/litre",
        "BGD fuel_lpg_retail": "BDT/kg",
        "KEN fuel_kerosene_retail": "KES/litre",
    }
    iran = stored[stored["country"] == "IRN"]
    assert list(iran["value"]) == [10000.0, 15000.0]


def test_a_series_too_sparse_for_a_step_is_warned_about_not_silently_zero(
    tmp_path: Path, cli_store: tuple[Path, Engine], capsys: pytest.CaptureFixture[str]
) -> None:
    # SYNTHETIC rows: one Iranian point, and two Kenyan points 45 days apart (no step within 31
    # days); the Pakistani pair is 30 days apart and gives a step.
    config, _engine = cli_store
    text = (
        "indicator,country,period,value,unit\n"
        "fuel_gasoline_retail,IRN,2019-11-15,15000,IRR/litre\n"
        "fuel_diesel_retail,KEN,2020-01-01,100,KES/litre\n"
        "fuel_diesel_retail,KEN,2020-02-15,110,KES/litre\n"
        "fuel_diesel_retail,PAK,2022-05-01,144,PKR/litre\n"
        "fuel_diesel_retail,PAK,2022-05-31,204,PKR/litre\n"
    )
    assert run_import(config, write(tmp_path, "sparse.csv", text)) == 0
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if line.startswith("Warning: ")]
    assert len(warnings) == 2
    assert any("fuel_gasoline_retail IRN: 1 observation(s)" in line for line in warnings)
    assert any(
        "fuel_diesel_retail KEN: 2 observation(s)" in line
        and "fuel_price_step cannot be computed" in line
        for line in warnings
    )
    assert "PAK" not in err


def test_missing_file_is_named(
    tmp_path: Path, cli_store: tuple[Path, Engine], capsys: pytest.CaptureFixture[str]
) -> None:
    config, _engine = cli_store
    missing = tmp_path / "nope.csv"
    assert run_import(config, missing) == 2  # ImportFileError's exit status
    assert capsys.readouterr().err.strip() == f"flashpoint: error: {missing}: file not found"


def test_good_csv_imports_then_reimport_is_unchanged_and_a_change_is_a_revision(
    tmp_path: Path, cli_store: tuple[Path, Engine], capsys: pytest.CaptureFixture[str]
) -> None:
    config, engine = cli_store
    path = write(tmp_path, "series.csv", GOOD_CSV)
    assert run_import(config, path) == 0
    assert "4 new, 0 changed, 0 unchanged" in capsys.readouterr().out

    stored = read_observations(engine).set_index(["indicator", "country", "period"])
    assert stored.loc[("fuel_lpg_retail", "KAZ", pd.Timestamp("2022-01-01")), "value"] == 120.0
    # An annual value is stored at the start of its year.
    assert stored.loc[("gini", "KAZ", pd.Timestamp("2021-01-01")), "value"] == 29.2
    assert set(stored["source"]) == {"analyst"}
    assert stored.loc[("cpi_inflation", "KGZ", pd.Timestamp("2022-01-01")), "unit"] == "%"

    assert run_import(config, path) == 0
    assert "0 new, 0 changed, 4 unchanged" in capsys.readouterr().out
    assert read_revisions(engine).empty

    write(tmp_path, "series.csv", GOOD_CSV.replace("gini,KAZ,2021,29.2", "gini,KAZ,2021,29.5"))
    assert run_import(config, path) == 0
    assert "0 new, 1 changed, 3 unchanged" in capsys.readouterr().out
    revisions = read_revisions(engine)
    assert len(revisions) == 1
    revision = revisions.iloc[0]
    assert (revision["indicator"], revision["country"]) == ("gini", "KAZ")
    assert (revision["old_value"], revision["new_value"]) == (29.2, 29.5)
    assert read_observations(engine, indicators=["gini"])["value"].tolist() == [29.5]


def test_source_name_option(
    tmp_path: Path, cli_store: tuple[Path, Engine], capsys: pytest.CaptureFixture[str]
) -> None:
    config, engine = cli_store
    path = write(tmp_path, "series.csv", GOOD_CSV)
    assert run_import(config, path, "--source-name", "analyst:desk") == 0
    assert set(read_observations(engine)["source"]) == {"analyst:desk"}
    assert run_import(config, path, "--source-name", "acled") != 0
    assert "reserved for ACLED" in capsys.readouterr().err


@pytest.mark.skipif(not FUEL_POINTS.is_file(), reason="the bundled fuel-price file is absent")
def test_kz_fuel_price_points_file_maps_to_retail_fuel_indicators(
    cli_store: tuple[Path, Engine], capsys: pytest.CaptureFixture[str]
) -> None:
    config, engine = cli_store
    assert run_import(config, FUEL_POINTS) == 0
    out = capsys.readouterr().out
    assert "wholesale_cap" in out  # skipped rows are reported, not silently dropped
    lpg = read_observations(engine, indicators=["fuel_lpg_retail"]).set_index("period")["value"]
    # PRODUCT.md: LPG in Mangystau had been 50–60 tenge/litre; on 1 Jan 2022 it jumped to 120.
    assert lpg[pd.Timestamp("2021-12-31")] == 55.0
    assert lpg[pd.Timestamp("2022-01-01")] == 120.0
    # 6 Jan 2022 caps by region: 50–55 (Aktobe; Atyrau; Mangystau), 60–65, 65, 70–75 → the
    # series follows Mangystau, 52.5, not the northern 72.5 (a region switch is not a price move).
    assert lpg[pd.Timestamp("2022-01-06")] == 52.5
    # 2 Jan 2022 has no Mangystau row: Atyrau 115, West Kazakhstan 120 → the highest, 120.
    assert lpg[pd.Timestamp("2022-01-02")] == 120.0
    gasoline = read_observations(engine, indicators=["fuel_gasoline_retail"])
    assert gasoline.set_index("period")["value"][pd.Timestamp("2022-01-06")] == 182.0
    assert set(read_observations(engine)["country"]) == {"KAZ"}


# ------------------------------------------------------------------------------------------
# export


def seed_with_acled(engine: Engine) -> None:
    """Analyst and World Bank rows plus ACLED rows, and one revision of each kind."""
    frame = pd.DataFrame(
        {
            "indicator": [
                "gini",
                "fuel_lpg_retail",
                "acled_protest_events",
                "acled_fatalities",
                "protest_events",
            ],
            "country": ["KAZ"] * 5,
            "period": pd.to_datetime(
                ["2021-01-01", "2022-01-01", "2022-01-01", "2022-01-01", "2022-01-01"]
            ),
            "value": [29.2, 120.0, 85.0, 227.0, 1181.0],
            "unit": ["index", "KZT/litre", "events/month", "deaths/month", "events/month"],
            "source": ["snapshot:wdi", "analyst", "acled", "acled", "gdelt"],
        }
    )
    upsert_observations(engine, frame)
    revised = frame.copy()
    revised["value"] = revised["value"] + 1.0
    upsert_observations(engine, revised)


def run_export(config: Path, *args: str) -> int:
    return cli.main(["export", "--config", str(config), *args])


def test_export_observations_never_contains_acled_and_carries_licences(
    tmp_path: Path, cli_store: tuple[Path, Engine], capsys: pytest.CaptureFixture[str]
) -> None:
    config, engine = cli_store
    seed_with_acled(engine)
    output = tmp_path / "out" / "observations.csv"
    assert run_export(config, "--what", "observations", "--output", str(output)) == 0
    assert "Withheld 2 ACLED row(s)" in capsys.readouterr().out
    exported = pd.read_csv(output, keep_default_na=False)
    assert sorted(exported["indicator"]) == ["fuel_lpg_retail", "gini", "protest_events"]
    assert not exported["source"].str.startswith("acled").any()
    licences = {item.id: item.licence for item in load_config(config).indicators}
    for row in exported.itertuples():
        assert row.licence == licences[row.indicator]
        assert row.licence


def test_export_revisions_never_contains_acled(
    tmp_path: Path, cli_store: tuple[Path, Engine], capsys: pytest.CaptureFixture[str]
) -> None:
    config, engine = cli_store
    seed_with_acled(engine)
    assert len(read_revisions(engine)) == 5
    output = tmp_path / "revisions.csv"
    assert run_export(config, "--what", "revisions", "--output", str(output)) == 0
    exported = pd.read_csv(output)
    assert sorted(exported["indicator"]) == ["fuel_lpg_retail", "gini", "protest_events"]
    assert (exported["new_value"] - exported["old_value"]).round(9).tolist() == [1.0] * 3


def test_export_refuses_a_request_for_acled_only(
    tmp_path: Path, cli_store: tuple[Path, Engine], capsys: pytest.CaptureFixture[str]
) -> None:
    config, engine = cli_store
    seed_with_acled(engine)
    output = tmp_path / "acled.csv"
    status = run_export(
        config, "--indicator", "acled_protest_events", "--indicator", "acled_fatalities",
        "--output", str(output),
    )  # fmt: skip
    assert status != 0
    err = capsys.readouterr().err
    assert "ACLED" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not output.exists()


def test_export_filters_and_parquet_round_trip(
    tmp_path: Path, cli_store: tuple[Path, Engine]
) -> None:
    config, engine = cli_store
    seed_with_acled(engine)
    upsert_observations(
        engine,
        pd.DataFrame(
            {
                "indicator": ["gini"],
                "country": ["KGZ"],
                "period": [pd.Timestamp("2020-01-01")],
                "value": [28.8],
                "unit": ["index"],
                "source": ["snapshot:wdi"],
            }
        ),
    )
    output = tmp_path / "gini.parquet"
    status = run_export(
        config, "--indicator", "gini", "--indicator", "acled_fatalities", "--country", "KGZ",
        "--format", "parquet", "--output", str(output),
    )  # fmt: skip
    assert status == 0
    exported = pd.read_parquet(output)
    assert exported[["indicator", "country", "value"]].values.tolist() == [["gini", "KGZ", 28.8]]
    assert exported["licence"].iloc[0].startswith("CC BY 4.0")


def _save_kaz_and_kgz(engine: Engine, details: list[dict[str, object]]) -> None:
    """Saved scores for KAZ (7.1, very high) and KGZ (4.2, medium) with these details."""
    save_scores(
        engine,
        pd.DataFrame(
            {
                "country": ["KAZ", "KGZ"],
                "as_of": pd.to_datetime(["2022-01-02", "2022-01-02"]),
                "composite": [7.1, 4.2],
                "band": ["very high", "medium"],
                "detail": details,
            }
        ),
    )


def test_export_scores_serialises_detail(
    tmp_path: Path, cli_store: tuple[Path, Engine], capsys: pytest.CaptureFixture[str]
) -> None:
    config, engine = cli_store
    _save_kaz_and_kgz(engine, [{"pillars": {"fuel_shock": 10.0}}, {"pillars": {"fuel_shock": 0.0}}])
    assert run_export(config, "--what", "scores", "--country", "KAZ", "--output", "-") == 0
    exported = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert exported["country"].tolist() == ["KAZ"]
    assert exported["composite"].tolist() == [7.1]
    assert json.loads(exported["detail"].iloc[0]) == {"pillars": {"fuel_shock": 10.0}}
    assert exported["licence"].iloc[0]
    # Saved before scores carried a version: "unknown", never a guess.
    assert exported["methodology_version"].tolist() == ["unknown"]


def test_exported_scores_keep_the_methodology_each_was_computed_with(
    cli_store: tuple[Path, Engine], capsys: pytest.CaptureFixture[str]
) -> None:
    """A store upgraded to a new methodology still holds scores from the old one; the export
    says which is which instead of stamping today's version on both."""
    config, engine = cli_store
    _save_kaz_and_kgz(engine, [{"methodology_version": "4"}, {"methodology_version": "5"}])
    assert run_export(config, "--what", "scores", "--output", "-") == 0
    exported = pd.read_csv(io.StringIO(capsys.readouterr().out), dtype={"methodology_version": str})
    versions = dict(zip(exported["country"], exported["methodology_version"], strict=True))
    assert versions == {"KAZ": "4", "KGZ": "5"}
