"""EIA v2 fetcher: page parser on constructed pages of real EIA prices, paging, key handling."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pandas as pd
import pytest

from fetchers.base import FetchRequest
from fetchers.eia import EiaFetcher, parse_page
from fetchers.errors import ApiError, BadPayload, FetchError
from tests.fetchers.conftest import FIXTURES
from tests.fetchers.request_builder import make_request, make_test_session
from tests.support.replay_server import ReplayServer, Reply, reset

PAGE1 = FIXTURES / "eia" / "spt_page1.CONSTRUCTED.json"
PAGE2 = FIXTURES / "eia" / "spt_page2.CONSTRUCTED.json"
ROUTE = "/v2/petroleum/pri/spt/data/"
SECRET = "EIAKEY0123456789abcdef"
INDICATOR_OF = {
    "RBRTE": "brent_price", "RWTC": "wti_price", "EER_EPLLPA_PF4_Y44MB_DPG": "propane_price",
}


def _all_rows() -> list[dict[str, object]]:
    return [
        row for path in (PAGE1, PAGE2) for row in json.loads(path.read_text())["response"]["data"]
    ]


def test_parser_coerces_string_totals_and_values() -> None:
    body = json.loads(PAGE1.read_text())
    rows, total = parse_page(body)
    assert total == int(body["response"]["total"]) and isinstance(body["response"]["total"], str)
    served = body["response"]["data"]
    assert {type(row["value"]) for row in served} == {str, float}  # both forms are in the page
    assert list(rows["value"]) == pytest.approx([float(row["value"]) for row in served])
    assert list(rows["series"]) == [row["series"] for row in served]


def test_empty_or_non_numeric_values_are_missing_not_zero() -> None:
    body = {"response": {"total": 3, "data": [  # SYNTHETIC rows in the documented shape
        {"period": "2022-01-03", "series": "RBRTE", "value": "78.98"},
        {"period": "2022-01-04", "series": "RBRTE", "value": ""},
        {"period": "2022-01-05", "series": "RBRTE", "value": None},
    ]}}
    rows, _total = parse_page(body)
    assert list(rows["value"]) == [78.98]


@pytest.mark.parametrize(
    "changed",
    [
        {"response": {"total": "1"}},
        {"data": []},
        {"response": {"total": "many", "data": []}},
        {"response": {"total": "1", "data": [{"value": "1"}]}},
    ],
)
def test_a_changed_schema_is_a_bad_payload(changed: object) -> None:
    with pytest.raises(BadPayload):
        parse_page(changed)


def test_an_error_body_is_an_api_error_without_the_key() -> None:
    body = {"error": {"code": "API_KEY_INVALID",  # SYNTHETIC error body
                      "message": f"An invalid api_key=({SECRET}) was supplied."}}
    with pytest.raises(ApiError) as caught:
        parse_page(body)
    assert caught.value.code == "API_KEY_INVALID" and SECRET not in str(caught.value)


def _request(server: ReplayServer, **kwargs: Any) -> FetchRequest:
    fred = make_request("fred")
    base = make_request(
        "eia", base_url=server.url + "/v2", page_length=25, **kwargs,
    )
    # The refresh hands eia the catalogue indicators it also serves (catalogued under fred).
    served = tuple(item for item in fred.indicators if item.id in EiaFetcher.also_serves)
    return dataclasses.replace(base, indicators=served)


def test_run_pages_with_offset_and_maps_series(
    replay_server: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EIA_API_KEY", SECRET)
    replay_server.add(ROUTE, Reply.from_file(PAGE1), query={"offset": "0"})
    replay_server.add(ROUTE, Reply.from_file(PAGE2), query={"offset": "25"})
    result = EiaFetcher().fetch(_request(replay_server), make_test_session())

    logged = replay_server.matching(ROUTE)
    assert [item.query["offset"] for item in logged] == ["0", "25"]
    assert all(item.query["api_key"] == SECRET and item.query["length"] == "25" for item in logged)
    assert logged[0].query["frequency"] == "daily" and "start" not in logged[0].query
    rows = _all_rows()
    frame = result.observations
    assert len(frame) == len(rows) == 35
    for code, indicator in INDICATOR_OF.items():
        mine = frame[frame["indicator"] == indicator].sort_values("period")
        theirs = [row for row in rows if row["series"] == code]
        assert list(mine["value"]) == pytest.approx([float(row["value"]) for row in theirs])
        assert list(mine["period"]) == [pd.Timestamp(str(row["period"])) for row in theirs]
    assert set(frame["country"]) == {"WLD"} and set(frame["source"]) == {"eia"}
    units = dict(zip(frame["indicator"], frame["unit"], strict=False))
    assert units == {"brent_price": "USD/bbl", "wti_price": "USD/bbl", "propane_price": "USD/gal"}


def test_incremental_start_and_missing_key(
    replay_server: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    since = {(item, "WLD"): dt.date(2019, 1, 7) for item in INDICATOR_OF.values()}
    monkeypatch.delenv("EIA_API_KEY", raising=False)
    with pytest.raises(FetchError) as caught:
        EiaFetcher().fetch(_request(replay_server, since=since), make_test_session())
    assert str(caught.value).startswith("eia: EIA_API_KEY is not set")
    assert replay_server.requests == []  # nothing was asked without a key

    monkeypatch.setenv("EIA_API_KEY", SECRET)
    replay_server.add(ROUTE, Reply.from_file(PAGE2))
    EiaFetcher().fetch(_request(replay_server, since=since), make_test_session())
    assert replay_server.matching(ROUTE)[0].query["start"] == "2018-12-24"


def test_a_connection_reset_error_never_shows_the_key(
    replay_server: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EIA_API_KEY", SECRET)
    replay_server.add(ROUTE, reset())
    with pytest.raises(FetchError) as caught:
        EiaFetcher().fetch(_request(replay_server), make_test_session(max_retries=1))
    assert SECRET not in str(caught.value) and caught.value.__cause__ is None
    assert replay_server.count(ROUTE) == 2  # bounded: one attempt and one retry
