"""Flashpoint's Streamlit entry point: navigation, the shared country picker, the chosen page."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import basic_chart

# Before the imports below (pandas, SQLAlchemy, pydantic: about 0.7 s on a server's first visit
# unless `dashboard.warmup` did them): the browser starts loading the charts' plotly.js bundle
# while this run imports and reads.
with st.sidebar:
    basic_chart.preload()

from dashboard import as_of, components, data, url_state
from dashboard.formatting import escape_markdown
from fetchers.redact import redact
from flashpoint import auth
from flashpoint.errors import FlashpointError
from flashpoint.logs import ensure_logging

HERE = Path(__file__).resolve().parent
PAGES = HERE / "app_pages"

st.set_page_config(
    page_title="Flashpoint",
    page_icon="🔥",
    layout="wide",
    # "auto": open on a wide screen, collapsed on a phone (where it would cover the page).
    initial_sidebar_state="auto",
)


def _oidc_auth_section() -> object:
    try:
        return st.secrets.get("auth")
    except Exception:  # no secrets.toml at all, or one Streamlit cannot parse
        return None


try:
    settings = data.get_settings()
    # Flashpoint's own log lines (logins, store retries) as redacted key=value lines on stderr.
    ensure_logging(settings.general.log_level)
    # The OIDC client and cookie secrets (`[auth]` in secrets.toml) are masked like the rest.
    auth.register_oidc_secrets(_oidc_auth_section())
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
announcements = _page("announcements.py", "Announcements", ":material/event_upcoming:")
pages = [overview, country, compare, replay, announcements]
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
    "announcements": announcements,
    "health": health,
    "methodology": methodology,
    "validation": validation,
}

# The view is kept in the URL (`dashboard.url_state`: ?country=KAZ&as_of=…, the page in the path)
# so it can be shared: the URL wins on a fresh session, then the widgets write their choice back.
# Any scored country can be opened; a code that is not a country is said so, never replaced.
page_path = url_state.page_id(navigation)
url_state.restore(page_path)
options = data.pickable_countries(data.run_version())
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
    if page_path in as_of.PAGES_WITH_AS_OF:
        as_of.picker(data.run_version())
url_state.show_notices()
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

try:
    navigation.run()
finally:
    # Also after a page's st.stop(): the URL always describes what is on screen.
    url_state.publish(page_path)
