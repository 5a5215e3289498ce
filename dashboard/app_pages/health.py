"""Data health: per source last run, status, rows, next run, last error; per indicator its age."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from dashboard import components, data
from dashboard.formatting import (
    age_in_words,
    escape_markdown,
    plain_error,
    schedule_in_words,
    staleness_badge,
    status_style,
    store_kind,
)
from flashpoint.schedules import next_run_time

STATUS_WORDS = {"not_modified": "not modified"}

settings = data.get_settings()
catalogue = data.get_catalogue()
version = data.run_version()
country = components.selected_country()

st.title("Data health")
st.caption(f"Data are read from {store_kind(settings.database_url)}.")

# --------------------------------------------------------------------------------------------
# Sources

st.subheader("Sources")
runs = data.load_fetch_runs(version, 500)
now = dt.datetime.now(dt.UTC)
source_rows: list[dict[str, object]] = []
source_names = list(type(settings.sources).model_fields)
for name in source_names:
    source = getattr(settings.sources, name)
    own_runs = runs[runs["source"] == name] if not runs.empty else runs
    last = own_runs.iloc[0] if not own_runs.empty else None
    successes = (
        own_runs[own_runs["status"].isin(data.SUCCESSFUL_RUN_STATUSES)]
        if not own_runs.empty
        else own_runs
    )
    last_success = successes.iloc[0]["finished_at"] if not successes.empty else None
    try:
        next_run = (
            next_run_time(source.schedule, timezone=settings.scheduler.timezone, now=now)
            if source.enabled
            else None
        )
    except ValueError:
        next_run = None
    source_rows.append(
        {
            "Source": name,
            "Enabled": bool(source.enabled),
            "Schedule": schedule_in_words(source.schedule, settings.scheduler.timezone),
            "Last run": last["started_at"] if last is not None else None,
            "Status": STATUS_WORDS.get(str(last["status"]), str(last["status"]))
            if last is not None
            else ("never fetched" if source.enabled else "disabled"),
            "Requests": int(last["requests"]) if last is not None else None,
            "Rows new": int(last["rows_new"]) if last is not None else None,
            "Rows changed": int(last["rows_changed"]) if last is not None else None,
            "Last success": last_success,
            "Next run (UTC)": pd.Timestamp(next_run).tz_convert("UTC").tz_localize(None)
            if next_run is not None
            else None,
            "Last error": plain_error(last["error"]) if last is not None else "",
        }
    )
# The bundled snapshot is recorded as a fetch run of its own.
for name in sorted(set(runs["source"]) - set(source_names)) if not runs.empty else []:
    last = runs[runs["source"] == name].iloc[0]
    source_rows.append(
        {
            "Source": name,
            "Enabled": True,
            "Schedule": "on demand",
            "Last run": last["started_at"],
            "Status": STATUS_WORDS.get(str(last["status"]), str(last["status"])),
            "Requests": int(last["requests"]),
            "Rows new": int(last["rows_new"]),
            "Rows changed": int(last["rows_changed"]),
            "Last success": last["finished_at"] if last["status"] == "ok" else None,
            "Next run (UTC)": None,
            "Last error": plain_error(last["error"]),
        }
    )
sources = pd.DataFrame(source_rows)
for column in ("Requests", "Rows new", "Rows changed"):
    sources[column] = sources[column].astype("Int64")
st.dataframe(
    sources.style.map(status_style, subset=["Status"]).format(na_rep="—"),
    hide_index=True,
    width="stretch",
    column_config={
        "Last run": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
        "Last success": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
        "Next run (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
        "Last error": st.column_config.TextColumn(width="large"),
    },
)
never = sources[sources["Status"].eq("never fetched")]
if not never.empty:
    st.info(
        "Never fetched: "
        + ", ".join(escape_markdown(name) for name in never["Source"])
        + ". Run `flashpoint refresh` (all enabled sources) or `flashpoint serve` (on schedule).",
        icon=":material/cloud_download:",
    )
failing = sources[sources["Status"].eq("error")]
for _, failed in failing.iterrows():
    st.warning(
        f"**{escape_markdown(failed['Source'])}** failed on its last run: "
        f"{escape_markdown(failed['Last error']) or 'no message recorded'}. Stored data were "
        "kept; its indicators age until the next successful run.",
        icon=":material/error:",
    )
components.export_buttons(table=sources, figure=None, name="flashpoint_sources", key="sources")

# --------------------------------------------------------------------------------------------
# Indicators

st.subheader("Indicators")
if data.load_is_empty(version):
    components.empty_store_guidance()
    st.stop()
summary = data.load_store_summary(version)
by_indicator = summary.groupby("indicator").agg(
    rows=("rows", "sum"),
    countries=("countries", "max"),
    newest=("last_period", "max"),
    sources=("source", lambda values: ", ".join(sorted(set(values)))),
)
panel = data.load_panel(version, data.today())
latest = panel.now.latest
latest_here = latest[latest["country"].isin([country, "WLD"])].sort_values("country")
latest_here = latest_here.drop_duplicates("indicator", keep="first").set_index("indicator")
indicator_rows: list[dict[str, object]] = []
for indicator in catalogue.enabled_indicators:
    if indicator.source == "derived":
        continue
    stored = by_indicator.loc[indicator.id] if indicator.id in by_indicator.index else None
    here = latest_here.loc[indicator.id] if indicator.id in latest_here.index else None
    age = float(here["age_days"]) if here is not None else None
    indicator_rows.append(
        {
            "Indicator": indicator.name,
            "Source": stored["sources"] if stored is not None else indicator.source,
            "Rows": int(stored["rows"]) if stored is not None else 0,
            "Countries": int(stored["countries"]) if stored is not None else 0,
            "Newest period (any country)": stored["newest"] if stored is not None else None,
            f"Newest ({country})": here["period"] if here is not None else None,
            "Age": age_in_words(age) if age is not None else "never",
            "Max age": age_in_words(indicator.max_age_days),
            "Status": staleness_badge(age, indicator.max_age_days),
        }
    )
indicators = pd.DataFrame(indicator_rows)
st.caption(
    f"Age is for {escape_markdown(data.country_label(country))} (world series: WLD), from the "
    "end of the newest period, against each indicator's maximum age."
)
st.dataframe(
    indicators.style.map(status_style, subset=["Status"]).format(na_rep="—"),
    hide_index=True,
    width="stretch",
    column_config={
        "Indicator": st.column_config.TextColumn(width="medium"),
        "Newest period (any country)": st.column_config.DateColumn(
            "Newest (any)", format="YYYY-MM-DD"
        ),
        f"Newest ({country})": st.column_config.DateColumn(format="YYYY-MM-DD"),
    },
)
components.export_buttons(
    table=indicators, figure=None, name=f"flashpoint_indicator_health_{country}", key="ind"
)

with st.expander("Recent fetch runs"):
    if runs.empty:
        st.caption("No fetch runs recorded.")
    else:
        recent = runs.head(50).copy()
        recent["error"] = recent["error"].map(plain_error)
        st.dataframe(
            recent.drop(columns=["detail"], errors="ignore"), hide_index=True, width="stretch"
        )
