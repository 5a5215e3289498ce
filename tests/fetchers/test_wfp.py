"""WFP fetcher: every layout on real recorded files, the national-value rules, and the HTTP path.

Expected values are recomputed in the tests from the fixture rows with the plain `csv` module
(independently of the fetcher's pandas parser), never typed in.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import re
import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from fetchers import REGISTRY
from fetchers.base import FetchRequest, HttpValidator
from fetchers.errors import BadPayload, HTTPStatusError
from fetchers.wfp import (
    DEFAULT_RESOURCES,
    VINTAGE_ACTUAL,
    VINTAGE_AGGREGATE,
    WfpFetcher,
    WfpFile,
    national_series,
    validator_key,
)
from fetchers.wfp_layouts import indicator_for, parse_market_prices, unit_size
from flashpoint.config import load_config
from indicators.catalogue import Indicator
from tests.fetchers.conftest import FIXTURES
from tests.fetchers.request_builder import make_request, make_test_session
from tests.support.replay_server import ReplayServer, Reply, server_error

WFP = FIXTURES / "wfp"
AFG = WFP / "wfp_food_prices_afg.fuel-and-staples.csv"
BGD = WFP / "wfp_food_prices_bgd.fuel-and-staples.csv"
ETH = WFP / "wfp_food_prices_eth.fuel-and-staples.csv"
GTM = WFP / "wfp_food_prices_gtm.fuel-and-staples.csv"
KEN = WFP / "wfp_food_prices_ken.fuel-and-staples.csv"
LKA = WFP / "wfp_food_prices_lka.fuel-and-staples.csv"
SOM = WFP / "wfp_food_prices_som.fuel-and-staples.csv"
PAK = WFP / "wfp_food_prices_pak.csv"
TUR = WFP / "wfp_food_prices_tur.csv"
LBN = WFP / "wfpvam_foodprices_LBN_2016-2021.fuel-and-staples.csv"
CAF = WFP / "wfp_food_prices_caf.fuel-and-staples.csv"
# An HDX dataset or resource id (a UUID).
HDX_ID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def served() -> list[Indicator]:
    """Every indicator the wfp fetcher serves in the default config."""
    catalogue = load_config(None).catalogue()
    serves = set(WfpFetcher.also_serves)
    return [item for item in catalogue.indicators if item.source == "wfp" or item.id in serves]


def wanted() -> dict[str, str]:
    """Catalogue id → unit of every indicator the wfp fetcher serves."""
    return {item.id: item.unit for item in served()}


def month_end_ids() -> set[str]:
    """The served ids that are not monthly (the fuel prices): dated at the month's end."""
    return {item.id for item in served() if item.frequency != "monthly"}


def wfp_request(base_url: str, countries: list[str], **kwargs: Any) -> FetchRequest:
    """A wfp request over the flat mirror layout, with the fuel ids it also serves."""
    request = make_request("wfp", base_url=base_url, **kwargs)
    catalogue = load_config(None).catalogue()
    serves = set(WfpFetcher.also_serves)
    indicators = tuple(item for item in catalogue.indicators
                       if item.source == "wfp" or item.id in serves)
    settings: Any = request.settings
    settings = settings.model_copy(update={"countries": countries, "resources": {}})
    return dataclasses.replace(request, indicators=indicators, settings=settings)


def rows(path: Path, *, delimiter: str = ",") -> list[dict[str, str]]:
    """The fixture's data rows with the stdlib csv reader (HXL row skipped)."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle, delimiter=delimiter)
                if not row.get("date", "").startswith("#")]


def month(text: str) -> dt.date:
    if "/" in text:
        parsed = dt.datetime.strptime(text, "%m/%d/%Y").date()
    else:
        parsed = dt.date.fromisoformat(text)
    return parsed.replace(day=1)


def series(frame: pd.DataFrame, indicator: str, vintage: str = VINTAGE_ACTUAL) -> pd.Series:
    """One stored series, indexed by the month it describes (its first day)."""
    chosen = frame[(frame["indicator"] == indicator) & (frame["vintage"] == vintage)]
    months = [day.replace(day=1) for day in chosen["period"].dt.date]
    return pd.Series(chosen["value"].to_numpy(), index=months).sort_index()


def expected_medians(selected: Iterable[dict[str, str]], *, size: float = 1.0,
                     date_field: str = "date", market_field: str = "market",
                     price_field: str = "price") -> dict[dt.date, float]:
    """Median over markets of each market's median price per month, per `size` units."""
    by_month: dict[dt.date, dict[str, list[float]]] = {}
    for row in selected:
        by_month.setdefault(month(row[date_field]), {}).setdefault(
            row[market_field], []).append(float(row[price_field]) / size)
    return {
        key: statistics.median(statistics.median(prices) for prices in markets.values())
        for key, markets in by_month.items()
    }


