"""ACLED fetcher: events and monthly aggregates from the quoted row, the OAuth token life cycle."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pandas as pd
import pytest

from fetchers.acled import (
    AcledFetcher,
    AcledPage,
    AcledWindow,
    clear_token_cache,
    events_frame,
    monthly_aggregates,
    window_start,
)
from fetchers.base import FetchRequest
from fetchers.errors import ApiError, BadPayload, FetchError
from tests.fetchers.conftest import FIXTURES
from tests.fetchers.request_builder import FakeClock, make_request, make_test_session
from tests.support.replay_server import ReplayServer, Reply

ACLED = FIXTURES / "acled"
QUOTED = ACLED / "read_legacy_UKR_2024-01-01.QUOTED.json"
TOKEN_1 = ACLED / "token_password_grant.CONSTRUCTED.json"
TOKEN_2 = ACLED / "token_refreshed.CONSTRUCTED.json"
INVALID_GRANT = ACLED / "token_invalid_grant.CONSTRUCTED.json"
READ = "/api/acled/read"
TOKEN = "/oauth/token"
USER, PASSWORD = "analyst@example.org", "correct horse battery staple"
NOW = dt.datetime(2024, 1, 10, 5, 0)


@pytest.fixture(autouse=True)
def _fresh_tokens(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    clear_token_cache()
    monkeypatch.setenv("ACLED_USERNAME", USER)
    monkeypatch.setenv("ACLED_PASSWORD", PASSWORD)
    yield
    clear_token_cache()


def _quoted() -> dict[str, Any]:
    body: dict[str, Any] = json.loads(QUOTED.read_text())
    return body


def _protest_variant() -> dict[str, Any]:
    """SYNTHETIC: the quoted row turned into a protest in Kazakhstan (another id, no deaths)."""
    body = _quoted()
    row = dict(body["data"][0], event_id_cnty="KAZ0001", event_type="Protests",
               sub_event_type="Peaceful protest", iso="398", country="Kazakhstan",
               fatalities="0", event_date="2024-01-05")
    return dict(body, data=[row])


def _request(server: ReplayServer, **kwargs: Any) -> FetchRequest:
    return make_request(
        "acled", base_url=server.url + "/api", token_url=server.url + TOKEN,
        countries=("UKR",), include_disabled=True, now=NOW, **kwargs,
    )


def test_events_frame_reads_the_quoted_row() -> None:
    window = AcledWindow(dt.date(2024, 1, 1), NOW.date(), (AcledPage("UKR", 1, _quoted()),))
    events, warnings = events_frame(window, NOW)
    row = _quoted()["data"][0]
    assert len(events) == 1 and not warnings
    event = events.iloc[0]
    assert event["event_id_cnty"] == row["event_id_cnty"]
    assert event["country"] == "UKR"  # from the numeric iso 804
    assert event["event_date"] == dt.date.fromisoformat(row["event_date"])
    assert event["fatalities"] == int(row["fatalities"])
    assert event["latitude"] == pytest.approx(float(row["latitude"]))
    assert event["event_type"] == row["event_type"]


def test_monthly_aggregates_count_protests_and_riots_and_sum_fatalities() -> None:
    pages = (AcledPage("UKR", 1, _quoted()), AcledPage("KAZ", 1, _protest_variant()))
    window = AcledWindow(dt.date(2023, 12, 1), NOW.date(), pages)
    events, _ = events_frame(window, NOW)
    request = make_request("acled", countries=("UKR", "KAZ"), include_disabled=True)
    frame = monthly_aggregates(events, request.indicators, request.countries,
                               window.start, window.end, NOW)
    table = frame.pivot_table(index=["indicator", "country"], columns="period", values="value")
    jan, dec = pd.Timestamp("2024-01-01"), pd.Timestamp("2023-12-01")
    fatalities = int(_quoted()["data"][0]["fatalities"])
    assert table.loc[("acled_fatalities", "UKR"), jan] == fatalities
    assert table.loc[("acled_fatalities", "UKR"), dec] == 0  # the window was read: a real zero
    assert table.loc[("acled_protest_events", "UKR"), jan] == 0  # a battle is not a protest
    assert table.loc[("acled_protest_events", "KAZ"), jan] == 1
    assert len(frame) == 2 * 2 * 2  # 2 indicators × 2 countries × 2 months


def test_window_start() -> None:
    assert window_start(dt.date(2024, 1, 1), dt.date(2024, 1, 10)) == dt.date(2023, 12, 1)
    assert window_start(None, dt.date(2024, 1, 10)) == dt.date(2022, 2, 1)


def test_run_logs_in_pages_and_returns_the_extra_table(replay_server: ReplayServer) -> None:
    replay_server.add(TOKEN, Reply.from_file(TOKEN_1), method="POST")
    replay_server.add(READ, Reply.from_file(QUOTED))
    result = AcledFetcher(clock=FakeClock()).fetch(_request(replay_server), make_test_session())

    (login,) = replay_server.matching(TOKEN)
    form = {key: values[0] for key, values in parse_qs(login.body.decode()).items()}
    assert form == {"username": USER, "password": PASSWORD, "grant_type": "password",
                    "client_id": "acled"}
    (read,) = replay_server.matching(READ)
    assert read.headers["Authorization"] == "Bearer constructed-access-token-1"
    assert read.query["iso"] == "804" and read.query["event_date_where"] == "BETWEEN"
    assert read.query["event_date"] == "2022-02-01|2024-01-10"
    assert read.query["_format"] == "json" and read.query["page"] == "1"
    events = result.extra_tables["acled_events"]
    assert list(events["event_id_cnty"]) == ["UKR142665"]
    jan = result.observations[result.observations["period"] == pd.Timestamp("2024-01-01")]
    assert jan.set_index("indicator")["value"]["acled_fatalities"] == 2


def test_token_is_reused_then_refreshed_after_24_hours(replay_server: ReplayServer) -> None:
    replay_server.add(TOKEN, [Reply.from_file(TOKEN_1), Reply.from_file(TOKEN_2)], method="POST")
    replay_server.add(READ, Reply.from_file(QUOTED))
    clock = FakeClock()
    fetcher = AcledFetcher(clock=clock)
    fetcher.fetch(_request(replay_server), make_test_session())
    fetcher.fetch(_request(replay_server), make_test_session())
    assert replay_server.count(TOKEN) == 1  # the cached token served the second run

    clock.sleep(24 * 3600)
    fetcher.fetch(_request(replay_server), make_test_session())
    grants = [parse_qs(item.body.decode()) for item in replay_server.matching(TOKEN)]
    assert grants[1]["grant_type"] == ["refresh_token"]
    assert grants[1]["refresh_token"] == ["constructed-refresh-token-1"]
    assert "password" not in grants[1]
    reads = replay_server.matching(READ)
    assert reads[-1].headers["Authorization"] == "Bearer constructed-access-token-2"


def test_a_failed_refresh_logs_in_again(replay_server: ReplayServer) -> None:
    replay_server.add(
        TOKEN,
        [Reply.from_file(TOKEN_1), Reply.from_file(INVALID_GRANT, status=400),
         Reply.from_file(TOKEN_2)],
        method="POST",
    )
    replay_server.add(READ, Reply.from_file(QUOTED))
    clock = FakeClock()
    fetcher = AcledFetcher(clock=clock)
    fetcher.fetch(_request(replay_server), make_test_session())
    clock.sleep(25 * 3600)
    fetcher.fetch(_request(replay_server), make_test_session())
    grants = [parse_qs(item.body.decode())["grant_type"][0]
              for item in replay_server.matching(TOKEN)]
    assert grants == ["password", "refresh_token", "password"]


def test_a_401_renews_the_token_once(replay_server: ReplayServer) -> None:
    replay_server.add(TOKEN, [Reply.from_file(TOKEN_1), Reply.from_file(TOKEN_2)], method="POST")
    # SYNTHETIC: the token is refused once (revoked on the server), then the read succeeds.
    replay_server.add(READ, [Reply(401, b'{"message": "Unauthorized"}'), Reply.from_file(QUOTED)])
    result = AcledFetcher(clock=FakeClock()).fetch(_request(replay_server), make_test_session())
    reads = replay_server.matching(READ)
    assert [item.headers["Authorization"] for item in reads] == [
        "Bearer constructed-access-token-1", "Bearer constructed-access-token-2"
    ]
    assert len(result.extra_tables["acled_events"]) == 1


def test_pages_until_a_short_page(replay_server: ReplayServer) -> None:
    replay_server.add(TOKEN, Reply.from_file(TOKEN_1), method="POST")
    replay_server.add(READ, Reply.from_file(QUOTED), query={"page": "1"})
    # SYNTHETIC: the (short, empty) page after the last row.
    empty = json.dumps(dict(_quoted(), count=0, data=[])).encode()
    replay_server.add(READ, Reply(200, empty), query={"page": "2"})
    AcledFetcher(clock=FakeClock()).fetch(_request(replay_server, page_limit=1),
                                          make_test_session())
    assert [item.query["page"] for item in replay_server.matching(READ)] == ["1", "2"]


def test_a_wrong_password_is_an_api_error_without_credentials(
    replay_server: ReplayServer,
) -> None:
    replay_server.add(TOKEN, Reply.from_file(INVALID_GRANT, status=400), method="POST")
    with pytest.raises(ApiError) as caught:
        AcledFetcher(clock=FakeClock()).fetch(_request(replay_server), make_test_session())
    message = str(caught.value)
    expected = json.loads(INVALID_GRANT.read_text())["error_description"]
    assert message.startswith("acled: login refused: invalid_grant") and expected in message
    assert PASSWORD not in message and USER not in message
    assert replay_server.count(READ) == 0


def test_missing_credentials_name_the_variables(
    replay_server: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACLED_PASSWORD")
    with pytest.raises(FetchError) as caught:
        AcledFetcher().fetch(_request(replay_server), make_test_session())
    assert "ACLED_PASSWORD" in str(caught.value) and "ACLED_USERNAME" not in str(caught.value)
    assert replay_server.requests == []


def test_no_events_at_all_is_an_empty_result(replay_server: ReplayServer) -> None:
    replay_server.add(TOKEN, Reply.from_file(TOKEN_1), method="POST")
    empty = json.dumps(dict(_quoted(), count=0, data=[])).encode()  # SYNTHETIC
    replay_server.add(READ, Reply(200, empty))
    with pytest.raises(BadPayload) as caught:
        AcledFetcher(clock=FakeClock()).fetch(_request(replay_server), make_test_session())
    assert caught.value.kind == "empty"
