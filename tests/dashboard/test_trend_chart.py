"""The pure figure builders for windows and themes: gaps stay gaps, axes show the window, and
backgrounds are transparent (the page's theme shows through)."""

from __future__ import annotations

import pandas as pd

from dashboard import charts
from dashboard.trend_chart import composite_trend_figure


def _history() -> pd.DataFrame:
    # SYNTHETIC scores: two unscored days in the middle, the last three days blind.
    dates = pd.date_range("2026-01-01", periods=10, freq="D")
    composite = [3.0, 3.1, float("nan"), float("nan"), 3.2, 3.2, 3.3, 3.1, 3.1, 3.1]
    return pd.DataFrame(
        {
            "date": dates,
            "composite": composite,
            "composite_high": [*composite[:7], 7.0, 7.0, 7.0],
            "trigger_state": ["quiet"] * 7 + ["blind"] * 3,
        }
    )


def test_a_missing_score_is_a_gap_never_zero() -> None:
    figure = composite_trend_figure(
        _history(), start=pd.Timestamp("2026-01-01"), end=pd.Timestamp("2026-01-10")
    ).to_dict()
    line = next(trace for trace in figure["data"] if trace["name"] == "Composite")
    assert list(line["y"][2:4]) == [None, None]
    assert line["connectgaps"] is False
    assert 0 not in [value for value in line["y"] if value is not None]
    # The blind days' upper end is drawn only where the trigger is blind.
    upper = next(trace for trace in figure["data"] if trace["name"].startswith("Upper end"))
    assert [value is not None for value in upper["y"]] == [False] * 7 + [True] * 3


def test_windowed_figures_show_exactly_their_window() -> None:
    start, end = pd.Timestamp("2025-12-20"), pd.Timestamp("2026-01-31")
    trend = composite_trend_figure(_history(), start=start, end=end).to_dict()
    assert trend["layout"]["xaxis"]["range"] == ["2025-12-20", "2026-01-31"]
    history = charts.score_history_figure(
        _history()[["date", "composite"]], window=(start, end)
    ).to_dict()
    assert history["layout"]["xaxis"]["range"] == ["2025-12-20", "2026-01-31"]
    prices = pd.DataFrame(
        {
            "label": ["LPG", "LPG"],
            "period": pd.to_datetime(["2021-12-31", "2022-01-01"]),
            "value": [55.0, 120.0],
            "unit": ["KZT/litre"] * 2,
            "axis": ["domestic"] * 2,
            "step_pct": [float("nan"), 118.2],
        }
    )
    fuel = charts.fuel_prices_figure(
        prices, start=pd.Timestamp("2021-11-01"), end=pd.Timestamp("2022-03-01")
    ).to_dict()
    assert fuel["layout"]["xaxis"]["range"] == ["2021-11-01", "2022-03-01"]


def test_figures_have_transparent_backgrounds() -> None:
    figures = [
        composite_trend_figure(_history(), start="2026-01-01", end="2026-01-10"),
        charts.score_history_figure(_history()[["date", "composite"]]),
        charts.pillar_bars_figure(pd.DataFrame({"name": ["Macro"], "score": [4.0]})),
        charts.contributions_figure(pd.DataFrame({"label": ["Gini"], "delta": [0.2]})),
    ]
    for figure in figures:
        layout = figure.to_dict()["layout"]
        assert layout["paper_bgcolor"] == charts.TRANSPARENT
        assert layout["plot_bgcolor"] == charts.TRANSPARENT
