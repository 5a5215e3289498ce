"""`flashpoint replay`: the score as it would have been seen on each past date, and why."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from flashpoint.commands.score import (
    ScoreCommandError,
    blind_notes,
    format_table,
    headline_table,
    open_store,
    parse_day,
)
from flashpoint.config import Settings, add_config_argument, settings_from_args
from indicators.scoring import ScoreFrames

DEFAULT_THRESHOLD = 5.0
DRIVERS_SHOWN = 3


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = frame.to_dict("records")  # type: ignore[assignment]
    return records


def _drivers(frames: ScoreFrames, country: str, day: pd.Timestamp, top: int) -> str:
    """The inputs that moved the composite from the previous replay date to `day`."""
    from indicators.explain import explain_change

    dates = pd.DatetimeIndex(sorted(frames.countries["date"].unique()))
    position = int(dates.searchsorted(day))
    if position == 0:
        return ""
    change = explain_change(frames.at(dates[position - 1]), frames.at(day), country).head(top)
    parts = []
    for row in _records(change):
        delta = float(row["delta"])
        if abs(delta) < 0.005:
            continue
        value = row["value_after"]
        shown = "" if pd.isna(value) else f" (value {float(value):.4g})"
        parts.append(f"{row['indicator']} {delta:+.2f}{shown}")
    return "; ".join(parts)


def _alert_events(
    settings: Settings,
    engine: Engine,
    observations: pd.DataFrame,
    country: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> pd.DataFrame | None:
    """The alert events the rules would have produced, when the alerts service is installed."""
    try:
        from flashpoint.alerts import effective_rules, replay_alerts
    except ImportError:
        return None
    rules = effective_rules(engine, settings)
    events: pd.DataFrame = replay_alerts(
        observations,
        settings.catalogue(),
        rules,
        country=country,
        start=start,
        end=end,
        watched=list(settings.general.countries),
    )
    return events


def _json(frame: pd.DataFrame) -> Any:
    return json.loads(frame.to_json(orient="records", date_format="iso"))


def _level(value: Any) -> str:
    """A trigger level in a crossing: a blind trigger has none and says so."""
    return "blind" if pd.isna(value) else f"{value:.2f}"


def _print_events(crossings: pd.DataFrame, changes: pd.DataFrame, threshold: float) -> None:
    print(f"Trigger crossings (trigger ≥ {threshold:g}):")
    if crossings.empty:
        print("  none")
    for row in _records(crossings):
        driver = row["trigger_driver"] or row["top_driver"]
        print(
            f"  {pd.Timestamp(row['date']):%Y-%m-%d} {row['country']} {row['direction']}: "
            f"trigger {_level(row['trigger_before'])} → {_level(row['trigger_after'])}, "
            f"composite {row['composite']:.2f} ({row['band']}); driver {driver}"
        )
        if row["drivers"]:
            print(f"    what moved it: {row['drivers']}")
    print()
    print("Band changes:")
    if changes.empty:
        print("  none")
    for row in _records(changes):
        print(
            f"  {pd.Timestamp(row['date']):%Y-%m-%d} {row['country']} {row['band_before']} → "
            f"{row['band']} ({row['direction']}): composite {row['composite_before']:.2f} → "
            f"{row['composite']:.2f}; top driver {row['top_driver']}"
        )
        if row["drivers"]:
            print(f"    what moved it: {row['drivers']}")


def _print_alerts(alerts: dict[str, pd.DataFrame | None]) -> None:
    for country, events in alerts.items():
        print()
        if events is None:
            print("Alerts: the alerts service is not installed; see the trigger crossings above.")
            return
        print(f"Alerts the default rules would have fired for {country}:")
        fired = events[events["to_state"] == "firing"] if "to_state" in events.columns else events
        if fired.empty:
            print("  none")
        for row in _records(fired):
            print(
                f"  {pd.Timestamp(row['date']):%Y-%m-%d} {row.get('rule_id', '')}: "
                f"{row.get('message', '')}"
            )


def run(args: argparse.Namespace) -> int:
    """Handler of `flashpoint replay`."""
    from flashpoint.scoring import real_countries, replay_frames_from_store
    from indicators.replay import band_changes, replay_table, trigger_crossings

    settings = settings_from_args(args)
    catalogue = settings.catalogue()
    countries = [code.upper() for code in (args.country or [settings.general.default_country])]
    unknown = [code for code in countries if code not in real_countries(countries)]
    if unknown:
        raise ScoreCommandError(f"--country: unknown ISO3 code(s): {', '.join(unknown)}")
    start = parse_day(args.start, "--from")
    end = parse_day(args.end, "--to")
    if end < start:
        raise ScoreCommandError(f"--to {end:%Y-%m-%d} is before --from {start:%Y-%m-%d}")
    from flashpoint.store import retry_busy

    engine = open_store(settings)
    alerts: dict[str, pd.DataFrame | None] = {}
    try:
        frames, observations = retry_busy(
            lambda: replay_frames_from_store(
                engine, settings, countries=countries, start=start, end=end, every=args.every
            ),
            what="replaying",
        )
        if args.alerts:
            for country in countries:
                alerts[country] = _alert_events(settings, engine, observations, country, start, end)
    finally:
        engine.dispose()
    table = replay_table(frames, catalogue)
    crossings = trigger_crossings(table, args.threshold)
    changes = band_changes(table, catalogue)
    for events in (crossings, changes):
        events["drivers"] = [
            _drivers(frames, str(row["country"]), pd.Timestamp(row["date"]), DRIVERS_SHOWN)
            for row in _records(events)
        ]

    if args.format == "csv":
        table.to_csv(sys.stdout, index=False, date_format="%Y-%m-%d")
        return 0
    if args.format == "json":
        document = {
            "countries": countries,
            "from": f"{start:%Y-%m-%d}",
            "to": f"{end:%Y-%m-%d}",
            "every": args.every,
            "threshold": args.threshold,
            "series": _json(table),
            "trigger_crossings": _json(crossings),
            "band_changes": _json(changes),
            "alerts": {
                country: None if events is None else _json(events)
                for country, events in alerts.items()
            },
        }
        json.dump(document, sys.stdout, indent=2, default=str)
        print()
        return 0

    pillar_ids = [p.id for p in catalogue.pillars if p.kind in ("structural", "trigger")]
    shown = [
        "date",
        "country",
        "composite",
        "band",
        "vulnerability",
        "trigger",
        *pillar_ids,
        "top_driver",
    ]
    print(
        f"Replay {', '.join(countries)} {start:%Y-%m-%d} → {end:%Y-%m-%d} (every {args.every}): "
        "each row scored from what had been published by the end of that day"
    )
    print()
    print(format_table(headline_table(table, shown)))
    notes = blind_notes(table)
    if notes:
        print()
        print("Blind triggers at the end of the range (composite shown as a range):")
        print("\n".join(f"  {note}" for note in notes))
    print()
    _print_events(crossings, changes, args.threshold)
    _print_alerts(alerts)
    return 0


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the `replay` sub-command."""
    parser = subparsers.add_parser(
        "replay",
        help="the score as it would have been seen on each past date, and what moved it",
        description="Replay the score of a country over a date range, point in time: each date "
        "sees only the observations published by its end. Prints the series, the trigger "
        "crossings and band changes with the inputs that drove them, and the alerts the rules "
        "would have fired. Loads the bundled snapshot into an empty store first.",
    )
    parser.add_argument(
        "--country",
        action="append",
        metavar="ISO3",
        help="country (repeatable; default: the config's default country)",
    )
    parser.add_argument(
        "--from", dest="start", required=True, metavar="YYYY-MM-DD", help="first date"
    )
    parser.add_argument(
        "--to", dest="end", required=True, metavar="YYYY-MM-DD", help="last date (included)"
    )
    parser.add_argument(
        "--every", choices=("day", "week"), default="day", help="step between dates"
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        help=f"trigger level (0–10) whose crossings are listed (default {DEFAULT_THRESHOLD:g})",
    )
    parser.add_argument(
        "--no-alerts",
        dest="alerts",
        action="store_false",
        help="do not replay the alert rules (only the score series and crossings)",
    )
    parser.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        default="table",
        help="table (default), json (series, crossings, band changes, alerts) or csv (the series)",
    )
    add_config_argument(parser)
    parser.set_defaults(handler=run)
