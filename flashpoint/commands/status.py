"""`flashpoint status`: what is in the store, per source and indicator, and each source's runs."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.engine import make_url

from flashpoint.config import Settings, add_config_argument, settings_from_args
from flashpoint.store import (
    CURRENT_SCHEMA_VERSION,
    countries_with_indicators,
    is_empty,
    last_fetch_runs,
    make_engine,
    mask_url,
    read_schema_version,
    retry_busy,
    store_summary,
)
from flashpoint.store.runs import process_is_gone

SERIES_COLUMNS = (
    "source",
    "indicator",
    "rows",
    "countries",
    "first_period",
    "last_period",
    "last_fetched_at",
    "licence",
)
# The generic domestic fuel catalogue (any country, the country's own currency).
DOMESTIC_FUEL_INDICATORS = (
    "fuel_gasoline_retail",
    "fuel_diesel_retail",
    "fuel_lpg_retail",
    "fuel_kerosene_retail",
)
# Longest licence text shown in the table (json and csv carry it whole).
TABLE_LICENCE_WIDTH = 48
SOURCE_COLUMNS = (
    "source",
    "enabled",
    "schedule",
    "next_run",
    "last_run",
    "last_status",
    "rows_new",
    "rows_changed",
    "error",
)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the `status` sub-command."""
    parser = subparsers.add_parser(
        "status",
        help="what is in the store, per source and indicator, and each source's last run",
        description="Summarise the store: rows, countries and first/last period per source and "
        "indicator, and per configured source its schedule, next run and last fetch run.",
    )
    parser.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        default="table",
        help="table (default, for people), json (everything) or csv (the per-series table)",
    )
    add_config_argument(parser)
    parser.set_defaults(handler=run)


def _store_file_missing(url: str) -> bool:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return False
    database = parsed.database or ""
    return bool(database) and database != ":memory:" and not Path(database).expanduser().exists()


def _next_run(schedule: str, timezone: str, now: datetime) -> str:
    from flashpoint.schedules import next_run_time

    fire = next_run_time(schedule, timezone=timezone, now=now)
    return "" if fire is None else fire.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _stamp(value: Any, with_time: bool) -> str:
    if value is None or pd.isna(value):
        return ""
    stamp = pd.Timestamp(value)
    return stamp.strftime("%Y-%m-%d %H:%M") if with_time else stamp.strftime("%Y-%m-%d")


def _sources_table(settings: Settings, runs: pd.DataFrame) -> pd.DataFrame:
    now = datetime.now(UTC)
    latest = {str(row["source"]): row for _, row in runs.iterrows()} if not runs.empty else {}
    names = list(settings.sources.names()) + sorted(set(latest) - set(settings.sources.names()))
    rows: list[dict[str, Any]] = []
    for name in names:
        configured = settings.sources.get(name) if name in settings.sources.names() else None
        run = latest.get(name)
        rows.append(
            {
                "source": name,
                "enabled": "" if configured is None else ("yes" if configured.enabled else "no"),
                "schedule": "" if configured is None else configured.schedule,
                "next_run": (
                    _next_run(configured.schedule, settings.scheduler.timezone, now)
                    if configured is not None and configured.enabled
                    else ""
                ),
                "last_run": ""
                if run is None
                else _stamp(
                    run["finished_at"] if not _missing(run["finished_at"]) else run["started_at"],
                    True,
                ),
                "last_status": "never run" if run is None else _run_status(run),
                "rows_new": "" if run is None else _int_text(run["rows_new"]),
                "rows_changed": "" if run is None else _int_text(run["rows_changed"]),
                "error": _run_error(run),
            }
        )
    return pd.DataFrame(rows, columns=list(SOURCE_COLUMNS))


@dataclass(frozen=True)
class WfpReach:
    """Which countries the live WFP fetcher reaches on HDX, from the config alone."""

    enabled: bool
    live: list[str]
    unlinked: list[str]


