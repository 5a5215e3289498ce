"""Country detail: the score over time with event annotations, and every indicator behind it."""

from __future__ import annotations

from urllib.parse import urlparse

import pandas as pd
import streamlit as st

from dashboard import announcements_view, as_of, charts, components, data, share
from dashboard.formatting import (
    age_in_words,
    escape_markdown,
    format_value,
    period_label,
    staleness_badge,
    status_style,
)
from indicators.observations import WORLD
from indicators.units import shown_unit

HISTORY_WINDOWS: dict[str, int] = {"1 year": 1, "5 years": 5, "10 years": 10}
SPARKLINE_POINTS = 40

settings = data.get_settings()
catalogue = data.get_catalogue()
version = data.run_version()
components.stop_if_empty(version)
country = components.selected_country()
# Today, or the past day picked in the sidebar: every number below is scored as of it.
day = as_of.selected_day()
panel = data.load_panel(version, day)
# Short pillar labels keep the indicator table narrow ("Governance and corruption" → "Governance").
pillar_names = {pillar.id: pillar.name.split(" and ")[0] for pillar in catalogue.pillars}
pillar_order = {pillar.id: index for index, pillar in enumerate(catalogue.pillars)}

st.title(data.country_names().get(country, country))
as_of.banner(day)
counts = data.input_counts(panel.now, country)
if country in panel.now.countries.index:
    row = panel.now.countries.loc[country]
    score_text = "no score" if pd.isna(row["composite"]) else f"{row['composite']:.1f} / 10"
    st.markdown(
        f"Composite **{score_text}** {components.band_pill(row['band'], row['band_colour'])} · "
        f"{escape_markdown(counts.in_words()) if counts else ''} · "
        f"as of {panel.now.as_of:%d %b %Y}"
    )

observations = data.load_country_observations(version, country)
if as_of.is_past(day):
    # Trends and charts stop where the day's knowledge stopped (point in time).
    from indicators.pointintime import visible_observations

    observations = visible_observations(observations, catalogue, day)
own = observations[observations["country"] == country]
if own.empty:
    components.no_data_for_country(country)
    st.stop()
share.brief_downloads(version, country, day)


def _http_only(url: object) -> str | None:
    text = "" if url is None or (isinstance(url, float) and pd.isna(url)) else str(url).strip()
    parsed = urlparse(text)
    return text if parsed.scheme in ("http", "https") and parsed.netloc else None


# --------------------------------------------------------------------------------------------
# Score history with event annotations

st.subheader("Score history")
history_controls = st.columns([1, 3])
# The default is seeded in session state (not `default=`), so a shared URL can set it.
st.session_state.setdefault("country_history_window", "5 years")
window = history_controls[0].segmented_control(
    "Window", options=list(HISTORY_WINDOWS), key="country_history_window"
)
years = HISTORY_WINDOWS.get(str(window), 5)
end = day
start = (pd.Timestamp(end) - pd.DateOffset(years=years)).date()
with st.spinner("Scoring the history point in time…"):
    history = data.load_replay(version, country, start, end, "week")
events = data.load_events(version, country)
if as_of.is_past(day):
    # A past view annotates only what had happened by then.
    events = events[pd.to_datetime(events["date"]) <= pd.Timestamp(day)]
history_figure = charts.score_history_figure(
    history[["date", "composite"]], events, catalogue.bands, height=340, window=(start, end)
)
components.show_figure(
    history_figure, key="country_history", png_name=f"flashpoint_history_{country}"
)
history_controls[1].caption(
    "Weekly, point in time: each date uses only data published by then. Dashed lines mark "
    "annotated events (the store's events table)."
)
components.export_buttons(
    table=history, figure=history_figure, name=f"flashpoint_history_{country}", key="history"
)

if not events.empty:
    with st.expander(f"Events ({len(events)})", expanded=False):
        shown_events = pd.DataFrame(
            {
                "Date": pd.to_datetime(events["date"]).dt.date,
                "Event": events["title"],
                "Details": events["description"],
                "Source": [_http_only(url) for url in events["source_url"]],
            }
        ).sort_values("Date", ascending=False)
        st.dataframe(
            shown_events,
            hide_index=True,
            width="stretch",
            column_config={"Source": st.column_config.LinkColumn("Source", display_text="open")},
        )
announcements_view.show_country_calendar(country)

# --------------------------------------------------------------------------------------------
# Every indicator

