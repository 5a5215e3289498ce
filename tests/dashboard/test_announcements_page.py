"""The Announcements page with AppTest: viewers read the calendar only — forged session state and
a server-side re-check stop every write — and an admin adds, edits and deletes through validated,
audited forms whose changes move the scheduled shock.

All announcements here are SYNTHETIC (made up for the test); the hostile note checks escaping.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
import streamlit as st
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Widget

from fetchers.policy_calendar import INDICATOR, Announcement
from flashpoint import auth, store

PAGE = Path(__file__).resolve().parents[2] / "dashboard" / "app_pages" / "announcements.py"
PASSWORD = "correct horse battery staple"
CONFIG = """
[general]
countries = ["KAZ", "UZB"]
default_country = "KAZ"

[dashboard]
admin_name = "Alice"
"""
HOSTILE_NOTE = '<img src=x onerror="alert(1)"> **decree**'
# SYNTHETIC announcement stored before the page opens.
LPG = Announcement("KAZ", "LPG", dt.date(2021, 12, 1), dt.date(2022, 1, 1), 100.0,
                   "https://example.org/decree", HOSTILE_NOTE)
BAD_LINK = Announcement("UZB", "diesel", dt.date(2022, 3, 1), dt.date(2022, 3, 15), 15.0)


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    st.cache_data.clear()
    st.cache_resource.clear()
    auth.THROTTLE.reset()
    yield
    auth.THROTTLE.reset()
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'flashpoint.db'}"
    engine = store.make_engine(url)
    store.init_schema(engine)
    store.save_announcements(engine, [LPG, BAD_LINK], actor="seed")
    with engine.begin() as connection:  # a stored URL that is not http(s) (e.g. an old import)
        connection.execute(
            store.announcements.update()
            .where(store.announcements.c.country == "UZB")
            .values(source_url="javascript:alert(1)")
        )
    engine.dispose()
    monkeypatch.setenv("FLASHPOINT_CONFIG", str(config))
    monkeypatch.setenv("FLASHPOINT_DATABASE_URL", url)
    monkeypatch.setenv("FLASHPOINT_ADMIN_PASSWORD", PASSWORD)
    monkeypatch.delenv("FLASHPOINT_ADMIN_EMAILS", raising=False)
    return url


def page() -> AppTest:
    return AppTest.from_file(str(PAGE), default_timeout=60)


def writes(url: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table an announcement edit writes."""
    engine = store.make_engine(url)
    tables = (store.announcements, store.audit_log, store.observations)
    with engine.connect() as connection:
        rows = {t.name: [tuple(row) for row in connection.execute(sa.select(t))] for t in tables}
    engine.dispose()
    return rows


def errors(at: AppTest) -> str:
    """The error messages as a reader sees them (markdown escapes removed)."""
    return "\n".join(element.value for element in at.error).replace("\\", "")


def button(at: AppTest, label: str) -> Widget:
    return next(item for item in at.button if item.label == label)


def login(at: AppTest) -> None:
    at.text_input(key="admin_password").set_value(PASSWORD)
    button(at, "Log in").click().run()
    assert not at.exception and auth.ADMIN_TOKEN_KEY in at.session_state


def shocks(url: str) -> pd.DataFrame:
    engine = store.make_engine(url)
    try:
        return store.read_observations(engine, indicators=[INDICATOR])
    finally:
        engine.dispose()


def test_a_viewer_reads_the_calendar_with_product_url_and_no_forms(store_url: str) -> None:
    at = page().run()
    assert not at.exception
    assert at.title[0].value == "Announced price changes"
    table = at.dataframe[0].value.set_index("Product")
    assert table.loc["LPG", "Source"] == "https://example.org/decree"
    assert table.loc["LPG", "Note"] == HOSTILE_NOTE  # plain text in a data frame, never HTML
    assert table.loc["LPG", "Expected change (%)"] == 100.0
    assert table.loc["LPG", "In the trigger"].startswith("no longer")  # took effect in 2022
    assert pd.isna(table.loc["diesel", "Source"])  # a javascript: URL is never a link
    assert not [item for item in at.button if item.label == "Add announcement"]
    assert "Read-only" in "\n".join(item.value for item in at.caption)


