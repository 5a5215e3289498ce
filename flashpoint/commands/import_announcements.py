"""`flashpoint import-announcements FILE`: announced price changes (the policy calendar)."""

from __future__ import annotations

import argparse
from typing import Any

from fetchers.policy_calendar import read_announcements
from flashpoint.config import add_config_argument, settings_from_args
from flashpoint.store import init_schema, make_engine, mask_url, upsert_observations

_EPILOG = """\
CSV columns (header row required, UTF-8):
  country              ISO3 code, e.g. KAZ
  product              what changes, e.g. LPG, diesel, bread (reported, not stored)
  announced            YYYY-MM-DD: the day the change was announced
  effective            YYYY-MM-DD: the day it takes effect (not before `announced`)
  expected_change_pct  the announced change in %, e.g. 100 for a doubling
  source_url           where it was announced (reported, not stored)

From its announcement the change counts in the trigger as a scheduled shock
(`announced_price_change`, fuel-shock pillar), until 31 days after it takes effect.
Every row is checked before anything is written; an error names the row and the column.
"""


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the `import-announcements` sub-command."""
    parser = subparsers.add_parser(
        "import-announcements",
        help="import announced price changes (the policy calendar) from CSV; all-or-nothing",
        description="Import announced price changes into the store as scheduled shocks.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", metavar="FILE", help="the CSV file to import")
    add_config_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Validate the whole file, then write it with one upsert; prints new/changed/unchanged."""
    settings = settings_from_args(args)
    parsed = read_announcements(args.file)
    engine = make_engine(settings.database_url)
    try:
        init_schema(engine)
        counts = upsert_observations(engine, parsed.observations)
    finally:
        engine.dispose()
    print(
        f"Imported {args.file} into {mask_url(settings.database_url)}: "
        f"{counts.new} new, {counts.changed} changed, {counts.unchanged} unchanged "
        f"({len(parsed.observations)} announcements from {parsed.rows_read} rows)."
    )
    if parsed.merged:
        print(
            f"Merged {parsed.merged} row(s) into another of the same country and effective date "
            "(the largest change is kept)."
        )
    return 0
