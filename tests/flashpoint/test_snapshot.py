"""The bundled snapshot: built reproducibly from data/, loaded idempotently (SQLite, PostgreSQL).

Expected values are read from the source CSVs in data/ (the verbatim copies the snapshot is built
from), so each check compares the loaded store with the original file, not with the build script.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from flashpoint import cli, snapshot, store
from indicators.observations import OBSERVATION_KEY

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"
SNAPSHOT_DIR = REPO / "flashpoint" / "snapshot_data"
BUILD_SCRIPT = REPO / "scripts" / "build_snapshot.py"
SNAPSHOT_FILES = ("observations.csv.gz", "events.csv", "manifest.json", "SOURCES.md", "LICENCES")


# --- expected values, read from the original files in data/ -------------------------------------


def wdi_value(code: str, country: str, year: int) -> float:
    """A value of a WDI source file."""
    raw = pd.read_csv(DATA / "wdi" / f"{code}.csv", keep_default_na=False, dtype=str)
    row = raw[(raw["Country Code"] == country) & (raw["Year"] == str(year))]
    assert len(row) == 1
    return float(row["Value"].iloc[0])


def nbk_rate(day: str) -> float:
    """The NBK USD/KZT rate of a day in the source file."""
    raw = pd.read_csv(DATA / "nbk-fx" / "usd_kzt_official_daily.csv", dtype=str)
    return float(raw.loc[raw["date"] == day, "value"].iloc[0])


def gdelt_count(country: str, month: str, column: str) -> float:
    """A GDELT country-month count in the source file."""
    raw = pd.read_csv(
        DATA / "gdelt-monthly" / "gdelt1_country_month_protest_conflict_1985-2024.csv", dtype=str
    )
    row = raw[(raw["country_iso3"] == country) & (raw["year_month"] == month)]
    return float(row[column].iloc[0])


def lpg_highest_midpoint(day: str) -> float:
    """The highest regional LPG autogas retail midpoint reported for a day in the source file."""
    raw = pd.read_csv(DATA / "kz-fuel-prices" / "kz_fuel_price_points_from_reports.csv", dtype=str)
    rows = raw[
        (raw["date"] == day) & (raw["fuel"] == "LPG (autogas)") & (raw["unit"] == "KZT/litre")
    ]
    assert not rows.empty
    midpoints = (rows["value_min"].astype(float) + rows["value_max"].astype(float)) / 2
    return float(midpoints.max())


def wgi_kaz_2019_political_stability() -> tuple[float, float]:
    """KAZ PV.EST 2019 in the 2020 release and in the 2025 pull (the vintages differ)."""
    old = pd.read_csv(DATA / "wgi" / "wgi_all_countries_1996-2019_long.csv", encoding="latin-1")
    old_value = old[
        (old["Code"] == "KAZ") & (old["Year"] == 2019) & (old["Indicator"] == "PoliticalStability")
    ]["Estimate"]
    new = pd.read_csv(DATA / "wgi" / "wgi_estimates_KAZ_1996-2023.csv")
    new_value = new.loc[new["year"] == 2019, "pol_stb"]
    return float(old_value.iloc[0]), float(new_value.iloc[0])


def stored_value(
    engine: Engine, indicator: str, country: str, period: str, vintage: str = ""
) -> float:
    """One stored value (the key must exist exactly once)."""
    frame = store.read_observations(engine, indicators=[indicator], countries=[country])
    row = frame[(frame["period"] == pd.Timestamp(period)) & (frame["vintage"] == vintage)]
    assert len(row) == 1, f"{indicator} {country} {period} {vintage!r}: {len(row)} rows"
    return float(row["value"].iloc[0])


def assert_kazakhstan_values(engine: Engine) -> None:
    """The issue's acceptance values, each compared with its source file."""
    cpi = stored_value(engine, "cpi_inflation", "KAZ", "2022-01-01")
    assert cpi == pytest.approx(wdi_value("FP.CPI.TOTL.ZG", "KAZ", 2022), rel=1e-12)
    assert round(cpi, 1) == 15.0  # the figure the dashboard must show (issue 2)
    gini = stored_value(engine, "gini", "KAZ", "2021-01-01")
    assert gini == pytest.approx(wdi_value("SI.POV.GINI", "KAZ", 2021))
    fx = stored_value(engine, "usd_fx_rate", "KAZ", "2022-01-04")
    assert fx == pytest.approx(nbk_rate("2022-01-04"))
    assert fx == pytest.approx(431.8, abs=0.5)
    assert stored_value(engine, "fuel_lpg_retail", "KAZ", "2022-01-01") == pytest.approx(
        lpg_highest_midpoint("2022-01-01")
    )
    # The day before the jump: Mangystau's 50–60 tenge → midpoint 55.
    assert stored_value(engine, "fuel_lpg_retail", "KAZ", "2021-12-31") == pytest.approx(
        lpg_highest_midpoint("2021-12-31")
    )
    assert stored_value(engine, "protest_events", "KAZ", "2022-01-01") == gdelt_count(
        "KAZ", "2022-01", "gdelt_protest_event_count"
    )
    assert stored_value(engine, "protest_events", "KAZ", "2021-12-01") == gdelt_count(
        "KAZ", "2021-12", "gdelt_protest_event_count"
    )


