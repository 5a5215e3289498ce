"""The pure alert evaluator on made-up series: pending, hysteresis, re-notify, silences."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest

from indicators.alert_rules import (
    AlertRule,
    FieldError,
    Measurement,
    RuleState,
    Silence,
    evaluate,
    parse_rule,
    step,
    validate_rule,
)
from indicators.catalogue import Catalogue, Indicator, Normalisation, Pillar

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
