"""EU Weekly Oil Bulletin: both layouts, the currency trap, and runs against the loopback server."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io

import pytest
from openpyxl import Workbook

from fetchers.base import FetchRequest, HttpValidator
from fetchers.errors import BadPayload
from fetchers.eu_oil_bulletin import (
    EuOilBulletinFetcher,
    parse_bulletin,
    parse_history_workbook,
    parse_raw_table_csv,
)
from flashpoint.config import load_config
from tests.fetchers.conftest import FIXTURES
from tests.fetchers.request_builder import make_request, make_test_session
from tests.support.replay_server import ReplayServer, Reply

RAW = FIXTURES / "eu_oil_bulletin" / "wob_raw_2022-06-06_2022-06-13.csv"
PATH = "/document/download/history.xlsx"
FUELS = {
    "Euro-super 95": "fuel_gasoline_retail",
    "Automotive gas oil": "fuel_diesel_retail",
    "LPG - motor fuel": "fuel_lpg_retail",
    "Heating gas oil": "fuel_heating_oil_retail",
}


def _raw_rows() -> list[dict[str, str]]:
    with RAW.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _request(base_url: str, **kwargs: object) -> FetchRequest:
    """The source's request with every fuel id it serves (the C1 ids are catalogued elsewhere)."""
    request = make_request("eu_oil_bulletin", base_url=base_url, **kwargs)  # type: ignore[arg-type]
    catalogue = load_config(None).catalogue()
    served = tuple(
        item for item in catalogue.indicators if item.id in EuOilBulletinFetcher.also_serves
    )
    return dataclasses.replace(request, indicators=served)


def test_raw_table_prices_are_eur_per_litre_whatever_the_currency_column_says() -> None:
    rows = parse_raw_table_csv(RAW.read_bytes())
    by_key = {(country, indicator, day): value for country, indicator, day, value in rows}
    # The PROVENANCE trap: Poland's row says PLN, the price is EUR per 1000 l.
    assert by_key[("POL", "fuel_diesel_retail", dt.date(2022, 6, 13))] == pytest.approx(1.61732)
    assert by_key[("AUT", "fuel_gasoline_retail", dt.date(2022, 6, 6))] == pytest.approx(1.988)
    # Every 1000L row of the four fuels, and nothing else (fuel oil per tonne is not read).
    expected = {
        (row["Country EU Code"], FUELS[row["Product Name"]], row["Prices in force on"],
         float(row["Weekly price with taxes"]) / 1000)
        for row in _raw_rows()
        if row["Product Name"] in FUELS and row["Weekly price with taxes"].strip()
    }
    assert len(rows) == len(expected)
    wanted = sorted(item[3] for item in expected)
    assert sorted(value for *_, value in rows) == pytest.approx(wanted)
    assert len({country for country, *_ in rows}) == 27  # EU-27 (no UK after 2020)
    assert "GRC" in {country for country, *_ in rows}


def test_a_missing_price_is_no_row_never_zero() -> None:
    text = RAW.read_text(encoding="utf-8")
    header, first, *rest = text.splitlines(keepends=True)
    cells = first.rstrip("\n").split(",")
    cells[7] = ""  # SYNTHETIC: the first row's price blanked
    body = (header + ",".join(cells) + "\n" + "".join(rest)).encode()
    rows = parse_raw_table_csv(body)
    assert ("AUT", "fuel_diesel_retail", dt.date(2022, 6, 6)) not in {row[:3] for row in rows}
    assert all(value > 0 for *_, value in rows)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"", "empty"),
        (RAW.read_bytes()[:5000], "truncated"),
        (b"date,country,price\n2022-06-13,AT,1.0\n", "schema"),  # SYNTHETIC: other columns
    ],
)
def test_broken_tables_are_bad_payloads(body: bytes, kind: str) -> None:
    with pytest.raises(BadPayload) as caught:
        parse_bulletin(body)
    assert caught.value.kind == kind


