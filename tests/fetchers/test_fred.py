"""FRED fetcher: fredgraph.csv and JSON parsers, keyless and keyed runs on the loopback server."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from fetchers.base import FetchRequest, HttpValidator
from fetchers.errors import ApiError, BadPayload, FetchError
from fetchers.fred import (
    FredFetcher,
    parse_fredgraph_csv,
    parse_observations_json,
    redact_api_key,
)
from flashpoint.config import load_config
from tests.fetchers.conftest import FIXTURES
from tests.fetchers.request_builder import make_request, make_test_session
from tests.support.replay_server import ReplayServer, Reply, html_page, reset

FRED = FIXTURES / "fred"
CSV_4 = FRED / "fredgraph_4series_2018-12-17_2019-01-07.CONSTRUCTED.csv"
CSV_OLD = FRED / "fredgraph_DPROPANEMBTX_oldheader.CONSTRUCTED.csv"
OILPRICE = FRED / "observations_OILPRICE_quarterly.REAL.json"
GNPCA_PAGE = FRED / "observations_GNPCA_limit10.REAL.json"
EMPTY = FRED / "observations_GNPCA_empty_2050.REAL.json"
BAD_SERIES = FRED / "400_observations_bad_series_id.REAL.json"
NO_SERIES = FRED / "400_series_without_series_id.REAL.json"
CODES = ("DCOILBRENTEU", "DCOILWTICO", "DHHNGSP", "DPROPANEMBTX")
INDICATOR_OF = {
    "DCOILBRENTEU": "brent_price",
    "DCOILWTICO": "wti_price",
    "DHHNGSP": "henry_hub_price",
    "DPROPANEMBTX": "propane_price",
}
SECRET = "abcdefabcdefabcdefabcdefabcdef12"


def _expected_long(path: Path) -> pd.DataFrame:
    """The CSV read independently with pandas: gaps ('' and '.') are NaN and dropped."""
    wide = pd.read_csv(path, dtype=str, keep_default_na=False)
    date_column = wide.columns[0]
    long = wide.melt(id_vars=[date_column], var_name="series_id", value_name="raw")
    long = long[~long["raw"].isin(["", "."])]
    long["value"] = long["raw"].astype(float)
    long["date"] = pd.to_datetime(long[date_column])
    return long[["series_id", "date", "value"]].sort_values(["series_id", "date"])


@pytest.mark.parametrize(("path", "codes"), [(CSV_4, CODES), (CSV_OLD, ("DPROPANEMBTX",))])
def test_fredgraph_parser_matches_an_independent_read(path: Path, codes: tuple[str, ...]) -> None:
    parsed = parse_fredgraph_csv(path.read_bytes(), codes)
    expected = _expected_long(path)
    got = parsed.sort_values(["series_id", "date"])
    assert len(got) == len(expected) > 0
    assert list(got["series_id"]) == list(expected["series_id"])
    assert list(got["date"]) == list(expected["date"])
    assert list(got["value"]) == pytest.approx(list(expected["value"]))


def test_gaps_are_missing_never_zero() -> None:
    parsed = parse_fredgraph_csv(CSV_4.read_bytes(), CODES)
    assert (parsed["value"] != 0).all()
    christmas = parsed[parsed["date"] == pd.Timestamp("2018-12-25")]
    assert christmas.empty  # a holiday row with all fields empty gives no observation
    assert parsed["value"].notna().all()


@pytest.mark.parametrize(
    ("body", "codes", "kind"),
    [
        (CSV_4.read_bytes(), ("DCOILBRENTEU", "GASREGW"), "schema"),
        (b"<!DOCTYPE html><html><title>Error</title></html>", CODES, "html"),
        (b"", CODES, "empty"),
        (b"series_id,value\nX,1\n", ("X",), "schema"),
        (CSV_4.read_bytes()[:-9], CODES, "truncated"),
    ],
)
def test_fredgraph_parser_rejects_a_changed_or_broken_body(
    body: bytes, codes: tuple[str, ...], kind: str
) -> None:
    with pytest.raises(BadPayload) as caught:
        parse_fredgraph_csv(body, codes)
    assert caught.value.kind == kind


def test_observations_parser_on_a_real_recording() -> None:
    payload = json.loads(OILPRICE.read_text())
    parsed, count = parse_observations_json(payload, "OILPRICE")
    numeric = [item for item in payload["observations"] if item["value"] != "."]
    assert count == payload["count"]
    assert len(parsed) == len(numeric) == len(payload["observations"]) - 1
    assert list(parsed["value"]) == pytest.approx([float(item["value"]) for item in numeric])
    missing_date = next(item["date"] for item in payload["observations"] if item["value"] == ".")
    assert pd.Timestamp(missing_date) not in set(parsed["date"])


def test_observations_parser_empty_result_is_no_rows() -> None:
    parsed, count = parse_observations_json(json.loads(EMPTY.read_text()), "GNPCA")
    assert parsed.empty and count == 0


@pytest.mark.parametrize("path", [BAD_SERIES, NO_SERIES])
def test_fred_error_bodies_become_api_errors_with_fred_message(path: Path) -> None:
    body = json.loads(path.read_text())
    with pytest.raises(ApiError) as caught:
        parse_observations_json(body, "X")
    assert caught.value.message == body["error_message"]
    assert caught.value.code == "400"


def test_redact_api_key_hides_the_value() -> None:
    url = f"https://api.stlouisfed.org/fred/series/observations?series_id=X&api_key={SECRET}&a=1"
    redacted = redact_api_key(url)
    assert SECRET not in redacted and "api_key=***&a=1" in redacted


def test_keyless_csv_run_maps_series_to_indicators(
    replay_server: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FRED_API_KEY", raising=False)
    replay_server.add("/graph/fredgraph.csv", Reply.from_file(CSV_4, headers={"ETag": '"v1"'}))
    request = make_request("fred", csv_url=replay_server.url + "/graph/fredgraph.csv")
    result = FredFetcher().fetch(request, make_test_session())

    (logged,) = replay_server.matching("/graph/fredgraph.csv")
    assert logged.query["id"] == ",".join(CODES)  # one bulk request for all four series
    assert "cosd" not in logged.query  # nothing stored yet: full history
    frame = result.observations
    expected = _expected_long(CSV_4)
    assert len(frame) == len(expected)
    assert set(frame["country"]) == {"WLD"} and set(frame["source"]) == {"fred"}
    for code, indicator in INDICATOR_OF.items():
        mine = frame[frame["indicator"] == indicator].sort_values("period")
        theirs = expected[expected["series_id"] == code]
        assert list(mine["value"]) == pytest.approx(list(theirs["value"]))
    units = dict(zip(frame["indicator"], frame["unit"], strict=False))
    assert units["brent_price"] == "USD/bbl" and units["propane_price"] == "USD/gal"
    assert result.validators == {
        "fredgraph.csv?id=" + ",".join(CODES): HttpValidator('"v1"', None)
    }


def test_incremental_csv_run_asks_from_the_oldest_newest_date_with_overlap(
    replay_server: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FRED_API_KEY", raising=False)
    replay_server.add("/graph/fredgraph.csv", Reply(304, b""))
    since = {(indicator, "WLD"): dt.date(2019, 1, 7) for indicator in INDICATOR_OF.values()}
    since[("propane_price", "WLD")] = dt.date(2019, 1, 4)
    request = make_request(
        "fred", csv_url=replay_server.url + "/graph/fredgraph.csv", since=since,
        validators={"fredgraph.csv?id=" + ",".join(CODES): HttpValidator('"v1"', None)},
    )
    result = FredFetcher().fetch(request, make_test_session())
    (logged,) = replay_server.matching("/graph/fredgraph.csv")
    assert logged.query["cosd"] == "2018-12-21"  # 2019-01-04 minus the 14-day overlap
    assert logged.headers.get("If-None-Match") == '"v1"'
    assert result.not_modified and result.observations.empty and result.requests_made == 1


def test_keyed_run_uses_the_json_api_and_pages(
    replay_server: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRED_API_KEY", SECRET)
    path = "/fred/series/observations"
    replay_server.add(path, Reply.from_file(OILPRICE))
    # A real page of 10 of 91 observations, then an empty page: the fetcher follows `offset`.
    replay_server.add(path, Reply.from_file(GNPCA_PAGE),
                      query={"series_id": "DPROPANEMBTX", "offset": "0"})
    replay_server.add(path, Reply.from_file(EMPTY),
                      query={"series_id": "DPROPANEMBTX", "offset": "10"})
    request = make_request("fred", base_url=replay_server.url + "/fred")
    result = FredFetcher().fetch(request, make_test_session())

    logged = replay_server.matching(path)
    asked = [(item.query["series_id"], item.query["offset"]) for item in logged]
    assert asked == [
        ("DCOILBRENTEU", "0"), ("DCOILWTICO", "0"), ("DHHNGSP", "0"),
        ("DPROPANEMBTX", "0"), ("DPROPANEMBTX", "10"),
    ]
    assert all(item.query["api_key"] == SECRET for item in replay_server.matching(path))
    assert all(item.query["file_type"] == "json" for item in replay_server.matching(path))
    oil = json.loads(OILPRICE.read_text())["observations"]
    numeric_oil = [item for item in oil if item["value"] != "."]
    frame = result.observations
    assert (frame["indicator"] == "brent_price").sum() == len(numeric_oil)
    gnpca = json.loads(GNPCA_PAGE.read_text())["observations"]
    propane = frame[frame["indicator"] == "propane_price"].sort_values("period")
    assert list(propane["value"]) == pytest.approx([float(item["value"]) for item in gnpca])
    assert result.requests_made == 5


def test_keyed_run_turns_a_400_body_into_an_api_error(
    replay_server: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRED_API_KEY", SECRET)
    replay_server.add("/fred/series/observations", Reply.from_file(BAD_SERIES, status=400))
    request = make_request("fred", base_url=replay_server.url + "/fred")
    with pytest.raises(ApiError) as caught:
        FredFetcher().fetch(request, make_test_session())
    assert caught.value.message == json.loads(BAD_SERIES.read_text())["error_message"]
    assert str(caught.value).startswith("fred: ")
    assert replay_server.count("/fred/series/observations") == 1  # a 400 is not retried


@pytest.mark.parametrize("fault", [reset(), html_page()])
def test_the_api_key_never_appears_in_an_error(
    replay_server: ReplayServer, monkeypatch: pytest.MonkeyPatch, fault: Reply
) -> None:
    monkeypatch.setenv("FRED_API_KEY", SECRET)
    replay_server.add("/fred/series/observations", fault)
    request = make_request("fred", base_url=replay_server.url + "/fred")
    with pytest.raises(FetchError) as caught:
        FredFetcher().fetch(request, make_test_session(max_retries=1))
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value.args)
    assert caught.value.__cause__ is None or SECRET not in str(caught.value.__cause__)


def test_keyed_run_with_no_observations_at_all_is_an_empty_result(
    replay_server: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRED_API_KEY", SECRET)
    replay_server.add("/fred/series/observations", Reply.from_file(EMPTY))
    request = make_request("fred", base_url=replay_server.url + "/fred")
    with pytest.raises(BadPayload) as caught:
        FredFetcher().fetch(request, make_test_session())
    assert caught.value.kind == "empty"
    assert replay_server.count("/fred/series/observations") == 4  # one per series, no paging


GASREGW = FIXTURES / "fred" / "GASREGW_weekly_1990-2024.REAL.csv"


def _gasoline_request(url: str) -> FetchRequest:
    """A request for the US gasoline series alone (the generic id is catalogued elsewhere)."""
    request = make_request("fred", csv_url=url)
    catalogue = load_config(None).catalogue()
    served = tuple(item for item in catalogue.indicators if item.id in FredFetcher.also_serves)
    return dataclasses.replace(request, indicators=served)


def test_us_gasoline_is_stored_for_usa_in_usd_per_litre(
    replay_server: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FRED_API_KEY", raising=False)
    replay_server.add("/graph/fredgraph.csv", Reply.from_file(GASREGW, content_type="text/csv"))
    request = _gasoline_request(replay_server.url + "/graph/fredgraph.csv")
    result = FredFetcher().fetch(request, make_test_session())

    (logged,) = replay_server.matching("/graph/fredgraph.csv")
    assert logged.query["id"] == "GASREGW" and "cosd" not in logged.query
    frame = result.observations
    assert set(frame["indicator"]) == {"fuel_gasoline_retail"}
    assert set(frame["country"]) == {"USA"} and set(frame["unit"]) == {"USD/litre"}
    lines = GASREGW.read_text().splitlines()[1:]
    filled = {day: float(value) for day, value in (line.split(",") for line in lines)
              if value != "."}
    assert len(frame) == len(filled) == 1790 - 6  # the six "." weeks have no row, never zero
    by_day = dict(zip(frame["period"].dt.strftime("%Y-%m-%d"), frame["value"], strict=True))
    # 3.034 USD per US gallon on 2 Dec 2024 = 0.8015 USD per litre.
    assert by_day["2024-12-02"] == pytest.approx(3.034 / 3.785411784)
    assert by_day == pytest.approx({day: value / 3.785411784 for day, value in filled.items()})


def test_us_gasoline_incremental_start_uses_the_usa_series(
    replay_server: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FRED_API_KEY", raising=False)
    replay_server.add("/graph/fredgraph.csv", Reply(304, b""))
    request = dataclasses.replace(
        _gasoline_request(replay_server.url + "/graph/fredgraph.csv"),
        since={("fuel_gasoline_retail", "USA"): dt.date(2024, 12, 2)},
    )
    result = FredFetcher().fetch(request, make_test_session())
    (logged,) = replay_server.matching("/graph/fredgraph.csv")
    assert logged.query["cosd"] == "2024-11-18"
    assert result.not_modified


def test_an_unwatched_country_series_never_makes_the_world_fetch_a_full_one(
    replay_server: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FRED_API_KEY", raising=False)
    path = "/graph/fredgraph.csv"
    replay_server.add(path, Reply.from_file(GASREGW, content_type="text/csv"),
                      query={"id": "GASREGW"})
    replay_server.add(path, Reply(304, b""), query={"id": ",".join(CODES)})
    since = {(indicator, "WLD"): dt.date(2019, 1, 7) for indicator in INDICATOR_OF.values()}
    request = make_request("fred", csv_url=replay_server.url + path, since=since)
    catalogue = load_config(None).catalogue()
    gasoline = tuple(item for item in catalogue.indicators if item.id == "fuel_gasoline_retail")
    request = dataclasses.replace(request, indicators=(*request.indicators, *gasoline))
    result = FredFetcher().fetch(request, make_test_session())

    logged = {item.query["id"]: item.query for item in replay_server.matching(path)}
    assert logged[",".join(CODES)]["cosd"] == "2018-12-24"  # WLD: incremental, as before
    assert "cosd" not in logged["GASREGW"]  # USA has nothing stored: its whole history
    assert result.requests_made == 2 and not result.not_modified
    assert set(result.observations["country"]) == {"USA"}
