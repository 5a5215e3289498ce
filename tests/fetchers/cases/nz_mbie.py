"""NZ MBIE fault-matrix case: the real last ten weeks of weekly-table.csv."""

from __future__ import annotations

from tests.fetchers.conftest import FIXTURES
from tests.support.fault_matrix import FaultMatrixCase, make_indicator
from tests.support.replay_server import ReplayServer, Reply

BODY = FIXTURES / "nz_mbie" / "weekly-table.last10weeks.csv"
PATH = "/assets/Data-Files/Energy/Weekly-fuel-price-monitoring/weekly-table.csv"


def install(server: ReplayServer) -> None:
    """The one request: the whole table."""
    server.add(PATH, Reply.from_file(BODY, content_type="text/csv"))


_header = BODY.read_text(encoding="utf-8").splitlines()[0]
CASE = FaultMatrixCase(
    source="nz_mbie",
    # The generic fuel ids are catalogued under another source; this one serves them for NZL.
    indicators=(
        make_indicator("fuel_gasoline_retail", "analyst", "gasoline", unit="NZD/litre",
                       frequency="weekly"),
    ),
    countries=("NZL",),
    install=install,
    fault_path=PATH,
    healthy_body=BODY.read_bytes(),
    # SYNTHETIC: the Value column renamed.
    schema_changed_body=(
        _header.replace('"Value"', '"Amount"') + "\n"
        '"2026w29",2026-07-17,"Regular Petrol","Board price",289.9,"NZD c/L","Provisional"\n'
    ).encode(),
    # SYNTHETIC: the header and no rows.
    empty_body=(_header + "\n").encode(),
    content_type="text/csv",
    base_path=PATH,
)
