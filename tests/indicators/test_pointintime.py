"""Point-in-time visibility: publication dates, forecasts, vintages (synthetic rows)."""

from __future__ import annotations

import pandas as pd
import pytest

from indicators.observations import conform_observations
from indicators.pointintime import (
    PUBLISHED,
    period_end,
    publication_dates,
    visible_observations,
)
from tests.indicators.scoring_support import synthetic_catalogue

CATALOGUE = synthetic_catalogue()


def _frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    base = {"unit": "u", "source": "test", "country": "KAZ"}
    return conform_observations(pd.DataFrame([{**base, **row} for row in rows]))


@pytest.mark.parametrize(
    ("period", "frequency", "end"),
    [
        ("2021-01-01", "annual", "2021-12-31"),
        ("2020-02-01", "monthly", "2020-02-29"),
        ("2021-04-01", "quarterly", "2021-06-30"),
        ("2021-11-01", "quarterly", "2021-12-31"),
        ("2021-03-01", "weekly", "2021-03-07"),
        ("2021-12-15", "daily", "2021-12-15"),
    ],
)
def test_period_end_by_frequency(period: str, frequency: str, end: str) -> None:
    result = period_end(pd.Series([pd.Timestamp(period)]), pd.Series([frequency]))
    assert result.iloc[0] == pd.Timestamp(end)


def test_publication_date_rule() -> None:
    with_lag = CATALOGUE.indicator("inflation")  # annual, lag 0 in the synthetic catalogue
    assert with_lag.publication_lag_days == 0
    frame = _frame(
        [
            # Known publication date wins.
            {
                "indicator": "inflation",
                "period": "2020-01-01",
                "value": 1,
                "published_at": "2021-03-01",
            },
            # Unknown: period end (+ lag 0).
            {"indicator": "inflation", "period": "2019-01-01", "value": 1},
            # Fetched before the estimate: we held it then, so it was public by then.
            {
                "indicator": "inflation",
                "period": "2018-01-01",
                "value": 1,
                "fetched_at": "2018-06-01 10:00",
            },
            # Fetched long after (a snapshot load): never delays the estimate.
            {
                "indicator": "inflation",
                "period": "2017-01-01",
                "value": 1,
                "fetched_at": "2026-11-29 12:00",
            },
        ]
    )
    dates = publication_dates(frame, CATALOGUE)
    assert list(dates) == [
        pd.Timestamp("2021-03-01"),
        pd.Timestamp("2019-12-31"),
        pd.Timestamp("2018-06-01 10:00"),
        pd.Timestamp("2017-12-31"),
    ]


def test_publication_lag_is_added_to_the_period_end() -> None:
    from dataclasses import replace

    from indicators.catalogue import Catalogue

    lagged = tuple(
        replace(item, publication_lag_days=180) if item.id == "inflation" else item
        for item in CATALOGUE.indicators
    )
    catalogue = Catalogue(lagged, CATALOGUE.pillars, CATALOGUE.bands, CATALOGUE.model)
    frame = _frame([{"indicator": "inflation", "period": "2020-01-01", "value": 3.0}])
    assert publication_dates(frame, catalogue).iloc[0] == pd.Timestamp("2021-06-29")
    assert visible_observations(frame, catalogue, "2021-06-28").empty
    assert len(visible_observations(frame, catalogue, "2021-06-29")) == 1


def test_as_of_means_the_end_of_that_day() -> None:
    frame = _frame(
        [
            {
                "indicator": "fuel_price",
                "period": "2022-01-01",
                "value": 120.0,
                "published_at": "2022-01-01 17:20",
            }
        ]
    )
    assert visible_observations(frame, CATALOGUE, "2021-12-31").empty
    visible = visible_observations(frame, CATALOGUE, "2022-01-01")
    assert list(visible["value"]) == [120.0]
    assert visible[PUBLISHED].iloc[0] == pd.Timestamp("2022-01-01 17:20")


def test_forecasts_are_never_visible() -> None:
    frame = _frame(
        [
            {"indicator": "inflation", "period": "2020-01-01", "value": 5.0},
            {"indicator": "inflation", "period": "2021-01-01", "value": 9.0, "is_forecast": True},
        ]
    )
    visible = visible_observations(frame, CATALOGUE, "2030-01-01")
    assert list(visible["value"]) == [5.0]
    assert list(visible_observations(frame, CATALOGUE, None)["value"]) == [5.0]


def test_newest_visible_vintage_only_and_never_mixed() -> None:
    # Vintage "2020" covers 2018–2019; vintage "2025" revises 2019 and adds 2020–2023. The
    # 2018 value exists only in the old vintage: it must not leak into the new one.
    old = [
        {"indicator": "corruption", "period": f"{year}-01-01", "value": -1.0, "vintage": "2020"}
        for year in (2018, 2019)
    ]
    new = [
        {"indicator": "corruption", "period": f"{year}-01-01", "value": -0.5, "vintage": "2025"}
        for year in (2019, 2020, 2021, 2022, 2023)
    ]
    frame = _frame(
        [{**row, "published_at": "2020-09-25"} for row in old]
        + [{**row, "published_at": "2025-09-30"} for row in new]
    )
    before = visible_observations(frame, CATALOGUE, "2024-12-31")
    assert set(before["vintage"]) == {"2020"}
    assert len(before) == 2
    after = visible_observations(frame, CATALOGUE, "2025-10-01")
    assert set(after["vintage"]) == {"2025"}
    assert sorted(after["period"].dt.year) == [2019, 2020, 2021, 2022, 2023]
    # Another country with only the old vintage keeps it.
    other = _frame([{**old[0], "country": "KGZ", "published_at": "2020-09-25"}])
    both = visible_observations(pd.concat([frame, other]), CATALOGUE, "2025-10-01")
    assert set(both.loc[both["country"] == "KGZ", "vintage"]) == {"2020"}
