"""Benchmark: the dashboard in a real headless Chromium on the bundled snapshot (issue 13 §2).

Measures, against a server started as `flashpoint dashboard` starts it (`streamlit run` through
`dashboard.warmup`, production flags) on a loopback port, the four targets:

* **first load**: the first overview load after a server restart (a new server process, a fresh
  browser context; script finished, no skeletons, every chart drawn), median over N restarts;
* **warm overview**: a fresh browser context loading the overview from a server that has served
  it before, median of N;
* **country switch**: the sidebar picker from one country to another until the new overview is
  drawn, median of N (after one warm-up visit of each country);
* **server RSS** after visiting every page once (the streamlit process's VmRSS), median over the
  N restarts;

for the app as shipped and for the baseline with every cache disabled (FLASHPOINT_DISABLE_CACHE=1),
each printed beside the figure measured before the precompute (`BEFORE`).

`--scale 10` builds a synthetic store that replicates every scored country under new codes
(10x the bundled observations), measures first load and RSS of the shipped app on the 1x and the
10x store (the same launcher for both: the launcher registers the synthetic codes as countries
before the app starts) and prints the growth factors (target <= 1.5x).

Figures before precompute, 2026-12-03 (this bench run on the code of the commit before the
precompute, same snapshot store, on a 2-core machine shared with 7 other helpers; load average
5-21 during the runs, so every figure is inflated and noisy — compare runs side by side only):

* first load after a restart, median of 5: 14.6 s (run 1: 14.6, 22.7, 42.2, 12.9, 13.3) and
  46.2 s (run 2, under heavier load: 19.0, 25.9, 46.2, 66.3, 54.5);
* server RSS after every page, median of 5: 497 MB (run 1) and 507 MB (run 2);
* warm overview, median of 5: 9.6 s (11.4, 9.6, 7.8, 11.9, 7.1; load average ~15);
* country switch, median of 5: 2.8 s (3.5, 2.7, 2.8, 3.2, 2.1);
* no-cache baseline: not measured — its first restart (first load, then every page, each run
  re-reading and re-scoring the whole store) had not finished after 13 minutes.

Issue 13's first-load work, 2026-12-03 (`--runs 3 --skip-baseline` on the same snapshot store,
same shared 2-core machine, load average 2-8 and moving; the code before it measured the same
way; medians, then the runs):

* first load after a restart: after 8.70 s (7.73, 9.13, 8.70) and 5.81 s (6.62, 5.81, 4.98);
  before 11.83 s (8.86, 11.83, 12.96) and 6.04 s (6.04, 6.00, 7.75);
* warm overview: after 3.88 s and 3.59 s; before 3.98 s (run 2 did not reach it, see below);
* country switch: after 0.78 s and 0.80 s; before 1.21 s;
* server RSS after every page: after 326 MB and 317 MB; before 406 MB and 395 MB.

The load moved more between runs than the code moved the browser figures. Before and after
alternated on one store (3 pairs, load ~7.7): first load 7.11 s before, 6.72 s after; the first
script run alone (AppTest, no browser, 3 pairs): 7.25-8.48 s before, 4.35-5.10 s after; a rerun
0.35-0.89 s before, 0.08-0.12 s after; the first switch to a country not yet opened 2.0-3.8 s
before, 0.46-1.10 s after. The warm phase sometimes times out on a switch (the heading of the new
country never shows within 240 s), before and after alike: a flake of the picker, not a figure
(found since: the click on an option of the virtualised list could land while its rows
re-rendered; `switch_country` now types the name first).

Where the first load still goes (one run with little load, seconds after `goto`): about 1.2 s for
the browser to load Streamlit's page, 2.5 s until the heading (the first script run: mostly the
first imports of pandas, SQLAlchemy, pydantic and plotly in the server), 1.6 s more until the
script finishes, then the charts. A fresh browser context pays about 1 s of page load and 1 s of
chart bundle on every warm visit too: the warm target needs work in the browser, not the server.

Issue 13 §2 follow-up, 2026-12-04 (`--runs 5 --skip-baseline`, one store; the machine shared,
load average 0.4-2.4 for "before" and 3.4-5 for the first "after"):

* before (commit be7fe1b): first load 3.24 s (3.71, 4.19, 3.08, 2.99, 3.24); warm overview
  1.99 s (1.80, 1.97, 2.11, 1.99, 2.05); switch 0.49 s; RSS 316 MB;
* after (the plotly.js preload, the import warm-up): first load 3.03 s (3.27, 3.03, 3.32, 2.46,
  2.95); warm overview 2.42 s (2.42, 2.69, 2.59, 2.07, 2.01); switch 0.48 s; RSS 322 MB; server
  start until healthy 2.12 s;
* after, again at load 1.7-2.5 (comparable with "before"): first load 2.12 s (2.17, 2.11, 2.15,
  2.12, 2.10); warm overview 1.83 s (1.83, 1.73, 1.88, 1.81, 1.83); switch 0.52 s (0.57, 0.49,
  0.52, 0.56, 0.49; the picker now filled before the click); RSS 319 MB; server start 1.39 s.

Side by side instead (be7fe1b's tree and bf43225's alternating, same store, same browser, 3
restarts each, load 5-6): first load 4.60 s -> 3.24 s (x0.71; the server's CPU during it
1.92 s -> 0.93 s); server start until healthy 0.65 s -> 2.91 s (the imports moved there); warm
overview 2.61 s -> 2.60 s; switch 0.81 s -> 0.81 s; RSS 318 -> 322 MB. A fresh context's warm
overview is the browser's work (a CPU profile: ~0.45 s in plotly.js, ~0.75 s in Streamlit's own
frontend, ~0.5 s parsing and layout), not the server's (0.14 s script run).

Run: `.venv/bin/python bench/bench_dashboard.py [--runs 5] [--store PATH] [--skip-baseline]
[--scale 10]`.
Needs Debian's Chromium at /usr/bin/chromium. Not a test: it prints numbers, asserts nothing.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "dashboard" / "app.py"
CONFIG = REPO / "config.toml"
CHROMIUM = os.environ.get("FLASHPOINT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMEOUT_MS = 240_000
VIEWPORT = {"width": 1440, "height": 1000}
# The switch alternates between these (label in the picker, heading on the overview).
SWITCH_TO = (("Nigeria (NGA)", "Nigeria"), ("Kazakhstan (KAZ)", "Kazakhstan"))
# Every page in the navigation: (link text, URL path fragment, heading shown when drawn).
PAGES = (
    ("Country detail", "country", "Kazakhstan"),
    ("Compare", "compare", "Compare countries"),
    ("Replay", "replay", "Replay"),
    ("Alerts", "alerts", "Alerts"),
    ("Data health", "health", "Data health"),
    ("Methodology", "methodology", "Methodology"),
    ("Validation", "validation", "Validation"),
    ("Overview", "", "Kazakhstan"),
)
ALL_CHARTS_DRAWN = """() => {
  const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"], .flashpoint-chart')];
  return charts.length > 0 && charts.every((chart) => chart.querySelector('.main-svg'));
}"""
NO_SKELETONS = "() => document.querySelectorAll('[data-testid=\"stSkeleton\"]').length === 0"
TARGETS = {"first_load": 3.0, "warm_overview": 1.5, "switch": 0.5, "rss_mb": 400.0}
# Measured by this bench on the code before the precompute (see the module docstring).
# (Run 2 of the first load and RSS: measured under the load the "after" runs also saw.)
BEFORE: dict[str, dict[str, float | None]] = {
    "shipped": {"first_load": 46.2, "warm_overview": 9.6, "switch": 2.8, "rss_mb": 507.0},
    "no cache": {"first_load": None, "warm_overview": None, "switch": None, "rss_mb": None},
}

# The scale mode's launcher: registers the synthetic country codes (a CSV beside the store)
# before the app imports its country table, then runs the real entry file unchanged.
SCALE_LAUNCHER = """
import os, runpy
from pathlib import Path
import indicators.countries as countries
countries._ISO3_FILE = Path(os.environ["FLASHPOINT_BENCH_ISO3"])
runpy.run_path({app!r}, run_name="__main__")
"""


@dataclass(frozen=True)
class Result:
    """Timings (seconds) and RSS (MB) of one configuration."""

    label: str
    first_load: list[float]
    rss_mb: list[float]
    warm_overview: list[float]
    switch: list[float]
    # From starting the server process until it answers its health check (no target; the
    # import warm-up moved work here, so it is printed beside the first load).
    startup: list[float] = field(default_factory=list)


def build_store(directory: Path) -> Path:
    """A SQLite store with the bundled snapshot (loaded as `flashpoint load-snapshot` does)."""
    from flashpoint import snapshot, store

    path = directory / "flashpoint.db"
    engine = store.open_for_writing(f"sqlite:///{path}")
    snapshot.ensure_snapshot_loaded(engine)
    precompute_store(engine)
    engine.dispose()
    return path


def precompute_store(engine: object, history_days: int | None = None) -> None:
    """What `flashpoint load-snapshot` stores after loading: the scored panel and history."""
    from flashpoint.config import load_config
    from flashpoint.precompute import HISTORY_WINDOW_DAYS, precompute

    report = precompute(
        engine,  # type: ignore[arg-type]
        load_config(CONFIG),
        history_days=HISTORY_WINDOW_DAYS if history_days is None else history_days,
        progress=lambda line: print(f"  {line}", flush=True),
    )
    print(f"  {report.in_words()}")


def _synthetic_codes(taken: set[str]) -> itertools.islice[str]:
    letters = string.ascii_uppercase
    codes = ("".join(triple) for triple in itertools.product(letters, repeat=3))
    return itertools.islice((code for code in codes if code not in taken), None)


def build_scaled_store(source: Path, directory: Path, factor: int) -> tuple[Path, Path]:
    """A copy of `source` with every real country replicated `factor - 1` times under new codes
    (every observation copied), and the ISO3 table extended with those codes.

    Returns:
        (the store, the extended ISO3 CSV).
    """
    import csv

    import sqlalchemy as sa

    from flashpoint import store
    from indicators import countries as country_table
    from indicators.observations import WORLD

    names = country_table.iso3_countries()
    path = directory / f"flashpoint-x{factor}.db"
    shutil.copyfile(source, path)
    engine = store.make_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        stored = [
            str(code)
            for (code,) in connection.execute(sa.text("SELECT DISTINCT country FROM observations"))
        ]
    present = [code for code in stored if code in names and code != WORLD]
    # New codes are neither known countries nor anything already stored (e.g. WB aggregates).
    fresh = _synthetic_codes({*names, *stored})
    mapping = [(code, next(fresh), copy) for copy in range(1, factor) for code in present]
    columns = [column.name for column in store.observations.columns if column.name not in ("id",)]
    listed = ", ".join(columns)
    chosen = ", ".join(":new AS country" if name == "country" else name for name in columns)
    with engine.begin() as connection:
        for original, new, _ in mapping:
            connection.execute(
                sa.text(
                    f"INSERT INTO observations ({listed}) SELECT {chosen} FROM observations "
                    "WHERE country = :old"
                ),
                {"new": new, "old": original},
            )
    iso3 = directory / f"iso3-x{factor}.csv"
    with iso3.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["iso3", "name"])
        rows = dict(names)
        rows.update({new: f"{names[old]} copy {copy}" for old, new, copy in mapping})
        writer.writerows(sorted(rows.items()))
    # The precompute scores every country the (extended) table knows, as the server will.
    original = country_table._ISO3_FILE
    country_table._ISO3_FILE = iso3
    country_table.iso3_countries.cache_clear()  # the table is read once per process
    try:
        precompute_store(engine, history_days=0)
    finally:
        country_table._ISO3_FILE = original
        country_table.iso3_countries.cache_clear()
        engine.dispose()
    return path, iso3


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def server_command(app: Path, port: int) -> list[str]:
    """The server's command line: the one `flashpoint dashboard` runs (production flags, the
    imports warmed up at start), on a loopback port."""
    from flashpoint.commands.dashboard import streamlit_command

    return streamlit_command(app, port=port, address="127.0.0.1")


def start_server(
    store_path: Path,
    log: Path,
    *,
    disable_cache: bool,
    app: Path = APP,
    extra_env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    environment = {
        **os.environ,
        "FLASHPOINT_DATABASE_URL": f"sqlite:///{store_path}",
        "FLASHPOINT_CONFIG": str(CONFIG),
        **(extra_env or {}),
    }
    environment.pop("FLASHPOINT_DISABLE_CACHE", None)
    if disable_cache:
        environment["FLASHPOINT_DISABLE_CACHE"] = "1"
    command = server_command(app, port)
    with log.open("wb") as handle:
        process = subprocess.Popen(
            command, env=environment, stdout=handle, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return process, url
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)  # the server has not bound its port yet
    process.kill()
    raise RuntimeError(f"streamlit did not start; see {log}")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)


def rss_mb(pid: int) -> float:
    """Resident set size of a process, in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def wait_rendered(page: Page, *, charts: bool = True) -> None:
    """Script finished, no skeletons (and, on the overview, every chart drawn)."""
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(
        state="attached", timeout=TIMEOUT_MS
    )
    if charts:
        page.wait_for_function(ALL_CHARTS_DRAWN, timeout=TIMEOUT_MS)
    page.wait_for_function(NO_SKELETONS, timeout=TIMEOUT_MS)


