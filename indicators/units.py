"""Catalogue units against the unit each observation row carries (local-currency price units).

A catalogue indicator states the unit of its stored values. Most are fixed (`USD/bbl`, `%`), but a
price catalogued for every country is in each country's own currency: its catalogue unit is a
pattern with the placeholder `LCU` ("local currency unit"), e.g. `LCU/litre`, and each row
records the real unit (`PKR/litre`, `IRR/litre`, `EUR/litre`). Alternatives are joined by
` or ` (`LCU/kg or LCU/litre`: LPG is sold by the kilogram in cylinders and by the litre as
autogas).

    unit_accepts("LCU/litre", "IRR/litre")            True
    unit_accepts("LCU/litre", "LCU/litre")            False: a row names its real currency
    unit_accepts("LCU/kg or LCU/litre", "BDT/kg")     True
    unit_accepts("USD/bbl", "USD/bbl")                True (fixed units match exactly)
"""

from __future__ import annotations

import functools
import re

LOCAL_CURRENCY = "LCU"
ALTERNATIVE_SEPARATOR = " or "
# ISO 4217 alphabetic code: three capital letters.
_CURRENCY = re.compile(r"[A-Z]{3}")


def unit_alternatives(catalogue_unit: str) -> tuple[str, ...]:
    """The units a catalogue unit allows, split on ` or ` (a fixed unit is its own only one)."""
    return tuple(part.strip() for part in catalogue_unit.split(ALTERNATIVE_SEPARATOR))


# A file repeats the same few units on every row: answer each pair once.
@functools.lru_cache(maxsize=4096)
def unit_accepts(catalogue_unit: str, unit: str) -> bool:
    """Whether an observation row's `unit` is allowed by the indicator's `catalogue_unit`.

    Args:
        catalogue_unit: the indicator's unit (fixed, or an `LCU/...` pattern, or alternatives
            joined by ` or `).
        unit: the unit recorded on the row.

    Returns:
        True when the unit equals a fixed alternative, or replaces `LCU` of a pattern
        alternative with a three-letter currency code (ISO 4217 style) other than `LCU`.
    """
    unit = unit.strip()
    for allowed in unit_alternatives(catalogue_unit):
        if unit == allowed and LOCAL_CURRENCY not in allowed.split("/"):
            return True
        head, _, rest = allowed.partition("/")
        if head != LOCAL_CURRENCY or not rest:
            continue
        currency, slash, per = unit.partition("/")
        if slash and per == rest and _CURRENCY.fullmatch(currency) and currency != LOCAL_CURRENCY:
            return True
    return False


def is_local_currency_unit(catalogue_unit: str) -> bool:
    """True when the catalogue unit is (or offers) an `LCU/...` pattern."""
    return any(
        item.partition("/")[0] == LOCAL_CURRENCY for item in unit_alternatives(catalogue_unit)
    )


def unit_hint(catalogue_unit: str) -> str:
    """A short example of an accepted unit, for error messages (`e.g. IRR/litre`)."""
    examples = []
    for item in unit_alternatives(catalogue_unit):
        head, _, rest = item.partition("/")
        examples.append(f"IRR/{rest}" if head == LOCAL_CURRENCY and rest else item)
    return " or ".join(examples)


def shown_unit(catalogue_unit: str, row_unit: object) -> str:
    """The unit to print beside a value: the row's own (`PKR/litre`) for a local-currency
    indicator when the row names one, else the catalogue's."""
    text = "" if row_unit is None else str(row_unit).strip()
    if text and text.lower() != "nan" and is_local_currency_unit(catalogue_unit):
        return text
    return catalogue_unit
