"""Derived indicators: steps, % changes, depreciation, price gaps, spikes (synthetic series)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indicators.catalogue import Catalogue, Indicator, Normalisation, Pillar
from indicators.derived import (
    SPIKE_MIN_HISTORY,
    SPIKE_MIN_SD,
    derive_indicators,
    trailing_zscore,
)
from tests.indicators.scoring_support import observations, synthetic_catalogue

CATALOGUE = synthetic_catalogue()


def _series(frame: pd.DataFrame, indicator: str, country: str = "KAZ") -> pd.Series:
    rows = frame[(frame["indicator"] == indicator) & (frame["country"] == country)]
    return rows.set_index("period")["value"].sort_index()


def test_lpg_step_is_dated_on_the_jump_and_stays_for_the_window() -> None:
    # The Mangystau LPG points of the bundled snapshot (values from the public reports).
    lpg = [
        ("2021-12-31", 55.0),
        ("2022-01-01", 120.0),
        ("2022-01-02", 120.0),
        ("2022-01-03", 87.5),
        ("2022-01-04", 50.0),
        ("2022-01-06", 72.5),
        ("2022-02-20", 72.5),
        ("2022-03-01", 72.5),
    ]
    frame = observations([("fuel_price", "KAZ", day, value, day) for day, value in lpg])
    step = _series(derive_indicators(frame, CATALOGUE), "fuel_step")
    assert pd.Timestamp("2021-12-31") not in step.index  # no earlier observation: no step
    assert step[pd.Timestamp("2022-01-01")] == pytest.approx((120 / 55 - 1) * 100)
    # The +118 % step stays the largest within the 31-day window, through the cut to 50 ...
    for day in ("2022-01-02", "2022-01-03", "2022-01-04", "2022-01-06"):
        assert step[pd.Timestamp(day)] == pytest.approx(118.1818, abs=1e-3)
    # 2022-02-20 follows a 45-day gap: no datable step, so no value (the old one goes stale).
    assert pd.Timestamp("2022-02-20") not in step.index
    # On 2022-03-01 the jump is more than 31 days back; 72.5 → 72.5 is the only step: 0 %.
    assert step[pd.Timestamp("2022-03-01")] == pytest.approx(0.0)


def test_a_jump_across_a_gap_longer_than_the_window_is_not_a_step() -> None:
    frame = observations(
        [
            ("fuel_price", "KAZ", "2015-05-19", 108.0),
            ("fuel_price", "KAZ", "2022-01-06", 182.0),
        ]
    )
    derived = derive_indicators(frame, CATALOGUE)
    assert derived[derived["indicator"] == "fuel_step"].empty


def test_step_takes_the_largest_step_of_any_base_series() -> None:
    indicators = (
        *CATALOGUE.indicators,
        Indicator(
            "diesel",
            "Diesel",
            "context",
            "synthetic",
            "test",
            "d",
            "LCU/l",
            True,
            "daily",
            Normalisation(),
        ),
    )
    two_bases = tuple(
        replace(item, derived_from=("fuel_price", "diesel")) if item.id == "fuel_step" else item
        for item in indicators
    )
    catalogue = Catalogue(two_bases, CATALOGUE.pillars, CATALOGUE.bands, CATALOGUE.model)
    frame = observations(
        [
            ("fuel_price", "KAZ", "2022-01-01", 100.0),
            ("fuel_price", "KAZ", "2022-01-05", 110.0),  # +10 %
            ("diesel", "KAZ", "2022-01-02", 200.0),
            ("diesel", "KAZ", "2022-01-03", 300.0),  # +50 %
        ]
    )
    step = _series(derive_indicators(frame, catalogue), "fuel_step")
    assert step[pd.Timestamp("2022-01-03")] == pytest.approx(50.0)
    assert step[pd.Timestamp("2022-01-05")] == pytest.approx(50.0)


def test_change_yoy_against_the_value_twelve_months_earlier() -> None:
    days = pd.date_range("2020-12-20", "2022-01-10", freq="D")
    frame = observations([("oil_price", "WLD", day, 50.0 + i * 0.1) for i, day in enumerate(days)])
    yoy = _series(derive_indicators(frame, CATALOGUE), "oil_yoy", "WLD")
    assert yoy.index.min() == pd.Timestamp("2021-12-20")  # first date with a value a year back
    now = 50.0 + (pd.Timestamp("2022-01-05") - days[0]).days * 0.1
    then = 50.0 + (pd.Timestamp("2021-01-05") - days[0]).days * 0.1
    assert yoy[pd.Timestamp("2022-01-05")] == pytest.approx((now / then - 1) * 100)


def _fx_catalogue() -> Catalogue:
    pillars = (Pillar("macro", "Macro", "structural"), Pillar("context", "C", "context", 0.0))

    def base(ident: str, frequency: str) -> Indicator:
        return Indicator(
            ident, ident, "context", "f", "t", ident, "LCU", True, frequency, Normalisation()
        )

    dep = Indicator(
        "fx_depreciation_12m",
        "dep",
        "macro",
        "f",
        "derived",
        "",
        "%",
        True,
        "daily",
        Normalisation("goalposts", 0.0, 50.0),
        derivation="depreciation_12m",
        derived_from=("usd_fx_rate", "fx_rate_annual"),
    )
    return Catalogue((base("usd_fx_rate", "daily"), base("fx_rate_annual", "annual"), dep), pillars)


def test_depreciation_prefers_the_daily_rate_where_present() -> None:
    catalogue = _fx_catalogue()
    daily = pd.date_range("2021-05-10", "2022-06-30", freq="D")
    rows = [("usd_fx_rate", "KAZ", day, 420.0 + i * 0.05) for i, day in enumerate(daily)]
    rows += [
        ("fx_rate_annual", "KAZ", f"{year}-01-01", rate)
        for year, rate in ((2019, 382.75), (2020, 412.95), (2021, 426.03), (2022, 460.2))
    ]
    rows += [
        ("fx_rate_annual", "KGZ", "2020-01-01", 77.3),
        ("fx_rate_annual", "KGZ", "2021-01-01", 84.6),
    ]
    derived = derive_indicators(observations(rows), catalogue)
    kaz = _series(derived, "fx_depreciation_12m")
    # Annual-based values before the first daily-based one (2022-05-10), daily-based after.
    assert kaz[pd.Timestamp("2020-01-01")] == pytest.approx((412.95 / 382.75 - 1) * 100)
    assert pd.Timestamp("2022-01-01") in kaz.index
    first_daily = pd.Timestamp("2022-05-10")
    assert kaz[first_daily] == pytest.approx(((420 + 365 * 0.05) / 420 - 1) * 100)
    assert (kaz.index[kaz.index > pd.Timestamp("2022-01-01")] >= first_daily).all()
    kgz = _series(derived, "fx_depreciation_12m", "KGZ")
    assert kgz[pd.Timestamp("2021-01-01")] == pytest.approx((84.6 / 77.3 - 1) * 100)


def test_derived_rows_carry_the_publication_of_their_newest_input() -> None:
    frame = observations(
        [
            ("fuel_price", "KAZ", "2021-12-31", 55.0, "2022-01-01"),
            ("fuel_price", "KAZ", "2022-01-01", 120.0, "2022-01-02"),
        ]
    )
    derived = derive_indicators(frame, CATALOGUE)
    row = derived[derived["indicator"] == "fuel_step"].iloc[0]
    assert row["published_at"] == pd.Timestamp("2022-01-02")
    assert row["source"] == "derived"
    # Point in time: as of 2022-01-01 the 120 was not yet published, so there is no step.
    early = derive_indicators(frame, CATALOGUE, as_of="2022-01-01")
    assert early[early["indicator"] == "fuel_step"].empty


def test_price_gap_per_litre_in_usd() -> None:
    indicators = (
        Indicator(
            "pump", "pump", "context", "f", "t", "p", "LCU/litre", True, "daily", Normalisation()
        ),
        Indicator(
            "brent", "brent", "context", "f", "t", "b", "USD/bbl", True, "daily", Normalisation()
        ),
        Indicator(
            "fx", "fx", "context", "f", "t", "x", "LCU per USD", True, "daily", Normalisation()
        ),
        Indicator(
            "gap",
            "gap",
            "macro",
            "f",
            "derived",
            "",
            "%",
            True,
            "daily",
            Normalisation("goalposts", -100.0, 100.0),
            derivation="price_gap",
            derived_from=("pump", "brent", "fx"),
        ),
    )
    catalogue = Catalogue(
        indicators, (Pillar("macro", "M", "structural"), Pillar("context", "C", "context"))
    )
    frame = pd.concat(
        [
            observations(
                [("pump", "KAZ", "2022-01-03", 200.0), ("fx", "KAZ", "2022-01-03", 400.0)]
            ),
            observations([("brent", "WLD", "2022-01-03", 79.4936474)]).assign(unit="USD/bbl"),
        ]
    )
    gap = _series(derive_indicators(frame, catalogue), "gap")
    # 200 LCU/l = 0.5 USD/l; 79.49 USD/bbl = 0.5 USD/l: no gap.
    assert gap.iloc[0] == pytest.approx(0.0, abs=1e-6)


def _naive_zscores(values: list[float], window: int) -> list[float]:
    """An independent per-row loop: z of each value against the previous `window` values."""
    out = []
    for i, value in enumerate(values):
        history = values[max(0, i - window) : i]
        if len(history) < max(SPIKE_MIN_HISTORY, 2):
            out.append(float("nan"))
            continue
        mean = sum(history) / len(history)
        sd = (sum((h - mean) ** 2 for h in history) / (len(history) - 1)) ** 0.5
        out.append((value - mean) / max(sd, SPIKE_MIN_SD))
    return out


@settings(max_examples=60, deadline=None)
@given(
    first=st.lists(st.floats(0, 12, allow_nan=False), min_size=1, max_size=40),
    second=st.lists(st.floats(0, 12, allow_nan=False), min_size=1, max_size=40),
    window=st.integers(2, 24),
)
def test_trailing_zscore_matches_a_naive_loop(
    first: list[float], second: list[float], window: int
) -> None:
    values = pd.Series(first + second)
    groups = [pd.Series(["A"] * len(first) + ["B"] * len(second))]
    z = trailing_zscore(values, groups, window)
    expected = _naive_zscores(first, window) + _naive_zscores(second, window)
    np.testing.assert_allclose(z.to_numpy(), np.array(expected), rtol=1e-7, atol=1e-7)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(0, 12, allow_nan=False), min_size=8, max_size=60),
    shift=st.floats(-50, 50, allow_nan=False),
    window=st.integers(2, 24),
)
def test_a_constant_shift_of_a_zscored_series_changes_nothing(
    values: list[float], shift: float, window: int
) -> None:
    series = pd.Series(values)
    groups = [pd.Series(["KAZ"] * len(values))]
    plain = trailing_zscore(series, groups, window)
    shifted = trailing_zscore(series + shift, groups, window)
    np.testing.assert_allclose(shifted.to_numpy(), plain.to_numpy(), rtol=1e-6, atol=1e-6)


def test_protest_spike_of_the_kazakh_january() -> None:
    # GDELT KAZ protest counts 2020-01 … 2022-01 (the snapshot's values).
    counts = [
        63,
        288,
        124,
        361,
        137,
        62,
        118,
        61,
        79,
        95,
        26,
        48,
        49,
        48,
        86,
        59,
        57,
        33,
        67,
        92,
        48,
        57,
        58,
        72,
        1181,
    ]
    months = pd.date_range("2020-01-01", periods=len(counts), freq="MS")
    frame = observations([("protests", "KAZ", m, c) for m, c in zip(months, counts, strict=True)])
    spike = _series(derive_indicators(frame, CATALOGUE), "protest_spike")
    history = np.log1p(counts[-13:-1])
    expected = (np.log1p(1181) - history.mean()) / history.std(ddof=1)
    assert spike[pd.Timestamp("2022-01-01")] == pytest.approx(expected)
    assert spike[pd.Timestamp("2022-01-01")] > 4  # far above the country's own history
    assert spike[pd.Timestamp("2021-12-01")] < 1
