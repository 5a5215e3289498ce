"""Draws line and bar figures with plotly.js's *basic* bundle instead of Streamlit's full one.

Why: `st.plotly_chart` makes the browser load and evaluate Streamlit's 4.7 MB plotly chunk (every
trace type, maps and WebGL included) before the first chart appears. On a two-core machine that
evaluation alone takes about 0.7 s of the main thread on every fresh visit, more than the rest of
the overview's rendering. plotly.js publishes a "basic" bundle (scatter, bar and pie traces: all
that the overview, country, replay and change charts use) of 1.2 MB that evaluates in about
0.2 s. The same figure dict is drawn by the same plotly.js version (4.1.1, the one bundled with
the plotly Python package), so charts look and behave as before, hover and zoom included.

The bundle is vendored in `dashboard/static/vendor/plotly-basic/` (MIT, see its PROVENANCE.md) and
served by the app itself at `/app/static/` (no CDN). The component is a Streamlit custom component
(v2: rendered in the page, no iframe); its JavaScript only loads the bundle once per page and hands
it the figure. Figures with other trace types (the world choropleth) keep using `st.plotly_chart`.

Chart backgrounds are transparent and the script recolours the figures' ink (text, axis and grid
lines, the dark composite line) from the page's own text colour, so charts follow the page's light
or dark theme.

Fetched text never becomes HTML here: the figure travels as JSON and plotly.js writes SVG text
nodes (titles and labels are escaped upstream by `dashboard.charts.plotly_text`).

`preload()` mounts the component without a figure at the very start of a script run: the browser
then fetches and evaluates the bundle while the server is still importing and reading (a page's
first chart otherwise waited for it: the bundle was requested only once that chart arrived, about
1 s after the page's first output on a fresh visit). This module stays light (no pandas, no
plotly at import) so that app.py can call it before its other imports.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import streamlit as st

if TYPE_CHECKING:
    import plotly.graph_objects as go

# The trace types compiled into plotly.js's basic bundle.
BASIC_TRACE_TYPES: Final = frozenset({"scatter", "bar", "pie"})
BUNDLE_FILE: Final = (
    Path(__file__).resolve().parent / "static" / "vendor" / "plotly-basic" / "plotly-basic.min.js"
)
# Relative to the page (resolved against `document.baseURI` in the browser), so it also works when
# the dashboard is served under a path prefix behind a proxy.
BUNDLE_URL: Final = "app/static/vendor/plotly-basic/plotly-basic.min.js"
DEFAULT_HEIGHT: Final = 450
COMPONENT_NAME: Final = "flashpoint_basic_chart"
# The preloading instance's key: its element takes no room (hidden by the component's CSS).
PRELOAD_KEY: Final = "flashpoint_plotly_preload"

SCRIPT_FILE: Final = Path(__file__).resolve().with_suffix(".js")

_component = st.components.v2.component(
    COMPONENT_NAME,
    js=SCRIPT_FILE.read_text(encoding="utf-8"),
    css=f".st-key-{PRELOAD_KEY} {{ display: none; }}",
    # plotly.js styles its hover labels and mode bar with rules it adds to the document's head,
    # which a shadow root would not see.
    isolate_styles=False,
)


def _as_dict(figure: go.Figure | Mapping[str, Any]) -> dict[str, Any]:
    return dict(figure) if isinstance(figure, Mapping) else figure.to_dict()


def is_basic(figure: go.Figure | Mapping[str, Any]) -> bool:
    """Whether every trace of the figure is one the basic bundle draws (read off the traces, no
    copy of the figure: `show` makes the one copy it sends)."""
    if isinstance(figure, Mapping):
        types = [trace.get("type", "scatter") for trace in figure.get("data") or []]
    else:
        types = [trace.type for trace in figure.data]
    return all(kind in BASIC_TRACE_TYPES for kind in types)


def preload() -> None:
    """Have the browser load the bundle now (once per page; the charts then find it loaded)."""
    _component(key=PRELOAD_KEY, data={"preload": True, "bundle": BUNDLE_URL})


def show(figure: go.Figure | Mapping[str, Any], *, key: str, config: Mapping[str, object]) -> None:
    """Mount one chart. `config` is plotly.js's config object (mode bar, responsiveness)."""
    # Not at the top: app.py imports this module before pandas and plotly (see the docstring).
    import plotly.io as pio

    from dashboard.charts import INK

    spec = _as_dict(figure)
    layout = spec.get("layout") or {}
    height = int(layout.get("height") or DEFAULT_HEIGHT)
    title = (layout.get("title") or {}).get("text")
    _component(
        key=key,
        data={
            # plotly's encoder: numpy arrays, dates and NaN the way plotly.js reads them.
            "spec": pio.to_json(spec, validate=False, engine="json"),
            "bundle": BUNDLE_URL,
            "config": {"responsive": True, **config},
            "height": height,
            "label": str(title or "Chart"),
            # The figures' dark ink: the script swaps it for the page's text colour (dark theme).
            "ink": INK,
        },
        height=height,
    )
