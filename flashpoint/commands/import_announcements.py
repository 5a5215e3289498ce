"""`flashpoint import-announcements FILE`: announced price changes (the policy calendar)."""

from __future__ import annotations

import argparse
from typing import Any

from fetchers.policy_calendar import read_announcements
from flashpoint.commands.actor import cli_actor
from flashpoint.config import add_config_argument, settings_from_args
from flashpoint.store import mask_url, open_for_writing, save_announcements

_EPILOG = """\
CSV columns (header row required, UTF-8):
  country              ISO3 code, e.g. KAZ
  product              what changes, e.g. LPG, diesel, bread
  announced            YYYY-MM-DD: the day the change was announced
  effective            YYYY-MM-DD: the day it takes effect (not before `announced`)
  expected_change_pct  the announced change in %, e.g. 100 for a doubling (not below -100)
  source_url           where it was announced: an http(s) URL, or empty when not recorded
  note                 optional free text

An announcement is identified by its country, product and effective date: importing the same
file again changes nothing, and a changed row updates the stored announcement. Each one is
stored with its product, URL and note (Announcements page, `flashpoint export --what
announcements`) and audited under your login name. From its announcement the change counts in the
trigger as a scheduled shock (`announced_price_change`, fuel-shock pillar), until 31 days after
it takes effect; several products with the same country and effective date count once, with the
largest change. Every row is checked before anything is written; an error names the row and the
column.
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
    parser.add_argument(
        "--by",
        metavar="NAME",
        help="who is importing, for the audit log (default: your login name + ' (cli)')",
    )
    add_config_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Validate the whole file, then write it in one transaction; prints what changed."""
    settings = settings_from_args(args)
    parsed = read_announcements(args.file)
    engine = open_for_writing(settings.database_url)
    try:
        counts = save_announcements(engine, parsed.records, actor=cli_actor(args))
    finally:
        engine.dispose()
    stored = counts.announcements
    print(
        f"Imported {args.file} into {mask_url(settings.database_url)}: "
        f"{stored.new} new, {stored.changed} changed, {stored.unchanged} unchanged "
        f"({parsed.rows_read} announcements read); scheduled shocks written: "
        f"{counts.shocks_written}, removed: {counts.shocks_removed}."
    )
    if parsed.merged:
        print(
            f"{parsed.merged} announcement(s) share a country and effective date with a larger "
            "one: the trigger counts the largest change of each date once."
        )
    return 0
