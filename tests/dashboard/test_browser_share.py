"""Share and print in a real Chromium: a shared link restores its view, and the country brief
downloads from the real server as HTML and as PDF (both read back and checked).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pypdf
import pytest
from playwright.sync_api import Page, expect

from flashpoint import store
from flashpoint.config import load_config
from indicators.scoring import score_panel
from indicators.trigger_state import describe_composite
from tests.dashboard.conftest import CONFIG, DashboardServer, sqlite_url
from tests.dashboard.test_browser import off_loopback, wait_for_app

pytestmark = pytest.mark.browser

PAST = dt.date(2022, 1, 5)


def expected_headline(server: DashboardServer, country: str, day: dt.date) -> str:
    """The composite in words as scoring computes it for `country` on `day`."""
    engine = store.make_engine(sqlite_url(server.store_path))
    try:
        observations = store.read_observations(engine, include_forecasts=False)
    finally:
        engine.dispose()
    catalogue = load_config(CONFIG).catalogue()
    panel = score_panel(observations, catalogue, as_of=day, countries=[country])
    return describe_composite(panel.countries.loc[country])


def download(page: Page, label: str, folder: Path) -> tuple[str, bytes]:
    """Click a download button and return the saved file's name and bytes."""
    button = page.get_by_role("button", name=label)
    expect(button).to_be_visible()
    with page.expect_download() as info:
        button.click()
    saved = folder / info.value.suggested_filename
    info.value.save_as(saved)
    return info.value.suggested_filename, saved.read_bytes()


def test_a_shared_link_opens_its_view_and_the_brief_downloads(
    dashboard_server: DashboardServer, page: Page, tmp_path: Path, artifacts: Path
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.set_viewport_size({"width": 1440, "height": 1800})
    page.goto(f"{dashboard_server.url}/country?country=KAZ&as_of={PAST.isoformat()}&window=1y")
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Kazakhstan", exact=True)).to_be_visible()
    expect(page.get_by_text(f"As of {PAST:%d %B %Y}.")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    assert re.search(rf"/country\?.*as_of={PAST.isoformat()}", page.url), page.url
    assert "window=1y" in page.url and "country=KAZ" in page.url
    headline = expected_headline(dashboard_server, "KAZ", PAST)

    name, body = download(page, "Country brief (HTML)", tmp_path)
    assert name == f"flashpoint_brief_KAZ_{PAST.isoformat()}.html"
    text = body.decode("utf-8")
    assert text.startswith("<!DOCTYPE html>") and "<svg" in text and "<script" not in text
    assert "Kazakhstan (KAZ): stability-risk brief" in text
    assert headline in text
    assert f"As of {PAST:%d %B %Y}" in text

    name, body = download(page, "Country brief (PDF)", tmp_path)
    assert name == f"flashpoint_brief_KAZ_{PAST.isoformat()}.pdf"
    assert body.startswith(b"%PDF-1.4")
    reader = pypdf.PdfReader(io.BytesIO(body), strict=True)
    words = " ".join(" ".join(page_.extract_text() for page_ in reader.pages).split())
    assert headline in words and f"As of {PAST:%d %B %Y}" in words

    page.screenshot(path=str(artifacts / "dashboard-shared-view.png"), full_page=True)
    assert not off_loopback(requested), off_loopback(requested)


def test_a_link_with_a_future_date_says_so(dashboard_server: DashboardServer, page: Page) -> None:
    page.set_viewport_size({"width": 1440, "height": 1400})
    future = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)
    page.goto(f"{dashboard_server.url}/?country=KAZ&as_of={future.isoformat()}")
    wait_for_app(page)
    expect(page.get_by_text("is in the future")).to_be_visible()
    expect(page.get_by_text("Every number on this page is scored")).to_have_count(0)
    assert "as_of=" not in page.url, page.url
