"""`flashpoint init`: create the data directory and the store's schema (harmless to repeat)."""

from __future__ import annotations

import argparse
from typing import Any

from flashpoint.config import add_config_argument, settings_from_args
from flashpoint.store import (
    close_interrupted_runs,
    init_schema,
    make_engine,
    mask_url,
    read_schema_version,
)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the `init` sub-command."""
    parser = subparsers.add_parser(
        "init",
        help="create the data directory and the store (harmless to repeat)",
        description="Create the data directory and the store's tables, or upgrade an older "
        "store. Running it again changes nothing.",
    )
    add_config_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Create (or upgrade) the store; prints where it is."""
    settings = settings_from_args(args)
    data_path = settings.data_path
    data_path.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    try:
        before = read_schema_version(engine)
        version = init_schema(engine)
        interrupted = close_interrupted_runs(engine)
    finally:
        engine.dispose()
    if before is None:
        outcome = f"created (schema version {version})"
    elif before == version:
        outcome = f"already up to date (schema version {version})"
    else:
        outcome = f"upgraded from schema version {before} to {version}"
    print(f"Store: {mask_url(settings.database_url)} — {outcome}")
    if interrupted:
        print(f"Marked {interrupted} fetch run(s) as interrupted: their process is gone.")
    print(f"Data directory: {data_path}")
    if settings.config_path is not None:
        print(f"Config: {settings.config_path}")
    print("Next: `flashpoint load-snapshot` loads the bundled data; `flashpoint status` shows it.")
    return 0
