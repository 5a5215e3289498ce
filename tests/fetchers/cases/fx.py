"""fx fault-matrix case: open.er-api.com latest/USD (CONSTRUCTED body) for KGZ and UZB."""

from __future__ import annotations

import json

from tests.fetchers.conftest import FIXTURES
from tests.support.fault_matrix import FaultMatrixCase, make_indicator
from tests.support.replay_server import ReplayServer, Reply

BODY = FIXTURES / "fx" / "latest_USD.CONSTRUCTED.json"
PATH = "/v6/latest/USD"


def install(server: ReplayServer) -> None:
    """The one request: the latest rates per USD."""
    server.add(PATH, Reply.from_file(BODY))


_document = json.loads(BODY.read_text())
CASE = FaultMatrixCase(
    source="fx",
    # usd_fx_rate is catalogued under nbk; fx serves it for the other countries (also_serves).
    indicators=(
        make_indicator("usd_fx_rate", "nbk", "USD", unit="LCU per USD", frequency="daily"),
    ),
    countries=("KGZ", "UZB"),
    install=install,
    fault_path=PATH,
    healthy_body=BODY.read_bytes(),
    # SYNTHETIC: `rates` renamed.
    schema_changed_body=json.dumps(
        {("conversion_rates" if key == "rates" else key): value
         for key, value in _document.items()}
    ).encode(),
    # SYNTHETIC: a success answer without any rate.
    empty_body=json.dumps(dict(_document, rates={})).encode(),
    base_path=PATH,
)
