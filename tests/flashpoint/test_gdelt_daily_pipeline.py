"""Daily unrest end to end: export files → GdeltFetcher → SQLite store → score, point in time.

The export files are CONSTRUCTED from the 509 real rows of the recorded 28 July 2016 GDELT 1.0
file (`tests/fixtures/gdelt/`): for each day of June and early July 2016 the real rows are
re-dated to that day (SQLDATE and DATEADDED); on the last day India's two real protest rows are
repeated 40 times (the burst). Everything else — columns, places, codes — is the real rows'.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fetchers.gdelt import GdeltFetcher
from flashpoint import store
from flashpoint.config import load_config
from indicators.scoring import score_panel
from tests.fetchers.conftest import FIXTURES
from tests.fetchers.request_builder import make_request, make_test_session
from tests.support.replay_server import ReplayServer, Reply, replay_server

__all__ = ["replay_server"]  # the loopback server fixture

SAMPLE = FIXTURES / "gdelt" / "gdelt1_events_sample_20130203-20160728.tsv"
FIRST, BURST = dt.date(2016, 6, 1), dt.date(2016, 7, 10)
COUNTRIES = ("IND", "ISR", "USA", "KGZ", "CYN")


def _rows() -> list[list[str]]:
    return [
        line.split("\t")
        for line in SAMPLE.read_text(encoding="utf-8").splitlines()
        if line.count("\t") == 57 and line.split("\t")[56] == "20160728"
    ]


def _export(day: dt.date, rows: list[list[str]], burst: bool) -> bytes:
    stamp = day.strftime("%Y%m%d")
    out = []
    for cells in rows:
        cells = list(cells)
        cells[1], cells[56] = stamp, stamp
        copies = 40 if burst and cells[51] == "IN" and cells[28] == "14" else 1
        out.extend(["\t".join(cells)] * copies)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{stamp}.export.CSV", "\n".join(out) + "\n")
    return buffer.getvalue()


@pytest.fixture
def stored(replay_server: ReplayServer, tmp_path: Path) -> pd.DataFrame:
    rows = _rows()
    replay_server.add(re.compile(r"/events/\d{8}\.export\.CSV\.zip"), Reply(404, b"no"))
    day = FIRST
    while day <= BURST:
        body = _export(day, rows, burst=day == BURST)
        path = f"/events/{day.strftime('%Y%m%d')}.export.CSV.zip"
        replay_server.add(path, Reply(200, body, content_type="application/zip"))
        day += dt.timedelta(days=1)
    request = make_request(
        "gdelt", events_url=replay_server.url, countries=COUNTRIES,
        now=dt.datetime(2016, 7, 11, 9, 0),
    )
    result = GdeltFetcher().fetch(request, make_test_session())
    engine = store.make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        store.init_schema(engine)
        store.upsert_observations(engine, result.observations)
        return store.read_observations(engine, include_forecasts=False)
    finally:
        engine.dispose()


def test_the_burst_is_in_the_unrest_pillar_the_next_morning(stored: pd.DataFrame) -> None:
    catalogue = load_config(None).catalogue()
    daily = stored[stored["indicator"] == "protest_events_daily"]
    india = daily[daily["country"] == "IND"].set_index("period")["value"]
    assert india[pd.Timestamp(BURST)] == 80 and india[pd.Timestamp(FIRST)] == 2
    assert len(india) == (BURST - FIRST).days + 1  # one row per file read, zeros included

    evening = score_panel(stored, catalogue, as_of=BURST, countries=list(COUNTRIES))
    morning = score_panel(stored, catalogue, as_of=BURST + dt.timedelta(days=1),
                          countries=list(COUNTRIES))
    before = evening.contributions.set_index(["country", "indicator"])
    after = morning.contributions.set_index(["country", "indicator"])
    # The evening of the burst, the latest visible count is the day before: no spike yet.
    assert pd.Timestamp(before.loc[("IND", "protest_spike_daily"), "period"]) == pd.Timestamp(
        BURST - dt.timedelta(days=1))
    assert before.loc[("IND", "protest_spike_daily"), "normalised"] == 0.0
    # The next morning: 80 events against 2 a day for 39 days scores 10.
    assert pd.Timestamp(after.loc[("IND", "protest_spike_daily"), "period"]) == pd.Timestamp(BURST)
    assert after.loc[("IND", "protest_spike_daily"), "normalised"] == 10.0
    pillars = morning.pillars.set_index(["country", "pillar"])["score"]
    assert pillars[("IND", "unrest_spike")] == 10.0
    assert pillars[("ISR", "unrest_spike")] == 0.0  # same rows every day: quiet, not missing
    # The July month-to-date count is stored but not yet visible: June is the latest month.
    latest_month = pd.Timestamp(after.loc[("IND", "protest_events"), "period"])
    assert latest_month == pd.Timestamp("2016-06-01")


def test_a_country_gdelt_does_not_cover_is_missing_not_calm(stored: pd.DataFrame) -> None:
    assert "CYN" not in set(stored["country"])
    assert (stored[stored["country"] == "KGZ"]["value"] == 0).all()  # covered, no event: zeros
    catalogue = load_config(None).catalogue()
    morning = score_panel(stored, catalogue, as_of=BURST + dt.timedelta(days=1),
                          countries=list(COUNTRIES))
    pillars = morning.pillars.set_index(["country", "pillar"])["score"]
    assert np.isnan(pillars[("CYN", "unrest_spike")])
    assert pillars[("KGZ", "unrest_spike")] == 0.0
    status = morning.contributions.set_index(["country", "indicator"])["status"]
    assert status[("CYN", "protest_spike_daily")] == "missing"
