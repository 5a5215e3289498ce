"""The team set-up of docs/DEPLOYMENT.md: one PostgreSQL store, one scheduler, two dashboards.

A real PostgreSQL server (started by the suite) holds the bundled snapshot; `flashpoint serve` runs
as a subprocess refreshing the NBK rate from the real recorded response on a loopback server; two
`streamlit run` processes serve the dashboard from the same store, and a real Chromium opens both.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from flashpoint import snapshot, store
from tests.dashboard.conftest import start_dashboard, stop
from tests.dashboard.test_browser import off_loopback, wait_for_app
from tests.support.replay_server import Reply, running_replay_server
from tests.support.serve_process import (
    KZ_FUEL_FIXTURE,
    start_serve,
    stop_serve,
    wait_for,
    write_serve_config,
)

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.slow]

NBK_FIXTURE = (
    Path(__file__).resolve().parents[1]
    / "fixtures"
    / "nbk"
    / "get_rates_fdate_01.08.2026.trimmed.xml"
)


@pytest.fixture
def team_store(postgres_url: str) -> Iterator[str]:
    """A PostgreSQL store holding the bundled snapshot."""
    engine = store.make_engine(postgres_url)
    try:
        store.init_schema(engine)
        snapshot.load_snapshot(engine)
    finally:
        engine.dispose()
    yield postgres_url


def test_one_scheduler_and_two_dashboards_share_one_postgresql(
    team_store: str, tmp_path: Path, page: Page
) -> None:
    engine = store.make_engine(team_store)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    with running_replay_server() as nbk:
        nbk.add("/get_rates.cfm", Reply.from_file(NBK_FIXTURE))
        config = write_serve_config(
            tmp_path, team_store, nbk_url=nbk.url, analyst_files=[KZ_FUEL_FIXTURE]
        )
        scheduler_log = tmp_path / "serve.log"
        scheduler = start_serve(config, scheduler_log)
        dashboards = [
            start_dashboard(
                tmp_path / "unused.db",
                tmp_path / f"dashboard-{index}.log",
                extra_env={"FLASHPOINT_DATABASE_URL": team_store},
            )
            for index in (1, 2)
        ]
        try:

            def nbk_refreshed() -> bool:
                runs = store.read_fetch_runs(engine, source="nbk")
                return not runs.empty and bool((runs["status"] == "ok").any())

            wait_for(nbk_refreshed, timeout=90, what="an NBK refresh", log=scheduler_log)
            headlines = []
            for _process, url in dashboards:
                # Each dashboard shows the shared store's Kazakhstan score and its charts…
                page.goto(url)
                wait_for_app(page)
                headline = page.get_by_test_id("stMetric").filter(has_text="Composite risk")
                value = headline.get_by_test_id("stMetricValue")
                expect(value).to_be_visible()
                # One value, or a blind trigger's range "low–high": both bounds in 0–10.
                headlines.append(tuple(float(part) for part in value.inner_text().split("–")))
                expect(page.locator(".js-plotly-plot").first).to_be_visible()
                # …and its Data health page reads the scheduler's runs from the same store.
                page.goto(f"{url}/health")
                wait_for_app(page)
                expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
                expect(page.get_by_test_id("stException")).to_have_count(0)
            assert headlines[0] == headlines[1]
            assert all(0.0 <= bound <= 10.0 for bound in headlines[0])
            assert scheduler.poll() is None, "the scheduler kept running alongside the dashboards"
        finally:
            for process, _url in dashboards:
                stop(process)
            assert stop_serve(scheduler) == 0
    fx = store.read_observations(engine, indicators=["usd_fx_rate"], countries=["KAZ"])
    assert 473.59 in set(fx["value"].round(2))  # the recorded NBK value landed in PostgreSQL
    assert not off_loopback(requested), off_loopback(requested)
    engine.dispose()
