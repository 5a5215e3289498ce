"""`flashpoint alerts evaluate|list|history|test-channel|silence|replay`: alerts from a shell."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from flashpoint.commands.actor import cli_actor
from flashpoint.config import Settings, add_config_argument, settings_from_args
from flashpoint.errors import FlashpointError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([hdw])\s*$")
_MAX_SILENCE_HOURS = 10 * 366 * 24


class AlertsCommandError(FlashpointError):
    """A bad argument to an `alerts` sub-command (the message names it)."""

    exit_code = 2


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@contextmanager
def _open_store(settings: Settings, *, create: bool) -> Iterator[Any]:
    """The store's engine for one command, disposed when the command is done. `create` makes
    the schema; otherwise a store that was never initialised is a clear error."""
    from flashpoint import store

    # Writing sub-commands create or upgrade the schema; reading ones open the store read-only
    # (never taking the write lock) and report a missing or older store in one line.
    engine = (
        store.open_for_writing(settings.database_url)
        if create
        else store.open_for_reading(settings.database_url)
    )
    try:
        yield engine
    finally:
        engine.dispose()


def _print_table(frame: pd.DataFrame, empty: str) -> None:
    if frame.empty:
        print(empty)
        return
    with pd.option_context("display.width", 200, "display.max_colwidth", 90):
        print(frame.to_string(index=False))


def _parse_until(text: str, now: datetime) -> datetime:
    match = _DURATION.match(text)
    if match:
        amount, unit = float(match.group(1)), match.group(2)
        hours = {"h": 1, "d": 24, "w": 168}[unit] * amount
        if hours > _MAX_SILENCE_HOURS:
            raise AlertsCommandError(
                f"--until {text!r}: a silence lasts at most 10 years; give a shorter duration "
                "or a date"
            )
        return now + timedelta(hours=hours)
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, OverflowError):
        stamp = None
    if stamp is None or pd.isna(stamp):
        raise AlertsCommandError(
            f"--until {text!r}: give a date/time (2026-01-31, 2026-01-31T18:00) or a duration "
            "(12h, 3d, 2w)"
        )
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.to_pydatetime()


# --------------------------------------------------------------------------------------------
# Handlers


def run_evaluate(args: argparse.Namespace) -> int:
    """Evaluate every rule once, persist the states and send the notifications due."""
    from flashpoint.alerts import evaluate_alerts

    settings = settings_from_args(args)
    with _open_store(settings, create=True) as engine:
        report = evaluate_alerts(engine, settings, as_of=args.as_of)
    print(
        f"evaluated {report.rules} rules × their countries = {report.instances} instances as of "
        f"{report.as_of:%Y-%m-%d}: {len(report.events)} state changes, "
        f"{len(report.firing)} firing, {len(report.deliveries)} notifications"
    )
    for event in report.events:
        print(f"  {event.from_state:>8} → {event.to_state:<8} {event.message}")
    for problem in report.problems:
        print(f"warning: {problem}", file=sys.stderr)
    for record in report.failed_deliveries:
        print(
            f"warning: notification {record.notification_id} ({record.rule_id} {record.country}) "
            f"via {record.result.channel} failed after {record.result.attempts} attempts: "
            f"{record.result.error}",
            file=sys.stderr,
        )
    return 0


def run_list(args: argparse.Namespace) -> int:
    """Print the effective rules with where they come from and their firing/pending countries."""
    from flashpoint.alerts import load_rule_entries, read_alert_states

    settings = settings_from_args(args)
    with _open_store(settings, create=False) as engine:
        entries = load_rule_entries(engine, settings)
        states = read_alert_states(engine)
    rows = []
    for entry in entries:
        rule = entry.rule
        mine = states[states["rule_id"] == rule.id] if not states.empty else states
        firing = sorted(mine.loc[mine["state"] == "firing", "country"]) if not mine.empty else []
        pending = sorted(mine.loc[mine["state"] == "pending", "country"]) if not mine.empty else []
        sign = ">" if rule.condition == "above" else "<"
        rows.append(
            {
                "id": rule.id,
                "kind": rule.kind,
                "target": rule.target,
                "condition": f"{sign} {rule.threshold:g}" if rule.threshold is not None else "",
                "recovery": "" if rule.recovery is None else f"{rule.recovery:g}",
                "margin": f"{rule.margin:g}" if rule.kind == "band_change" else "",
                "severity": rule.severity,
                "enabled": "deleted" if entry.deleted else ("yes" if rule.enabled else "no"),
                "origin": entry.origin,
                "firing": ",".join(firing),
                "pending": ",".join(pending),
            }
        )
        if entry.problem:
            print(f"warning: {rule.id}: {entry.problem}", file=sys.stderr)
    _print_table(pd.DataFrame(rows), "no rules")
    return 0


def run_history(args: argparse.Namespace) -> int:
    """Print the state history, newest first."""
    from flashpoint.alerts import read_alert_events

    settings = settings_from_args(args)
    with _open_store(settings, create=False) as engine:
        events = read_alert_events(
            engine, rule_id=args.rule, country=args.country, limit=args.limit
        )
    shown = events[["at", "rule_id", "country", "from_state", "to_state", "value", "message"]]
    _print_table(shown, "no alert history yet")
    return 0


def run_test_channel(args: argparse.Namespace) -> int:
    """Send a clearly-labelled test message through one configured channel."""
    from flashpoint.notify import build_channels, deliver, make_test_notice

    settings = settings_from_args(args)
    configured = settings.notifications.channels
    if args.name not in configured:
        raise AlertsCommandError(
            f"unknown channel {args.name!r} (configured: {', '.join(configured) or 'none'})"
        )
    if not configured[args.name].enabled:
        raise AlertsCommandError(f"channel {args.name!r} is disabled in the config")
    channel = build_channels(settings)[args.name]
    result = deliver(channel, make_test_notice(settings, args.name, now=_now()), attempts=1)
    if result.status == "sent":
        print(f"test message sent through {args.name}")
        return 0
    print(f"flashpoint: error: channel {args.name}: {result.error}", file=sys.stderr)
    return 1


def run_silence_add(args: argparse.Namespace) -> int:
    """Mute a rule and/or a country until a moment."""
    from flashpoint.alerts import add_silence

    if not args.rule and not args.country:
        raise AlertsCommandError("give --rule, --country or both (a silence must mute something)")
    settings = settings_from_args(args)
    now = _now()
    until = _parse_until(args.until, now)
    with _open_store(settings, create=True) as engine:
        silence_id, errors = add_silence(
            engine,
            settings,
            rule_id=args.rule,
            country=args.country,
            until=until,
            comment=args.comment,
            actor=cli_actor(args),
            now=now,
        )
    if errors:
        for error in errors:
            print(f"flashpoint: error: silence {error.field}: {error.message}", file=sys.stderr)
        return 2
    print(f"silence {silence_id} set until {until:%Y-%m-%d %H:%M} UTC")
    return 0


def run_silence_list(args: argparse.Namespace) -> int:
    """Print the silences in force (or all with --all)."""
    from flashpoint.alerts import read_silences

    settings = settings_from_args(args)
    with _open_store(settings, create=False) as engine:
        silences = read_silences(engine, active_only=not args.all)
    _print_table(silences, "no silences in force")
    return 0


def run_silence_expire(args: argparse.Namespace) -> int:
    """End a silence now."""
    from flashpoint.alerts import expire_silence

    settings = settings_from_args(args)
    with _open_store(settings, create=True) as engine:
        ended = expire_silence(engine, args.id, actor=cli_actor(args))
    if not ended:
        print(f"flashpoint: error: silence {args.id} does not exist or has ended", file=sys.stderr)
        return 1
    print(f"silence {args.id} ended")
    return 0


def run_replay(args: argparse.Namespace) -> int:
    """Which rules would have fired when for one country (same evaluator, point in time)."""
    from flashpoint import store
    from flashpoint.alerts import effective_rules, replay_alerts
    from indicators.observations import WORLD

    settings = settings_from_args(args)
    with _open_store(settings, create=False) as engine:
        observations = store.read_observations(engine, countries=[args.country, WORLD])
        rules = effective_rules(engine, settings)
    try:
        frame = replay_alerts(
            observations,
            settings.catalogue(),
            rules,
            country=args.country,
            start=args.start,
            end=args.end,
            watched=settings.general.countries,
        )
    except ValueError as error:
        raise AlertsCommandError(str(error)) from None
    frame = frame.assign(date=frame["date"].dt.strftime("%Y-%m-%d"))
    _print_table(
        frame[["date", "rule_id", "from_state", "to_state", "value", "threshold", "notify"]],
        "no rule would have changed state",
    )
    return 0


# --------------------------------------------------------------------------------------------
# Parser


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the `alerts` sub-command and its own sub-commands."""
    parser = subparsers.add_parser(
        "alerts",
        help="evaluate alert rules, list them, show history, test channels, silence",
        description="Alert rules (config.toml [[alerts.rules]], overridden by admins in the "
        "dashboard): evaluate them, list them with their state, show the history, send a test "
        "message through a channel, and manage silences.",
    )
    actions = parser.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)

    evaluate = actions.add_parser(
        "evaluate",
        help="evaluate every rule now, record states, send notifications",
        description="Score the store, evaluate every enabled rule for every country in scope, "
        "persist the states and history, then send the notifications due (each exactly once). "
        "Run by the scheduler after each refresh.",
    )
    evaluate.add_argument("--as-of", default=None, help="score as of this day (default: today)")
    add_config_argument(evaluate)
    evaluate.set_defaults(handler=run_evaluate)

    listing = actions.add_parser(
        "list",
        help="the rules with origin, enabled, firing and pending countries",
        description="List the effective rules: config defaults and dashboard overrides.",
    )
    add_config_argument(listing)
    listing.set_defaults(handler=run_list)

    history = actions.add_parser(
        "history",
        help="the state history, newest first",
        description="Every recorded state change (and re-notification), newest first.",
    )
    history.add_argument("--rule", default=None, help="only this rule id")
    history.add_argument("--country", default=None, help="only this ISO3 country")
    history.add_argument("--limit", type=int, default=50, help="at most this many rows (50)")
    add_config_argument(history)
    history.set_defaults(handler=run_history)

    test = actions.add_parser(
        "test-channel",
        help="send a test message through a channel",
        description="Send a clearly-labelled test message through one configured notification "
        "channel ([notifications.channels.NAME]); exits 1 when it cannot be delivered.",
    )
    test.add_argument("name", metavar="NAME", help="the channel name, e.g. log or email")
    add_config_argument(test)
    test.set_defaults(handler=run_test_channel)

    silence = actions.add_parser(
        "silence",
        help="mute a rule or a country until a date (add, list, expire)",
        description="Silences mute notifications (states and history are still recorded).",
    )
    silence_actions = silence.add_subparsers(
        dest="silence_command", metavar="ACTION", required=True
    )

    add = silence_actions.add_parser(
        "add",
        help="add a silence",
        description="Mute a rule (--rule), a country (--country) or one rule in one country.",
    )
    add.add_argument("--rule", default=None, help="rule id to mute (default: every rule)")
    add.add_argument("--country", default=None, help="ISO3 country to mute (default: every one)")
    add.add_argument(
        "--until", required=True, help="end: a date/time (UTC) or a duration such as 12h, 3d, 2w"
    )
    add.add_argument("--comment", required=True, help="why (shown with the silence)")
    add.add_argument("--by", default=None, help="who sets it (default: your user name)")
    add_config_argument(add)
    add.set_defaults(handler=run_silence_add)

    listing = silence_actions.add_parser(
        "list", help="silences in force", description="List silences (in force, or --all)."
    )
    listing.add_argument("--all", action="store_true", help="include ended silences")
    add_config_argument(listing)
    listing.set_defaults(handler=run_silence_list)

    expire = silence_actions.add_parser(
        "expire", help="end a silence now", description="End a silence now (audited)."
    )
    expire.add_argument("id", type=int, help="the silence id (see `silence list`)")
    expire.add_argument("--by", default=None, help="who ends it (default: your user name)")
    add_config_argument(expire)
    expire.set_defaults(handler=run_silence_expire)

    replay = actions.add_parser(
        "replay",
        help="which rules would have fired when, for one country",
        description="Evaluate the effective rules day by day over a past period, point in time, "
        "with the same evaluator as `alerts evaluate` (no notifications are sent).",
    )
    replay.add_argument("--country", default="KAZ", help="ISO3 country (default KAZ)")
    replay.add_argument("--start", default="2021-10-01", help="first day (default 2021-10-01)")
    replay.add_argument("--end", default="2022-02-15", help="last day (default 2022-02-15)")
    add_config_argument(replay)
    replay.set_defaults(handler=run_replay)
