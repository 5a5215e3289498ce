"""Streamlit building blocks shared by the pages: country in view, guidance, band pills, exports.

Only renders; data comes from `dashboard.data`, figures from `dashboard.charts`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import basic_chart, data
from dashboard.formatting import escape_markdown, store_kind

COUNTRY_KEY = "country"
# Streamlit serves dashboard/static/ at /app/static/ (enableStaticServing); plotly.js fetches
# `${topojsonURL}world_110m.json` from there instead of its CDN.
TOPOJSON_URL = "/app/static/topojson/"
TOPOJSON_DIR = Path(__file__).resolve().parent / "static" / "topojson"
PLOTLY_CONFIG: dict[str, object] = {
    "displaylogo": False,
    "topojsonURL": TOPOJSON_URL,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
}
_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
# CSV exports round floats to this many significant digits unless full precision is asked for.
CSV_DIGITS = 4


# Set by a click that opens a country (map, Compare row); app.py then switches to its page.
OPEN_COUNTRY_PAGE_KEY = "_flashpoint_open_country_page"


def selected_country() -> str:
    """The country chosen in the sidebar picker (the configured default before it renders)."""
    value = st.session_state.get(COUNTRY_KEY)
    return str(value) if value else data.default_country()


def open_country(code: object) -> None:
    """From a widget callback: select `code` in the sidebar picker and open Country detail on
    the next run (an unknown code is ignored)."""
    valid = data.country_code(code)
    if valid is None:
        return
    st.session_state[COUNTRY_KEY] = valid
    st.session_state[OPEN_COUNTRY_PAGE_KEY] = True


def empty_store_guidance() -> None:
    """Explain an empty store and what to run."""
    st.info(
        "**The store has no data yet.**\n\n"
        "Load the bundled real-data snapshot (offline, a few seconds):\n\n"
        "```\nflashpoint load-snapshot\n```\n\n"
        "or fetch the live sources:\n\n"
        "```\nflashpoint refresh\n```\n\n"
        "`flashpoint dashboard` loads the snapshot by itself when it starts on an empty store "
        f"(the store in use is {store_kind(data.get_settings().database_url)}).",
        icon=":material/database:",
    )


def stop_if_empty(version: str) -> None:
    """Show the empty-store guidance and stop the page when there is nothing to show."""
    if data.load_is_empty(version):
        empty_store_guidance()
        st.stop()


def no_data_for_country(country: str, what: str = "data") -> None:
    """Explain that a country has no stored data of some kind."""
    st.warning(
        f"No {escape_markdown(what)} stored for {escape_markdown(data.country_label(country))}. "
        "Run `flashpoint refresh` to fetch the live sources, or check the **Data health** page "
        "for sources that failed or were never fetched.",
        icon=":material/info:",
    )


def band_pill(band: str | None, colour: str | None) -> str:
    """Markdown for a band name on its band colour (no HTML: Streamlit's `:color[]{}` syntax)."""
    if not band:
        return ":gray-background[no score]"
    if colour is None or not _HEX_COLOUR.match(colour):
        return f":gray-background[{escape_markdown(band)}]"
    foreground = "#ffffff" if _is_dark(colour) else "#1f2933"
    return (
        f":color[**{escape_markdown(band.upper())}**]"
        f'{{foreground="{foreground}" background="{colour}"}}'
    )


def _is_dark(colour: str) -> bool:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.299 * red + 0.587 * green + 0.114 * blue < 150


def show_figure(
    figure: go.Figure | dict[str, Any],
    *,
    key: str,
    config: dict[str, object] | None = None,
    on_select: Callable[[], None] | None = None,
    png_name: str | None = None,
) -> None:
    """A plotly figure (or its `to_dict()`) with the app's config (offline topojson, no plotly
    logo); `config` adds to it. Line and bar figures are drawn with plotly.js's basic bundle
    (`dashboard.basic_chart`: a fraction of the browser's start-up cost), others by Streamlit.
    `on_select` is called when a point is clicked (Streamlit's chart only).

    The mode bar is always shown: its camera button is plotly.js's own PNG export, drawn in the
    browser from the chart on screen (offline, nothing to install), saved as `png_name`.png."""
    merged = {
        **PLOTLY_CONFIG,
        "displayModeBar": True,
        "toImageButtonOptions": {
            "format": "png",
            "filename": png_name or f"flashpoint_{key}",
            "scale": 2,
        },
        **(config or {}),
    }
    basic = data.get_settings().dashboard.chart_renderer == "basic"
    if on_select is None and basic and basic_chart.is_basic(figure):
        basic_chart.show(figure, key=key, config=merged)
    elif on_select is not None:
        st.plotly_chart(
            figure,
            key=key,
            config=merged,
            theme=None,
            on_select=on_select,
            selection_mode="points",
        )
    else:
        st.plotly_chart(figure, key=key, config=merged, theme=None)


def csv_bytes(table: pd.DataFrame, *, rounded: bool) -> bytes:
    """The table as UTF-8 CSV; `rounded` writes floats with `CSV_DIGITS` significant digits
    (never a 15-digit float), otherwise every digit."""
    text = table.to_csv(index=False, float_format=f"%.{CSV_DIGITS}g" if rounded else None)
    return text.encode("utf-8")


def export_buttons(
    *,
    table: pd.DataFrame | None,
    figure: go.Figure | dict[str, Any] | None,
    name: str,
    key: str,
) -> None:
    """ "Table as CSV" for the visible table (numbers rounded to the precision shown, with a
    full-precision variant) and, for a chart, where its PNG export is (the camera button of the
    chart's mode bar: plotly.js renders the PNG in the browser)."""
    columns = st.columns([1, 1, 4])
    if table is not None:
        frozen_table = table.copy()
        shown: Callable[[], bytes] = lambda: csv_bytes(frozen_table, rounded=True)  # noqa: E731
        full: Callable[[], bytes] = lambda: csv_bytes(frozen_table, rounded=False)  # noqa: E731
        columns[0].download_button(
            "Table as CSV",
            data=shown,
            file_name=f"{name}.csv",
            mime="text/csv",
            key=f"{key}_csv",
            icon=":material/table_view:",
            on_click="ignore",
            help=f"Numbers rounded to {CSV_DIGITS} significant digits, as on screen.",
        )
        columns[1].download_button(
            "Full precision",
            data=full,
            file_name=f"{name}_full_precision.csv",
            mime="text/csv",
            key=f"{key}_csv_full",
            icon=":material/decimal_increase:",
            on_click="ignore",
            help="Every number exactly as stored and computed.",
        )
    if figure is not None:
        columns[2].caption(
            ":material/photo_camera: **Chart as PNG:** the camera button at the chart's top "
            "right saves it (drawn by your browser, works offline)."
        )
