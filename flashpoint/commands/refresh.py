"""`flashpoint refresh`: fetch the configured sources into the store, with a progress bar."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from flashpoint.config import add_config_argument, iso3_countries, settings_from_args
from flashpoint.errors import ConfigError


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the `refresh` sub-command."""
    parser = subparsers.add_parser(
        "refresh",
        help="fetch the enabled sources into the store, then re-score and evaluate alerts",
        description="Fetch every enabled source (or those named with --source) into the store, "
        "then re-score and evaluate the alert rules — the same pipeline one scheduled job runs. "
        "Each source is recorded as a fetch run; one failing source never stops the others and "
        "never changes stored data. Exit status 0 when every source succeeded, 1 otherwise.",
    )
    add_config_argument(parser)
    parser.add_argument(
        "--source", dest="sources", action="append", metavar="NAME",
        help="refresh only this source (repeatable; runs it even if disabled in the config)",
    )
    parser.add_argument(
        "--country", dest="countries", action="append", metavar="ISO3",
        help="fetch only this country (repeatable; default: the config's watched countries)",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar and no summary table",
    )
    parser.add_argument(
        "--fetch-only", action="store_true",
        help="only fetch: do not re-score or evaluate alerts afterwards",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Refresh, print a summary table; 0 when every source succeeded, 1 otherwise."""
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    import fetchers
    from flashpoint import store
    from flashpoint.logs import configure_logging
    from flashpoint.pipeline import run_pipeline
    from flashpoint.refresh import SourceRunReport, all_ok, refresh_sources, sources_to_refresh

    settings = settings_from_args(args)
    configure_logging(settings.general.log_level)
    names = sources_to_refresh(settings, _checked_sources(args.sources, fetchers.REGISTRY))
    countries = _checked_countries(args.countries)

    engine = store.open_for_writing(settings.database_url)
    bar = tqdm(
        total=len(names), unit="source", file=sys.stderr,
        disable=args.quiet or not sys.stderr.isatty(), desc="refresh",
    )

    def progress(name: str, report: SourceRunReport | None) -> None:
        if report is None:
            bar.set_description(f"refresh {name}")
        else:
            bar.set_postfix_str(f"{name}: {report.status}")
            bar.update(1)

    try:
        # Log lines go through tqdm.write so they never tear the progress bar.
        with logging_redirect_tqdm(loggers=[logging.getLogger("flashpoint")]):
            if args.fetch_only:
                reports = refresh_sources(engine, settings, sources=names, countries=countries,
                                          progress=progress)
                problems: list[str] = []
                after = ""
            else:
                outcome = run_pipeline(engine, settings, sources=names, countries=countries,
                                       progress=progress)
                reports, problems = outcome.reports, outcome.problems
                after = (
                    f"re-scored {outcome.countries_scored} countries; " if outcome.rescored
                    else "nothing changed, scores kept; "
                ) + (
                    f"alerts evaluated: {outcome.alert_events} state change(s)"
                    + (f", {outcome.failed_deliveries} failed deliveries"
                       if outcome.failed_deliveries else "")
                    if outcome.alerts_evaluated else "alerts not evaluated"
                )
    finally:
        bar.close()
        engine.dispose()
    if not args.quiet:
        print(summary_table(reports))
        if after:
            print(after)
    for problem in problems:
        print(f"flashpoint: {problem}", file=sys.stderr)
    return 0 if all_ok(reports) and not problems else 1


def _checked_sources(requested: Sequence[str] | None, registry: Any) -> list[str] | None:
    if not requested:
        return None
    unknown = [name for name in requested if name not in registry]
    if unknown:
        known = ", ".join(sorted(registry))
        raise ConfigError("--source", "", f"unknown source {unknown[0]!r} (known: {known})")
    return list(requested)


def _checked_countries(requested: Sequence[str] | None) -> list[str] | None:
    if not requested:
        return None
    codes = [code.strip().upper() for code in requested]
    known = iso3_countries()
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise ConfigError("--country", "", f"unknown ISO3 country code {unknown[0]!r}")
    return codes


def summary_table(reports: Sequence[Any]) -> str:
    """A plain-text table of source run reports, errors listed below it."""
    header = ("source", "outcome", "requests", "new", "changed", "unchanged", "seconds")
    rows = [
        (r.source, r.status, str(r.requests), str(r.rows_new), str(r.rows_changed),
         str(r.rows_unchanged), f"{r.duration_seconds:.1f}")
        for r in reports
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) if i < 2 else cell.rjust(width)
                       for i, (cell, width) in enumerate(zip(row, widths, strict=True)))
             for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    lines.extend(f"error: {r.error}" for r in reports if r.error)
    if not reports:
        lines.append("(no source to refresh: none enabled with a registered fetcher)")
    return "\n".join(lines)
