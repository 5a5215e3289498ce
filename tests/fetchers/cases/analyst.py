"""analyst fault-matrix case: the real KZ fuel-price points file served over HTTP."""

from __future__ import annotations

from tests.fetchers.conftest import FIXTURES
from tests.support.fault_matrix import FaultMatrixCase, make_indicator
from tests.support.replay_server import ReplayServer, Reply

BODY = FIXTURES / "analyst" / "kz_fuel_price_points_from_reports.csv"
NAME = "kz_fuel_price_points_from_reports.csv"
PATH = f"/analyst/{NAME}"


def install(server: ReplayServer) -> None:
    """The configured file, at base_url + its name."""
    server.add(PATH, Reply.from_file(BODY))


_healthy = BODY.read_bytes()
_lines = _healthy.decode().splitlines(keepends=True)
_header = _lines[0].rstrip("\n").split(",")
_drop = _header.index("value_max")
CASE = FaultMatrixCase(
    source="analyst",
    indicators=(
        make_indicator("fuel_lpg_retail", "analyst", "LPG (autogas)", unit="KZT/litre",
                       frequency="daily"),
        make_indicator("fuel_gasoline_retail", "analyst", "AI-92/93 gasoline",
                       unit="KZT/litre", frequency="daily"),
        make_indicator("fuel_diesel_retail", "analyst", "diesel", unit="KZT/litre",
                       frequency="daily"),
    ),
    countries=("KAZ",),
    install=install,
    fault_path=PATH,
    healthy_body=_healthy,
    # SYNTHETIC: the value_max column dropped (header and rows; no row has a comma in it
    # before that column).
    schema_changed_body="".join(
        ",".join(cell for index, cell in enumerate(line.rstrip("\n").split(",", 8))
                 if index != _drop) + "\n"
        for line in _lines
    ).encode(),
    # SYNTHETIC: the header alone.
    empty_body=_lines[0].encode(),
    content_type="text/csv; charset=utf-8",
    base_path="/analyst",
    settings={"files": [NAME]},
)
