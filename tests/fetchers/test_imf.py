"""IMF DataMapper fetcher: parser, forecast flag and a run against the loopback server."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pandas as pd
import pytest

from fetchers.errors import BadPayload
from fetchers.imf import ImfFetcher, parse_datamapper
from tests.fetchers.conftest import FIXTURES
from tests.fetchers.request_builder import make_request, make_test_session
from tests.support.replay_server import ReplayServer, Reply, html_page, truncated

DOC = FIXTURES / "imf" / "PCPIPCH_KAZ_KGZ.CONSTRUCTED.json"


def _expected() -> pd.DataFrame:
    """The fixture flattened independently of the parser."""
    values: dict[str, dict[str, Any]] = json.loads(DOC.read_text())["values"]["PCPIPCH"]
    rows = [
        (country, int(year), float(value))
        for country, by_year in values.items()
        for year, value in by_year.items()
        if value is not None
    ]
    return pd.DataFrame(rows, columns=["country", "year", "value"])


def test_parser_flattens_country_year_values() -> None:
    parsed = parse_datamapper(json.loads(DOC.read_text()), "PCPIPCH")
    expected = _expected()
    merged = parsed.merge(expected, on=["country", "year"], suffixes=("", "_expected"))
    assert len(parsed) == len(expected) == len(merged) > 0
    assert (merged["value"] == merged["value_expected"]).all()


def test_nulls_and_missing_keys_are_no_data_not_errors() -> None:
    # SYNTHETIC variations of the documented shape.
    with_null = {"values": {"PCPIPCH": {"KAZ": {"2020": None, "2021": 8.0}}}, "api": {}}
    parsed = parse_datamapper(with_null, "PCPIPCH")
    assert list(parsed["year"]) == [2021]
    assert parse_datamapper({"api": {"version": "1"}}, "PCPIPCH").empty
    assert parse_datamapper({"values": {}, "api": {}}, "PCPIPCH").empty


@pytest.mark.parametrize(
    "changed",
    [
        {"data": {"PCPIPCH": {}}},  # neither values nor api
        {"values": ["PCPIPCH"]},
        {"values": {"PCPIPCH": {"KAZ": {"FY2021": 8.0}}}},
        {"values": {"PCPIPCH": {"KAZ": [8.0]}}},
        [],
    ],
)
def test_a_changed_schema_is_a_bad_payload(changed: object) -> None:
    with pytest.raises(BadPayload) as caught:
        parse_datamapper(changed, "PCPIPCH")
    assert caught.value.kind == "schema"


def test_run_flags_the_current_year_and_later_as_forecasts(replay_server: ReplayServer) -> None:
    path = "/external/datamapper/api/v1/PCPIPCH/KAZ/KGZ"
    replay_server.add(path, Reply.from_file(DOC))
    request = make_request(
        "imf", base_url=replay_server.url + "/external/datamapper/api/v1",
        countries=("KAZ", "KGZ"), now=dt.datetime(2024, 5, 2, 4, 0),
    )
    result = ImfFetcher().fetch(request, make_test_session())

    (logged,) = replay_server.matching(path)
    assert logged.headers.get("Accept") == "application/json"
    frame = result.observations
    expected = _expected()
    assert len(frame) == len(expected)
    years = frame["period"].dt.year
    assert (frame.loc[years >= 2024, "is_forecast"]).all()
    assert not (frame.loc[years < 2024, "is_forecast"]).any()
    assert set(frame.loc[frame["is_forecast"], "period"].dt.year) == {2024, 2025}
    assert (frame["period"].dt.month == 1).all() and (frame["period"].dt.day == 1).all()
    assert set(frame["indicator"]) == {"imf_cpi_inflation"} and set(frame["unit"]) == {"%"}
    kaz_2022 = frame[(frame["country"] == "KAZ") & (years == 2022)]["value"].item()
    assert kaz_2022 == expected.query("country == 'KAZ' and year == 2022")["value"].item()


def test_countries_not_asked_for_are_dropped_and_absent_ones_warned(
    replay_server: ReplayServer,
) -> None:
    replay_server.add("/api/v1/PCPIPCH/KAZ/UZB", Reply.from_file(DOC))
    request = make_request(
        "imf", base_url=replay_server.url + "/api/v1", countries=("KAZ", "UZB"),
    )
    result = ImfFetcher().fetch(request, make_test_session())
    assert set(result.observations["country"]) == {"KAZ"}
    assert result.warnings == ["PCPIPCH: no data for UZB"]


@pytest.mark.parametrize("reply", [html_page(), truncated(DOC.read_bytes())])
def test_html_or_truncated_answers_fail_with_the_source_named(
    replay_server: ReplayServer, reply: Reply
) -> None:
    replay_server.add("/api/v1/PCPIPCH/KAZ", reply)
    request = make_request("imf", base_url=replay_server.url + "/api/v1", countries=("KAZ",))
    with pytest.raises(BadPayload) as caught:
        ImfFetcher().fetch(request, make_test_session())
    assert str(caught.value).startswith("imf: ")
