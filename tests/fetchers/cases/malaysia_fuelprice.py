"""Malaysia fuelprice fault-matrix case: the real data.gov.my `fuelprice` CSV."""

from __future__ import annotations

from tests.fetchers.conftest import FIXTURES
from tests.support.fault_matrix import FaultMatrixCase, make_indicator
from tests.support.replay_server import ReplayServer, Reply

BODY = FIXTURES / "malaysia_fuelprice" / "fuelprice.csv"
PATH = "/commodities/fuelprice.csv"


def install(server: ReplayServer) -> None:
    """The one request: the whole series."""
    server.add(PATH, Reply.from_file(BODY, content_type="text/csv"))


_header = BODY.read_text(encoding="utf-8").splitlines()[0]
CASE = FaultMatrixCase(
    source="malaysia_fuelprice",
    # The generic fuel ids are catalogued under another source; this one serves them for MYS.
    indicators=(
        make_indicator("fuel_diesel_retail", "analyst", "diesel", unit="MYR/litre",
                       frequency="weekly"),
    ),
    countries=("MYS",),
    install=install,
    fault_path=PATH,
    healthy_body=BODY.read_bytes(),
    # SYNTHETIC: the diesel column renamed.
    schema_changed_body=(
        _header.replace(",diesel,", ",diesel_peninsular,") + "\n"
        "level,2026-04-09,3.87,4.95,6.72,6.72,1.99\n"
    ).encode(),
    # SYNTHETIC: only week-on-week differences, no price level.
    empty_body=(_header + "\nchange_weekly,2026-04-09,0.0,0.0,0.0,0.0,0.0\n").encode(),
    content_type="text/csv",
    base_path=PATH,
)
