"""Every dashboard page under Streamlit's AppTest, on the bundled snapshot and on an empty store.

Expected numbers are computed here from the store with the scoring functions (never copied from
the dashboard), then looked up in what the pages rendered: metric values, table cells and the
plotly figure specs (`json.loads(element.proto.spec)`).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from flashpoint import store
from flashpoint.config import iso3_countries, load_config
from indicators.methodology import METHODOLOGY_VERSION
from indicators.replay import replay
from indicators.scoring import PanelScore, score_panel
from tests.dashboard.conftest import (
    APP,
    CONFIG,
    HOSTILE_TITLE,
    chart_figure,
    chart_nodes,
    headline_text,
    sqlite_url,
)

PAGES = [
    "app_pages/overview.py",
    "app_pages/country.py",
    "app_pages/compare.py",
    "app_pages/replay.py",
    "app_pages/health.py",
    "app_pages/methodology.py",
]
TIMEOUT = 300


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@pytest.fixture(scope="module")
def expected(snapshot_store: Path) -> PanelScore:
    """The panel as scoring computes it from the snapshot store, today (all real countries)."""
    engine = store.make_engine(sqlite_url(snapshot_store))
    try:
        observations = store.read_observations(engine, include_forecasts=False)
    finally:
        engine.dispose()
    known = iso3_countries()
    countries = sorted(code for code in observations["country"].unique() if code in known)
    catalogue = load_config(CONFIG).catalogue()
    return score_panel(observations, catalogue, as_of=today(), countries=countries)


def open_app(page: str | None = None) -> AppTest:
    """Run the app (landing page), then switch to `page` when given."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    if page is not None:
        at.switch_page(page).run()
    return at


def figures(at: AppTest) -> list[dict[str, Any]]:
    """The plotly figures on the page, in page order, as the dicts the browser receives."""
    return [chart_figure(node) for node in chart_nodes(at)]