def _history_workbook(rows: list[dict[str, str]]) -> bytes:
    """SYNTHETIC container: the history workbook's documented layout, real values inside."""
    codes = sorted({row["Country EU Code"] for row in rows})
    slugs = {"Euro-super 95": "euro95", "Automotive gas oil": "diesel",
             "Heating gas oil": "heating_oil", "LPG - motor fuel": "LPG"}
    header: list[object] = ["Consumer prices of petroleum products inclusive of duties and taxes"]
    for code in ["EU", *codes]:
        header.append("CTR")
        header.extend(f"{code}_price_with_tax_{slug}" for slug in slugs.values())
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Prices with taxes"
    sheet.append(header)
    sheet.append(["", "", "Euro-super 95 (I)"])
    sheet.append(["Date", "", "1000 l"])
    for day in sorted({row["Prices in force on"] for row in rows}, reverse=True):
        line: list[object] = [dt.datetime.fromisoformat(day)]
        for code in ["EU", *codes]:
            line.append(f"{code}_")
            for product in slugs:
                if code == "EU":
                    line.append(999.0)  # the EU average block, which must be skipped
                    continue
                match = [row for row in rows if row["Prices in force on"] == day
                         and row["Country EU Code"] == code and row["Product Name"] == product]
                line.append(float(match[0]["Weekly price with taxes"]) if match else None)
        sheet.append(line)
    sheet.append([None, "EU - European Union"])  # a legend row at the bottom
    book.create_sheet("Prices wo taxes")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_history_workbook_gives_the_same_prices_as_the_raw_table() -> None:
    rows = _raw_rows()
    body = _history_workbook(rows)
    from_workbook = parse_history_workbook(body)
    from_table = parse_raw_table_csv(RAW.read_bytes())
    def rounded(rows: list[tuple[str, str, dt.date, float]]) -> set[tuple[object, ...]]:
        return {(country, indicator, day, round(value, 6)) for country, indicator, day, value
                in rows}

    assert rounded(from_workbook) == rounded(from_table)
    assert len(from_workbook) == len(from_table)
    # The EU aggregate block (999.0) is skipped.
    assert all(value != pytest.approx(0.999) for *_, value in from_workbook)
    with pytest.raises(BadPayload) as caught:
        parse_bulletin(body[: len(body) // 2])
    assert caught.value.kind == "truncated"


def test_run_stores_every_country_and_fuel_and_keeps_the_validator(
    replay_server: ReplayServer,
) -> None:
    replay_server.add(PATH, Reply.from_file(RAW, headers={"ETag": '"wob-1"'},
                                            content_type="text/csv"))
    request = _request(replay_server.url + PATH, countries=("KAZ",))
    result = EuOilBulletinFetcher().fetch(request, make_test_session())
    frame = result.observations
    assert result.requests_made == 1
    assert set(frame["indicator"]) == set(FUELS.values())
    assert frame["country"].nunique() == 27  # the whole file, watched or not
    assert set(frame["unit"]) == {"EUR/litre"} and set(frame["source"]) == {"eu_oil_bulletin"}
    poland = frame[(frame["country"] == "POL") & (frame["indicator"] == "fuel_lpg_retail")]
    assert dict(zip(poland["period"].dt.date, poland["value"], strict=True)) == pytest.approx(
        {dt.date(2022, 6, 13): 0.76984, dt.date(2022, 6, 6): 0.78415}
    )
    assert result.validators == {"history": HttpValidator('"wob-1"', None)}


def test_an_unchanged_file_costs_one_conditional_request(replay_server: ReplayServer) -> None:
    replay_server.add(PATH, Reply(304, b""))
    request = _request(replay_server.url + PATH,
                       validators={"history": HttpValidator('"wob-1"', None)})
    result = EuOilBulletinFetcher().fetch(request, make_test_session())
    (logged,) = replay_server.matching(PATH)
    assert logged.headers.get("If-None-Match") == '"wob-1"'
    assert result.not_modified and result.observations.empty and result.requests_made == 1
