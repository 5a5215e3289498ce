"""GDELT fetcher: export zips from real 1.0 rows, independent pandas counts, the recount window."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from fetchers.base import FetchRequest, HttpValidator
from fetchers.errors import BadPayload, RateLimited
from fetchers.gdelt import (
    GDELT1_DAILY,
    GDELT2_15MIN,
    CountWindow,
    GdeltFetcher,
    aggregate_counts,
    count_events,
    parse_lastupdate,
    quarter_hour_stamps,
    recount_start,
    root_codes,
)
from tests.fetchers.conftest import FIXTURES
from tests.fetchers.request_builder import FakeClock, make_request, make_test_session
from tests.support.replay_server import ReplayServer, Reply, rate_limited, truncated

GDELT = FIXTURES / "gdelt"
SAMPLE = GDELT / "gdelt1_events_sample_20130203-20160728.tsv"
RATE_LIMIT_BODY = (GDELT / "rate_limited_body.REAL.txt").read_bytes()
DATA = Path(__file__).resolve().parents[2] / "fetchers" / "data"
FIPS = json.loads((DATA / "fips_countries.json").read_text())
# The corrections override the third-party table (read here independently of the fetcher).
CORRECTIONS = pd.read_csv(DATA / "fips_corrections.csv", dtype=str, keep_default_na=False)
ISO3_OF = {fips: entry["iso3"] for fips, entry in FIPS.items() if entry["iso3"]} | dict(
    zip(CORRECTIONS["fips"], CORRECTIONS["iso3"], strict=True)
)
WATCHED = ("KAZ", "KGZ", "UZB", "TJK", "TKM", "RUS", "AZE", "MNG", "IRN", "NGA", "ECU")


def _zip(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, text)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def daily_zip() -> bytes:
    """The real sample rows zipped as GDELT names its daily file (a real file, only zipped)."""
    return _zip("20160728.export.CSV", SAMPLE.read_text(encoding="utf-8"))


def _as_gdelt2_rows() -> str:
    """CONSTRUCTED: the real 58-column rows in the documented 61-column 2.0 layout."""
    lines = []
    for line in SAMPLE.read_text(encoding="utf-8").splitlines():
        cells = line.split("\t")
        if len(cells) != 58:
            continue
        # Insert an empty *Geo_ADM2Code after each *Geo_ADM1Code (1.0 columns 38, 45, 52).
        for adm1 in (52, 45, 38):
            cells.insert(adm1 + 1, "")
        cells[59] = cells[59] + "001500"  # DATEADDED YYYYMMDD → YYYYMMDDHHMMSS
        lines.append("\t".join(cells))
    return "\n".join(lines) + "\n"


def _raw_events(min_width: int = 0) -> pd.DataFrame:
    """The raw TSV's mapped events: `iso3`, SQLDATE `day`, DATEADDED `added`, `root` (pandas)."""
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    widths = pd.Series([line.count("\t") + 1 for line in lines])
    raw = pd.read_csv(SAMPLE, sep="\t", header=None, dtype=str, names=range(58), quoting=3,
                      keep_default_na=False)
    raw = raw[(widths >= min_width).to_numpy()]
    iso3 = raw[51].map(ISO3_OF)
    raw = raw.assign(iso3=iso3, root=raw[28]).dropna(subset=["iso3"])
    raw["day"] = pd.to_datetime(raw[1], format="%Y%m%d").dt.date
    raw["added"] = pd.to_datetime(raw[56], format="%Y%m%d").dt.date
    return raw[["iso3", "day", "added", "root"]]


def _independent_counts(min_width: int = 0) -> pd.DataFrame:
    """Counts by ISO3, SQLDATE and root code (`root`), computed with pandas on the raw TSV."""
    raw = _raw_events(min_width)
    return raw.groupby(["iso3", "day", "root"]).size().rename("events").reset_index()


def test_daily_zip_counts_match_an_independent_pandas_count(daily_zip: bytes) -> None:
    counted = count_events(daily_zip, GDELT1_DAILY, "20160728")
    expected = _independent_counts()
    assert counted.rows == len(SAMPLE.read_text().splitlines()) == 710
    assert counted.malformed == 0
    assert dict(counted.counts) == {
        (row.iso3, row.day, row.root): row.events for row in expected.itertuples(index=False)
    }
    assert counted.unmapped == counted.rows - int(expected["events"].sum())
    assert counted.counts[("KAZ", dt.date(2016, 7, 28), "04")] == 1  # the Pavlodar row


