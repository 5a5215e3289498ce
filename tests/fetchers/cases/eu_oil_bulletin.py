"""EU Weekly Oil Bulletin fault-matrix case: the real raw-data extract of June 2022."""

from __future__ import annotations

from tests.fetchers.conftest import FIXTURES
from tests.support.fault_matrix import FaultMatrixCase, make_indicator
from tests.support.replay_server import ReplayServer, Reply

BODY = FIXTURES / "eu_oil_bulletin" / "wob_raw_2022-06-06_2022-06-13.csv"
PATH = "/document/download/history"


def install(server: ReplayServer) -> None:
    """The one request: the whole bulletin file."""
    server.add(PATH, Reply.from_file(BODY, content_type="text/csv"))


_header = BODY.read_text(encoding="utf-8").splitlines()[0]
CASE = FaultMatrixCase(
    source="eu_oil_bulletin",
    # The generic fuel ids are catalogued under another source; this one serves them.
    indicators=(
        make_indicator("fuel_diesel_retail", "analyst", "diesel", unit="EUR/litre",
                       frequency="weekly"),
    ),
    countries=("POL", "DEU"),
    install=install,
    fault_path=PATH,
    healthy_body=BODY.read_bytes(),
    # SYNTHETIC: the price column renamed.
    schema_changed_body=(
        _header.replace("Weekly price with taxes", "Price") + "\n"
        "2022-06-13,Poland,PL,Automotive gas oil,PLN,1000L,0.2156,1617.32,1186.45\n"
    ).encode(),
    # SYNTHETIC: the header and no rows.
    empty_body=(_header + "\n").encode(),
    content_type="text/csv",
    base_path=PATH,
)
