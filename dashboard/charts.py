"""Pure plotly figure builders for the dashboard: frames in, `go.Figure` out, no Streamlit, no I/O.

Every builder documents the columns it reads. Text that came from outside (event titles, source
names, country names) is escaped with `plotly_text` before it reaches a figure, because plotly.js
renders a subset of HTML (`<b>`, `<a href>`, `<br>`) in titles, annotations and hover labels.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from indicators.catalogue import DEFAULT_BANDS, Band

SCORE_RANGE: tuple[float, float] = (0.0, 10.0)
NO_DATA_COLOUR = "#c9ced6"
INK = "#1f2933"
MUTED = "#6b7785"
GRID = "#e6e9ee"
# Chart backgrounds are transparent so they follow the page's light or dark theme; the browser
# component (basic_chart.js) recolours text and grid lines from the page's own text colour.
TRANSPARENT = "rgba(0,0,0,0)"
# Behind the map's colour bar: near-opaque white, so its ink labels read on any page theme.
COLOUR_BAR_PANEL = "rgba(255,255,255,0.92)"
SHOCK_COLOUR = "#b2182b"
# Domestic fuel lines: LPG is the 2022 trigger, so it gets the strongest colour.
SERIES_COLOURS: tuple[str, ...] = (
    "#d7301f",
    "#1f4e79",
    "#2b8cbe",
    "#6a51a3",
    "#238b45",
    "#8c6d31",
)
WORLD_PRICE_COLOUR = "#7f8c8d"
# The house template, made plotly's default: a new figure takes the default without validating
# it, while setting it on a figure (`update_layout(template=…)`) deep-copies and validates the
# whole template each time (0.1–0.3 s a figure, most of a first overview's chart building).
HOUSE_TEMPLATE = "plotly_white"
pio.templates.default = HOUSE_TEMPLATE
# Streamlit's own (bundled) font first, so charts match the page; kaleido falls back to Arial.
FONT_FAMILY = "'Source Sans', 'Source Sans Pro', Helvetica, Arial, sans-serif"


def plotly_text(text: object, *, limit: int | None = None) -> str:
    """`text` made inert for plotly.js: HTML-escaped (plotly shows the entities as characters),
    optionally shortened to `limit` characters with an ellipsis."""
    value = "" if text is None or (isinstance(text, float) and pd.isna(text)) else str(text)
    value = " ".join(value.split())
    if limit is not None and len(value) > limit:
        value = value[: max(limit - 1, 1)].rstrip() + "…"
    # Quotes stay as they are: with < and & escaped no tag can form, and plotly.js does not decode
    # &quot; (it would show literally).
    return html.escape(value, quote=False)


def band_for(score: float | None, bands: Sequence[Band] = DEFAULT_BANDS) -> Band | None:
    """The band a 0–10 score falls in (the highest band whose lower bound it reaches); None for
    a missing score."""
    if score is None or pd.isna(score):
        return None
    ordered = sorted(bands, key=lambda band: band.lower)
    chosen = ordered[0]
    for band in ordered:
        if score >= band.lower:
            chosen = band
    return chosen


def band_colour(score: float | None, bands: Sequence[Band] = DEFAULT_BANDS) -> str:
    """The colour of the band a score falls in; a neutral grey for a missing score."""
    band = band_for(score, bands)
    return band.colour if band is not None else NO_DATA_COLOUR


def band_colourscale(bands: Sequence[Band] = DEFAULT_BANDS) -> list[list[float | str]]:
    """A stepped plotly colourscale over 0–10 in which each band is one flat colour."""
    ordered = sorted(bands, key=lambda band: band.lower)
    low, high = SCORE_RANGE
    scale: list[list[float | str]] = []
    for index, band in enumerate(ordered):
        start = (max(band.lower, low) - low) / (high - low)
        end = (
            (min(ordered[index + 1].lower, high) - low) / (high - low)
            if index + 1 < len(ordered)
            else 1.0
        )
        scale.append([start, band.colour])
        scale.append([end, band.colour])
    scale[0][0] = 0.0
    return scale


def base_layout(figure: go.Figure, *, height: int, title: str | None = None) -> go.Figure:
    """The house layout every figure shares: font, margins, legend, transparent backgrounds."""
    if pio.templates.default != HOUSE_TEMPLATE:  # another module changed the default since
        figure.update_layout(template=HOUSE_TEMPLATE)
    figure.update_layout(
        paper_bgcolor=TRANSPARENT,
        plot_bgcolor=TRANSPARENT,
        height=height,
        margin={"l": 8, "r": 8, "t": 40 if title else 12, "b": 8},
        font={"family": FONT_FAMILY, "size": 13, "color": INK},
        title={"text": plotly_text(title), "x": 0.0, "xanchor": "left", "font": {"size": 15}}
        if title
        else None,
        hoverlabel={"font": {"family": FONT_FAMILY}},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0.0},
    )
    figure.update_xaxes(gridcolor=GRID, zeroline=False)
    figure.update_yaxes(gridcolor=GRID, zeroline=False)
    return figure


def day_strings(values: Iterable[object]) -> list[str]:
    """Dates as "YYYY-MM-DD" strings (what plotly.js reads as day positions)."""
    return [pd.Timestamp(value).strftime("%Y-%m-%d") for value in values]


def pillar_bars_figure(
    pillars: pd.DataFrame, bands: Sequence[Band] = DEFAULT_BANDS, *, height: int | None = None
) -> go.Figure:
    """Horizontal bars of pillar scores (0–10), each coloured by its band.

    Args:
        pillars: columns `name` (label) and `score` (NaN when the pillar has no inputs), in the
            order to show top to bottom; optional `kind` ("trigger"/"structural") is shown in
            the hover; optional `note` replaces "no data" on a pillar without a score
            (e.g. "blind" for the trigger pillars of a blind trigger).
        bands: the score bands (colours).

    Returns:
        The figure; pillars without a score get a grey stub labelled "no data" (or their note).
    """
    frame = pillars.reset_index(drop=True)
    scores = pd.to_numeric(frame["score"], errors="coerce")
    labels = [plotly_text(name) for name in frame["name"]]
    shown = scores.fillna(0.15)
    colours = [band_colour(value, bands) for value in scores]
    notes = frame["note"].fillna("").astype(str) if "note" in frame else pd.Series("", frame.index)
    texts = [
        (plotly_text(note) or "no data") if pd.isna(value) else f"{value:.1f}"
        for value, note in zip(scores, notes, strict=True)
    ]
    kinds = frame["kind"].astype(str).tolist() if "kind" in frame else [""] * len(frame)
    figure = go.Figure(
        go.Bar(
            x=shown.tolist(),
            y=labels,
            orientation="h",
            marker={"color": colours, "line": {"width": 0}},
            text=texts,
            textposition="outside",
            cliponaxis=False,
            customdata=[[kind, text] for kind, text in zip(kinds, texts, strict=True)],
            hovertemplate="%{y}: %{customdata[1]} (%{customdata[0]})<extra></extra>",
            name="Pillar score",
        )
    )
    base_layout(figure, height=height or max(160, 34 * len(frame) + 40))
    figure.update_xaxes(range=[0, 10.8], dtick=2, title=None, fixedrange=True)
    figure.update_yaxes(autorange="reversed", fixedrange=True, gridcolor="rgba(0,0,0,0)")
    figure.update_layout(showlegend=False, bargap=0.35)
    return figure


def fuel_prices_figure(
    prices: pd.DataFrame,
    *,
    shock_threshold: float | None = None,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    height: int = 340,
    max_world_points: int = 400,
) -> go.Figure:
    """The trigger panel's chart: domestic fuel prices as steps on the left axis, world crude on
    the right axis, and the observations whose step change reached the shock threshold marked.

    Args:
        prices: columns `label`, `period`, `value`, `unit`, `axis` ("domestic" or "world");
            optional `step_pct` (the % change from the previous observation of that series).
        shock_threshold: the fuel-shock rule's threshold in %; steps at or above it are marked.
        start: hide observations before this date (keeps the previous point so the step into
            the window is drawn).
        end: the window's last day; with `start`, the x-axis shows exactly [start, end] (a
            narrow phone screen never widens it to the data's own extent).
        max_world_points: a longer world series is drawn as weekly closes (a lighter chart;
            the domestic series are always drawn point by point).

    Returns:
        One trace per series (trace name = label), plus a "Shock" marker trace when any step
        crossed the threshold.
    """
    figure = go.Figure()
    has_world = bool((prices["axis"] == "world").any()) if not prices.empty else False
    domestic_units: set[str] = set()
    world_units: set[str] = set()
    shock_x: list[str] = []
    shock_y: list[float] = []
    shock_text: list[str] = []
    colour_index = 0
    for label, series in prices.groupby("label", sort=False):
        series = series.sort_values("period")
        if start is not None:
            # The last point before the window enters it at the left edge, so a step line
            # starts at the right level without stretching the axis back in time.
            before = series[series["period"] < start].tail(1).assign(period=start, step_pct=None)
            series = pd.concat([before, series[series["period"] >= start]])
        if series.empty:
            continue
        axis = str(series["axis"].iloc[0])
        unit = str(series["unit"].iloc[0])
        is_world = axis == "world"
        if is_world and len(series) > max_world_points:
            weekly = series.set_index("period")["value"].resample("W").last().dropna()
            series = pd.DataFrame({"period": weekly.index, "value": weekly.to_numpy()})
        (world_units if is_world else domestic_units).add(unit)
        name = plotly_text(label)
        colour = (
            WORLD_PRICE_COLOUR if is_world else SERIES_COLOURS[colour_index % len(SERIES_COLOURS)]
        )
        if not is_world:
            colour_index += 1
        figure.add_trace(
            go.Scatter(
                x=day_strings(series["period"]),
                y=series["value"].astype(float).tolist(),
                name=name,
                mode="lines" if is_world else "lines+markers",
                line={
                    "color": colour,
                    "width": 1.5 if is_world else 2.5,
                    "shape": "linear" if is_world else "hv",
                    "dash": "dot" if is_world else "solid",
                },
                marker={"size": 6},
                yaxis="y2" if is_world and has_world else "y",
                hovertemplate=f"{name}: %{{y:,.1f}} {plotly_text(unit)} on %{{x|%d %b %Y}}"
                "<extra></extra>",
            )
        )
        if shock_threshold is not None and "step_pct" in series and not is_world:
            shocks = series[pd.to_numeric(series["step_pct"], errors="coerce") >= shock_threshold]
            shock_x.extend(day_strings(shocks["period"]))
            shock_y.extend(shocks["value"].astype(float).tolist())
            shock_text.extend(f"{name}: {step:+.0f}%" for step in shocks["step_pct"])
    if shock_x:
        figure.add_trace(
            go.Scatter(
                x=shock_x,
                y=shock_y,
                name=f"Step ≥ {shock_threshold:g}%",
                mode="markers",
                marker={
                    "symbol": "circle-open",
                    "size": 16,
                    "line": {"width": 2.5, "color": SHOCK_COLOUR},
                    "color": SHOCK_COLOUR,
                },
                text=shock_text,
                hovertemplate="%{text} on %{x|%d %b %Y}<extra>shock</extra>",
            )
        )
    base_layout(figure, height=height)
    figure.update_layout(
        yaxis={"title": {"text": plotly_text(" / ".join(sorted(domestic_units)))}},
        hovermode="closest",
    )
    if has_world:
        figure.update_layout(
            yaxis2={
                "title": {"text": plotly_text(" / ".join(sorted(world_units)))},
                "overlaying": "y",
                "side": "right",
                "showgrid": False,
                "tickmode": "auto",
            }
        )
    if start is not None and end is not None:
        figure.update_xaxes(range=day_strings([start, end]))
    return figure


def indicator_series_figure(
    series: pd.DataFrame,
    *,
    name: str,
    unit: str,
    height: int = 220,
) -> go.Figure:
    """One indicator over time; one trace per vintage so releases are never joined into one line.

    Args:
        series: columns `period`, `value`; optional `vintage` and `is_forecast` (forecasts are
            drawn dashed).
        name: the indicator's name (trace label).
        unit: its unit (axis title).
    """
    figure = go.Figure()
    frame = series.sort_values("period")
    vintage = frame["vintage"] if "vintage" in frame else pd.Series("", index=frame.index)
    forecast = (
        frame["is_forecast"].astype(bool)
        if "is_forecast" in frame
        else pd.Series(False, index=frame.index)
    )
    groups = frame.assign(_vintage=vintage.fillna(""), _forecast=forecast).groupby(
        ["_vintage", "_forecast"], sort=True
    )
    for index, ((release, is_forecast), part) in enumerate(groups):
        label = plotly_text(name)
        if release:
            label += f" ({plotly_text(release)} release)"
        if is_forecast:
            label += " (forecast)"
        figure.add_trace(
            go.Scatter(
                x=day_strings(part["period"]),
                y=part["value"].astype(float).tolist(),
                name=label,
                mode="lines+markers" if len(part) < 60 else "lines",
                line={
                    "color": SERIES_COLOURS[(index + 1) % len(SERIES_COLOURS)],
                    "width": 2,
                    "dash": "dash" if is_forecast else "solid",
                },
                marker={"size": 5},
                hovertemplate=f"%{{x|%Y-%m-%d}}: %{{y:,.2f}} {plotly_text(unit)}<extra></extra>",
            )
        )
    base_layout(figure, height=height)
    figure.update_layout(showlegend=len(figure.data) > 1)
    figure.update_yaxes(title={"text": plotly_text(unit)})
    return figure


def _band_backgrounds(figure: go.Figure, bands: Sequence[Band]) -> None:
    ordered = sorted(bands, key=lambda band: band.lower)
    for index, band in enumerate(ordered):
        upper = ordered[index + 1].lower if index + 1 < len(ordered) else SCORE_RANGE[1]
        figure.add_hrect(
            y0=band.lower,
            y1=upper,
            fillcolor=band.colour,
            opacity=0.12,
            line_width=0,
            layer="below",
        )


def event_clusters(events: pd.DataFrame, *, gap: pd.Timedelta) -> list[pd.DataFrame]:
    """Events grouped so that each group starts more than `gap` after the previous group's first
    event (one label per group keeps close events readable)."""
    ordered = events.sort_values("date", kind="mergesort")
    groups: list[pd.DataFrame] = []
    start: pd.Timestamp | None = None
    members: list[int] = []
    for position, day in enumerate(pd.to_datetime(ordered["date"])):
        if start is None or day - start > gap:
            if members:
                groups.append(ordered.iloc[members])
            start, members = day, []
        members.append(position)
    if members:
        groups.append(ordered.iloc[members])
    return groups


def _event_markers(
    figure: go.Figure, events: pd.DataFrame | None, *, first: pd.Timestamp, last: pd.Timestamp
) -> None:
    """Dashed vertical lines for the events inside [first, last], one escaped label per cluster
    of close events ("title (+2 more)"); the hover lists every title of the cluster."""
    if events is None or events.empty:
        return
    dates = pd.to_datetime(events["date"])
    shown = events[(dates >= first) & (dates <= last)]
    if shown.empty:
        return
    span = max(last - first, pd.Timedelta(days=1))
    for position, group in enumerate(event_clusters(shown, gap=span * 0.06)):
        days = [pd.Timestamp(day) for day in group["date"]]
        for day in days:
            figure.add_vline(
                x=day.strftime("%Y-%m-%d"), line={"color": MUTED, "width": 1, "dash": "dash"}
            )
        label = plotly_text(group["title"].iloc[0], limit=44)
        if len(group) > 1:
            label += f" (+{len(group) - 1} more)"
        hover = "<br>".join(
            plotly_text(f"{day:%d %b %Y}: {title}", limit=110)
            for day, title in zip(days, group["title"], strict=True)
        )
        near_end = (days[0] - first) > span * 0.7
        figure.add_annotation(
            x=days[0].strftime("%Y-%m-%d"),
            y=1.0 - 0.085 * (position % 3),
            yref="paper",
            text=label,
            hovertext=hover,
            showarrow=False,
            xanchor="right" if near_end else "left",
            yanchor="top",
            xshift=-4 if near_end else 4,
            font={"size": 11, "color": INK},
            bgcolor="rgba(255,255,255,0.88)",
        )


def score_history_figure(
    history: pd.DataFrame,
    events: pd.DataFrame | None = None,
    bands: Sequence[Band] = DEFAULT_BANDS,
    *,
    height: int = 320,
    window: tuple[object, object] | None = None,
) -> go.Figure:
    """The composite score over time on the band background, with event annotations.

    Args:
        history: columns `date` and `composite` (0–10, NaN where no score could be computed).
        events: columns `date` and `title` (fetched or user text: escaped before drawing);
            only events inside the history's date range are drawn.
        bands: the score bands (background stripes).
        window: (first, last) day of the selected window: the x-axis shows exactly that span.
    """
    frame = history.sort_values("date")
    figure = go.Figure(
        go.Scatter(
            x=day_strings(frame["date"]),
            y=frame["composite"].astype(float).tolist(),
            name="Composite",
            mode="lines+markers" if len(frame) < 80 else "lines",
            line={"color": INK, "width": 2.5},
            marker={
                "size": 6,
                "color": [band_colour(value, bands) for value in frame["composite"]],
                "line": {"width": 1, "color": INK},
            },
            hovertemplate="%{x|%d %b %Y}: %{y:.2f}<extra></extra>",
            connectgaps=False,
        )
    )
    _band_backgrounds(figure, bands)
    if not frame.empty:
        _event_markers(
            figure,
            events,
            first=pd.Timestamp(frame["date"].min()),
            last=pd.Timestamp(frame["date"].max()),
        )
    base_layout(figure, height=height)
    figure.update_layout(showlegend=False)
    figure.update_yaxes(range=list(SCORE_RANGE), dtick=2, title={"text": "Composite (0–10)"})
    if window is not None:
        figure.update_xaxes(range=day_strings(window))
    return figure


def replay_figure(
    frame: pd.DataFrame,
    crossings: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    bands: Sequence[Band] = DEFAULT_BANDS,
    *,
    threshold: float | None = None,
    height: int = 380,
) -> go.Figure:
    """The replay: what the composite (and its parts) would have shown on each date.

    Args:
        frame: columns `date`, `composite`; optional `vulnerability` and `trigger` (0–10).
        crossings: columns `date` and `label` — the dates the trigger crossed its threshold
            (drawn as red markers on the composite line).
        events: columns `date`, `title` — annotations inside the range.
        threshold: the trigger threshold, drawn as a horizontal line when given.
    """
    data = frame.sort_values("date")
    x = day_strings(data["date"])
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=x,
            y=data["composite"].astype(float).tolist(),
            name="Composite",
            mode="lines",
            line={"color": INK, "width": 3},
            hovertemplate="%{x|%d %b %Y}: composite %{y:.2f}<extra></extra>",
        )
    )
    if "vulnerability" in data:
        figure.add_trace(
            go.Scatter(
                x=x,
                y=data["vulnerability"].astype(float).tolist(),
                name="Structural vulnerability",
                mode="lines",
                line={"color": "#1f4e79", "width": 1.8, "dash": "dash"},
                hovertemplate="%{x|%d %b %Y}: vulnerability %{y:.2f}<extra></extra>",
            )
        )
    if "trigger" in data:
        figure.add_trace(
            go.Scatter(
                x=x,
                y=data["trigger"].astype(float).tolist(),
                name="Trigger",
                mode="lines",
                line={"color": SHOCK_COLOUR, "width": 1.8, "dash": "dot"},
                hovertemplate="%{x|%d %b %Y}: trigger %{y:.2f}<extra></extra>",
            )
        )
    if crossings is not None and not crossings.empty:
        indexed = data.set_index(pd.to_datetime(data["date"]))["composite"]
        marks = crossings.sort_values("date")
        y_values = [
            float(indexed.asof(pd.Timestamp(day))) if len(indexed) else float("nan")
            for day in marks["date"]
        ]
        figure.add_trace(
            go.Scatter(
                x=day_strings(marks["date"]),
                y=y_values,
                name="Trigger crossed",
                mode="markers",
                marker={"symbol": "triangle-up", "size": 14, "color": SHOCK_COLOUR},
                text=[plotly_text(label, limit=80) for label in marks["label"]],
                hovertemplate="%{x|%d %b %Y}: %{text}<extra>crossing</extra>",
            )
        )
    if threshold is not None:
        figure.add_hline(
            y=threshold,
            line={"color": SHOCK_COLOUR, "width": 1, "dash": "dot"},
            annotation_text=f"trigger threshold {threshold:g}",
            annotation_position="top left",
            annotation_font={"size": 11, "color": SHOCK_COLOUR},
        )
    _band_backgrounds(figure, bands)
    if not data.empty:
        _event_markers(
            figure,
            events,
            first=pd.Timestamp(data["date"].min()),
            last=pd.Timestamp(data["date"].max()),
        )
    base_layout(figure, height=height)
    figure.update_yaxes(range=list(SCORE_RANGE), dtick=2, title={"text": "Score (0–10)"})
    return figure


def composite_choropleth(
    frame: pd.DataFrame, bands: Sequence[Band] = DEFAULT_BANDS, *, height: int = 460
) -> go.Figure:
    """A world map of the composite, coloured by band; countries without a score stay grey.

    The base map is plotly's `world_110m` topojson, served by the app itself (the caller passes
    `config={"topojsonURL": ...}`), so drawing it needs no network.

    Args:
        frame: columns `country` (ISO3), `name`, `composite` (0–10), `band`.
    """
    data = frame[pd.to_numeric(frame["composite"], errors="coerce").notna()]
    names = [plotly_text(name) for name in data["name"]]
    bands_text = [plotly_text(band) for band in data["band"]]
    figure = go.Figure(
        go.Choropleth(
            locations=data["country"].astype(str).tolist(),
            locationmode="ISO-3",
            z=data["composite"].astype(float).tolist(),
            zmin=SCORE_RANGE[0],
            zmax=SCORE_RANGE[1],
            colorscale=band_colourscale(bands),
            marker={"line": {"color": "#ffffff", "width": 0.6}},
            customdata=[[name, band] for name, band in zip(names, bands_text, strict=True)],
            hovertemplate="%{customdata[0]} (%{location}): %{z:.2f} — %{customdata[1]}"
            "<extra></extra>",
            # The map goes through `st.plotly_chart` (not the recolouring component), so its
            # text keeps the house ink whatever the theme: the colour bar gets its own light
            # panel, readable on a dark page as on a light one (like the light land beside it).
            colorbar={
                "title": {"text": "Composite", "font": {"color": INK}},
                "tickvals": [band.lower for band in bands] + [SCORE_RANGE[1]],
                "tickfont": {"color": INK},
                "bgcolor": COLOUR_BAR_PANEL,
                "thickness": 12,
                "len": 0.75,
            },
        )
    )
    figure.update_geos(
        projection_type="natural earth",
        showframe=False,
        showcoastlines=False,
        showcountries=True,
        countrycolor="#ffffff",
        showland=True,
        landcolor="#eef0f3",
        showocean=False,
        showlakes=False,
        resolution=110,
        lataxis_range=[-58, 85],
    )
    base_layout(figure, height=height)
    figure.update_layout(margin={"l": 0, "r": 0, "t": 8, "b": 0})
    return figure


def contributions_figure(changes: pd.DataFrame, *, height: int | None = None) -> go.Figure:
    """ "What changed": each input's contribution to the change of the composite, as diverging
    bars (red pushes risk up, green pulls it down).

    Args:
        changes: columns `label` and `delta` (points of the composite), largest first.
    """
    frame = changes.reset_index(drop=True)
    deltas = frame["delta"].astype(float)
    figure = go.Figure(
        go.Bar(
            x=deltas.tolist(),
            y=[plotly_text(label, limit=42) for label in frame["label"]],
            orientation="h",
            marker={"color": [SHOCK_COLOUR if value > 0 else "#1a9850" for value in deltas]},
            text=[f"{value:+.2f}" for value in deltas],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{x:+.3f}<extra></extra>",
        )
    )
    base_layout(figure, height=height or max(150, 30 * len(frame) + 40))
    span = float(deltas.abs().max()) if len(deltas) else 1.0
    span = span if span > 0 else 1.0
    figure.update_xaxes(range=[-span * 1.35, span * 1.35], zeroline=True, zerolinecolor=MUTED)
    figure.update_yaxes(autorange="reversed", gridcolor="rgba(0,0,0,0)")
    figure.update_layout(showlegend=False, bargap=0.35)
    return figure
