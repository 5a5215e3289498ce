"""`flashpoint serve`: the scheduler service — one per store — refreshing, scoring and alerting."""

from __future__ import annotations

import argparse
from typing import Any

from flashpoint.config import add_config_argument, settings_from_args


def run(args: argparse.Namespace) -> int:
    """Handler of `flashpoint serve`."""
    from flashpoint import store
    from flashpoint.logs import configure_logging
    from flashpoint.scheduler import SchedulerService
    from flashpoint.snapshot import ensure_snapshot_loaded, print_progress

    settings = settings_from_args(args)
    configure_logging(settings.general.log_level)
    engine = store.open_for_writing(settings.database_url)
    try:
        if not args.no_snapshot:
            # A fresh server shows real data at once; live fetches then revise it source by source.
            ensure_snapshot_loaded(engine, progress=print_progress())
        _precompute_before_serving(engine, settings)
        service = SchedulerService(engine=engine, settings=settings)
        return service.serve(standby=args.standby, poll_seconds=args.standby_poll)
    finally:
        engine.dispose()


def _precompute_before_serving(engine: Any, settings: Any) -> None:
    """Store the scored panel and composite history the dashboard reads (a no-op when both are
    current); a failure is logged, never fatal: readers then score live."""
    import logging

    from flashpoint.precompute import precompute

    log = logging.getLogger("flashpoint.precompute")
    try:
        report = precompute(
            engine,
            settings,
            progress=lambda line: log.info(line, extra={"event": "precompute"}),
        )
    except Exception:
        log.exception("precompute failed", extra={"event": "precompute", "outcome": "error"})
        return
    log.info(report.in_words(), extra={"event": "precompute", "outcome": "ok"})


def register(subparsers: Any) -> None:
    """Add the `serve` sub-command."""
    parser = subparsers.add_parser(
        "serve",
        help="run the scheduler: each source on its own schedule, then re-score and alert",
        description="Run the scheduler service (APScheduler, one job per enabled source, its "
        "schedule from config.toml). After each refresh that changed data it re-scores and "
        "evaluates alerts. Only one scheduler may run per store: a second one refuses to start "
        "(exit 3) unless --standby, which waits and takes over when the first stops. SIGTERM or "
        "SIGINT finishes the running source cleanly and exits 0. Logs are key=value lines on "
        "stderr (level from [general] log_level or $FLASHPOINT_LOG_LEVEL).",
    )
    add_config_argument(parser)
    parser.add_argument(
        "--standby",
        action="store_true",
        help="if another scheduler holds the store, wait and take over when it stops",
    )
    parser.add_argument(
        "--standby-poll",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how often a standby checks the lock (default 5)",
    )
    parser.add_argument(
        "--no-snapshot",
        action="store_true",
        help="do not load the bundled snapshot into an empty store",
    )
    parser.set_defaults(handler=run)