def national(path: Path, country: str) -> tuple[pd.DataFrame, list[str]]:
    result = national_series(parse_market_prices(path.read_bytes(), country=country),
                             country=country, wanted=wanted(), dated_at_month_end=month_end_ids())
    return result.observations, result.warnings


# -- commodity names and units -------------------------------------------------------------------

@pytest.mark.parametrize(
    ("commodity", "indicator"),
    [
        ("Fuel (diesel)", "fuel_diesel_retail"),
        ("Fuel (petrol-gasoline)", "fuel_gasoline_retail"),
        ("Fuel (petrol)", "fuel_gasoline_retail"),  # Bangladesh
        ("Fuel (Super Petrol)", "fuel_gasoline_retail"),  # Somalia
        ("Fuel (petrol-gasoline, 95 octane)", "fuel_gasoline_retail"),  # Lebanon VAM
        ("Fuel (kerosene)", "fuel_kerosene_retail"),
        ("Fuel (gas)", "fuel_lpg_retail"),
        ("Wheat flour (high quality)", "food_price_wheat_flour"),
        ("Wheat", "food_price_wheat"),
        ("Rice (coarse)", "food_price_rice"),
        ("Maize flour (white)", "food_price_maize_flour"),
        ("Oil (palm)", "food_price_cooking_oil"),
        ("Oil (olive)", None),
        ("Wheat (food aid)", None),
        ("Wage (non-qualified labour, non-agricultural)", None),
        ("Fuel (firewood)", None),
    ],
)
def test_commodity_names_and_their_spelling_variants(commodity: str, indicator: str | None
                                                      ) -> None:
    assert indicator_for(commodity) == indicator


@pytest.mark.parametrize(
    ("unit", "size"),
    [("L", (1.0, "litre")), ("20 L", (20.0, "litre")), ("12 KG", (12.0, "kg")),
     ("400 G", (0.4, "kg")), ("750 ML", (0.75, "litre")), ("Gallon", (3.785411784, "litre")),
     ("100 Pounds", (45.359237, "kg")), ("Dozen", None), ("10 pcs", None)],
)
def test_units_become_kilograms_or_litres(unit: str, size: tuple[float, str] | None) -> None:
    got = unit_size(unit)
    if size is None:
        assert got is None
    else:
        assert got is not None and got[1] == size[1] and got[0] == pytest.approx(size[0])


# -- layouts --------------------------------------------------------------------------------------

def test_hdx_16_columns_with_hxl_row_pakistan_diesel_is_the_median_of_markets() -> None:
    frame, _ = national(PAK, "PAK")
    source = [row for row in rows(PAK) if row["commodity"] == "Fuel (diesel)"]
    expected = expected_medians(source)
    got = series(frame, "fuel_diesel_retail")
    assert dict(got) == pytest.approx(expected)
    assert set(frame.loc[frame["indicator"] == "fuel_diesel_retail", "unit"]) == {"PKR/litre"}


def test_fuel_is_dated_at_month_end_and_food_at_month_start_published_15_days_after() -> None:
    frame, _ = national(PAK, "PAK")
    fuel = frame[frame["indicator"].str.startswith("fuel_")]
    food = frame[frame["indicator"].str.startswith("food_price_")]
    assert not fuel.empty and not food.empty
    assert fuel["period"].dt.is_month_end.all()  # daily-catalogued: the price as the month ends
    assert food["period"].dt.day.eq(1).all()  # monthly indicators: the store's month start
    month_end = frame["period"] + pd.offsets.MonthEnd(0)
    assert (frame["published_at"] == month_end + pd.Timedelta(days=15)).all()


