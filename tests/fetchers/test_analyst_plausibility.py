"""Analyst CSV imports check plausibility: catalogue ranges (prices > 0, shares 0-100), no period
after today unless a forecast, ASCII digits only; each rejection names the row and the column.

The CSV bodies are synthetic fault cases (small hand-written files), labelled as such."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from fetchers.analyst_csv import parse_analyst_csv, read_analyst_csv
from fetchers.analyst_rows import plausible_range
from fetchers.errors import ImportFileError
from flashpoint.config import Settings

TODAY = dt.date(2026, 6, 15)
HEADER = "indicator,country,period,value,unit"


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings()


def parse(settings: Settings, *rows: str, header: str = HEADER) -> object:
    text = "\n".join((header, *rows)) + "\n"
    return parse_analyst_csv(text, settings, file="synthetic.csv", today=TODAY)


@pytest.mark.parametrize(
    ("row", "column", "fragment"),
    [
        ("fuel_lpg_retail,KAZ,2022-01-04,-55,KZT/litre", "value", "must be > 0"),
        ("fuel_lpg_retail,KAZ,2022-01-04,0,KZT/litre", "value", "must be > 0"),
        ("brent_price,WLD,2022-01-04,-3,USD/bbl", "value", "must be > 0"),
        ("unemployment,KAZ,2021,104.5,%", "value", "must be <= 100"),
        ("unemployment,KAZ,2021,-1,%", "value", "must be >= 0"),
        ("gini,KAZ,2021,101,index", "value", "must be <= 100"),
        ("protest_events,KAZ,2022-01,-4,events/month", "value", "must be >= 0"),
        ("fuel_lpg_retail,KAZ,2099-01-04,55,KZT/litre", "period", "after today (2026-06-15)"),
        ("unemployment,KAZ,2027,4.8,%", "period", "after today"),
        ("fuel_lpg_retail,KAZ,2022-01-04,1_3_0,KZT/litre", "value", "not a number"),
        ("fuel_lpg_retail,KAZ,2022-01-04,١٢٠,KZT/litre", "value", "not a number"),
        ("fuel_lpg_retail,KAZ,٢٠٢٢-01-04,120,KZT/litre", "period", "not a date"),
        ("fuel_lpg_retail,KAZ,2022-01-04,nan,KZT/litre", "value", "not a number"),
        ("fuel_lpg_retail,KAZ,2022-01-04,infinity,KZT/litre", "value", "not a number"),
    ],
)
def test_implausible_rows_are_named_by_row_and_column(
    settings: Settings, row: str, column: str, fragment: str
) -> None:
    good = "fuel_lpg_retail,KAZ,2022-01-01,55,KZT/litre"
    with pytest.raises(ImportFileError) as caught:
        parse(settings, good, row)
    message = str(caught.value)
    assert message.startswith(f"synthetic.csv: row 3, column {column}: "), message
    assert fragment in message
    assert "nothing was imported" in message


def test_plausible_values_pass(settings: Settings) -> None:
    parsed = parse(
        settings,
        "fuel_lpg_retail,KAZ,2022-01-04,120,KZT/litre",
        "unemployment,KAZ,2021,0,%",
        "unemployment,KAZ,2020,100,%",
        "cpi_inflation,KAZ,2022,-1.5,%",  # inflation may be negative: no range in the catalogue
        "protest_events,KAZ,2022-01,0,events/month",
        f"fuel_lpg_retail,KAZ,{TODAY.isoformat()},121,KZT/litre",  # today itself is fine
    )
    frame = parsed.observations  # type: ignore[attr-defined]
    assert len(frame) == 6
    assert not frame["is_forecast"].any()


def test_a_forecast_may_be_in_the_future_and_stays_flagged(settings: Settings) -> None:
    parsed = parse(
        settings,
        "unemployment,KAZ,2027,4.8,%,true",
        "unemployment,KAZ,2021,4.9,%,",
        header=HEADER + ",is_forecast",
    )
    frame = parsed.observations.sort_values("period")  # type: ignore[attr-defined]
    assert list(frame["is_forecast"]) == [False, True]
    with pytest.raises(ImportFileError, match=r"row 2, column is_forecast: 'maybe'"):
        parse(settings, "unemployment,KAZ,2027,4.8,%,maybe", header=HEADER + ",is_forecast")


def test_fuel_points_file_refuses_negative_prices_and_future_dates(settings: Settings) -> None:
    header = "date,region,fuel,unit,value_min,value_max,price_type,note,source_url"
    with pytest.raises(ImportFileError) as caught:
        parse(settings, "2022-01-04,Mangystau,LPG (autogas),KZT/litre,-5,55,retail,,",
              header=header)
    assert "row 2, column value_min: -5 is not a plausible price" in str(caught.value)
    with pytest.raises(ImportFileError) as caught:
        parse(settings, "2099-01-04,Mangystau,LPG (autogas),KZT/litre,50,55,retail,,",
              header=header)
    assert "row 2, column date: '2099-01-04' is after today" in str(caught.value)


def test_catalogue_ranges_come_from_the_config(settings: Settings) -> None:
    assert plausible_range(settings.indicator("unemployment")) == (0.0, True, 100.0)
    assert plausible_range(settings.indicator("fuel_lpg_retail")) == (0.0, False, None)
    assert plausible_range(settings.indicator("cpi_inflation")) == (None, True, None)
    # The pure catalogue carries the same range.
    (item,) = [i for i in settings.catalogue().indicators if i.id == "fuel_exports_share"]
    assert plausible_range(item) == (0.0, True, 100.0)


def test_a_latin1_file_names_the_row_and_column(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    body = (
        "indicator,country,period,value,unit,vintage,is_forecast,note\n"
        "fuel_lpg_retail,KAZ,2022-01-01,55,KZT/litre,,,ok\n"
        "fuel_lpg_retail,KAZ,2022-01-04,120,KZT/litre,,,Mangystau apr\u00e8s\n"
    )
    path.write_bytes(body.encode("latin-1"))
    with pytest.raises(ImportFileError) as caught:
        read_analyst_csv(path, settings, today=TODAY)
    assert str(caught.value).startswith(
        f"{path}: row 3, column note: byte 0xe8 is not UTF-8 text"
    )