def wfp_reach(settings: Settings) -> WfpReach:
    """The configured WFP countries with an HDX download link (reached by a refresh) and those
    without one (requested under the flat mirror name, which HDX does not serve)."""
    wfp: Any = settings.source("wfp")
    linked = {str(code).upper() for code in wfp.resources}
    countries = [str(code).upper() for code in wfp.countries]
    return WfpReach(
        enabled=bool(wfp.enabled),
        live=sorted(code for code in countries if code in linked),
        unlinked=sorted(code for code in countries if code not in linked),
    )


def wfp_reach_text(reach: WfpReach) -> str:
    """One paragraph for the text format: how far the live WFP fetcher reaches, and why the
    other countries' WFP rows come from the bundled snapshot only."""
    if not reach.enabled:
        return ("WFP market prices: live fetching is off ([sources.wfp] enabled = false); WFP rows "
                "come only from the bundled snapshot.")
    text = (
        f"WFP market prices: a refresh reaches {len(reach.live)} "
        f"{'country' if len(reach.live) == 1 else 'countries'} on HDX, those whose download link "
        "is known ([sources.wfp] resources, each found in a public source). HDX publishes files "
        "for more countries, which a refresh does not fetch: their WFP rows come only from the "
        "bundled snapshot where it has them"
        f"{'' if 'PAK' in reach.live else ' (Pakistan)'}, and are never updated."
    )
    if reach.unlinked:
        text += (f" Configured without an HDX link (fetched under the mirror name, "
                 f"which HDX does not serve): {', '.join(reach.unlinked)}.")
    return text


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _missing(value: Any) -> bool:
    """None, NaN or NaT: a missing cell (pandas turns a NULL into NaN in an object column)."""
    return value is None or bool(pd.isna(value))


def _run_status(run: Any) -> str:
    """The run's status; a `running` run whose process is gone shows as interrupted already
    (status is read-only: the next writing command records it)."""
    status = str(run["status"])
    detail = run.get("detail")
    if status == "running" and isinstance(detail, dict) and process_is_gone(detail):
        return "interrupted"
    return status


def _run_error(run: Any) -> str:
    if run is None:
        return ""
    if _run_status(run) == "interrupted" and str(run["status"]) == "running":
        return "its process ended before the run finished"
    error = run["error"]
    # One short line; "" when there is none (never "nan").
    return "" if _missing(error) else " ".join(str(error).split())[:80]


def _int_text(value: Any) -> str:
    return "" if value is None or pd.isna(value) else str(int(value))


def _licences(settings: Settings) -> dict[tuple[str, str], str]:
    """(source, indicator) → the licence its rows are under, "" where none is recorded.

    Snapshot datasets carry their own licence and attribution in the manifest; a live source's
    rows are under the licence the catalogue records for the indicator.
    """
    from flashpoint.snapshot import SnapshotError, snapshot_manifest

    catalogue = settings.catalogue()
    by_indicator = {item.id: item.licence for item in catalogue.indicators}
    licences: dict[tuple[str, str], str] = {}
    try:
        datasets = snapshot_manifest().get("datasets", {})
    except SnapshotError:
        datasets = {}
    for dataset in datasets.values():
        # The licence first (it survives the table's shortening), then whom to credit.
        parts = [str(dataset.get(key) or "").strip() for key in ("licence", "attribution")]
        text = " · ".join(part for part in parts if part)
        for indicator in dataset.get("indicators", {}):
            licences[(str(dataset.get("source", "")), str(indicator))] = text
    licences.update(
        {("", indicator): text for indicator, text in by_indicator.items()}  # live fallback
    )
    return licences


def _licence_for(licences: dict[tuple[str, str], str], source: str, indicator: str) -> str:
    return licences.get((source, indicator)) or licences.get(("", indicator), "")


def _series_table(summary: pd.DataFrame, licences: dict[tuple[str, str], str]) -> pd.DataFrame:
    summary = summary.copy()
    summary["licence"] = [
        _licence_for(licences, str(source), str(indicator))
        for source, indicator in zip(summary["source"], summary["indicator"], strict=True)
    ]
    out = summary.loc[:, list(SERIES_COLUMNS)].copy()
    for name in ("first_period", "last_period"):
        out[name] = [_stamp(value, False) for value in out[name]]
    out["last_fetched_at"] = [_stamp(value, True) for value in out["last_fetched_at"]]
    return out


