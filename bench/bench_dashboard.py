"""Benchmark: the dashboard in a real headless Chromium on the bundled snapshot.

Measures, against a `streamlit run` subprocess on a loopback port:

* time to a fully rendered overview (a fresh page load: script finished, no skeletons, every
  plotly chart drawn), and
* time to switch country with the sidebar picker (until the new country's overview is fully
  drawn),

each the median of N runs after one warm-up, for three configurations side by side:

* the app as shipped (data caches keyed on the store's data version; line and bar charts drawn
  by plotly.js's basic bundle, `[dashboard] chart_renderer = "basic"`);
* the same with every chart drawn by Streamlit's own plotly element
  (`chart_renderer = "streamlit"`, the full 4.7 MB plotly bundle), and
* the baseline the issue names: the shipped app with every cache disabled
  (FLASHPOINT_DISABLE_CACHE=1),

and prints the ratios. "overview" is a first visit: a new browser context (empty HTTP cache,
nothing compiled) and a new Streamlit session, the worst case and the one the < 2 s target is
judged on. "returning" is a new tab in a browser that has opened the dashboard before (the
analyst's morning look). "first (cold)" is the very first load after the server started (data
caches empty).

Run: `.venv/bin/python bench/bench_dashboard.py [--runs 5] [--store PATH]`.
Needs Debian's Chromium at /usr/bin/chromium. Not a test: it prints numbers, asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

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
TIMEOUT_MS = 300_000
# The switch alternates between these (label in the picker, heading on the overview).
SWITCH_TO = (("Nigeria (NGA)", "Nigeria"), ("Kazakhstan (KAZ)", "Kazakhstan"))
# Charts are drawn by Streamlit's plotly element or by the app's basic-bundle component.
ALL_CHARTS_DRAWN = """() => {
  const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"], .flashpoint-chart')];
  return charts.length > 0 && charts.every((chart) => chart.querySelector('.main-svg'));
}"""


# The floor: the same fresh page load of a trivial Streamlit app (a title and one plotly chart)
# on this machine, to show how much of the overview's time is Streamlit's own start-up.
TRIVIAL_APP = """
import plotly.graph_objects as go
import streamlit as st

