"""The day the Overview and Country detail are scored "as of": today, or any past day with data.

The choice is shared by both pages (and kept in the URL by `dashboard.url_state`). A past day is
scored by the point-in-time engine (`score_panel(..., as_of=day)`: only data published by the end
of that day); a day in the future, or before the first data the store holds, is refused with a
message and the pages fall back to today.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from dashboard import data

# The chosen day, kept outside any widget so it survives a page change (widget state does not).
AS_OF_KEY = "_flashpoint_as_of"
PICKER_KEY = "as_of_picker"
# Pages that offer the picker (their `st.Page` url paths; "" is the default page, the Overview).
PAGES_WITH_AS_OF = ("", "overview", "country")


@dataclass(frozen=True)
class AsOfCheck:
    """A requested as-of day after checking: the day to use, and why a request was refused.

    Attributes:
        day: the day the pages are scored as of.
        notice: one plain sentence when the request was refused (None when accepted).
    """

    day: dt.date
    notice: str | None = None


def check_as_of(requested: dt.date, *, today: dt.date, earliest: dt.date | None) -> AsOfCheck:
    """Accept `requested` when it lies between the first published data and today.

    Args:
        requested: the day asked for (URL or picker).
        today: today's date (UTC).
        earliest: the first day on which any stored observation had been published, or None
            when the store holds nothing (then only today is possible).

    Returns:
        The accepted day, or today with a notice saying why the request was refused.
    """
    if requested > today:
        return AsOfCheck(
            today,
            f"{requested:%d %b %Y} is in the future: scores exist only up to today. "
            f"Showing today ({today:%d %b %Y}).",
        )
    if earliest is None and requested < today:
        return AsOfCheck(today, f"The store holds no data to score {requested:%d %b %Y}.")
    if earliest is not None and requested < earliest:
        return AsOfCheck(
            today,
            f"{requested:%d %b %Y} is before any data in the store (the first was published "
            f"{earliest:%d %b %Y}). Showing today ({today:%d %b %Y}).",
        )
    return AsOfCheck(requested)


def selected_day() -> dt.date:
    """The day the pages are scored as of: the chosen past day, else today (UTC)."""
    today = data.today()
    chosen = st.session_state.get(AS_OF_KEY)
    if isinstance(chosen, dt.date) and chosen < today:
        return chosen
    return today


def is_past(day: dt.date) -> bool:
    """True when `day` is before today: the pages show a past view."""
    return day < data.today()


def choose(day: dt.date | None) -> None:
    """Make `day` the as-of day (None or today: back to the live view)."""
    if day is None or day >= data.today():
        st.session_state.pop(AS_OF_KEY, None)
    else:
        st.session_state[AS_OF_KEY] = day


def _picked() -> None:
    value = st.session_state.get(PICKER_KEY)
    choose(value if isinstance(value, dt.date) else None)


def _back_to_today() -> None:
    choose(None)
    st.session_state.pop(PICKER_KEY, None)


def picker(version: str) -> None:
    """The sidebar's "As of" date picker (with "Back to today" while a past day is shown)."""
    today = data.today()
    earliest = data.first_published_day(version)
    day = selected_day()
    # Seed the widget from the shared choice each run: the picker is re-created on every page
    # that shows it, and the URL may have set the choice before it first rendered.
    st.session_state[PICKER_KEY] = day
    st.date_input(
        "As of",
        key=PICKER_KEY,
        min_value=earliest or today,
        max_value=today,
        format="YYYY-MM-DD",
        on_change=_picked,
        help="Score the page as it would have looked at the end of this day: only data "
        "published by then is used (point in time). Today by default.",
    )
    if is_past(day):
        st.button(
            "Back to today",
            key="as_of_today",
            icon=":material/today:",
            on_click=_back_to_today,
            width="stretch",
        )


def last_seen_button(blind_since: object, version: str) -> None:
    """A button that shows the page as of the last day the blind trigger could see (the day
    before `blind_since`), when that day lies within the stored data; nothing otherwise."""
    if blind_since is None or pd.isna(blind_since):
        return
    day = (pd.Timestamp(blind_since) - pd.Timedelta(days=1)).date()
    earliest = data.first_published_day(version)
    if earliest is None or not earliest <= day < data.today():
        return
    if st.button(
        f"Show {day:%d %b %Y}, the last day it could see",
        key="as_of_last_seen",
        icon=":material/history:",
        help="Score the page as of that day: the trigger as it stood on its last fresh input.",
    ):
        choose(day)
        # The whole page (banner, picker, URL), not only the fragment the button sits in.
        st.rerun(scope="app")


def banner(day: dt.date) -> None:
    """Say clearly that a page shows a past day (nothing for today)."""
    if not is_past(day):
        return
    st.info(
        f"**As of {day:%d %B %Y}.** Every number on this page is scored from the data that had "
        "been published by the end of that day (point in time). Use **Back to today** in the "
        "sidebar for the live view.",
        icon=":material/history:",
    )