def test_the_2_0_layout_reads_the_country_from_column_53() -> None:
    body = _zip("20160728001500.export.CSV", _as_gdelt2_rows())
    counted = count_events(body, GDELT2_15MIN, "20160728001500")
    expected = _independent_counts(min_width=58)
    assert counted.malformed == 0 and counted.rows == 509
    assert dict(counted.counts) == {
        (row.iso3, row.day, row.root): row.events for row in expected.itertuples(index=False)
    }


def test_reading_a_1_0_file_as_2_0_is_a_changed_schema(daily_zip: bytes) -> None:
    with pytest.raises(BadPayload) as caught:
        count_events(daily_zip, GDELT2_15MIN, "20160728")
    assert caught.value.kind == "schema"


@pytest.mark.parametrize(
    ("body", "error", "kind"),
    [
        (RATE_LIMIT_BODY, RateLimited, None),
        (b"<!DOCTYPE html><html><title>Not here</title></html>", BadPayload, "html"),
        (b"", BadPayload, "empty"),
        (b"20160728\t1\t2\n", BadPayload, "invalid"),
    ],
)
def test_what_is_not_a_zip_is_rejected_before_unzipping(
    body: bytes, error: type[Exception], kind: str | None
) -> None:
    with pytest.raises(error) as caught:
        count_events(body, GDELT1_DAILY, "20160728")
    if kind is not None:
        assert getattr(caught.value, "kind", None) == kind


