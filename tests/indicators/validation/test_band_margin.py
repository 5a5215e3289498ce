"""The band-rise margin: hysteresis at a band's edge, live and in the backtest's replay, and the
rule that chooses it on the train years."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from indicators.alert_rules import AlertRule, parse_rule, validate_rule
from indicators.alert_rules.measurement import measure
from indicators.catalogue import Catalogue
from indicators.composite import assign_bands
from indicators.scoring import ScoreFrames
from indicators.validation.alert_load import (
    MarginRow,
    choose_margin,
    with_band_margin,
)
from indicators.validation.panels import alert_firings, rule_values

CATALOGUE = Catalogue(indicators=(), pillars=())
BANDS = sorted(CATALOGUE.bands, key=lambda band: band.lower)
EDGE = BANDS[2].lower  # the lower edge of the third band ("medium" by default)
# 28 days: each month end compares with the one before (30 days back from 29 Feb is January).
RISE = AlertRule(
    id="band", kind="band_change", target="composite", window_days=28, renotify_hours=0.0
)
DATES = pd.date_range("2020-01-31", periods=8, freq="ME")
# Month-end composites: KAZ wobbles 0.1 either side of the edge, UZB climbs well into the band.
PATHS = {
    "KAZ": [EDGE - 0.1, EDGE + 0.1, EDGE - 0.1, EDGE + 0.1, EDGE - 0.1, EDGE + 0.1, EDGE - 0.1,
            EDGE + 0.1],
    "UZB": [EDGE - 0.6, EDGE - 0.6, EDGE - 0.6, EDGE + 0.5, EDGE + 0.5, EDGE + 0.5, EDGE + 0.5,
            EDGE + 0.5],
}  # fmt: skip


def _frames() -> ScoreFrames:
    rows = [
        {"date": day, "country": country, "composite": value}
        for country, values in PATHS.items()
        for day, value in zip(DATES, values, strict=True)
    ]
    countries = pd.DataFrame(rows)
    countries["band"], _ = assign_bands(countries["composite"], CATALOGUE)
    empty = pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]")})
    return ScoreFrames(countries=countries, pillars=empty, contributions=empty, latest=empty)


def test_a_margin_keeps_a_wobble_at_the_edge_quiet_and_a_real_rise_loud() -> None:
    frames = _frames()
    plain = alert_firings([RISE], frames, CATALOGUE, DATES)
    # Without a margin every crossing of the edge is a "rise": KAZ rings on each wobble.
    assert plain.groupby("country").size().to_dict() == {"KAZ": 4, "UZB": 1}
    assert plain[plain["country"] == "KAZ"]["date"].tolist() == list(DATES[1::2])
    held = alert_firings(with_band_margin([RISE], 0.25), frames, CATALOGUE, DATES)
    assert held["country"].tolist() == ["UZB"]
    assert held["date"].tolist() == [DATES[3]]


def test_the_replay_measures_the_margin_as_the_live_rule_does() -> None:
    frames = _frames()
    rule = replace(RISE, margin=0.25)
    replayed = rule_values(rule, frames, CATALOGUE, DATES)
    for position in range(1, len(DATES)):
        live = measure(
            rule,
            CATALOGUE,
            panel=frames.at(DATES[position]),
            earlier=frames.at(DATES[position - 1]),
            countries=list(PATHS),
        )
        for country in PATHS:
            assert live[country].value == replayed.at[DATES[position], country], (
                country,
                DATES[position],
            )
    # And without the margin both are the plain band difference.
    plain_live = measure(
        RISE, CATALOGUE, panel=frames.at(DATES[1]), earlier=frames.at(DATES[0]), countries=["KAZ"]
    )
    assert plain_live["KAZ"].value == 1.0
    assert rule_values(RISE, frames, CATALOGUE, DATES).at[DATES[1], "KAZ"] == 1.0


def test_a_falling_band_rule_mirrors_the_margin() -> None:
    frames = _frames()
    fall = replace(RISE, condition="below", threshold=0.0)
    wobbles = alert_firings([fall], frames, CATALOGUE, DATES)
    assert (wobbles["country"] == "KAZ").sum() == 3
    # A fall counts once the composite is the margin below the edge: KAZ's 0.1 never is.
    values = rule_values(replace(fall, margin=0.25), frames, CATALOGUE, DATES)
    assert np.nanmin(values["KAZ"].to_numpy()) == 0.0


@pytest.mark.parametrize("margin", [float("nan"), float("inf"), "nan"])
def test_a_margin_that_is_no_number_is_refused_by_name(margin: object) -> None:
    rule, errors = parse_rule({"id": "band", "kind": "band_change", "target": "composite",
                               "margin": margin})  # fmt: skip
    assert rule is None and [error.field for error in errors] == ["margin"]


@pytest.mark.parametrize("margin", [-0.1, 2.0])
def test_a_margin_out_of_range_is_refused_by_name(margin: float) -> None:
    rule, errors = parse_rule({"id": "band", "kind": "band_change", "target": "composite",
                               "margin": margin})  # fmt: skip
    assert rule is not None and not errors
    found = validate_rule(rule, CATALOGUE)
    assert [error.field for error in found] == ["margin"]
    assert "between 0 and 1.5 score points" in found[0].message


def test_only_a_band_rule_takes_a_margin_and_text_is_parsed() -> None:
    rule, errors = parse_rule({"id": "high", "kind": "level", "target": "composite",
                               "threshold": 6.5, "margin": "0.25"})  # fmt: skip
    assert rule is not None and not errors and rule.margin == 0.25
    assert [str(error) for error in validate_rule(rule, CATALOGUE)] == [
        "margin: only a band_change rule has a margin"
    ]
    _, errors = parse_rule({"id": "band", "kind": "band_change", "margin": "wide"})
    assert [error.field for error in errors] == ["margin"]


def _row(margin: float, train: float | None) -> MarginRow:
    return MarginRow(margin, 0, train, 0, None)


def test_the_margin_is_the_smallest_meeting_the_target_on_the_train_years() -> None:
    assert choose_margin([_row(0.0, 2.2), _row(0.25, 1.0), _row(0.5, 0.7)]) == 0.25
    assert choose_margin([_row(0.0, 0.9), _row(0.25, 0.5)]) == 0.0
    # None meets it: the lowest train load (the smaller margin on a tie).
    assert choose_margin([_row(0.0, 2.2), _row(0.25, 1.4), _row(0.5, 1.4), _row(1.0, 1.6)]) == 0.25
    assert choose_margin([_row(0.0, None)]) == 0.0
