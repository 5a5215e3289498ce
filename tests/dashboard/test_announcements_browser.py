"""An admin adds an announced price change through the real form, in headless Chromium against
`streamlit run`: log in, pick the country, fill the form, submit; the store holds it with its
product and URL, the audit log names the admin, and the list shows the URL as a link.

The announcement typed here is SYNTHETIC (made up for the test). Every wait is on a condition.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from fetchers.policy_calendar import INDICATOR
from flashpoint import store
from tests.dashboard.conftest import sqlite_url, start_dashboard, stop
from tests.dashboard.test_browser import wait_for_app

pytestmark = pytest.mark.browser

PASSWORD = "synthetic admin password for the browser test"
URL = "https://example.org/synthetic-decree"


@pytest.fixture
def admin_dashboard(writable_snapshot_store: Path, tmp_path: Path) -> Iterator[str]:
    """The dashboard on a private copy of the snapshot, with an admin password configured."""
    process, url = start_dashboard(
        writable_snapshot_store,
        tmp_path / "streamlit.log",
        extra_env={"FLASHPOINT_ADMIN_PASSWORD": PASSWORD},
    )
    try:
        yield url
    finally:
        stop(process)


def set_date(form: Locator, label: str, year: str, month: str, day: str) -> None:
    """Type a date into Streamlit's segmented date input (year, month, day spin buttons)."""
    for part, value in (("year", year), ("month", month), ("day", day)):
        segment = form.get_by_role("spinbutton", name=f"{part}, {label}")
        segment.click()
        segment.press_sequentially(value)
        expect(segment).to_have_text(value)


def test_an_admin_adds_an_announcement_through_the_form(
    admin_dashboard: str, writable_snapshot_store: Path, page: Page
) -> None:
    page.set_viewport_size({"width": 1440, "height": 1600})
    page.goto(f"{admin_dashboard}/announcements")
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Announced price changes")).to_be_visible()
    expect(page.get_by_text("Read-only", exact=False)).to_be_visible()

    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("Admin", exact=True).click()
    sidebar.get_by_label("Admin password").fill(PASSWORD)
    sidebar.get_by_role("button", name="Log in").click()
    expect(sidebar.get_by_text("Signed in as", exact=False)).to_be_visible()
    wait_for_app(page)

    form = page.get_by_test_id("stForm").filter(has_text="Add announcement")
    form.get_by_test_id("stSelectbox").click()
    page.keyboard.type("Uzbek")
    page.get_by_role("option", name="Uzbekistan (UZB)").click()
    form.get_by_label("Product").fill("synthetic bread")
    set_date(form, "Announced", "2026", "11", "20")
    set_date(form, "Effective (the day the new price applies)", "2027", "01", "05")
    form.get_by_label("Expected change (%)").fill("35")
    form.get_by_label("Source URL").fill(URL)
    form.get_by_role("button", name="Add announcement").click()
    expect(page.get_by_text("Added: UZB synthetic bread, +35 %", exact=False)).to_be_visible()
    wait_for_app(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)

    engine = store.make_engine(sqlite_url(writable_snapshot_store))
    try:
        (row,) = store.read_announcements(engine, countries=["UZB"]).itertuples()
        shocks = store.read_observations(engine, indicators=[INDICATOR], countries=["UZB"])
        audit = store.read_audit(engine)
    finally:
        engine.dispose()
    assert row.product == "synthetic bread" and row.source_url == URL
    assert row.expected_change_pct == 35.0 and row.created_by == "admin"
    assert shocks["value"].tolist() == [35.0]
    added = audit[audit["action"] == "announcement_add"]
    assert added["actor"].tolist() == ["admin"]  # `[dashboard] admin_name` of config.toml
    assert row.announced.date().isoformat() == "2026-11-20"
    assert row.effective.date().isoformat() == "2027-01-05"
    # The list now shows it (a data grid drawn on a canvas: its cells are not in the DOM).
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