st.subheader("Indicators")
latest = panel.now.latest
contributions = panel.now.contributions
contributions = contributions[contributions["country"] == country].set_index("indicator")
rows: list[dict[str, object]] = []
for indicator in catalogue.enabled_indicators:
    owner = country
    series = own[own["indicator"] == indicator.id]
    if series.empty and indicator.id in set(
        observations.loc[observations["country"] == WORLD, "indicator"]
    ):
        owner = WORLD
        series = observations[
            (observations["country"] == WORLD) & (observations["indicator"] == indicator.id)
        ]
    found = latest[(latest["indicator"] == indicator.id) & (latest["country"] == owner)]
    contribution = contributions.loc[indicator.id] if indicator.id in contributions.index else None
    if not found.empty:
        item = found.iloc[0]
        value, period, age = item["value"], item["period"], item["age_days"]
        source = str(item["source"])
        unit = item.get("unit")
    elif contribution is not None and pd.notna(contribution["value"]):
        value, period, age = contribution["value"], contribution["period"], contribution["age_days"]
        source = str(contribution["source"] or indicator.source)
        unit = None
    else:
        value, period, age, source = float("nan"), pd.NaT, float("nan"), indicator.source
        unit = None
    if series.empty and pd.isna(value):
        status = staleness_badge(None, indicator.max_age_days)
    else:
        status = staleness_badge(age, indicator.max_age_days)
    trend = (
        series.sort_values("period")["value"].tail(SPARKLINE_POINTS).astype(float).tolist()
        if not series.empty
        else []
    )
    rows.append(
        {
            "Pillar": pillar_names.get(indicator.pillar, indicator.pillar),
            "Indicator": indicator.name + (" (world)" if owner == WORLD else ""),
            "Latest": format_value(float(value)) if pd.notna(value) else "—",
            "Unit": shown_unit(indicator.unit, unit),
            "Period": period_label(period, indicator.frequency),
            "Age": (
                f"{age_in_words(age)} (max {age_in_words(indicator.max_age_days)})"
                if pd.notna(age)
                else "—"
            ),
            "Status": status,
            "Score (0–10)": (
                contribution["normalised"] if contribution is not None else float("nan")
            ),
            "Trend": trend,
            "Source": source,
            "Link": _http_only(indicator.source_url),
            "_order": pillar_order.get(indicator.pillar, 99),
            "_id": indicator.id,
        }
    )
table = pd.DataFrame(rows).sort_values(["_order", "Indicator"], kind="mergesort")
# Status and score right after the name: on a phone they show without sideways scrolling.
visible_table = table.drop(columns=["_order", "_id"])[
    [
        "Indicator",
        "Status",
        "Score (0–10)",
        "Latest",
        "Unit",
        "Period",
        "Age",
        "Trend",
        "Pillar",
        "Source",
        "Link",
    ]
]
st.dataframe(
    visible_table.style.map(status_style, subset=["Status"]).format(
        {"Score (0–10)": "{:.1f}"}, na_rep="—"
    ),
    hide_index=True,
    width="stretch",
    height=min(38 + 35 * len(visible_table), 760),
    column_config={
        "Indicator": st.column_config.TextColumn(width="medium"),
        "Latest": st.column_config.TextColumn(help="Latest value, in the unit beside it"),
        "Unit": st.column_config.TextColumn(width="small"),
        "Period": st.column_config.TextColumn(width="small"),
        "Source": st.column_config.TextColumn(width="small"),
        "Score (0–10)": st.column_config.ProgressColumn(
            min_value=0.0, max_value=10.0, format="%.1f"
        ),
        "Trend": st.column_config.LineChartColumn(width="small"),
        "Link": st.column_config.LinkColumn(display_text="about"),
    },
)
listed_stale = int((table["Status"] == "stale").sum())
scored_counts = (
    f"Scoring uses {counts.in_words()} (the counts every page shows). " if counts else ""
)
st.caption(
    f"{scored_counts}The table lists all {len(table)} indicators, {listed_stale} of them stale "
    "(older than their maximum age), including world series and derived indicators (steps, "
    "changes, spikes), which are computed by scoring and have no stored series."
)

# --------------------------------------------------------------------------------------------
# One indicator over time

charted = table[table["Trend"].map(len) > 0]
if charted.empty:
    st.stop()
st.subheader("Chart an indicator")
labels = dict(zip(charted["_id"], charted["Indicator"], strict=True))
chosen = st.selectbox(
    "Indicator",
    options=list(labels),
    format_func=lambda key: labels[key],
    key="country_indicator",
)
indicator = catalogue.indicator(chosen)
owner = WORLD if labels[chosen].endswith("(world)") else country
series = observations[(observations["indicator"] == chosen) & (observations["country"] == owner)]
figure = charts.indicator_series_figure(
    series,
    name=indicator.name,
    # A local-currency price (LCU/litre) is charted in the country's own unit (PKR/litre).
    unit=shown_unit(indicator.unit, series["unit"].iloc[-1] if not series.empty else None),
    height=320,
)
components.show_figure(
    figure, key="country_indicator_chart", png_name=f"flashpoint_{chosen}_{owner}"
)
description = escape_markdown(indicator.description)
st.caption(
    f"{description} Source: {escape_markdown(', '.join(sorted(set(series['source']))))}. "
    f"A newest value older than {indicator.max_age_days} days counts as stale."
)
components.export_buttons(
    table=series.drop(columns=["fetched_at"], errors="ignore"),
    figure=figure,
    name=f"flashpoint_{chosen}_{owner}",
    key="indicator",
)
export_table = visible_table.drop(columns=["Trend"])
st.download_button(
    "Indicator table as CSV",
    data=export_table.to_csv(index=False).encode("utf-8"),
    file_name=f"flashpoint_indicators_{country}.csv",
    mime="text/csv",
    icon=":material/table_view:",
    on_click="ignore",
    key="indicators_csv",
)
