"""GDELT fault-matrix case: the real 1.0 sample rows zipped as the 28 July 2016 daily export."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime

from tests.fetchers.conftest import FIXTURES
from tests.support.fault_matrix import FaultMatrixCase, make_indicator
from tests.support.replay_server import ReplayServer, Reply

SAMPLE = FIXTURES / "gdelt" / "gdelt1_events_sample_20130203-20160728.tsv"
PATH = "/events/20160728.export.CSV.zip"
ZIP = "application/zip"


def _zip(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("20160728.export.CSV", text)
    return buffer.getvalue()


def install(server: ReplayServer) -> None:
    """The sample as the file of 28 July; the other days of the window are not published."""
    server.add(re.compile(r"/events/\d{8}\.export\.CSV\.zip"), Reply(404, b"", content_type=ZIP))
    server.add(PATH, Reply(200, HEALTHY, content_type=ZIP))


HEALTHY = _zip(SAMPLE.read_text(encoding="utf-8"))
_rows = SAMPLE.read_text(encoding="utf-8").splitlines()
CASE = FaultMatrixCase(
    source="gdelt",
    indicators=(
        make_indicator("protest_events", "gdelt", "root:14", unit="events/month",
                       frequency="monthly"),
        make_indicator("conflict_events", "gdelt", "root:18,19,20", unit="events/month",
                       frequency="monthly"),
        make_indicator("gdelt_total_events", "gdelt", "all", unit="events", frequency="daily"),
        make_indicator("protest_events_daily", "gdelt", "root:14", unit="events/day",
                       frequency="daily"),
    ),
    countries=("USA", "KAZ"),
    install=install,
    fault_path=PATH,
    healthy_body=HEALTHY,
    # SYNTHETIC: the real rows with three columns dropped (55/56 instead of 57/58 columns).
    schema_changed_body=_zip("\n".join("\t".join(row.split("\t")[3:]) for row in _rows) + "\n"),
    # SYNTHETIC: a daily export without a single event.
    empty_body=_zip(""),
    content_type=ZIP,
    # The export files live under base_url (a mirror of data.gdeltproject.org).
    settings={"events_url": "gdeltv2"},
    seed_period=date(2016, 7, 1),
    now=datetime(2016, 7, 29, 9, 0),
)
