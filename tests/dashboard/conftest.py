"""Dashboard fixtures: a store holding the bundled snapshot, Streamlit cache hygiene, and a real
`streamlit run` server with Debian's Chromium for the browser tests.

The snapshot is loaded once per session into a temporary SQLite file; tests that write to a store
get their own copy. Browser tests need `/usr/bin/chromium` (CI installs it): without it they fail
with a clear message, unless FLASHPOINT_SKIP_BROWSER=1 asks to skip them.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from playwright.sync_api import Page, expect

from flashpoint import store
from flashpoint.commands.dashboard import streamlit_command
from flashpoint.config import load_config
from tests.support.snapshot_template import copy_of_template

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "dashboard" / "app.py"
CONFIG = REPO / "config.toml"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("FLASHPOINT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    # No calls home on a closed network: the tests assert that no request leaves loopback.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SERVER_START_SECONDS = 120.0
# Every browser wait is on a condition, with a deadline generous enough for a loaded 2-core machine
# (Playwright's own defaults, 5 s for `expect` and 30 s for actions, failed there).
EXPECT_TIMEOUT_MS = 60_000
ACTION_TIMEOUT_MS = 180_000
expect.set_options(timeout=EXPECT_TIMEOUT_MS)
# The Kazakhstan event whose escaping the browser test checks (title is hostile on purpose:
# synthetic, not a real recorded event).
HOSTILE_TITLE = '<img src=x onerror="window.__flashpoint_xss=1">Synthetic <b>bold</b> event'


def headline_text(row: Any) -> str:
    """The Overview's composite headline for a scored row, as a viewer should read it.

    A blind trigger (no fresh input of the country's own) makes the composite a range, from what
    can still be seen up to a full trigger (METHODOLOGY §5a); a seeing trigger gives one value.
    """
    if row.get("trigger_state") == "blind":
        return f"{row['composite']:.1f}–{row['composite_high']:.1f}"
    return f"{row['composite']:.1f}"


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def snapshot_store(snapshot_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store holding the bundled snapshot and today's scored panel, as `flashpoint
    load-snapshot` leaves it (no composite history: tests that need one store it themselves).
    A copy per worker; treat as read-only. A test that writes to a copy changes the store's data
    version, so its pages score live again, as on a server."""
    from flashpoint import precompute

    path = copy_of_template(snapshot_template, tmp_path_factory.mktemp("snapshot-store"))
    engine = store.open_for_writing(sqlite_url(path))
    try:
        precompute.precompute(engine, load_config(CONFIG), history_days=0)
    finally:
        engine.dispose()
    return path


@pytest.fixture
def writable_snapshot_store(snapshot_store: Path, tmp_path: Path) -> Path:
    """A private copy of the snapshot store that a test may write to."""
    copy = tmp_path / "flashpoint.db"
    shutil.copyfile(snapshot_store, copy)
    return copy


@pytest.fixture(autouse=True)
def clear_streamlit_caches() -> Iterator[None]:
    """Streamlit caches are process-global and leak between AppTest runs: start each test clean."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def use_store(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Point the dashboard at a store (and the repository's config) for this test."""

    def point_at(path: Path, *, config: Path = CONFIG) -> str:
        url = sqlite_url(path)
        monkeypatch.setenv("FLASHPOINT_DATABASE_URL", url)
        monkeypatch.setenv("FLASHPOINT_CONFIG", str(config))
        monkeypatch.delenv("FLASHPOINT_DISABLE_CACHE", raising=False)
        return url

    return point_at


# --------------------------------------------------------------------------------------------
# Real browser


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright launches Debian's Chromium (never a downloaded browser)."""
    if not Path(CHROMIUM).is_file():
        if os.environ.get("FLASHPOINT_SKIP_BROWSER") == "1":
            pytest.skip(f"{CHROMIUM} is missing and FLASHPOINT_SKIP_BROWSER=1")
        pytest.fail(
            f"The browser tests need Debian's Chromium at {CHROMIUM} "
            "(`apt-get install -y chromium`; .ci/run installs it). "
            "Set FLASHPOINT_SKIP_BROWSER=1 to skip them.",
            pytrace=False,
        )
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def page(page: Page) -> Page:
    """pytest-playwright's page, with the suite's deadline on every action and navigation."""
    page.set_default_timeout(ACTION_TIMEOUT_MS)
    page.set_default_navigation_timeout(ACTION_TIMEOUT_MS)
    return page


@dataclass(frozen=True)
class DashboardServer:
    """A running `streamlit run dashboard/app.py`."""

    url: str
    store_path: Path
    log: Path


def wait_for_health(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll /_stcore/health until it answers "ok" (fail with the server log on timeout/exit)."""
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"streamlit exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)  # polling a server that has not bound its port yet
    pytest.fail(f"streamlit did not become healthy in {SERVER_START_SECONDS:.0f} s")


def start_dashboard(
    store_path: Path, log: Path, *, extra_env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """Start the server as `flashpoint dashboard` does (`streamlit run` through the import
    warm-up, the production flags) on a free loopback port."""
    port = free_port()
    environment = {
        **os.environ,
        "FLASHPOINT_DATABASE_URL": sqlite_url(store_path),
        "FLASHPOINT_CONFIG": str(CONFIG),
        **(extra_env or {}),
    }
    command = streamlit_command(APP, port=port, address="127.0.0.1")
    # Output to a file, not a pipe: a full pipe would block the server.
    handle = log.open("wb")
    process = subprocess.Popen(command, env=environment, stdout=handle, stderr=subprocess.STDOUT)
    handle.close()
    url = f"http://127.0.0.1:{port}"
    wait_for_health(url, process, log)
    return process, url


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate the server, then kill it if it does not stop."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def dashboard_server(
    snapshot_store: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DashboardServer]:
    """The dashboard served over loopback from a copy of the snapshot store that also holds one
    synthetic event with a hostile title (to prove fetched text is never rendered as HTML)."""
    directory = tmp_path_factory.mktemp("dashboard-server")
    store_path = directory / "flashpoint.db"
    shutil.copyfile(snapshot_store, store_path)
    engine = store.make_engine(sqlite_url(store_path))
    try:
        store.add_event(
            engine,
            country="KAZ",
            date="2025-03-15",
            title=HOSTILE_TITLE,
            description="synthetic test event",
            source_url="javascript:alert(1)",
        )
    finally:
        engine.dispose()
    log = directory / "streamlit.log"
    process, url = start_dashboard(store_path, log)
    try:
        yield DashboardServer(url=url, store_path=store_path, log=log)
    finally:
        stop(process)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots are saved (created)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# --------------------------------------------------------------------------------------------
# Charts as AppTest sees them


def chart_nodes(at: Any) -> list[Any]:
    """The page's charts in page order, nested ones included: Streamlit's plotly elements and
    the app's basic-bundle chart components."""
    from dashboard import basic_chart

    return [
        node
        for node in at.main  # iterating a block yields every descendant
        if node.type == "plotly_chart"
        or (
            node.type == "bidi_component"
            and node.proto.component_name == basic_chart.COMPONENT_NAME
        )
    ]


def chart_figure(node: Any) -> dict[str, Any]:
    """The plotly figure a chart node sends to the browser, as a dict."""
    if node.type == "plotly_chart":
        figure: dict[str, Any] = json.loads(node.proto.spec)
    else:
        figure = json.loads(json.loads(node.proto.json)["spec"])
    return figure
