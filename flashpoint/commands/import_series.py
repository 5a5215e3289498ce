"""`flashpoint import FILE`: the analyst's own series from CSV, validated, all-or-nothing."""

from __future__ import annotations

import argparse
from typing import Any

from fetchers.analyst_csv import DEFAULT_SOURCE_NAME, read_analyst_csv
from flashpoint.config import add_config_argument, settings_from_args
from flashpoint.store import mask_url, open_for_writing, upsert_observations

_EPILOG = """\
CSV columns (header row required, UTF-8):
  indicator   catalogue id, e.g. fuel_lpg_retail (see [[indicators]] in config.toml)
  country     ISO3 code, e.g. KAZ (WLD for global series)
  period      YYYY-MM-DD (YYYY or YYYY-MM for annual and monthly series)
  value       a number, with . as the decimal point
  unit        the indicator's unit, e.g. KZT/litre (empty = the catalogue unit)
  vintage     optional release label (empty = none)
  note, source_url   optional; documentation for your file, not stored

The Kazakhstan fuel-price points file (date,region,fuel,unit,value_min,value_max,price_type,
note,source_url) is accepted too: retail LPG, AI-92/93 and diesel prices become fuel_lpg_retail,
fuel_gasoline_retail and fuel_diesel_retail for KAZ (highest regional midpoint per date).

Every row is checked before anything is written; an error names the row (the header is row 1)
and the column. Re-importing the same file changes nothing; a changed value keeps its old value
in the store's revisions.
"""


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the `import` sub-command."""
    parser = subparsers.add_parser(
        "import",
        help="import your own series from a CSV file (validated; all-or-nothing)",
        description="Import the analyst's own series from a CSV file into the store.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", metavar="FILE", help="the CSV file to import")
    parser.add_argument(
        "--source-name",
        metavar="NAME",
        default=DEFAULT_SOURCE_NAME,
        help=f"the source recorded with every row (default: {DEFAULT_SOURCE_NAME})",
    )
    add_config_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Validate the whole file, then write it with one upsert; prints new/changed/unchanged."""
    settings = settings_from_args(args)
    parsed = read_analyst_csv(args.file, settings, source=args.source_name)
    engine = open_for_writing(settings.database_url)
    try:
        counts = upsert_observations(engine, parsed.observations)
    finally:
        engine.dispose()
    print(
        f"Imported {args.file} into {mask_url(settings.database_url)}: "
        f"{counts.new} new, {counts.changed} changed, {counts.unchanged} unchanged "
        f"({len(parsed.observations)} observations from {parsed.rows_read} rows)."
    )
    for reason, count in sorted(parsed.skipped.items()):
        print(f"Skipped {count} row(s): {reason}.")
    return 0
