"""Sampled fuel series carry a publication date: a replay never sees a bulletin before it was out.

None of these recorded bodies (all REAL, see each fixture's PROVENANCE.md) states when a row was
published, and the catalogue's `publication_lag_days` belongs to the generic fuel indicator that
every source shares; each fetcher therefore records `published_at` = the row's date + its own
documented lag (never after the fetch).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from fetchers.base import BaseFetcher, FetchRequest
from fetchers.brazil_anp import BrazilAnpFetcher
from fetchers.eu_oil_bulletin import EuOilBulletinFetcher
from fetchers.fred import FredCsvPayload, FredFetcher
from fetchers.malaysia_fuelprice import MalaysiaFuelpriceFetcher
from fetchers.nz_mbie import NzMbieFetcher
from flashpoint.config import load_config
from indicators.observations import conform_observations
from indicators.pointintime import visible_observations
from tests.fetchers.conftest import FIXTURES
from tests.fetchers.request_builder import make_request

CATALOGUE = load_config(None).catalogue()


def _request(source: str, fetcher: type[BaseFetcher], now: dt.datetime) -> FetchRequest:
    # The generic fuel ids these sources serve are catalogued under another source.
    request = make_request(source, now=now)
    served = tuple(
        item for item in CATALOGUE.indicators if item.id in getattr(fetcher, "also_serves", ())
    )
    return dataclasses.replace(request, indicators=served)


def _whole_body(body: bytes) -> list[Any]:
    return [body]


def _fred(body: bytes) -> list[Any]:
    return [FredCsvPayload(("GASREGW",), body)]


# (source, fetcher, recorded body, payloads, indicator, country, the row's date, days of lag)
Case = tuple[str, type[BaseFetcher], str, Callable[[bytes], list[Any]], str, str, str, int]
CASES: list[Case] = [
    ("eu_oil_bulletin", EuOilBulletinFetcher, "eu_oil_bulletin/wob_raw_2022-06-06_2022-06-13.csv",
     _whole_body, "fuel_diesel_retail", "POL", "2022-06-13", 2),
    ("fred", FredFetcher, "fred/GASREGW_weekly_1990-2024.REAL.csv", _fred,
     "fuel_gasoline_retail", "USA", "2024-12-02", 1),
    ("nz_mbie", NzMbieFetcher, "nz_mbie/weekly-table.last10weeks.csv", _whole_body,
     "fuel_diesel_retail", "NZL", "2026-07-17", 5),
    ("malaysia_fuelprice", MalaysiaFuelpriceFetcher, "malaysia_fuelprice/fuelprice.csv",
     _whole_body, "fuel_diesel_retail", "MYS", "2026-04-09", 0),
    ("brazil_anp", BrazilAnpFetcher, "brazil_anp/semanal-brasil-desde-2013.xlsx", _whole_body,
     "fuel_diesel_retail", "BRA", "2026-03-14", 3),
]
LATER = dt.datetime(2026, 9, 1, 6, 0)  # a fetch long after every recorded row


def _observations(
    source: str, fetcher: type[BaseFetcher], fixture: str,
    payloads: Callable[[bytes], list[Any]], now: dt.datetime,
) -> pd.DataFrame:
    produced = fetcher().transform(payloads((FIXTURES / fixture).read_bytes()),
                                   _request(source, fetcher, now))
    return conform_observations(getattr(produced, "observations", produced))


def _has(frame: pd.DataFrame, indicator: str, country: str, day: str) -> bool:
    return bool(((frame["indicator"] == indicator) & (frame["country"] == country)
                 & (frame["period"] == pd.Timestamp(day))).any())


@pytest.mark.parametrize(
    ("source", "fetcher", "fixture", "payloads", "indicator", "country", "day", "lag"),
    CASES, ids=[case[0] for case in CASES],
)
def test_a_replay_before_publication_does_not_see_the_row(
    source: str, fetcher: type[BaseFetcher], fixture: str,
    payloads: Callable[[bytes], list[Any]], indicator: str, country: str, day: str, lag: int,
) -> None:
    rows = _observations(source, fetcher, fixture, payloads, LATER)
    assert rows["published_at"].notna().all()  # no row falls back to an indicator-wide guess
    assert (rows["published_at"] - rows["period"] == pd.Timedelta(days=lag)).all()
    published = pd.Timestamp(day) + pd.Timedelta(days=lag)
    before = visible_observations(rows, CATALOGUE, published - pd.Timedelta(days=1))
    on_the_day = visible_observations(rows, CATALOGUE, published)
    assert not _has(before, indicator, country, day)
    assert _has(on_the_day, indicator, country, day)
    if lag:
        # The catalogue's indicator-wide lag (0) alone would have shown it on its date.
        assert not _has(visible_observations(rows, CATALOGUE, day), indicator, country, day)


def test_a_row_fetched_before_its_estimated_publication_counts_from_the_fetch() -> None:
    # The EU bulletin of Monday 13 June 2022 fetched on Tuesday 14 June at 09:00: it was out then,
    # so today's score uses it rather than waiting for the estimate (Wednesday).
    fetched = dt.datetime(2022, 6, 14, 9, 0)
    source, fetcher, fixture, payloads, indicator, country, day, _ = CASES[0]
    rows = _observations(source, fetcher, fixture, payloads, fetched)
    newest = rows[rows["period"] == pd.Timestamp(day)]
    assert (newest["published_at"] == pd.Timestamp(fetched)).all()
    older = rows[rows["period"] == pd.Timestamp("2022-06-06")]
    assert (older["published_at"] == pd.Timestamp("2022-06-08")).all()
    assert _has(visible_observations(rows, CATALOGUE, "2022-06-14"), indicator, country, day)


def test_the_world_spot_series_keep_their_catalogue_lag() -> None:
    # FRED's WLD series are catalogued under FRED itself: no per-source estimate is recorded.
    body = (FIXTURES / "fred" / "fredgraph_4series_2018-12-17_2019-01-07.CONSTRUCTED.csv")
    request = make_request("fred", now=LATER)
    codes = tuple(item.source_code for item in request.indicators)
    rows = FredFetcher().transform([FredCsvPayload(codes, body.read_bytes())], request)
    frame = conform_observations(getattr(rows, "observations", rows))
    assert not frame.empty and frame["published_at"].isna().all()
