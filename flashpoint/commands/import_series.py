"""`flashpoint import FILE`: the analyst's own series from CSV, validated, all-or-nothing."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import pandas as pd

from fetchers.analyst_csv import DEFAULT_SOURCE_NAME, read_analyst_csv
from flashpoint.config import Settings, add_config_argument, settings_from_args
from flashpoint.store import (
    init_schema,
    make_engine,
    mask_url,
    read_observations,
    upsert_observations,
)

_EPILOG = """\
CSV columns (header row required, UTF-8):
  indicator   catalogue id, e.g. fuel_lpg_retail (see [[indicators]] in config.toml)
  country     ISO3 code, e.g. KAZ (WLD for global series)
  period      YYYY-MM-DD (YYYY or YYYY-MM for annual and monthly series)
  value       a number, with . as the decimal point
  unit        the indicator's unit (empty = the catalogue unit); a price catalogued in local
              currency (LCU/litre) takes the country's own code: KZT/litre, IRR/litre, EUR/litre
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
    engine = make_engine(settings.database_url)
    try:
        init_schema(engine)
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
    for warning in sparse_step_warnings(settings, parsed.observations):
        print(f"Warning: {warning}", file=sys.stderr)
    return 0


def sparse_step_warnings(settings: Settings, imported: pd.DataFrame) -> list[str]:
    """Plain-words warnings for imported series too sparse for a step to be computed.

    A step (`step_change`) compares consecutive observations at most `window_days` apart; a series
    with one point, or whose points are all further apart, gives no step at all, which scoring
    shows as missing, never as a zero step. The check looks at the whole stored series (the file's
    rows plus what was there before).

    Args:
        settings: the configuration (its catalogue's step-change indicators).
        imported: the imported observations.

    Returns:
        One message per (indicator, country, vintage) series that feeds a step and cannot.
    """
    steps = [item for item in settings.catalogue().enabled_indicators
             if item.derivation == "step_change"]
    engine = make_engine(settings.database_url)
    try:
        messages = []
        for step in steps:
            fed = imported[imported["indicator"].isin(step.derived_from)]
            keys = fed[["indicator", "country", "vintage"]].drop_duplicates()
            for indicator, country, vintage in keys.itertuples(index=False, name=None):
                stored = read_observations(engine, indicators=[str(indicator)],
                                           countries=[str(country)])
                periods = stored.loc[stored["vintage"] == vintage, "period"].sort_values()
                gaps = periods.diff().dropna()
                if (gaps <= pd.Timedelta(days=step.window_days)).any():
                    continue
                messages.append(
                    f"{indicator} {country}: {len(periods)} observation(s), none within "
                    f"{step.window_days} days of the previous one, so {step.id} cannot be "
                    "computed for it (it shows as missing, not as a zero step)"
                )
        return messages
    finally:
        engine.dispose()