@pytest.fixture(scope="module")
def bundled() -> pd.DataFrame:
    """The package's observations as the loader reads them (read once per module)."""
    return snapshot.read_snapshot_observations()


# --- the build ------------------------------------------------------------------------------------


def start_build(out: Path, built_at: str) -> subprocess.Popen[str]:
    """Run scripts/build_snapshot.py into `out` as a separate process."""
    command = [sys.executable, str(BUILD_SCRIPT), "--data-dir", str(DATA), "--out", str(out)]
    return subprocess.Popen(
        [*command, "--built-at", built_at],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )


@pytest.mark.slow
def test_build_is_reproducible_and_the_committed_snapshot_is_its_output(tmp_path: Path) -> None:
    committed_manifest = json.loads((SNAPSHOT_DIR / "manifest.json").read_text("utf-8"))
    # Pin the one timestamp so the comparison is about content: everything else must follow from
    # data/ alone.
    built_at = committed_manifest["built_at"]
    first, second = tmp_path / "first", tmp_path / "second"
    builds = [start_build(first, built_at), start_build(second, built_at)]  # in parallel
    for build in builds:
        _, stderr = build.communicate(timeout=300)
        assert build.returncode == 0, stderr
    for name in SNAPSHOT_FILES:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    for name in SNAPSHOT_FILES:
        built, committed = (first / name).read_bytes(), (SNAPSHOT_DIR / name).read_bytes()
        if name.endswith(".gz"):
            # gzip bytes could differ with another zlib build; the content may not.
            built, committed = gzip.decompress(built), gzip.decompress(committed)
        assert built == committed, (
            f"{name} is not what data/ builds: rerun scripts/build_snapshot.py"
        )


def test_the_manifest_hashes_every_input_file_in_data() -> None:
    manifest = snapshot.snapshot_manifest()
    for name, entry in manifest["datasets"].items():
        assert entry["source"] == f"snapshot:{name}"
        assert entry["licence"] and entry["origin"]
        for item in entry["inputs"]:
            digest = hashlib.sha256((DATA / item["path"]).read_bytes()).hexdigest()
            assert digest == item["sha256"], item["path"]
    assert manifest["ti_cpi_names"]["unmatched"] == []


def test_snapshot_directory_is_well_under_ten_megabytes() -> None:
    total = sum(path.stat().st_size for path in SNAPSHOT_DIR.rglob("*") if path.is_file())
    assert total < 10 * 1024 * 1024


def test_gzip_header_carries_no_name_and_no_time() -> None:
    header = (SNAPSHOT_DIR / "observations.csv.gz").read_bytes()[:10]
    assert header[3] & 0x08 == 0  # FNAME flag unset
    assert header[4:8] == b"\x00\x00\x00\x00"  # MTIME 0