def test_a_truncated_zip_is_reported_as_truncated(daily_zip: bytes) -> None:
    with pytest.raises(BadPayload) as caught:
        count_events(daily_zip[: len(daily_zip) // 2], GDELT1_DAILY, "20160728")
    assert caught.value.kind == "truncated"


def test_root_codes_and_lastupdate_parsing() -> None:
    assert root_codes("root:14") == frozenset({"14"})
    assert root_codes("root:18,19,20") == frozenset({"18", "19", "20"})
    assert root_codes("all") is None
    with pytest.raises(ValueError):
        root_codes("14")
    # SYNTHETIC lastupdate.txt in the documented `size md5 url` format.
    listing = (
        "52713 8f1b5c2d0c6a1e6d3f5a7b9c0d1e2f3a http://data.gdeltproject.org/gdeltv2/"
        "20220105101500.export.CSV.zip\n"
        "71250 0a1b2c3d4e5f60718293a4b5c6d7e8f9 http://data.gdeltproject.org/gdeltv2/"
        "20220105101500.mentions.CSV.zip\n"
    )
    assert parse_lastupdate(listing) == "20220105101500"
    with pytest.raises(RateLimited):
        parse_lastupdate(RATE_LIMIT_BODY.decode())
    with pytest.raises(BadPayload):
        parse_lastupdate("nothing here")


def test_recount_window_starts_at_a_month() -> None:
    today = dt.date(2022, 1, 20)
    assert recount_start(dt.date(2022, 1, 1), today, "daily") == dt.date(2022, 1, 1)
    assert recount_start(dt.date(2021, 11, 1), today, "daily") == dt.date(2021, 11, 1)
    assert recount_start(None, today, "daily") == dt.date(2021, 12, 1)
    assert recount_start(None, today, "15min") == dt.date(2022, 1, 1)
    stamps = quarter_hour_stamps(dt.date(2022, 1, 1), "20220101004500")
    assert stamps == ["20220101000000", "20220101001500", "20220101003000", "20220101004500"]


def test_aggregation_by_sqldate_month_with_zero_fill(daily_zip: bytes) -> None:
    counted = count_events(daily_zip, GDELT1_DAILY, "20160728")
    window = CountWindow("daily", dt.date(2016, 7, 1), (counted,), reached_newest=True)
    request = make_request("gdelt", countries=("USA", "KAZ", "KGZ"))
    frame = aggregate_counts(window, request.indicators, request.countries, request.now)

    expected = _independent_counts()
    in_window = (expected["day"] >= dt.date(2016, 7, 1)) & (expected["day"] <= dt.date(2016, 7, 28))
    july = expected[in_window]
    monthly = frame[frame["indicator"] == "protest_events"].set_index("country")["value"]
    for country in ("USA", "KAZ", "KGZ"):
        mine = july[(july["iso3"] == country) & (july["root"] == "14")]["events"].sum()
        assert monthly[country] == mine  # KGZ has no event: a real zero, not a missing value
    assert monthly["KGZ"] == 0
    conflict = frame[frame["indicator"] == "conflict_events"].set_index("country")["value"]
    usa_conflict = july[(july["iso3"] == "USA") & july["root"].isin(["18", "19", "20"])]
    assert conflict["USA"] == usa_conflict["events"].sum()
    # Events dated before the window (the 1982 re-reports) never count.
    assert frame["period"].min() >= pd.Timestamp("2016-07-01")


def test_daily_counts_go_to_the_report_day_and_skip_retrospective_mentions(
    daily_zip: bytes,
) -> None:
    counted = count_events(daily_zip, GDELT1_DAILY, "20160728")
    window = CountWindow("daily", dt.date(2016, 7, 1), (counted,), reached_newest=True)
    request = make_request("gdelt", countries=("USA", "IND", "ISR", "KGZ"))
    frame = aggregate_counts(window, request.indicators, request.countries, request.now)

    raw = _raw_events()
    # The file's own rows (the sample's 2013 rows sit in it too; the fetcher cannot tell them
    # apart, and their 1982 SQLDATEs are retrospective): SQLDATE 26–28 July.
    recent = raw[(raw["day"] >= dt.date(2016, 7, 26)) & (raw["day"] <= dt.date(2016, 7, 28))]
    assert len(raw[raw["day"] == dt.date(2016, 7, 21)]) > 0  # a week-old mention, left out
    daily = frame[frame["indicator"] == "gdelt_total_events"]
    assert set(daily["period"]) == {pd.Timestamp("2016-07-28")}  # only the day whose file was read
    by_country = daily.set_index("country")["value"]
    for country in ("USA", "IND", "ISR", "KGZ"):
        assert by_country[country] == (recent["iso3"] == country).sum()
    assert by_country["KGZ"] == 0  # covered by GDELT, no event that day: a real zero
    protests = frame[frame["indicator"] == "protest_events_daily"].set_index("country")["value"]
    # Root 14 includes the riot code 145 (one of Israel's two protest rows that day).
    assert protests["ISR"] == ((recent["iso3"] == "ISR") & (recent["root"] == "14")).sum() == 2
    assert protests["IND"] == 2 and protests["USA"] == 0


def test_a_month_cut_short_by_the_file_limit_is_not_stored(daily_zip: bytes) -> None:
    counted = count_events(daily_zip, GDELT1_DAILY, "20160728")
    window = CountWindow("daily", dt.date(2016, 7, 1), (counted,), reached_newest=False)
    request = make_request("gdelt", countries=("USA",))
    frame = aggregate_counts(window, request.indicators, request.countries, request.now)
    assert (frame["indicator"] == "protest_events").sum() == 0
    assert (frame["indicator"] == "gdelt_total_events").sum() == 1


def _daily_routes(server: ReplayServer, body: bytes) -> None:
    server.add(re.compile(r"/events/\d{8}\.export\.CSV\.zip"),
               Reply(404, b"not found", content_type="text/plain"))
    server.add("/events/20160728.export.CSV.zip", Reply(200, body, content_type="application/zip"))


def _july_request(server: ReplayServer, **kwargs: Any) -> FetchRequest:
    since = {(indicator, country): dt.date(2016, 7, 1)
             for indicator in ("protest_events", "conflict_events") for country in WATCHED}
    return make_request(
        "gdelt", events_url=server.url + "/gdeltv2", countries=WATCHED, since=since,
        now=dt.datetime(2016, 7, 29, 9, 0), **kwargs,
    )


def test_daily_run_recounts_the_month_and_keeps_gdelt_pace(
    replay_server: ReplayServer, daily_zip: bytes
) -> None:
    _daily_routes(replay_server, daily_zip)
    clock = FakeClock()
    session = make_test_session(min_interval_seconds=5.0, clock=clock)
    result = GdeltFetcher().fetch(_july_request(replay_server), session)

    asked = [item.path for item in replay_server.requests]
    assert asked[0] == "/events/20160701.export.CSV.zip"
    assert asked[-1] == "/events/20160728.export.CSV.zip" and len(asked) == 28
    assert result.requests_made == 28
    # 27 pauses of 5 s between 28 requests, on the fake clock: GDELT's pace, no real sleep.
    assert clock.sleeps == [5.0] * 27
    assert any("27 export file(s) missing" in note for note in result.warnings)
    frame = result.observations
    kaz_total = frame[(frame["indicator"] == "gdelt_total_events") & (frame["country"] == "KAZ")]
    assert list(kaz_total["value"]) == [1.0]
    assert set(frame[frame["indicator"] == "protest_events"]["period"]) == {
        pd.Timestamp("2016-07-01")
    }
    assert result.validators["cursor:daily"] == HttpValidator("20160728", None)


def test_no_new_daily_file_costs_one_request(replay_server: ReplayServer, daily_zip: bytes) -> None:
    _daily_routes(replay_server, daily_zip)
    request = _july_request(
        replay_server, validators={"cursor:daily": HttpValidator("20160727", None)}
    )
    # 20160728 is served: the probe finds it, then the month is recounted (probe reused).
    result = GdeltFetcher().fetch(request, make_test_session())
    assert replay_server.count("/events/20160728.export.CSV.zip") == 1
    assert not result.not_modified

    replay_server.reset_log()
    later = make_request(
        "gdelt", events_url=replay_server.url + "/gdeltv2", countries=WATCHED,
        since=request.since, validators={"cursor:daily": HttpValidator("20160728", None)},
        now=dt.datetime(2016, 7, 30, 5, 0),  # 20160729 is not out yet
    )
    second = GdeltFetcher().fetch(later, make_test_session())
    assert second.not_modified and second.observations.empty
    assert [item.path for item in replay_server.requests] == ["/events/20160729.export.CSV.zip"]

    replay_server.reset_log()
    same_day = make_request(
        "gdelt", events_url=replay_server.url + "/gdeltv2", countries=WATCHED,
        since=request.since, validators={"cursor:daily": HttpValidator("20160728", None)},
        now=dt.datetime(2016, 7, 29, 12, 0),
    )
    assert GdeltFetcher().fetch(same_day, make_test_session()).not_modified
    assert replay_server.requests == []


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, RATE_LIMIT_BODY, content_type="text/plain"),  # GDELT's HTTP-200 variant
        rate_limited("0"),
    ],
)
def test_the_rate_limit_text_or_a_429_is_rate_limited(
    replay_server: ReplayServer, daily_zip: bytes, reply: Reply
) -> None:
    _daily_routes(replay_server, daily_zip)
    replay_server.add("/events/20160728.export.CSV.zip", reply)
    with pytest.raises(RateLimited) as caught:
        GdeltFetcher().fetch(_july_request(replay_server), make_test_session())
    assert str(caught.value).startswith("gdelt: ")


