"""The view in the URL, so a link opens what its sender saw.

The page is the URL's path (`/country`, `/replay`; Streamlit's navigation); the rest is query
parameters:

| parameter | pages | value | widget it restores |
|---|---|---|---|
| `country` | every page | ISO3 code, any case | the sidebar picker (Replay: its own country) |
| `as_of` | Overview, Country detail | `YYYY-MM-DD`, absent = today | the "As of" picker |
| `window` | Overview, Country detail | `1y`, `5y`, `10y`, `all` (per page) | the chart window |
| `start`, `end` | Replay | `YYYY-MM-DD` | the date range |
| `step` | Replay | `day` or `week` | "Every" |

Opening a URL restores the view once, on the session's first run (`restore`); from then on the
widgets rule and every run writes the view back (`publish`), dropping what belongs to other pages.
A value that cannot be used is named in a visible notice and its default is shown instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import streamlit as st

from dashboard import as_of, data

COUNTRY = "country"
AS_OF = "as_of"
WINDOW = "window"
START, END, STEP = "start", "end", "step"
MANAGED = (COUNTRY, AS_OF, WINDOW, START, END, STEP)

# The widgets whose value the URL holds (their session-state keys, owned by the pages).
COUNTRY_KEY = "country"
REPLAY_COUNTRY_KEY = "replay_country"
REPLAY_RANGE_KEY = "replay_range"
REPLAY_STEP_KEY = "replay_every"
REPLAY_STEPS = ("day", "week")
FIRST_REPLAY_DAY = dt.date(1995, 1, 1)


@dataclass(frozen=True)
class ChartWindow:
    """A page's chart-window control: its widget key and URL slug → option label."""

    key: str
    options: Mapping[str, str]
    default: str


# Page url path ("" = the default page, the Overview) → its chart window.
CHART_WINDOWS: dict[str, ChartWindow] = {
    "": ChartWindow(
        "overview_window", {"5y": "5 years", "10y": "10 years", "all": "All"}, "5 years"
    ),
    "country": ChartWindow(
        "country_history_window", {"1y": "1 year", "5y": "5 years", "10y": "10 years"}, "5 years"
    ),
}
CHART_WINDOWS["overview"] = CHART_WINDOWS[""]

_RESTORED_KEY = "_flashpoint_url_restored"
# The sidebar country of the last run, kept outside widget state: Streamlit may drop a widget's
# state across a page switch, and the country must survive it.
_LAST_COUNTRY_KEY = "_flashpoint_last_country"
_NOTICES_KEY = "_flashpoint_url_notices"
# A hostile or mistyped value is quoted back only this long.
_QUOTED_CHARS = 24


def page_id(page: object) -> str:
    """The url path of a `st.Page` ("" for the default page)."""
    return str(getattr(page, "url_path", "") or "")


# --------------------------------------------------------------------------------------------
# Parsing (pure)


def quoted(value: str) -> str:
    """A URL value as a notice quotes it: stripped, cut short, never markup."""
    from dashboard.formatting import escape_markdown

    text = value.strip()
    shown = text[:_QUOTED_CHARS] + ("…" if len(text) > _QUOTED_CHARS else "")
    return f"“{escape_markdown(shown)}”"


def parse_day(value: str) -> dt.date | None:
    """`YYYY-MM-DD` as a date, or None when it is not one."""
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        return None


def parse_window(value: str, window: ChartWindow) -> str | None:
    """The option label a URL slug names (`5y` → "5 years"; the label itself is accepted too)."""
    text = value.strip().lower()
    for slug, label in window.options.items():
        if text in (slug, label.lower()):
            return label
    return None


def window_slug(label: object, window: ChartWindow) -> str | None:
    """The URL slug of an option label (None for no selection)."""
    for slug, option in window.options.items():
        if option == label:
            return slug
    return None


@dataclass(frozen=True)
class ReplayView:
    """A replay range and step read from a URL (None where the URL gave nothing usable)."""

    range: tuple[dt.date, dt.date] | None
    step: str | None
    notices: tuple[str, ...]


def parse_replay(params: Mapping[str, str], today: dt.date) -> ReplayView:
    """The replay range (`start`, `end`) and `step` in `params`, checked.

    A range needs both ends, in order, from 1995 to today; the step is "day" or "week".
    """
    notices: list[str] = []
    chosen: tuple[dt.date, dt.date] | None = None
    if START in params or END in params:
        start = parse_day(params.get(START, ""))
        end = parse_day(params.get(END, ""))
        if start is None or end is None:
            given = f"{quoted(params.get(START, ''))} to {quoted(params.get(END, ''))}"
            notices.append(
                f"The link's replay range {given} needs two dates written YYYY-MM-DD: "
                "showing the default range."
            )
        elif start > end:
            notices.append(
                f"The link's replay range starts ({start:%d %b %Y}) after it ends "
                f"({end:%d %b %Y}): showing the default range."
            )
        elif start < FIRST_REPLAY_DAY or end > today:
            notices.append(
                f"The link's replay range {start:%d %b %Y}–{end:%d %b %Y} is outside "
                f"{FIRST_REPLAY_DAY:%d %b %Y}–today: showing the default range."
            )
        else:
            chosen = (start, end)
    step: str | None = None
    if STEP in params:
        text = params[STEP].strip().lower()
        if text in REPLAY_STEPS:
            step = text
        else:
            notices.append(
                f"The link's replay step {quoted(params[STEP])} is not “day” or “week”: "
                "replaying day by day."
            )
    return ReplayView(range=chosen, step=step, notices=tuple(notices))


