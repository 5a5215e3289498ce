"""`flashpoint backtest`: event study, structural discrimination and alert load on past data."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

from flashpoint.config import add_config_argument, settings_from_args
from flashpoint.errors import FlashpointError
from indicators.methodology import METHODOLOGY_VERSION


class BacktestError(FlashpointError):
    """A bad argument or input file of `backtest`."""

    exit_code = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `backtest` sub-command."""
    parser = subparsers.add_parser(
        "backtest",
        help="score the model against past events (event study, AUC/AUPRC, alert load)",
        description="Replay the score point in time and check it against what happened: an event "
        "study over price-trigger episodes, ROC AUC / AUPRC of structural vulnerability against "
        "coups, conflict onsets, protest surges and the episodes (with baselines), and the alert "
        "load. Progress goes to stderr.",
    )
    add_config_argument(parser)
    parser.add_argument(
        "--data",
        choices=("snapshot", "store"),
        default="snapshot",
        help="observations: the bundled snapshot (default) or the configured store",
    )
    parser.add_argument(
        "--episodes", type=Path, default=None, help="episodes CSV (default: the bundled ones)"
    )
    parser.add_argument("--format", choices=("table", "json", "csv"), default="table")
    parser.add_argument(
        "--section",
        choices=("episodes", "discrimination"),
        default="discrimination",
        help="which table --format csv writes (default: discrimination)",
    )
    parser.add_argument(
        "--replicates", type=int, default=1000, help="bootstrap replicates per CI (default 1000)"
    )
    parser.add_argument("--seed", type=int, default=12, help="bootstrap seed (default 12)")
    parser.add_argument(
        "--alert-years",
        default="2016-2024",
        metavar="FROM-TO",
        help="years of the alert load (default 2016-2024, the report years; e.g. 1996-2024 for "
        "all years with data, slower)",
    )
    parser.add_argument(
        "--write-docs",
        type=Path,
        default=None,
        metavar="PATH",
        help="also write the validation document (docs/VALIDATION.md) to PATH and its results "
        "(validation.json, read by the dashboard's Validation page) beside it",
    )
    parser.set_defaults(handler=run)


def _observations(args: argparse.Namespace, settings: object) -> pd.DataFrame:
    if args.data == "snapshot":
        from flashpoint.snapshot import read_snapshot_observations

        frame: pd.DataFrame = read_snapshot_observations()
        return frame[~frame["is_forecast"].astype(bool)].reset_index(drop=True)
    from flashpoint.commands.score import open_store
    from flashpoint.scoring import read_scoring_observations

    engine = open_store(settings)
    try:
        stored: pd.DataFrame = read_scoring_observations(engine, settings)  # type: ignore[arg-type]
    finally:
        engine.dispose()
    return stored


def _years(text: str) -> tuple[int, int]:
    """`FROM-TO` as two years (BacktestError naming the option otherwise)."""
    parts = text.split("-")
    try:
        first, last = (int(part) for part in parts)
    except ValueError:
        raise BacktestError(f"--alert-years: {text!r} is not FROM-TO (e.g. 2016-2024)") from None
    if not 1900 < first <= last < 2100:
        raise BacktestError(f"--alert-years: {text!r} is not an increasing pair of years")
    return first, last


def run(args: argparse.Namespace) -> int:
    """Run the backtest and print it."""
    from flashpoint.validation import (
        _default_rules,
        alert_load_lines,
        before_after_lines,
        calibration_lines,
        calibration_table,
        discrimination_table,
        episode_table,
        hit_summary,
        read_coups,
        weight_lines,
        weight_search_table,
    )
    from flashpoint.validation_indicators import indicator_lines, indicator_search_table
    from indicators.validation.backtest import run_backtest
    from indicators.validation.episodes import EpisodeFileError, read_episodes

    if args.replicates < 0:
        raise BacktestError(f"--replicates must be ≥ 0, not {args.replicates}")
    alert_years = _years(args.alert_years)
    settings = settings_from_args(args)
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:5.1f}s] {message}", file=sys.stderr, flush=True)

    try:
        episodes = read_episodes(args.episodes)
    except EpisodeFileError as error:
        raise BacktestError(str(error)) from error
    progress("reading observations")
    observations = _observations(args, settings)
    result = run_backtest(
        observations,
        settings.catalogue(),
        _default_rules(settings),
        episodes,
        read_coups(),
        replicates=args.replicates,
        seed=args.seed,
        alert_years=alert_years,
        progress=progress,
    )
    if args.write_docs is not None:
        from flashpoint.validation_results import results_path_for, write_results

        # The document is rendered from the JSON results file written beside it, which the
        # dashboard's Validation page reads: both show the same objects.
        result = write_results(result, args.write_docs)
        progress(f"wrote {args.write_docs} and {results_path_for(args.write_docs)}")
    if args.format == "json":
        document = {"methodology_version": METHODOLOGY_VERSION, **result.to_dict()}
        print(json.dumps(document, indent=2, ensure_ascii=False))
    elif args.format == "csv":
        table = (
            episode_table(result) if args.section == "episodes" else discrimination_table(result)
        )
        table.insert(0, "methodology_version", METHODOLOGY_VERSION)
        sys.stdout.write(table.to_csv(index=False))
    else:
        from flashpoint.commands.score import format_table

        print(f"Backtest (methodology version {METHODOLOGY_VERSION})")
        print("\nEvent study")
        print(format_table(episode_table(result)))
        for line in hit_summary(result):
            print(f"  {line}")
        print("\nStructural discrimination (V as of 31 Dec Y−1; 95 % bootstrap CI)")
        print(format_table(discrimination_table(result), digits=3))
        print("\nAlert load")
        for line in alert_load_lines(result):
            print(f"  {line}")
        print("\nCalibration of the aggregation (train years only; mean train AUC)")
        print(format_table(calibration_table(result), digits=3))
        for title, steps, lines in (
            (
                "the structural pillar weights",
                weight_search_table(result),
                weight_lines(result),
            ),
            (
                "the indicator weights and transforms",
                indicator_search_table(result),
                indicator_lines(result),
            ),
        ):
            if not steps.empty:
                print(f"\nCalibration of {title} (train years only)")
                print(format_table(steps, digits=3))
                for line in lines:
                    print(f"  {line}")
        if result.before is not None:
            print("\nBefore → after calibration (the same run)")
        for line in (*before_after_lines(result), *calibration_lines(result)):
            print(f"  {line}")
    progress("done")
    return 0
