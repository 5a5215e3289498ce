"""Benchmark: the vectorised full-panel score against a naive per-country loop, same process.

Loads the bundled snapshot into a temporary SQLite store, reads every observation, and scores the
whole panel (every real country × every catalogue indicator × all years of history) two ways:

* `score_panel` — the vectorised pass the product uses;
* `naive_panel` — what a straightforward implementation would do: for each country, filter the
  observations, derive its indicators, then walk its indicators one by one in Python with scalar
  arithmetic (normalisation, pillar means, the structural power mean, trigger, composite written
  out again).

It asserts both give the same scores (so the baseline is also an independent cross-check of the
formulas), then prints wall time (best of several runs for the fast path) and peak traced memory
(`tracemalloc`, in a separate run because tracing slows Python down) of each, and the ratios.

Run: `.venv/bin/python bench/bench_scoring.py [--as-of 2022-01-01] [--repeat 5]`
"""

from __future__ import annotations

import argparse
import math
import shutil
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flashpoint import snapshot, store
from flashpoint.config import default_config_path, load_config
from flashpoint.scoring import real_countries
from indicators.catalogue import Catalogue, Indicator
from indicators.derived import derive_indicators, standardise_zscore_indicators
from indicators.observations import WORLD
from indicators.pointintime import as_of_day, period_end, visible_observations
from indicators.scoring import PanelScore, score_panel


def _normalise_one(item: Indicator, value: float) -> float:
    """Scalar normalisation, written out independently of `indicators.normalise`."""
    if math.isnan(value):
        return math.nan
    norm = item.normalisation
    if norm.method == "goalposts":
        assert norm.lower is not None and norm.upper is not None
        low, high = norm.lower, norm.upper
        capped = min(max(value, low), high)
        if norm.log:
            low, high, capped = math.log1p(low), math.log1p(high), math.log1p(capped)
        share = min(max((capped - low) / (high - low), 0.0), 1.0) * 10.0
        return share if item.higher_is_riskier else 10.0 - share
    signed = value if item.higher_is_riskier else -value
    scale = norm.z_at_10 if norm.method == "zscore" else norm.step_at_10
    return min(max(signed / scale * 10.0, 0.0), 10.0)


def naive_panel(
    observations: pd.DataFrame, catalogue: Catalogue, as_of: Any, countries: list[str]
) -> pd.DataFrame:
    """The per-country loop baseline: composite, vulnerability, trigger and counts per country."""
    day = as_of_day(as_of)
    pillars = {p.id: p for p in catalogue.pillars}
    scored = [
        item
        for item in catalogue.enabled_indicators
        if pillars.get(item.pillar) is not None and pillars[item.pillar].kind != "context"
    ]
    world_rows = observations[observations["country"] == WORLD]
    world_visible = visible_observations(world_rows, catalogue, day)
    world_pool = pd.concat([world_visible, derive_indicators(world_visible, catalogue)])
    model = catalogue.model
    results = []
    for country in countries:
        rows = observations[observations["country"] == country]
        visible = visible_observations(rows, catalogue, day)
        pool = pd.concat([visible, derive_indicators(visible, catalogue)], ignore_index=True)
        pool = standardise_zscore_indicators(pool, catalogue)
        records: list[dict[str, Any]] = pool.to_dict("records")  # type: ignore[assignment]
        latest: dict[str, dict[str, Any]] = {}
        for row in records:
            known = latest.get(str(row["indicator"]))
            if known is None or row["period"] > known["period"]:
                latest[str(row["indicator"])] = row
        sums: dict[str, list[float]] = {}
        present = stale_count = 0
        for item in scored:
            record = latest.get(item.id)
            kind = pillars[item.pillar].kind
            if record is None and kind == "trigger":
                world = world_pool[world_pool["indicator"] == item.id]
                if not world.empty:
                    record = {str(k): v for k, v in world.sort_values("period").iloc[-1].items()}
            numerator, weights = sums.setdefault(item.pillar, [0.0, 0.0])
            if record is None:
                continue
            present += 1
            end = period_end(pd.Series([record["period"]]), pd.Series([item.frequency])).iloc[0]
            age = max((day - end).days, 0)
            stale = age > item.max_age_days
            stale_count += int(stale)
            score = _normalise_one(item, float(record["value"]))
            if kind == "trigger" and stale:
                score = 0.0
            if not math.isnan(score) and item.weight > 0:
                sums[item.pillar] = [numerator + item.weight * score, weights + item.weight]
        mean_sum = weight_sum = 0.0
        power, floor = model.vulnerability_power, model.pillar_floor
        trigger = math.nan
        heaviest = max(p.weight for p in catalogue.pillars if p.kind == "trigger")
        for pillar_id, (numerator, weights) in sums.items():
            pillar = pillars[pillar_id]
            if weights <= 0 or pillar.weight <= 0:
                continue
            score = numerator / weights
            if pillar.kind == "structural":
                floored = max(score, floor)
                mean_sum += pillar.weight * (math.log(floored) if power == 0 else floored**power)
                weight_sum += pillar.weight
            elif pillar.kind == "trigger":
                relative = score * pillar.weight / heaviest
                trigger = relative if math.isnan(trigger) else max(trigger, relative)
        if weight_sum <= 0:
            vulnerability = math.nan
        elif power == 0:
            vulnerability = math.exp(mean_sum / weight_sum)
        else:
            vulnerability = (mean_sum / weight_sum) ** (1 / power)
        trigger = 0.0 if math.isnan(trigger) else trigger
        share = min(
            1.0,
            model.trigger_amplification * trigger / 10 * vulnerability / model.vulnerability_pivot,
        )
        composite = vulnerability + (10 - vulnerability) * share
        if math.isnan(vulnerability) or present / len(scored) < model.min_coverage:
            composite = math.nan
        results.append(
            {
                "country": country,
                "composite": composite,
                "vulnerability": vulnerability,
                "trigger": trigger,
                "inputs_present": present,
                "inputs_stale": stale_count,
            }
        )
    return pd.DataFrame(results).set_index("country")