# --------------------------------------------------------------------------------------------
# Restoring a view from the URL (once per session) and writing it back (every run)


def _params() -> dict[str, str]:
    # One value per key: a repeated key keeps its last value, as st.query_params[key] does.
    return {key: st.query_params[key] for key in st.query_params}


def _notify(message: str) -> None:
    st.session_state.setdefault(_NOTICES_KEY, []).append(message)


def restore(page: str) -> None:
    """On the session's first run, put the URL's view into the widgets' state (before they are
    drawn) and queue a notice for every value that cannot be used. On every run, make sure the
    sidebar country has a value (the last one chosen, else the configured default)."""
    if st.session_state.get(_RESTORED_KEY):
        _restore_country({})
        return
    st.session_state[_RESTORED_KEY] = True
    params = _params()
    _restore_country(params)
    if page in as_of.PAGES_WITH_AS_OF and AS_OF in params:
        _restore_as_of(params[AS_OF])
    window = CHART_WINDOWS.get(page)
    if window is not None and WINDOW in params:
        label = parse_window(params[WINDOW], window)
        if label is None:
            choices = ", ".join(window.options)
            _notify(
                f"The link's chart window {quoted(params[WINDOW])} is not one of {choices}: "
                f"showing {window.default}."
            )
        else:
            st.session_state[window.key] = label
    if page == "replay":
        replay = parse_replay(params, data.today())
        for notice in replay.notices:
            _notify(notice)
        if replay.range is not None:
            st.session_state[REPLAY_RANGE_KEY] = replay.range
        if replay.step is not None:
            st.session_state[REPLAY_STEP_KEY] = replay.step


def _restore_country(params: Mapping[str, str]) -> None:
    requested = params.get(COUNTRY)
    code = data.country_code(requested)
    if requested and code is None:
        # Any scored country opens; a code that is not a country is said, never silently
        # replaced (the notice names the country shown instead, once the picker has chosen it).
        st.session_state["_flashpoint_unknown_country"] = str(requested)
    if COUNTRY_KEY not in st.session_state:
        last = st.session_state.get(_LAST_COUNTRY_KEY)
        st.session_state[COUNTRY_KEY] = code or last or data.default_country()


def _restore_as_of(value: str) -> None:
    day = parse_day(value)
    if day is None:
        _notify(
            f"The link's as-of date {quoted(value)} is not a date written YYYY-MM-DD: "
            "showing today."
        )
        return
    earliest = data.first_published_day(data.run_version())
    checked = as_of.check_as_of(day, today=data.today(), earliest=earliest)
    if checked.notice:
        _notify("The link's as-of date: " + checked.notice)
    as_of.choose(checked.day)


def show_notices() -> None:
    """The notices the URL left (each once), as visible warnings."""
    for message in st.session_state.pop(_NOTICES_KEY, []):
        st.warning(message, icon=":material/link_off:")
    unknown = st.session_state.pop("_flashpoint_unknown_country", None)
    if unknown is not None:
        shown = data.country_label(str(st.session_state.get(COUNTRY_KEY, "")))
        st.warning(
            f"The link asks for country {quoted(str(unknown))}, which is not an ISO3 "
            f"country code: showing {shown} instead. Pick another country in the sidebar.",
            icon=":material/travel_explore:",
        )


def view_params(page: str, state: Mapping[str, object], today: dt.date) -> dict[str, str]:
    """The query parameters that describe the view `state` shows on `page` (pure).

    Args:
        page: the page's url path ("" = Overview).
        state: the session state (widget values, the as-of choice).
        today: today's date (an as-of day of today is the live view: not written).

    Returns:
        Parameter → value for every managed parameter this page shows.
    """
    out: dict[str, str] = {}
    country = state.get(REPLAY_COUNTRY_KEY if page == "replay" else COUNTRY_KEY)
    if country:
        out[COUNTRY] = str(country)
    if page in as_of.PAGES_WITH_AS_OF:
        day = state.get(as_of.AS_OF_KEY)
        if isinstance(day, dt.date) and day < today:
            out[AS_OF] = day.isoformat()
    window = CHART_WINDOWS.get(page)
    if window is not None and window.key in state:
        slug = window_slug(state[window.key], window)
        if slug is not None:
            out[WINDOW] = slug
    if page == "replay":
        chosen = state.get(REPLAY_RANGE_KEY)
        if isinstance(chosen, tuple) and len(chosen) == 2:
            out[START], out[END] = (day.isoformat() for day in chosen)
        step = state.get(REPLAY_STEP_KEY)
        if step in REPLAY_STEPS:
            out[STEP] = str(step)
    return out


def publish(page: str) -> None:
    """Write the view of this run into the URL; managed parameters of other pages are dropped,
    anything else in the URL is left alone."""
    if COUNTRY_KEY in st.session_state:
        st.session_state[_LAST_COUNTRY_KEY] = st.session_state[COUNTRY_KEY]
    wanted = view_params(page, st.session_state, data.today())
    for key in MANAGED:
        if key in wanted:
            if st.query_params.get(key) != wanted[key]:
                st.query_params[key] = wanted[key]
        elif key in st.query_params:
            del st.query_params[key]
