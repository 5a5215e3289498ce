"""Brazil ANP fault-matrix case: the real national weekly workbook."""

from __future__ import annotations

import io

from openpyxl import Workbook

from tests.fetchers.conftest import FIXTURES
from tests.support.fault_matrix import FaultMatrixCase, make_indicator
from tests.support.replay_server import ReplayServer, Reply

BODY = FIXTURES / "brazil_anp" / "semanal-brasil-desde-2013.xlsx"
PATH = "/anp/shlp/semanal/semanal-brasil-desde-2013.xlsx"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = ["DATA INICIAL", "DATA FINAL", "PRODUTO", "NÚMERO DE POSTOS PESQUISADOS",
          "UNIDADE DE MEDIDA", "PREÇO MÉDIO REVENDA"]


def _workbook(header: list[str]) -> bytes:
    """SYNTHETIC: a workbook holding only `header` (no data rows)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def install(server: ReplayServer) -> None:
    """The one request: the whole workbook."""
    server.add(PATH, Reply.from_file(BODY, content_type=XLSX))


CASE = FaultMatrixCase(
    source="brazil_anp",
    # The generic fuel ids are catalogued under another source; this one serves them for BRA.
    indicators=(
        make_indicator("fuel_diesel_retail", "analyst", "diesel", unit="BRL/litre",
                       frequency="weekly"),
    ),
    countries=("BRA",),
    install=install,
    fault_path=PATH,
    healthy_body=BODY.read_bytes(),
    # SYNTHETIC: the price column renamed.
    schema_changed_body=_workbook([*HEADER[:-1], "PRECO REVENDA"]),
    # SYNTHETIC: the header and no rows.
    empty_body=_workbook(HEADER),
    content_type=XLSX,
    base_path=PATH,
)
