"""`flashpoint export`: observations, scores, revisions or announcements as CSV or Parquet.

ACLED's terms forbid giving others its data, so rows from the `acled` source (and revisions of
ACLED indicators) are never exported; every exported row carries its licence. Announcements (the
policy calendar) go out as recorded — product, source URL and note included — in the columns
`flashpoint import-announcements` reads, so an export can be imported into another store.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from flashpoint.config import Settings, add_config_argument, settings_from_args
from flashpoint.errors import FlashpointError
from flashpoint.store import (
    open_for_reading,
    read_announcements,
    read_observations,
    read_revisions,
    read_scores,
    retry_busy,
    store_summary,
)

RESTRICTED_SOURCE = "acled"
ANNOUNCEMENT_INDICATOR = "announced_price_change"
SCORES_LICENCE = (
    "Derived by Flashpoint from the indicators listed on its Methodology page; each input keeps "
    "its own licence"
)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the `export` sub-command."""
    parser = subparsers.add_parser(
        "export",
        help="export observations, scores, revisions or announcements as CSV or Parquet "
        "(never ACLED rows)",
        description="Export stored data with a licence column. ACLED rows are never exported "
        "(ACLED's terms forbid redistribution).",
    )
    parser.add_argument(
        "--what",
        choices=("observations", "scores", "revisions", "announcements"),
        default="observations",
        help="what to export (default: observations)",
    )
    parser.add_argument(
        "--indicator",
        action="append",
        metavar="ID",
        help="only this indicator (repeatable; observations and revisions)",
    )
    parser.add_argument(
        "--country", action="append", metavar="ISO3", help="only this country (repeatable)"
    )
    parser.add_argument(
        "--format", choices=("csv", "parquet"), default="csv", help="file format (default: csv)"
    )
    parser.add_argument(
        "--output", required=True, metavar="PATH", help="file to write (`-` = stdout, CSV only)"
    )
    add_config_argument(parser)
    parser.set_defaults(handler=run)


def is_restricted(source: str) -> bool:
    """True for sources whose rows may never leave the local store."""
    return source == RESTRICTED_SOURCE or source.startswith(RESTRICTED_SOURCE + ":")


def _restricted_indicators(settings: Settings, stored: pd.DataFrame) -> set[str]:
    from_catalogue = {item.id for item in settings.indicators if is_restricted(item.source)}
    from_store = {
        str(row.indicator) for row in stored.itertuples() if is_restricted(str(row.source))
    }
    return from_catalogue | from_store


def _licences(settings: Settings) -> dict[str, str]:
    return {item.id: item.licence for item in settings.indicators}


def export_frame(
    settings: Settings,
    engine: Any,
    *,
    what: str,
    indicators: list[str] | None,
    countries: list[str] | None,
) -> tuple[pd.DataFrame, int]:
    """The frame to export and how many restricted rows were withheld.

    Raises:
        FlashpointError: when the request names only ACLED indicators, or filters that do not
            apply.
    """
    keyed_on_indicators = what in ("observations", "revisions")
    stored = store_summary(engine) if keyed_on_indicators else pd.DataFrame(columns=["source"])
    restricted = _restricted_indicators(settings, stored) if keyed_on_indicators else set()
    if indicators and all(item in restricted for item in indicators):
        raise FlashpointError(
            f"{', '.join(indicators)}: ACLED data cannot be exported (ACLED's terms of use forbid "
            "redistribution); it stays in your local store"
        )
    licences = _licences(settings)
    if what == "observations":
        frame = read_observations(engine, indicators=indicators, countries=countries)
        keep = ~frame["source"].map(is_restricted) & ~frame["indicator"].isin(restricted)
        withheld = int((~keep).sum())
        frame = frame.loc[keep].reset_index(drop=True)
        frame["licence"] = frame["indicator"].map(licences).fillna("")
        return frame, withheld
    if what == "revisions":
        frame = read_revisions(engine, indicators=indicators, countries=countries)
        if frame.empty:
            frame["licence"] = pd.Series(dtype=str)
            return frame, 0
        restricted_rows = frame["indicator"].isin(restricted)
        frame = frame.loc[~restricted_rows].reset_index(drop=True)
        frame["licence"] = frame["indicator"].map(licences).fillna("")
        return frame, int(restricted_rows.sum())
    if indicators:
        raise FlashpointError(f"--indicator does not apply to --what {what}")
    if what == "announcements":
        return _announcements_frame(engine, countries, licences.get(ANNOUNCEMENT_INDICATOR, "")), 0
    frame = read_scores(engine)
    if countries:
        frame = frame.loc[frame["country"].isin(countries)].reset_index(drop=True)
    if "detail" in frame.columns:
        frame = _with_trigger_columns(frame)
        frame["detail"] = [
            value if value is None or isinstance(value, str) else json.dumps(value, default=str)
            for value in frame["detail"]
        ]
    frame["licence"] = SCORES_LICENCE
    return frame, 0