def test_a_truncated_download_fails_the_run(replay_server: ReplayServer, daily_zip: bytes) -> None:
    _daily_routes(replay_server, daily_zip)
    replay_server.add("/events/20160728.export.CSV.zip",
                      truncated(daily_zip, content_type="application/zip"))
    with pytest.raises(BadPayload):
        GdeltFetcher().fetch(_july_request(replay_server), make_test_session())


@pytest.mark.slow
def test_15_minute_variant_discovers_files_through_lastupdate(replay_server: ReplayServer) -> None:
    body = _zip("20160728001500.export.CSV", _as_gdelt2_rows())
    listing = (  # SYNTHETIC lastupdate.txt
        f"{len(body)} 0123456789abcdef0123456789abcdef "
        f"{replay_server.url}/gdeltv2/20160728003000.export.CSV.zip\n"
    ).encode()
    replay_server.add("/gdeltv2/lastupdate.txt",
                      Reply(200, listing, {"ETag": '"lu1"'}, "text/plain"))
    replay_server.add(re.compile(r"/gdeltv2/\d{14}\.export\.CSV\.zip"), Reply(404, b"no"))
    replay_server.add("/gdeltv2/20160728001500.export.CSV.zip",
                      Reply(200, body, content_type="application/zip"))
    since = {(indicator, country): dt.date(2016, 7, 1)
             for indicator in ("protest_events", "conflict_events") for country in WATCHED}
    request = make_request(
        "gdelt", events_url=replay_server.url + "/gdeltv2", countries=("USA", "KAZ"),
        since={key: value for key, value in since.items() if key[1] in ("USA", "KAZ")}
        | {("protest_events", "USA"): dt.date(2016, 7, 1),
           ("conflict_events", "USA"): dt.date(2016, 7, 1)},
        events_variant="15min", max_files_per_run=5000, now=dt.datetime(2016, 7, 28, 0, 40),
    )
    result = GdeltFetcher().fetch(request, make_test_session())
    file_requests = replay_server.count(re.compile(r"/gdeltv2/\d{14}\.export\.CSV\.zip"))
    assert file_requests == 27 * 96 + 3  # 1 July 00:00 → 28 July 00:30, every 15 minutes
    assert result.validators["lastupdate.txt"] == HttpValidator('"lu1"', None)
    assert result.validators["cursor:15min"] == HttpValidator("20160728001500", None)
    expected = _independent_counts(min_width=58)
    kaz = expected[(expected["iso3"] == "KAZ") & (expected["day"] == dt.date(2016, 7, 28))]
    frame = result.observations
    total = frame[(frame["indicator"] == "gdelt_total_events") & (frame["country"] == "KAZ")]
    assert total.empty  # 28 July is counted through 00:15 only: no partial day is stored
    assert kaz["events"].sum() > 0

    replay_server.reset_log()
    replay_server.add("/gdeltv2/lastupdate.txt", Reply(304, b""))
    again = make_request(
        "gdelt", events_url=replay_server.url + "/gdeltv2", countries=("USA", "KAZ"),
        events_variant="15min", validators=result.validators,
        now=dt.datetime(2016, 7, 28, 0, 50),
    )
    second = GdeltFetcher().fetch(again, make_test_session())
    assert second.not_modified and len(replay_server.requests) == 1


