"""The shared HTTP layer against a loopback server: retries, Retry-After, validators, errors."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from fetchers.errors import BadPayload, HTTPStatusError, RateLimited, TransportError
from fetchers.http import (
    USER_AGENT,
    HttpValidator,
    RateLimiter,
    get,
    make_session,
    parse_json,
    parse_retry_after,
)
from flashpoint import __version__
from tests.fetchers.conftest import FIXTURES
from tests.support.replay_server import (
    ReplayServer,
    Reply,
    hang,
    html_page,
    rate_limited,
    reset,
    server_error,
    truncated,
)

WB_400_PAGE = next((FIXTURES / "worldbank").glob("400_*_source_invalid_source_id.html"))


def quick_session(max_retries: int = 2, **kwargs: object):  # type: ignore[no-untyped-def]
    # No backoff and a short Retry-After cap keep retries quick. The read timeout is generous:
    # a loopback reply can take over a second on a busy machine, and a timeout here would be a
    # retry the test did not ask for. The timeout test sets its own short one.
    options: dict[str, object] = {"backoff_factor": 0.0, "retry_after_cap": 0.05,
                                  "timeout": (10.0, 30.0)}
    options.update(kwargs)
    return make_session(max_retries=max_retries, **options)  # type: ignore[arg-type]


def test_user_agent_names_flashpoint_and_its_version(replay_server: ReplayServer) -> None:
    replay_server.add("/ok", Reply.json_text("[]"))
    get(quick_session(), f"{replay_server.url}/ok", source="test")
    sent = replay_server.requests[0].headers["User-Agent"]
    assert sent == USER_AGENT
    assert sent.startswith(f"Flashpoint/{__version__} (+https://")


def test_validators_are_sent_and_304_means_not_modified(replay_server: ReplayServer) -> None:
    replay_server.add("/data", Reply(304, b"", {"ETag": '"v1"'}))
    session = quick_session()
    response = get(session, f"{replay_server.url}/data", source="test",
                   validator=HttpValidator('"v1"', "Tue, 01 Jul 2025 00:00:00 GMT"))
    assert response.not_modified
    assert response.content == b""
    headers = replay_server.requests[0].headers
    assert headers["If-None-Match"] == '"v1"'
    assert headers["If-Modified-Since"] == "Tue, 01 Jul 2025 00:00:00 GMT"
    assert session.requests_made == 1


def test_new_validators_are_returned(replay_server: ReplayServer) -> None:
    headers = {"ETag": '"abc"', "Last-Modified": "Wed, 02 Jul 2025 00:00:00 GMT"}
    replay_server.add("/data", Reply(200, b"[1]", headers))
    response = get(quick_session(), f"{replay_server.url}/data", source="test")
    assert response.payload == [1]
    assert response.validator == HttpValidator('"abc"', "Wed, 02 Jul 2025 00:00:00 GMT")


def test_a_transient_503_is_retried_and_every_attempt_counted(
    replay_server: ReplayServer,
) -> None:
    replay_server.add("/flaky", [server_error(503), Reply.json_text('{"ok": true}')])
    session = quick_session()
    response = get(session, f"{replay_server.url}/flaky", source="test")
    assert response.payload == {"ok": True}
    assert replay_server.count("/flaky") == 2
    assert session.requests_made == 2


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_persistent_5xx_fails_after_bounded_retries(replay_server: ReplayServer,
                                                    status: int) -> None:
    replay_server.add("/down", server_error(status))
    session = quick_session(max_retries=3)
    with pytest.raises(HTTPStatusError) as caught:
        get(session, f"{replay_server.url}/down", source="demo")
    assert caught.value.status == status
    assert caught.value.source == "demo"
    assert f"HTTP {status}" in str(caught.value)
    assert replay_server.count("/down") == 4
    assert session.requests_made == 4


def test_retry_after_is_honoured_up_to_the_cap(replay_server: ReplayServer) -> None:
    replay_server.add("/limited", [rate_limited("1"), Reply.json_text("[]")])
    session = quick_session(retry_after_cap=0.25)
    get(session, f"{replay_server.url}/limited", source="test")
    first, second = replay_server.requests
    gap = second.at - first.at
    assert 0.2 <= gap < 0.9  # waited for Retry-After, but no longer than the cap


def test_a_huge_retry_after_is_capped_and_429_reported(replay_server: ReplayServer) -> None:
    replay_server.add("/limited", rate_limited("3600"))
    session = quick_session(max_retries=2, retry_after_cap=0.05)
    started = time.monotonic()
    with pytest.raises(RateLimited) as caught:
        get(session, f"{replay_server.url}/limited", source="test")
    assert time.monotonic() - started < 2.0
    assert caught.value.retry_after == 3600
    assert caught.value.status == 429
    assert "429" in str(caught.value)
    assert replay_server.count("/limited") == 3
    # Reported: the message says the wait was capped, and each capped wait is recorded.
    assert "server asked to wait 3600 s; Flashpoint waits at most 0.05 s" in str(caught.value)
    assert session.attempt_log.capped_waits == [3600.0, 3600.0]


def test_a_timeout_is_retried_then_reported(replay_server: ReplayServer) -> None:
    replay_server.add("/slow", hang(3))
    session = quick_session(max_retries=1, timeout=(1.0, 0.2))
    with pytest.raises(TransportError) as caught:
        get(session, f"{replay_server.url}/slow", source="slowsrc")
    assert caught.value.kind == "timeout"
    assert str(caught.value).startswith("slowsrc: timed out")
    assert replay_server.count("/slow") == 2
    assert session.requests_made == 2


def test_a_connection_reset_is_retried_then_reported(replay_server: ReplayServer) -> None:
    replay_server.add("/reset", reset())
    session = quick_session(max_retries=2)
    with pytest.raises(TransportError) as caught:
        get(session, f"{replay_server.url}/reset", source="test")
    assert caught.value.kind == "connection"
    assert "reset" in str(caught.value) or "closed" in str(caught.value)
    assert replay_server.count("/reset") == 3


def test_a_reset_then_success_recovers(replay_server: ReplayServer) -> None:
    replay_server.add("/blip", [reset(), Reply.json_text("[2]")])
    response = get(quick_session(), f"{replay_server.url}/blip", source="test")
    assert response.payload == [2]
    assert replay_server.count("/blip") == 2


def test_an_html_page_instead_of_json_is_bad_payload_without_retry(
    replay_server: ReplayServer,
) -> None:
    replay_server.add("/page", html_page())
    with pytest.raises(BadPayload) as caught:
        get(quick_session(), f"{replay_server.url}/page", source="test")
    assert caught.value.kind == "html"
    assert "HTML" in str(caught.value)
    assert "Scheduled maintenance" in str(caught.value)
    assert replay_server.count("/page") == 1


def test_html_is_detected_for_text_sources_too(replay_server: ReplayServer) -> None:
    replay_server.add("/file.csv", html_page())
    with pytest.raises(BadPayload):
        get(quick_session(), f"{replay_server.url}/file.csv", source="test", expect="text")


def test_truncated_json_is_named(replay_server: ReplayServer) -> None:
    body = (FIXTURES / "worldbank"
            / "200_countries_JPN_USA_indicators_NY_GDP_MKTP_CD_format_json.json").read_bytes()
    replay_server.add("/cut", truncated(body))
    with pytest.raises(BadPayload) as caught:
        get(quick_session(), f"{replay_server.url}/cut", source="test")
    assert caught.value.kind == "truncated"
    assert "truncated JSON" in str(caught.value)


def test_an_empty_body_is_named(replay_server: ReplayServer) -> None:
    replay_server.add("/empty", Reply(200, b""))
    with pytest.raises(BadPayload) as caught:
        get(quick_session(), f"{replay_server.url}/empty", source="test")
    assert caught.value.kind == "empty"


def test_a_utf8_bom_before_json_is_accepted(replay_server: ReplayServer) -> None:
    replay_server.add("/bom", Reply(200, b"\xef\xbb\xbf[3]"))
    assert get(quick_session(), f"{replay_server.url}/bom", source="t").payload == [3]


def test_the_query_string_never_reaches_an_error_message(replay_server: ReplayServer) -> None:
    replay_server.add("/keyed", server_error(500))
    with pytest.raises(HTTPStatusError) as caught:
        get(quick_session(max_retries=0), f"{replay_server.url}/keyed", source="test",
            params={"api_key": "SECRET-KEY-123"})
    assert "SECRET-KEY-123" not in str(caught.value)
    assert replay_server.requests[0].query["api_key"] == "SECRET-KEY-123"


def test_transient_400_html_is_retried_but_400_json_is_not(replay_server: ReplayServer) -> None:
    page = Reply.from_file(WB_400_PAGE, status=400)
    replay_server.add("/wb", [page, page, Reply.json_text("[4]")])
    response = get(quick_session(), f"{replay_server.url}/wb", source="worldbank",
                   retry_non_json_statuses=(400,), extra_attempts=3)
    assert response.payload == [4]
    assert replay_server.count("/wb") == 3

    replay_server.add("/wbjson", Reply(400, b'{"error": "bad"}'))
    with pytest.raises(HTTPStatusError):
        get(quick_session(), f"{replay_server.url}/wbjson", source="worldbank",
            retry_non_json_statuses=(400,), extra_attempts=3)
    assert replay_server.count("/wbjson") == 1


def test_the_recorded_400_page_is_reported_with_its_title(replay_server: ReplayServer) -> None:
    replay_server.add("/wb", Reply.from_file(WB_400_PAGE, status=400))
    with pytest.raises(HTTPStatusError) as caught:
        get(quick_session(), f"{replay_server.url}/wb", source="worldbank",
            retry_non_json_statuses=(400,), extra_attempts=2)
    assert caught.value.status == 400
    assert "Request Error" in str(caught.value)
    assert replay_server.count("/wb") == 3


def test_a_redirect_loop_is_a_transport_error(replay_server: ReplayServer) -> None:
    replay_server.add("/loop", Reply(302, b"", {"Location": "/loop"}))
    with pytest.raises(TransportError) as caught:
        get(quick_session(), f"{replay_server.url}/loop", source="test")
    assert "too many redirects" in str(caught.value)
    assert replay_server.count("/loop") == 6  # the first request and 5 redirects


def test_rate_limiter_spaces_requests_with_an_injected_clock() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(1.0, clock=lambda: now[0], sleep=sleep)
    assert limiter.wait() == 0.0
    now[0] += 0.3
    assert limiter.wait() == pytest.approx(0.7)
    now[0] += 5.0
    assert limiter.wait() == 0.0
    assert slept == [pytest.approx(0.7)]


def test_session_applies_the_rate_limit_to_every_request(replay_server: ReplayServer) -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    replay_server.add("/ok", Reply.json_text("[]"))
    session = quick_session(min_interval_seconds=5.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        get(session, f"{replay_server.url}/ok", source="t")
    assert slept == [5.0, 5.0]


def test_parse_retry_after_accepts_seconds_and_http_dates() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    seconds = parse_retry_after(later)
    assert seconds is not None and 25 <= seconds <= 31


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b'{"values": {"PCPIPCH": {"KAZ": {"2021": 8.0, "2022": 15', "truncated"),
        (b'[{"page": 1}, [{"value": "abc', "truncated"),
        # Synthetic: a changed layout, wrong in the middle (and unbalanced), is not "truncated".
        (b'{"values": {"PCPIPCH": ..., "KAZ": [1, 2, 3]', "not_json"),
        (b'{"data": [1, 2, 3], oops: {"x": 1}', "not_json"),
    ],
)
def test_truncation_is_told_apart_from_a_body_wrong_inside(body: bytes, kind: str) -> None:
    with pytest.raises(BadPayload) as caught:
        parse_json(body, source="test", where="h/p")
    assert caught.value.kind == kind
