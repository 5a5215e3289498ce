"""FRED fault-matrix case: the keyless fredgraph.csv bulk request (CONSTRUCTED from EIA values)."""

from __future__ import annotations

from tests.fetchers.conftest import FIXTURES
from tests.support.fault_matrix import FaultMatrixCase, make_indicator
from tests.support.replay_server import ReplayServer, Reply

BODY = FIXTURES / "fred" / "fredgraph_4series_2018-12-17_2019-01-07.CONSTRUCTED.csv"
PATH = "/graph/fredgraph.csv"


def install(server: ReplayServer) -> None:
    """One bulk request for the four series (the fetcher adds cosd once something is stored)."""
    server.add(PATH, Reply.from_file(BODY))


_healthy = BODY.read_bytes()
CASE = FaultMatrixCase(
    source="fred",
    indicators=(
        make_indicator("brent_price", "fred", "DCOILBRENTEU", unit="USD/bbl", frequency="daily"),
        make_indicator("wti_price", "fred", "DCOILWTICO", unit="USD/bbl", frequency="daily"),
        make_indicator("henry_hub_price", "fred", "DHHNGSP", unit="USD/MMBtu", frequency="daily"),
        make_indicator("propane_price", "fred", "DPROPANEMBTX", unit="USD/gal", frequency="daily"),
    ),
    countries=("WLD",),
    install=install,
    fault_path=PATH,
    healthy_body=_healthy,
    # SYNTHETIC: a requested series' column renamed.
    schema_changed_body=_healthy.replace(b"DCOILBRENTEU", b"DCOILBRENT"),
    # SYNTHETIC: the header and no rows.
    empty_body=_healthy.splitlines(keepends=True)[0],
    content_type="text/csv; charset=utf-8",
    # The keyless CSV endpoint, resolved against base_url (as for a mirror).
    settings={"csv_url": "graph/fredgraph.csv", "api_key_env": "FLASHPOINT_TEST_NO_FRED_KEY"},
)
