"""`flashpoint score`: composite, band, pillars, confidence and top contributors, as of a date."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

import pandas as pd

from flashpoint.config import add_config_argument, settings_from_args
from flashpoint.errors import FlashpointError
from indicators.announced_shocks import ANNOUNCED_SHOCK_INDICATOR, announcement_behind_shock
from indicators.methodology import METHODOLOGY_VERSION
from indicators.trigger_driver import describe_driver, trigger_driver
from indicators.trigger_state import describe_composite, describe_trigger, is_blind

TOP_CONTRIBUTORS = 5


class ScoreCommandError(FlashpointError):
    """A bad argument of `score` / `replay` (unknown country, bad date)."""

    exit_code = 2


def parse_day(text: str, option: str) -> pd.Timestamp:
    """A YYYY-MM-DD option value as a day (ScoreCommandError naming the option otherwise)."""
    try:
        return pd.Timestamp(text).normalize()
    except (ValueError, TypeError) as error:
        raise ScoreCommandError(f"{option}: {text!r} is not a date (YYYY-MM-DD)") from error


def format_table(frame: pd.DataFrame, *, digits: int = 2) -> str:
    """A plain fixed-width table: numbers right-aligned and rounded, text left-aligned."""
    columns = [str(name) for name in frame.columns]
    numeric = [pd.api.types.is_numeric_dtype(frame[name]) for name in frame.columns]

    def cell(value: Any, is_number: bool) -> str:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return "–"
        if isinstance(value, pd.Timestamp):
            return value.strftime("%Y-%m-%d")
        if is_number and isinstance(value, float):
            return f"{value:.{digits}f}"
        return str(value)

    rows = [
        [cell(value, numeric[i]) for i, value in enumerate(row)]
        for row in frame.itertuples(index=False)
    ]
    widths = [max([len(name)] + [len(row[i]) for row in rows]) for i, name in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        parts = [
            value.rjust(widths[i]) if numeric[i] else value.ljust(widths[i])
            for i, value in enumerate(values)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(columns), rule, *(line(row) for row in rows)])


def open_store(settings: Any) -> Any:
    """A read-only engine on the configured store, which never takes the write lock.

    A fresh install (no store, no schema, or no observations yet) is the one case that writes:
    the bundled snapshot loads itself first, and stderr says so in one line. An older schema is
    a one-line error: only a writing command (`flashpoint init`) upgrades it.
    """
    from flashpoint import snapshot, store

    url = settings.database_url
    try:
        engine = store.open_for_reading(url)
    except store.StoreNotReadyError as error:
        if error.kind not in ("missing", "uninitialised"):
            raise
    else:
        try:
            empty = store.retry_busy(lambda: store.is_empty(engine), what="reading the store")
        except BaseException:
            engine.dispose()
            raise
        if not empty:
            return engine
        engine.dispose()
    print(
        f"flashpoint: the store at {store.mask_url(url)} holds no data yet: "
        "loading the bundled snapshot first",
        file=sys.stderr,
    )
    writer = store.open_for_writing(url)
    try:
        snapshot.ensure_snapshot_loaded(writer, progress=snapshot.print_progress())
    finally:
        writer.dispose()
    return store.open_for_reading(url)


def _countries_frame(panel: Any) -> pd.DataFrame:
    countries: pd.DataFrame = panel.countries.reset_index()
    pillars = panel.pillars.pivot(index="country", columns="pillar", values="score")
    return countries.join(pillars, on="country")


def _pillar_order(catalogue: Any) -> list[str]:
    return [p.id for p in catalogue.pillars if p.kind in ("structural", "trigger")]


def _contributors(panel: Any, country: str, top: int) -> pd.DataFrame:
    rows = panel.contributions[panel.contributions["country"] == country]
    rows = rows[rows["contribution"].notna()].nlargest(top, "contribution")
    shown = rows[
        ["indicator", "pillar", "value", "unit", "period", "status", "normalised", "contribution"]
    ].copy()
    shown["period"] = pd.to_datetime(shown["period"]).dt.strftime("%Y-%m-%d")
    result: pd.DataFrame = shown.reset_index(drop=True)
    return result


def _missing(panel: Any, country: str) -> list[str]:
    rows = panel.contributions[panel.contributions["country"] == country]
    return sorted(rows.loc[rows["status"] == "missing", "indicator"].astype(str))


def trigger_driver_text(
    panel: Any, catalogue: Any, country: str, announcements: pd.DataFrame
) -> str:
    """What drives `country`'s trigger, in words ("" when no trigger input is raised).

    A scheduled shock names the announcement whose change is scored ("Announced price change:
    LPG +100 % announced 1 Dec 2021, effective 1 Jan 2022"), from the stored calendar.
    """
    driver = trigger_driver(panel.contributions, country)
    if driver is None:
        return ""
    indicator = str(driver["indicator"])
    announcement = None
    if indicator == ANNOUNCED_SHOCK_INDICATOR:
        announcement = announcement_behind_shock(
            announcements, country, driver["period"], float(driver["value"])
        )
    names = {item.id: item.name for item in catalogue.indicators}
    return describe_driver(driver, names.get(indicator, indicator), announcement=announcement)


def _country_text(
    panel: Any, catalogue: Any, country: str, top: int, announcements: pd.DataFrame
) -> str:
    row = panel.countries.loc[country]
    composite = row["composite"]
    head = (
        f"{country}  composite {describe_composite(row, digits=2)}"
        if pd.notna(composite)
        else f"{country}  no score: {row['reason']}"
    )
    lines = [
        head,
        f"  structural vulnerability {row['vulnerability']:.2f}   "
        f"{describe_trigger(row, digits=2)}",
        f"  confidence: {row['confidence']} (oldest input {row['oldest_input_age_days']:.0f} "
        f"days, newest {row['newest_input_age_days']:.0f} days)",
    ]
    driver = trigger_driver_text(panel, catalogue, country, announcements)
    if driver:
        lines.append(f"  trigger driver: {driver}")
    pillars = panel.pillars[panel.pillars["country"] == country].set_index("pillar")
    parts = []
    for pillar_id in _pillar_order(catalogue):
        if pillar_id in pillars.index:
            score = pillars.at[pillar_id, "score"]
            parts.append(f"{pillar_id} {score:.2f}" if pd.notna(score) else f"{pillar_id} –")
    lines.append("  pillars: " + " · ".join(parts))
    if row["missing_pillars"]:
        lines.append(f"  pillars without inputs: {row['missing_pillars']}")
    missing = _missing(panel, country)
    if missing:
        lines.append(f"  missing inputs: {', '.join(missing)}")
    lines.append("  top contributors:")
    table = format_table(_contributors(panel, country, top))
    lines.extend("    " + text for text in table.splitlines())
    return "\n".join(lines)


def trigger_cell(row: Any) -> str:
    """A table cell for the trigger: "7.30 (active)", "0.40 (quiet)", "blind since 6 Jan 2022"."""
    text = describe_trigger(row, digits=2).removeprefix("trigger ")
    return text.split(":")[0] if is_blind(row) else text


def composite_cell(row: Any) -> str:
    """A table cell for the composite: "4.20", or a blind country's range "3.50–8.05"."""
    if pd.isna(row["composite"]):
        return "–"
    return describe_composite(row, digits=2).split(" (")[0]


def band_cell(row: Any) -> str:
    """A table cell for the band, flagged when the trigger is blind."""
    return f"{row['band']} (trigger blind)" if is_blind(row) else str(row["band"])


def headline_table(table: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """`table[columns]` for printing: composite, band and trigger as honest text cells.

    A blind country's composite is shown as its range, its band flagged and its trigger as
    "blind since …" — never a number that reads as calm.
    """
    records = table.to_dict("records")
    shown = table[list(columns)].copy()
    cells = {"composite": composite_cell, "band": band_cell, "trigger": trigger_cell}
    for name, cell in cells.items():
        if name in shown.columns:
            shown[name] = [cell(record) for record in records]
    return shown.reset_index(drop=True)


def blind_notes(table: pd.DataFrame) -> list[str]:
    """One line per blind country: "KGZ trigger blind since …: no fresh … data"."""
    if "trigger_state" not in table.columns:
        return []
    blind = table[table["trigger_state"] == "blind"].drop_duplicates("country", keep="last")
    return [f"{r['country']} {describe_trigger(r)}" for r in blind.to_dict("records")]


def _json_document(
    panel: Any, catalogue: Any, countries: list[str], top: int, announcements: pd.DataFrame
) -> dict[str, Any]:
    def clean(value: Any) -> Any:
        if pd.api.types.is_scalar(value) and pd.isna(value):
            return None
        if isinstance(value, pd.Timestamp):
            return value.strftime("%Y-%m-%d")
        if hasattr(value, "item"):
            return clean(value.item())
        return value

    out = []
    for country in countries:
        row = {key: clean(value) for key, value in panel.countries.loc[country].items()}
        pillars = panel.pillars[panel.pillars["country"] == country]
        row["country"] = country
        row["trigger_text"] = describe_trigger(panel.countries.loc[country], digits=2)
        row["composite_text"] = describe_composite(panel.countries.loc[country], digits=2)
        row["trigger_driver_text"] = (
            trigger_driver_text(panel, catalogue, country, announcements) or None
        )
        row["pillars"] = {
            str(p): clean(s) for p, s in zip(pillars["pillar"], pillars["score"], strict=True)
        }
        contributions = panel.contributions[panel.contributions["country"] == country]
        row["contributions"] = [
            {key: clean(value) for key, value in record.items()}
            for record in contributions.sort_values(
                "contribution", ascending=False, na_position="last"
            ).to_dict("records")
        ]
        row["top_contributors"] = _contributors(panel, country, top)["indicator"].tolist()
        out.append(row)
    return {
        "as_of": panel.as_of.strftime("%Y-%m-%d"),
        "methodology_version": METHODOLOGY_VERSION,
        "countries": out,
    }


def stored_or_scored(
    engine: Any, settings: Any, *, as_of: pd.Timestamp | None, countries: list[str] | None
) -> Any:
    """Today's score read from the stored panel when it is current for this store, methodology
    and config (the precompute); otherwise scored from the store now. Both give the same panel."""
    from flashpoint.precompute import read_panel
    from flashpoint.scoring import score_from_store, today

    day = today()
    if as_of is None or as_of == day:
        stored = read_panel(
            engine, settings.catalogue(), day.date(), with_reference=False, countries=countries
        )
        if stored is not None and (
            countries is None or all(code in stored.now.countries.index for code in countries)
        ):
            return stored.now
    return score_from_store(engine, settings, as_of=as_of, countries=countries)


def run(args: argparse.Namespace) -> int:
    """Handler of `flashpoint score`."""
    from flashpoint.scoring import real_countries

    settings = settings_from_args(args)
    catalogue = settings.catalogue()
    as_of = parse_day(args.as_of, "--as-of") if args.as_of else None
    if args.country:
        countries = [code.upper() for code in args.country]
        unknown = [code for code in countries if code not in real_countries(countries)]
        if unknown:
            raise ScoreCommandError(f"--country: unknown ISO3 code(s): {', '.join(unknown)}")
    elif args.all:
        countries = None
    else:
        countries = list(settings.general.countries)
    from flashpoint.store import read_announcements, retry_busy

    engine = open_store(settings)
    try:
        panel = retry_busy(
            lambda: stored_or_scored(engine, settings, as_of=as_of, countries=countries),
            what="scoring",
        )
        # The calendar names the product behind a scheduled shock (the shock row has no room).
        announcements = retry_busy(
            lambda: read_announcements(engine, countries=countries), what="reading announcements"
        )
    finally:
        engine.dispose()
    scored = panel.countries.sort_values("composite", ascending=False, na_position="last")
    order = [str(code) for code in scored.index]
    if args.format == "json":
        document = _json_document(panel, catalogue, order, args.top, announcements)
        json.dump(document, sys.stdout, indent=2, default=str)
        print()
        return 0
    table = _countries_frame(panel).set_index("country").loc[order].reset_index()
    columns = [
        "country",
        "composite",
        "band",
        "vulnerability",
        "trigger",
        "trigger_state",
        "blind_since",
        "trigger_reason",
        "composite_high",
        *[p for p in _pillar_order(catalogue) if p in table.columns],
        "inputs_present",
        "inputs_expected",
        "inputs_stale",
        "oldest_input_age_days",
        "top_driver",
        "reason",
    ]
    if args.format == "csv":
        table[columns].assign(methodology_version=METHODOLOGY_VERSION).to_csv(
            sys.stdout, index=False
        )
        return 0
    print(f"Flashpoint score as of {panel.as_of:%Y-%m-%d} (data published by the end of that day)")
    print()
    shown = [
        "country",
        "composite",
        "band",
        "vulnerability",
        "trigger",
        "inputs_present",
        "inputs_stale",
        "top_driver",
    ]
    print(format_table(headline_table(table, shown)))
    notes = blind_notes(table)
    if notes:
        print()
        print("Blind triggers (composite shown as a range: what can be seen … a full trigger):")
        print("\n".join(f"  {note}" for note in notes))
    if args.country or len(order) <= 3:
        for country in order:
            print()
            print(_country_text(panel, catalogue, country, args.top, announcements))
    return 0


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the `score` sub-command."""
    parser = subparsers.add_parser(
        "score",
        help="score countries: composite, band, pillars, confidence, top contributors",
        description="Score countries from the store as of a date, point in time: only "
        "observations published by the end of --as-of are used. The composite is structural "
        "vulnerability amplified by the trigger (fuel-price shock, unrest spike); see "
        "docs/METHODOLOGY.md. Loads the bundled snapshot into an empty store first.",
    )
    parser.add_argument(
        "--country",
        action="append",
        metavar="ISO3",
        help="country to score (repeatable; default: the watched countries of the config)",
    )
    parser.add_argument(
        "--all", action="store_true", help="score every country in the store (the full panel)"
    )
    parser.add_argument("--as-of", metavar="YYYY-MM-DD", help="as-of date (default: today, UTC)")
    parser.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        default="table",
        help="table (default), json (everything incl. every contribution) or csv (one row each)",
    )
    parser.add_argument(
        "--top",
        type=int,
        default=TOP_CONTRIBUTORS,
        help=f"how many top contributors to show (default {TOP_CONTRIBUTORS})",
    )
    add_config_argument(parser)
    parser.set_defaults(handler=run)
