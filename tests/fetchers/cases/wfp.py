"""WFP fault-matrix case: Guatemala's real HDX fuel rows (a 17 kB trimmed copy) as the healthy body.

Small on purpose: the harness's read timeout is 0.3 s, which a 1.6 MB file can miss on a busy
machine.
"""

from __future__ import annotations

from datetime import datetime

from tests.fetchers.conftest import FIXTURES
from tests.support.fault_matrix import FaultMatrixCase, make_indicator
from tests.support.replay_server import ReplayServer, Reply

GTM = FIXTURES / "wfp" / "wfp_food_prices_gtm.fuel-and-staples.csv"
PATH = "/dataset/wfp_food_prices_gtm.csv"
HEADER, HXL = GTM.read_bytes().split(b"\n")[:2]


def install(server: ReplayServer) -> None:
    """The one country file of the scenario."""
    server.add(PATH, Reply.from_file(GTM, content_type="text/csv"))


CASE = FaultMatrixCase(
    source="wfp",
    indicators=(
        # fuel_diesel_retail is catalogued under the analyst's source; wfp serves it (also_serves).
        make_indicator("fuel_diesel_retail", "analyst", "diesel", unit="LCU/litre",
                       frequency="daily"),
        make_indicator("fuel_gasoline_retail", "analyst", "gasoline", unit="LCU/litre",
                       frequency="daily"),
    ),
    countries=("GTM",),
    install=install,
    fault_path=PATH,
    healthy_body=GTM.read_bytes(),
    # SYNTHETIC: the real header with `price` renamed, over the real rows.
    schema_changed_body=GTM.read_bytes().replace(b",price,", b",cost,", 1),
    # SYNTHETIC: the real header and HXL row, no data rows.
    empty_body=HEADER + b"\n" + HXL + b"\n",
    content_type="text/csv",
    base_path="/dataset",
    settings={"countries": ["GTM"], "resources": {}},
    now=datetime(2026, 9, 1, 5, 0),
)