def _announcements_frame(
    engine: Any, countries: list[str] | None, licence: str
) -> pd.DataFrame:
    """Stored announcements with dates as YYYY-MM-DD (what the import reads) and their licence."""
    frame = read_announcements(engine, countries=countries)
    for name in ("announced", "effective"):
        frame[name] = pd.to_datetime(frame[name]).dt.strftime("%Y-%m-%d")
    frame["licence"] = licence
    return frame


# Score detail keys exported as their own columns: the trigger state travels with every composite,
# so a spreadsheet never shows a blind country's composite without the blind flag.
TRIGGER_EXPORT_COLUMNS: tuple[str, ...] = (
    "trigger",
    "trigger_state",
    "blind_since",
    "trigger_reason",
    "composite_high",
)


# A saved score keeps the methodology it was computed with (a store holds scores from before an
# upgrade beside newer ones); scores saved before versioning have none and export as "unknown".
UNKNOWN_METHODOLOGY = "unknown"


def _with_trigger_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Add the methodology version and `TRIGGER_EXPORT_COLUMNS` from each row's detail JSON
    (None for older scores)."""
    details = [
        json.loads(value) if isinstance(value, str) else (value or {}) for value in frame["detail"]
    ]
    frame["methodology_version"] = [
        str(detail.get("methodology_version") or UNKNOWN_METHODOLOGY) for detail in details
    ]
    for name in TRIGGER_EXPORT_COLUMNS:
        frame[name] = [detail.get(name) for detail in details]
    return frame


def _write(frame: pd.DataFrame, output: str, file_format: str) -> None:
    if file_format == "csv":
        if output == "-":
            try:
                frame.to_csv(sys.stdout, index=False)
            except BrokenPipeError:
                # The reader (e.g. `| head`) stopped early; that is not an error. Point stdout
                # at /dev/null so the interpreter's final flush does not fail again.
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            return
        Path(output).expanduser().parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(Path(output).expanduser(), index=False)
        return
    if output == "-":
        raise FlashpointError("Parquet cannot be written to stdout; give --output PATH")
    import importlib.util

    if importlib.util.find_spec("pyarrow") is None:
        raise FlashpointError(
            "Parquet export needs pyarrow: pip install 'flashpoint[parquet]'"
        ) from None
    Path(output).expanduser().parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(Path(output).expanduser(), index=False)


def _check_output(output: str) -> None:
    """Refuse an --output that can never be written, before the store is read."""
    if output == "-":
        return
    path = Path(output).expanduser()
    if path.is_dir():
        raise FlashpointError(f"--output {output}: is a directory; give a file name")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise FlashpointError(f"--output {output}: {parent} is not a directory")
            break
    resolved = path.resolve()
    if resolved.parts[1:2] in (("proc",), ("sys",)):  # kernel interfaces, never a file
        raise FlashpointError(
            f"--output {output}: cannot write an export under /{resolved.parts[1]}"
        )


def run(args: argparse.Namespace) -> int:
    """Write the export; prints how many rows went out and how many were withheld."""
    _check_output(args.output)
    settings = settings_from_args(args)
    engine = open_for_reading(settings.database_url)
    try:
        frame, withheld = retry_busy(
            lambda: export_frame(
                settings,
                engine,
                what=args.what,
                indicators=args.indicator,
                countries=args.country,
            ),
            what="exporting",
        )
    finally:
        engine.dispose()
    try:
        _write(frame, args.output, args.format)
    except OSError as error:
        raise FlashpointError(
            f"--output {args.output}: cannot write: {error.strerror or error}"
        ) from None
    message = f"Exported {len(frame)} {args.what} row(s) to {args.output} ({args.format})."
    if withheld:
        message += f" Withheld {withheld} ACLED row(s): ACLED's terms forbid redistribution."
    print(message, file=sys.stderr if args.output == "-" else sys.stdout)
    return 0
