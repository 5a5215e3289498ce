"""GDELT country mapping: every FIPS code GDELT writes for a scored country, and coverage.

Real rows: the recorded GDELT 1.0 sample (`tests/fixtures/gdelt/`), whose ActionGeo_FullName
column names the place independently of the FIPS code the fetcher maps.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pandas as pd
import pytest

from fetchers.gdelt import (
    GDELT1_DAILY,
    NOT_MAPPED,
    CountWindow,
    aggregate_counts,
    count_events,
    covered_iso3,
    fips_corrections,
    fips_to_iso3,
)
from indicators.countries import iso3_countries
from tests.fetchers.conftest import FIXTURES
from tests.fetchers.request_builder import make_request

SAMPLE = FIXTURES / "gdelt" / "gdelt1_events_sample_20130203-20160728.tsv"


def _raw() -> pd.DataFrame:
    return pd.read_csv(SAMPLE, sep="\t", header=None, dtype=str, names=range(58), quoting=3,
                       keep_default_na=False)


@pytest.mark.parametrize(
    ("fips", "iso3"),
    [
        ("WE", "PSE"),  # West Bank
        ("GZ", "PSE"),  # Gaza Strip: the World Bank's West Bank and Gaza
        ("KV", "XKX"),  # Kosovo
        ("OD", "SSD"),  # South Sudan (from July 2011)
        ("SU", "SDN"),  # Sudan
        ("RB", "SRB"),  # Serbia
        ("RI", "SRB"),  # Serbia
        ("YI", "SRB"),  # Serbia and Montenegro until 2006: its continuator
        ("MJ", "MNE"),  # Montenegro
        ("GK", "CHI"),  # Guernsey: the World Bank's Channel Islands
        ("JE", "CHI"),  # Jersey
        ("KZ", "KAZ"),
        ("TI", "TJK"),
        ("RS", "RUS"),
        ("UP", "UKR"),
    ],
)
def test_fips_codes_map_to_the_economies_the_world_bank_scores(fips: str, iso3: str) -> None:
    assert fips_to_iso3()[fips] == iso3


def test_every_accepted_country_maps_from_some_fips_code_except_the_listed_ones() -> None:
    accepted = set(iso3_countries())
    covered = covered_iso3()
    unreached = sorted(accepted - covered)
    assert unreached == sorted(NOT_MAPPED)  # the honest exceptions, each with its reason
    assert set(NOT_MAPPED) <= accepted  # none of them is a typo
    assert all(reason.strip() for reason in NOT_MAPPED.values())


def test_every_correction_names_an_accepted_country_and_wins_over_the_base_table() -> None:
    accepted = set(iso3_countries())
    corrections = fips_corrections()
    assert {"GZ", "WE", "RB", "YI", "GK", "JE"} <= set(corrections)
    for fips, iso3 in corrections.items():
        assert iso3 in accepted, (fips, iso3)
        assert fips_to_iso3()[fips] == iso3


def test_real_rows_land_in_the_country_their_place_name_says() -> None:
    raw = _raw()
    mapping = fips_to_iso3()
    named = {
        "West Bank": "PSE",
        "Jersey": "CHI",
        "Sudan": "SDN",
        "South Sudan": "SSD",
        "Serbia": "SRB",
        "Kazakhstan": "KAZ",
    }
    checked = 0
    for fips, place in zip(raw[51], raw[50], strict=True):
        country = place.rsplit(",", 1)[-1].strip()
        if country in named:
            assert mapping[fips] == named[country], (fips, place)
            checked += 1
    assert checked >= 12  # 1 West Bank, 5 Jersey, 2 Sudan, 2 South Sudan, 1 Serbia, 1 Kazakhstan


def _window() -> CountWindow:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("20160728.export.CSV", SAMPLE.read_text(encoding="utf-8"))
    counted = count_events(buffer.getvalue(), GDELT1_DAILY, "20160728")
    return CountWindow("daily", dt.date(2016, 7, 1), (counted,), reached_newest=True)


def test_a_country_gdelt_cannot_place_events_in_gets_no_row_not_a_zero() -> None:
    countries = ("SSD", "SRB", "KGZ", "SOL", "CYN")
    request = make_request("gdelt", countries=countries)
    frame = aggregate_counts(_window(), request.indicators, request.countries, request.now)
    daily = frame[frame["indicator"] == "protest_events_daily"].set_index("country")["value"]
    monthly = frame[frame["indicator"] == "protest_events"].set_index("country")["value"]
    total = frame[frame["indicator"] == "gdelt_total_events"].set_index("country")["value"]
    # Covered: real counts, and real zeros where nothing happened that day.
    assert total["SSD"] == 2 and total["SRB"] == 1 and total["KGZ"] == 0
    assert daily["KGZ"] == 0 and monthly["KGZ"] == 0
    # Somaliland and Northern Cyprus have no FIPS code: no data, never "peaceful".
    for uncovered in ("SOL", "CYN"):
        assert uncovered not in set(frame["country"])

