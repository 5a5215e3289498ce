"""World Bank fetcher: the parser on recorded bodies, then the fetcher against a loopback server."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from fetchers.base import FetchRequest, HttpValidator
from fetchers.errors import ApiError, BadPayload, HTTPStatusError
from fetchers.http import make_session
from fetchers.worldbank import (
    ALL_COUNTRIES_THRESHOLD,
    REVISION_LOOKBACK_YEARS,
    TRANSIENT_400_RETRIES,
    WorldBankFetcher,
    indicator_groups,
    page_parts,
    parse_period,
    rows_to_frame,
)
from flashpoint.config import WorldBankSource, iso3_countries
from tests.fetchers.conftest import FIXTURES
from tests.support.fault_matrix import make_indicator
from tests.support.replay_server import ReplayServer, Reply

WB = FIXTURES / "worldbank"
JPN_USA_TWO = WB / (
    "200_countries_JPN_USA_indicators_NY_GDP_MKTP_CD_SP_POP_TOTL_format_json_source_2.json")
ALL_GDP = WB / "200_countries_all_indicators_NY_GDP_MKTP_CD_format_json.json"
ENVELOPE_120 = WB / (
    "200_countries_JPN_USA_indicators_INVALID_INDICATOR_ID_SP_POP_TOTL_format_json_source_2.json")
ENVELOPE_150 = WB / "200_languages_invalid_language_code_format_json.json"
PAGE_400 = next(WB.glob("400_*.html"))
KAZ_WDI = WB / "CONSTRUCTED_200_country_KAZ_indicator_WDI3_source_2.json"
KAZ_WGI = WB / "CONSTRUCTED_200_country_KAZ_indicator_PV_EST_CC_EST_source_3.json"

GDP = make_indicator("gdp_current_usd", "worldbank", "NY.GDP.MKTP.CD", unit="USD")
POP = make_indicator("population", "worldbank", "SP.POP.TOTL", unit="people")
GINI = make_indicator("gini", "worldbank", "SI.POV.GINI", unit="index")
UNEMP = make_indicator("unemployment", "worldbank", "SL.UEM.TOTL.ZS", unit="%")
CPI = make_indicator("cpi_inflation", "worldbank", "FP.CPI.TOTL.ZG", unit="%")
PV = make_indicator("wgi_political_stability", "worldbank", "PV.EST", unit="-2.5..2.5",
                    higher_is_riskier=False)
CC = make_indicator("wgi_control_of_corruption", "worldbank", "CC.EST", unit="-2.5..2.5",
                    higher_is_riskier=False)
KAZ_WDI_PATH = "/v2/country/KAZ/indicator/SI.POV.GINI;SL.UEM.TOTL.ZS;FP.CPI.TOTL.ZG"
KAZ_WGI_PATH = "/v2/country/KAZ/indicator/PV.EST;CC.EST"


def load(path: Path) -> Any:
    return json.loads(path.read_bytes().decode("utf-8-sig"))


def wb_request(indicators: tuple[Any, ...], countries: tuple[str, ...], *, base_url: str = "",
               validators: dict[str, HttpValidator] | None = None,
               since: dict[tuple[str, str], date] | None = None,
               **settings: Any) -> FetchRequest:
    source = WorldBankSource(base_url=base_url or "http://127.0.0.1:9/v2", timeout_seconds=2,
                             max_retries=1, **settings)
    return FetchRequest(source="worldbank", settings=source, indicators=indicators,
                        countries=countries, validators=validators or {}, since=since or {})


def session():  # type: ignore[no-untyped-def]
    return make_session(max_retries=1, backoff_factor=0.0, timeout=(1.0, 2.0))


# -- the parser, on recorded bodies --------------------------------------------------------------

def test_parser_reads_a_recorded_two_indicator_body() -> None:
    body = load(JPN_USA_TWO)
    request = wb_request((GDP, POP), ("JPN", "USA"))
    frame, warnings = rows_to_frame([body], request)
    recorded = [row for row in body[1] if row["value"] is not None]
    assert len(frame) == len(recorded) > 0
    assert warnings == []
    japan_2019 = frame[(frame.indicator == "gdp_current_usd") & (frame.country == "JPN")
                       & (frame.period == pd.Timestamp("2019-01-01"))]
    assert japan_2019["value"].tolist() == [5081769542379.77]
    assert set(frame["unit"]) <= {"USD", "people"}
    assert set(frame["vintage"]) == {""}  # WDI: one running vintage
    assert (frame["source"] == "worldbank").all()


def test_null_values_give_no_row() -> None:
    body = load(JPN_USA_TWO)
    nulls = {(row["countryiso3code"], row["date"]) for row in body[1]
             if row["value"] is None and row["indicator"]["id"] == "NY.GDP.MKTP.CD"}
    assert nulls  # the recording has at least one (JPN 2020)
    frame, _ = rows_to_frame([body], wb_request((GDP, POP), ("JPN", "USA")))
    gdp = frame[frame.indicator == "gdp_current_usd"]
    got = {(c, str(p.year)) for c, p in zip(gdp.country, gdp.period, strict=True)}
    assert not nulls & got


def test_aggregates_are_dropped_when_fetching_all_countries() -> None:
    aggregates = load(ALL_GDP)  # country/all page 1: Arab World (ARB) rows
    japan = load(JPN_USA_TWO)
    assert {row["countryiso3code"] for row in aggregates[1]} == {"ARB"}
    frame, _ = rows_to_frame([aggregates, japan], wb_request((GDP, POP), ()))
    assert "ARB" not in set(frame["country"])
    assert set(frame["country"]) == {"JPN"}
    assert len(frame) == sum(row["value"] is not None for row in japan[1])


def test_constructed_kaz_bodies_parse_with_wgi_vintage_from_lastupdated() -> None:
    request = wb_request((GINI, UNEMP, CPI, PV, CC), ("KAZ",))
    frame, _ = rows_to_frame([load(KAZ_WDI), load(KAZ_WGI)], request)
    gini_2021 = frame[(frame.indicator == "gini") & (frame.period == pd.Timestamp("2021-01-01"))]
    assert gini_2021["value"].tolist() == [29.2]  # data/wdi/SI.POV.GINI.csv, KAZ 2021
    wgi = frame[frame.indicator.str.startswith("wgi_")]
    assert set(wgi["vintage"]) == {load(KAZ_WGI)[0]["lastupdated"][:4]}
    assert set(frame[~frame.indicator.str.startswith("wgi_")]["vintage"]) == {""}


def test_codes_outside_the_catalogue_are_reported_not_stored() -> None:
    frame, warnings = rows_to_frame([load(JPN_USA_TWO)], wb_request((POP,), ("JPN", "USA")))
    assert frame.empty  # the recorded page holds only NY.GDP.MKTP.CD rows
    assert warnings and "NY.GDP.MKTP.CD" in warnings[0]


@pytest.mark.parametrize("path", [ENVELOPE_120, ENVELOPE_150])
def test_the_error_envelope_becomes_an_api_error_with_the_apis_words(path: Path) -> None:
    body = load(path)
    with pytest.raises(ApiError) as caught:
        page_parts(body)
    first = body[0]["message"][0]
    assert first["value"] in str(caught.value)
    assert caught.value.code == first["id"]
    assert str(caught.value).startswith("worldbank: ")
    # the recorded 120 envelope repeats its message three times; we say it once
    assert str(caught.value).count(first["value"]) == 1


@pytest.mark.parametrize("body", [{"page": 1}, [{"page": 1, "pages": 1}], [{"pages": 1}, []],
                                  [{"page": 1, "pages": 1}, {"rows": []}]])
def test_a_changed_page_layout_is_bad_payload(body: Any) -> None:
    with pytest.raises(BadPayload) as caught:
        page_parts(body)
    assert caught.value.kind == "schema"


def test_a_row_missing_a_field_is_bad_payload() -> None:
    body = load(KAZ_WDI)
    del body[1][3]["countryiso3code"]
    with pytest.raises(BadPayload) as caught:
        rows_to_frame([body], wb_request((GINI, UNEMP, CPI), ("KAZ",)))
    assert "countryiso3code" in str(caught.value)


@pytest.mark.parametrize(("text", "expected"), [("2021", "2021-01-01"), ("2021M03", "2021-03-01"),
                                                ("2021Q2", "2021-04-01"), ("1999Q4", "1999-10-01")])
def test_periods_start_at_the_period_start(text: str, expected: str) -> None:
    assert parse_period(text) == pd.Timestamp(expected)


def test_groups_put_wdi_and_wgi_codes_in_separate_calls_with_their_source() -> None:
    groups = indicator_groups(wb_request((GINI, PV, UNEMP, CC), ("KAZ", "KGZ")))
    assert [(g.source_id, g.codes) for g in groups] == [
        (2, ("SI.POV.GINI", "SL.UEM.TOTL.ZS")), (3, ("PV.EST", "CC.EST"))]
    assert groups[0].path == "country/KAZ;KGZ/indicator/SI.POV.GINI;SL.UEM.TOTL.ZS"


def test_every_wgi_code_family_goes_to_the_wgi_source() -> None:
    stderr = make_indicator("pv_std_err", "worldbank", "PV.STD.ERR")
    rank = make_indicator("rl_rank", "worldbank", "RL.PER.RNK.LOWER")
    groups = indicator_groups(wb_request((GINI, stderr, rank), ("KAZ",)))
    assert [(g.source_id, g.codes) for g in groups] == [
        (2, ("SI.POV.GINI",)), (3, ("PV.STD.ERR", "RL.PER.RNK.LOWER"))]


def test_many_countries_use_the_all_endpoint() -> None:
    many = tuple(sorted(iso3_countries()))[: ALL_COUNTRIES_THRESHOLD + 1]
    assert indicator_groups(wb_request((GINI,), many))[0].countries_param == "all"
    assert indicator_groups(wb_request((GINI,), many[:3]))[0].countries_param == ";".join(many[:3])


# -- the fetcher against the loopback server -------------------------------------------------------

def add_kaz_routes(server: ReplayServer) -> None:
    server.add(KAZ_WDI_PATH, Reply.from_file(KAZ_WDI), query={"source": "2"})
    server.add(KAZ_WGI_PATH, Reply.from_file(KAZ_WGI), query={"source": "3"})


def test_fetch_sends_bulk_calls_and_returns_canonical_rows(replay_server: ReplayServer) -> None:
    add_kaz_routes(replay_server)
    request = wb_request((GINI, UNEMP, CPI, PV, CC), ("KAZ",), base_url=f"{replay_server.url}/v2")
    result = WorldBankFetcher().fetch(request, session())
    assert result.requests_made == 2 == len(replay_server.requests)
    wdi_call, wgi_call = replay_server.requests
    assert wdi_call.query == {"format": "json", "source": "2", "per_page": "20000", "page": "1",
                              "date": "1990:2030"}
    assert wgi_call.query["source"] == "3"
    expected = sum(row["value"] is not None for body in (load(KAZ_WDI), load(KAZ_WGI))
                   for row in body[1])
    assert len(result.observations) == expected
    assert not result.not_modified
    assert {v.last_modified for v in result.validators.values()} == {
        load(KAZ_WDI)[0]["lastupdated"], load(KAZ_WGI)[0]["lastupdated"]}


def split_into_pages(body: Any, sizes: list[int]) -> list[bytes]:
    """CONSTRUCTED: a real recorded page's rows split over several pages (metadata adjusted)."""
    meta, rows = body
    pages, start = [], 0
    for number, size in enumerate(sizes, start=1):
        page_meta = dict(meta, page=number, pages=len(sizes), per_page=max(sizes),
                         total=len(rows))
        pages.append(json.dumps([page_meta, rows[start:start + size]]).encode())
        start += size
    return pages


