"""The dashboard in a real headless Chromium against `streamlit run`, on the bundled snapshot.

Each page is opened over loopback, waited on until Streamlit has finished running, checked for
its headline and charts, and photographed into `test-artifacts/`. Every request the browser makes
is recorded: none may leave 127.0.0.1 (the world map's topojson is served by the app itself).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from dashboard import basic_chart
from flashpoint import store
from flashpoint.config import iso3_countries, load_config
from indicators.scoring import score_panel
from tests.dashboard.conftest import (
    ACTION_TIMEOUT_MS,
    CONFIG,
    EXPECT_TIMEOUT_MS,
    HOSTILE_TITLE,
    DashboardServer,
    headline_text,
    sqlite_url,
)

pytestmark = pytest.mark.browser

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
PAGES = [
    ("", "Kazakhstan", True),
    ("country", "Kazakhstan", True),
    ("compare", "Compare countries", True),
    ("replay", "Replay", True),
    ("announcements", "Announced price changes", False),
    ("health", "Data health", False),
    ("methodology", "Methodology", False),
]


@pytest.fixture
def watched_page(page: Page) -> Iterator[tuple[Page, list[str]]]:
    """The browser page plus the URL of every request it makes."""
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    yield page, requested


def expect_country_open(page: Page, name: str, code: str) -> None:
    """The page shows `name` and the URL holds its code (so the view can be shared)."""
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
    wait_for_app(page)
    assert re.search(rf"[?&]country={code}", page.url), page.url


def wait_for_app(page: Page) -> None:
    """Wait until Streamlit connected, ran the script to the end and drew no skeletons."""
    page.locator("[data-testid='stApp'][data-test-connection-state='CONNECTED']").wait_for(
        state="attached"
    )
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(
        state="attached"
    )
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=EXPECT_TIMEOUT_MS)


def off_loopback(urls: list[str]) -> list[str]:
    """The requested URLs whose host is not loopback (data: and blob: URLs have no host)."""
    outside = []
    for url in urls:
        parsed = urlparse(url)
        if parsed.scheme in ("data", "blob", "about"):
            continue
        if parsed.hostname not in LOOPBACK:
            outside.append(url)
    return outside


@pytest.mark.parametrize(("path", "heading", "has_chart"), PAGES)
def test_every_page_renders_offline(
    dashboard_server: DashboardServer,
    watched_page: tuple[Page, list[str]],
    artifacts: Path,
    path: str,
    heading: str,
    has_chart: bool,
) -> None:
    page, requested = watched_page
    page.set_viewport_size({"width": 1440, "height": 2200})
    page.goto(f"{dashboard_server.url}/{path}")
    wait_for_app(page)
    expect(page.get_by_role("heading", name=heading, exact=True).first).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    if has_chart:
        expect(page.locator(".js-plotly-plot").first).to_be_visible()
    if path == "compare":
        # The choropleth draws from the app's own topojson: no CDN.
        expect(page.locator(".choroplethlocation").first).to_be_attached()
    page.screenshot(path=str(artifacts / f"dashboard-{path or 'overview'}.png"), full_page=True)
    assert not off_loopback(requested), off_loopback(requested)


def test_overview_headline_is_the_scored_composite(
    dashboard_server: DashboardServer, watched_page: tuple[Page, list[str]]
) -> None:
    engine = store.make_engine(sqlite_url(dashboard_server.store_path))
    try:
        observations = store.read_observations(engine, include_forecasts=False)
    finally:
        engine.dispose()
    known = iso3_countries()
    countries = sorted(code for code in observations["country"].unique() if code in known)
    panel = score_panel(
        observations,
        load_config(CONFIG).catalogue(),
        as_of=dt.datetime.now(dt.UTC).date(),
        countries=countries,
    )
    page, requested = watched_page
    page.goto(dashboard_server.url)
    wait_for_app(page)
    headline = page.get_by_test_id("stMetric").filter(has_text="Composite risk")
    expect(headline.get_by_test_id("stMetricValue")).to_have_text(
        headline_text(panel.countries.loc["KAZ"])
    )
    band = str(panel.countries.loc["KAZ", "band"]).upper()
    expect(page.get_by_text(band, exact=True).first).to_be_visible()
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    assert not off_loopback(requested)


def test_basic_charts_are_drawn_from_the_app_and_stay_interactive(
    dashboard_server: DashboardServer, watched_page: tuple[Page, list[str]], artifacts: Path
) -> None:
    page, requested = watched_page
    page.set_viewport_size({"width": 1440, "height": 1400})
    page.goto(dashboard_server.url)
    wait_for_app(page)
    charts_on_page = page.locator(".flashpoint-chart")
    expect(charts_on_page.first.locator(".main-svg").first).to_be_visible()
    # The basic bundle comes from the app itself; Streamlit's full plotly chunk is never needed.
    assert any(url.endswith(basic_chart.BUNDLE_URL) for url in requested), requested
    assert not [url for url in requested if "/PlotlyChart." in url]
    # Hovering a pillar bar shows plotly's hover label (plotly.js's own styles reach the chart).
    # (the pillar chart: the trend lines above it have no bars)
    pillars = charts_on_page.filter(has=page.locator(".bars .point path")).first
    bar = pillars.locator(".bars .point path").last
    bar.scroll_into_view_if_needed()
    box = bar.bounding_box()
    assert box is not None and box["width"] > 0
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(pillars.locator(".hoverlayer .hovertext")).to_have_count(1)
    page.screenshot(path=str(artifacts / "dashboard-basic-chart-hover.png"))
    # Closing the sidebar widens the main column without a window resize: the chart follows.
    width_before = pillars.locator(".main-svg").first.bounding_box()
    page.get_by_test_id("stSidebar").hover()
    page.get_by_test_id("stSidebarCollapseButton").locator("button").click()
    expect(page.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "true")
    assert width_before is not None
    page.wait_for_function(
        """([selector, before]) => {
            const svg = document.querySelector(selector);
            return svg && svg.getBoundingClientRect().width > before + 50;
        }""",
        arg=[".flashpoint-chart .main-svg", width_before["width"]],
        timeout=EXPECT_TIMEOUT_MS,
    )
    assert not off_loopback(requested)


def test_a_chart_bundle_that_cannot_load_is_said_in_words(
    dashboard_server: DashboardServer, watched_page: tuple[Page, list[str]]
) -> None:
    page, _ = watched_page
    # The bundle request fails (as behind a proxy that blocks /app/static/): the page still
    # renders, and each chart says why it is empty instead of staying blank.
    page.route(f"**/{basic_chart.BUNDLE_URL}", lambda route: route.abort())
    page.goto(dashboard_server.url)
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Kazakhstan", exact=True)).to_be_visible()
    expect(page.locator(".flashpoint-chart").first).to_contain_text(
        "The chart could not be drawn: could not load", timeout=EXPECT_TIMEOUT_MS
    )
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_query_parameter_and_picker_choose_the_country(
    dashboard_server: DashboardServer, watched_page: tuple[Page, list[str]]
) -> None:
    page, _ = watched_page
    page.goto(f"{dashboard_server.url}/?country=NGA")
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Nigeria", exact=True)).to_be_visible()
    open_country_from_picker(page, "Ecuador", "Ecuador (ECU)")
    expect_country_open(page, "Ecuador", "ECU")


def test_fetched_text_is_shown_as_text_never_as_html(
    dashboard_server: DashboardServer, watched_page: tuple[Page, list[str]], artifacts: Path
) -> None:
    page, _ = watched_page
    page.set_viewport_size({"width": 1440, "height": 1400})
    page.goto(f"{dashboard_server.url}/country")
    wait_for_app(page)
    # The synthetic event (hostile title) is annotated on the score history as literal text.
    expect(page.get_by_text('<img src=x onerror="window.', exact=False).first).to_be_attached()
    assert page.evaluate("() => window.__flashpoint_xss") is None
    assert page.locator("img[src='x']").count() == 0
    page.screenshot(path=str(artifacts / "dashboard-escaped-event.png"))
    assert HOSTILE_TITLE.startswith("<img")


def open_country_from_picker(page: Page, search: str, option: str) -> None:
    """Type into the sidebar's country picker and choose `option`."""
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").click()
    page.keyboard.type(search)
    page.get_by_role("option", name=option).click()


