"""Replay: the score a country would have had on each date, using only data published by then."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from dashboard import charts, components, data
from dashboard.formatting import escape_markdown

DEFAULT_START = dt.date(2021, 10, 1)
DEFAULT_END = dt.date(2022, 2, 15)
MAX_DAILY_SPAN_DAYS = 400

settings = data.get_settings()
catalogue = data.get_catalogue()
version = data.current_version()
components.stop_if_empty(version)
names = {item.id: item.name for item in catalogue.indicators}

st.title("Replay")
st.caption(
    "What would Flashpoint have shown? Each date is scored point in time: only observations "
    "published by the end of that day (the source's date, or the period's end plus the "
    "indicator's publication lag) are used, with the release that was current then."
)

watched = data.watched_countries()
st.session_state.setdefault("replay_country", components.selected_country())
st.session_state.setdefault("replay_range", (DEFAULT_START, DEFAULT_END))
high_band = next((band for band in catalogue.bands if band.name == "high"), None)
default_threshold = high_band.lower if high_band is not None else 5.0

controls = st.columns([1.2, 1.6, 0.8, 1.2])
replay_country = controls[0].selectbox(
    "Country",
    options=watched,
    format_func=data.country_label,
    key="replay_country",
)
chosen_range = controls[1].date_input(
    "Date range",
    key="replay_range",
    min_value=dt.date(1995, 1, 1),
    max_value=data.today(),
)
every = controls[2].radio("Every", options=["day", "week"], horizontal=True, key="replay_every")
threshold = controls[3].slider(
    "Trigger threshold (0–10)",
    min_value=0.0,
    max_value=10.0,
    value=float(default_threshold),
    step=0.5,
    key="replay_threshold",
    help="Dates on which the trigger crossed this level are marked. Default: the lower "
    "cut-off of the 'high' band.",
)

if not isinstance(chosen_range, tuple) or len(chosen_range) != 2:
    st.info("Pick the last day of the range.", icon=":material/date_range:")
    st.stop()
start, end = chosen_range
if every == "day" and (end - start).days > MAX_DAILY_SPAN_DAYS:
    st.warning(
        f"Daily replays are limited to {MAX_DAILY_SPAN_DAYS} days; showing weekly steps.",
        icon=":material/speed:",
    )
    every = "week"

with st.spinner("Replaying…"):
    frame = data.load_replay(version, replay_country, start, end, every)

if frame.empty or frame["composite"].isna().all():
    components.no_data_for_country(replay_country, "data scoreable in this date range")
    st.stop()

from indicators.replay import band_changes, trigger_crossings  # noqa: E402

crossings = trigger_crossings(frame, threshold)
up = crossings[crossings["direction"] == "up"]
marks = pd.DataFrame(
    {
        "date": up["date"],
        "label": [
            f"trigger {before:.1f} → {after:.1f}"
            + (f" ({names.get(driver, driver)})" if driver else "")
            for before, after, driver in zip(
                up["trigger_before"], up["trigger_after"], up["trigger_driver"], strict=True
            )
        ],
    }
)
events = data.load_events(version, replay_country)
figure = charts.replay_figure(
    frame, marks, events, catalogue.bands, threshold=threshold, height=420
)
components.show_figure(figure, key="replay_chart")

peak = frame.loc[frame["composite"].idxmax()]
first_high = frame[frame["trigger"] >= threshold]
summary = st.columns(3)
summary[0].metric("Highest composite", f"{peak['composite']:.1f}", help="Over the range.")
summary[0].caption(f"on {pd.Timestamp(peak['date']):%d %b %Y} ({escape_markdown(peak['band'])})")
summary[1].metric(
    "First date with trigger ≥ threshold",
    f"{pd.Timestamp(first_high['date'].iloc[0]):%d %b %Y}" if not first_high.empty else "none",
)
summary[2].metric("Trigger crossings (up)", f"{len(up)}")

tabs = st.tabs(
    ["Trigger crossings", "Band changes", "Alerts that would have fired", "Daily scores"]
)
with tabs[0]:
    if crossings.empty:
        st.caption("The trigger never crossed the threshold in this range.")
    else:
        shown = crossings.assign(
            trigger_driver=crossings["trigger_driver"]
            .map(names)
            .fillna(crossings["trigger_driver"]),
            top_driver=crossings["top_driver"].map(names).fillna(crossings["top_driver"]),
        )
        st.dataframe(shown, hide_index=True, width="stretch")
with tabs[1]:
    changes = band_changes(frame, catalogue)
    if changes.empty:
        st.caption("The band never changed in this range.")
    else:
        st.dataframe(changes, hide_index=True, width="stretch")
with tabs[2]:
    alert_history = data.load_alert_replay(version, replay_country, start, end, every)
    if alert_history is None:
        st.caption("The alert replay is not available in this installation.")
    elif alert_history.empty:
        st.caption("No alert rule would have fired in this range.")
    else:
        st.dataframe(alert_history, hide_index=True, width="stretch")
with tabs[3]:
    st.dataframe(frame, hide_index=True, width="stretch")

components.export_buttons(
    table=frame,
    figure=figure,
    name=f"flashpoint_replay_{replay_country}_{start:%Y%m%d}_{end:%Y%m%d}",
    key="replay",
)
