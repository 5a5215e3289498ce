"""Flashpoint's Streamlit entry point: navigation, the shared country picker, the chosen page."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import components, data
from dashboard.formatting import escape_markdown
from fetchers.redact import redact
from flashpoint.errors import FlashpointError
from flashpoint.logs import ensure_logging

HERE = Path(__file__).resolve().parent
PAGES = HERE / "app_pages"
UNKNOWN_COUNTRY_KEY = "_flashpoint_unknown_country"

st.set_page_config(
    page_title="Flashpoint",
    page_icon="🔥",
    layout="wide",
    # "auto": open on a wide screen, collapsed on a phone (where it would cover the page).
    initial_sidebar_state="auto",
)

try:
    settings = data.get_settings()
    # Flashpoint's own log lines (logins, store retries) as redacted key=value lines on stderr.
    ensure_logging(settings.general.log_level)
    data.begin_run()
except FlashpointError as error:
    # A bad config.toml or an unreachable store: one clear line, never a traceback.
    # Shown to every visitor: redacted (a `?password=` in the store URL, an echoed key).
    st.error(
        f"**Flashpoint cannot start.** {escape_markdown(redact(str(error)))}",
        icon=":material/error:",
    )
    st.stop()


def _page(file: str, title: str, icon: str, *, default: bool = False) -> st.Page:
    return st.Page(PAGES / file, title=title, icon=icon, default=default)


overview = _page("overview.py", "Overview", ":material/dashboard:", default=True)
country = _page("country.py", "Country detail", ":material/flag:")
compare = _page("compare.py", "Compare", ":material/public:")
replay = _page("replay.py", "Replay", ":material/history:")
health = _page("health.py", "Data health", ":material/monitor_heart:")
methodology = _page("methodology.py", "Methodology", ":material/menu_book:")
validation = _page("validation.py", "Validation", ":material/fact_check:")
pages = [overview, country, compare, replay]
if (PAGES / "alerts.py").is_file():  # owned by the alerts room; registered once it exists
    pages.append(_page("alerts.py", "Alerts", ":material/notifications:"))
pages += [health, methodology, validation]
navigation = st.navigation(pages, position="top")

# Pages that link to each other find their targets here (st.switch_page / st.page_link).
st.session_state["_pages"] = {
    "overview": overview,
    "country": country,
    "compare": compare,
    "replay": replay,
    "health": health,
    "methodology": methodology,
    "validation": validation,
}

# The country is shared by every page and kept in the URL (?country=KAZ) so views can be shared:
# the URL wins on a fresh session, then the picker writes its choice back. Any scored country can
# be opened; a code that is not a country is said so, never silently replaced.
options = data.pickable_countries(data.run_version())
default = data.default_country()
if components.COUNTRY_KEY not in st.session_state:
    requested = st.query_params.get(components.COUNTRY_KEY)
    code = data.country_code(requested)
    if requested and code is None:
        st.session_state[UNKNOWN_COUNTRY_KEY] = str(requested)
    st.session_state[components.COUNTRY_KEY] = code or default
current = str(st.session_state[components.COUNTRY_KEY])
if current not in options:
    # A real country with nothing stored yet: it opens, and its pages say there is no data.
    options = [*options, current]
with st.sidebar:
    st.markdown(f"### {escape_markdown(settings.dashboard.title)}")
    st.caption("Stability-risk monitor: fuel-price triggers × structural vulnerability")
    chosen = st.selectbox(
        "Country",
        options=options,
        format_func=data.country_label,
        key=components.COUNTRY_KEY,
        help="Type a name or an ISO3 code. Watched countries (the alerts' list) come first.",
    )
st.query_params[components.COUNTRY_KEY] = chosen
unknown = st.session_state.pop(UNKNOWN_COUNTRY_KEY, None)
if unknown is not None:
    st.warning(
        f"The link asks for country “{escape_markdown(unknown[:12])}”, which is not an ISO3 "
        f"country code: showing {escape_markdown(data.country_label(chosen))} instead. Pick "
        "another country in the sidebar.",
        icon=":material/travel_explore:",
    )
if st.session_state.pop(components.OPEN_COUNTRY_PAGE_KEY, False):
    st.switch_page(country)


@st.fragment(run_every=settings.dashboard.refresh_seconds or None)
def _watch_store(rendered_version: str) -> None:
    """Re-reads the store's data version on a timer; new data (e.g. written by the scheduler in
    another process) reruns the whole page."""
    version = data.fresh_version_for_fragment(rendered_version)
    rows, last = data.load_store_totals(version)
    if rows == 0 or last is None:
        st.caption("Store: empty")
        return
    st.caption(f"Store: {rows:,} observations · last data {last:%d %b %Y %H:%M} UTC")


with st.sidebar:
    _watch_store(data.run_version())
    if not data.load_is_empty(data.run_version()) and not data.panel_is_precomputed(
        data.run_version(), data.today()
    ):
        # Honest about the slow path: the scores shown are current, computed on this visit.
        st.caption(
            ":material/hourglass_top: Scores are computed from the whole store on this visit: "
            "the precomputed scores are written by the next refresh."
        )

navigation.run()
