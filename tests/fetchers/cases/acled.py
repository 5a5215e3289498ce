"""ACLED fault-matrix case: the quoted legacy row behind a CONSTRUCTED OAuth token."""

from __future__ import annotations

import json
from datetime import date, datetime

from tests.fetchers.conftest import FIXTURES
from tests.support.fault_matrix import FaultMatrixCase, make_indicator
from tests.support.replay_server import ReplayServer, Reply

QUOTED = FIXTURES / "acled" / "read_legacy_UKR_2024-01-01.QUOTED.json"
TOKEN = FIXTURES / "acled" / "token_password_grant.CONSTRUCTED.json"
PATH = "/api/acled/read"


def install(server: ReplayServer) -> None:
    """The token endpoint and one page of events."""
    server.add("/oauth/token", Reply.from_file(TOKEN), method="POST")
    server.add(PATH, Reply.from_file(QUOTED))


_body = json.loads(QUOTED.read_text())
CASE = FaultMatrixCase(
    source="acled",
    indicators=(
        make_indicator("acled_protest_events", "acled", "Protests;Riots", unit="events/month",
                       frequency="monthly"),
        make_indicator("acled_fatalities", "acled", "fatalities", unit="deaths/month",
                       frequency="monthly"),
    ),
    countries=("UKR",),
    install=install,
    fault_path=PATH,
    healthy_body=QUOTED.read_bytes(),
    # SYNTHETIC: `data` renamed.
    schema_changed_body=json.dumps(
        {("events" if key == "data" else key): value for key, value in _body.items()}
    ).encode(),
    # SYNTHETIC: a successful answer without events.
    empty_body=json.dumps(dict(_body, count=0, data=[])).encode(),
    base_path="/api",
    # The token endpoint on the same host as base_url (resolved against it).
    settings={"enabled": True, "token_url": "/oauth/token"},
    env={"ACLED_USERNAME": "analyst@example.org", "ACLED_PASSWORD": "fake-password"},
    seed_period=date(2023, 12, 1),
    now=datetime(2024, 1, 10, 5, 0),
)
