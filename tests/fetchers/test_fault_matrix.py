"""The fault matrix: every registered source × every fault, through the real refresh and store.

How a source joins: see `tests/support/fault_matrix.py` (a `CASE` in
`tests/fetchers/cases/<source>.py`). A registered source without a case fails here.
"""

from __future__ import annotations

import functools
import importlib
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import requests
from sqlalchemy.engine import Engine

import fetchers
from fetchers.base import BaseFetcher, Extracted, FetchRequest
from fetchers.http import get, make_session
from flashpoint import store
from flashpoint.refresh import SourceRunReport, refresh_sources
from tests.support.fault_matrix import (
    FAULTS,
    MAX_RETRIES,
    RETRY_AFTER_CAP,
    TIMEOUT_SECONDS,
    Fault,
    FaultMatrixCase,
    harness_settings,
    make_indicator,
    source_settings,
)
from tests.support.replay_server import ReplayServer, Reply, running_replay_server

COMPANION = "fault_matrix_companion"
COMPANION_INDICATOR = make_indicator("companion_value", COMPANION, "VALUE")
SENTINEL_VALUE = 123.456


class CompanionFetcher(BaseFetcher):
    """A second, healthy source: proves a failing source never stops the others."""

    name = COMPANION

    def extract(self, request: FetchRequest, session: requests.Session) -> Extracted:
        response = get(session, f"{request.base_url}/companion.json", source=self.name)
        return Extracted(payloads=[response.payload])

    def transform(self, payloads, request):  # type: ignore[no-untyped-def]
        return pd.DataFrame({
            "indicator": ["companion_value"], "country": ["KAZ"],
            "period": [pd.Timestamp("2020-01-01")], "value": [float(payloads[0]["value"])],
            "unit": ["x"], "source": [self.name],
        })


def load_case(source: str) -> FaultMatrixCase:
    try:
        module = importlib.import_module(f"tests.fetchers.cases.{source}")
    except ModuleNotFoundError as error:
        if error.name == f"tests.fetchers.cases.{source}":
            pytest.fail(f"source {source!r} is registered but has no fault-matrix case: add "
                        f"tests/fetchers/cases/{source}.py with CASE = FaultMatrixCase(...)")
        raise
    case: FaultMatrixCase = module.CASE
    assert case.source == source, f"tests/fetchers/cases/{source}.py describes {case.source!r}"
    return case


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = store.make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    store.init_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def companion(monkeypatch: pytest.MonkeyPatch) -> Iterator[ReplayServer]:
    monkeypatch.setitem(fetchers.REGISTRY, COMPANION, CompanionFetcher)
    with running_replay_server() as server:
        server.add("/companion.json", Reply.json_text('{"value": 7.5}'))
        yield server


def seed_sentinels(engine: Engine, case: FaultMatrixCase) -> None:
    """Rows the faulted source's fetch would revise or extend if it wrote anything at all."""
    rows = [
        {"indicator": item.id, "country": country, "period": pd.Timestamp(case.seed_period),
         "value": SENTINEL_VALUE, "unit": item.unit, "source": case.source}
        for item in case.indicators for country in case.countries
    ]
    store.upsert_observations(engine, pd.DataFrame(rows))


# Timeout for upstreams that are not faulted: generous, never the trigger of a test's outcome.
HEALTHY_TIMEOUT_SECONDS = 60.0


def snapshot(engine: Engine) -> pd.DataFrame:
    """Every stored row except the companion source's (which is supposed to change)."""
    frame = store.read_observations(engine)
    frame = frame[frame["source"] != COMPANION]
    return frame.sort_values(["indicator", "country", "vintage", "period"]).reset_index(drop=True)