def trace(figure_list: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The first trace called `name` across the figures."""
    for figure in figure_list:
        for item in figure["data"]:
            if item.get("name") == name:
                return item
    raise AssertionError(f"no trace named {name!r}")


def metric(at: AppTest, label: str) -> str:
    for element in at.metric:
        if element.label == label:
            return str(element.value)
    raise AssertionError(f"no metric {label!r}: {[m.label for m in at.metric]}")


def page_text(at: AppTest) -> str:
    parts = [item.value for item in (*at.markdown, *at.caption, *at.info, *at.warning)]
    return "\n".join(str(part) for part in parts)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_loads_on_the_bundled_data(
    snapshot_store: Path, use_store: Any, page: str
) -> None:
    use_store(snapshot_store)
    at = open_app(page)
    assert not at.exception, [item.value for item in at.exception]
    assert not at.error, [item.value for item in at.error]
    assert at.title, "every page has a title"
    if page != "app_pages/methodology.py" and page != "app_pages/health.py":
        assert figures(at), f"{page} draws at least one chart"
    if page in ("app_pages/health.py", "app_pages/methodology.py", "app_pages/compare.py"):
        assert at.dataframe, f"{page} shows a table"


def test_overview_headline_is_the_scored_composite(
    snapshot_store: Path, use_store: Any, expected: PanelScore
) -> None:
    use_store(snapshot_store)
    at = open_app()
    row = expected.countries.loc["KAZ"]
    assert at.title[0].value == "Kazakhstan"
    blind = row["trigger_state"] == "blind"
    # On the bundled data scored today the trigger may be blind: its composite is then a range.
    composite = f"{row['composite']:.1f}"
    if blind:
        composite += f"–{row['composite_high']:.1f}"
    assert metric(at, "Composite risk (0–10)") == composite
    assert metric(at, "Confidence (inputs present)") == (
        f"{row['inputs_present']} of {row['inputs_expected']}"
    )
    assert metric(at, "Trigger") == ("blind" if blind else f"{row['trigger']:.1f}")
    assert any(str(row["band"]).upper() in item.value for item in at.markdown), "band pill"
    assert any(f"methodology v{METHODOLOGY_VERSION}" in item.value for item in at.caption)
    pillars = next(
        trace
        for trace in (figure["data"][0] for figure in figures(at))
        if trace.get("name") == "Pillar score"
    )
    kaz = expected.pillars[expected.pillars["country"] == "KAZ"].set_index("pillar")
    catalogue = load_config(CONFIG).catalogue()
    by_name = {catalogue.pillar(pid).name: score for pid, score in kaz["score"].items()}
    for label, shown in zip(pillars["y"], pillars["text"], strict=True):
        score = by_name[label]
        assert shown == ("blind" if pd.isna(score) and blind else f"{score:.1f}"), label


def test_trigger_panel_carries_the_lpg_jump(snapshot_store: Path, use_store: Any) -> None:
    use_store(snapshot_store)
    engine = store.make_engine(sqlite_url(snapshot_store))
    lpg_rows = store.read_observations(engine, indicators=["fuel_lpg_retail"], countries=["KAZ"])
    engine.dispose()
    stored = dict(zip(lpg_rows["period"].dt.strftime("%Y-%m-%d"), lpg_rows["value"], strict=True))
    at = open_app()
    lpg = trace(figures(at), "LPG")
    points = dict(zip(lpg["x"], lpg["y"], strict=True))
    assert points["2022-01-01"] == stored["2022-01-01"] == 120.0
    # every drawn point is a stored value (the first may be the window's entry level)
    for day, value in list(points.items())[1:]:
        assert stored[day] == value
    shocks = trace(figures(at), "Step ≥ 25%")
    assert "2022-01-01" in shocks["x"], "the +118 % step of 1 Jan 2022 is circled"
    latest = lpg_rows.sort_values("period").iloc[-1]
    assert metric(at, "LPG · KZT/litre") == f"{latest['value']:.1f}"


def test_picker_changes_the_country(
    snapshot_store: Path, use_store: Any, expected: PanelScore
) -> None:
    use_store(snapshot_store)
    at = open_app()
    at.selectbox(key="country").select("NGA").run()
    assert not at.exception
    assert at.title[0].value == "Nigeria"
    nga = expected.countries.loc["NGA"]
    shown = f"{nga['composite']:.1f}"
    if nga["trigger_state"] == "blind":
        shown += f"–{nga['composite_high']:.1f}"
    assert metric(at, "Composite risk (0–10)") == shown
    at.switch_page("app_pages/country.py").run()
    assert at.title[0].value == "Nigeria", "the choice follows the user to other pages"


def test_country_query_parameter_selects_the_country(snapshot_store: Path, use_store: Any) -> None:
    use_store(snapshot_store)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params["country"] = "ECU"
    at.run()
    assert at.title[0].value == "Ecuador"
    at.selectbox(key="country").select("UZB").run()
    assert at.query_params["country"] == ["UZB"] or at.query_params["country"] == "UZB"


def test_any_scored_country_opens_watched_first(
    snapshot_store: Path, use_store: Any, expected: PanelScore
) -> None:
    use_store(snapshot_store)
    watched = list(load_config(CONFIG).general.countries)
    assert "CHE" not in watched
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params["country"] = "che"  # any case
    at.run()
    assert not at.exception, [item.value for item in at.exception]
    assert at.title[0].value == "Switzerland"
    assert metric(at, "Composite risk (0–10)") == headline_text(expected.countries.loc["CHE"])
    picker = at.selectbox(key="country")
    assert picker.options[: len(watched)] == [picker.format_func(code) for code in watched]
    # Watched first (even one with nothing stored), then every scored country once.
    everyone = {picker.format_func(code) for code in [*watched, *expected.countries.index]}
    assert sorted(picker.options) == sorted(everyone)
    assert "Switzerland (CHE)" in picker.options
    # No "not a country code" notice (a blind-trigger warning may stand: it is about the data).
    assert not [item.value for item in at.warning if "ISO3 country code" in item.value]


def test_an_unknown_country_code_is_said_never_silently_replaced(
    snapshot_store: Path, use_store: Any
) -> None:
    use_store(snapshot_store)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params["country"] = "XYZ"
    at.run()
    assert not at.exception, [item.value for item in at.exception]
    notices = [item.value for item in at.warning if "XYZ" in item.value]
    assert notices and "not an ISO3 country code" in notices[0]
    assert "showing Kazakhstan" in notices[0], "it says which country is shown instead"


def test_overview_replay_button_replays_the_country_in_view(
    snapshot_store: Path, use_store: Any
) -> None:
    use_store(snapshot_store)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params["country"] = "CHE"
    at.run()
    button = at.button(key="overview_replay_preset")
    assert "Switzerland" in button.label
    button.click().run()
    assert not at.exception, [item.value for item in at.exception]
    assert at.title[0].value == "Replay"
    assert at.selectbox(key="replay_country").value == "CHE"
    start, end = at.session_state["replay_range"]
    assert end == today() and (end - start).days == 365
    composite = trace(figures(at), "Composite")
    assert composite["x"], "Switzerland's year is replayed"


def test_compare_map_shows_every_scored_composite(
    snapshot_store: Path, use_store: Any, expected: PanelScore
) -> None:
    use_store(snapshot_store)
    at = open_app("app_pages/compare.py")
    (choropleth,) = [
        item for figure in figures(at) for item in figure["data"] if item["type"] == "choropleth"
    ]
    scored = expected.countries["composite"].dropna()
    assert set(choropleth["locations"]) == set(scored.index)
    shown = dict(zip(choropleth["locations"], choropleth["z"], strict=True))
    assert math.isclose(shown["KAZ"], scored["KAZ"], rel_tol=1e-12)
    table = at.dataframe[0].value
    kaz = table[table["ISO3"] == "KAZ"].iloc[0]
    assert math.isclose(kaz["Composite"], scored["KAZ"], rel_tol=1e-12)
    assert list(table["Composite"].dropna()) == sorted(table["Composite"].dropna(), reverse=True)


def test_country_page_lists_every_indicator_with_its_latest_value(
    snapshot_store: Path, use_store: Any
) -> None:
    use_store(snapshot_store)
    at = open_app("app_pages/country.py")
    table = next(frame.value for frame in at.dataframe if "Indicator" in frame.value.columns)
    catalogue = load_config(CONFIG).catalogue()
    assert len(table) == len(catalogue.enabled_indicators)
    engine = store.make_engine(sqlite_url(snapshot_store))
    gini = store.read_observations(engine, indicators=["gini"], countries=["KAZ"])
    engine.dispose()
    newest = gini.sort_values("period").iloc[-1]
    row = table[table["Indicator"] == catalogue.indicator("gini").name].iloc[0]
    assert row["Latest"] == f"{newest['value']:.1f}"
    assert row["Period"] == str(newest["period"].year)
    assert row["Status"] in ("fresh", "stale")
    history = trace(figures(at), "Composite")
    assert history["x"], "the score history is drawn"


def test_replay_preset_is_one_click_from_the_overview(snapshot_store: Path, use_store: Any) -> None:
    use_store(snapshot_store)
    at = open_app()
    at.button(key="overview_replay_preset").click().run()
    assert not at.exception, [item.value for item in at.exception]
    assert at.title[0].value == "Replay"
    composite = trace(figures(at), "Composite")
    engine = store.make_engine(sqlite_url(snapshot_store))
    observations = store.read_observations(engine, countries=["KAZ", "WLD"])
    engine.dispose()
    frame = replay(
        observations,
        load_config(CONFIG).catalogue(),
        countries=["KAZ"],
        start="2021-10-01",
        end="2022-02-15",
    )
    assert composite["x"][0] == "2021-10-01" and composite["x"][-1] == "2022-02-15"
    shown = dict(zip(composite["x"], composite["y"], strict=True))
    on_jan_1 = frame.loc[frame["date"] == pd.Timestamp("2022-01-01"), "composite"].iloc[0]
    assert math.isclose(shown["2022-01-01"], on_jan_1, rel_tol=1e-12)
    crossings = trace(figures(at), "Trigger crossed")
    assert "2022-01-01" in crossings["x"]


def test_empty_store_shows_guidance_on_every_page(tmp_path: Path, use_store: Any) -> None:
    use_store(tmp_path / "empty.db")
    at = open_app()
    for page in [None, *PAGES]:
        if page is not None:
            at.switch_page(page).run()
        assert not at.exception, (page, [item.value for item in at.exception])
        if page != "app_pages/methodology.py":
            assert "flashpoint load-snapshot" in page_text(at), page


def test_country_without_data_explains_itself(
    snapshot_store: Path, tmp_path: Path, use_store: Any
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[general]\ncountries = ["KAZ", "ATA"]\ndefault_country = "KAZ"\n', encoding="utf-8"
    )
    use_store(snapshot_store, config=config)
    at = open_app()
    at.selectbox(key="country").select("ATA").run()
    for page in [None, *PAGES]:
        if page is not None:
            at.switch_page(page).run()
        assert not at.exception, (page, [item.value for item in at.exception])
    at.switch_page("app_pages/overview.py").run()
    assert "No scored data stored for Antarctica" in page_text(at)
    at.switch_page("app_pages/country.py").run()
    assert "No data stored for Antarctica" in page_text(at)


def test_new_data_shows_without_a_manual_reload(
    writable_snapshot_store: Path, use_store: Any
) -> None:
    url = use_store(writable_snapshot_store)
    at = open_app()
    before = metric(at, "LPG · KZT/litre")
    # Another process (the scheduler) stores the LPG price three days ago and today, 50 % up:
    # a synthetic step, not a recorded price.
    engine = store.make_engine(url)
    last = store.read_observations(engine, indicators=["fuel_lpg_retail"], countries=["KAZ"])
    old_value = float(last.sort_values("period").iloc[-1]["value"])
    new_value = old_value * 1.5
    day = pd.Timestamp(today())
    store.upsert_observations(
        engine,
        pd.DataFrame(
            {
                "indicator": ["fuel_lpg_retail"] * 2,
                "country": ["KAZ"] * 2,
                "period": [day - pd.Timedelta(days=3), day],
                "value": [old_value, new_value],
                "unit": ["KZT/litre"] * 2,
                "source": ["analyst"] * 2,
                "fetched_at": [pd.Timestamp.now(tz="UTC").tz_localize(None)] * 2,
            }
        ),
    )
    engine.dispose()
    at.run()  # the next run (a rerun or the fragment's timer); no cache cleared by hand
    after = metric(at, "LPG · KZT/litre")
    assert before != after == f"{new_value:.1f}"
    # st.badge is markdown (":red-badge[…]") under AppTest
    assert any(":red-badge[" in item.value and "Shock" in item.value for item in at.markdown)
    assert any("Fuel-price shock" in item.value for item in at.error)


def test_event_titles_are_escaped_in_figures(writable_snapshot_store: Path, use_store: Any) -> None:
    url = use_store(writable_snapshot_store)
    engine = store.make_engine(url)
    store.add_event(
        engine, country="KAZ", date=today() - dt.timedelta(days=200), title=HOSTILE_TITLE
    )
    engine.dispose()
    at = open_app("app_pages/country.py")
    spec = json.dumps(figures(at))
    assert "window.__flashpoint_xss" in spec, "the event is annotated"
    assert "<img" not in spec and "&lt;img src=x" in spec


def test_no_page_allows_raw_html() -> None:
    sources = [path.read_text(encoding="utf-8") for path in (APP.parent).rglob("*.py")]
    assert sources
    assert not any("unsafe_allow_html" in text for text in sources)
    assert not any("st.html(" in text for text in sources)


def test_methodology_says_how_each_pillar_combines_its_indicators(
    snapshot_store: Path, use_store: Any
) -> None:
    use_store(snapshot_store)
    at = open_app("app_pages/methodology.py")
    tables = [element.value for element in at.dataframe]
    pillars = next(table for table in tables if "Combines" in table.columns)
    combines = pillars.set_index("Id")["Combines"]
    catalogue = load_config(CONFIG).catalogue()
    for pillar in catalogue.pillars:
        wanted = "strongest indicator" if pillar.aggregation == "max" else "weighted mean"
        assert combines[pillar.id] == wanted
    assert combines["unrest_spike"] == "strongest indicator"


def test_overview_says_the_change_since_yesterday_and_last_week(
    snapshot_store: Path, use_store: Any
) -> None:
    use_store(snapshot_store)
    at = open_app()
    engine = store.make_engine(sqlite_url(snapshot_store))
    observations = store.read_observations(engine, countries=["KAZ", "WLD"])
    engine.dispose()
    day = today()
    frame = replay(
        observations,
        load_config(CONFIG).catalogue(),
        countries=["KAZ"],
        start=day - dt.timedelta(days=7),
        end=day,
    ).set_index("date")["composite"]
    now = frame[pd.Timestamp(day)]
    caption = next(item.value for item in at.caption if "Since yesterday" in item.value)
    yesterday = now - frame[pd.Timestamp(day - dt.timedelta(days=1))]
    last_week = now - frame[pd.Timestamp(day - dt.timedelta(days=7))]
    assert "Since yesterday: " in caption and f"{yesterday:+.2f}" in caption.split("·")[0]
    assert f"{last_week:+.2f}" in caption.split("·")[1]


def test_input_counts_are_the_same_on_every_page(
    snapshot_store: Path, use_store: Any, expected: PanelScore
) -> None:
    use_store(snapshot_store)
    row = expected.countries.loc["KAZ"]
    present, wanted, stale = (
        int(row["inputs_present"]),
        int(row["inputs_expected"]),
        int(row["inputs_stale"]),
    )
    at = open_app()
    assert metric(at, "Confidence (inputs present)") == f"{present} of {wanted}"
    assert any(item.value.startswith(f"{stale} stale") for item in at.caption)
    words = f"{present} of {wanted} inputs present, {stale} stale"
    at.switch_page("app_pages/country.py").run()
    assert words in page_text(at)
    at.switch_page("app_pages/compare.py").run()
    table = at.dataframe[0].value
    assert table.loc[table["ISO3"] == "KAZ", "Confidence"].iloc[0] == words
