"""Replay: the score a country would have had on each date, using only data published by then."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from dashboard import announcements_view, charts, components, data
from dashboard.formatting import escape_markdown

DEFAULT_START = dt.date(2021, 10, 1)
DEFAULT_END = dt.date(2022, 2, 15)
MAX_DAILY_SPAN_DAYS = 400
# A strong trigger: on the fuel-shock pillar's scale a 70 % domestic price step scores 7.
DEFAULT_TRIGGER_THRESHOLD = 7.0

settings = data.get_settings()
catalogue = data.get_catalogue()
version = data.run_version()
components.stop_if_empty(version)
names = {item.id: item.name for item in catalogue.indicators}

st.title("Replay")
st.caption(
    "What would Flashpoint have shown? Each date is scored point in time: only observations "
    "published by the end of that day (the source's date, or the period's end plus the "
    "indicator's publication lag) are used, with the release that was current then."
)

countries = data.pickable_countries(version)
st.session_state.setdefault("replay_country", components.selected_country())
if st.session_state["replay_country"] not in countries:
    st.session_state["replay_country"] = countries[0]
st.session_state.setdefault("replay_range", (DEFAULT_START, DEFAULT_END))

controls = st.columns([1.2, 1.6, 0.8, 1.2])
replay_country = controls[0].selectbox(
    "Country",
    options=countries,
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
    value=DEFAULT_TRIGGER_THRESHOLD,
    step=0.5,
    key="replay_threshold",
    help="Dates on which the trigger crossed this level are marked. Default 7: a strong "
    "trigger (a 70 % domestic fuel-price step scores 7 of 10).",
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
components.show_figure(
    figure,
    key="replay_chart",
    png_name=f"flashpoint_replay_{replay_country}_{start:%Y%m%d}_{end:%Y%m%d}",
)
if "trigger_state" in frame.columns and (frame["trigger_state"] == "blind").any():
    blind_days = frame[frame["trigger_state"] == "blind"]
    st.warning(
        f"Trigger blind on {len(blind_days)} of {len(frame)} days (first "
        f"{pd.Timestamp(blind_days['date'].min()):%d %b %Y}): no fresh input of the country's own. "
        "The trigger line has gaps there, never zeros; the composite is the floor of its range.",
        icon=":material/visibility_off:",
    )

jumps = frame.sort_values("date")
jumps = jumps.assign(change=jumps["composite"].diff())
if jumps["change"].max() > 0.5:
    jump = jumps.loc[jumps["change"].idxmax()]
    driver = names.get(str(jump["trigger_driver"] or jump["top_driver"]), "")
    before_jump = jump["composite"] - jump["change"]
    st.markdown(
        f"**{pd.Timestamp(jump['date']):%d %b %Y}**: the composite jumped from "
        f"**{before_jump:.1f}** to **{jump['composite']:.1f}** "
        f"({escape_markdown(jump['band'])})"
        + (f", driven by {escape_markdown(driver)}." if driver else ".")
    )

announcements_view.show_replay_calendar(replay_country, start, end)

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

score_format = st.column_config.NumberColumn(format="%.2f")
day_format = st.column_config.DateColumn(format="YYYY-MM-DD")


def indicator_name(indicator_id: object) -> str:
    """The catalogue name of an indicator id ("" stays "")."""
    return names.get(str(indicator_id), str(indicator_id))


# The alert replay is costly, so it runs only while its tab is open: that needs the tabs to
# track which one is open (`on_change="rerun"`); without it `.open` is None and the tab waited
# forever.
tabs = st.tabs(
    ["Trigger crossings", "Band changes", "Alerts that would have fired", "Daily scores"],
    key="replay_tab",
    on_change="rerun",
)
with tabs[0]:
    if crossings.empty:
        st.caption("The trigger never crossed the threshold in this range.")
    else:
        st.dataframe(
            pd.DataFrame(
                {
                    "Date": crossings["date"],
                    "Direction": crossings["direction"],
                    "Trigger before": crossings["trigger_before"],
                    "Trigger after": crossings["trigger_after"],
                    "Composite": crossings["composite"],
                    "Band": crossings["band"],
                    "Trigger driver": crossings["trigger_driver"].map(indicator_name),
                }
            ),
            hide_index=True,
            width="stretch",
            column_config={
                "Date": day_format,
                "Trigger before": score_format,
                "Trigger after": score_format,
                "Composite": score_format,
            },
        )
with tabs[1]:
    changes = band_changes(frame, catalogue)
    if changes.empty:
        st.caption("The band never changed in this range.")
    else:
        st.dataframe(
            pd.DataFrame(
                {
                    "Date": changes["date"],
                    "From": changes["band_before"],
                    "To": changes["band"],
                    "Direction": changes["direction"],
                    "Composite before": changes["composite_before"],
                    "Composite": changes["composite"],
                    "Top driver": changes["top_driver"].map(indicator_name),
                }
            ),
            hide_index=True,
            width="stretch",
            column_config={
                "Date": day_format,
                "Composite before": score_format,
                "Composite": score_format,
            },
        )
with tabs[2]:
    alert_history = (
        data.load_alert_replay(version, replay_country, start, end, every) if tabs[2].open else None
    )
    if alert_history is None:
        st.caption("Open this tab to replay the alert rules.")
    elif alert_history.empty:
        st.caption("No alert rule would have fired in this range.")
    else:
        fired = alert_history[alert_history["to_state"] == "firing"]
        if fired.empty:
            st.markdown("No rule reached *firing* in this range (see the changes below).")
        else:
            first_fired = fired.sort_values("date").iloc[0]
            st.markdown(
                f"**{len(fired)}** alert(s) would have fired; the first, "
                f"**{escape_markdown(first_fired['rule'])}**, on "
                f"**{pd.Timestamp(first_fired['date']):%d %b %Y}**."
            )
        st.caption(
            "The alert rules in force (the configuration plus administrators' edits) evaluated "
            "on each date by the same evaluator as the live alerts, without silences."
        )
        st.dataframe(
            pd.DataFrame(
                {
                    "Date": alert_history["date"],
                    "Rule": alert_history["rule"],
                    "Severity": alert_history["severity"],
                    "Change": alert_history["from_state"] + " → " + alert_history["to_state"],
                    "Value": alert_history["value"],
                    "Threshold": alert_history["threshold"],
                    "Message": alert_history["message"],
                }
            ),
            hide_index=True,
            width="stretch",
            column_config={"Date": day_format, "Value": score_format},
        )
with tabs[3]:
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={
            "date": day_format,
            **{
                column: score_format
                for column in frame.columns
                if frame[column].dtype.kind == "f" and column != "date"
            },
        },
    )

components.export_buttons(
    table=frame,
    figure=figure,
    name=f"flashpoint_replay_{replay_country}_{start:%Y%m%d}_{end:%Y%m%d}",
    key="replay",
)
