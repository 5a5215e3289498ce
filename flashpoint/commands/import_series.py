"""`flashpoint import FILE`: the analyst's own series from CSV, validated, all-or-nothing."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import pandas as pd

from fetchers import analyst_stream
from fetchers.analyst_csv import DEFAULT_SOURCE_NAME
from fetchers.analyst_stream import AnalystCsvStream
from fetchers.errors import ImportFileError
from flashpoint.config import Settings, add_config_argument, settings_from_args
from flashpoint.store import make_engine, mask_url, open_for_writing, read_observations
from flashpoint.store.staging import ObservationStage
from indicators.derived import price_in_force_rows

_EPILOG = """\
CSV columns (header row required, UTF-8):
  indicator   catalogue id, e.g. fuel_lpg_retail (see [[indicators]] in config.toml)
  country     ISO3 code, e.g. KAZ (WLD for global series)
  period      YYYY-MM-DD (YYYY or YYYY-MM for annual and monthly series)
  value       a number, with . as the decimal point
  unit        the indicator's unit (empty = the catalogue unit); a price catalogued in local
              currency (LCU/litre) takes the country's own code: KZT/litre, IRR/litre, EUR/litre
  vintage     optional release label (empty = none)
  is_forecast optional: true for a projection (only forecasts may lie after today)
  price_in_force  optional: true for an official revision (a ministry's price list: one row per
              revision, the price holding until the next row); a step then compares the new
              price with the one in force the day before, however old. Stored with the source
              <source-name>:revisions. Empty or false: a sampled reading (a step needs the
              previous row within the step's window, 31 days)
  note, source_url   optional; documentation for your file, not stored

The Kazakhstan fuel-price points file (date,region,fuel,unit,value_min,value_max,price_type,
note,source_url) is accepted too: retail LPG, AI-92/93 and diesel prices become fuel_lpg_retail,
fuel_gasoline_retail and fuel_diesel_retail for KAZ (highest regional midpoint per date).

Every row is checked before anything is written; an error names the row (the header is row 1)
and the column. Re-importing the same file changes nothing; a changed value keeps its old value
in the store's revisions.
"""


# What identifies one imported series.
SERIES_KEY = ("indicator", "country", "vintage")


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
    """Validate the whole file while staging it, then switch it in with one short transaction.

    The file streams in chunks (memory stays bounded whatever its size) into a private staging
    table that holds no lock on the store; nothing reaches the store unless every row is good.
    """
    settings = settings_from_args(args)
    stream = AnalystCsvStream(
        args.file, settings, source=args.source_name, chunk_rows=analyst_stream.CHUNK_ROWS
    )
    chunks = stream.chunks()
    # The first chunk is read before the store is opened: a small bad file touches nothing.
    first = next(chunks, None)
    # The imported series (not their rows): enough to warn about series too sparse for a step.
    series: list[pd.DataFrame] = []
    engine = open_for_writing(settings.database_url)
    try:
        with ObservationStage(engine) as stage:
            if first is not None:
                stage.add(first[0], row_numbers=first[1])
                series.append(first[0][list(SERIES_KEY)].drop_duplicates())
            for frame, rows in chunks:
                stage.add(frame, row_numbers=rows)
                series.append(frame[list(SERIES_KEY)].drop_duplicates())
            duplicate = stage.first_duplicate()
            if duplicate is not None:
                vintage = f", vintage {duplicate.vintage}" if duplicate.vintage else ""
                raise ImportFileError(
                    f"{args.file}: row {duplicate.row}, column period: duplicate of row "
                    f"{duplicate.first_row} ({duplicate.indicator}, {duplicate.country}, "
                    f"{duplicate.period}{vintage}) (nothing was imported)"
                )
            counts = stage.switch().counts
            staged = stage.rows
    finally:
        engine.dispose()
    print(
        f"Imported {args.file} into {mask_url(settings.database_url)}: "
        f"{counts.new} new, {counts.changed} changed, {counts.unchanged} unchanged "
        f"({staged} observations from {stream.rows_read} rows)."
    )
    for reason, count in sorted(stream.skipped.items()):
        print(f"Skipped {count} row(s): {reason}.")
    imported = (
        pd.concat(series).drop_duplicates() if series else pd.DataFrame(columns=list(SERIES_KEY))
    )
    for warning in sparse_step_warnings(settings, imported):
        print(f"Warning: {warning}", file=sys.stderr)
    return 0


def sparse_step_warnings(settings: Settings, imported: pd.DataFrame) -> list[str]:
    """Plain-words warnings for imported series too sparse for a step to be computed.

    A step (`step_change`) compares consecutive observations at most `window_days` apart — or,
    between two official revisions (`price_in_force`), however far apart; a series with one point,
    or whose sampled points are all further apart, gives no step at all, which scoring shows as
    missing, never as a zero step. The check looks at the whole stored series (the file's rows plus
    what was there before).

    Args:
        settings: the configuration (its catalogue's step-change indicators).
        imported: the imported series (`SERIES_KEY` columns; observations do too).

    Returns:
        One message per (indicator, country, vintage) series that feeds a step and cannot.
    """
    catalogue = settings.catalogue()
    steps = [item for item in catalogue.enabled_indicators if item.derivation == "step_change"]
    engine = make_engine(settings.database_url, read_only=True)
    try:
        messages = []
        for step in steps:
            fed = imported[imported["indicator"].isin(step.derived_from)]
            keys = fed[["indicator", "country", "vintage"]].drop_duplicates()
            for indicator, country, vintage in keys.itertuples(index=False, name=None):
                stored = read_observations(engine, indicators=[str(indicator)],
                                           countries=[str(country)])
                series = stored[stored["vintage"] == vintage].sort_values("period")
                periods = series["period"]
                in_force = price_in_force_rows(series, catalogue)
                held = in_force & in_force.shift(1, fill_value=False)
                close = periods.diff() <= pd.Timedelta(days=step.window_days)
                if (close | held).iloc[1:].any():
                    continue
                messages.append(
                    f"{indicator} {country}: {len(periods)} observation(s), none within "
                    f"{step.window_days} days of the previous one, so {step.id} cannot be "
                    "computed for it (it shows as missing, not as a zero step)"
                )
        return messages
    finally:
        engine.dispose()