def test_pages_are_followed_to_the_last_one(replay_server: ReplayServer) -> None:
    body = load(JPN_USA_TWO)
    pages = split_into_pages(body, [20, 20, 10])
    path = "/v2/country/JPN;USA/indicator/NY.GDP.MKTP.CD;SP.POP.TOTL"
    for number, page in enumerate(pages, start=1):
        replay_server.add(path, Reply(200, page), query={"page": str(number)})
    request = wb_request((GDP, POP), ("JPN", "USA"), base_url=f"{replay_server.url}/v2",
                         per_page=20)
    result = WorldBankFetcher().fetch(request, session())
    assert [r.query["page"] for r in replay_server.requests] == ["1", "2", "3"]
    assert len(result.observations) == sum(row["value"] is not None for row in body[1])


def test_paging_stops_at_an_empty_array(replay_server: ReplayServer) -> None:
    body = load(JPN_USA_TWO)
    first = split_into_pages(body, [25, 25])[0]
    meta = dict(body[0], page=1, pages=5)
    path = "/v2/country/JPN;USA/indicator/NY.GDP.MKTP.CD;SP.POP.TOTL"
    replay_server.add(path, Reply(200, json.dumps([meta, json.loads(first)[1]]).encode()),
                      query={"page": "1"})
    replay_server.add(path, Reply(200, json.dumps([dict(meta, page=2), []]).encode()),
                      query={"page": "2"})
    request = wb_request((GDP, POP), ("JPN", "USA"), base_url=f"{replay_server.url}/v2")
    result = WorldBankFetcher().fetch(request, session())
    assert replay_server.count(path) == 2  # not 5
    assert len(result.observations) == sum(row["value"] is not None for row in body[1][:25])


