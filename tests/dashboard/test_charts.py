"""Unit tests of the pure figure builders in `dashboard/charts.py` (no Streamlit, no browser)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard import charts
from indicators.catalogue import DEFAULT_BANDS, Band, Catalogue

HOSTILE = '<img src=x onerror="alert(1)"><b>Zhanaozen</b> & co'


def _colour_at(scale: list[list[float | str]], position: float) -> str:
    """The colour a stepped colourscale gives at `position` (0–1): the last stop at or before
    it wins, which is how plotly reads two stops at the same position."""
    chosen = str(scale[0][1])
    for stop, colour in scale:
        if float(stop) <= position:
            chosen = str(colour)
    return chosen


def test_plotly_text_escapes_markup_and_shortens() -> None:
    text = charts.plotly_text(HOSTILE)
    assert "<" not in text and ">" not in text
    assert "&lt;b&gt;Zhanaozen&lt;/b&gt; &amp; co" in text
    shortened = charts.plotly_text("LPG moves to exchange pricing, 60 → 120 tenge/l", limit=20)
    assert len(shortened) == 20 and shortened.endswith("…")
    assert charts.plotly_text(float("nan")) == ""
    # plotly.js shows &quot; literally; a quote cannot open a tag once < is escaped
    assert charts.plotly_text('the "cap"') == 'the "cap"'


@given(st.floats(min_value=0.0, max_value=10.0, allow_nan=False))
def test_band_for_agrees_with_the_catalogue(score: float) -> None:
    catalogue = Catalogue(indicators=(), pillars=())
    band = charts.band_for(score, DEFAULT_BANDS)
    assert band == catalogue.band_for(score)
    assert charts.band_colour(score) == catalogue.band_for(score).colour


def test_band_colour_of_missing_score_is_neutral() -> None:
    assert charts.band_for(float("nan")) is None
    assert charts.band_colour(None) == charts.NO_DATA_COLOUR


@pytest.mark.parametrize(
    "bands", [DEFAULT_BANDS, (Band("calm", 0, "#00ff00"), Band("hot", 7, "#ff0000"))]
)
def test_band_colourscale_is_flat_within_each_band(bands: tuple[Band, ...]) -> None:
    scale = charts.band_colourscale(bands)
    assert scale[0][0] == 0.0 and scale[-1][0] == 1.0
    positions = [float(stop) for stop, _ in scale]
    assert positions == sorted(positions)
    for score in [0.1, 1.9, 2.0, 3.4, 3.6, 5.0, 6.49, 6.5, 9.99, 7.0]:
        assert _colour_at(scale, score / 10.0) == charts.band_colour(score, bands), score


def test_pillar_bars_colour_each_pillar_by_its_band_and_flag_missing() -> None:
    pillars = pd.DataFrame(
        {
            "name": ["Fuel & energy price shock", "Governance <corruption>", "Security"],
            "score": [8.2, 4.0, float("nan")],
            "kind": ["trigger", "structural", "structural"],
        }
    )
    spec = charts.pillar_bars_figure(pillars).to_plotly_json()
    bar = spec["data"][0]
    assert list(bar["y"]) == [
        "Fuel &amp; energy price shock",
        "Governance &lt;corruption&gt;",
        "Security",
    ]
    assert list(bar["marker"]["color"]) == [
        charts.band_colour(8.2),
        charts.band_colour(4.0),
        charts.NO_DATA_COLOUR,
    ]
    assert list(bar["text"]) == ["8.2", "4.0", "no data"]


def _kz_fuel_frame() -> pd.DataFrame:
    lpg = pd.DataFrame(
        {
            "label": "LPG",
            "period": pd.to_datetime(["2021-12-31", "2022-01-01", "2022-01-03", "2022-01-04"]),
            "value": [60.0, 120.0, 90.0, 50.0],
            "unit": "KZT/litre",
            "axis": "domestic",
        }
    )
    lpg["step_pct"] = lpg["value"].pct_change() * 100
    brent = pd.DataFrame(
        {
            "label": "Brent",
            "period": pd.to_datetime(["2021-12-31", "2022-01-03", "2022-01-04"]),
            "value": [77.78, 78.98, 80.0],
            "unit": "USD/bbl",
            "axis": "world",
            "step_pct": [float("nan"), 1.5, 1.3],
        }
    )
    return pd.concat([lpg, brent], ignore_index=True)


def test_fuel_prices_figure_draws_each_series_and_marks_shocks() -> None:
    figure = charts.fuel_prices_figure(_kz_fuel_frame(), shock_threshold=20.0)
    traces = {trace.name: trace for trace in figure.data}
    lpg = traces["LPG"]
    points = dict(zip(lpg.x, lpg.y, strict=True))
    assert points["2022-01-01"] == 120.0
    assert lpg.line.shape == "hv"  # administered prices move in steps
    assert traces["Brent"].yaxis == "y2"
    assert figure.layout.yaxis2.overlaying == "y"
    shocks = traces["Step ≥ 20%"]
    # +100 % on 1 Jan is the only step at or above +20 % (the cuts are negative).
    assert list(shocks.x) == ["2022-01-01"] and list(shocks.y) == [120.0]
    assert "+100%" in shocks.text[0]


def test_fuel_prices_figure_without_a_shock_has_no_marker_trace() -> None:
    frame = _kz_fuel_frame()
    figure = charts.fuel_prices_figure(frame, shock_threshold=150.0)
    assert [trace.name for trace in figure.data] == ["LPG", "Brent"]


def test_fuel_prices_figure_window_keeps_the_step_into_it() -> None:
    figure = charts.fuel_prices_figure(_kz_fuel_frame(), start=pd.Timestamp("2022-01-02"))
    lpg = next(trace for trace in figure.data if trace.name == "LPG")
    # The 2 Jan window opens at the 1 Jan level, so the line enters at the right height
    # without stretching the axis back to 1 Jan.
    assert list(lpg.x) == ["2022-01-02", "2022-01-03", "2022-01-04"]
    assert list(lpg.y) == [120.0, 90.0, 50.0]


def test_fuel_prices_figure_thins_a_long_world_series_to_weekly_closes() -> None:
    days = pd.date_range("2021-01-01", "2022-12-31", freq="D")
    brent = pd.DataFrame(
        {
            "label": "Brent",
            "period": days,
            "value": [float(index) for index in range(len(days))],
            "unit": "USD/bbl",
            "axis": "world",
        }
    )
    figure = charts.fuel_prices_figure(brent, max_world_points=100)
    (line,) = figure.data
    assert len(line.x) == 105  # weeks ending Sunday, 3 Jan 2021 … 1 Jan 2023
    # each point is the week's last daily value (the value counts the days since 1 Jan 2021)
    assert line.x[1] == "2021-01-10" and line.y[1] == 9.0


def test_indicator_series_keeps_vintages_apart() -> None:
    series = pd.DataFrame(
        {
            "period": pd.to_datetime(["2019-01-01", "2020-01-01", "2019-01-01", "2023-01-01"]),
            "value": [-0.9, -0.95, -0.7, -0.27],
            "vintage": ["2020", "2020", "2025", "2025"],
        }
    )
    figure = charts.indicator_series_figure(series, name="Control of corruption", unit="−2.5…2.5")
    names = [trace.name for trace in figure.data]
    assert names == ["Control of corruption (2020 release)", "Control of corruption (2025 release)"]
    assert list(figure.data[1].y) == [-0.7, -0.27]


def test_event_clusters_group_close_events() -> None:
    events = pd.DataFrame(
        {
            "date": pd.to_datetime(["2022-01-06", "2022-01-01", "2022-01-02", "2024-07-01"]),
            "title": ["caps", "LPG 60 → 120", "protests begin", "LPG cap raised"],
        }
    )
    groups = charts.event_clusters(events, gap=pd.Timedelta(days=3))
    assert [list(group["title"]) for group in groups] == [
        ["LPG 60 → 120", "protests begin"],
        ["caps"],
        ["LPG cap raised"],
    ]


def test_score_history_annotates_events_in_range_with_escaped_titles() -> None:
    history = pd.DataFrame(
        {
            "date": pd.to_datetime(["2021-12-01", "2022-01-01", "2022-02-01"]),
            "composite": [4.1, 7.3, 5.0],
        }
    )
    events = pd.DataFrame(
        {
            "date": pd.to_datetime(["2022-01-01", "2019-03-19"]),
            "title": [HOSTILE, "outside the range"],
        }
    )
    figure = charts.score_history_figure(history, events)
    texts = [annotation.text for annotation in figure.layout.annotations]
    assert len(texts) == 1
    assert "<" not in texts[0] and "&lt;b&gt;Zhanaozen" in texts[0]
    hover = figure.layout.annotations[0].hovertext
    assert hover.startswith("01 Jan 2022: &lt;img") and "<img" not in hover
    marker_colours = list(figure.data[0].marker.color)
    assert marker_colours == [charts.band_colour(v) for v in [4.1, 7.3, 5.0]]
    # one background stripe per band plus the event line
    assert len(figure.layout.shapes) == len(DEFAULT_BANDS) + 1


def test_score_history_labels_a_cluster_once() -> None:
    history = pd.DataFrame(
        {"date": pd.date_range("2021-10-01", "2022-02-15", freq="D"), "composite": 4.0}
    )
    events = pd.DataFrame(
        {
            "date": pd.to_datetime(["2022-01-01", "2022-01-02", "2022-01-04"]),
            "title": ["LPG moves to exchange pricing", "Protests begin", "Protests spread"],
        }
    )
    figure = charts.score_history_figure(history, events)
    (annotation,) = figure.layout.annotations
    assert annotation.text == "LPG moves to exchange pricing (+2 more)"
    assert annotation.hovertext.count("<br>") == 2
    assert len(figure.layout.shapes) == len(DEFAULT_BANDS) + 3


def test_choropleth_carries_locations_and_scores() -> None:
    frame = pd.DataFrame(
        {
            "country": ["KAZ", "KGZ", "UZB"],
            "name": ["Kazakhstan", "Kyrgyz Republic", "Uzbekistan"],
            "composite": [6.8, 4.2, float("nan")],
            "band": ["very high", "medium", None],
        }
    )
    spec = charts.composite_choropleth(frame).to_plotly_json()
    (trace,) = spec["data"]
    assert trace["type"] == "choropleth" and trace["locationmode"] == "ISO-3"
    assert list(trace["locations"]) == ["KAZ", "KGZ"]  # no score → no colour, not a zero
    assert list(trace["z"]) == [6.8, 4.2]
    assert (trace["zmin"], trace["zmax"]) == (0.0, 10.0)
    assert spec["layout"]["geo"]["resolution"] == 110


def _rgba(colour: str) -> tuple[float, float, float, float]:
    if colour.startswith("#"):
        return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16), 1.0)
    red, green, blue, *alpha = colour[colour.index("(") + 1 : -1].split(",")
    return (float(red), float(green), float(blue), float(alpha[0]) if alpha else 1.0)


def _over(colour: str, page: str) -> tuple[float, float, float]:
    """`colour` (maybe translucent) as seen over an opaque `page` colour."""
    red, green, blue, alpha = _rgba(colour)
    base = _rgba(page)
    return (
        alpha * red + (1 - alpha) * base[0],
        alpha * green + (1 - alpha) * base[1],
        alpha * blue + (1 - alpha) * base[2],
    )


def _contrast(first: tuple[float, float, float], second: tuple[float, float, float]) -> float:
    """WCAG 2 contrast ratio of two opaque sRGB colours (0–255)."""

    def luminance(rgb: tuple[float, float, float]) -> float:
        linear = [
            c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
            for c in (v / 255 for v in rgb)
        ]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize("page", ["#ffffff", "#0e1117"])  # Streamlit's light and dark themes
def test_the_map_colour_bar_reads_on_a_light_and_a_dark_page(page: str) -> None:
    frame = pd.DataFrame(
        {"country": ["KAZ"], "name": ["Kazakhstan"], "composite": [6.8], "band": ["very high"]}
    )
    (trace,) = charts.composite_choropleth(frame).data
    bar = trace.colorbar
    panel = _over(bar.bgcolor or charts.TRANSPARENT, page)
    for font in (bar.tickfont, bar.title.font):
        ink = _over(font.color or charts.INK, page)
        assert _contrast(ink, panel) >= 4.5  # WCAG AA for text


def test_replay_marks_crossings_on_the_composite_line() -> None:
    frame = pd.DataFrame(
        {
            "date": pd.date_range("2021-12-25", periods=10, freq="D"),
            "composite": [4.0] * 7 + [7.5, 7.5, 6.0],
            "trigger": [0.0] * 7 + [10.0, 10.0, 5.0],
            "vulnerability": [4.0] * 10,
        }
    )
    crossings = pd.DataFrame({"date": [pd.Timestamp("2022-01-01")], "label": ["fuel shock +100%"]})
    figure = charts.replay_figure(frame, crossings, threshold=6.5)
    marks = next(trace for trace in figure.data if trace.name == "Trigger crossed")
    assert list(marks.x) == ["2022-01-01"] and list(marks.y) == [7.5]
    assert [trace.name for trace in figure.data][:3] == [
        "Composite",
        "Structural vulnerability",
        "Trigger",
    ]


def test_contributions_colour_by_sign() -> None:
    changes = pd.DataFrame({"label": ["Fuel price step", "GDP growth"], "delta": [1.8, -0.2]})
    bar = charts.contributions_figure(changes).data[0]
    assert list(bar.marker.color) == [charts.SHOCK_COLOUR, "#1a9850"]
    assert list(bar.text) == ["+1.80", "-0.20"]
    assert math.isclose(charts.contributions_figure(changes).layout.xaxis.range[1], 1.8 * 1.35)
