"""Charts in a real Chromium: bounded to their window on a phone, readable on a dark page.

Against a real `streamlit run` on the bundled snapshot (the suite's `dashboard_server`); the
figures are read from plotly.js's own state in the page (`_fullLayout`, `data`).
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, Playwright, expect

from tests.dashboard.conftest import ACTION_TIMEOUT_MS, EXPECT_TIMEOUT_MS, DashboardServer
from tests.dashboard.test_browser import wait_for_app

pytestmark = pytest.mark.browser

TREND_90 = ".flashpoint-chart[aria-label^='Composite, last 90 days']"
# Each chart's layout as plotly.js drew it, and the names of its traces.
CHART_STATE = """(chart) => ({
    x: chart._fullLayout.xaxis.range,
    paper: chart._fullLayout.paper_bgcolor,
    plot: chart._fullLayout.plot_bgcolor,
    font: chart._fullLayout.font.color,
    names: chart.data.map((trace) => trace.name),
})"""


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def drawn(page: Page, selector: str) -> dict[str, Any]:
    chart = page.locator(selector).first
    expect(chart.locator(".main-svg").first).to_be_visible(timeout=EXPECT_TIMEOUT_MS)
    state: dict[str, Any] = chart.evaluate(CHART_STATE)
    return state


def channels(colour: str) -> list[float]:
    """ "rgba(r, g, b, a)" or "rgb(r, g, b)" (opaque) as [r, g, b, a]."""
    inside = colour[colour.index("(") + 1 : colour.index(")")]
    parts = [float(part) for part in inside.split(",")]
    return parts if len(parts) == 4 else [*parts, 1.0]


def test_phone_charts_show_exactly_the_selected_window(
    dashboard_server: DashboardServer, browser: Browser, playwright: Playwright, artifacts: Path
) -> None:
    phone = {**playwright.devices["Pixel 7"], "viewport": {"width": 390, "height": 844}}
    context = browser.new_context(**phone)
    page = context.new_page()
    page.set_default_timeout(ACTION_TIMEOUT_MS)
    page.goto(dashboard_server.url)
    wait_for_app(page)
    day = today()
    trend = drawn(page, TREND_90)
    assert [value[:10] for value in trend["x"]] == [
        f"{day - dt.timedelta(days=89):%Y-%m-%d}",
        f"{day:%Y-%m-%d}",
    ]
    # The trigger panel's chart (5 years by default) ends today, not at its last price.
    brent = page.locator(".flashpoint-chart .legendtext", has_text="Brent crude").first
    expect(brent).to_be_attached(timeout=EXPECT_TIMEOUT_MS)
    charts = page.locator(".flashpoint-chart").evaluate_all(f"(all) => all.map({CHART_STATE})")
    fuel = next(chart for chart in charts if "Brent crude" in chart["names"])
    assert fuel["x"][1][:10] == f"{day:%Y-%m-%d}"
    page.screenshot(path=str(artifacts / "dashboard-phone-charts.png"), full_page=True)
    context.close()


def test_charts_on_a_dark_page_have_no_white_background(
    dashboard_server: DashboardServer, page: Page, artifacts: Path
) -> None:
    page.emulate_media(color_scheme="dark")
    page.set_viewport_size({"width": 1280, "height": 1400})
    page.goto(dashboard_server.url)
    wait_for_app(page)
    state = drawn(page, TREND_90)
    assert channels(state["paper"])[3] == 0 and channels(state["plot"])[3] == 0  # transparent
    assert sum(channels(state["font"])[:3]) / 3 > 150, state["font"]  # light text on dark
    chart = page.locator(TREND_90).first
    pixels = np.asarray(Image.open(io.BytesIO(chart.screenshot())).convert("RGB"))
    white = float((pixels.min(axis=2) > 235).mean())
    assert white < 0.02, f"{white:.1%} of the chart's pixels are white"
    page.screenshot(path=str(artifacts / "dashboard-dark-charts.png"), full_page=True)
