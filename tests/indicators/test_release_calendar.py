"""Release calendars: vintage-less annual series are visible from each year's first release."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from indicators.catalogue import Catalogue, Indicator, Normalisation, Pillar
from indicators.observations import conform_observations
from indicators.pointintime import publication_dates, visible_observations
from indicators.releases import (
    ReleaseCalendars,
    ReleaseDate,
    bundled_release_calendars,
    read_release_calendars,
)
from indicators.scoring import score_panel
from tests.indicators.scoring_support import SnapshotStore, snapshot_store

REPO = Path(__file__).resolve().parents[2]

CALENDAR = ReleaseCalendars(
    (
        ReleaseDate("gov", 2010, date(2011, 9, 30)),
        ReleaseDate("gov", 2011, date(2012, 9, 14)),
    )
)


def _catalogue(calendar: str) -> Catalogue:
    governance = Indicator(
        id="gov_index",
        name="gov",
        pillar="governance",
        factor="",
        source="test",
        source_code="",
        unit="u",
        higher_is_riskier=False,
        frequency="annual",
        normalisation=Normalisation("goalposts", lower=-2.5, upper=2.5),
        publication_lag_days=30,
        release_calendar=calendar,
    )
    return Catalogue(
        indicators=(governance,),
        pillars=(Pillar("governance", "Governance", "structural"),),
        releases=CALENDAR,
    )


def _rows(rows: list[tuple[str, str, str | None, str | None]]) -> pd.DataFrame:
    """(period, vintage, published_at, fetched_at) rows of `gov_index` for KAZ."""
    return conform_observations(
        pd.DataFrame(
            [
                {
                    "indicator": "gov_index",
                    "country": "KAZ",
                    "period": period,
                    "value": 0.0,
                    "unit": "u",
                    "source": "test",
                    "vintage": vintage,
                    "published_at": published,
                    "fetched_at": fetched,
                }
                for period, vintage, published, fetched in rows
            ]
        )
    )


def test_the_oldest_vintage_is_redated_to_each_years_first_release() -> None:
    frame = _rows(
        [
            ("2010-01-01", "2020", "2020-09-25", None),
            ("2011-01-01", "2020", "2020-09-25", None),
            ("2009-01-01", "2020", "2020-09-25", None),  # not in the calendar: keeps its date
            ("2010-01-01", "2025", "2024-10-01", None),  # a later revision: its own release
        ]
    )
    dates = publication_dates(frame, _catalogue("gov"))
    assert list(dates.dt.date) == [
        date(2011, 9, 30),
        date(2012, 9, 14),
        date(2020, 9, 25),
        date(2024, 10, 1),
    ]


def test_an_unrecorded_date_follows_the_calendar_and_an_earlier_recorded_one_wins() -> None:
    frame = _rows([("2010-01-01", "", None, None), ("2011-01-01", "", "2012-01-15", None)])
    dates = publication_dates(frame, _catalogue("gov"))
    # 2010: the calendar replaces period end + lag (2011-01-30); 2011: the source said January.
    assert list(dates.dt.date) == [date(2011, 9, 30), date(2012, 1, 15)]


def test_without_a_calendar_the_dates_are_unchanged() -> None:
    frame = _rows([("2010-01-01", "", None, None), ("2011-01-01", "2020", "2020-09-25", None)])
    dates = publication_dates(frame, _catalogue(""))
    assert list(dates.dt.date) == [date(2011, 1, 30), date(2020, 9, 25)]


def test_a_row_fetched_before_the_calendar_day_is_visible_from_the_fetch() -> None:
    frame = _rows([("2011-01-01", "", None, "2012-08-01 10:00")])
    dates = publication_dates(frame, _catalogue("gov"))
    assert dates.iloc[0] == pd.Timestamp("2012-08-01 10:00")


def test_a_later_vintage_is_not_visible_before_its_release() -> None:
    frame = _rows(
        [
            ("2010-01-01", "2020", "2020-09-25", None),
            ("2010-01-01", "2025", "2024-10-01", None),
        ]
    )
    visible = visible_observations(frame, _catalogue("gov"), "2012-06-30")
    assert list(visible["vintage"]) == ["2020"]
    assert list(visible_observations(frame, _catalogue("gov"), "2024-10-01")["vintage"]) == [
        "2025"
    ]


def test_the_calendar_file_refuses_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "calendar.csv"
    path.write_text("source,data_year,first_release\nwgi,2010,2011-09-31\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2"):
        read_release_calendars(path)
    path.write_text(
        "source,data_year,first_release\nwgi,2010,2011-09-30\nwgi,2010,2011-10-30\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="listed twice"):
        read_release_calendars(path)


def test_the_packaged_calendar_is_the_researched_one() -> None:
    packaged = (REPO / "indicators" / "data" / "release_calendar.csv").read_bytes()
    researched = (REPO / "data" / "release-calendars" / "release_calendar.csv").read_bytes()
    assert packaged == researched
    assert {"wgi", "ti_cpi", "wdi", "wdi_survey", "ucdp_ged"} <= bundled_release_calendars().names


# ---- the bundled snapshot -------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundled(snapshot_template: Path) -> SnapshotStore:
    return snapshot_store(snapshot_template)


def test_the_score_as_of_mid_2012_uses_wgi_2010(bundled: SnapshotStore) -> None:
    scored = score_panel(
        bundled.observations, bundled.catalogue, as_of="2012-06-30", countries=["KAZ", "EGY"]
    )
    rows = scored.contributions[scored.contributions["indicator"] == "wgi_political_stability"]
    assert set(rows["status"]) == {"ok"}
    assert {pd.Timestamp(period).year for period in rows["period"]} == {2010}
    # KAZ's 2025 pull (a later revision) is not what an analyst saw in 2012.
    assert set(rows["vintage"]) == {"2020"}


def _expected_year(as_of: pd.Timestamp, last_held: int) -> int | None:
    calendar = bundled_release_calendars()
    public = [
        row.data_year
        for row in calendar.rows
        if row.calendar == "wgi"
        and row.data_year <= last_held
        and pd.Timestamp(row.first_release) <= as_of
    ]
    return max(public) if public else None


@pytest.mark.parametrize("year", range(1999, 2025))
def test_a_replay_of_any_year_sees_the_wgi_release_public_then(
    bundled: SnapshotStore, year: int
) -> None:
    observations = bundled.observations
    chosen = (observations["country"] == "EGY") & (
        observations["indicator"] == "wgi_political_stability"
    )
    egypt = observations[chosen]
    as_of = pd.Timestamp(f"{year}-06-30")
    visible = visible_observations(egypt, bundled.catalogue, as_of)
    expected = _expected_year(as_of, last_held=2019)
    seen = pd.to_datetime(visible["period"]).dt.year
    assert (None if visible.empty else int(seen.max())) == expected
    assert (visible["published"] <= as_of + pd.Timedelta(days=1)).all()