def run_refresh(engine: Engine, case: FaultMatrixCase, server: ReplayServer,
                companion: ReplayServer, *, source_timeout: float = TIMEOUT_SECONDS,
                ) -> list[SourceRunReport]:
    # Only a faulted source needs the short timeout (its `timeout` fault hangs for a few of them);
    # a healthy upstream gets a generous one, so a loaded 2-core machine cannot fake a timeout.
    common = {"max_retries": MAX_RETRIES, "min_interval_seconds": 0.0}
    settings = harness_settings(
        {
            case.source: source_settings(case.source, base_url=server.url + case.base_path,
                                         **{**dict(case.settings), **common,
                                            "timeout_seconds": source_timeout}),
            COMPANION: source_settings(COMPANION, base_url=companion.url, **common,
                                       timeout_seconds=HEALTHY_TIMEOUT_SECONDS),
        },
        (*case.indicators, COMPANION_INDICATOR),
        case.countries,
    )
    factory = functools.partial(make_session, backoff_factor=0.0,
                                retry_after_cap=RETRY_AFTER_CAP)
    return refresh_sources(engine, settings, sources=[case.source, COMPANION],
                           session_factory=factory, now=case.now)


def registered_sources() -> list[str]:
    return sorted(name for name in fetchers.REGISTRY if name != COMPANION)


@pytest.mark.parametrize("source", registered_sources())
def test_healthy_case_refreshes_and_a_second_run_adds_nothing(
    source: str, engine: Engine, companion: ReplayServer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = load_case(source)
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    with running_replay_server() as server:
        case.install(server)
        first = run_refresh(engine, case, server, companion,
                            source_timeout=HEALTHY_TIMEOUT_SECONDS)
        assert [r.status for r in first] == ["ok", "ok"], first
        assert first[0].rows_new > 0
        stored = snapshot(engine)
        second = run_refresh(engine, case, server, companion,
                             source_timeout=HEALTHY_TIMEOUT_SECONDS)
    assert second[0].status in ("ok", "not_modified"), second
    assert second[0].rows_new == 0 and second[0].rows_changed == 0
    pd.testing.assert_frame_equal(snapshot(engine), stored)


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.name for fault in FAULTS])
@pytest.mark.parametrize("source", registered_sources())
def test_a_fault_is_recorded_bounded_and_harmless(
    source: str, fault: Fault, engine: Engine, companion: ReplayServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = load_case(source)
    if fault.name in case.skip_faults:
        pytest.skip(case.skip_faults[fault.name])
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    seed_sentinels(engine, case)
    before = snapshot(engine)
    revisions_before = len(store.read_revisions(engine))

    with running_replay_server() as server:
        case.install(server)
        server.add(case.fault_path, fault.script(case), query=case.fault_query)
        started = time.monotonic()
        reports = run_refresh(engine, case, server, companion)
        elapsed = time.monotonic() - started
        reached = server.count(case.fault_path)

    faulted, other = reports
    # 1. a recorded error naming the source and the cause
    assert faulted.status == "error", faulted
    assert faulted.error is not None
    words = case.cause_words.get(fault.name, fault.cause_words)
    assert source in faulted.error
    assert any(word.lower() in faulted.error.lower() for word in words), (
        f"{faulted.error!r} names none of {words}")
    run = store.read_fetch_runs(engine, source=source, limit=1).iloc[0]
    assert run["status"] == "error"
    assert run["error"] == faulted.error
    # 2. bounded retries, counted at the server
    if fault.retried:
        assert reached == MAX_RETRIES + 1, f"{reached} requests reached the faulted route"
    else:
        assert 1 <= reached <= MAX_RETRIES + 1, f"{reached} requests reached the faulted route"
    assert int(run["requests"]) >= reached
    assert elapsed < 15  # Retry-After capped, no runaway loop
    # 3. the store's rows and values unchanged
    pd.testing.assert_frame_equal(snapshot(engine), before)
    assert len(store.read_revisions(engine)) == revisions_before
    # 4. the other source still refreshed
    assert other.source == COMPANION and other.status == "ok" and other.rows_new == 1
