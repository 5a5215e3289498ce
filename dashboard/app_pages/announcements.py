"""Announced price changes (the policy calendar): everyone reads the list; an admin adds, edits
and deletes.

Every write checks `dashboard.admin.current_admin()` on the server right before it happens (the
forms are not drawn for viewers, but that is not the permission), goes through the same rules as
`flashpoint import-announcements` (`fetchers.policy_calendar.check_announcement`), and is written
with its audit entry and the re-derived scheduled shock in one transaction. Text typed by users is
shown in data frames or escaped, never as HTML; a source URL is a link only when it is http(s).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import admin as admin_session
from dashboard import components, data
from dashboard.announcements_view import display_frame, export_csv, show_table
from dashboard.formatting import escape_markdown
from fetchers.policy_calendar import (
    INDICATOR,
    MAX_NOTE_CHARS,
    MAX_PRODUCT_CHARS,
    FieldProblem,
    check_announcement,
)
from flashpoint import store

FLASH_KEY = "_announcement_flash"
EARLIEST_DAY = dt.date(1990, 1, 1)
WORLD = "WLD"

settings = data.get_settings()
engine = data.get_engine()
catalogue = data.get_catalogue()
indicator = catalogue.indicator(INDICATOR)
labels = {code: data.country_label(code) for code in data.country_names()}
# Every country can be picked (the calendar is not limited to scored or watched countries);
# the world series' pseudo-country is not one.
country_options = sorted((code for code in labels if code != WORLD), key=lambda c: labels[c])

admin = admin_session.current_admin()
admin_session.login_panel(admin, what="add, edit and delete announcements")

st.title("Announced price changes")
st.caption(
    "The policy calendar: price changes announced before they take effect (a decree, a move to "
    "exchange pricing). From its announcement each one counts in the trigger as a **scheduled "
    f"shock** (“{escape_markdown(indicator.name)}”), until {indicator.max_age_days} days after it "
    "takes effect; several products of one country and date count once, with the largest "
    "change. Recorded here by an admin or with `flashpoint import-announcements FILE`."
)

flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    # The message quotes what the admin typed (product): escaped, so it shows literally.
    st.success(escape_markdown(flash), icon=":material/check_circle:")

stored = store.read_announcements(engine)  # small, and an edit must show at once
open_country = str(st.session_state.get(components.COUNTRY_KEY, data.default_country()))
only_open = st.toggle(
    f"Only {data.country_label(open_country)}", value=False, key="ann_only_open",
    help="The country open in the sidebar.",
)
shown = stored[stored["country"] == open_country] if only_open else stored
if shown.empty:
    st.info(
        "No announced price change is recorded"
        + (f" for {escape_markdown(data.country_label(open_country))}." if only_open else ".")
        + " An empty calendar means nobody recorded one, not that none was announced.",
        icon=":material/event_busy:",
    )
else:
    table = display_frame(
        shown, today=data.today(), fresh_days=indicator.max_age_days, labels=labels
    )
    show_table(table, key="ann_table")
    st.download_button(
        "Download as CSV",
        data=export_csv(shown, indicator.licence),
        file_name="announcements.csv",
        mime="text/csv",
        key="ann_download",
        help="The columns `flashpoint import-announcements` reads, with the licence.",
    )


def _refuse() -> None:
    st.error(
        "Only an admin can add, edit or delete announcements. Log in as admin first (sidebar); "
        "nothing was changed.",
        icon=":material/lock:",
    )


def _show_problems(problems: list[FieldProblem]) -> None:
    titles = {
        "country": "Country",
        "product": "Product",
        "announced": "Announced",
        "effective": "Effective",
        "expected_change_pct": "Expected change (%)",
        "source_url": "Source URL",
        "note": "Note",
    }
    for problem in problems:
        st.error(
            f"**{titles.get(problem.field, problem.field)}**: {escape_markdown(problem.message)}",
            icon=":material/error:",
        )


def _fields(prefix: str, current: dict[str, Any]) -> dict[str, Any]:
    """The announcement's widgets (inside a form), prefilled from `current`; their values."""
    code = current.get("country") or open_country
    left, right = st.columns(2)
    country = left.selectbox(
        "Country",
        options=country_options,
        index=country_options.index(code) if code in country_options else 0,
        format_func=lambda item: labels.get(item, item),
        key=f"{prefix}_country",
    )
    product = right.text_input(
        "Product", value=current.get("product") or "", max_chars=MAX_PRODUCT_CHARS,
        placeholder="e.g. LPG, diesel, bread", key=f"{prefix}_product",
    )
    announced = left.date_input(
        "Announced", value=current.get("announced") or data.today(), min_value=EARLIEST_DAY,
        format="YYYY-MM-DD", key=f"{prefix}_announced",
    )
    effective = right.date_input(
        "Effective (the day the new price applies)",
        value=current.get("effective") or data.today(), min_value=EARLIEST_DAY,
        format="YYYY-MM-DD", key=f"{prefix}_effective",
    )
    change = left.text_input(
        "Expected change (%)", value=current.get("expected_change_pct", ""),
        placeholder="e.g. 100 for a doubling, -10 for a cut", key=f"{prefix}_change",
    )
    url = right.text_input(
        "Source URL", value=current.get("source_url") or "",
        placeholder="https://… (where it was announced)", key=f"{prefix}_url",
    )
    note = st.text_area(
        "Note", value=current.get("note") or "", max_chars=MAX_NOTE_CHARS, key=f"{prefix}_note"
    )
    return {
        "country": country,
        "product": product,
        "announced": announced,
        "effective": effective,
        "expected_change_pct": change,
        "source_url": url,
        "note": note,
    }