st.title("Kazakhstan")
st.plotly_chart(go.Figure(go.Bar(x=[1, 2], y=[3, 4])))
"""


@dataclass(frozen=True)
class Result:
    """Timings of one configuration, in seconds."""

    label: str
    cold_overview: float
    overview: list[float]
    returning: list[float]
    switch: list[float]
    navigate: list[float]


def build_store(directory: Path) -> Path:
    """A SQLite store with the bundled snapshot."""
    from flashpoint import snapshot, store

    path = directory / "flashpoint.db"
    engine = store.make_engine(f"sqlite:///{path}")
    store.init_schema(engine)
    snapshot.ensure_snapshot_loaded(engine)
    engine.dispose()
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(
    store_path: Path,
    log: Path,
    *,
    disable_cache: bool,
    app: Path = APP,
    config: Path = CONFIG,
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    environment = {
        **os.environ,
        "FLASHPOINT_DATABASE_URL": f"sqlite:///{store_path}",
        "FLASHPOINT_CONFIG": str(config),
    }
    environment.pop("FLASHPOINT_DISABLE_CACHE", None)
    if disable_cache:
        environment["FLASHPOINT_DISABLE_CACHE"] = "1"
    command = [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.headless", "true", "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false", "--global.developmentMode", "false",
    ]  # fmt: skip
    with log.open("wb") as handle:
        process = subprocess.Popen(
            command, env=environment, stdout=handle, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return process, url
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)  # the server has not bound its port yet
    process.kill()
    raise RuntimeError(f"streamlit did not start; see {log}")


def wait_rendered(page: Page) -> None:
    """Script finished, no skeletons, every plotly chart drawn."""
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(
        state="attached", timeout=TIMEOUT_MS
    )
    page.wait_for_function(ALL_CHARTS_DRAWN, timeout=TIMEOUT_MS)
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=\"stSkeleton\"]').length === 0",
        timeout=TIMEOUT_MS,
    )


def timed(action: Callable[[], None]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def load_overview(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_role("heading", name="Kazakhstan", exact=True).wait_for(timeout=TIMEOUT_MS)
    wait_rendered(page)


def switch_country(page: Page, option: str, heading: str) -> None:
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").click()
    page.get_by_role("option", name=option).click()
    page.get_by_role("heading", name=heading, exact=True).wait_for(timeout=TIMEOUT_MS)
    wait_rendered(page)


def navigate_to_overview(page: Page) -> None:
    page.get_by_role("link", name="Overview").click()
    page.get_by_role("heading", name="Kazakhstan", exact=True).wait_for(timeout=TIMEOUT_MS)
    wait_rendered(page)


def open_methodology(page: Page) -> None:
    page.get_by_role("link", name="Methodology").click()
    page.get_by_role("heading", name="Methodology", exact=True).wait_for(timeout=TIMEOUT_MS)
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(
        state="attached", timeout=TIMEOUT_MS
    )


def measure_floor(directory: Path, runs: int) -> list[float]:
    """Fresh page loads of a trivial Streamlit app (title + one plotly chart)."""
    app = directory / "trivial_app.py"
    app.write_text(TRIVIAL_APP, encoding="utf-8")
    process, url = start_server(app, directory / "trivial.log", disable_cache=False, app=app)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                times = []
                for _ in range(runs + 1):
                    page = browser.new_page(viewport={"width": 1440, "height": 1000})
                    page.set_default_timeout(TIMEOUT_MS)
                    times.append(timed(lambda page=page: load_overview(page, url)))  # type: ignore[misc]
                    page.close()
            finally:
                browser.close()
    finally:
        process.terminate()
        process.wait(timeout=15)
    return times[1:]  # the first load warms the server


def measure(label: str, url: str, runs: int) -> Result:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 1000})
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            cold = timed(lambda: load_overview(page, url))
            # Warm-up: both countries once (per-country caches), then measure.
            for option, heading in SWITCH_TO:
                switch_country(page, option, heading)
            overview: list[float] = []
            for _ in range(runs):
                fresh = browser.new_page(viewport={"width": 1440, "height": 1000})
                fresh.set_default_timeout(TIMEOUT_MS)
                overview.append(timed(lambda fresh=fresh: load_overview(fresh, url)))  # type: ignore[misc]
                fresh.close()
            # A returning visitor: a new tab in the browser that already opened the dashboard
            # (Streamlit's hashed bundles and the chart bundle come from its HTTP cache).
            returning: list[float] = []
            for _ in range(runs):
                tab = context.new_page()
                tab.set_default_timeout(TIMEOUT_MS)
                returning.append(timed(lambda tab=tab: load_overview(tab, url)))  # type: ignore[misc]
                tab.close()
            switch: list[float] = []
            for index in range(runs):
                option, heading = SWITCH_TO[index % len(SWITCH_TO)]
                switch.append(
                    timed(lambda o=option, h=heading: switch_country(page, o, h))  # type: ignore[misc]
                )
            if SWITCH_TO[(runs - 1) % len(SWITCH_TO)][1] != "Kazakhstan":
                switch_country(page, *SWITCH_TO[-1])
            navigate: list[float] = []
            for _ in range(runs):
                open_methodology(page)
                navigate.append(timed(lambda: navigate_to_overview(page)))
        finally:
            browser.close()
    return Result(
        label=label,
        cold_overview=cold,
        overview=overview,
        returning=returning,
        switch=switch,
        navigate=navigate,
    )


def streamlit_renderer_config(directory: Path) -> Path:
    """The repository's config with every chart sent to st.plotly_chart."""
    text = CONFIG.read_text(encoding="utf-8")
    if 'chart_renderer = "basic"' not in text:
        raise RuntimeError(f'{CONFIG} no longer sets chart_renderer = "basic"')
    path = directory / "config-streamlit-charts.toml"
    path.write_text(
        text.replace('chart_renderer = "basic"', 'chart_renderer = "streamlit"'), encoding="utf-8"
    )
    return path