def test_hdx_14_columns_and_the_pandas_resaved_layout_read_alike() -> None:
    # Ethiopia: an unnamed index column first, `pricetype` holding the flag.
    frame, _ = national(ETH, "ETH")
    source = [row for row in rows(ETH) if row["commodity"] == "Fuel (kerosene)"]
    assert {row["pricetype"] for row in source} == {"actual"}
    assert dict(series(frame, "fuel_kerosene_retail")) == pytest.approx(expected_medians(source))


def test_a_file_without_the_hxl_row_kenya() -> None:
    assert not KEN.read_text(encoding="utf-8").splitlines()[1].startswith("#")
    frame, _ = national(KEN, "KEN")
    source = [row for row in rows(KEN) if row["commodity"] == "Fuel (petrol-gasoline)"]
    got = series(frame, "fuel_gasoline_retail")
    assert len(got) == len(expected_medians(source)) > 60
    assert dict(got) == pytest.approx(expected_medians(source))


def test_m_d_yyyy_dates_sri_lanka() -> None:
    frame, _ = national(LKA, "LKA")
    source = [row for row in rows(LKA) if row["commodity"] == "Fuel (diesel)"]
    assert "/" in source[0]["date"]
    got = series(frame, "fuel_diesel_retail")
    assert got.index.min() == dt.date(2013, 7, 1) and got.index.max() == dt.date(2018, 3, 1)
    assert dict(got) == pytest.approx(expected_medians(source))


def test_the_vam_layout_lebanon_per_litre_from_20_litre_prices() -> None:
    frame, _ = national(LBN, "LBN")
    source = [
        {**row, "date": f"{int(row['mp_year'])}-{int(row['mp_month']):02d}-01"}
        for row in rows(LBN, delimiter=";")
        if row["cm_name"] == "Fuel (petrol-gasoline, 95 octane)"
    ]
    assert {row["um_name"] for row in source} == {"20 L"}
    expected = expected_medians(source, size=20.0, market_field="mkt_name",
                                price_field="mp_price")
    got = series(frame, "fuel_gasoline_retail")
    assert dict(got) == pytest.approx(expected)
    assert set(frame.loc[frame["indicator"] == "fuel_lpg_retail", "unit"]) == {"LBP/kg"}


def test_gallons_are_converted_to_litres_guatemala() -> None:
    frame, _ = national(GTM, "GTM")
    source = [row for row in rows(GTM) if row["commodity"] == "Fuel (diesel)"]
    assert {row["unit"] for row in source} == {"Gallon"}
    got = series(frame, "fuel_diesel_retail")
    assert dict(got) == pytest.approx(expected_medians(source, size=3.785411784))


def test_lpg_cylinders_are_priced_per_kg_and_the_1900_placeholder_is_dropped() -> None:
    frame, warnings = national(BGD, "BGD")
    source = [row for row in rows(BGD) if row["commodity"] == "Fuel (gas)"]
    assert {row["unit"] for row in source} == {"12 KG"}
    assert dict(series(frame, "fuel_lpg_retail")) == pytest.approx(
        expected_medians(source, size=12.0))
    petrol = series(frame, "fuel_gasoline_retail")
    assert petrol.index.min() == dt.date(2024, 2, 1)  # not 1900-08
    assert any("placeholder date" in note for note in warnings)


# -- national-value rules -------------------------------------------------------------------------

def test_somalia_keeps_sos_and_drops_somaliland_shillings_with_a_warning() -> None:
    frame, warnings = national(SOM, "SOM")
    assert set(frame["unit"]) <= {"SOS/litre", "SOS/kg"}
    sls = [row for row in rows(SOM) if row["currency"] == "SLS"]
    assert sls  # the fixture does carry Somaliland prices
    assert any("SLS" in note and "never mixes currencies" in note for note in warnings)
    source = [row for row in rows(SOM) if row["commodity"] == "Fuel (diesel)"
              and row["currency"] == "SOS" and row["priceflag"] == "aggregate"]
    got = series(frame, "fuel_diesel_retail", VINTAGE_AGGREGATE)
    assert dict(got) == pytest.approx(expected_medians(source))