def test_an_envelope_over_http_is_an_api_error_without_retry(replay_server: ReplayServer) -> None:
    replay_server.add(KAZ_WDI_PATH, Reply.from_file(ENVELOPE_120))
    request = wb_request((GINI, UNEMP, CPI), ("KAZ",), base_url=f"{replay_server.url}/v2")
    with pytest.raises(ApiError) as caught:
        WorldBankFetcher().fetch(request, session())
    assert "The provided parameter value is not valid" in str(caught.value)
    assert replay_server.count(KAZ_WDI_PATH) == 1


def test_the_400_html_page_is_retried_then_reported(replay_server: ReplayServer) -> None:
    replay_server.add(KAZ_WDI_PATH, Reply.from_file(PAGE_400, status=400))
    request = wb_request((GINI, UNEMP, CPI), ("KAZ",), base_url=f"{replay_server.url}/v2")
    with pytest.raises(HTTPStatusError) as caught:
        WorldBankFetcher().fetch(request, session())
    assert caught.value.status == 400
    assert "Request Error" in str(caught.value)
    assert "HTTP 400" in str(caught.value)
    assert replay_server.count(KAZ_WDI_PATH) == 1 + TRANSIENT_400_RETRIES


def test_a_transient_400_page_then_data_succeeds(replay_server: ReplayServer) -> None:
    replay_server.add(KAZ_WDI_PATH, [Reply.from_file(PAGE_400, status=400),
                                     Reply.from_file(KAZ_WDI)])
    request = wb_request((GINI, UNEMP, CPI), ("KAZ",), base_url=f"{replay_server.url}/v2")
    result = WorldBankFetcher().fetch(request, session())
    assert len(result.observations) > 0
    assert replay_server.count(KAZ_WDI_PATH) == 2


