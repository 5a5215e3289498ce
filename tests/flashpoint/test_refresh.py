"""Refresh orchestration with the real config, store and World Bank fetcher on a loopback server."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests
from sqlalchemy.engine import Engine

import fetchers
from fetchers.base import BaseFetcher, Extracted, FetchRequest
from flashpoint import store
from flashpoint.cli import main
from flashpoint.config import Settings, SourcesSettings, load_config
from flashpoint.refresh import SourceRunReport, all_ok, refresh_sources, sources_to_refresh
from tests.support.replay_server import ReplayServer, Reply, replay_server

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "worldbank"
KAZ_WDI = FIXTURES / "CONSTRUCTED_200_country_KAZ_indicator_WDI3_source_2.json"
KAZ_WGI = FIXTURES / "CONSTRUCTED_200_country_KAZ_indicator_PV_EST_CC_EST_source_3.json"
WB_ROUTE = re.compile(r"/v2/country/KAZ/indicator/[A-Z0-9.;]+")

__all__ = ["replay_server"]


def write_config(tmp_path: Path, base_url: str, *, enabled: tuple[str, ...] = ("worldbank",),
                 countries: tuple[str, ...] = ("KAZ",)) -> Path:
    lines = [
        "[general]",
        f"countries = {json.dumps(list(countries))}",
        f'default_country = "{countries[0]}"',
        f'data_dir = "{tmp_path / "data"}"',
        "[store]",
        f'url = "sqlite:///{tmp_path / "store.db"}"',
    ]
    for name in SourcesSettings.model_fields:
        lines.append(f"[sources.{name}]")
        lines.append(f"enabled = {'true' if name in enabled else 'false'}")
        if name == "worldbank":
            lines += [f'base_url = "{base_url}/v2"', "timeout_seconds = 2.0", "max_retries = 1"]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def serve_kaz(server: ReplayServer, wdi: bytes | None = None) -> None:
    """The KAZ bodies (CONSTRUCTED) for any WDI/WGI group of the real catalogue."""
    server.add(WB_ROUTE, Reply(200, wdi if wdi is not None else KAZ_WDI.read_bytes()),
               query={"source": "2"})
    server.add(WB_ROUTE, Reply.from_file(KAZ_WGI), query={"source": "3"})


@pytest.fixture
def configured(tmp_path: Path, replay_server: ReplayServer,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Settings, Engine]]:
    monkeypatch.delenv("FLASHPOINT_DATABASE_URL", raising=False)
    settings = load_config(write_config(tmp_path, replay_server.url))
    engine = store.make_engine(settings.database_url)
    store.init_schema(engine)
    yield settings, engine
    engine.dispose()


def test_first_refresh_stores_rows_and_records_the_run(
    configured: tuple[Settings, Engine], replay_server: ReplayServer,
) -> None:
    settings, engine = configured
    serve_kaz(replay_server)
    reports = refresh_sources(engine, settings)
    assert [r.source for r in reports] == ["worldbank"]
    report = reports[0]
    assert report.status == "ok" and all_ok(reports)
    expected = sum(row["value"] is not None
                   for path in (KAZ_WDI, KAZ_WGI) for row in json.loads(path.read_bytes())[1])
    assert report.rows_new == expected
    # bulk: one request for the WDI group and one for the WGI group, whole catalogue
    assert report.requests == 2 == len(replay_server.requests)
    run = store.read_fetch_runs(engine, source="worldbank", limit=1).iloc[0]
    assert run["status"] == "ok" and run["requests"] == 2 and run["rows_new"] == expected
    stored = store.read_observations(engine)
    assert len(stored) == expected
    gini = stored[(stored.indicator == "gini") & (stored.period == pd.Timestamp("2021-01-01"))]
    assert gini["value"].tolist() == [29.2]
    keys = store.read_http_validators(engine)
    assert len([key for key in keys if key.startswith("worldbank:lastupdated:")]) == 2


def test_second_refresh_with_nothing_changed_is_one_probe_per_group(
    configured: tuple[Settings, Engine], replay_server: ReplayServer,
) -> None:
    settings, engine = configured
    serve_kaz(replay_server)
    refresh_sources(engine, settings)
    replay_server.reset_log()
    second = refresh_sources(engine, settings)[0]
    assert second.status == "not_modified"
    assert second.rows_new == second.rows_changed == 0
    assert second.requests == 2 == len(replay_server.requests)
    assert {r.query["per_page"] for r in replay_server.requests} == {"1"}


def test_a_revised_value_is_kept_in_revisions(
    configured: tuple[Settings, Engine], replay_server: ReplayServer,
) -> None:
    settings, engine = configured
    serve_kaz(replay_server)
    refresh_sources(engine, settings)
    # CONSTRUCTED revision: a newer release with KAZ Gini 2021 revised from 29.2 to 29.9
    meta, rows = json.loads(KAZ_WDI.read_bytes())
    for row in rows:
        if row["indicator"]["id"] == "SI.POV.GINI" and row["date"] == "2021":
            row["value"] = 29.9
    replay_server.clear_routes()
    replay_server.reset_log()
    serve_kaz(replay_server, json.dumps([dict(meta, lastupdated="2026-01-15"), rows]).encode())
    report = refresh_sources(engine, settings)[0]
    assert report.status == "ok"
    assert report.rows_changed == 1 and report.rows_new == 0
    revisions = store.read_revisions(engine)
    assert revisions[["old_value", "new_value"]].values.tolist() == [[29.2, 29.9]]
    # only the group whose `lastupdated` changed is fetched again; the WGI group is probed
    data_calls = [r for r in replay_server.requests if r.query.get("per_page") != "1"]
    assert [r.query["source"] for r in data_calls] == ["2"]
    assert len(replay_server.requests) == 3  # two probes + one data page


class ExplodingFetcher(BaseFetcher):
    """A source whose code has a bug: the refresh must contain it."""

    name = "exploding"

    def extract(self, request: FetchRequest, session: requests.Session) -> Extracted:
        raise RuntimeError("bug in the parser")

    def transform(self, payloads: Any, request: FetchRequest) -> pd.DataFrame:
        raise AssertionError("never reached")


def test_an_unexpected_exception_is_contained_and_logged(
    configured: tuple[Settings, Engine], replay_server: ReplayServer,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    settings, engine = configured
    serve_kaz(replay_server)
    monkeypatch.setitem(fetchers.REGISTRY, "imf", ExplodingFetcher)
    with caplog.at_level(logging.ERROR, logger="flashpoint.refresh"):
        reports = refresh_sources(engine, settings, sources=["imf", "worldbank"])
    broken, fine = reports
    assert broken.status == "error" and not all_ok(reports)
    assert broken.error == "imf: unexpected RuntimeError while refreshing: bug in the parser"
    assert any(record.exc_info for record in caplog.records)  # traceback in the log
    assert fine.status == "ok" and fine.rows_new > 0
    run = store.read_fetch_runs(engine, source="imf", limit=1).iloc[0]
    assert run["status"] == "error" and "bug in the parser" in run["error"]


class DuplicatingFetcher(BaseFetcher):
    """Returns the same key twice: the store refuses, nothing is written."""

    name = "duplicating"

    def extract(self, request: FetchRequest, session: requests.Session) -> Extracted:
        return Extracted(payloads=[None])

    def transform(self, payloads: Any, request: FetchRequest) -> pd.DataFrame:
        row = {"indicator": request.indicators[0].id, "country": "KAZ",
               "period": pd.Timestamp("2020-01-01"), "value": 1.0, "unit": "%",
               "source": self.name}
        return pd.DataFrame([row, {**row, "value": 2.0}])


def test_data_the_store_refuses_is_an_error_and_writes_nothing(
    configured: tuple[Settings, Engine], monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings, engine = configured
    monkeypatch.setitem(fetchers.REGISTRY, "imf", DuplicatingFetcher)
    report = refresh_sources(engine, settings, sources=["imf"])[0]
    assert report.status == "error"
    assert report.error is not None and "could not be stored" in report.error
    assert store.read_observations(engine).empty


def test_sources_come_from_the_registry_and_the_config(
    configured: tuple[Settings, Engine],
) -> None:
    settings, _ = configured
    assert sources_to_refresh(settings, None) == ["worldbank"]  # the only one enabled
    assert sources_to_refresh(settings, ["imf", "imf", "worldbank"]) == ["imf", "worldbank"]


def test_an_unregistered_source_is_an_error_not_a_crash(
    configured: tuple[Settings, Engine], monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings, engine = configured
    monkeypatch.delitem(fetchers.REGISTRY, "imf", raising=False)
    report = refresh_sources(engine, settings, sources=["imf"])[0]
    assert report.status == "error" and "no fetcher is registered" in (report.error or "")


def test_progress_is_reported_per_source(
    configured: tuple[Settings, Engine], replay_server: ReplayServer,
) -> None:
    settings, engine = configured
    serve_kaz(replay_server)
    events: list[tuple[str, SourceRunReport | None]] = []
    refresh_sources(engine, settings, progress=lambda name, rep: events.append((name, rep)))
    assert [(name, rep is None) for name, rep in events] == [("worldbank", True),
                                                             ("worldbank", False)]


def test_countries_argument_narrows_the_request(
    configured: tuple[Settings, Engine], replay_server: ReplayServer,
) -> None:
    settings, engine = configured
    replay_server.add(re.compile(r"/v2/country/KGZ/indicator/.*"),
                      Reply(200, json.dumps([{"page": 1, "pages": 0, "total": 0}, None]).encode()))
    report = refresh_sources(engine, settings, countries=["KGZ"])[0]
    assert {r.path.split("/")[3] for r in replay_server.requests} == {"KGZ"}
    assert report.status == "error" and "empty" in (report.error or "")


# -- the CLI ---------------------------------------------------------------------------------------

def test_cli_refresh_exit_status_and_summary(
    tmp_path: Path, replay_server: ReplayServer, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FLASHPOINT_DATABASE_URL", raising=False)
    config = write_config(tmp_path, replay_server.url)
    serve_kaz(replay_server)
    assert main(["refresh", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^worldbank\s+ok\s+2\s+\d+", out, flags=re.MULTILINE), out
    # The same pipeline as a scheduled job: new rows are scored and alert rules evaluated.
    assert re.search(r"re-scored \d+ countries; alerts evaluated", out), out
    engine = store.make_engine(load_config(config).database_url)
    try:
        assert "KAZ" in set(store.read_scores(engine)["country"])
    finally:
        engine.dispose()

    replay_server.clear_routes()  # now every request gets 404
    assert main(["refresh", "--config", str(config), "--source", "worldbank"]) == 1
    out = capsys.readouterr().out
    assert "error: worldbank:" in out and "404" in out


def test_cli_rejects_an_unknown_source_or_country(
    tmp_path: Path, replay_server: ReplayServer, capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_config(tmp_path, replay_server.url)
    assert main(["refresh", "--config", str(config), "--source", "nosuch"]) == 2
    assert "unknown source 'nosuch'" in capsys.readouterr().err
    assert main(["refresh", "--config", str(config), "--country", "XXX"]) == 2
    assert "unknown ISO3 country code 'XXX'" in capsys.readouterr().err
    assert replay_server.requests == []
