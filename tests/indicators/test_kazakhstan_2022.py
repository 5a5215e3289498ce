"""The case Flashpoint must get right, on the real bundled snapshot: Kazakhstan, January 2022.

The snapshot is loaded once per run and copied into a temporary SQLite store per process; every
assertion is on computed output (dates, bands, drivers), never on numbers copied from the code.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from flashpoint import store
from flashpoint.config import default_config_path, load_config
from flashpoint.scoring import score_from_store
from indicators.observations import conform_observations
from indicators.replay import band_changes, replay, trigger_crossings
from tests.indicators.scoring_support import SnapshotStore, snapshot_store

START, END = "2021-10-01", "2022-02-15"


@pytest.fixture(scope="module")
def bundled(snapshot_template: Path) -> SnapshotStore:
    return snapshot_store(snapshot_template)


@pytest.fixture(scope="module")
def kaz_replay(bundled: SnapshotStore) -> pd.DataFrame:
    return replay(bundled.observations, bundled.catalogue, countries=["KAZ"], start=START, end=END)


def _rank(bundled: SnapshotStore) -> dict[str, int]:
    ordered = sorted(bundled.catalogue.bands, key=lambda band: band.lower)
    return {band.name: rank for rank, band in enumerate(ordered)}


def test_the_band_first_rises_above_the_autumns_on_1_or_2_january_because_of_the_fuel_step(
    bundled: SnapshotStore, kaz_replay: pd.DataFrame
) -> None:
    rank = _rank(bundled)
    series = kaz_replay.set_index("date")
    assert len(series) == len(pd.date_range(START, END))
    ranks = series["band"].map(rank)
    autumn = ranks[
        (ranks.index >= pd.Timestamp("2021-10-01")) & (ranks.index <= pd.Timestamp("2021-12-31"))
    ]
    # Since methodology 5, Kazakhstan's autumn composite sits on a band edge (about 5.0), which
    # the world oil price moves it back and forth across: those crossings are edge noise, not a
    # shock (the band-rise alert's margin ignores them, tests/flashpoint/test_score_cli.py), and
    # never the fuel step.
    rises = ranks.index[ranks.diff() > 0]
    edge_noise = [day for day in rises if day < pd.Timestamp("2022-01-01")]
    assert all(series.loc[day, "top_driver"] != "fuel_price_step" for day in edge_noise)
    assert autumn.max() - autumn.min() <= 1
    # The first day above every band the autumn held: the fuel step, before the escalation.
    above = ranks.index[ranks > autumn.max()]
    assert len(above) > 0
    first_rise = above[0]
    assert first_rise in (pd.Timestamp("2022-01-01"), pd.Timestamp("2022-01-02"))
    assert first_rise < pd.Timestamp("2022-01-04")  # before the escalation of 4–5 January
    day = series.loc[first_rise]
    assert day["top_driver"] == "fuel_price_step"
    assert day["trigger_driver"] == "fuel_price_step"
    # The band change the replay reports names the same driver.
    changes = band_changes(kaz_replay, bundled.catalogue)
    reported = changes[changes["date"] == first_rise].iloc[0]
    assert reported["direction"] == "up" and reported["top_driver"] == "fuel_price_step"


def test_the_fuel_shock_trigger_jumps_on_1_or_2_january(kaz_replay: pd.DataFrame) -> None:
    crossings = trigger_crossings(kaz_replay, 5.0)
    up = crossings[crossings["direction"] == "up"]
    assert not up.empty
    first = up.iloc[0]
    assert first["date"] in (pd.Timestamp("2022-01-01"), pd.Timestamp("2022-01-02"))
    assert first["trigger_driver"] == "fuel_price_step"
    series = kaz_replay.set_index("date")
    before = series.loc[pd.Timestamp("2021-12-31"), "fuel_shock"]
    assert series.loc[first["date"], "fuel_shock"] - before > 4.0


def test_structural_vulnerability_is_around_medium_and_the_trigger_lifts_it_a_band(
    bundled: SnapshotStore, kaz_replay: pd.DataFrame
) -> None:
    rank = _rank(bundled)
    series = kaz_replay.set_index("date")
    for day in ("2021-10-01", "2021-12-31", "2022-01-01"):
        vulnerability = series.loc[pd.Timestamp(day), "vulnerability"]
        assert 3.0 <= vulnerability < 5.0  # low/medium boundary to medium: not a fragile state
    jan = series.loc[pd.Timestamp("2022-01-02")]
    structural_band = bundled.catalogue.band_for(jan["vulnerability"]).name
    assert rank[jan["band"]] >= rank[structural_band] + 1


def test_the_protest_spike_arrives_only_when_januarys_count_is_published(
    kaz_replay: pd.DataFrame,
) -> None:
    series = kaz_replay.set_index("date")
    # GDELT's January count (1,181 protest events) is a monthly total: visible from 1 February.
    assert series.loc[pd.Timestamp("2022-01-31"), "unrest_spike"] < 2.0
    assert series.loc[pd.Timestamp("2022-02-01"), "unrest_spike"] > 8.0
    # The 1 January step is stale after max_age (31 days) and no longer lifts the fuel pillar.
    assert series.loc[pd.Timestamp("2022-02-15"), "fuel_shock"] < 2.0


def _copy_store(bundled: SnapshotStore, target: Path) -> str:
    source_path = bundled.url.removeprefix("sqlite:///")
    with sqlite3.connect(source_path) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    return f"sqlite:///{target}"


def test_score_as_of_uses_nothing_published_later(bundled: SnapshotStore, tmp_path: Path) -> None:
    settings = load_config(default_config_path())
    as_of = pd.Timestamp("2021-12-31")
    url = _copy_store(bundled, tmp_path / "copy.db")
    engine = store.make_engine(url)
    try:
        before = score_from_store(engine, settings, as_of=as_of, countries=["KAZ"])
        # Two values that change after 31 Dec: the 2021 inflation (published in 2022) and a
        # back-dated LPG price for 30 Dec reported only on 10 Jan.
        later = conform_observations(
            pd.DataFrame(
                {
                    "indicator": ["cpi_inflation", "fuel_lpg_retail"],
                    "country": ["KAZ", "KAZ"],
                    "period": ["2021-01-01", "2021-12-30"],
                    "value": [60.0, 20.0],
                    "unit": ["%", "KZT/litre"],
                    "source": ["test:later", "test:later"],
                    "published_at": ["2022-01-15", "2022-01-10"],
                }
            )
        )
        store.upsert_observations(engine, later)
        after = score_from_store(engine, settings, as_of=as_of, countries=["KAZ"])
        cutoff = as_of + pd.Timedelta(days=1)
        assert (after.contributions["published"].dropna() < cutoff).all()
        assert (after.latest["published"].dropna() < cutoff).all()
        assert after.countries.at["KAZ", "composite"] == before.countries.at["KAZ", "composite"]
        pd.testing.assert_frame_equal(after.contributions, before.contributions)
        # The same store scored after the publication does see them (the test can fail).
        seen = score_from_store(engine, settings, as_of="2022-01-15", countries=["KAZ"])
        inflation = seen.contributions.set_index("indicator").loc["cpi_inflation"]
        assert inflation["value"] == 60.0
    finally:
        engine.dispose()