def test_a_viewer_cannot_write_even_with_forged_session_and_a_crafted_client(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = writes(store_url)
    at = page().run()
    at.session_state[auth.ADMIN_TOKEN_KEY] = "Alice|9999999999|" + "0" * 64
    at.session_state["is_admin"] = True
    at.run()
    assert not at.exception
    assert not [item for item in at.button if item.label == "Add announcement"]
    assert writes(store_url) == before


class AdminUntilTheWrite:
    """`auth.current_admin` answering from a script: an admin while the page renders, no longer
    when the write re-checks (a session revoked between rendering and submitting)."""

    def __init__(self, answers: list[str | None]) -> None:
        self.answers = answers
        self.calls = 0

    def __call__(self, *args: object, **kwargs: object) -> str | None:
        answer = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        return answer


def test_every_write_rechecks_the_admin_on_the_server(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = writes(store_url)
    fake = AdminUntilTheWrite(["mallory", "mallory", None])
    monkeypatch.setattr(auth, "current_admin", fake)
    at = page().run()
    at.text_input(key="ann_add_product").set_value("bread")
    at.text_input(key="ann_add_change").set_value("12")
    button(at, "Add announcement").click().run()
    assert not at.exception
    assert fake.calls == 3
    assert "Only an admin can add, edit or delete announcements" in errors(at)
    assert writes(store_url) == before


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("ann_add_change", "a lot", "Expected change (%)**: 'a lot' is not a number"),
        ("ann_add_change", "inf", "Expected change (%)**: must be a finite number"),
        ("ann_add_url", "ftp://example.org/x", "Source URL**: 'ftp://example.org/x' is not an"),
        ("ann_add_product", "", "Product**: required"),
    ],
)
def test_bad_input_is_named_and_nothing_is_written(
    store_url: str, field: str, value: str, shown: str
) -> None:
    at = page().run()
    login(at)
    before = writes(store_url)
    at.text_input(key="ann_add_product").set_value("bread")
    at.text_input(key="ann_add_change").set_value("12")
    at.text_input(key=field).set_value(value)
    button(at, "Add announcement").click().run()
    assert not at.exception
    assert shown in errors(at)
    assert writes(store_url) == before


def test_effective_before_announced_is_refused(store_url: str) -> None:
    at = page().run()
    login(at)
    before = writes(store_url)
    at.text_input(key="ann_add_product").set_value("bread")
    at.text_input(key="ann_add_change").set_value("12")
    at.date_input(key="ann_add_announced").set_value(dt.date(2024, 5, 10))
    at.date_input(key="ann_add_effective").set_value(dt.date(2024, 5, 1))
    button(at, "Add announcement").click().run()
    assert "Effective**: 2024-05-01 is before the announcement (2024-05-10)" in errors(at)
    assert writes(store_url) == before


def test_unknown_country_is_refused_by_the_shared_rules(store_url: str) -> None:
    # The picker offers known countries only; a crafted value still meets the same check.
    from fetchers.policy_calendar import check_announcement

    record, problems = check_announcement(
        {"country": "XXK", "product": "bread", "announced": "2024-01-01",
         "effective": "2024-01-02", "expected_change_pct": "5", "source_url": ""}
    )
    assert record is None and problems[0].field == "country"
    assert "not an ISO3 country code" in problems[0].message


def test_an_admin_adds_edits_and_deletes_with_audit_and_shock(store_url: str) -> None:
    at = page().run()
    login(at)
    at.selectbox(key="ann_add_country").set_value("UZB")
    at.text_input(key="ann_add_product").set_value("bread")
    at.date_input(key="ann_add_announced").set_value(dt.date(2024, 5, 1))
    at.date_input(key="ann_add_effective").set_value(dt.date(2024, 6, 1))
    at.text_input(key="ann_add_change").set_value("40")
    at.text_input(key="ann_add_url").set_value("https://example.org/uzb")
    button(at, "Add announcement").click().run()
    assert not at.exception and not errors(at)
    assert "Added: UZB bread, +40 %" in at.success[0].value.replace("\\", "")
    uzb = shocks(store_url).set_index("period").loc[pd.Timestamp("2024-06-01")]
    assert uzb["value"] == 40.0 and uzb["published_at"] == pd.Timestamp("2024-05-01")

    engine = store.make_engine(store_url)
    try:
        added = store.read_announcements(engine).set_index("product").loc["bread"]
    finally:
        engine.dispose()
    added_id = int(added["id"])
    at.selectbox(key="ann_edit_choice").set_value(added_id)
    at.run()
    at.text_input(key=f"ann_edit_{added_id}_change").set_value("25")
    button(at, "Save changes").click().run()
    assert not at.exception and not errors(at)
    uzb = shocks(store_url).set_index("period").loc[pd.Timestamp("2024-06-01")]
    assert uzb["value"] == 25.0

    at.selectbox(key="ann_edit_choice").set_value(added_id)
    at.run()
    button(at, "Delete announcement").click().run()
    assert "nothing was deleted" in at.warning[0].value  # not confirmed
    at.checkbox(key=f"ann_delete_confirm_{added_id}").check()
    button(at, "Delete announcement").click().run()
    assert not at.exception
    assert pd.Timestamp("2024-06-01") not in set(shocks(store_url)["period"])

    engine = store.make_engine(store_url)
    try:
        audit = store.read_audit(engine)
    finally:
        engine.dispose()
    mine = audit[audit["object"] == f"announcement:{added_id}"].sort_values("id")
    assert list(mine["action"]) == ["announcement_add", "announcement_edit", "announcement_delete"]
    assert set(mine["actor"]) == {"Alice"}  # the login identity, `[dashboard] admin_name`



