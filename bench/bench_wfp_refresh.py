"""Benchmark: HTTP requests of a WFP refresh per country file, full and unchanged, on loopback.

A small loopback server serves the bundled WFP files (`data/fuel-prices-world/`) the way a static
file host does: a strong `ETag` (SHA-1 of the bytes) and `Last-Modified` on every answer, and
`304 Not Modified` when the request's `If-None-Match` matches. For 1, 2, 4, … up to every bundled
file, the real refresh (`flashpoint.refresh.refresh_sources`, source `wfp`, into a temporary
SQLite store) runs twice: a full refresh from an empty store, then a refresh with nothing changed
upstream. Printed per run: files, requests the server received, requests per file, the status
and the wall time. The target (issue 11): at most one request per file for a full refresh, and
one conditional request (answered 304) per file for an unchanged one.

    .venv/bin/python bench/bench_wfp_refresh.py [--latency 0.0]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flashpoint import store  # noqa: E402
from flashpoint.config import Settings, WfpSource, load_config  # noqa: E402
from flashpoint.refresh import refresh_sources  # noqa: E402

DATA = ROOT / "data" / "fuel-prices-world"
FILES = {
    **{path.stem.rsplit("_", 1)[-1].upper(): f"wfp-hdx/{path.name}"
       for path in sorted((DATA / "wfp-hdx").glob("wfp_food_prices_*.csv"))},
    "LBN": "wfp-vam/wfpvam_foodprices_LBN_2016-2021.csv",
}


class StaticFiles:
    """A loopback static-file host with ETag / Last-Modified and 304 answers."""

    def __init__(self, root: Path, latency: float) -> None:
        self.root = root
        self.latency = latency
        self.requests = 0
        self.not_modified = 0
        self._lock = threading.Lock()
        self._stamp = formatdate(time.time() - 86400, usegmt=True)
        self._etags: dict[str, str] = {}
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host.serve(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def etag(self, relative: str) -> str:
        if relative not in self._etags:
            digest = hashlib.sha1((self.root / relative).read_bytes()).hexdigest()
            self._etags[relative] = f'"{digest}"'
        return self._etags[relative]

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.requests += 1
        if self.latency:
            time.sleep(self.latency)
        relative = handler.path.lstrip("/").split("?", 1)[0]
        path = (self.root / relative).resolve()
        if self.root.resolve() not in path.parents or not path.is_file():
            handler.send_response(404)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        etag = self.etag(relative)
        if handler.headers.get("If-None-Match") == etag:
            with self._lock:
                self.not_modified += 1
            handler.send_response(304)
            handler.send_header("ETag", etag)
            handler.end_headers()
            return
        body = path.read_bytes()
        handler.send_response(200)
        handler.send_header("Content-Type", "text/csv")
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("ETag", etag)
        handler.send_header("Last-Modified", self._stamp)
        handler.end_headers()
        handler.wfile.write(body)

    def __enter__(self) -> StaticFiles:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def bench_settings(base_url: str, countries: list[str]) -> Settings:
    """The default config with only the wfp source enabled, pointed at the loopback host."""
    settings = load_config(ROOT / "config.toml")
    wfp = WfpSource(base_url=base_url, countries=countries,
                    resources={iso: FILES[iso] for iso in countries},
                    timeout_seconds=60, max_retries=1, min_interval_seconds=0)
    sources = settings.sources.model_copy(update={"wfp": wfp})
    return settings.model_copy(update={"sources": sources})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.0,
                        help="seconds added to every request (default 0)")
    args = parser.parse_args(argv)
    countries = sorted(FILES)
    sizes = sorted({n for n in (1, 2, 4, 8, len(countries)) if n <= len(countries)})
    print(f"{'files':>5} {'run':>9} {'requests':>8} {'per file':>8} {'304s':>5} "
          f"{'status':>12} {'rows new':>8} {'seconds':>7}")
    worst_full = worst_unchanged = 0.0
    with StaticFiles(DATA, args.latency) as host:
        for size in sizes:
            chosen = countries[:size]
            settings = bench_settings(host.url, chosen)
            with tempfile.TemporaryDirectory() as folder:
                engine = store.make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
                store.init_schema(engine)
                for run in ("full", "unchanged"):
                    before, before_304 = host.requests, host.not_modified
                    started = time.perf_counter()
                    report = refresh_sources(engine, settings, sources=["wfp"])[0]
                    seconds = time.perf_counter() - started
                    made = host.requests - before
                    answered_304 = host.not_modified - before_304
                    per_file = made / size
                    if run == "full":
                        worst_full = max(worst_full, per_file)
                    else:
                        worst_unchanged = max(worst_unchanged, per_file)
                        if answered_304 != size:
                            print(f"  unchanged run: only {answered_304} of {size} answered 304")
                    print(f"{size:>5} {run:>9} {made:>8} {per_file:>8.2f} {answered_304:>5} "
                          f"{report.status:>12} {report.rows_new:>8} {seconds:>7.2f}")
                    if report.status == "error":
                        print(f"  error: {report.error}")
                engine.dispose()
    verdict = "OK" if worst_full <= 1.0 and worst_unchanged <= 1.0 else "OVER TARGET"
    print(f"worst requests per file: full {worst_full:.2f}, unchanged {worst_unchanged:.2f} "
          f"(target <= 1 each, unchanged all 304): {verdict}")
    return 0 if verdict == "OK" else 1


if __name__ == "__main__":
    raise SystemExit(main())
