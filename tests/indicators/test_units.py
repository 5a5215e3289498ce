"""Catalogue units against each row's unit: `LCU/...` patterns take any country's currency."""

from __future__ import annotations

import pytest

from indicators.units import is_local_currency_unit, shown_unit, unit_accepts, unit_hint


@pytest.mark.parametrize(
    ("catalogue", "unit", "accepted"),
    [
        ("LCU/litre", "IRR/litre", True),
        ("LCU/litre", "KZT/litre", True),
        ("LCU/litre", "EUR/litre", True),
        ("LCU/litre", "LCU/litre", False),  # the placeholder is not a currency
        ("LCU/litre", "IRR/kg", False),
        ("LCU/litre", "irr/litre", False),
        ("LCU/litre", "IRRR/litre", False),
        ("LCU/litre", "", False),
        ("LCU/kg or LCU/litre", "BDT/kg", True),
        ("LCU/kg or LCU/litre", "KZT/litre", True),
        ("LCU/kg or LCU/litre", "BDT/cylinder", False),
        ("USD/bbl", "USD/bbl", True),
        ("USD/bbl", "EUR/bbl", False),
        ("%", "%", True),
    ],
)
def test_unit_accepts(catalogue: str, unit: str, accepted: bool) -> None:
    assert unit_accepts(catalogue, unit) is accepted


def test_hints_and_pattern_detection() -> None:
    assert unit_hint("LCU/kg or LCU/litre") == "IRR/kg or IRR/litre"
    assert is_local_currency_unit("LCU/litre") and not is_local_currency_unit("USD/bbl")


@pytest.mark.parametrize(
    ("catalogue", "row", "shown"),
    [
        ("LCU/litre", "PKR/litre", "PKR/litre"),
        ("LCU/kg or LCU/litre", "BDT/kg", "BDT/kg"),
        ("LCU/litre", None, "LCU/litre"),
        ("LCU/litre", float("nan"), "LCU/litre"),
        ("USD/bbl", "something else", "USD/bbl"),  # fixed units always show the catalogue's
    ],
)
def test_the_unit_shown_beside_a_value(catalogue: str, row: object, shown: str) -> None:
    assert shown_unit(catalogue, row) == shown