def _add_form() -> None:
    with st.form("announcement_add"):
        fields = _fields("ann_add", {})
        submitted = st.form_submit_button("Add announcement", type="primary")
    if not submitted:
        return
    actor = admin_session.current_admin()  # re-checked on the server, right before the write
    if actor is None:
        _refuse()
        return
    record, problems = check_announcement(fields)
    if record is None:
        _show_problems(problems)
        return
    try:
        store.add_announcement(engine, record, actor=actor)
    except store.AnnouncementConflict as error:
        st.error(escape_markdown(str(error)), icon=":material/error:")
        return
    st.session_state[FLASH_KEY] = (
        f"Added: {record.country} {record.product}, {record.expected_change_pct:+g} % effective "
        f"{record.effective:%d %b %Y}."
    )
    st.rerun()


def _choice_label(row: pd.Series) -> str:
    product = row["product"] if isinstance(row["product"], str) else "product not recorded"
    return (
        f"{labels.get(row['country'], row['country'])} · {product} · effective "
        f"{pd.Timestamp(row['effective']):%Y-%m-%d} ({row['expected_change_pct']:+g} %)"
    )


def _edit_form() -> None:
    if stored.empty:
        st.caption("Nothing to edit yet.")
        return
    rows = stored.set_index("id")
    choice = st.selectbox(
        "Announcement",
        options=[int(item) for item in rows.index],
        format_func=lambda item: _choice_label(rows.loc[item]),
        key="ann_edit_choice",
    )
    row = rows.loc[choice]
    current = {
        "country": row["country"],
        "product": row["product"] if isinstance(row["product"], str) else "",
        "announced": pd.Timestamp(row["announced"]).date(),
        "effective": pd.Timestamp(row["effective"]).date(),
        "expected_change_pct": f"{row['expected_change_pct']:g}",
        "source_url": row["source_url"] if isinstance(row["source_url"], str) else "",
        "note": row["note"] if isinstance(row["note"], str) else "",
    }
    with st.form(f"announcement_edit_{choice}"):
        fields = _fields(f"ann_edit_{choice}", current)
        confirm = st.checkbox("Yes, delete this announcement", key=f"ann_delete_confirm_{choice}")
        save_column, delete_column = st.columns(2)
        save = save_column.form_submit_button("Save changes", type="primary")
        delete = delete_column.form_submit_button("Delete announcement")
    if not (save or delete):
        return
    actor = admin_session.current_admin()  # re-checked on the server, right before the write
    if actor is None:
        _refuse()
        return
    try:
        if delete:
            if not confirm:
                st.warning("Tick “Yes, delete this announcement” first; nothing was deleted.")
                return
            store.delete_announcement(engine, choice, actor=actor)
            st.session_state[FLASH_KEY] = f"Deleted: {_choice_label(row)}."
        else:
            record, problems = check_announcement(fields)
            if record is None:
                _show_problems(problems)
                return
            store.update_announcement(engine, choice, record, actor=actor)
            st.session_state[FLASH_KEY] = (
                f"Saved: {record.country} {record.product}, {record.expected_change_pct:+g} % "
                f"effective {record.effective:%d %b %Y}."
            )
    except store.AnnouncementConflict as error:
        st.error(escape_markdown(str(error)), icon=":material/error:")
        return
    st.rerun()


if admin is None:
    st.caption(
        "Read-only: an admin (sidebar → Admin) can add, edit and delete announcements; every "
        "change is in the audit log with who made it."
    )
else:
    add_tab, edit_tab, history_tab = st.tabs(["Add", "Edit or delete", "Change history"])
    with add_tab:
        _add_form()
    with edit_tab:
        _edit_form()
    with history_tab:
        audit = store.read_audit(engine, limit=200)
        audit = audit[audit["object"].astype(str).str.startswith("announcement:")]
        if audit.empty:
            st.caption("No change recorded yet.")
        else:
            st.dataframe(
                audit.loc[:, ["at", "actor", "action", "object", "old", "new"]].astype(
                    {"old": str, "new": str}
                ),
                hide_index=True,
                width="stretch",
            )
