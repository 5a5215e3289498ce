"""`flashpoint dashboard`: prepare the store (schema; snapshot if empty) and serve the app."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from flashpoint.config import CONFIG_ENV, load_config, resolve_config_path

log = logging.getLogger("flashpoint.dashboard")



def app_path() -> Path:
    """The installed dashboard entry script (`dashboard/app.py` inside the package)."""
    import dashboard

    return Path(dashboard.__file__).resolve().parent / "app.py"


def streamlit_command(app: Path, *, port: int, address: str) -> list[str]:
    """The `streamlit run` command line with the production flags.

    Headless, no file watcher (no inotify limits on servers), no usage statistics, static serving
    on (the offline world map's topojson is served from `dashboard/static/`). Run through
    `dashboard.warmup`: Streamlit's own command line after the script's heavy imports (the server
    answers about 1.5 s later; the first visit after a restart no longer waits for them).
    """
    return [
        sys.executable,
        "-m",
        "dashboard.warmup",
        "run",
        str(app),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--server.enableStaticServing",
        "true",
        "--server.runOnSave",
        "false",
        "--browser.gatherUsageStats",
        "false",
        "--global.developmentMode",
        "false",
    ]


def prepare_store(config: Path | None) -> tuple[Path, int, str, bool]:
    """Load the config, create the schema and load the bundled snapshot into an empty store.

    Returns:
        The resolved config path, the configured port and address, and whether today's scored
        panel still has to be stored (the precompute the dashboard reads).
    """
    from flashpoint import snapshot, store
    from flashpoint.precompute import panel_is_current
    from flashpoint.scoring import today

    settings = load_config(config)
    config_path = (settings.config_path or resolve_config_path(config)).resolve()
    engine = store.open_for_writing(settings.database_url)
    try:
        if store.is_empty(engine):
            log.info("store is empty: loading the bundled snapshot")
            # The first start takes seconds: say so, with progress, before the server starts.
            snapshot.ensure_snapshot_loaded(engine, progress=snapshot.print_progress())
        current = panel_is_current(engine, settings.catalogue(), today().date())
    finally:
        engine.dispose()
    return config_path, settings.dashboard.port, settings.dashboard.address, not current


def run(args: argparse.Namespace) -> int:
    """Handler of `flashpoint dashboard`."""
    config_path, configured_port, configured_address, needs_precompute = prepare_store(
        args.config
    )
    port = args.port if args.port is not None else configured_port
    address = args.address if args.address is not None else configured_address
    command = streamlit_command(app_path(), port=port, address=address)
    environment = {**os.environ, CONFIG_ENV: str(config_path)}
    if needs_precompute:
        # Held open (inherited by the server across exec) until the server exits.
        _server_alive_writer = start_background_precompute(config_path, environment)
    print(f"Flashpoint dashboard on http://{address}:{port}/  (Ctrl+C to stop)", flush=True)
    return _serve(command, environment)


def start_background_precompute(config_path: Path, environment: dict[str, str]) -> int:
    """Store today's panel and composite history beside the server, not before it.

    On a first start that takes about a minute; the server answers meanwhile (scoring live) and
    reads the stored panel once it is there. Returns the write end of a pipe that the caller
    keeps open while it lives (the server inherits it across exec): the precompute stops when
    that pipe closes. The launched process detaches at once and the launcher is reaped here,
    so the precompute is never a child of the server, which would not reap it (a zombie).
    """
    print(
        "today's scores are not stored yet: storing them in the background "
        "(the first pages score live until then)",
        flush=True,
    )
    server_alive_reader, server_alive_writer = os.pipe()
    os.set_inheritable(server_alive_writer, True)
    launcher = subprocess.Popen(  # our own interpreter and module, no shell
        [
            sys.executable, "-m", "flashpoint.commands.background_precompute",
            "--config", str(config_path), "--server-alive-fd", str(server_alive_reader),
        ],
        env=environment,
        stdin=subprocess.DEVNULL,
        pass_fds=(server_alive_reader,),
    )  # fmt: skip
    launcher.wait()  # returns once the precompute has detached (a fork), well under a second
    os.close(server_alive_reader)
    return server_alive_writer


def _serve(command: list[str], environment: dict[str, str]) -> int:
    if os.name == "posix":
        # Become Streamlit: Ctrl+C and a service manager's SIGTERM reach it directly, and no
        # orphaned server outlives this command.
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(command[0], command, environment)
    process = subprocess.Popen(command, env=environment)  # pragma: no cover - not POSIX
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.send_signal(signal.SIGTERM)
        process.wait()
        return 130


def register(subparsers: Any) -> None:
    """Add the `dashboard` sub-command."""
    parser = subparsers.add_parser(
        "dashboard",
        help="serve the dashboard (loads the bundled snapshot into an empty store first)",
        description="Create the store's schema, load the bundled snapshot if the store is empty, "
        "then run the Streamlit dashboard with production settings.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="config file (default: $FLASHPOINT_CONFIG, ./config.toml, the packaged default)",
    )
    parser.add_argument(
        "--port", type=int, default=None, help="port to serve on (default: [dashboard] port, 8501)"
    )
    parser.add_argument(
        "--address",
        default=None,
        help="address to bind (default: [dashboard] address, 127.0.0.1)",
    )
    parser.set_defaults(handler=run)
