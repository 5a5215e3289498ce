"""Overview: the risk now, what changed and why, how sure we are, and the fuel-price trigger."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import as_of, charts, components, data, history, share, trend_chart
from dashboard.formatting import (
    age_in_words,
    escape_markdown,
    format_value,
    trend_arrow,
)
from indicators.announced_shocks import ANNOUNCED_SHOCK_INDICATOR, announcement_behind_shock
from indicators.methodology import METHODOLOGY_VERSION
from indicators.scoring import PanelScore
from indicators.trigger_driver import (
    FUEL_STEP_INDICATOR,
    describe_driver,
    fuel_behind_step,
    trigger_driver,
)
from indicators.trigger_state import describe_composite, describe_trigger, is_blind

# The case the product must get right, one click away; other countries replay their last year.
REPLAY_PRESETS = {"KAZ": (dt.date(2021, 10, 1), dt.date(2022, 2, 15), "2021–22")}
RECENT_REPLAY_DAYS = 365
# Windows of the trigger chart: years back from today (None = everything stored).
TRIGGER_WINDOWS: dict[str, int | None] = {"5 years": 5, "10 years": 10, "All": None}
WHAT_CHANGED_ROWS = 6


@data.cache_data(max_entries=256)
def trigger_chart(
    version: str, country: str, years: int | None, threshold: float, window_days: int, day: dt.date
) -> dict[str, Any]:
    """The trigger panel's chart, built once per data version, country and window. Cached as a
    plain dict: a cached `go.Figure` is re-validated property by property when unpickled."""
    prices = data.load_fuel_prices(version, country, window_days, day)
    start = data.trigger_window_start(prices, pd.Timestamp(day), years)
    figure: dict[str, Any] = charts.fuel_prices_figure(
        prices, shock_threshold=threshold, start=start, end=pd.Timestamp(day)
    ).to_dict()
    return figure


settings = data.get_settings()
catalogue = data.get_catalogue()
page_version = data.run_version()
components.stop_if_empty(page_version)
country = components.selected_country()
# Today, or the past day picked in the sidebar: every number below is scored as of it.
day = as_of.selected_day()
names = {item.id: item.name for item in catalogue.indicators}

header, action = st.columns([2.6, 1.2], vertical_alignment="bottom")
header.title(data.country_names().get(country, country))
as_of.banner(day)
country_name = data.country_names().get(country, country)
if country in REPLAY_PRESETS:
    replay_start, replay_end, replay_label = REPLAY_PRESETS[country]
    replay_every = "day"
    replay_help = (
        f"What Flashpoint would have shown for {country_name}, day by day from "
        f"{replay_start:%d %b %Y} to {replay_end:%d %b %Y}: only data published by each date "
        "is used."
    )
else:
    replay_end = day
    replay_start = replay_end - dt.timedelta(days=RECENT_REPLAY_DAYS)
    replay_label, replay_every = "last 12 months", "week"
    replay_help = (
        f"What Flashpoint would have shown for {country_name}, week by week over the 12 "
        f"months to {replay_end:%d %b %Y}: only data published by each date is used."
    )
if action.button(
    f"Replay {country_name} {replay_label}",
    icon=":material/history:",
    type="primary",
    key="overview_replay_preset",
    help=replay_help,
    width="stretch",
):
    st.session_state["replay_country"] = country
    st.session_state["replay_range"] = (replay_start, replay_end)
    st.session_state["replay_every"] = replay_every
    st.switch_page(st.session_state["_pages"]["replay"])


def recent_changes_in_words(version: str, code: str, day: dt.date) -> str:
    """ "Since yesterday: → +0.00 · Since last week: ↑ +0.42 (Domestic fuel price step +0.40)"."""
    recent = history.load_recent_movers(version, (code,), day)
    parts = []
    for item in recent.itertuples():
        change = float(item.change)
        if pd.isna(change):
            parts.append(f"Since {item.since}: no score then")
            continue
        moved = history.movers_in_words(item.movers, names)
        parts.append(
            f"Since {item.since}: {trend_arrow(change)} {change:+.2f}"
            + (f" ({moved})" if moved else "")
        )
    return " · ".join(parts)


def trigger_driver_in_words(version: str, code: str, scored: PanelScore, day: dt.date) -> str:
    """What drives the trigger itself (not the composite): "Driver: LPG price step +98 %"."""
    driver = trigger_driver(scored.contributions, code)
    if driver is None:
        return "No trigger input is raised."
    fuel = None
    if driver["indicator"] == FUEL_STEP_INDICATOR:
        step_window = catalogue.indicator(FUEL_STEP_INDICATOR).window_days
        fuel = fuel_behind_step(
            data.load_fuel_prices(version, code, step_window, day),
            driver["period"],
            float(driver["value"]),
        )
    announcement = None
    if driver["indicator"] == ANNOUNCED_SHOCK_INDICATOR:
        announcement = announcement_behind_shock(
            data.load_announcements(version, code), code, driver["period"], float(driver["value"])
        )
    indicator = str(driver["indicator"])
    return "Driver: " + describe_driver(
        driver, names.get(indicator, indicator), fuel=fuel, announcement=announcement
    )


@data.cache_data(max_entries=256)
def trend_figure(version: str, code: str, end: dt.date, window: str) -> dict[str, Any]:
    """The composite's trend over one of `history.TREND_WINDOWS` up to `end`, built once per
    data version, country, day and window (a plain dict, as `trigger_chart`)."""
    days = history.TREND_WINDOWS[window]
    every = history.trend_step(version, (code,), window)
    figure: dict[str, Any] = trend_chart.composite_trend_figure(
        history.load_trend(version, (code,), end, window),
        start=end - dt.timedelta(days=days - 1),
        end=end,
        bands=data.get_catalogue().bands,
        title=f"Composite, last {window} ({'daily' if every == 'day' else 'weekly'})",
    ).to_dict()
    return figure


def show_trends(version: str, code: str, day: dt.date) -> None:
    """The composite's trend over 90 days and a year up to `day`, side by side (gaps where
    unscored)."""
    columns = st.columns(len(history.TREND_WINDOWS))
    for column, window in zip(columns, history.TREND_WINDOWS, strict=True):
        days = history.TREND_WINDOWS[window]
        with column:
            components.show_figure(
                trend_figure(version, code, day, window),
                key=f"overview_trend_{days}",
                png_name=f"flashpoint_trend_{days}d_{code}",
            )


@st.fragment(run_every=settings.dashboard.refresh_seconds or None)
def headline() -> None:
    """The headline tiles; re-read on a timer, and the whole page reruns when the data changed."""
    version = data.fresh_version_for_fragment(page_version)
    panel = data.load_panel(version, day)
    scores = panel.now.countries
    if country not in scores.index:
        components.no_data_for_country(country, "scored data")
        return
    row = scores.loc[country]
    composite = row["composite"]
    previous = (
        panel.previous.countries["composite"].get(country) if panel.previous is not None else None
    )
    delta = (
        float(composite - previous)
        if previous is not None and pd.notna(previous) and pd.notna(composite)
        else None
    )
    st.caption(
        f"Stability risk as of {panel.now.as_of:%d %B %Y} · change since "
        f"{escape_markdown(panel.previous_label)} · methodology v{METHODOLOGY_VERSION}"
    )
    st.caption(
        recent_changes_in_words(version, country, day),
        help="The composite scored point in time on each day (only data published by then), "
        "and the inputs whose contribution to it moved most.",
    )
    blind = is_blind(row)
    if blind:
        st.warning(
            f"T{escape_markdown(describe_trigger(row))[1:]}. We cannot see whether a "
            "shock is under way: the composite is shown as a range, from what can be seen up to "
            "what a full trigger would make of this vulnerability.",
            icon=":material/visibility_off:",
        )
        if not as_of.is_past(day):
            as_of.last_seen_button(row.get("blind_since"), version)
    tiles = st.columns([1.25, 1, 1, 1])
    with tiles[0].container(border=True, height=178):
        if pd.isna(composite):
            st.metric("Composite risk (0–10)", "no score")
            st.caption(escape_markdown(row["reason"]) or "Not enough inputs to score.")
        elif blind:
            st.metric(
                "Composite risk (0–10)",
                f"{composite:.1f}–{row['composite_high']:.1f}",
                help="The trigger is blind (no fresh input of the country's own): from V "
                "amplified by what can still be seen, up to V amplified by a full trigger. "
                "See Methodology.",
            )
            st.markdown(components.band_pill(row["band"], row["band_colour"]))
            st.caption(escape_markdown(describe_composite(row)))
        else:
            st.metric(
                "Composite risk (0–10)",
                f"{composite:.1f}",
                delta=f"{trend_arrow(delta)} {delta:+.2f}" if delta is not None else None,
                delta_color="inverse" if delta is not None and abs(delta) >= 0.05 else "off",
                delta_arrow="off",
                help="Structural vulnerability amplified by the trigger (fuel-price shock or "
                "unrest spike); see Methodology.",
            )
            st.markdown(components.band_pill(row["band"], row["band_colour"]))
    with tiles[1].container(border=True, height=178):
        counts = data.input_counts(panel.now, country)
        assert counts is not None  # the country is scored (checked above)
        st.metric(
            "Confidence (inputs present)",
            f"{counts.present} of {counts.expected}",
            help="Inputs present out of those the catalogue expects; stale inputs are older "
            "than their indicator's maximum age.",
        )
        newest = age_in_words(row["newest_input_age_days"])
        oldest = age_in_words(row["oldest_input_age_days"])
        st.caption(f"{counts.stale} stale · newest {newest} old · oldest {oldest} old")
    with tiles[2].container(border=True, height=178):
        st.metric(
            "Structural vulnerability",
            "—" if pd.isna(row["vulnerability"]) else f"{row['vulnerability']:.1f}",
            help="Geometric mean of the structural pillars (0–10).",
        )
        missing = str(row["missing_pillars"] or "")
        st.caption(
            f"No data: {escape_markdown(missing)}" if missing else "All structural pillars scored"
        )
    with tiles[3].container(border=True, height=178):
        if blind:
            st.metric(
                "Trigger",
                "blind",
                help="No fresh input of the country's own trigger pillars (domestic prices, "
                "unrest): we cannot see, which is not the same as calm.",
            )
            st.caption(escape_markdown(describe_trigger(row)))
        else:
            st.metric(
                "Trigger",
                "—" if pd.isna(row["trigger"]) else f"{row['trigger']:.1f}",
                help="The strongest trigger pillar (fuel-price shock, unrest spike), 0–10; "
                f"{row.get('trigger_state', '')}.",
            )
            st.caption(escape_markdown(trigger_driver_in_words(version, country, panel.now, day)))
    show_trends(version, country, day)


@data.cache_data(max_entries=256)
def pillar_figure(version: str, day: dt.date, code: str) -> dict[str, Any]:
    """The pillar bars of `code`, trigger pillars first, built once per data version, day and
    country (a plain dict, as `trigger_chart`)."""
    panel = data.load_panel(version, day)
    catalogue = data.get_catalogue()
    pillar_names = {pillar.id: pillar.name for pillar in catalogue.pillars}
    order = {pillar.id: index for index, pillar in enumerate(catalogue.pillars)}
    pillars = panel.now.pillars[panel.now.pillars["country"] == code].copy()
    pillars["order"] = pillars["pillar"].map(order)
    pillars["is_trigger"] = pillars["kind"] != "trigger"
    pillars = pillars.sort_values(["is_trigger", "order"])
    pillars["name"] = pillars["pillar"].map(pillar_names).fillna(pillars["pillar"])
    pillars["note"] = ""
    if is_blind(panel.now.countries.loc[code]):
        # A blind trigger pillar's 0 is "cannot see", not "calm": no bar, the word "blind".
        trigger_rows = pillars["kind"] == "trigger"
        pillars.loc[trigger_rows, "score"] = float("nan")
        pillars.loc[trigger_rows, "note"] = "blind"
    figure: dict[str, Any] = charts.pillar_bars_figure(
        pillars[["name", "score", "kind", "note"]], catalogue.bands
    ).to_dict()
    return figure


def show_pillars() -> None:
    """The pillar bars of the country in view, trigger pillars first."""
    st.subheader("Pillars")
    components.show_figure(pillar_figure(page_version, day, country), key="overview_pillars")
    st.caption("Trigger pillars first, then the structural pillars (0 = calm, 10 = extreme).")


# The tiles' place on the page, filled after the pillar chart: the browser fetches plotly.js
# (several MB) only once the first chart arrives, so that chart is sent as early as possible.
headline_area = st.container()
panel = data.load_panel(page_version, day)
scored = country in panel.now.countries.index
if scored:
    left, right = st.columns([1, 1], gap="large")
    with left:
        show_pillars()
with headline_area:
    headline()
if not scored:
    st.stop()
share.brief_downloads(page_version, country, day)

with right:
    st.subheader("Alerts firing")
    states = data.load_alert_state(page_version)
    if as_of.is_past(day):
        # Alert states are live: what would have fired then is the Replay's to say.
        st.caption(
            f"Alert states are live, not as of {day:%d %b %Y}: the **Replay** page shows the "
            "alerts that would have fired on that day (its *Alerts that would have fired* tab)."
        )
    elif states.empty:
        st.caption(
            "Alert rules have not been evaluated on this store yet: they run after each "
            "`flashpoint refresh` or under `flashpoint serve`."
        )
    else:
        firing = states[(states["country"] == country) & (states["state"] == "firing")]
        if firing.empty:
            st.success("No alert is firing for this country.", icon=":material/check_circle:")
        else:
            rule_names = data.load_rule_titles(page_version)
            shown = pd.DataFrame(
                {
                    "Rule": firing["rule_id"].map(rule_names).fillna(firing["rule_id"]),
                    "Since": firing["since"],
                    "Last value": firing["last_value"],
                }
            )
            st.error(f"{len(shown)} alert(s) firing", icon=":material/notifications_active:")
            st.dataframe(shown, hide_index=True, width="stretch")

    st.subheader("What changed")
    if panel.previous is None or country not in panel.previous.countries.index:
        st.caption("No earlier score to compare with.")
    else:
        changes = data.load_change_explanation(page_version, day, country)
        moved = changes[changes["delta"].abs() > 0.005].head(WHAT_CHANGED_ROWS)
        before = panel.previous.countries.loc[country, "composite"]
        after = panel.now.countries.loc[country, "composite"]
        if moved.empty:
            st.caption(
                f"Nothing moved the composite since {escape_markdown(panel.previous_label)}."
            )
        else:
            st.caption(
                f"Composite {format_value(before)} → {format_value(after)} since "
                f"{escape_markdown(panel.previous_label)}; the inputs that moved it most:"
            )
            labels = moved["indicator"].map(names).fillna(moved["indicator"])
            components.show_figure(
                charts.contributions_figure(
                    pd.DataFrame({"label": labels, "delta": moved["delta"]})
                ),
                key="overview_changes",
            )

# --------------------------------------------------------------------------------------------
# The trigger panel

st.subheader("Trigger panel: fuel prices")
threshold = data.fuel_shock_threshold(settings)
step_indicator = catalogue.indicator(data.FUEL_SHOCK_INDICATOR)
prices = data.load_fuel_prices(page_version, country, step_indicator.window_days, day)
max_ages = {item.id: item.max_age_days for item in catalogue.indicators}
today = pd.Timestamp(day)

shock = panel.now.contributions[
    (panel.now.contributions["country"] == country)
    & (panel.now.contributions["indicator"] == data.FUEL_SHOCK_INDICATOR)
]
if not shock.empty and pd.notna(shock["value"].iloc[0]):
    step_value = float(shock["value"].iloc[0])
    step_period = pd.Timestamp(shock["period"].iloc[0])
    message = (
        f"Largest domestic fuel-price step in the {step_indicator.window_days} days to "
        f"{step_period:%d %b %Y}: **{step_value:+.0f}%** (shock threshold {threshold:g}%)."
    )
    if str(shock["status"].iloc[0]) == "stale":
        st.caption(
            message + f" Older than {step_indicator.max_age_days} days, so it no longer "
            "counts as a trigger."
        )
    elif step_value >= threshold:
        st.error("**Fuel-price shock.** " + message, icon=":material/local_gas_station:")
    else:
        st.caption(message)

if prices.empty:
    st.info(
        "No fuel prices are stored for this country. Domestic fuel prices come from the "
        "analyst's CSV (`flashpoint import`); Brent from FRED/EIA (`flashpoint refresh`).",
        icon=":material/local_gas_station:",
    )
else:
    series_list = list(prices.groupby("indicator", sort=False))
    columns = st.columns(len(series_list))
    for column, (indicator_id, series) in zip(columns, series_list, strict=True):
        latest = series.iloc[-1]
        period = pd.Timestamp(latest["period"])
        step = latest["step_pct"]
        stale = (today - period).days > max_ages.get(str(indicator_id), 730)
        with column.container(border=True, height=168):
            st.metric(
                f"{latest['label']} · {latest['unit']}",
                format_value(float(latest["value"])),
                delta=f"{step:+.1f}% step" if pd.notna(step) else None,
                delta_color="inverse",
                help="The latest value and its step from the previous observation (counted "
                f"when they are at most {step_indicator.window_days} days apart, or when both are "
                "official revisions: the price in force until the next one).",
            )
            if pd.notna(step) and step >= threshold and not stale:
                st.badge(f"Shock ≥ {threshold:g}%", icon=":material/warning:", color="red")
            st.caption(f"{period:%d %b %Y}" + (" · stale" if stale else ""))
    # The default is seeded in session state (not `default=`), so a shared URL can set it.
    st.session_state.setdefault("overview_window", "5 years")
    window = st.segmented_control(
        "Chart window", options=list(TRIGGER_WINDOWS), key="overview_window"
    )
    fuel_figure = trigger_chart(
        page_version,
        country,
        TRIGGER_WINDOWS.get(str(window), 5),
        threshold,
        step_indicator.window_days,
        day,
    )
    components.show_figure(
        fuel_figure, key="overview_fuel", png_name=f"flashpoint_fuel_prices_{country}"
    )
    st.caption(
        f"Domestic prices step where they were set; circles mark a step of {threshold:g}% or "
        f"more within {step_indicator.window_days} days (the fuel-price-shock alert's threshold). "
        "Brent on the right axis."
    )
    components.export_buttons(
        table=prices, figure=fuel_figure, name=f"flashpoint_fuel_prices_{country}", key="fuel"
    )
