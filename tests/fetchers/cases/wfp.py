"""WFP fault-matrix case: Pakistan's real HDX file (whole, verbatim) as the healthy body."""

from __future__ import annotations

from datetime import datetime

from tests.fetchers.conftest import FIXTURES
from tests.support.fault_matrix import FaultMatrixCase, make_indicator
from tests.support.replay_server import ReplayServer, Reply

PAK = FIXTURES / "wfp" / "wfp_food_prices_pak.csv"
PATH = "/dataset/wfp_food_prices_pak.csv"
HEADER, HXL = PAK.read_bytes().split(b"\n")[:2]


def install(server: ReplayServer) -> None:
    """The one country file of the scenario."""
    server.add(PATH, Reply.from_file(PAK, content_type="text/csv"))


CASE = FaultMatrixCase(
    source="wfp",
    indicators=(
        # fuel_diesel_retail is catalogued under the analyst's source; wfp serves it (also_serves).
        make_indicator("fuel_diesel_retail", "analyst", "diesel", unit="LCU/litre",
                       frequency="daily"),
        make_indicator("food_price_wheat_flour", "wfp", "wheat_flour", unit="LCU/kg",
                       frequency="monthly"),
    ),
    countries=("PAK",),
    install=install,
    fault_path=PATH,
    healthy_body=PAK.read_bytes(),
    # SYNTHETIC: the real header with `price` renamed, one real-looking row.
    schema_changed_body=HEADER.replace(b",price,", b",cost,") + b"\n"
    + b"2024-01-15,SINDH,Karachi,Karachi,302,24.86,67.01,non-food,Fuel (diesel),320,L,actual,"
      b"Retail,PKR,290,1.03\n",
    # SYNTHETIC: the real header and HXL row, no data rows.
    empty_body=HEADER + b"\n" + HXL + b"\n",
    content_type="text/csv",
    base_path="/dataset",
    settings={"countries": ["PAK"], "resources": {}},
    now=datetime(2026, 9, 1, 5, 0),
)
