"""Benchmark: what the composite trend lines and recent change cost, by replay, side by side.

The dashboard's `dashboard/history.py` scores the past point in time (`indicators.replay`) until
a stored daily history replaces it. This measures, on the bundled snapshot, the replay behind

* the Overview's trend lines for one country (90 daily dates; a year of weekly dates),
* Compare's trend lines for the watched countries and for every scored country: the year at a
  weekly step (what the page draws) beside the same year at a daily step (the baseline), and
* the "change since yesterday / last week" with its movers (8 daily dates),

each the median of N runs, and prints the weekly/daily ratio. The machine is shared: read the
ratios, not the absolute seconds.

Run: `.venv/bin/python bench/bench_history.py [--runs 3] [--all-countries] [--store PATH]`.
Not a test: it prints numbers, asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from flashpoint import snapshot, store
from flashpoint.config import default_config_path, load_config
from flashpoint.scoring import real_countries
from indicators.catalogue import Catalogue
from indicators.observations import WORLD
from indicators.replay import Every, replay_scores


def _median_seconds(run: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _replay_cost(
    observations: pd.DataFrame,
    catalogue: Catalogue,
    countries: list[str],
    days: int,
    every: Every,
    runs: int,
) -> float:
    end = dt.datetime.now(dt.UTC).date()
    subset = observations[observations["country"].isin([*countries, WORLD])]
    return _median_seconds(
        lambda: replay_scores(
            subset,
            catalogue,
            countries=countries,
            start=end - dt.timedelta(days=days - 1),
            end=end,
            every=every,
        ),
        runs,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--all-countries", action="store_true", help="also every scored country")
    parser.add_argument("--store", type=Path, help="an existing SQLite store (else the snapshot)")
    options = parser.parse_args()
    settings = load_config(default_config_path())
    catalogue = settings.catalogue()
    folder = Path(tempfile.mkdtemp(prefix="flashpoint-bench-history-"))
    try:
        path = options.store or folder / "flashpoint.db"
        engine = store.make_engine(f"sqlite:///{path}")
        if options.store is None:
            store.init_schema(engine)
            snapshot.ensure_snapshot_loaded(engine)
        observations = store.read_observations(engine, include_forecasts=False)
        engine.dispose()
        watched = list(settings.general.countries)
        groups = [("1 country (KAZ)", ["KAZ"]), (f"{len(watched)} watched", watched)]
        if options.all_countries:
            everyone = [
                code for code in real_countries(observations["country"].unique()) if code != WORLD
            ]
            groups.append((f"all {len(everyone)}", everyone))
        print(f"median of {options.runs} runs, seconds (2-core machine shared with other jobs)")
        print(
            f"{'countries':<18}{'90 d daily':>12}{'1 y weekly':>12}{'1 y daily':>12}"
            f"{'weekly/daily':>14}{'8 d movers':>12}"
        )
        for label, countries in groups:
            ninety = _replay_cost(observations, catalogue, countries, 90, "day", options.runs)
            weekly = _replay_cost(observations, catalogue, countries, 365, "week", options.runs)
            daily = _replay_cost(observations, catalogue, countries, 365, "day", options.runs)
            movers = _replay_cost(observations, catalogue, countries, 8, "day", options.runs)
            print(
                f"{label:<18}{ninety:>12.2f}{weekly:>12.2f}{daily:>12.2f}"
                f"{weekly / daily:>14.2f}{movers:>12.2f}"
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