def test_a_country_outside_the_watched_list_opens_from_the_picker(
    dashboard_server: DashboardServer, watched_page: tuple[Page, list[str]]
) -> None:
    page, _ = watched_page
    page.goto(dashboard_server.url)
    wait_for_app(page)
    open_country_from_picker(page, "switz", "Switzerland (CHE)")
    expect(page.get_by_role("heading", name="Switzerland", exact=True)).to_be_visible()
    wait_for_app(page)
    expect(page.get_by_test_id("stMetric").filter(has_text="Composite risk")).to_be_visible()
    assert re.search(r"[?&]country=CHE", page.url), page.url
    # …and by its code.
    open_country_from_picker(page, "ECU", "Ecuador (ECU)")
    expect(page.get_by_role("heading", name="Ecuador", exact=True)).to_be_visible()


# Where a country's shape is on the plotly map (its calcdata item carries the ISO3 code).
_COUNTRY_ON_MAP = """(code) => {
    const shape = Array.from(document.querySelectorAll('.choroplethlocation'))
        .find((path) => path.__data__ && path.__data__.loc === code);
    if (!shape) return null;
    const box = shape.getBoundingClientRect();
    return {x: box.x + box.width / 2, y: box.y + box.height / 2};
}"""


def test_a_click_on_the_map_opens_that_country(
    dashboard_server: DashboardServer, watched_page: tuple[Page, list[str]], artifacts: Path
) -> None:
    page, _ = watched_page
    page.set_viewport_size({"width": 1440, "height": 1400})
    page.goto(f"{dashboard_server.url}/compare")
    wait_for_app(page)
    chart = page.locator(".js-plotly-plot").filter(has=page.locator(".choroplethlocation"))
    chart.scroll_into_view_if_needed()
    expect(chart.locator(".choroplethlocation").first).to_be_attached()
    page.wait_for_function(f"() => ({_COUNTRY_ON_MAP})('CHE') !== null")
    centre = page.evaluate(_COUNTRY_ON_MAP, "CHE")
    page.mouse.move(centre["x"], centre["y"])
    expect(chart.locator(".hoverlayer .hovertext")).to_contain_text("CHE")
    page.mouse.click(centre["x"], centre["y"])
    expect(page.get_by_role("heading", name="Switzerland", exact=True)).to_be_visible()
    wait_for_app(page)
    page.screenshot(path=str(artifacts / "dashboard-opened-from-map.png"))
    assert "/country" in page.url and re.search(r"[?&]country=CHE", page.url), page.url


