"""Every country the World Bank scores maps in each source's code table or is listed, with a reason,
as not covered by that source — and a listed country scores that source's inputs as missing."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from fetchers.gdelt import covered_iso3
from flashpoint.config import default_config_path, load_config
from flashpoint.snapshot import read_snapshot_observations
from indicators.catalogue import Catalogue
from indicators.countries import iso3_countries
from indicators.observations import WORLD
from indicators.scoring import score_panel
from indicators.source_coverage import SOURCE_INDICATORS, coverage_gaps, not_covered

WORLD_BANK_SOURCES = ("snapshot:wdi", "snapshot:wgi")


@pytest.fixture(scope="module")
def snapshot() -> pd.DataFrame:
    frame = read_snapshot_observations()
    return frame[~frame["is_forecast"].astype(bool)].reset_index(drop=True)


@pytest.fixture(scope="module")
def world_bank_countries(snapshot: pd.DataFrame) -> set[str]:
    """The countries the World Bank scores: WDI / WGI rows, accepted codes, not the world."""
    rows = snapshot[snapshot["source"].astype(str).isin(WORLD_BANK_SOURCES)]
    codes = set(rows["country"].astype(str)) & set(iso3_countries())
    return codes - {WORLD}


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_config(default_config_path()).catalogue()


def _mapped(snapshot: pd.DataFrame, source: str) -> set[str]:
    """The countries the source reached in the bundled data (rows of its indicators)."""
    rows = snapshot[snapshot["indicator"].astype(str).isin(SOURCE_INDICATORS[source])]
    return set(rows["country"].astype(str))


def test_the_world_bank_scores_a_full_panel(world_bank_countries: set[str]) -> None:
    assert len(world_bank_countries) > 200 and "KAZ" in world_bank_countries


@pytest.mark.parametrize("source", list(SOURCE_INDICATORS))
def test_every_world_bank_country_maps_or_is_listed_as_not_covered(
    source: str, snapshot: pd.DataFrame, world_bank_countries: set[str]
) -> None:
    listed = not_covered()[source]
    gaps = coverage_gaps(world_bank_countries, _mapped(snapshot, source), listed)
    assert not gaps.unmapped, (
        f"{source}: scored but neither mapped nor listed in indicators/data/source_coverage.csv: "
        f"{gaps.unmapped}"
    )
    assert not gaps.stale, f"{source}: listed as not covered but now mapped: {gaps.stale}"
    assert not gaps.not_scored, f"{source}: listed but not a scored country: {gaps.not_scored}"
    assert all(reason.strip() for reason in listed.values())


def test_gdelt_fips_table_reaches_every_world_bank_country(world_bank_countries: set[str]) -> None:
    # The live fetcher's code table: no scored country is left without a FIPS code.
    gaps = coverage_gaps(world_bank_countries, covered_iso3(), ())
    assert gaps.unmapped == ()


def test_an_unmapped_unlisted_code_is_reported(
    snapshot: pd.DataFrame, world_bank_countries: set[str]
) -> None:
    # A code table that lost Kazakhstan (as a renamed TI spelling would): the check must catch it.
    mapped = _mapped(snapshot, "ti_cpi") - {"KAZ"}
    gaps = coverage_gaps(world_bank_countries, mapped, not_covered()["ti_cpi"])
    assert gaps.unmapped == ("KAZ",) and not gaps.ok
    # And a listed code that maps again is stale.
    listed = {**not_covered()["ti_cpi"], "KAZ": "SYNTHETIC: wrongly listed"}
    stale = coverage_gaps(world_bank_countries, _mapped(snapshot, "ti_cpi"), listed)
    assert stale.stale == ("KAZ",)


@pytest.mark.parametrize("source", list(SOURCE_INDICATORS))
def test_a_listed_country_scores_the_source_as_no_data_never_zero(
    source: str, snapshot: pd.DataFrame, catalogue: Catalogue
) -> None:
    listed = sorted(not_covered()[source])
    assert listed
    panel = score_panel(snapshot, catalogue, as_of="2022-01-01", countries=listed)
    rows = panel.contributions[
        panel.contributions["indicator"].isin(SOURCE_INDICATORS[source])
    ]
    assert set(rows["country"]) == set(listed)
    assert (rows["status"] == "missing").all()
    assert rows["value"].isna().all() and rows["scored"].isna().all()
    # The missing input is counted against confidence ...
    countries = panel.countries.loc[listed]
    assert (countries["inputs_present"] < countries["inputs_expected"]).all()
    # ... and V is what the model gives without the source at all (excluded, not scored 0).
    ids = SOURCE_INDICATORS[source]
    without = replace(
        catalogue,
        indicators=tuple(replace(i, enabled=i.enabled and i.id not in ids)
                         for i in catalogue.indicators),
    )
    reference = score_panel(snapshot, without, as_of="2022-01-01", countries=listed)
    pd.testing.assert_series_equal(
        countries["vulnerability"], reference.countries.loc[listed, "vulnerability"]
    )
