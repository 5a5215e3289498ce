"""analyst fetcher: the KZ fuel-price file and the import layout, from a path and from a URL."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest

from fetchers.analyst import AnalystFetcher
from fetchers.errors import BadPayload, FetchError
from tests.fetchers.conftest import FIXTURES
from tests.fetchers.request_builder import make_request, make_test_session
from tests.support.replay_server import ReplayServer, Reply, html_page

FUEL_POINTS = FIXTURES / "analyst" / "kz_fuel_price_points_from_reports.csv"
INDICATOR_OF_FUEL = {
    "LPG (autogas)": "fuel_lpg_retail",
    "AI-92/93 gasoline": "fuel_gasoline_retail",
}


def _expected_fuel_series() -> pd.DataFrame:
    """The catalogue definition computed independently: midpoints; per date the row naming
    Mangystau (where the 2022 trigger bit), else the highest regional midpoint."""
    raw = pd.read_csv(FUEL_POINTS)
    raw = raw[(raw["unit"] == "KZT/litre") & raw["price_type"].isin(["retail", "retail_cap"])]
    indicator = raw["fuel"].map(INDICATOR_OF_FUEL)
    indicator = indicator.where(~raw["fuel"].str.startswith("diesel"), "fuel_diesel_retail")
    raw = raw.assign(indicator=indicator, value=(raw["value_min"] + raw["value_max"]) / 2)
    raw = raw.dropna(subset=["indicator"])
    names_mangystau = (
        raw["region"]
        .str.split(";")
        .apply(lambda parts: "Mangystau" in [part.strip() for part in parts])
    )
    raw = raw.assign(not_mangystau=~names_mangystau)
    raw = raw.sort_values(
        ["indicator", "date", "not_mangystau", "value"], ascending=[True, True, True, False]
    )
    best = raw.drop_duplicates(["indicator", "date"])
    best["period"] = pd.to_datetime(best["date"])
    return best[["indicator", "period", "value"]].sort_values(["indicator", "period"])


def test_the_kz_fuel_file_follows_mangystau_else_the_highest_regional_midpoint(
    tmp_path: Path,
) -> None:
    copy = tmp_path / "fuel.csv"
    shutil.copy(FUEL_POINTS, copy)
    request = make_request("analyst", files=[str(copy)])
    result = AnalystFetcher().fetch(request, make_test_session())

    got = result.observations.sort_values(["indicator", "period"])
    expected = _expected_fuel_series()
    assert len(got) == len(expected) > 0
    assert list(got["indicator"]) == list(expected["indicator"])
    assert list(got["period"]) == list(expected["period"])
    assert list(got["value"]) == pytest.approx(list(expected["value"]))
    assert set(got["country"]) == {"KAZ"} and set(got["unit"]) == {"KZT/litre"}
    assert set(got["source"]) == {"analyst"}
    # The January 2022 LPG jump is in the series: 55 (midpoint 50–60) → 120 in Mangystau.
    lpg = got[got["indicator"] == "fuel_lpg_retail"].set_index("period")["value"]
    assert lpg[pd.Timestamp("2022-01-01")] / lpg[pd.Timestamp("2021-12-31")] > 2


def test_an_unchanged_file_is_not_read_again(tmp_path: Path) -> None:
    copy = tmp_path / "fuel.csv"
    shutil.copy(FUEL_POINTS, copy)
    first = AnalystFetcher().fetch(make_request("analyst", files=[str(copy)]), make_test_session())
    again = AnalystFetcher().fetch(
        make_request("analyst", files=[str(copy)], validators=first.validators),
        make_test_session(),
    )
    assert again.not_modified and again.observations.empty
    copy.write_text(copy.read_text() + "\n")  # touched: read again
    third = AnalystFetcher().fetch(
        make_request("analyst", files=[str(copy)], validators=first.validators),
        make_test_session(),
    )
    assert not third.not_modified and len(third.observations) == len(first.observations)


def test_the_import_layout_from_a_url(replay_server: ReplayServer) -> None:
    # SYNTHETIC import-layout file; its values are the Mangystau LPG points of the fuel file.
    body = (
        b"indicator,country,period,value,unit,vintage,note,source_url\n"
        b"fuel_lpg_retail,KAZ,2022-01-01,120,KZT/litre,,after exchange pricing,https://example.org\n"
        b"fuel_lpg_retail,KAZ,2022-01-04,50,KZT/litre,,,\n"
    )
    replay_server.add("/series.csv", Reply(200, body, {"ETag": '"s1"'}, "text/csv"))
    url = replay_server.url + "/series.csv"
    result = AnalystFetcher().fetch(make_request("analyst", files=[url]), make_test_session())
    frame = result.observations.sort_values("period")
    assert list(frame["value"]) == [120.0, 50.0]
    assert list(frame["period"].dt.date) == [dt.date(2022, 1, 1), dt.date(2022, 1, 4)]
    assert set(frame["unit"]) == {"KZT/litre"}
    assert result.validators[url].etag == '"s1"'


def test_a_bad_row_rejects_the_file_naming_row_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(  # SYNTHETIC: a value that is not a number on row 3
        "indicator,country,period,value,unit\n"
        "fuel_lpg_retail,KAZ,2022-01-01,120,KZT/litre\n"
        "fuel_lpg_retail,KAZ,2022-01-02,one hundred,KZT/litre\n"
    )
    with pytest.raises(BadPayload) as caught:
        AnalystFetcher().fetch(make_request("analyst", files=[str(bad)]), make_test_session())
    message = str(caught.value)
    assert message.startswith("analyst: ") and str(bad) in message
    assert "row 3" in message and "value" in message


def test_a_missing_file_is_a_fetch_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.csv"
    with pytest.raises(FetchError) as caught:
        AnalystFetcher().fetch(make_request("analyst", files=[str(missing)]), make_test_session())
    assert str(missing) in str(caught.value)


def test_an_html_page_at_the_url_is_a_bad_payload(replay_server: ReplayServer) -> None:
    replay_server.add("/series.csv", html_page())
    request = make_request("analyst", files=[replay_server.url + "/series.csv"])
    with pytest.raises(BadPayload):
        AnalystFetcher().fetch(request, make_test_session())


def test_no_files_configured_is_a_warning_not_an_error() -> None:
    result = AnalystFetcher().fetch(make_request("analyst", files=[]), make_test_session())
    assert result.observations.empty and result.warnings
