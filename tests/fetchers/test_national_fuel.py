"""Small national fuel fetchers (NZ MBIE, Malaysia, Brazil ANP) against recorded real bodies."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt

import pytest

from fetchers.base import BaseFetcher, FetchRequest, HttpValidator
from fetchers.brazil_anp import BrazilAnpFetcher
from fetchers.brazil_anp import parse_weekly_workbook as parse_brazil
from fetchers.errors import BadPayload
from fetchers.malaysia_fuelprice import MalaysiaFuelpriceFetcher, parse_fuelprice_csv
from fetchers.nz_mbie import NzMbieFetcher, parse_weekly_table
from flashpoint.config import load_config
from tests.fetchers.conftest import FIXTURES
from tests.fetchers.request_builder import make_request, make_test_session
from tests.support.replay_server import ReplayServer, Reply

NZ = FIXTURES / "nz_mbie" / "weekly-table.last10weeks.csv"
MY = FIXTURES / "malaysia_fuelprice" / "fuelprice.csv"


def _request(source: str, fetcher: type[BaseFetcher], url: str, **kwargs: object) -> FetchRequest:
    """The request with the generic fuel ids the source serves (catalogued elsewhere)."""
    request = make_request(source, base_url=url, **kwargs)  # type: ignore[arg-type]
    served = tuple(item for item in load_config(None).catalogue().indicators
                   if item.id in getattr(fetcher, "also_serves", ()))
    return dataclasses.replace(request, indicators=served)


def _records(path: str) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# --- NZ MBIE ------------------------------------------------------------------------------


def test_nz_board_prices_in_nzd_per_litre() -> None:
    rows = parse_weekly_table(NZ.read_bytes())
    expected = {
        ({"Regular Petrol": "fuel_gasoline_retail", "Diesel": "fuel_diesel_retail"}[row["Fuel"]],
         row["Date"], float(row["Value"]) / 100)
        for row in _records(str(NZ))
        if row["Variable"] == "Board price" and row["Fuel"] in ("Regular Petrol", "Diesel")
    }
    assert len(rows) == len(expected) == 20  # ten weeks × two fuels
    got = {(indicator, day.isoformat(), round(value, 9)) for indicator, day, value in rows}
    assert got == {(indicator, day, round(value, 9)) for indicator, day, value in expected}
    by_key = {(indicator, day): value for indicator, day, value in rows}
    assert by_key[("fuel_diesel_retail", dt.date(2026, 7, 17))] == pytest.approx(2.42980864)
    # Premium 95R, the adjusted (discounted) price and the tax breakdown are not read.
    assert {indicator for indicator, _, _ in rows} == {"fuel_gasoline_retail",
                                                        "fuel_diesel_retail"}


def test_nz_board_price_in_another_unit_is_a_changed_schema() -> None:
    text = NZ.read_text(encoding="utf-8").replace('"Board price",294.247112724619,"NZD c/L"',
                                                  '"Board price",2.94247112724619,"NZD/L"')
    with pytest.raises(BadPayload) as caught:  # SYNTHETIC: one unit changed
        parse_weekly_table(text.encode())
    assert caught.value.kind == "schema"


def test_nz_run_and_conditional_rerun(replay_server: ReplayServer) -> None:
    path = "/weekly-table.csv"
    replay_server.add(path, Reply.from_file(NZ, headers={"Last-Modified": "Fri, 17 Jul 2026"},
                                            content_type="text/csv"))
    request = _request("nz_mbie", NzMbieFetcher, replay_server.url + path)
    result = NzMbieFetcher().fetch(request, make_test_session())
    frame = result.observations
    assert result.requests_made == 1 and len(frame) == 20
    assert set(frame["country"]) == {"NZL"} and set(frame["unit"]) == {"NZD/litre"}
    assert result.validators == {"weekly-table.csv": HttpValidator(None, "Fri, 17 Jul 2026")}


def test_nz_unchanged_table_costs_one_conditional_request(replay_server: ReplayServer) -> None:
    path = "/weekly-table.csv"
    replay_server.add(path, Reply(304, b""))
    request = _request("nz_mbie", NzMbieFetcher, replay_server.url + path,
                       validators={"weekly-table.csv": HttpValidator(None, "Fri, 17 Jul 2026")})
    result = NzMbieFetcher().fetch(request, make_test_session())
    (logged,) = replay_server.matching(path)
    assert logged.headers.get("If-Modified-Since") == "Fri, 17 Jul 2026"
    assert result.not_modified and result.observations.empty


# --- Malaysia -----------------------------------------------------------------------------


def test_malaysia_levels_only_never_the_weekly_changes() -> None:
    rows = parse_fuelprice_csv(MY.read_bytes())
    levels = [row for row in _records(str(MY)) if row["series_type"] == "level"]
    assert len(levels) == 456
    assert len(rows) == sum(1 for row in levels for column in ("ron95", "diesel") if row[column])
    by_key = {(indicator, day): value for indicator, day, value in rows}
    assert by_key[("fuel_diesel_retail", dt.date(2026, 4, 9))] == 6.72
    assert by_key[("fuel_gasoline_retail", dt.date(2017, 3, 30))] == 2.13
    # The change_weekly rows (0.4, 0.7, float noise) would show as tiny "prices".
    assert min(value for _, _, value in rows) > 1.0


def test_malaysia_truncated_and_renamed_bodies_fail_clearly() -> None:
    body = MY.read_bytes()
    with pytest.raises(BadPayload) as caught:
        parse_fuelprice_csv(body[: len(body) // 2])
    assert caught.value.kind == "truncated"
    with pytest.raises(BadPayload) as caught:  # SYNTHETIC: a column renamed
        parse_fuelprice_csv(body.replace(b",ron95,", b",ron_95,", 1))
    assert caught.value.kind == "schema"


def test_malaysia_run_stores_mys_in_myr_per_litre(replay_server: ReplayServer) -> None:
    path = "/commodities/fuelprice.csv"
    replay_server.add(path, Reply.from_file(MY, headers={"ETag": '"my-1"'},
                                            content_type="text/csv"))
    request = _request("malaysia_fuelprice", MalaysiaFuelpriceFetcher, replay_server.url + path)
    result = MalaysiaFuelpriceFetcher().fetch(request, make_test_session())
    frame = result.observations
    assert result.requests_made == 1
    assert set(frame["country"]) == {"MYS"} and set(frame["unit"]) == {"MYR/litre"}
    assert set(frame["indicator"]) == {"fuel_gasoline_retail", "fuel_diesel_retail"}
    assert len(frame) == 912 and frame["period"].max() == dt.datetime(2026, 4, 9)
    assert result.validators == {"fuelprice.csv": HttpValidator('"my-1"', None)}


# --- Brazil ANP ---------------------------------------------------------------------------

ANP = FIXTURES / "brazil_anp" / "semanal-brasil-desde-2013.xlsx"


def test_anp_weekly_averages_with_lpg_per_kg() -> None:
    rows = parse_brazil(ANP.read_bytes())
    by_key = {(indicator, day): (value, unit) for indicator, day, value, unit in rows}
    # First survey week (30 Dec 2012 – 5 Jan 2013): gasoline 2.758 R$/l, GLP 40.113 R$/13 kg.
    assert by_key[("fuel_gasoline_retail", dt.date(2013, 1, 5))] == (2.758, "BRL/litre")
    value, unit = by_key[("fuel_lpg_retail", dt.date(2013, 1, 5))]
    assert value == pytest.approx(40.113 / 13) and unit == "BRL/kg"
    counts = {indicator: sum(1 for row in rows if row[0] == indicator)
              for indicator in ("fuel_gasoline_retail", "fuel_diesel_retail", "fuel_lpg_retail")}
    assert counts == {"fuel_gasoline_retail": 680, "fuel_diesel_retail": 680,
                      "fuel_lpg_retail": 679}
    assert all(value > 0 for _, _, value, _ in rows)


def test_anp_truncated_workbook_is_a_bad_payload() -> None:
    body = ANP.read_bytes()
    with pytest.raises(BadPayload) as caught:
        parse_brazil(body[: len(body) // 2])
    assert caught.value.kind == "truncated"


def test_anp_run_stores_bra(replay_server: ReplayServer) -> None:
    path = "/shlp/semanal/semanal-brasil-desde-2013.xlsx"
    replay_server.add(path, Reply.from_file(ANP, headers={"ETag": '"anp-1"'}))
    request = _request("brazil_anp", BrazilAnpFetcher, replay_server.url + path)
    result = BrazilAnpFetcher().fetch(request, make_test_session())
    frame = result.observations
    assert result.requests_made == 1 and len(frame) == 680 + 680 + 679
    assert set(frame["country"]) == {"BRA"}
    assert dict(frame.groupby("indicator")["unit"].first()) == {
        "fuel_diesel_retail": "BRL/litre", "fuel_gasoline_retail": "BRL/litre",
        "fuel_lpg_retail": "BRL/kg"}
    assert result.validators == {"semanal-brasil-desde-2013.xlsx": HttpValidator('"anp-1"', None)}
