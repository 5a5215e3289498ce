"""NBK fetcher: XML parser on real trimmed responses, back-fill dates, end to end on loopback."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from fetchers.base import HttpValidator
from fetchers.errors import BadPayload
from fetchers.nbk import NbkFetcher, dates_to_fetch, parse_rates_xml
from tests.fetchers.conftest import FIXTURES
from tests.fetchers.request_builder import make_request, make_test_session
from tests.support.replay_server import ReplayServer, Reply, html_page, truncated

NBK = FIXTURES / "nbk"
AUG_01 = NBK / "get_rates_fdate_01.08.2026.trimmed.xml"
JUL_31 = NBK / "get_rates_fdate_31.07.2026.trimmed.xml"
# SYNTHETIC: the empty document NBK serves with HTTP 200 for a date outside its window
# (shape as documented in shared/reference/data-sources.md §7).
EMPTY_RATES = b'<?xml version="1.0" encoding="utf-8"?>\n<rates>\n</rates>\n'


def _rate_in_file(path: Path, code: str) -> tuple[float, float]:
    """(description, quant) of one currency, read with a regex, independently of the parser."""
    text = path.read_text(encoding="utf-8")
    item = re.search(
        rf"<title>{code}</title>\s*<description>([^<]+)</description>\s*<quant>([^<]+)</quant>",
        text,
    )
    assert item is not None
    return float(item.group(1)), float(item.group(2))


def test_parser_reads_the_document_date_and_rates_per_unit() -> None:
    parsed = parse_rates_xml(AUG_01.read_bytes())
    assert parsed.date == dt.date(2026, 8, 1)
    usd, usd_quant = _rate_in_file(AUG_01, "USD")
    uzs, uzs_quant = _rate_in_file(AUG_01, "UZS")
    irr, irr_quant = _rate_in_file(AUG_01, "IRR")
    assert parsed.kzt_per_unit["USD"] == pytest.approx(usd / usd_quant)
    assert parsed.kzt_per_unit["UZS"] == pytest.approx(uzs / uzs_quant)  # quoted per 100
    assert parsed.kzt_per_unit["IRR"] == pytest.approx(irr / irr_quant)  # quoted per 10000
    assert uzs_quant == 100 and irr_quant == 10000


def test_parser_accepts_the_header_elements_before_the_date() -> None:
    parsed = parse_rates_xml(JUL_31.read_bytes())
    assert parsed.date == dt.date(2026, 7, 31)
    assert parsed.kzt_per_unit["USD"] == pytest.approx(_rate_in_file(JUL_31, "USD")[0])
    assert set(parsed.kzt_per_unit) == {"USD", "EUR"}


def test_an_empty_rates_document_is_no_data_not_an_error() -> None:
    parsed = parse_rates_xml(EMPTY_RATES)
    assert parsed.date is None
    assert parsed.kzt_per_unit == {}


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"<!DOCTYPE html><html><body>maintenance</body></html>", "html"),
        (AUG_01.read_bytes()[:300], "truncated"),
        (b"", "empty"),
        (b"<rss><channel></channel></rss>", "schema"),
    ],
)
def test_parser_rejects_what_is_not_the_rates_document(body: bytes, kind: str) -> None:
    with pytest.raises(BadPayload) as caught:
        parse_rates_xml(body)
    assert caught.value.kind == kind
    assert caught.value.source == "nbk"


def test_dates_to_fetch_starts_at_the_newest_stored_date_and_is_bounded() -> None:
    today = dt.date(2026, 8, 3)
    assert dates_to_fetch(dt.date(2026, 8, 1), today, 45) == [
        dt.date(2026, 8, 1), dt.date(2026, 8, 2), dt.date(2026, 8, 3)
    ]
    nothing_stored = dates_to_fetch(None, today, 45)
    assert len(nothing_stored) == 45 and nothing_stored[-1] == today
    assert nothing_stored[0] == today - dt.timedelta(days=44)
    long_stale = dates_to_fetch(dt.date(2020, 1, 1), today, 10)
    assert long_stale[0] == today - dt.timedelta(days=9) and len(long_stale) == 10
    assert dates_to_fetch(today, today, 45) == [today]
    assert dates_to_fetch(None, today, 0) == []


def _serve_window(server: ReplayServer) -> None:
    path = "/rss/get_rates.cfm"
    server.add(path, Reply(200, EMPTY_RATES, content_type="text/xml"))  # any other date
    server.add(path, Reply.from_file(JUL_31), query={"fdate": "31.07.2026"})
    server.add(path, Reply.from_file(AUG_01, headers={"ETag": '"aug01"'}),
               query={"fdate": "01.08.2026"})


def test_fetch_end_to_end_stores_each_served_date(replay_server: ReplayServer) -> None:
    _serve_window(replay_server)
    request = make_request(
        "nbk", base_url=replay_server.url + "/rss",
        since={("usd_fx_rate", "KAZ"): dt.date(2026, 7, 30)},
        now=dt.datetime(2026, 8, 1, 7, 15),
    )
    result = NbkFetcher().fetch(request, make_test_session())

    asked = [item.query["fdate"] for item in replay_server.matching("/rss/get_rates.cfm")]
    assert asked == ["30.07.2026", "31.07.2026", "01.08.2026"]
    assert result.requests_made == 3
    frame = result.observations
    assert list(frame["period"].dt.date) == [dt.date(2026, 7, 31), dt.date(2026, 8, 1)]
    assert list(frame["value"]) == [
        pytest.approx(_rate_in_file(JUL_31, "USD")[0]),
        pytest.approx(_rate_in_file(AUG_01, "USD")[0]),
    ]
    assert set(frame["indicator"]) == {"usd_fx_rate"} and set(frame["country"]) == {"KAZ"}
    assert set(frame["unit"]) == {"LCU per USD"} and set(frame["source"]) == {"nbk"}
    assert any("30.07" in note or "2026-07-30" in note for note in result.warnings)
    assert result.validators == {"get_rates.cfm?fdate=01.08.2026": HttpValidator('"aug01"', None)}


def test_a_weekend_date_is_stored_under_the_date_the_document_names(
    replay_server: ReplayServer,
) -> None:
    path = "/rss/get_rates.cfm"
    replay_server.add(path, Reply(200, EMPTY_RATES, content_type="text/xml"))
    # The document for 01.08 served for a request of 02.08: it is stored once, under 01.08.
    replay_server.add(path, Reply.from_file(AUG_01), query={"fdate": "02.08.2026"})
    replay_server.add(path, Reply.from_file(AUG_01), query={"fdate": "01.08.2026"})
    request = make_request(
        "nbk", base_url=replay_server.url + "/rss",
        since={("usd_fx_rate", "KAZ"): dt.date(2026, 8, 1)}, now=dt.datetime(2026, 8, 2, 7),
    )
    frame = NbkFetcher().fetch(request, make_test_session()).observations
    assert list(frame["period"].dt.date) == [dt.date(2026, 8, 1)]


def test_second_refresh_with_nothing_new_is_one_conditional_request(
    replay_server: ReplayServer,
) -> None:
    path = "/rss/get_rates.cfm"
    replay_server.add(path, Reply(304, b""), query={"fdate": "01.08.2026"})
    request = make_request(
        "nbk", base_url=replay_server.url + "/rss",
        since={("usd_fx_rate", "KAZ"): dt.date(2026, 8, 1)},
        validators={"get_rates.cfm?fdate=01.08.2026": HttpValidator('"aug01"', None)},
        now=dt.datetime(2026, 8, 1, 9),
    )
    result = NbkFetcher().fetch(request, make_test_session())
    assert result.not_modified
    assert result.observations.empty
    assert result.requests_made == 1
    (logged,) = replay_server.matching(path)
    assert logged.headers.get("If-None-Match") == '"aug01"'


@pytest.mark.parametrize(
    "reply", [html_page(), truncated(AUG_01.read_bytes(), content_type="text/xml")]
)
def test_a_bad_body_fails_the_whole_run(replay_server: ReplayServer, reply: Reply) -> None:
    _serve_window(replay_server)
    replay_server.add("/rss/get_rates.cfm", reply, query={"fdate": "31.07.2026"})
    request = make_request(
        "nbk", base_url=replay_server.url + "/rss",
        since={("usd_fx_rate", "KAZ"): dt.date(2026, 7, 31)}, now=dt.datetime(2026, 8, 1, 7),
    )
    with pytest.raises(BadPayload) as caught:
        NbkFetcher().fetch(request, make_test_session())
    assert str(caught.value).startswith("nbk: ")


def test_a_persistently_bad_body_stops_at_the_first_date(replay_server: ReplayServer) -> None:
    # Every date answers a cut-off copy of a recorded document (a synthetic fault); a 45-day
    # backfill must not cost 45 requests.
    replay_server.add("/rss/get_rates.cfm", truncated(AUG_01.read_bytes(), content_type="text/xml"))
    request = make_request(
        "nbk", base_url=replay_server.url + "/rss", since={}, now=dt.datetime(2026, 8, 1, 7),
    )
    with pytest.raises(BadPayload) as caught:
        NbkFetcher().fetch(request, make_test_session())
    assert replay_server.count("/rss/get_rates.cfm") == 1
    assert "stopped after 1 of 45 request(s)" in str(caught.value)
    assert caught.value.kind == "truncated"
