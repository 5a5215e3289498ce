"""The composite's trend as a compact line (the Overview's 90-day and 1-year sparklines).

Pure like `dashboard.charts`: a frame in, a `go.Figure` out; a missing score is a gap in the line.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts import (
    MUTED,
    SCORE_RANGE,
    SERIES_COLOURS,
    band_colour,
    base_layout,
    day_strings,
)
from indicators.catalogue import DEFAULT_BANDS, Band


def composite_trend_figure(
    history: pd.DataFrame,
    *,
    start: object,
    end: object,
    bands: Sequence[Band] = DEFAULT_BANDS,
    title: str | None = None,
    height: int = 150,
) -> go.Figure:
    """A compact trend line of the composite over a window (the Overview's sparklines).

    Args:
        history: columns `date`, `composite` (NaN where there was no score: drawn as a gap, never
            as 0); optional `composite_high` and `trigger_state` (a blind trigger's range top,
            drawn dotted where the trigger is blind).
        start: the window's first day; end: its last day (the x-axis shows exactly that span).
        bands: the score bands (colour of the last point).
        title: shown above the line.
    """
    frame = history.sort_values("date")
    composite = pd.to_numeric(frame["composite"], errors="coerce")
    x = day_strings(frame["date"])
    figure = go.Figure()
    if "composite_high" in frame and "trigger_state" in frame:
        blind = frame["trigger_state"].astype(str) == "blind"
        high = pd.to_numeric(frame["composite_high"], errors="coerce").where(blind)
        if high.notna().any():
            figure.add_trace(
                go.Scatter(
                    x=x,
                    y=[None if pd.isna(value) else float(value) for value in high],
                    name="Upper end (trigger blind)",
                    mode="lines",
                    line={"color": MUTED, "width": 1, "dash": "dot"},
                    connectgaps=False,
                    hovertemplate="%{x|%d %b %Y}: up to %{y:.2f} (trigger blind)<extra></extra>",
                )
            )
    figure.add_trace(
        go.Scatter(
            x=x,
            y=[None if pd.isna(value) else float(value) for value in composite],
            name="Composite",
            mode="lines",
            line={"color": SERIES_COLOURS[2], "width": 2},
            connectgaps=False,
            hovertemplate="%{x|%d %b %Y}: %{y:.2f}<extra></extra>",
        )
    )
    scored = frame[composite.notna()]
    if not scored.empty:
        last = float(pd.to_numeric(scored["composite"]).iloc[-1])
        figure.add_trace(
            go.Scatter(
                x=day_strings(scored["date"].tail(1)),
                y=[last],
                name="Latest",
                mode="markers",
                marker={"size": 8, "color": band_colour(last, bands), "line": {"width": 1}},
                hovertemplate="%{x|%d %b %Y}: %{y:.2f} (latest)<extra></extra>",
            )
        )
    base_layout(figure, height=height, title=title)
    figure.update_layout(showlegend=False, margin={"l": 8, "r": 8, "t": 30 if title else 8, "b": 8})
    figure.update_xaxes(range=day_strings([start, end]), nticks=4)
    # The scored span with half a point either side (within 0–10): a move of a few tenths shows.
    low = max(SCORE_RANGE[0], float(composite.min()) - 0.5) if composite.notna().any() else 0.0
    high = min(SCORE_RANGE[1], float(composite.max()) + 0.5) if composite.notna().any() else 10.0
    figure.update_yaxes(range=[low, high], nticks=3)
    return figure
