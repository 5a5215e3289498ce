"""The daily protest spike and the unrest pillar (SYNTHETIC daily counts: no real multi-month
daily GDELT series exists in the shared data; the counts are drawn from a seeded Poisson or written
by hand, so each expected value can be recomputed here independently)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from flashpoint.config import load_config
from indicators.alert_rules import measure
from indicators.catalogue import Catalogue, Indicator, Normalisation, Pillar
from indicators.daily_spike import DAILY_SPIKE_MIN_DAYS, DAILY_SPIKE_MIN_SD
from indicators.derived import derive_indicators
from indicators.scoring import score_panel
from tests.indicators.scoring_support import observations, structural_rows

WINDOW = 90
DAILY = Indicator(
    id="protests_daily", name="protests per day", pillar="context", factor="synthetic",
    source="test", source_code="root:14", unit="events/day", higher_is_riskier=True,
    frequency="daily", normalisation=Normalisation("goalposts", 0.0, 100.0),
    publication_lag_days=1, max_age_days=7,
)
DAILY_SPIKE = Indicator(
    id="spike_daily", name="daily spike", pillar="unrest_spike", factor="synthetic",
    source="derived", source_code="protests_daily", unit="z", higher_is_riskier=True,
    frequency="daily", derivation="daily_spike", derived_from=("protests_daily",),
    normalisation=Normalisation("zscore", window=WINDOW, z_at_10=4.0),
    publication_lag_days=1, max_age_days=3,
)
MONTHLY = replace(DAILY, id="protests_monthly", frequency="monthly", unit="events/month",
                  max_age_days=120)
MONTHLY_SPIKE = replace(
    DAILY_SPIKE, id="spike_monthly", frequency="monthly", derivation="spike",
    derived_from=("protests_monthly",), source_code="protests_monthly", max_age_days=120,
    normalisation=Normalisation("zscore", window=12, z_at_10=4.0),
)
STRUCTURAL = tuple(
    Indicator(id=name, name=name, pillar="macro", factor="synthetic", source="test",
              source_code=name, unit="u", higher_is_riskier=True, frequency="annual",
              normalisation=Normalisation("goalposts", -100.0, 100.0))
    for name in ("inflation", "growth", "corruption", "violence")
)


def catalogue(aggregation: str = "max") -> Catalogue:
    pillars = (
        Pillar("macro", "Macro", "structural"),
        Pillar("unrest_spike", "Unrest spike", "trigger", aggregation=aggregation),  # type: ignore[arg-type]
        Pillar("context", "Context", "context", weight=0.0),
    )
    return Catalogue(
        indicators=(DAILY, DAILY_SPIKE, MONTHLY, MONTHLY_SPIKE, *STRUCTURAL), pillars=pillars
    )


def daily_rows(country: str, counts: list[float], start: str = "2021-09-01") -> list[tuple]:
    days = pd.date_range(start, periods=len(counts), freq="D")
    pairs = zip(days, counts, strict=True)
    return [("protests_daily", country, day, count) for day, count in pairs]


def spikes(frame: pd.DataFrame, country: str = "KAZ") -> pd.Series:
    rows = frame[(frame["indicator"] == "spike_daily") & (frame["country"] == country)]
    return rows.set_index("period")["value"].sort_index()


def expected_z(counts: np.ndarray, days: pd.DatetimeIndex, day: pd.Timestamp) -> float:
    """Independent recomputation: Anscombe values of the previous 90 calendar days."""
    y = 2.0 * np.sqrt(counts + 0.375)
    before = (days >= day - pd.Timedelta(days=WINDOW)) & (days < day)
    history = y[before]
    sd = max(float(np.std(history, ddof=1)), DAILY_SPIKE_MIN_SD)
    return float((y[days == day][0] - history.mean()) / sd)


RNG = np.random.default_rng(20220104)
CALM = RNG.poisson(1.5, size=120).astype(float)  # SYNTHETIC: ~1–2 protest events a day
BURST = [*CALM, 160.0, 240.0]  # SYNTHETIC burst on days 121–122 (cf. KAZ January 2022)


def test_daily_spike_matches_an_independent_computation_and_flags_the_burst() -> None:
    frame = observations(daily_rows("KAZ", BURST))
    z = spikes(derive_indicators(frame, catalogue()))
    days = pd.date_range("2021-09-01", periods=len(BURST), freq="D")
    counts = np.asarray(BURST)
    burst_day = days[120]
    assert z[burst_day] == pytest.approx(expected_z(counts, days, burst_day))
    assert z[burst_day] > 8  # far above the country's own 90 days
    calm_day = days[100]
    assert z[calm_day] == pytest.approx(expected_z(counts, days, calm_day))
    assert abs(z[calm_day]) < 3
    # The first burst day is in the next day's baseline: the second is judged against it too.
    assert z[days[121]] == pytest.approx(expected_z(counts, days, days[121]))


def test_the_window_is_the_previous_90_calendar_days() -> None:
    days = pd.date_range("2021-09-01", periods=len(BURST), freq="D")
    target = days[120]
    base = spikes(derive_indicators(observations(daily_rows("KAZ", BURST)), catalogue()))[target]
    outside = list(BURST)
    outside[120 - 91] = 500.0  # 91 days before: outside the window
    inside = list(BURST)
    inside[120 - 90] = 500.0  # 90 days before: the window's first day
    same = spikes(derive_indicators(observations(daily_rows("KAZ", outside)), catalogue()))
    moved = spikes(derive_indicators(observations(daily_rows("KAZ", inside)), catalogue()))
    assert same[target] == pytest.approx(base)
    assert moved[target] < base - 1
    itself = list(BURST)
    itself[120] = 1000.0  # the day itself is never part of its own baseline
    bigger = spikes(derive_indicators(observations(daily_rows("KAZ", itself)), catalogue()))
    assert bigger[target] > base


def test_too_little_history_gives_no_spike() -> None:
    counts = [1.0] * DAILY_SPIKE_MIN_DAYS + [50.0]
    z = spikes(derive_indicators(observations(daily_rows("KAZ", counts)), catalogue()))
    days = pd.date_range("2021-09-01", periods=len(counts), freq="D")
    assert days[DAILY_SPIKE_MIN_DAYS - 1] not in z.index  # 27 days before it
    assert days[DAILY_SPIKE_MIN_DAYS] in z.index  # 28 days before it


def test_a_few_events_in_a_quiet_country_are_poisson_noise_not_a_crisis() -> None:
    counts = [0.0] * WINDOW + [3.0, 10.0]
    z = spikes(derive_indicators(observations(daily_rows("TUV", counts)), catalogue()), "TUV")
    days = pd.date_range("2021-09-01", periods=len(counts), freq="D")
    # 90 empty days: sd 0 is floored at 1 (Poisson noise in Anscombe units).
    assert z[days[WINDOW]] == pytest.approx(2 * np.sqrt(3.375) - 2 * np.sqrt(0.375))
    assert z[days[WINDOW]] < 3
    assert z[days[WINDOW + 1]] > 4  # ten events the next day do stand out


def test_days_without_a_row_are_missing_from_the_window_not_zeros() -> None:
    counts = [5.0] * 60 + [40.0]
    rows = daily_rows("KAZ", counts)
    gappy = rows[:20] + rows[50:]  # 30 days without any row (export files missing)
    z = spikes(derive_indicators(observations(gappy), catalogue()))
    day = pd.Timestamp("2021-09-01") + pd.Timedelta(days=60)
    # Only the 30 present days (all 5 events) form the baseline: sd 0 → floor 1.
    assert z[day] == pytest.approx(2 * np.sqrt(40.375) - 2 * np.sqrt(5.375))
    zero_filled = rows[:20] + [(i, c, d, 0.0) for i, c, d, _ in rows[20:50]] + rows[50:]
    wrong = spikes(derive_indicators(observations(zero_filled), catalogue()))
    assert wrong[day] != pytest.approx(z[day])


def test_yesterdays_spike_is_visible_the_next_morning_not_the_same_day() -> None:
    frame = observations(daily_rows("KAZ", BURST))
    burst_day = pd.Timestamp("2021-09-01") + pd.Timedelta(days=120)
    same_day = spikes(derive_indicators(frame, catalogue(), as_of=burst_day))
    next_day = spikes(derive_indicators(frame, catalogue(), as_of=burst_day + pd.Timedelta(days=1)))
    assert burst_day not in same_day.index
    assert next_day[burst_day] > 8


def _panel(country: str, daily: list[float], monthly: list[float]) -> list[tuple]:
    months = pd.date_range("2020-09-01", periods=len(monthly), freq="MS")
    return [
        *daily_rows(country, daily),
        *[("protests_monthly", country, m, c) for m, c in zip(months, monthly, strict=True)],
    ]


# SYNTHETIC monthly history: calm months ending with a calm December 2021.
CALM_MONTHS = [40.0, 45.0, 38.0, 52.0, 41.0, 47.0, 39.0, 44.0, 50.0, 42.0, 46.0, 43.0, 45.0, 41.0,
               44.0, 40.0]


def _structure(country: str) -> list[tuple]:
    return structural_rows(country, inflation=20.0, growth=10.0, corruption=10.0, violence=10.0)


def test_the_unrest_pillar_is_the_stronger_spike_not_their_mean() -> None:
    rows = [*_panel("KAZ", BURST, CALM_MONTHS), *_structure("KAZ")]
    as_of = pd.Timestamp("2021-09-01") + pd.Timedelta(days=121)  # the morning after the burst
    strongest = score_panel(observations(rows), catalogue("max"), as_of=as_of, countries=["KAZ"])
    averaged = score_panel(observations(rows), catalogue("mean"), as_of=as_of, countries=["KAZ"])
    parts = strongest.contributions.set_index("indicator")
    daily_score, monthly_score = parts.loc["spike_daily", "normalised"], parts.loc[
        "spike_monthly", "normalised"]
    assert daily_score == 10.0 and monthly_score < 2.0  # a fresh burst, a calm last month
    pillar = strongest.pillars.set_index("pillar").loc["unrest_spike", "score"]
    assert pillar == pytest.approx(max(daily_score, monthly_score))
    mean = averaged.pillars.set_index("pillar").loc["unrest_spike", "score"]
    assert mean == pytest.approx((daily_score + monthly_score) / 2)
    # The monthly spike did not enter the pillar: no share of the composite is credited to it.
    assert np.isnan(parts.loc["spike_monthly", "scored"])
    assert parts.loc["spike_daily", "contribution"] > 0


def test_a_country_without_unrest_rows_has_no_unrest_score_never_a_calm_zero() -> None:
    quiet = [0.0] * 122  # a covered country with real zero counts
    rows = [
        *_panel("KGZ", quiet, [0.0] * len(CALM_MONTHS)),
        *_structure("KGZ"),
        *_structure("PSE"),  # structural data, but no GDELT row at all
    ]
    as_of = pd.Timestamp("2021-09-01") + pd.Timedelta(days=121)
    scored = score_panel(observations(rows), catalogue(), as_of=as_of, countries=["KGZ", "PSE"])
    pillars = scored.pillars.set_index(["country", "pillar"])["score"]
    assert pillars[("KGZ", "unrest_spike")] == 0.0  # data, and no spike: quiet
    assert np.isnan(pillars[("PSE", "unrest_spike")])  # no data: not 0
    assert "unrest_spike" in scored.country("PSE")["missing_pillars"]
    assert "unrest_spike" not in scored.country("KGZ")["missing_pillars"]
    status = scored.contributions.set_index(["country", "indicator"])["status"]
    assert status[("PSE", "spike_daily")] == "missing" == status[("PSE", "spike_monthly")]


def test_the_default_catalogue_shares_the_unrest_pillar_between_both_spikes() -> None:
    default = load_config(None).catalogue()
    assert default.pillar("unrest_spike").aggregation == "max"
    members = {item.id for item in default.enabled_indicators if item.pillar == "unrest_spike"}
    assert members == {"protest_spike", "protest_spike_daily"}
    daily = default.indicator("protest_spike_daily")
    assert (daily.derivation, daily.derived_from, daily.normalisation.window) == (
        "daily_spike", ("protest_events_daily",), 90)
    assert default.indicator("protest_events_daily").source == "gdelt"


def test_the_default_daily_unrest_rule_fires_the_morning_after_the_burst() -> None:
    settings = load_config(None)
    default = settings.catalogue()
    rule = next(item for item in settings.alerts.rules if item.id == "unrest_spike_daily")
    rows = [("protest_events_daily", *row[1:]) for row in daily_rows("KAZ", BURST)]
    frame = observations(rows)
    burst_day = pd.Timestamp("2021-09-01") + pd.Timedelta(days=120)
    values = {}
    for as_of in (burst_day, burst_day + pd.Timedelta(days=1)):
        panel = score_panel(frame, default, as_of=as_of, countries=["KAZ"])
        values[as_of] = measure(rule, default, panel=panel, countries=["KAZ"])
    assert values[burst_day]["KAZ"].value is not None
    assert values[burst_day]["KAZ"].value < rule.threshold  # the day before the burst
    after = values[burst_day + pd.Timedelta(days=1)]["KAZ"]
    assert after.value is not None and after.value > rule.threshold
    assert "protest_spike_daily" in after.detail
