"""Benchmark: Flashpoint's World Bank refresh against `wbgapi`, side by side, on loopback.

Both clients fetch the same 20 indicators (13 WDI + 7 WGI) for every country and every year
from `bench/wb_emulator.py`, which serves the bundled data in the World Bank API v2's shapes with
50 ms added to every request. Flashpoint runs its real refresh (fetch, parse, write to a temporary
SQLite store); wbgapi runs `wbgapi.data.fetch(...)` for each database and collects the rows.
Printed: requests made, wall time and the ratios; then a second Flashpoint refresh with nothing
changed upstream.

    .venv/bin/python bench/bench_refresh.py [--latency 0.05] [--per-page 20000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.wb_emulator import Emulator, WorldBankData, load_data  # noqa: E402
from flashpoint import store  # noqa: E402
from flashpoint.config import (  # noqa: E402
    IndicatorSettings,
    Settings,
    WorldBankSource,
    iso3_countries,
    load_config,
)
from flashpoint.refresh import refresh_sources  # noqa: E402

WDI_CODES = (
    "FP.CPI.TOTL.ZG", "SL.UEM.TOTL.ZS", "SL.UEM.1524.MA.ZS", "SL.UEM.1524.FE.ZS",
    "NY.GDP.MKTP.KD.ZG", "SI.POV.GINI", "SI.DST.10TH.10", "SI.POV.NAHC", "SI.POV.DDAY",
    "VC.IHR.PSRC.P5", "NY.GDP.TOTL.RT.ZS", "TX.VAL.FUEL.ZS.UN", "PA.NUS.FCRF",
)
WGI_CODES = ("VA.EST", "PV.EST", "GE.EST", "RQ.EST", "RL.EST", "CC.EST", "PV.STD.ERR")
YEARS = "1960:2030"  # every year either database has: the same data wbgapi gets with time='all'


def bench_settings(base_url: str, per_page: int) -> Settings:
    """The default config with World Bank pointed at the emulator and exactly the 20 codes."""
    settings = load_config(ROOT / "config.toml")
    template = next(item for item in settings.indicators if item.source == "worldbank")
    by_code = {item.source_code: item for item in settings.indicators
               if item.source == "worldbank"}
    indicators: list[IndicatorSettings] = []
    for code in (*WDI_CODES, *WGI_CODES):
        item = by_code.get(code) or template.model_copy(
            update={"id": "bench_" + code.lower().replace(".", "_"), "source_code": code})
        indicators.append(item)
    worldbank = WorldBankSource(base_url=f"{base_url}/v2", per_page=per_page, date_range=YEARS,
                                timeout_seconds=60, max_retries=3)
    sources = settings.sources.model_copy(update={"worldbank": worldbank})
    return settings.model_copy(update={"sources": sources, "indicators": indicators})


def run_flashpoint(emulator: Emulator, per_page: int, countries: list[str]
                   ) -> tuple[int, float, int, int, float]:
    settings = bench_settings(emulator.url, per_page)
    with tempfile.TemporaryDirectory() as folder:
        engine = store.make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        store.init_schema(engine)
        before = emulator.total_requests
        started = time.perf_counter()
        report = refresh_sources(engine, settings, sources=["worldbank"],
                                 countries=countries)[0]
        seconds = time.perf_counter() - started
        requests = emulator.total_requests - before
        if report.status != "ok":
            raise SystemExit(f"flashpoint refresh failed: {report.error}")
        before = emulator.total_requests
        started = time.perf_counter()
        again = refresh_sources(engine, settings, sources=["worldbank"], countries=countries)[0]
        again_seconds = time.perf_counter() - started
        again_requests = emulator.total_requests - before
        engine.dispose()
    assert again.rows_new == 0 and again.rows_changed == 0, again
    return requests, seconds, report.rows_new, again_requests, again_seconds


def run_wbgapi(emulator: Emulator) -> tuple[int, float, int]:
    import wbgapi

    wbgapi.endpoint = f"{emulator.url}/v2"
    before = emulator.total_requests
    started = time.perf_counter()
    rows = 0
    for db, codes in ((2, WDI_CODES), (3, WGI_CODES)):
        for _row in wbgapi.data.fetch(list(codes), economy="all", time="all", skipBlanks=True,
                                      skipAggs=True, db=db):
            rows += 1
    seconds = time.perf_counter() - started
    return emulator.total_requests - before, seconds, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added per request")
    parser.add_argument("--per-page", type=int, default=20_000, help="Flashpoint's per_page")
    args = parser.parse_args(argv)

    data: WorldBankData = load_data()
    emulator = Emulator(data, latency_seconds=args.latency).start()
    countries = sorted(code for code in iso3_countries() if code != "WLD")
    try:
        fp_requests, fp_seconds, fp_rows, again_requests, again_seconds = run_flashpoint(
            emulator, args.per_page, countries)
        wb_requests, wb_seconds, wb_rows = run_wbgapi(emulator)
        by_route = dict(emulator.requests)
    finally:
        emulator.stop()

    print(f"World Bank refresh: {len(WDI_CODES) + len(WGI_CODES)} indicators "
          f"({len(WDI_CODES)} WDI + {len(WGI_CODES)} WGI) x all countries, every year; "
          f"{args.latency * 1000:.0f} ms latency per request")
    print(f"{'client':<34}{'requests':>10}{'wall s':>10}{'rows':>10}")
    print(f"{'flashpoint refresh (fetch+store)':<34}{fp_requests:>10}{fp_seconds:>10.2f}"
          f"{fp_rows:>10}")
    print(f"{'wbgapi data.fetch':<34}{wb_requests:>10}{wb_seconds:>10.2f}{wb_rows:>10}")
    print(f"{'flashpoint again, nothing changed':<34}{again_requests:>10}{again_seconds:>10.2f}"
          f"{0:>10}")
    print(f"ratio wbgapi / flashpoint: requests {wb_requests / fp_requests:.1f}x, "
          f"wall time {wb_seconds / fp_seconds:.1f}x")
    print(f"requests by route: {by_route}")
    return 0 if fp_requests < wb_requests and fp_seconds < wb_seconds else 1


if __name__ == "__main__":
    raise SystemExit(main())