def test_turkey_forecast_rows_are_dropped_and_never_zero() -> None:
    frame, warnings = national(TUR, "TUR")
    forecasts = [row for row in rows(TUR) if row["priceflag"] == "forecast"
                 and row["commodity"].startswith("Fuel")]
    assert forecasts and {float(row["price"]) for row in forecasts} == {0.0}
    assert any("forecast row(s) dropped" in note for note in warnings)
    petrol = series(frame, "fuel_gasoline_retail")
    assert (petrol > 0).all()
    actual = [row for row in rows(TUR) if row["commodity"] == "Fuel (petrol-gasoline)"
              and row["priceflag"] == "actual"]
    assert dict(petrol) == pytest.approx(expected_medians(actual))
    # The lira crisis is visible: petrol roughly doubled from Aug 2021 to Feb 2022.
    assert petrol[dt.date(2022, 2, 1)] / petrol[dt.date(2021, 8, 1)] > 1.8


def test_the_actual_to_aggregate_break_is_two_vintages_afghanistan() -> None:
    frame, _ = national(AFG, "AFG")
    actual = series(frame, "fuel_diesel_retail", VINTAGE_ACTUAL)
    aggregate = series(frame, "fuel_diesel_retail", VINTAGE_AGGREGATE)
    assert actual.index.max() == dt.date(2020, 4, 1)
    assert aggregate.index.min() == dt.date(2020, 5, 1)
    source = [row for row in rows(AFG) if row["commodity"] == "Fuel (diesel)"]
    assert dict(aggregate) == pytest.approx(
        expected_medians(row for row in source if row["priceflag"] == "aggregate"))
    assert len({row["market"] for row in source if row["priceflag"] == "aggregate"}) > 30


def test_one_variety_per_series_bangladesh_rice() -> None:
    frame, _ = national(BGD, "BGD")
    source = rows(BGD)
    coarse = [row for row in source if row["commodity"] == "Rice (coarse)"
              and row["pricetype"] == "Retail" and row["unit"] == "KG"
              and row["priceflag"] == "actual"]
    assert [row for row in source if row["commodity"] == "Rice (BRRI-28)"]  # a second variety
    assert dict(series(frame, "food_price_rice")) == pytest.approx(expected_medians(coarse))


def test_the_median_rule_on_a_small_table() -> None:
    # SYNTHETIC: three markets, one with two prices in the month; median of market medians.
    body = (
        b"date,admin1,admin2,market,latitude,longitude,category,commodity,unit,priceflag,"
        b"pricetype,currency,price,usdprice\n"
        b"2022-01-15,,,A,,,non-food,Fuel (diesel),L,actual,Retail,KES,100,1\n"
        b"2022-01-15,,,A,,,non-food,Fuel (diesel),L,actual,Retail,KES,110,1\n"
        b"2022-01-15,,,B,,,non-food,Fuel (diesel),L,actual,Retail,KES,130,1\n"
        b"2022-01-15,,,C,,,non-food,Fuel (diesel),L,actual,Retail,KES,90,1\n"
        b"2022-01-15,,,C,,,non-food,Fuel (diesel),L,actual,Wholesale,KES,50,1\n"
        b"2022-01-15,,,D,,,non-food,Fuel (diesel),L,actual,Retail,KES,,1\n"
    )
    result = national_series(parse_market_prices(body, country="KEN"), country="KEN",
                             wanted={"fuel_diesel_retail": "LCU/litre"})
    frame = result.observations
    assert list(frame["value"]) == [105.0]  # A 105, B 130, C 90 → 105; wholesale and blank out
    assert frame["published_at"].iloc[0] == pd.Timestamp("2022-02-15")  # Jan 31 + 15 days