def test_country_detail_lists_the_open_countrys_announcements(store_url: str) -> None:
    from dashboard import components

    country_page = PAGE.parent / "country.py"
    at = AppTest.from_file(str(country_page), default_timeout=60)
    at.session_state[components.COUNTRY_KEY] = "KAZ"
    at.run()
    assert not at.exception
    (calendar,) = [item for item in at.expander if item.label.startswith("Announced price")]
    assert calendar.label == "Announced price changes (1)"
    table = calendar.dataframe[0].value
    assert table["Product"].tolist() == ["LPG"]  # KAZ only: not UZB's diesel
    assert table["Source"].tolist() == ["https://example.org/decree"]


def test_the_page_is_in_the_app_navigation_on_the_bundled_data(
    snapshot_store: Path, use_store: Any
) -> None:
    # The snapshot records no announcement: the page says so instead of showing an empty table.
    use_store(snapshot_store)
    at = AppTest.from_file(str(PAGE.parents[1] / "app.py"), default_timeout=300)
    at.run()
    at.switch_page("app_pages/announcements.py").run()
    assert not at.exception, [item.value for item in at.exception]
    assert at.title[0].value == "Announced price changes"
    assert any("No announced price change is recorded" in item.value for item in at.info)
    assert not at.dataframe


def test_replay_lists_the_announcements_of_its_range(
    writable_snapshot_store: Path, use_store: Any
) -> None:
    url = use_store(writable_snapshot_store)
    engine = store.make_engine(url)
    try:
        store.save_announcements(engine, [LPG, BAD_LINK], actor="seed")
    finally:
        engine.dispose()
    at = AppTest.from_file(str(PAGE.parents[1] / "app.py"), default_timeout=300)
    at.session_state["replay_country"] = "KAZ"
    at.session_state["replay_range"] = (dt.date(2021, 11, 1), dt.date(2022, 1, 31))
    at.session_state["replay_every"] = "week"
    at.run()
    at.switch_page("app_pages/replay.py").run()
    assert not at.exception, [item.value for item in at.exception]
    (calendar,) = [item for item in at.expander if item.label.startswith("Announced price")]
    assert calendar.label == "Announced price changes in this range (1)"  # KAZ's, not UZB's
    table = calendar.dataframe[0].value
    assert table["Product"].tolist() == ["LPG"]
    assert table["Counts from"].tolist() == [dt.date(2021, 12, 1)]
    assert table["Counts until"].tolist() == [dt.date(2022, 2, 1)]


def test_the_overview_trigger_tile_names_the_announced_product(
    writable_snapshot_store: Path, use_store: Any
) -> None:
    # SYNTHETIC: diesel +20 % announced first, LPG +100 % later, one effective day (in 10 days).
    # The store keeps one shock row (the larger); the tile must say it is LPG's.
    today = dt.datetime.now(dt.UTC).date()
    effective = today + dt.timedelta(days=10)
    diesel = Announcement("KAZ", "diesel", today - dt.timedelta(days=5), effective, 20.0)
    lpg = Announcement("KAZ", "LPG", today - dt.timedelta(days=2), effective, 100.0)
    url = use_store(writable_snapshot_store)
    engine = store.make_engine(url)
    try:
        store.save_announcements(engine, [diesel, lpg], actor="seed")
    finally:
        engine.dispose()
    at = AppTest.from_file(str(PAGE.parents[1] / "app.py"), default_timeout=300)
    at.run()
    assert not at.exception, [item.value for item in at.exception]
    captions = [item.value.replace("\\", "") for item in at.caption]
    announced = today - dt.timedelta(days=2)
    named = (
        f"LPG +100 % announced {announced.day} {announced:%b %Y}, "
        f"effective {effective.day} {effective:%b %Y}"
    )
    assert any(caption.startswith("Driver: ") and named in caption for caption in captions), (
        captions
    )
