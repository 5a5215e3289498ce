"""fx fetcher: open.er-api.com latest/USD parser and a run against the loopback server."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from fetchers.errors import ApiError, BadPayload, RateLimited
from fetchers.fx import FxFetcher, parse_latest
from tests.fetchers.conftest import FIXTURES
from tests.fetchers.request_builder import make_request, make_test_session
from tests.support.replay_server import ReplayServer, Reply, rate_limited

LATEST = FIXTURES / "fx" / "latest_USD.CONSTRUCTED.json"
ERROR = FIXTURES / "fx" / "error_unsupported_code.QUOTED.json"
WATCHED = ("KAZ", "KGZ", "UZB", "TJK", "TKM", "RUS", "AZE", "MNG", "IRN", "NGA", "ECU")
PATH = "/v6/latest/USD"


def test_parser_reads_update_day_and_rates() -> None:
    body = json.loads(LATEST.read_text())
    latest = parse_latest(body)
    expected_day = dt.datetime.fromtimestamp(body["time_last_update_unix"], tz=dt.UTC).date()
    assert latest.updated == expected_day
    assert latest.per_usd == {code: float(value) for code, value in body["rates"].items()}


def test_the_error_envelope_is_an_api_error() -> None:
    with pytest.raises(ApiError) as caught:
        parse_latest(json.loads(ERROR.read_text()))
    assert caught.value.code == "unsupported-code"
    assert "unsupported-code" in str(caught.value) and str(caught.value).startswith("fx: ")


@pytest.mark.parametrize(
    "changed",
    [
        {"result": "success", "base_code": "USD", "time_last_update_unix": 1},  # no rates
        {"result": "success", "base_code": "EUR", "time_last_update_unix": 1, "rates": {}},
        {"result": "success", "base_code": "USD", "rates": {"KGS": 85.0}},  # no update time
        ["not", "an", "object"],
    ],
)
def test_a_changed_schema_is_a_bad_payload(changed: object) -> None:
    with pytest.raises(BadPayload):
        parse_latest(changed)


def test_run_writes_one_rate_per_watched_country_with_a_currency(
    replay_server: ReplayServer,
) -> None:
    replay_server.add(PATH, Reply.from_file(LATEST))
    request = make_request("fx", base_url=replay_server.url + PATH, countries=WATCHED)
    result = FxFetcher().fetch(request, make_test_session())

    body = json.loads(LATEST.read_text())
    table = request.settings.currencies  # type: ignore[attr-defined]
    frame = result.observations.set_index("country")
    # KAZ comes from NBK and ECU uses the US dollar: neither gets a row from this source.
    assert set(frame.index) == {country for country in WATCHED if country in table}
    for country, row in frame.iterrows():
        assert row["value"] == pytest.approx(body["rates"][table[country]])
    assert set(frame["indicator"]) == {"usd_fx_rate"} and set(frame["source"]) == {"fx"}
    day = dt.datetime.fromtimestamp(body["time_last_update_unix"], tz=dt.UTC).date()
    assert set(frame["period"].dt.date) == {day}
    assert result.requests_made == 1 and not result.warnings


def test_a_currency_missing_from_the_answer_is_a_warning(replay_server: ReplayServer) -> None:
    replay_server.add(PATH, Reply.from_file(LATEST))
    request = make_request(
        "fx", base_url=replay_server.url + PATH, countries=("KGZ", "ECU"),
        currencies={"KGZ": "KGS", "ECU": "XEC"},
    )
    result = FxFetcher().fetch(request, make_test_session())
    assert list(result.observations["country"]) == ["KGZ"]
    assert result.warnings == ["no XEC rate for ECU in the answer"]


def test_rate_limited_after_retries(replay_server: ReplayServer) -> None:
    replay_server.add(PATH, rate_limited("0"))
    request = make_request("fx", base_url=replay_server.url + PATH, countries=WATCHED)
    with pytest.raises(RateLimited):
        FxFetcher().fetch(request, make_test_session(max_retries=2))
    assert replay_server.count(PATH) == 3  # first attempt + 2 bounded retries