def probe_reply(path: Path) -> Reply:
    """CONSTRUCTED: the one-row page a `per_page=1` probe gets, cut from a recorded page."""
    meta, rows = load(path)
    return Reply(200, json.dumps([dict(meta, per_page=1, pages=meta["total"]), rows[:1]]).encode())


def test_unchanged_lastupdated_costs_one_probe_per_group(replay_server: ReplayServer) -> None:
    add_kaz_routes(replay_server)
    replay_server.add(KAZ_WDI_PATH, probe_reply(KAZ_WDI), query={"per_page": "1"})
    replay_server.add(KAZ_WGI_PATH, probe_reply(KAZ_WGI), query={"per_page": "1"})
    base = f"{replay_server.url}/v2"
    indicators = (GINI, UNEMP, CPI, PV, CC)
    first = WorldBankFetcher().fetch(wb_request(indicators, ("KAZ",), base_url=base), session())
    replay_server.reset_log()
    second = WorldBankFetcher().fetch(
        wb_request(indicators, ("KAZ",), base_url=base, validators=first.validators), session())
    assert second.not_modified
    assert second.observations.empty
    assert second.requests_made == 2 == len(replay_server.requests)
    assert {r.query["per_page"] for r in replay_server.requests} == {"1"}


def test_changed_lastupdated_fetches_again_from_the_revision_window(
    replay_server: ReplayServer,
) -> None:
    add_kaz_routes(replay_server)
    replay_server.add(KAZ_WDI_PATH, probe_reply(KAZ_WDI), query={"per_page": "1"})
    indicators = (GINI, UNEMP, CPI)
    stale = {key: HttpValidator(None, "2001-01-01")
             for key in (g.validator_key for g in indicator_groups(
                 wb_request(indicators, ("KAZ",))))}
    since = {("gini", "KAZ"): date(2021, 1, 1), ("unemployment", "KAZ"): date(2023, 1, 1),
             ("cpi_inflation", "KAZ"): date(2023, 1, 1)}
    request = wb_request(indicators, ("KAZ",), base_url=f"{replay_server.url}/v2",
                         validators=stale, since=since)
    result = WorldBankFetcher().fetch(request, session())
    probe, data = replay_server.requests
    assert probe.query["per_page"] == "1"
    assert data.query["date"] == f"{2021 - REVISION_LOOKBACK_YEARS}:2030"
    assert not result.not_modified and len(result.observations) > 0


def test_an_empty_result_where_data_was_expected_is_bad_payload(
    replay_server: ReplayServer,
) -> None:
    meta = dict(load(KAZ_WDI)[0], total=0, pages=0)  # SYNTHETIC: a well-formed empty answer
    replay_server.add(KAZ_WDI_PATH, Reply(200, json.dumps([meta, None]).encode()))
    request = wb_request((GINI, UNEMP, CPI), ("KAZ",), base_url=f"{replay_server.url}/v2")
    with pytest.raises(BadPayload) as caught:
        WorldBankFetcher().fetch(request, session())
    assert caught.value.kind == "empty"
    assert "empty result" in str(caught.value)
