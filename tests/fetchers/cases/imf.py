"""IMF fault-matrix case: PCPIPCH for KAZ and KGZ from the CONSTRUCTED DataMapper body."""

from __future__ import annotations

from datetime import datetime

from tests.fetchers.conftest import FIXTURES
from tests.support.fault_matrix import FaultMatrixCase, make_indicator
from tests.support.replay_server import ReplayServer, Reply

BODY = FIXTURES / "imf" / "PCPIPCH_KAZ_KGZ.CONSTRUCTED.json"
PATH = "/api/v1/PCPIPCH/KAZ/KGZ"


def install(server: ReplayServer) -> None:
    """The one request the fetcher makes: every country of one indicator."""
    server.add(PATH, Reply.from_file(BODY))


CASE = FaultMatrixCase(
    source="imf",
    indicators=(make_indicator("imf_cpi_inflation", "imf", "PCPIPCH", unit="%"),),
    countries=("KAZ", "KGZ"),
    install=install,
    fault_path=PATH,
    healthy_body=BODY.read_bytes(),
    # SYNTHETIC: the top level renamed (neither `values` nor `api`).
    schema_changed_body=b'{"data": {"PCPIPCH": {"KAZ": {"2022": 15.0}}}}',
    # SYNTHETIC: the documented shape with no values.
    empty_body=b'{"values": {}, "api": {"version": "1", "output-method": "json"}}',
    base_path="/api/v1",
    now=datetime(2024, 5, 2, 4, 0),
)