def test_a_day_gdelt_never_published_does_not_stall_the_source(
    replay_server: ReplayServer, daily_zip: bytes
) -> None:
    # 27 July is missing upstream for good; the cursor stopped at 26 July. The probe asks for
    # the newest file (28 July), finds it, and the month is recounted around the gap.
    _daily_routes(replay_server, daily_zip)
    request = _july_request(
        replay_server, validators={"cursor:daily": HttpValidator("20160726", None)}
    )
    result = GdeltFetcher().fetch(request, make_test_session())
    assert not result.not_modified
    assert replay_server.requests[0].path == "/events/20160728.export.CSV.zip"
    assert result.validators["cursor:daily"] == HttpValidator("20160728", None)
    assert any("27 export file(s) missing" in note for note in result.warnings)  # 1–27 July


def test_a_month_to_date_count_is_published_only_when_the_month_is_over(daily_zip: bytes) -> None:
    request = make_request("gdelt", countries=("USA", "IND"))
    lag = {item.id: item.publication_lag_days for item in request.indicators}
    running = CountWindow("daily", dt.date(2016, 7, 1),
                          (count_events(daily_zip, GDELT1_DAILY, "20160728"),), reached_newest=True)
    frame = aggregate_counts(running, request.indicators, request.countries, request.now)
    monthly = frame[frame["indicator"] == "protest_events"]
    # Stored (the store keeps the newest count), but not visible before 31 July + the lag:
    # 28 days compared with whole months would read as a quiet month.
    assert set(monthly["published_at"]) == {
        pd.Timestamp("2016-07-31") + pd.Timedelta(days=lag["protest_events"])
    }
    assert frame[frame["indicator"] == "protest_events_daily"]["published_at"].isna().all()
    # The same rows in the file of 31 July: the month is complete, publication is estimated.
    complete = CountWindow("daily", dt.date(2016, 7, 1),
                           (count_events(daily_zip, GDELT1_DAILY, "20160731"),),
                           reached_newest=True)
    done = aggregate_counts(complete, request.indicators, request.countries, request.now)
    assert done[done["indicator"] == "protest_events"]["published_at"].isna().all()


def test_a_15_minute_day_is_stored_once_its_2345_file_is_counted() -> None:
    body = _zip("20160728234500.export.CSV", _as_gdelt2_rows())  # CONSTRUCTED 2.0 layout
    request = make_request("gdelt", countries=("USA", "IND"))
    raw = _raw_events(min_width=58)
    recent = raw[(raw["day"] >= dt.date(2016, 7, 26)) & (raw["day"] <= dt.date(2016, 7, 28))]
    for stamp, stored in (("20160728234500", True), ("20160728233000", False)):
        window = CountWindow("15min", dt.date(2016, 7, 1),
                             (count_events(body, GDELT2_15MIN, stamp),), reached_newest=True)
        frame = aggregate_counts(window, request.indicators, request.countries, request.now)
        daily = frame[frame["indicator"] == "protest_events_daily"].set_index("country")["value"]
        if not stored:
            assert daily.empty
            continue
        assert daily["IND"] == ((recent["iso3"] == "IND") & (recent["root"] == "14")).sum() == 2
