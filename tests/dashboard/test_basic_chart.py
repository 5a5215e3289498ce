"""The basic-bundle chart renderer (`dashboard/basic_chart.py`): which figures it takes, the bundle
it serves, and that pages hand it the same figure Streamlit's plotly element would receive."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import plotly
from streamlit.testing.v1 import AppTest

from dashboard import basic_chart, charts
from flashpoint.config import load_config
from tests.dashboard.conftest import APP, CONFIG, chart_figure, chart_nodes
from tests.dashboard.test_charts import _kz_fuel_frame as kz_fuel_frame

TIMEOUT = 300
PLOTLY_PACKAGE_BUNDLE = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def bundle_version(path: Path) -> str:
    """The plotly.js version in a bundle's licence header ("plotly.js v4.1.1")."""
    head = path.read_text(encoding="utf-8", errors="replace")[:400]
    found = re.search(r"plotly\.js(?: \(basic - minified\))? v(\d+\.\d+\.\d+)", head)
    assert found, f"no plotly.js version in the header of {path}"
    return found.group(1)


def test_vendored_bundle_is_the_plotly_js_of_the_plotly_package() -> None:
    # Charts must look and behave the same whichever renderer draws them: same plotly.js version.
    assert basic_chart.BUNDLE_FILE.is_file()
    assert bundle_version(basic_chart.BUNDLE_FILE) == bundle_version(PLOTLY_PACKAGE_BUNDLE)
    folder = basic_chart.BUNDLE_FILE.parent
    assert "MIT License" in (folder / "LICENSE").read_text(encoding="utf-8")
    assert "plotly.js-basic-dist-min" in (folder / "PROVENANCE.md").read_text(encoding="utf-8")


def test_line_and_bar_figures_are_basic_maps_are_not() -> None:
    changes = pd.DataFrame({"label": ["Fuel price step"], "delta": [1.8]})
    world = pd.DataFrame(
        {"country": ["KAZ"], "name": ["Kazakhstan"], "composite": [6.8], "band": ["very high"]}
    )
    assert basic_chart.is_basic(charts.fuel_prices_figure(kz_fuel_frame(), shock_threshold=20.0))
    assert basic_chart.is_basic(charts.contributions_figure(changes))
    assert basic_chart.is_basic(charts.contributions_figure(changes).to_dict())
    assert basic_chart.is_basic({"data": [{"x": [1], "y": [2]}]}), "plotly's default is scatter"
    assert not basic_chart.is_basic(charts.composite_choropleth(world))
    assert not basic_chart.is_basic({"data": [{"type": "bar"}, {"type": "scattergeo"}]})


def open_overview(use_store: Any, store_path: Path, config: Path = CONFIG) -> AppTest:
    use_store(store_path, config=config)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [item.value for item in at.exception]
    return at


def test_overview_charts_go_to_the_basic_renderer_with_the_full_figure(
    snapshot_store: Path, use_store: Any
) -> None:
    at = open_overview(use_store, snapshot_store)
    nodes = chart_nodes(at)
    assert nodes and all(node.type == "bidi_component" for node in nodes)
    for node in nodes:
        data = json.loads(node.proto.json)
        figure = chart_figure(node)
        assert figure["data"], "every chart has traces"
        # The layout's height is reserved before plotly.js draws (no jump as charts appear).
        assert data["height"] == (figure["layout"].get("height") or basic_chart.DEFAULT_HEIGHT)
        # The app's plotly config travels with it: offline topojson, no plotly logo.
        assert data["config"]["displaylogo"] is False and data["config"]["responsive"] is True
    # The pillar bars (the first chart sent; the trend lines sit above it on the page): one bar
    # per pillar of the catalogue.
    pillars = next(
        trace
        for trace in (chart_figure(node)["data"][0] for node in nodes)
        if trace.get("name") == "Pillar score"
    )
    catalogue = load_config(CONFIG).catalogue()
    scored = [pillar for pillar in catalogue.pillars if pillar.kind in ("trigger", "structural")]
    assert pillars["type"] == "bar" and len(pillars["y"]) == len(scored)


def test_streamlit_renderer_setting_sends_every_chart_to_st_plotly_chart(
    snapshot_store: Path, use_store: Any, tmp_path: Path
) -> None:
    text = CONFIG.read_text(encoding="utf-8")
    assert 'chart_renderer = "basic"' in text
    config = tmp_path / "config.toml"
    config.write_text(
        text.replace('chart_renderer = "basic"', 'chart_renderer = "streamlit"'), encoding="utf-8"
    )
    at = open_overview(use_store, snapshot_store, config)
    nodes = chart_nodes(at)
    assert nodes and all(node.type == "plotly_chart" for node in nodes)
    basic = open_overview(use_store, snapshot_store)
    # Same figures either way (the renderer changes, the figure does not).
    streamlit_specs = [json.loads(node.proto.spec) for node in nodes]
    basic_specs = [json.loads(json.loads(node.proto.json)["spec"]) for node in chart_nodes(basic)]
    assert [spec["data"] for spec in streamlit_specs] == [spec["data"] for spec in basic_specs]


def test_compare_map_stays_on_st_plotly_chart(snapshot_store: Path, use_store: Any) -> None:
    at = open_overview(use_store, snapshot_store)
    at.switch_page("app_pages/compare.py").run()
    assert not at.exception
    maps = [json.loads(node.proto.spec) for node in chart_nodes(at) if node.type == "plotly_chart"]
    assert any(trace["type"] == "choropleth" for spec in maps for trace in spec["data"])