def run_configuration(
    label: str, store_path: Path, directory: Path, *, disable_cache: bool, config: Path, runs: int
) -> Result:
    log = directory / f"streamlit-{len(list(directory.glob('streamlit-*.log')))}.log"
    process, url = start_server(store_path, log, disable_cache=disable_cache, config=config)
    try:
        return measure(label, url, runs)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per measure (median)")
    parser.add_argument("--store", type=Path, default=None, help="an existing snapshot store")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).is_file():
        print(f"bench_dashboard: needs Chromium at {CHROMIUM}", file=sys.stderr)
        return 2
    directory = Path(tempfile.mkdtemp(prefix="flashpoint-bench-"))
    try:
        store_path = args.store or build_store(directory)
        floor = measure_floor(directory, args.runs)
        shipped = run_configuration(
            "shipped (cached, basic charts)",
            store_path,
            directory,
            disable_cache=False,
            config=CONFIG,
            runs=args.runs,
        )
        streamlit_charts = run_configuration(
            "cached, st.plotly_chart charts",
            store_path,
            directory,
            disable_cache=False,
            config=streamlit_renderer_config(directory),
            runs=args.runs,
        )
        baseline = run_configuration(
            "caching disabled (baseline)",
            store_path,
            directory,
            disable_cache=True,
            config=CONFIG,
            runs=args.runs,
        )
    finally:
        shutil.rmtree(directory, ignore_errors=True)

    def median(values: list[float]) -> float:
        return statistics.median(values)

    def ratio_row(label: str, slow: Result, fast: Result) -> str:
        return (
            f"{label:34} "
            f"{median(slow.overview) / median(fast.overview):8.1f}x "
            f"{median(slow.returning) / median(fast.returning):9.1f}x "
            f"{median(slow.switch) / median(fast.switch):7.1f}x "
            f"{median(slow.navigate) / median(fast.navigate):15.1f}x"
        )

    print(f"\nDashboard in headless Chromium, bundled snapshot, median of {args.runs} (seconds)")
    print(
        f"{'':34} {'overview':>9} {'returning':>10} {'switch':>8} {'nav to overview':>16}"
        f" {'first (cold)':>13}"
    )
    results = (shipped, streamlit_charts, baseline)
    for result in results:
        print(
            f"{result.label:34} {median(result.overview):9.2f} {median(result.returning):10.2f}"
            f" {median(result.switch):8.2f}"
            f" {median(result.navigate):16.2f} {result.cold_overview:13.2f}"
        )
    print(ratio_row("ratio baseline / shipped", baseline, shipped))
    print(ratio_row("ratio st.plotly_chart / shipped", streamlit_charts, shipped))
    print(
        f"{'floor: trivial Streamlit page':34} {median(floor):9.2f}"
        "   (fresh load of a title + one st.plotly_chart on this machine)"
    )
    print(
        f"targets (shipped): overview < 2 s -> "
        f"{'met' if median(shipped.overview) < 2 else 'missed'}"
        f" (in-app navigation {median(shipped.navigate):.2f} s); "
        f"switch < 0.5 s -> {'met' if median(shipped.switch) < 0.5 else 'missed'}"
    )
    for result in results:
        print(
            f"  {result.label}: overview "
            + ", ".join(f"{value:.2f}" for value in result.overview)
            + "; returning "
            + ", ".join(f"{value:.2f}" for value in result.returning)
            + "; switch "
            + ", ".join(f"{value:.2f}" for value in result.switch)
            + "; navigate "
            + ", ".join(f"{value:.2f}" for value in result.navigate)
        )
    print("  floor: " + ", ".join(f"{value:.2f}" for value in floor))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