def format_table(frame: pd.DataFrame) -> str:
    """A plain fixed-width table (left-aligned text, right-aligned numbers)."""
    columns = list(frame.columns)
    cells = [[str(value) for value in row] for row in frame.itertuples(index=False)]
    numeric = [pd.api.types.is_numeric_dtype(frame[name]) for name in columns]
    widths = [max([len(name)] + [len(row[i]) for row in cells]) for i, name in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        parts = [
            value.rjust(widths[i]) if numeric[i] else value.ljust(widths[i])
            for i, value in enumerate(values)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(columns), rule, *(line(row) for row in cells)])


def run(args: argparse.Namespace) -> int:
    """Print the store's summary in the requested format."""
    settings = settings_from_args(args)
    url = settings.database_url
    shown_url = mask_url(url)
    missing = _store_file_missing(url)
    version: int | None = None
    summary = pd.DataFrame(columns=list(SERIES_COLUMNS))
    runs = pd.DataFrame()
    fuel_countries = 0
    if not missing:
        # Read-only: status never creates, upgrades or locks the store.
        engine = make_engine(url, read_only=True)
        try:
            version = retry_busy(lambda: read_schema_version(engine), what="reading the store")
            if version == CURRENT_SCHEMA_VERSION:
                if not retry_busy(lambda: is_empty(engine), what="reading the store"):
                    summary = retry_busy(lambda: store_summary(engine), what="summarising")
                    fuel_countries = retry_busy(
                        lambda: countries_with_indicators(engine, DOMESTIC_FUEL_INDICATORS),
                        what="counting the countries with fuel prices",
                    )
                runs = retry_busy(lambda: last_fetch_runs(engine), what="reading fetch runs")
        finally:
            engine.dispose()
    series = _series_table(summary, _licences(settings))
    sources = _sources_table(settings, runs)
    reach = wfp_reach(settings)
    if missing or version is None:
        hint = (
            f"No store at {shown_url} yet. Run `flashpoint init` to create it, then "
            "`flashpoint load-snapshot` to load the bundled data."
        )
    elif version < CURRENT_SCHEMA_VERSION:
        hint = (
            f"The store at {shown_url} has schema version {version}, this Flashpoint reads "
            f"version {CURRENT_SCHEMA_VERSION}: run `flashpoint init` to upgrade it."
        )
    elif version > CURRENT_SCHEMA_VERSION:
        hint = (
            f"The store at {shown_url} has schema version {version}, newer than this Flashpoint "
            f"understands ({CURRENT_SCHEMA_VERSION}): upgrade Flashpoint."
        )
    elif series.empty:
        hint = (
            f"The store at {shown_url} is empty. Run `flashpoint load-snapshot` to load the "
            "bundled data, `flashpoint refresh` to fetch from the sources, or `flashpoint import "
            "FILE` for your own series."
        )
    else:
        hint = ""
    if args.format == "json":
        document = {
            "store": shown_url,
            "schema_version": version,
            "empty": series.empty,
            "domestic_fuel_countries": fuel_countries,
            "wfp_live_countries": reach.live,
            "hint": hint,
            "series": series.to_dict("records"),
            "sources": sources.to_dict("records"),
        }
        json.dump(document, sys.stdout, indent=2, default=str)
        print()
        return 0
    if args.format == "csv":
        if hint:
            print(hint, file=sys.stderr)
        series.to_csv(sys.stdout, index=False)
        return 0
    print(f"Store: {shown_url}" + (f" (schema version {version})" if version is not None else ""))
    if hint:
        print(hint)
    else:
        total = int(summary["rows"].sum())
        print(f"{total} observations in {len(series)} series (source × indicator).")
        print(
            f"Domestic retail fuel prices for {fuel_countries} "
            f"{'country' if fuel_countries == 1 else 'countries'} "
            f"({', '.join(DOMESTIC_FUEL_INDICATORS)})."
        )
        print()
        shown = series.copy()
        shown["licence"] = [_shorten(text, TABLE_LICENCE_WIDTH) for text in shown["licence"]]
        print(format_table(shown))
    print()
    print("Sources:")
    print(format_table(sources))
    print()
    print(wfp_reach_text(reach))
    return 0
