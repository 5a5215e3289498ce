"""EIA fault-matrix case: two CONSTRUCTED pages of real EIA spot prices, with a fake key."""

from __future__ import annotations

import json

from tests.fetchers.conftest import FIXTURES
from tests.support.fault_matrix import FaultMatrixCase, make_indicator
from tests.support.replay_server import ReplayServer, Reply

PAGE1 = FIXTURES / "eia" / "spt_page1.CONSTRUCTED.json"
PAGE2 = FIXTURES / "eia" / "spt_page2.CONSTRUCTED.json"
PATH = "/v2/petroleum/pri/spt/data/"


def install(server: ReplayServer) -> None:
    """Page 1 at offset 0, page 2 at offset 25 (pages of 25 rows)."""
    server.add(PATH, Reply.from_file(PAGE1), query={"offset": "0"})
    server.add(PATH, Reply.from_file(PAGE2), query={"offset": "25"})


_page = json.loads(PAGE1.read_text())
CASE = FaultMatrixCase(
    source="eia",
    # eia serves the spot-price indicators catalogued under fred (also_serves).
    indicators=(
        make_indicator("brent_price", "fred", "DCOILBRENTEU", unit="USD/bbl", frequency="daily"),
        make_indicator("wti_price", "fred", "DCOILWTICO", unit="USD/bbl", frequency="daily"),
        make_indicator("propane_price", "fred", "DPROPANEMBTX", unit="USD/gal", frequency="daily"),
    ),
    countries=("WLD",),
    install=install,
    fault_path=PATH,
    fault_query={"offset": "0"},
    healthy_body=PAGE1.read_bytes(),
    # SYNTHETIC: `response.data` renamed.
    schema_changed_body=json.dumps(
        dict(_page, response={("rows" if key == "data" else key): value
                              for key, value in _page["response"].items()})
    ).encode(),
    # SYNTHETIC: a well-formed page with no rows.
    empty_body=json.dumps(
        dict(_page, response=dict(_page["response"], total="0", data=[]))
    ).encode(),
    base_path="/v2",
    settings={"enabled": True, "page_length": 25},
    env={"EIA_API_KEY": "FAKE-EIA-KEY-FOR-TESTS"},
)