def timed(action: Callable[[], None]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def load_overview(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_role("heading", name="Kazakhstan", exact=True).wait_for(timeout=TIMEOUT_MS)
    wait_rendered(page)


def switch_country(page: Page, option: str, heading: str) -> None:
    """Choose `option` in the sidebar picker as a reader does: open it, type the name, click it.

    Typing first matters: the picker's list of about 210 countries is virtualised, and a click on
    an option scrolled into view could land while the list re-rendered its rows (no option under
    the pointer: nothing chosen, the list left open, and the wait for the heading timed out).
    The typed name leaves a short list that needs no scrolling.
    """
    picker = page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox")
    picker.click()
    picker.get_by_role("combobox").fill(heading)  # one input event: the list filters once
    page.get_by_role("option", name=option).click()
    page.get_by_role("heading", name=heading, exact=True).wait_for(timeout=TIMEOUT_MS)
    wait_rendered(page)


def visit_every_page(page: Page, url: str) -> None:
    for link, path, heading in PAGES:
        page.get_by_role("link", name=link, exact=True).first.click()
        page.wait_for_url(f"{url}/{path}*", timeout=TIMEOUT_MS)
        page.get_by_role("heading", name=heading, exact=True).first.wait_for(timeout=TIMEOUT_MS)
        wait_rendered(page, charts=False)


def fresh_page(browser: Browser) -> Page:
    page = browser.new_context(viewport=VIEWPORT).new_page()  # type: ignore[arg-type]
    page.set_default_timeout(TIMEOUT_MS)
    return page


def measure_restarts(
    browser: Browser,
    store_path: Path,
    directory: Path,
    *,
    disable_cache: bool,
    runs: int,
    app: Path = APP,
    extra_env: dict[str, str] | None = None,
) -> tuple[list[float], list[float], list[float]]:
    """First loads after a restart, RSS after every page and server start-up times, one per
    restart."""
    first: list[float] = []
    memory: list[float] = []
    startup: list[float] = []
    for run in range(runs):
        log = directory / f"streamlit-restart-{disable_cache}-{run}.log"
        started = time.perf_counter()
        process, url = start_server(
            store_path, log, disable_cache=disable_cache, app=app, extra_env=extra_env
        )
        startup.append(time.perf_counter() - started)
        try:
            page = fresh_page(browser)
            first.append(timed(lambda page=page, url=url: load_overview(page, url)))  # type: ignore[misc]
            visit_every_page(page, url)
            memory.append(rss_mb(process.pid))
            page.context.close()
        finally:
            stop_server(process)
        print(
            f"  restart {run + 1}/{runs}: server start {startup[-1]:.2f} s, "
            f"first load {first[-1]:.2f} s, RSS {memory[-1]:.0f} MB"
        )
    return first, memory, startup


def measure_warm(
    browser: Browser, store_path: Path, directory: Path, *, disable_cache: bool, runs: int
) -> tuple[list[float], list[float]]:
    """Warm overview loads (fresh contexts) and country switches on one warmed server."""
    log = directory / f"streamlit-warm-{disable_cache}.log"
    process, url = start_server(store_path, log, disable_cache=disable_cache)
    try:
        page = fresh_page(browser)
        load_overview(page, url)
        for option, heading in SWITCH_TO:  # warm-up: both countries once
            switch_country(page, option, heading)
        overview: list[float] = []
        for _ in range(runs):
            other = fresh_page(browser)
            overview.append(timed(lambda other=other: load_overview(other, url)))  # type: ignore[misc]
            other.context.close()
        switch: list[float] = []
        for index in range(runs):
            option, heading = SWITCH_TO[index % len(SWITCH_TO)]
            switch.append(timed(lambda o=option, h=heading: switch_country(page, o, h)))  # type: ignore[misc]
        page.context.close()
    finally:
        stop_server(process)
    return overview, switch


def measure(
    label: str, store_path: Path, directory: Path, *, disable_cache: bool, runs: int
) -> Result:
    print(f"{label}:")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            first, memory, startup = measure_restarts(
                browser, store_path, directory, disable_cache=disable_cache, runs=runs
            )
            # Printed as soon as measured: a later failure must not lose them.
            print(f"  first loads {first}; RSS MB {memory}", flush=True)
            overview, switch = measure_warm(
                browser, store_path, directory, disable_cache=disable_cache, runs=runs
            )
            print(f"  warm overviews {overview}; switches {switch}", flush=True)
        finally:
            browser.close()
    return Result(label, first, memory, overview, switch, startup)


def _cell(value: float | None, unit: str) -> str:
    return (
        "n/a" if value is None else f"{value:.2f} {unit}" if unit == "s" else f"{value:.0f} {unit}"
    )


def report(shipped: Result, baseline: Result, runs: int, baseline_runs: int) -> None:
    median = statistics.median
    print(
        f"\nDashboard in headless Chromium, bundled snapshot, median of {runs}"
        f" (no-cache baseline: median of {baseline_runs})"
    )
    print(
        f"{'what':34} {'target':>9} {'now':>10} {'before':>10} {'no cache':>10} "
        f"{'no cache before':>16}  verdict"
    )
    rows = (
        ("first load after a restart", "first_load", "s", shipped.first_load, baseline.first_load),
        ("warm overview", "warm_overview", "s", shipped.warm_overview, baseline.warm_overview),
        ("country switch", "switch", "s", shipped.switch, baseline.switch),
        ("server RSS after every page", "rss_mb", "MB", shipped.rss_mb, baseline.rss_mb),
    )
    for title, key, unit, now, cacheless in rows:
        value = median(now)
        target = TARGETS[key]
        print(
            f"{title:34} {'< ' + _cell(target, unit):>9} {_cell(value, unit):>10}"
            f" {_cell(BEFORE['shipped'][key], unit):>10}"
            f" {_cell(median(cacheless) if cacheless else None, unit):>10}"
            f" {_cell(BEFORE['no cache'][key], unit):>16}  {'met' if value < target else 'MISSED'}"
        )
    if shipped.startup:
        print(
            f"{'server start until healthy':34} {'(none)':>9}"
            f" {_cell(median(shipped.startup), 's'):>10}  (before the first load's clock starts)"
        )
    for result in (shipped, baseline):
        print(
            f"  {result.label}: "
            + "; ".join(
                f"{name} " + ", ".join(f"{value:.2f}" for value in values)
                for name, values in (
                    ("first load", result.first_load),
                    ("RSS MB", result.rss_mb),
                    ("warm overview", result.warm_overview),
                    ("switch", result.switch),
                )
            )
        )


def run_scale(store_path: Path, directory: Path, factor: int, runs: int) -> None:
    """First load and RSS of the shipped app at 1x and `factor`x data; prints growth factors."""
    import csv

    from indicators import countries as country_table

    print(f"building the {factor}x synthetic store ...")
    scaled, iso3_scaled = build_scaled_store(store_path, directory, factor)
    iso3_plain = directory / "iso3-x1.csv"
    with iso3_plain.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["iso3", "name"])
        writer.writerows(sorted(country_table.iso3_countries().items()))
    launcher = directory / "scale_launcher.py"
    launcher.write_text(SCALE_LAUNCHER.format(app=str(APP)), encoding="utf-8")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                figures = {}
                for label, path, iso3 in (
                    ("1x", store_path, iso3_plain),
                    (f"{factor}x", scaled, iso3_scaled),
                ):
                    print(f"scale {label}:")
                    figures[label] = measure_restarts(
                        browser,
                        path,
                        directory,
                        disable_cache=False,
                        runs=runs,
                        app=launcher,
                        extra_env={"FLASHPOINT_BENCH_ISO3": str(iso3)},
                    )
            finally:
                browser.close()
    finally:
        launcher.unlink(missing_ok=True)
    median = statistics.median
    small, large = figures["1x"], figures[f"{factor}x"]
    print(
        f"\nScale mode: {factor}x observations (countries replicated under new codes),"
        f" median of {runs}"
    )
    for title, index, unit in (
        ("first load after a restart", 0, "s"),
        ("server RSS after every page", 1, "MB"),
    ):
        before, after = median(small[index]), median(large[index])
        growth = after / before
        print(
            f"{title:34} 1x {_cell(before, unit):>10}  {factor}x {_cell(after, unit):>10}"
            f"  growth {growth:.2f}x (target <= 1.5x: {'met' if growth <= 1.5 else 'MISSED'})"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per measure (median)")
    parser.add_argument(
        "--store", type=Path, default=None, help="an existing snapshot store (copied, precomputed)"
    )
    parser.add_argument(
        "--baseline-runs",
        type=int,
        default=None,
        help="runs of the no-cache baseline (default --runs)",
    )
    parser.add_argument(
        "--skip-baseline",
        action="store_true",
        help="measure the shipped app only (the no-cache baseline re-scores on every run: slow)",
    )
    parser.add_argument("--scale", type=int, default=None, help="scale mode: N x observations")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).is_file():
        print(f"bench_dashboard: needs Chromium at {CHROMIUM}", file=sys.stderr)
        return 2
    directory = Path(tempfile.mkdtemp(prefix="flashpoint-bench-"))
    try:
        if args.store:
            store_path = directory / "flashpoint.db"
            shutil.copyfile(args.store, store_path)
            from flashpoint import store

            engine = store.open_for_writing(f"sqlite:///{store_path}")
            # The scale mode compares panels only (no page reads the history yet): no history,
            # the same for the 1x and the Nx store.
            precompute_store(engine, history_days=0 if args.scale else None)
            engine.dispose()
        else:
            store_path = build_store(directory)
        if args.scale:
            run_scale(store_path, directory, args.scale, args.runs)
            return 0
        shipped = measure("shipped", store_path, directory, disable_cache=False, runs=args.runs)
        baseline_runs = 0 if args.skip_baseline else args.baseline_runs or args.runs
        baseline = (
            Result("caching disabled (baseline): not measured", [], [], [], [])
            if args.skip_baseline
            else measure(
                "caching disabled (baseline)",
                store_path,
                directory,
                disable_cache=True,
                runs=baseline_runs,
            )
        )
        report(shipped, baseline, args.runs, baseline_runs)
    finally:
        if args.keep:
            print(f"kept {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
