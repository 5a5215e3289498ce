"""`flashpoint load-snapshot`: load the bundled real-data snapshot into the store (idempotent)."""

from __future__ import annotations

import argparse
from typing import Any

from flashpoint.config import add_config_argument, settings_from_args

# The precompute's default window (flashpoint.precompute.HISTORY_WINDOW_DAYS), named here so the
# CLI's --help does not import the scoring stack.
HISTORY_WINDOW_DAYS = 400


def run(args: argparse.Namespace) -> int:
    """Handler of `flashpoint load-snapshot`."""
    from flashpoint import snapshot, store

    settings = settings_from_args(args)
    from flashpoint.precompute import precompute

    engine = store.open_for_writing(settings.database_url)
    try:
        result = snapshot.load_snapshot(
            engine, force=args.force, progress=snapshot.print_progress()
        )
        _print_loaded(result)
        # What the dashboard and `score` read instead of re-scoring the whole store.
        report = precompute(
            engine,
            settings,
            history_days=args.history_days,
            progress=lambda line: print(line, flush=True),
        )
        print(report.in_words())
    finally:
        engine.dispose()
    return 0


def _print_loaded(result: Any) -> None:
    rows = result.observations
    print(
        f"snapshot built {result.built_at} loaded in {result.seconds:.1f} s: "
        f"{rows.new:,} new, {rows.changed:,} changed, {rows.unchanged:,} unchanged observations"
    )
    if result.skipped_live:
        print(
            f"{result.skipped_live:,} rows left as a live source stored them "
            "(--force overwrites them; their values are kept as revisions)"
        )
    events = result.events
    print(f"events: {events.new} new, {events.changed} changed, {events.unchanged} unchanged")


def register(subparsers: Any) -> None:
    """Add the `load-snapshot` sub-command."""
    parser = subparsers.add_parser(
        "load-snapshot",
        help="load the bundled real data into the store (idempotent)",
        description="Load the snapshot bundled with Flashpoint (World Bank WDI and WGI, TI CPI, "
        "GDELT and UCDP country-months, EIA/FRED prices, NBK USD/KZT, Kazakhstan fuel-price "
        "points, event annotations) into the store in one transaction. Loading again changes "
        "nothing. Rows a live fetcher stored are left alone unless --force.",
    )
    add_config_argument(parser)
    parser.add_argument(
        "--force",
        action="store_true",
        help="also overwrite rows that live fetchers stored (old values go to the revisions table)",
    )
    parser.add_argument(
        "--history-days",
        type=int,
        default=HISTORY_WINDOW_DAYS,
        metavar="DAYS",
        help="days of daily composite history to precompute "
        f"(default {HISTORY_WINDOW_DAYS}; 0 stores only the scored panel)",
    )
    parser.set_defaults(handler=run)
