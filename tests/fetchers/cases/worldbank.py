"""World Bank fault-matrix case: KAZ WDI + WGI groups served from the CONSTRUCTED KAZ bodies."""

from __future__ import annotations

import json

from tests.fetchers.conftest import FIXTURES
from tests.support.fault_matrix import FaultMatrixCase, make_indicator
from tests.support.replay_server import ReplayServer, Reply

WB = FIXTURES / "worldbank"
KAZ_WDI = WB / "CONSTRUCTED_200_country_KAZ_indicator_WDI3_source_2.json"
KAZ_WGI = WB / "CONSTRUCTED_200_country_KAZ_indicator_PV_EST_CC_EST_source_3.json"
WDI_PATH = "/v2/country/KAZ/indicator/SI.POV.GINI;SL.UEM.TOTL.ZS;FP.CPI.TOTL.ZG"
WGI_PATH = "/v2/country/KAZ/indicator/PV.EST;CC.EST"


def install(server: ReplayServer) -> None:
    """Healthy routes: each group answers with its whole (single-page) body."""
    server.add(WDI_PATH, Reply.from_file(KAZ_WDI), query={"source": "2"})
    server.add(WGI_PATH, Reply.from_file(KAZ_WGI), query={"source": "3"})


_healthy = KAZ_WDI.read_bytes()
_meta, _rows = json.loads(_healthy)
# SYNTHETIC: the API renames `countryiso3code` (a field the parser needs).
_schema_changed = json.dumps(
    [_meta, [{("countryIso3" if key == "countryiso3code" else key): value
              for key, value in row.items()} for row in _rows]]
).encode()
# SYNTHETIC: a well-formed answer with no rows.
_empty = json.dumps([dict(_meta, pages=0, total=0), None]).encode()

CASE = FaultMatrixCase(
    source="worldbank",
    indicators=(
        make_indicator("gini", "worldbank", "SI.POV.GINI", unit="index"),
        make_indicator("unemployment", "worldbank", "SL.UEM.TOTL.ZS", unit="%"),
        make_indicator("cpi_inflation", "worldbank", "FP.CPI.TOTL.ZG", unit="%"),
        make_indicator("wgi_political_stability", "worldbank", "PV.EST", unit="index"),
        make_indicator("wgi_control_of_corruption", "worldbank", "CC.EST", unit="index"),
    ),
    countries=("KAZ",),
    install=install,
    fault_path=WDI_PATH,
    healthy_body=_healthy,
    schema_changed_body=_schema_changed,
    empty_body=_empty,
    base_path="/v2",
)