def test_empty_and_changed_files_are_clear_errors() -> None:
    header = PAK.read_bytes().split(b"\n")[:2]
    with pytest.raises(BadPayload, match="no data rows"):
        parse_market_prices(b"\n".join(header) + b"\n", country="PAK")  # SYNTHETIC
    renamed = PAK.read_bytes().replace(b",price,", b",cost,", 1)  # SYNTHETIC
    with pytest.raises(BadPayload, match="missing column"):
        parse_market_prices(renamed, country="PAK")
    body = PAK.read_bytes()
    with pytest.raises(BadPayload, match="truncated"):
        parse_market_prices(body[: len(body) // 2], country="PAK")


# -- the fetcher over loopback --------------------------------------------------------------------

def test_registered_and_serves_the_generic_fuel_catalogue() -> None:
    assert REGISTRY["wfp"] is WfpFetcher
    assert set(WfpFetcher.also_serves) == {
        "fuel_diesel_retail", "fuel_gasoline_retail", "fuel_kerosene_retail", "fuel_lpg_retail"}


def test_fetch_then_an_unchanged_refresh_costs_one_304_per_country(
    replay_server: ReplayServer,
) -> None:
    for path, etag in ((PAK, '"pak-1"'), (TUR, '"tur-1"')):
        replay_server.add(f"/{path.name}", [
            Reply(200, path.read_bytes(), {"ETag": etag}, "text/csv"),
            Reply(304, b"", {"ETag": etag}, "text/csv"),
        ])
    first = WfpFetcher().fetch(wfp_request(replay_server.url, ["PAK", "TUR"]),
                               make_test_session())
    assert first.requests_made == 2 and not first.not_modified
    assert set(first.observations["country"]) == {"PAK", "TUR"}
    assert first.validators[validator_key("PAK")] == HttpValidator('"pak-1"', None)
    second = WfpFetcher().fetch(
        wfp_request(replay_server.url, ["PAK", "TUR"], validators=first.validators),
        make_test_session(),
    )
    assert second.not_modified and second.requests_made == 2 and second.observations.empty
    sent = replay_server.matching(f"/{PAK.name}")[-1]
    assert sent.headers.get("If-None-Match") == '"pak-1"'


def test_one_failing_country_is_a_warning_and_the_others_carry_on(
    replay_server: ReplayServer,
) -> None:
    replay_server.add(f"/{PAK.name}", Reply.from_file(PAK, content_type="text/csv"))
    replay_server.add("/wfp_food_prices_tur.csv", server_error(503))
    result = WfpFetcher().fetch(
        wfp_request(replay_server.url, ["PAK", "TUR"], max_retries=0), make_test_session())
    assert set(result.observations["country"]) == {"PAK"}
    assert any(note.startswith("TUR:") and "503" in note for note in result.warnings)


def test_a_cut_off_file_keeps_no_etag_so_the_next_refresh_fetches_it_whole(
    replay_server: ReplayServer,
) -> None:
    body = PAK.read_bytes()
    replay_server.add(f"/{PAK.name}", Reply(200, body, {"ETag": '"pak-1"'}, "text/csv"))
    # A proxy cuts the Kenyan file short (SYNTHETIC cut of the real body), with an ETag.
    kenya = KEN.read_bytes()
    replay_server.add("/wfp_food_prices_ken.csv",
                      Reply(200, kenya[: len(kenya) // 2], {"ETag": '"ken-cut"'}, "text/csv"))
    result = WfpFetcher().fetch(wfp_request(replay_server.url, ["PAK", "KEN"]),
                                make_test_session())
    assert set(result.observations["country"]) == {"PAK"}
    assert any(note.startswith("KEN:") and "truncated" in note for note in result.warnings)
    assert validator_key("KEN") not in result.validators
    assert validator_key("PAK") in result.validators


def test_every_country_failing_is_an_error(replay_server: ReplayServer) -> None:
    replay_server.add("/wfp_food_prices_pak.csv", server_error(500))
    with pytest.raises(HTTPStatusError, match="500"):
        WfpFetcher().fetch(wfp_request(replay_server.url, ["PAK"], max_retries=0),
                           make_test_session())


def test_a_country_whose_file_is_unreadable_is_a_warning_while_another_reads() -> None:
    request = wfp_request("http://unused", ["PAK", "KEN"])
    produced = WfpFetcher().transform(
        [WfpFile("PAK", PAK.read_bytes()), WfpFile("KEN", b"<html>oops</html>\n")], request)
    assert set(produced.observations["country"]) == {"PAK"}
    assert any(note.startswith("KEN:") for note in produced.warnings)


def test_hdx_resource_paths_are_used_when_configured(replay_server: ReplayServer) -> None:
    resource = "abc/resource/def/download/wfp_food_prices_ken.csv"
    replay_server.add(f"/dataset/{resource}", Reply.from_file(KEN, content_type="text/csv"))
    request = wfp_request(replay_server.url + "/dataset", ["KEN"])
    settings: Any = request.settings
    request = dataclasses.replace(
        request, settings=settings.model_copy(update={"resources": {"KEN": resource}}))
    result = WfpFetcher().fetch(request, make_test_session())
    assert replay_server.count(f"/dataset/{resource}") == 1
    assert "fuel_kerosene_retail" in set(result.observations["indicator"])


def test_the_default_config_knows_hdx_paths_for_its_countries() -> None:
    settings: Any = load_config(None).source("wfp")
    assert set(settings.countries) <= set(settings.resources)
    assert all(path.endswith(f"wfp_food_prices_{iso.lower()}.csv")
               for iso, path in settings.resources.items())


def test_parsed_frame_reads_like_the_csv_module() -> None:
    # The parser keeps every row with a price (the fuel rows of Somalia, both currencies).
    parsed = parse_market_prices(SOM.read_bytes(), country="SOM")
    expected = [row for row in rows(SOM) if row["price"]]
    assert len(parsed) == len(expected)
    assert sorted(parsed["currency"].unique()) == ["SLS", "SOS"]


def test_turkeys_lira_crisis_reaches_the_fuel_trigger_on_the_publication_day() -> None:
    # The stored WFP rows, as the fetcher writes them (fetched long after: never earlier-visible).
    from indicators.derived import derive_indicators
    from indicators.observations import conform_observations

    frame, _ = national(TUR, "TUR")
    observations = conform_observations(frame.assign(fetched_at=pd.Timestamp("2026-09-01")))
    catalogue = load_config(None).catalogue()

    def latest_yoy(as_of: str) -> tuple[dt.date, float]:
        derived = derive_indicators(observations, catalogue, as_of=as_of)
        rows = derived[derived["indicator"] == "fuel_price_yoy"].sort_values("period")
        last = rows.iloc[-1]
        return last["period"].date(), float(last["value"])

    petrol = series(frame, "fuel_gasoline_retail")
    expected = (petrol[dt.date(2022, 1, 1)] / petrol[dt.date(2021, 1, 1)] - 1) * 100
    # January 2022 is published 31 Jan + 15 days = 15 Feb: not seen on the 14th, seen on the 15th.
    assert latest_yoy("2022-02-14")[0] == dt.date(2021, 12, 31)
    period, value = latest_yoy("2022-02-15")
    assert period == dt.date(2022, 1, 31)
    assert value >= expected > 50  # the largest move across Turkey's fuels (petrol, LPG)


@pytest.mark.parametrize(
    ("country", "body"),
    [("CAF", WFP / "wfp_food_prices_caf.fuel-and-staples.csv"), ("GTM", GTM), ("TUR", TUR)],
)
def test_each_country_added_to_the_hdx_table_requests_its_own_hdx_path(
    replay_server: ReplayServer, country: str, body: Path
) -> None:
    # The default config's path for the country (the HDX layout, not the flat mirror name).
    defaults: Any = load_config(None).source("wfp")
    resource = defaults.resources[country]
    assert resource == DEFAULT_RESOURCES[country] and "/resource/" in resource
    replay_server.add(f"/dataset/{resource}", Reply.from_file(body, content_type="text/csv"))
    request = wfp_request(replay_server.url + "/dataset", [country])
    settings: Any = request.settings
    request = dataclasses.replace(
        request, settings=settings.model_copy(update={"resources": defaults.resources}))
    result = WfpFetcher().fetch(request, make_test_session())
    assert replay_server.count(f"/dataset/{resource}") == 1
    assert result.requests_made == 1
    assert set(result.observations["country"]) == {country}
    assert result.observations["indicator"].str.startswith("fuel_").any()


def test_every_default_path_is_an_hdx_download_link_of_its_own_countrys_file() -> None:
    # A link filed under the wrong ISO3 would store one country's prices as another's; a
    # mistyped or duplicated id would fetch the wrong file or none.
    link = re.compile(
        rf"(?P<dataset>{HDX_ID}|wfp-food-prices-for-[a-z-]+)/resource/(?P<resource>{HDX_ID})"
        r"/download/wfp_food_prices_(?P<iso3>[a-z]{3})\.csv"
    )
    datasets: list[str] = []
    resources: list[str] = []
    for country, path in DEFAULT_RESOURCES.items():
        match = link.fullmatch(path)
        assert match is not None, (country, path)
        assert match["iso3"] == country.lower(), (country, path)
        datasets.append(match["dataset"])
        resources.append(match["resource"])
    assert len(set(datasets)) == len(datasets)
    assert len(set(resources)) == len(resources)


def test_the_default_table_costs_one_request_per_country_then_one_304_each(
    replay_server: ReplayServer,
) -> None:
    # SYNTHETIC per-country bodies: the recorded Central African file is served under every
    # default link (this test counts requests, not prices), each with its own ETag.
    defaults: Any = load_config(None).source("wfp")
    assert sorted(defaults.countries) == sorted(DEFAULT_RESOURCES)
    for country, resource in defaults.resources.items():
        etag = f'"{country.lower()}-1"'
        replay_server.add(f"/dataset/{resource}", [
            Reply(200, CAF.read_bytes(), {"ETag": etag}, "text/csv"),
            Reply(304, b"", {"ETag": etag}, "text/csv"),
        ])

    def refresh(validators: dict[str, HttpValidator]) -> Any:
        request = wfp_request(replay_server.url + "/dataset", list(defaults.countries),
                              validators=validators)
        settings: Any = request.settings
        request = dataclasses.replace(
            request, settings=settings.model_copy(update={"resources": defaults.resources}))
        return WfpFetcher().fetch(request, make_test_session())

    first = refresh({})
    assert first.requests_made == len(DEFAULT_RESOURCES)
    assert set(first.observations["country"]) == set(DEFAULT_RESOURCES)
    second = refresh(first.validators)
    assert second.not_modified and second.requests_made == len(DEFAULT_RESOURCES)
    for country, resource in defaults.resources.items():
        sent = replay_server.matching(f"/dataset/{resource}")
        assert len(sent) == 2
        assert sent[-1].headers.get("If-None-Match") == f'"{country.lower()}-1"'


def test_a_stale_hdx_link_is_a_warning_and_the_other_countries_carry_on(
    replay_server: ReplayServer,
) -> None:
    # A link found in a public source may have gone stale: HDX then answers 404 (SYNTHETIC page).
    defaults: Any = load_config(None).source("wfp")
    replay_server.add(f"/dataset/{defaults.resources['YEM']}",
                      Reply(404, b"<html>Not Found</html>", {}, "text/html"))
    replay_server.add(f"/dataset/{defaults.resources['KEN']}",
                      Reply.from_file(KEN, content_type="text/csv"))
    request = wfp_request(replay_server.url + "/dataset", ["KEN", "YEM"], max_retries=0)
    settings: Any = request.settings
    request = dataclasses.replace(
        request, settings=settings.model_copy(update={"resources": defaults.resources}))
    result = WfpFetcher().fetch(request, make_test_session())
    assert set(result.observations["country"]) == {"KEN"}
    assert any(note.startswith("YEM:") and "404" in note for note in result.warnings)
    assert validator_key("YEM") not in result.validators
