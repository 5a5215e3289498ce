"""The "as of" picker and the view in the URL, under Streamlit's AppTest on the bundled snapshot.

Expected scores are computed here with `score_panel` as of the same day (never copied from the
page); URL values are set before the first run, as opening a shared link does.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import as_of, url_state
from flashpoint import store
from flashpoint.config import load_config
from indicators.pointintime import publication_dates
from indicators.scoring import PanelScore, score_panel
from tests.dashboard.conftest import APP, CONFIG, headline_text, sqlite_url

TIMEOUT = 300
PAST = dt.date(2022, 1, 5)


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@pytest.fixture(scope="module")
def observations(snapshot_store: Path) -> pd.DataFrame:
    engine = store.make_engine(sqlite_url(snapshot_store))
    try:
        return store.read_observations(engine, include_forecasts=False)
    finally:
        engine.dispose()


def scored(observations: pd.DataFrame, day: dt.date, countries: list[str]) -> PanelScore:
    return score_panel(
        observations, load_config(CONFIG).catalogue(), as_of=day, countries=countries
    )


def opened(params: dict[str, str], page: str | None = None) -> AppTest:
    """The app as a shared link opens it: query parameters (and page) before the first run."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    if page is not None:
        at.switch_page(page)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [item.value for item in at.exception]
    return at


def query(at: AppTest) -> dict[str, str]:
    """The URL's query parameters after the run, one value each."""
    return {
        key: value[-1] if isinstance(value, list) else value
        for key, value in at.query_params.items()
    }


def metric(at: AppTest, label: str) -> str:
    for element in at.metric:
        if element.label == label:
            return str(element.value)
    raise AssertionError(f"no metric {label!r}")


def notices(at: AppTest) -> list[str]:
    return [str(item.value) for item in at.warning]


def banner(at: AppTest) -> list[str]:
    return [str(item.value) for item in at.info if "Every number on this page" in item.value]


# --------------------------------------------------------------------------------------------
# The as-of picker


def test_a_past_day_scores_the_overview_as_of_that_day(
    snapshot_store: Path, use_store: Any, observations: pd.DataFrame
) -> None:
    use_store(snapshot_store)
    at = opened({"country": "KAZ"})
    assert not banner(at), "today is the default: no banner"
    assert at.date_input(key=as_of.PICKER_KEY).value == today()
    at.date_input(key=as_of.PICKER_KEY).set_value(PAST).run()
    assert not at.exception, [item.value for item in at.exception]
    expected = scored(observations, PAST, ["KAZ"]).countries.loc["KAZ"]
    assert metric(at, "Composite risk (0–10)") == headline_text(expected)
    assert metric(at, "Trigger") in (f"{expected['trigger']:.1f}", "blind")
    assert banner(at) and f"As of {PAST:%d %B %Y}" in banner(at)[0]
    assert query(at)["as_of"] == PAST.isoformat()
    captions = " ".join(str(item.value) for item in at.caption)
    assert f"Stability risk as of {PAST:%d %B %Y}" in captions
    assert "Alert states are live" in captions, "live alert states are not passed off as then"

    at.button(key="as_of_today").click().run()
    assert not banner(at) and "as_of" not in query(at)
    assert at.date_input(key=as_of.PICKER_KEY).value == today()


def test_the_day_follows_to_country_detail(
    snapshot_store: Path, use_store: Any, observations: pd.DataFrame
) -> None:
    use_store(snapshot_store)
    at = opened({"country": "KAZ", "as_of": PAST.isoformat()})
    at.switch_page("app_pages/country.py").run()
    assert not at.exception, [item.value for item in at.exception]
    assert at.title[0].value == "Kazakhstan"
    assert banner(at), "the past day is still in force on Country detail"
    expected = scored(observations, PAST, ["KAZ"]).countries.loc["KAZ"]
    line = " ".join(str(item.value) for item in at.markdown)
    assert f"as of {PAST:%d %b %Y}" in line
    assert f"{expected['composite']:.1f} / 10" in line
    assert query(at)["as_of"] == PAST.isoformat()
    # Only the events that had happened by then are annotated.
    engine = store.make_engine(sqlite_url(snapshot_store))
    try:
        events = store.read_events(engine, "KAZ")
    finally:
        engine.dispose()
    known = int((pd.to_datetime(events["date"]) <= pd.Timestamp(PAST)).sum())
    assert 0 < known < len(events), "the snapshot has Kazakhstan events on both sides of the day"
    assert [item.label for item in at.expander if item.label.startswith("Events")] == [
        f"Events ({known})"
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ((dt.date.today() + dt.timedelta(days=400)).isoformat(), "is in the future"),
        ("1900-01-01", "is before any data in the store"),
        ("5 Jan 2022", "is not a date written YYYY-MM-DD"),
    ],
)
def test_an_impossible_as_of_date_is_refused_with_a_message(
    snapshot_store: Path, use_store: Any, value: str, expected: str
) -> None:
    use_store(snapshot_store)
    at = opened({"country": "KAZ", "as_of": value})
    said = [text for text in notices(at) if "as-of date" in text]
    assert said and expected in said[0], notices(at)
    assert "showing today" in said[0].lower()
    assert not banner(at), "the page falls back to today"
    assert at.date_input(key=as_of.PICKER_KEY).value == today()
    assert "as_of" not in query(at)


