"""NBK fault-matrix case: two days back-filled from the real trimmed get_rates.cfm responses."""

from __future__ import annotations

from datetime import date, datetime

from tests.fetchers.conftest import FIXTURES
from tests.support.fault_matrix import FaultMatrixCase, make_indicator
from tests.support.replay_server import ReplayServer, Reply

AUG_01 = FIXTURES / "nbk" / "get_rates_fdate_01.08.2026.trimmed.xml"
JUL_31 = FIXTURES / "nbk" / "get_rates_fdate_31.07.2026.trimmed.xml"
PATH = "/rss/get_rates.cfm"


def install(server: ReplayServer) -> None:
    """One document per requested date."""
    server.add(PATH, Reply.from_file(JUL_31), query={"fdate": "31.07.2026"})
    server.add(PATH, Reply.from_file(AUG_01), query={"fdate": "01.08.2026"})


CASE = FaultMatrixCase(
    source="nbk",
    indicators=(
        make_indicator("usd_fx_rate", "nbk", "USD", unit="LCU per USD", frequency="daily"),
    ),
    countries=("KAZ",),
    install=install,
    fault_path=PATH,
    healthy_body=AUG_01.read_bytes(),
    # SYNTHETIC: the bank switches the endpoint to an RSS channel.
    schema_changed_body=b'<?xml version="1.0" encoding="utf-8"?><rss><channel></channel></rss>',
    # SYNTHETIC (documented): the empty document served outside the bank's window.
    empty_body=b'<?xml version="1.0" encoding="utf-8"?>\n<rates>\n</rates>\n',
    content_type="text/xml; charset=utf-8",
    base_path="/rss",
    settings={"backfill_days": 2},
    seed_period=date(2026, 7, 1),
    now=datetime(2026, 8, 1, 7, 15),
)
