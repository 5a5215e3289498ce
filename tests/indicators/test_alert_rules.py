"""The pure alert evaluator on made-up series: pending, hysteresis, re-notify, silences."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from indicators.alert_rules import (
    AlertRule,
    FieldError,
    Measurement,
    RuleState,
    Silence,
    evaluate,
    measure,
    parse_rule,
    step,
    validate_rule,
)
from indicators.catalogue import Catalogue, Indicator, Normalisation, Pillar
from indicators.scoring import PanelScore

START = datetime(2022, 1, 1, 6, 0)


def run_series(
    rule: AlertRule,
    series: Sequence[float | None],
    *,
    every: timedelta = timedelta(days=1),
    silenced_at: Sequence[int] = (),
) -> list[tuple[str, bool]]:
    """Step one instance through `series`; return (state, notified) after each evaluation."""
    state: RuleState | None = None
    trace: list[tuple[str, bool]] = []
    for index, value in enumerate(series):
        transition = step(
            rule, state, value, START + index * every, silenced=index in silenced_at, country="KAZ"
        )
        state = transition.new_state
        trace.append((state.state, transition.notify))
    return trace


def test_pending_period_is_respected() -> None:
    rule = AlertRule(id="r", threshold=5.0, pending_evaluations=3, renotify_hours=0)
    trace = run_series(rule, [6, 6, 6, 6])
    assert [state for state, _ in trace] == ["pending", "pending", "firing", "firing"]
    assert [notified for _, notified in trace] == [False, False, True, False]


def test_pending_resets_when_condition_clears_before_firing() -> None:
    rule = AlertRule(id="r", threshold=5.0, pending_evaluations=3)
    trace = run_series(rule, [6, 6, 4, 6, 6, 6])
    assert [state for state, _ in trace] == [
        "pending",
        "pending",
        "ok",
        "pending",
        "pending",
        "firing",
    ]
    assert sum(notified for _, notified in trace) == 1


def test_fires_at_first_breach_with_one_evaluation() -> None:
    rule = AlertRule(id="r", threshold=5.0, pending_evaluations=1)
    trace = run_series(rule, [4, 5, 5.01])
    # strictly above: 5 equals the threshold and does not breach
    assert [state for state, _ in trace] == ["ok", "ok", "firing"]


def test_hysteresis_prevents_flapping_around_the_threshold() -> None:
    oscillating = [5.2, 4.8, 5.1, 4.9, 5.3, 4.7, 5.05, 4.95]
    with_recovery = AlertRule(id="r", threshold=5.0, recovery=4.0, renotify_hours=0)
    trace = run_series(with_recovery, oscillating)
    assert {state for state, _ in trace} == {"firing"}
    assert sum(notified for _, notified in trace) == 1

    # The same series without a recovery threshold flaps: that is what the recovery is for.
    without = AlertRule(id="r", threshold=5.0, renotify_hours=0)
    flapping = run_series(without, oscillating)
    assert sum(notified for _, notified in flapping) == len(oscillating)


def test_resolves_only_past_the_recovery_threshold_then_returns_to_ok() -> None:
    rule = AlertRule(id="r", threshold=5.0, recovery=4.0, renotify_hours=0)
    trace = run_series(rule, [6, 4.5, 4.0, 3.0, 6])
    assert trace == [
        ("firing", True),
        ("firing", False),
        ("resolved", True),
        ("ok", False),
        ("firing", True),
    ]


def test_below_condition_mirrors_above() -> None:
    rule = AlertRule(id="r", condition="below", threshold=2.0, recovery=3.0, renotify_hours=0)
    trace = run_series(rule, [2.5, 1.9, 2.5, 2.9, 3.0])
    assert [state for state, _ in trace] == ["ok", "firing", "firing", "firing", "resolved"]


def test_renotify_interval_is_honoured() -> None:
    rule = AlertRule(id="r", threshold=5.0, renotify_hours=24)
    # evaluated every 6 hours for 3 days while firing: 1 initial + 1 per full 24 h
    trace = run_series(rule, [9.0] * 13, every=timedelta(hours=6))
    notified_at = [index for index, (_, notified) in enumerate(trace) if notified]
    assert notified_at == [0, 4, 8, 12]


def test_renotify_zero_means_never_repeat() -> None:
    rule = AlertRule(id="r", threshold=5.0, renotify_hours=0)
    trace = run_series(rule, [9.0] * 30)
    assert sum(notified for _, notified in trace) == 1


def test_silence_records_state_but_does_not_notify() -> None:
    rule = AlertRule(id="r", threshold=5.0, renotify_hours=0)
    trace = run_series(rule, [6, 6, 6, 3], silenced_at=(0, 1, 2, 3))
    assert [state for state, _ in trace] == ["firing", "firing", "firing", "resolved"]
    assert not any(notified for _, notified in trace)


def test_firing_hidden_by_a_silence_is_notified_when_the_silence_ends() -> None:
    rule = AlertRule(id="r", threshold=5.0, renotify_hours=0)
    trace = run_series(rule, [6, 6, 6, 6], silenced_at=(0, 1))
    assert trace == [("firing", False), ("firing", False), ("firing", True), ("firing", False)]


def test_no_data_keeps_the_state() -> None:
    rule = AlertRule(id="r", threshold=5.0, pending_evaluations=2)
    trace = run_series(rule, [6, None, float("nan"), 6])
    assert [state for state, _ in trace] == ["pending", "pending", "pending", "firing"]


def test_evaluate_records_history_and_routes_to_rule_channels() -> None:
    rules = [
        AlertRule(id="fuel", threshold=25.0, channels=("email", "log")),
        AlertRule(id="off", threshold=0.0, enabled=False),
    ]
    values = {
        "fuel": {"KAZ": Measurement(118.0, "LPG 55 → 120"), "KGZ": Measurement(3.0)},
        "off": {"KAZ": Measurement(99.0)},
    }
    silences = [Silence(rule_id=None, country="KGZ", until=START + timedelta(days=1))]
    result = evaluate(rules, {}, values, START, silences)
    assert result.states[("fuel", "KAZ")].state == "firing"
    assert result.states[("fuel", "KGZ")].state == "ok"
    assert ("off", "KAZ") not in result.states
    assert [(e.rule_id, e.country, e.to_state) for e in result.events] == [
        ("fuel", "KAZ", "firing")
    ]
    assert len(result.notifications) == 1
    due = result.notifications[0]
    assert due.channels == ("email", "log") and due.detail == "LPG 55 → 120"
    assert "118" in due.event.message and "25" in due.event.message


def test_silence_scope_and_expiry() -> None:
    until = START + timedelta(hours=1)
    by_rule = Silence(rule_id="a", country=None, until=until)
    assert by_rule.matches("a", "KAZ", START) and not by_rule.matches("b", "KAZ", START)
    assert not by_rule.matches("a", "KAZ", until)
    one = Silence(rule_id="a", country="KAZ", until=until)
    assert one.matches("a", "KAZ", START) and not one.matches("a", "UZB", START)


CATALOGUE = Catalogue(
    indicators=(
        Indicator(
            id="fuel_price_step",
            name="Fuel price step",
            pillar="fuel_shock",
            factor="fuel price hike",
            source="derived",
            source_code="fuel_lpg_retail",
            unit="%",
            higher_is_riskier=True,
            frequency="daily",
            normalisation=Normalisation(method="step"),
        ),
        Indicator(
            id="gini",
            name="Gini",
            pillar="inequality",
            factor="inequality",
            source="worldbank",
            source_code="SI.POV.GINI",
            unit="index",
            higher_is_riskier=True,
            frequency="annual",
            normalisation=Normalisation(lower=20, upper=60),
        ),
    ),
    pillars=(Pillar(id="fuel_shock", name="Fuel", kind="trigger"),),
)


def fields(errors: list[FieldError]) -> list[str]:
    return [error.field for error in errors]


@pytest.mark.parametrize(
    ("definition", "field", "fragment"),
    [
        ({"id": "x", "target": "indicator:nope", "threshold": 1}, "target", "unknown indicator"),
        ({"id": "x", "target": "pillar:nope", "threshold": 1}, "target", "unknown pillar"),
        ({"id": "x", "target": "bogus", "threshold": 1}, "target", "not a target"),
        ({"id": "x", "kind": "spike", "target": "composite", "threshold": 1}, "target", "spike"),
        (
            {"id": "x", "target": "composite", "threshold": 5, "recovery": 6},
            "recovery",
            "at or below",
        ),
        (
            {"id": "x", "target": "composite", "condition": "below", "threshold": 5, "recovery": 4},
            "recovery",
            "at or above",
        ),
        ({"id": "x", "target": "composite"}, "threshold", "needs a threshold"),
        ({"id": "Bad Id", "target": "composite", "threshold": 1}, "id", "not a valid id"),
        ({"id": "x", "target": "composite", "threshold": 1, "scope": ["kz"]}, "scope", "ISO3"),
        ({"id": "x", "target": "source:nope", "kind": "stale"}, "target", "unknown source"),
    ],
)
def test_validate_rule_names_the_bad_field(
    definition: dict[str, object], field: str, fragment: str
) -> None:
    rule, parse_errors = parse_rule(definition)
    assert parse_errors == [] and rule is not None
    errors = validate_rule(rule, CATALOGUE)
    assert field in fields(errors)
    assert any(fragment in error.message for error in errors if error.field == field)


@pytest.mark.parametrize(
    ("definition", "field"),
    [
        ({"id": "x", "threshold": "abc"}, "threshold"),
        ({"id": "x", "threshold": 5, "recovery": [1]}, "recovery"),
        ({"id": "x", "threshold": True}, "threshold"),
        ({"id": "x", "threshold": 5, "pending_evaluations": 1.5}, "pending_evaluations"),
        ({"id": "x", "threshold": 5, "kind": "sometimes"}, "kind"),
        ({"id": "x", "threshold": 5, "colour": "red"}, "colour"),
        ({"threshold": 5}, "id"),
    ],
)
def test_parse_rule_refuses_wrong_types_naming_the_field(
    definition: dict[str, object], field: str
) -> None:
    rule, errors = parse_rule(definition)
    assert rule is None
    assert field in fields(errors)


def test_valid_rule_round_trips_through_its_definition() -> None:
    rule, errors = parse_rule(
        {
            "id": "fuel_shock",
            "kind": "level",
            "target": "indicator:fuel_price_step",
            "threshold": "25",
            "recovery": "10",
            "scope": "KAZ, UZB",
            "channels": ["log"],
        }
    )
    assert errors == [] and rule is not None
    assert rule.threshold == 25.0 and rule.recovery == 10.0 and rule.scope == ("KAZ", "UZB")
    assert validate_rule(rule, CATALOGUE, channels={"log"}) == []
    from indicators.alert_rules import rule_to_definition

    again, errors = parse_rule(rule_to_definition(rule))
    assert errors == [] and again == rule


# --------------------------------------------------------------------------------------------
# measure: what each rule kind reads, on made-up panels and series


def _indicator(indicator_id: str, unit: str, **extra: object) -> Indicator:
    fields: dict[str, object] = {
        "id": indicator_id,
        "name": indicator_id,
        "pillar": "fuel_shock",
        "factor": "",
        "source": "analyst",
        "source_code": indicator_id,
        "unit": unit,
        "higher_is_riskier": True,
        "frequency": "daily",
        "normalisation": Normalisation(),
    }
    return Indicator(**{**fields, **extra})  # type: ignore[arg-type]


MEASURE_CATALOGUE = Catalogue(
    indicators=(
        _indicator("fuel_lpg_retail", "KZT/litre", max_age_days=400),
        _indicator(
            "fuel_price_step",
            "%",
            derivation="step_change",
            derived_from=("fuel_lpg_retail",),
            window_days=31,
            max_age_days=400,
        ),
        _indicator("protest_events", "events/month", frequency="monthly", max_age_days=120),
    ),
    pillars=(Pillar(id="fuel_shock", name="Fuel", kind="trigger"),),
)


def _panel(
    as_of: str,
    *,
    composite: dict[str, float] | None = None,
    bands: dict[str, str] | None = None,
    latest: list[dict[str, object]] | None = None,
) -> PanelScore:
    composite = composite or {}
    countries = pd.DataFrame(
        {
            "composite": pd.Series(composite, dtype="float64"),
            "band": pd.Series(bands or {}, dtype="object"),
            "confidence": "synthetic",
        }
    )
    countries.index.name = "country"
    latest_frame = pd.DataFrame(
        latest or [], columns=["indicator", "country", "period", "value", "age_days", "unit"]
    )
    latest_frame["period"] = pd.to_datetime(latest_frame["period"])
    return PanelScore(
        as_of=pd.Timestamp(as_of),
        countries=countries,
        pillars=pd.DataFrame(columns=["country", "pillar", "score"]),
        contributions=pd.DataFrame(columns=["country", "indicator", "contribution"]),
        latest=latest_frame,
    )


def _pool(
    indicator_id: str, country: str, points: list[tuple[str, float]], unit: str
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "indicator": indicator_id,
            "country": country,
            "period": pd.to_datetime([day for day, _ in points]),
            "value": [value for _, value in points],
            "unit": unit,
        }
    )


def test_measure_level_on_composite_and_missing_scores() -> None:
    rule = AlertRule(id="high", target="composite", threshold=6.5)
    panel = _panel("2022-01-01", composite={"KAZ": 7.2, "UZB": float("nan")})
    values = measure(rule, MEASURE_CATALOGUE, panel=panel, countries=["KAZ", "UZB", "TJK"])
    assert values["KAZ"].value == pytest.approx(7.2)
    assert values["UZB"].value is None
    assert "TJK" not in values


def test_measure_level_on_a_step_indicator_reads_the_raw_percent_and_expires() -> None:
    rule = AlertRule(id="fuel", target="indicator:fuel_price_step", threshold=25)
    series = _pool(
        "fuel_lpg_retail", "KAZ", [("2021-12-31", 55.0), ("2022-01-01", 120.0)], "KZT/litre"
    )
    fresh = _panel(
        "2022-01-01",
        latest=[
            {"indicator": "fuel_price_step", "country": "KAZ", "period": "2022-01-01",
             "value": 118.18, "age_days": 0.0, "unit": "%"},
        ],
    )  # fmt: skip
    measured = measure(rule, MEASURE_CATALOGUE, panel=fresh, countries=["KAZ"], pool=series)
    assert measured["KAZ"].value == pytest.approx(118.18)
    assert "fuel_lpg_retail 55 → 120 KZT/litre" in measured["KAZ"].detail
    old = _panel(
        "2022-02-10",
        latest=[
            {"indicator": "fuel_price_step", "country": "KAZ", "period": "2022-01-06",
             "value": 118.18, "age_days": 35.0, "unit": "%"},
        ],
    )  # fmt: skip
    assert measure(rule, MEASURE_CATALOGUE, panel=old, countries=["KAZ"])["KAZ"].value == 0.0


def test_measure_change_is_percent_against_the_value_in_force_a_window_earlier() -> None:
    rule = AlertRule(id="jump", kind="change", target="indicator:fuel_lpg_retail", threshold=25,
                     window_days=31)  # fmt: skip
    series = _pool(
        "fuel_lpg_retail",
        "KAZ",
        [("2021-11-01", 50.0), ("2021-12-31", 55.0), ("2022-01-01", 120.0)],
        "KZT/litre",
    )
    panel = _panel("2022-01-01")
    value = measure(rule, MEASURE_CATALOGUE, panel=panel, countries=["KAZ"], pool=series)
    assert value["KAZ"].value == pytest.approx((120 / 50 - 1) * 100)
    later = measure(rule, MEASURE_CATALOGUE, panel=_panel("2022-03-15"), countries=["KAZ"],
                    pool=series)  # fmt: skip
    assert later["KAZ"].value == pytest.approx(0.0)  # nothing moved in the last 31 days


def test_a_change_of_a_local_currency_price_names_the_rows_own_unit() -> None:
    # SYNTHETIC values. The generic catalogue's unit is the pattern LCU/litre; the message
    # shows the row's own PKR/litre.
    catalogue = Catalogue(
        indicators=(_indicator("fuel_diesel_retail", "LCU/litre", max_age_days=400),),
        pillars=MEASURE_CATALOGUE.pillars,
    )
    rule = AlertRule(id="jump", kind="change", target="indicator:fuel_diesel_retail",
                     threshold=10, window_days=31)  # fmt: skip
    series = _pool("fuel_diesel_retail", "PAK", [("2022-04-01", 144.15), ("2022-06-01", 263.3)],
                   "PKR/litre")  # fmt: skip
    value = measure(rule, catalogue, panel=_panel("2022-06-01"), countries=["PAK"], pool=series)
    assert value["PAK"].value == pytest.approx((263.3 / 144.15 - 1) * 100)
    assert "263.3 PKR/litre" in value["PAK"].detail and "LCU" not in value["PAK"].detail


def test_measure_change_has_no_baseline_when_the_value_in_force_is_too_old() -> None:
    # The real KZ LPG points: 52.5 on 2022-01-06, next report 70 on 2024-03-05. Two years of
    # drift must not read as a +33 % jump "in 31 days".
    rule = AlertRule(id="jump", kind="change", target="indicator:fuel_lpg_retail", threshold=25,
                     window_days=31)  # fmt: skip
    series = _pool(
        "fuel_lpg_retail", "KAZ", [("2022-01-06", 52.5), ("2024-03-05", 70.0)], "KZT/litre"
    )
    measured = measure(rule, MEASURE_CATALOGUE, panel=_panel("2024-03-05"), countries=["KAZ"],
                       pool=series)  # fmt: skip
    assert measured["KAZ"].value is None
    assert "no baseline" in measured["KAZ"].detail
    # Within the maximum age (400 days) the same comparison stands.
    recent = _pool(
        "fuel_lpg_retail", "KAZ", [("2023-06-01", 52.5), ("2024-03-05", 70.0)], "KZT/litre"
    )
    measured = measure(rule, MEASURE_CATALOGUE, panel=_panel("2024-03-05"), countries=["KAZ"],
                       pool=recent)  # fmt: skip
    assert measured["KAZ"].value == pytest.approx((70 / 52.5 - 1) * 100)


def test_measure_spike_is_a_z_score_against_the_own_history() -> None:
    rule = AlertRule(id="spike", kind="spike", target="indicator:protest_events", threshold=3,
                     window_days=730)  # fmt: skip
    months = pd.date_range("2020-01-01", periods=13, freq="MS")
    counts = [10, 12, 9, 11, 10, 13, 9, 10, 11, 12, 10, 11, 60]
    series = _pool(
        "protest_events",
        "KAZ",
        [(str(d.date()), float(c)) for d, c in zip(months, counts, strict=True)],
        "events/month",
    )
    measured = measure(rule, MEASURE_CATALOGUE, panel=_panel("2021-01-15"), countries=["KAZ"],
                       pool=series)  # fmt: skip
    z = measured["KAZ"].value
    assert z is not None and z > 3
    baseline = np.log1p(np.array(counts[:-1], dtype=float))
    assert z == pytest.approx((np.log1p(60) - baseline.mean()) / baseline.std(ddof=1))
    short = measure(rule, MEASURE_CATALOGUE, panel=_panel("2020-04-15"), countries=["KAZ"],
                    pool=series[series["period"] <= "2020-04-01"])  # fmt: skip
    assert short["KAZ"].value is None  # too little history to call anything a spike


def test_measure_stale_source_and_band_change() -> None:
    stale = AlertRule(id="stale", kind="stale", target="source:*", threshold=3)
    ages = {"fred": 5.5, "nbk": 1.0, "gdelt": None}
    measured = measure(stale, MEASURE_CATALOGUE, panel=_panel("2022-01-01"), countries=["KAZ"],
                       source_ages=ages)  # fmt: skip
    assert list(measured) == ["WLD"]
    # gdelt is enabled but was never fetched: infinitely stale, named first.
    assert measured["WLD"].value == math.inf
    assert measured["WLD"].detail.endswith("gdelt never fetched, fred 5.5 d")
    assert "nbk" not in measured["WLD"].detail
    fetched = measure(stale, MEASURE_CATALOGUE, panel=_panel("2022-01-01"), countries=["KAZ"],
                      source_ages={"fred": 5.5, "nbk": 1.0})  # fmt: skip
    assert fetched["WLD"].value == 5.5 and "fred 5.5 d" in fetched["WLD"].detail
    one = AlertRule(id="one", kind="stale", target="source:gdelt", threshold=3)
    never = measure(one, MEASURE_CATALOGUE, panel=_panel("2022-01-01"), countries=["KAZ"],
                    source_ages=ages)["WLD"]  # fmt: skip
    assert never.value == math.inf and never.detail == "source gdelt: never fetched"

    rise = AlertRule(id="band", kind="band_change", target="composite")
    ranks = {"KAZ": ("medium", "very high"), "UZB": ("high", "low")}
    earlier = _panel("2021-12-01", bands={c: before for c, (before, _) in ranks.items()})
    now = _panel("2022-01-01", bands={c: after for c, (_, after) in ranks.items()})
    moved = measure(rise, MEASURE_CATALOGUE, panel=now, earlier=earlier, countries=["KAZ", "UZB"])
    assert moved["KAZ"].value == 2.0 and moved["UZB"].value == -2.0


def test_a_never_fetched_source_fires_the_stale_rule_and_says_never() -> None:
    rule = AlertRule(id="stale_source", kind="stale", target="source:*", threshold=3)
    transition = step(rule, None, math.inf, START, country="WLD")
    assert transition.new_state.state == "firing" and transition.notify
    assert transition.event is not None and "value never" in transition.event.message
    # Infinity is "never" only for stale rules: elsewhere it stays no data.
    level = AlertRule(id="level", threshold=5.0)
    assert step(level, None, math.inf, START, country="KAZ").new_state.state == "ok"


def test_trigger_blind_rule_counts_blind_days_and_never_seen_is_always() -> None:
    from indicators.scoring import score_panel
    from tests.indicators.scoring_support import synthetic_catalogue
    from tests.indicators.test_scoring import scenario

    catalogue = synthetic_catalogue()
    rule, problems = parse_rule(
        {"id": "trigger_blind", "kind": "stale", "target": "trigger", "scope": ["KAZ", "KGZ"]}
    )
    assert rule is not None and problems == []
    assert validate_rule(rule, catalogue) == []
    frame = scenario()
    fresh = score_panel(frame, catalogue, as_of="2022-01-02")
    measured = measure(rule, catalogue, panel=fresh, countries=["KAZ", "KGZ"])
    # KAZ sees its own fuel step: not blind (0). KGZ has no trigger input at all: never seen.
    assert measured["KAZ"].value == 0.0 and "blind" not in measured["KAZ"].detail
    assert measured["KGZ"].value == math.inf
    assert measured["KGZ"].detail.startswith("trigger blind: ")
    late = score_panel(frame, catalogue, as_of="2022-09-01")
    kaz = late.country("KAZ")
    assert kaz["trigger_state"] == "blind"
    days = measure(rule, catalogue, panel=late, countries=["KAZ"])["KAZ"]
    assert days.value == (pd.Timestamp("2022-09-01") - kaz["blind_since"]).days + 1
    assert days.detail.startswith("trigger blind since ")
    assert step(rule, None, days.value, START, country="KAZ").new_state.state == "firing"
    assert step(rule, None, 0.0, START, country="KAZ").new_state.state == "ok"