def test_a_click_on_a_compare_row_opens_that_country(
    dashboard_server: DashboardServer, watched_page: tuple[Page, list[str]]
) -> None:
    engine = store.make_engine(sqlite_url(dashboard_server.store_path))
    try:
        observations = store.read_observations(engine, include_forecasts=False)
    finally:
        engine.dispose()
    settings = load_config(CONFIG)
    known = iso3_countries()
    countries = sorted(code for code in observations["country"].unique() if code in known)
    panel = score_panel(
        observations,
        settings.catalogue(),
        as_of=dt.datetime.now(dt.UTC).date(),
        countries=countries,
    )
    watched = [code for code in settings.general.countries if code in panel.countries.index]
    top = str(panel.countries.loc[watched, "composite"].idxmax())  # the table's first row
    page, _ = watched_page
    page.set_viewport_size({"width": 1440, "height": 1400})
    page.goto(f"{dashboard_server.url}/compare")
    wait_for_app(page)
    grid = page.get_by_test_id("stDataFrame").first
    expect(grid).to_be_visible()
    box = grid.bounding_box()
    assert box is not None
    # The row-selection marker of the first data row (below the 35 px header row).
    page.mouse.click(box["x"] + 14, box["y"] + 35 + 17)
    expect_country_open(page, known[top], top)