def _timed(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best = math.inf
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return best, result


def _peak_bytes(run: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _assert_same(fast: PanelScore, slow: pd.DataFrame) -> None:
    countries = fast.countries.loc[slow.index]
    # The reference computes the trigger that entered the composite: a blind trigger has no
    # `trigger` value, its visible part is `trigger_seen`.
    for column in ("composite", "vulnerability", "trigger"):
        fast_column = "trigger_seen" if column == "trigger" else column
        np.testing.assert_allclose(
            countries[fast_column].to_numpy(dtype="float64"),
            slow[column].to_numpy(dtype="float64"),
            rtol=1e-9,
            atol=1e-9,
            err_msg=column,
        )
    for column in ("inputs_present", "inputs_stale"):
        assert (countries[column].to_numpy() == slow[column].to_numpy()).all(), column


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--as-of", default="2022-01-01")
    parser.add_argument("--repeat", type=int, default=5, help="runs of the vectorised pass")
    args = parser.parse_args()

    directory = Path(tempfile.mkdtemp(prefix="flashpoint-bench-"))
    try:
        engine = store.make_engine(f"sqlite:///{directory / 'bench.db'}")
        store.init_schema(engine)
        loaded = snapshot.load_snapshot(engine)
        observations = store.read_observations(engine, include_forecasts=False)
        engine.dispose()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    catalogue = load_config(default_config_path()).catalogue()
    countries = real_countries(observations["country"].unique())
    print(
        f"snapshot: {len(observations):,} observations, {observations['indicator'].nunique()} "
        f"indicators, {len(countries)} countries (+ WLD), {observations['period'].min():%Y}–"
        f"{observations['period'].max():%Y}; loaded in {loaded.seconds:.1f} s"
    )

    def fast() -> PanelScore:
        return score_panel(observations, catalogue, as_of=args.as_of, countries=countries)

    def slow() -> pd.DataFrame:
        return naive_panel(observations, catalogue, args.as_of, countries)

    fast()  # warm-up: imports, caches
    fast_seconds, fast_result = _timed(fast, args.repeat)
    slow_seconds, slow_result = _timed(slow, 1)
    _assert_same(fast_result, slow_result)
    fast_peak = _peak_bytes(fast)
    slow_peak = _peak_bytes(slow)
    scored = int(fast_result.countries["composite"].notna().sum())
    print(f"as of {args.as_of}: {scored} of {len(countries)} countries scored; results identical")
    print()
    print(f"{'':28}{'time':>10}{'peak memory':>16}")
    print(f"{'vectorised score_panel':28}{fast_seconds:>9.3f}s{fast_peak / 2**20:>13.1f} MiB")
    print(f"{'naive per-country loop':28}{slow_seconds:>9.3f}s{slow_peak / 2**20:>13.1f} MiB")
    print(
        f"{'ratio (naive / vectorised)':28}{slow_seconds / fast_seconds:>9.1f}x"
        f"{slow_peak / fast_peak:>14.2f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
