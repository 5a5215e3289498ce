"""Label rules, the episodes reader and the rows discrimination compares (synthetic inputs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from indicators.validation.backtest import discriminate, family_rows
from indicators.validation.episodes import EpisodeFileError, read_episodes, reference_date
from indicators.validation.labels import (
    SURGE_HISTORY_MONTHS,
    conflict_family,
    coup_family,
    protest_surge_family,
    surge_months,
)

REPO = Path(__file__).resolve().parents[3]


def _monthly(country: str, start: str, values: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "country": country,
            "period": pd.date_range(start, periods=len(values), freq="MS"),
            "value": values,
        }
    )


def test_coups_count_attempts_per_year() -> None:
    coups = pd.DataFrame(
        {
            "country_iso3": ["AAA", "AAA", "BBB"],
            "year_month": ["2001-03", "2001-09", "2003-01"],
            "pt_coup_count": [1, 2, 1],
        }
    )
    rows = coup_family(coups).rows
    assert rows.to_dict("records") == [
        {"country": "AAA", "year": 2001, "label": 1},
        {"country": "BBB", "year": 2003, "label": 1},
    ]


def test_conflict_onset_needs_a_quiet_year_before() -> None:
    # 2000: 10 deaths, 2001: 30 (onset), 2002: 40 and 2003: 5 (each after a year ≥ 25: not at
    # risk of onset), 2004: 26 (onset after a quiet 2003).
    deaths = [10, 30, 40, 5, 26]
    monthly = pd.concat(
        _monthly("AAA", f"{2000 + i}-01-01", [total] + [0.0] * 11) for i, total in enumerate(deaths)
    )
    family = conflict_family(monthly)
    labels = dict(zip(family.rows["year"], family.rows["label"], strict=True))
    assert labels == {2000: 0, 2001: 1, 2004: 1}
    assert list(family.excluded["year"]) == [2002, 2003]


def test_a_surge_is_a_jump_in_the_world_share_not_in_world_volume() -> None:
    months = 36
    steady = [100.0] * months
    surge = [100.0] * 30 + [400.0] + [100.0] * 5
    world_doubles = [100.0] * 30 + [200.0] * 6  # everyone doubles: GDELT volume, not a surge
    # AAA's share: 100 / 1,100 before, 400 / 1,400 in the surge month = 3.1 × its median.
    others = [f"B{i}X" for i in range(10)]
    frame = pd.concat(
        [_monthly("AAA", "2000-01-01", surge)]
        + [_monthly(code, "2000-01-01", steady) for code in others]
    )
    flagged = surge_months(frame)
    hits = flagged[flagged["surge"]]
    assert list(hits["country"]) == ["AAA"]
    assert list(hits["period"]) == [pd.Timestamp("2002-07-01")]
    everyone = pd.concat(
        [_monthly(code, "2000-01-01", world_doubles) for code in ["AAA", *others]]
    )
    assert not surge_months(everyone)["surge"].any()
    family = protest_surge_family(frame)
    assert family.rows.query("country == 'AAA' and year == 2002")["label"].tolist() == [1]
    # The first year lacks SURGE_MIN_HISTORY months of history: not in the family at all.
    assert 2000 not in set(family.rows["year"])
    assert SURGE_HISTORY_MONTHS == 24


def test_reference_date_rule() -> None:
    day = pd.Timestamp
    # Unrest before the price applied: T = announced (ARM-2015).
    assert reference_date(day("2015-06-17"), day("2015-08-01"), day("2015-06-19")) == (
        day("2015-06-17"),
        "announced",
    )
    assert reference_date(day("2016-12-27"), day("2017-01-01"), day("2017-01-01"))[1] == "effective"
    assert reference_date(pd.NaT, pd.NaT, day("2011-04-11")) == (day("2011-04-11"), "onset")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("id,country_iso3,kind,announced,effective\n", "missing column"),
        ("id,country_iso3,kind,announced,effective,onset\nX,KAZ,riot,,,2020-01-01\n", "kind"),
        ("id,country_iso3,kind,announced,effective,onset\nX,KZ,event,,,2020-01-01\n", "ISO3"),
        ("id,country_iso3,kind,announced,effective,onset\nX,KAZ,event,,,2020-13-45\n", "line 2"),
        ("id,country_iso3,kind,announced,effective,onset\nX,KAZ,event,,,\n", "no announced"),
        (
            "id,country_iso3,kind,announced,effective,onset\n"
            "X,KAZ,event,,,2020-01-01\nX,KAZ,event,,,2021-01-01\n",
            "repeated",
        ),
    ],
)
def test_a_bad_episodes_file_is_one_clear_error(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "episodes.csv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(EpisodeFileError, match=message):
        read_episodes(path)


def test_the_bundled_episodes_are_the_verified_copy() -> None:
    packaged = REPO / "indicators" / "data" / "labels" / "training-episodes.csv"
    verified = REPO / "data" / "episodes" / "training-episodes.csv"
    assert packaged.read_bytes() == verified.read_bytes()
    episodes = read_episodes()
    assert len(episodes) == 44 and set(episodes["kind"]) == {"event", "control"}
    kaz = episodes.set_index("id").loc["KAZ-2022"]
    assert kaz["reference"] == pd.Timestamp("2022-01-01")


def test_discrimination_compares_every_predictor_on_the_same_rows() -> None:
    rng = np.random.default_rng(0)
    scores = pd.DataFrame(
        {
            "country": [f"C{i:02d}" for i in range(40)] * 2,
            "year": [2010] * 40 + [2020] * 40,
            "V": rng.normal(5, 1, 80),
            "pv": rng.normal(0, 1, 80),
            "unrest": rng.uniform(0, 0.01, 80),
        }
    )
    scores.loc[3, "pv"] = np.nan  # no PV.EST: the row leaves for every predictor
    coups = pd.DataFrame(
        {"country_iso3": ["C01", "C02", "C03"], "year_month": ["2010-05"] * 3, "pt_coup_count": 1}
    )
    rows = family_rows(coup_family(coups), scores)
    assert len(rows) == 79 and rows["label"].sum() == 2  # C03 2010 had no PV.EST
    results = discriminate(rows, "coups", replicates=50, seed=1)
    train = [r for r in results if r.split.startswith("train")]
    assert {r.rows for r in train} == {39} and {r.positives for r in train} == {2}
    base = next(r for r in train if r.predictor == "base rate")
    assert base.auc.value == pytest.approx(0.5) and base.auprc.value == pytest.approx(2 / 39)
    report = [r for r in results if r.split.startswith("report")]
    assert all(np.isnan(r.auc.value) for r in report)  # no onsets in 2020: undefined, not 0.5