def test_the_first_day_with_data_is_the_limit(observations: pd.DataFrame) -> None:
    first = pd.Timestamp(
        publication_dates(observations, load_config(CONFIG).catalogue()).min()
    ).date()
    assert as_of.check_as_of(first, today=today(), earliest=first).notice is None
    refused = as_of.check_as_of(first - dt.timedelta(days=1), today=today(), earliest=first)
    assert refused.day == today() and refused.notice
    assert as_of.check_as_of(today(), today=today(), earliest=None).notice is None


# --------------------------------------------------------------------------------------------
# The URL holds the view


def test_a_shared_overview_link_restores_its_view(snapshot_store: Path, use_store: Any) -> None:
    use_store(snapshot_store)
    link = {"country": "UZB", "as_of": PAST.isoformat(), "window": "all"}
    at = opened(link)
    assert at.title[0].value == "Uzbekistan"
    assert at.session_state["overview_window"] == "All"
    assert at.date_input(key=as_of.PICKER_KEY).value == PAST
    assert query(at) == link, "the URL still describes the view"
    assert not [text for text in notices(at) if "link" in text.lower()]

    # And the widgets write their changes back.
    at.selectbox(key="country").select("KGZ").run()
    at.segmented_control(key="overview_window").set_value("10 years").run()
    assert query(at) == {"country": "KGZ", "as_of": PAST.isoformat(), "window": "10y"}


def test_a_shared_country_link_restores_its_window(snapshot_store: Path, use_store: Any) -> None:
    use_store(snapshot_store)
    at = opened({"country": "NGA", "window": "1y"}, page="app_pages/country.py")
    assert at.title[0].value == "Nigeria"
    assert at.session_state["country_history_window"] == "1 year"
    assert query(at) == {"country": "NGA", "window": "1y"}


def test_a_shared_replay_link_restores_range_and_step(snapshot_store: Path, use_store: Any) -> None:
    use_store(snapshot_store)
    link = {"country": "UZB", "start": "2021-06-01", "end": "2021-09-01", "step": "week"}
    at = opened(link, page="app_pages/replay.py")
    assert at.title[0].value == "Replay"
    assert at.selectbox(key="replay_country").value == "UZB"
    assert at.session_state["replay_range"] == (dt.date(2021, 6, 1), dt.date(2021, 9, 1))
    assert at.radio(key="replay_every").value == "week"
    assert query(at) == link

    at.radio(key="replay_every").set_value("day").run()
    assert query(at)["step"] == "day"


def test_bad_replay_values_are_said_and_the_defaults_shown(
    snapshot_store: Path, use_store: Any
) -> None:
    use_store(snapshot_store)
    at = opened(
        {"country": "KAZ", "start": "2022-02-01", "end": "2021-01-01", "step": "hourly"},
        page="app_pages/replay.py",
    )
    said = " ".join(notices(at))
    assert "starts (01 Feb 2022) after it ends (01 Jan 2021)" in said
    assert "“hourly” is not “day” or “week”" in said
    # The Replay page's defaults (DEFAULT_START, DEFAULT_END: the Kazakhstan case).
    assert at.session_state["replay_range"] == (dt.date(2021, 10, 1), dt.date(2022, 2, 15))
    assert at.radio(key="replay_every").value == "day"
    assert query(at)["start"] == "2021-10-01" and query(at)["step"] == "day"


def test_a_bad_window_is_said_and_a_hostile_value_stays_text(
    snapshot_store: Path, use_store: Any
) -> None:
    use_store(snapshot_store)
    at = opened({"country": "KAZ", "window": "<b>x</b>"})
    said = [text for text in notices(at) if "chart window" in text]
    assert said and "showing 5 years" in said[0]
    assert "<b>" not in said[0], "the value is escaped for markdown"
    assert at.session_state["overview_window"] == "5 years"
    assert query(at)["window"] == "5y"


def test_view_params_drop_what_other_pages_own() -> None:
    state = {
        "country": "KAZ",
        as_of.AS_OF_KEY: PAST,
        "overview_window": "All",
        "country_history_window": "1 year",
        "replay_country": "UZB",
        "replay_range": (dt.date(2021, 1, 1), dt.date(2021, 2, 1)),
        "replay_every": "week",
    }
    assert url_state.view_params("", state, today()) == {
        "country": "KAZ",
        "as_of": PAST.isoformat(),
        "window": "all",
    }
    assert url_state.view_params("country", state, today()) == {
        "country": "KAZ",
        "as_of": PAST.isoformat(),
        "window": "1y",
    }
    assert url_state.view_params("replay", state, today()) == {
        "country": "UZB",
        "start": "2021-01-01",
        "end": "2021-02-01",
        "step": "week",
    }
    assert url_state.view_params("compare", state, today()) == {"country": "KAZ"}
    # Today is the live view: not pinned in the URL.
    assert "as_of" not in url_state.view_params("", {**state, as_of.AS_OF_KEY: today()}, today())