def test_either_csv_reader_yields_the_same_observations(
    bundled: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyarrow's reader is taken when installed; pandas' own (the fallback) reads the same."""
    pytest.importorskip("pyarrow")
    assert snapshot._CSV_ENGINE == "pyarrow"  # so `bundled` came through pyarrow's reader
    monkeypatch.setattr(snapshot, "_CSV_ENGINE", "c")
    pd.testing.assert_frame_equal(snapshot.read_snapshot_observations(), bundled)


def test_snapshot_holds_no_acled_data(bundled: pd.DataFrame) -> None:
    assert not bundled["source"].str.contains("acled", case=False).any()
    assert not bundled["indicator"].str.contains("acled", case=False).any()
    assert "acled" not in (SNAPSHOT_DIR / "events.csv").read_text("utf-8").lower()


def test_world_bank_aggregates_are_dropped_but_small_states_kept(bundled: pd.DataFrame) -> None:
    wdi = bundled[bundled["source"] == "snapshot:wdi"]
    raw = pd.read_csv(DATA / "wdi" / "FP.CPI.TOTL.ZG.csv", keep_default_na=False, dtype=str)
    for aggregate in ("WLD", "ECS", "ARB", "EUU", "HIC"):
        assert aggregate in set(raw["Country Code"])  # present in the source …
        assert aggregate not in set(wdi["country"])  # … and gone from the snapshot
    for small_state in ("ABW", "AND", "MCO", "KAZ", "NAM"):
        assert small_state in set(wdi["country"])


def test_ucdp_has_no_invented_kazakhstan_rows(bundled: pd.DataFrame) -> None:
    raw = pd.read_csv(DATA / "ucdp" / "ucdp_ged_country_month_1985-2024.csv", dtype=str)
    assert "KAZ" not in set(raw["country_iso3"])
    ucdp = bundled[bundled["indicator"] == "ucdp_fatalities"]
    assert "KAZ" not in set(ucdp["country"])
    assert len(ucdp) == len(raw)


def test_propane_dots_are_missing_not_zero(bundled: pd.DataFrame) -> None:
    raw = pd.read_csv(DATA / "fuel-prices" / "fred-bulk-2019" / "DPROPANEMBTX.csv", dtype=str)
    dots = raw[raw["VALUE"] == "."]
    assert not dots.empty
    propane = bundled[bundled["indicator"] == "propane_price"]
    assert len(propane) == len(raw) - len(dots)
    assert not propane["period"].isin(pd.to_datetime(dots["DATE"])).any()


def test_wgi_vintages_are_never_mixed_within_a_series(bundled: pd.DataFrame) -> None:
    wgi = bundled[bundled["source"] == "snapshot:wgi"]
    assert set(wgi["vintage"]) == {"2020", "2025"}
    kaz = wgi[wgi["country"] == "KAZ"]
    # Every KAZ value of each vintage is exactly its own release's file, row for row.
    old = pd.read_csv(DATA / "wgi" / "wgi_all_countries_1996-2019_long.csv", encoding="latin-1")
    old = old[(old["Code"] == "KAZ") & old["Estimate"].notna()]
    stored_2020 = kaz[kaz["vintage"] == "2020"]
    assert sorted(stored_2020["value"]) == pytest.approx(sorted(old["Estimate"]))
    new = pd.read_csv(DATA / "wgi" / "wgi_estimates_KAZ_1996-2023.csv")
    new_values = new[["voice_acct", "pol_stb", "govt_eff", "reg_qual", "rule_law", "cont_corr"]]
    stored_2025 = kaz[kaz["vintage"] == "2025"]
    assert sorted(stored_2025["value"]) == pytest.approx(sorted(new_values.stack().dropna()))
    old_pv, new_pv = wgi_kaz_2019_political_stability()
    assert old_pv != pytest.approx(new_pv)  # why the vintages must stay apart
    # Only KAZ has the 2025 release; each release has one publication date, after its last year,
    # so a replay of January 2022 sees the 2020 release and nothing of the 2025 one.
    assert set(wgi.loc[wgi["vintage"] == "2025", "country"]) == {"KAZ"}
    for _, release in wgi.groupby("vintage"):
        assert release["published_at"].nunique() == 1
        assert release["published_at"].iloc[0] > release["period"].max()
    visible_in_2022 = wgi[wgi["published_at"] <= pd.Timestamp("2022-01-01")]
    assert set(visible_in_2022["vintage"]) == {"2020"}


def test_fuel_price_points_keep_their_sources() -> None:
    manifest = snapshot.snapshot_manifest()
    raw = pd.read_csv(DATA / "kz-fuel-prices" / "kz_fuel_price_points_from_reports.csv", dtype=str)
    recorded = {(p["date"], p["region"], p["source_url"]) for p in manifest["kz_fuel_price_points"]}
    for row in raw.itertuples(index=False):
        used = row.unit == "KZT/litre" and row.fuel in {
            "LPG (autogas)",
            "AI-92/93 gasoline",
            "diesel",
            "diesel (summer/off-season)",
        }
        if used:
            assert (row.date, row.region, row.source_url) in recorded
    events = snapshot.read_snapshot_events()
    assert (events["source_url"] != "").all()
    jump = events[events["date"] == pd.Timestamp("2022-01-01")]
    assert jump["source_url"].iloc[0] in set(raw.loc[raw["date"] == "2022-01-01", "source_url"])


# --- loading -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def loaded_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, str]]:
    """A SQLite store loaded once through the CLI (`flashpoint load-snapshot`); its output."""
    url = f"sqlite:///{tmp_path_factory.mktemp('snapshot') / 'flashpoint.db'}"
    output = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(output):
        patch.setenv("FLASHPOINT_DATABASE_URL", url)
        status = cli.main(["load-snapshot", "--config", str(REPO / "config.toml")])
    assert status == 0
    engine = store.make_engine(url)
    yield engine, output.getvalue()
    engine.dispose()


@pytest.mark.slow
def test_cli_loads_the_snapshot_into_an_empty_store(loaded_sqlite: tuple[Engine, str]) -> None:
    engine, output = loaded_sqlite
    rows = snapshot.snapshot_manifest()["files"]["observations.csv.gz"]["rows"]
    assert f"{rows:,} new, 0 changed, 0 unchanged" in output
    # The default precompute: today's panel and the 400-day composite history for every country.
    assert "scored panel stored: " in output
    history = re.search(r"history refilled: (\d+) countries, .* \(([\d,]+) rows\)", output)
    assert history is not None, output
    assert int(history[2].replace(",", "")) == int(history[1]) * 400
    runs = store.read_fetch_runs(engine, source="snapshot")
    assert runs["status"].tolist() == ["ok"]
    assert int(runs["rows_new"].iloc[0]) == rows


@pytest.mark.slow
def test_loaded_store_shows_kazakhstans_real_series(loaded_sqlite: tuple[Engine, str]) -> None:
    assert_kazakhstan_values(loaded_sqlite[0])


@pytest.mark.slow
def test_loaded_store_has_the_events_and_no_acled_rows(loaded_sqlite: tuple[Engine, str]) -> None:
    engine = loaded_sqlite[0]
    events = store.read_events(engine, country="KAZ")
    assert pd.Timestamp("2022-01-01") in set(events["date"])
    assert len(events) == len(snapshot.read_snapshot_events())
    with engine.connect() as connection:
        acled_rows = connection.execute(sa.select(sa.func.count()).select_from(store.acled_events))
        assert acled_rows.scalar_one() == 0
    summary = store.store_summary(engine)
    assert not summary["source"].str.contains("acled").any()
    assert set(summary["source"]) == {
        f"snapshot:{name}" for name in snapshot.snapshot_manifest()["datasets"]
    }


@pytest.mark.slow
def test_loading_twice_changes_nothing(loaded_sqlite: tuple[Engine, str]) -> None:
    engine = loaded_sqlite[0]
    before = store.read_observations(engine, countries=["KAZ"])
    assert snapshot.ensure_snapshot_loaded(engine) is None  # not empty: nothing to do
    again = snapshot.load_snapshot(engine)
    assert again.observations.new == 0
    assert again.observations.changed == 0
    assert (
        again.observations.unchanged
        == snapshot.snapshot_manifest()["files"]["observations.csv.gz"]["rows"]
    )
    assert (again.events.new, again.events.changed) == (0, 0)
    assert store.read_revisions(engine).empty
    # Unchanged rows are not rewritten: even their fetched_at stays.
    pd.testing.assert_frame_equal(store.read_observations(engine, countries=["KAZ"]), before)


@pytest.mark.slow
def test_snapshot_never_overwrites_a_live_value_unless_forced(sqlite_url: str) -> None:
    engine = store.make_engine(sqlite_url)
    store.init_schema(engine)
    live_value = 99.5  # a stand-in for a newer WDI vintage fetched live
    store.upsert_observations(
        engine,
        pd.DataFrame(
            {
                "indicator": ["cpi_inflation"],
                "country": ["KAZ"],
                "period": [pd.Timestamp("2022-01-01")],
                "value": [live_value],
                "unit": ["%"],
                "source": ["worldbank"],
            }
        ),
    )
    assert snapshot.ensure_snapshot_loaded(engine) is None  # the store is not empty
    kept = snapshot.load_snapshot(engine)
    assert kept.skipped_live == 1
    assert stored_value(engine, "cpi_inflation", "KAZ", "2022-01-01") == live_value
    forced = snapshot.load_snapshot(engine, force=True)
    assert (forced.observations.new, forced.observations.changed) == (0, 1)
    assert stored_value(engine, "cpi_inflation", "KAZ", "2022-01-01") == pytest.approx(
        wdi_value("FP.CPI.TOTL.ZG", "KAZ", 2022)
    )
    revisions = store.read_revisions(engine)
    assert revisions["old_value"].tolist() == [live_value]
    engine.dispose()


def test_a_corrupt_snapshot_is_refused_before_anything_is_written(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = store.make_engine(sqlite_url)
    store.init_schema(engine)
    manifest = snapshot.snapshot_manifest()
    manifest["files"]["observations.csv.gz"]["sha256_uncompressed"] = "0" * 64  # synthetic fault
    monkeypatch.setattr(snapshot, "snapshot_manifest", lambda: manifest)
    with pytest.raises(snapshot.SnapshotError, match="checksum"):
        snapshot.load_snapshot(engine)
    assert store.is_empty(engine)
    assert store.read_fetch_runs(engine).empty
    engine.dispose()


@pytest.mark.postgres
@pytest.mark.slow
def test_snapshot_loads_into_postgresql(postgres_url: str) -> None:
    engine = store.make_engine(postgres_url)
    try:
        store.init_schema(engine)
        first = snapshot.ensure_snapshot_loaded(engine)
        assert first is not None
        rows = snapshot.snapshot_manifest()["files"]["observations.csv.gz"]["rows"]
        assert first.observations.new == rows
        assert_kazakhstan_values(engine)
        again = snapshot.load_snapshot(engine)
        assert (again.observations.new, again.observations.changed) == (0, 0)
        assert again.observations.unchanged == rows
        stored = store.read_observations(engine, indicators=["wgi_political_stability"])
        assert not stored.duplicated(list(OBSERVATION_KEY)).any()
    finally:
        engine.dispose()


def test_the_package_snapshot_is_read_through_importlib_resources(bundled: pd.DataFrame) -> None:
    # A wheel install has no data/ and no scripts/: the loader reads only the package files.
    assert len(bundled) == snapshot.snapshot_manifest()["files"]["observations.csv.gz"]["rows"]
    assert bundled["fetched_at"].isna().all()  # stamped by the store when loaded