def test_replay_alerts_tab_lists_the_january_2022_alerts(
    dashboard_server: DashboardServer, watched_page: tuple[Page, list[str]], artifacts: Path
) -> None:
    page, _ = watched_page
    page.set_viewport_size({"width": 1440, "height": 1800})
    page.goto(f"{dashboard_server.url}/replay?country=KAZ")
    wait_for_app(page)
    page.get_by_role("tab", name="Alerts that would have fired").click()
    wait_for_app(page)
    panel = page.get_by_role("tabpanel")
    expect(panel.get_by_text("Open this tab")).to_have_count(0)
    expect(panel.get_by_text("would have fired; the first")).to_be_visible()
    expect(panel.get_by_text("01 Jan 2022").first).to_be_visible()
    expect(panel.get_by_test_id("stDataFrame")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    page.screenshot(path=str(artifacts / "dashboard-replay-alerts.png"), full_page=True)


def test_chart_png_downloads_from_the_browser(
    dashboard_server: DashboardServer, watched_page: tuple[Page, list[str]], tmp_path: Path
) -> None:
    # plotly.js's own export (the mode bar's camera): no kaleido, no server round trip.
    page, requested = watched_page
    page.set_viewport_size({"width": 1440, "height": 1400})
    page.goto(dashboard_server.url)
    wait_for_app(page)
    chart = page.locator(".flashpoint-chart").first
    expect(chart.locator(".main-svg").first).to_be_visible()
    camera = chart.locator(".modebar-btn[data-title^='Download plot']")
    chart.hover()
    with page.expect_download() as download_info:
        camera.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".png"), download.suggested_filename
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    png = saved.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5_000
    assert not off_loopback(requested)


def test_phone_layout_shows_the_page_not_the_sidebar(
    dashboard_server: DashboardServer, browser: Browser, playwright: Playwright, artifacts: Path
) -> None:
    # A phone (touch, mobile user agent: Streamlit closes its sidebar after a tap on a page
    # link only on mobile devices) with a 390×844 screen.
    phone = {**playwright.devices["Pixel 7"], "viewport": {"width": 390, "height": 844}}
    context = browser.new_context(**phone)
    page = context.new_page()
    page.set_default_timeout(ACTION_TIMEOUT_MS)
    page.goto(dashboard_server.url)
    wait_for_app(page)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar).to_have_attribute("data-collapsed", "true")
    expect(page.get_by_role("heading", name="Kazakhstan", exact=True)).to_be_in_viewport()
    # Open the menu, go to another page: the sidebar gets out of the way again.
    page.get_by_test_id("stExpandSidebarButton").click()
    expect(sidebar).to_have_attribute("data-collapsed", "false")
    sidebar.get_by_role("link", name="Compare").tap()
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Compare countries", exact=True)).to_be_in_viewport()
    expect(sidebar).to_have_attribute("data-collapsed", "true")
    page.screenshot(path=str(artifacts / "dashboard-phone.png"))
    context.close()


def test_the_theme_follows_the_browser_preference(
    dashboard_server: DashboardServer, watched_page: tuple[Page, list[str]]
) -> None:
    page, _ = watched_page
    page.emulate_media(color_scheme="dark")
    page.goto(dashboard_server.url)
    wait_for_app(page)
    background = page.evaluate(
        """() => getComputedStyle(document.querySelector("[data-testid='stApp']"))
            .backgroundColor"""
    )
    channels = [int(value) for value in re.findall(r"\d+", background)[:3]]
    assert sum(channels) / 3 < 80, background  # a dark page, not the light theme
