"""The cell-level rules every analyst CSV layout shares: periods, numbers, plausible values,
units, the problem record and the parsed rows' frame (`fetchers.analyst_csv` reads the layouts)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import pandas as pd

from indicators.observations import OBSERVATION_KEY
from indicators.units import is_local_currency_unit, unit_hint


class IndicatorLike(Protocol):
    """What the parser reads of an indicator (`IndicatorSettings` and `Indicator` both fit)."""

    @property
    def id(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def unit(self) -> str: ...
    @property
    def frequency(self) -> str: ...


class CatalogueLike(Protocol):
    """Anything with the catalogue's indicators: `Settings`, `Catalogue` or a view of them."""

    @property
    def indicators(self) -> Sequence[IndicatorLike]: ...


@dataclass(frozen=True)
class RowProblem:
    """One problem in one cell (or row) of the file."""

    row: int
    column: str
    problem: str

    def describe(self) -> str:
        """`row 5, column value: ...` (the column is left out for whole-row problems)."""
        where = f"row {self.row}, column {self.column}" if self.column else f"row {self.row}"
        return f"{where}: {self.problem}"


def parse_period(text: str, frequency: str) -> pd.Timestamp | None:
    """`YYYY`, `YYYY-MM` or `YYYY-MM-DD` → the start of the period at `frequency` (None if bad).

    Args:
        text: the cell's text.
        frequency: the indicator's frequency (`annual`, `quarterly`, `monthly`, …).

    Returns:
        The period's first day, or None when the text is not a date.
    """
    match = re.fullmatch(r"([0-9]{4})(?:-([0-9]{1,2})(?:-([0-9]{1,2}))?)?", text)
    if not match:
        return None
    year = int(match.group(1))
    month = int(match.group(2) or 1)
    day = int(match.group(3) or 1)
    try:
        stamp = pd.Timestamp(year=year, month=month, day=day)
    except ValueError:
        return None
    if frequency == "annual":
        return pd.Timestamp(year=year, month=1, day=1)
    if frequency == "quarterly":
        return pd.Timestamp(year=year, month=3 * ((month - 1) // 3) + 1, day=1)
    if frequency == "monthly":
        return pd.Timestamp(year=year, month=month, day=1)
    if match.group(3) is None and frequency in ("daily", "weekly"):
        return None  # a daily value needs its day
    return stamp


# A plain decimal number in ASCII: float() alone also takes `1_3_0`, Arabic-Indic digits,
# "nan" and "infinity".
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_PRICE_UNIT = re.compile(r"^[A-Z]{3}/|^[A-Z]{3} per |^LCU per |per USD$")
_COUNT_UNIT = re.compile(r"^(events|deaths)\b|^per 100k$")
TRUE_TEXT = frozenset({"true", "yes", "1"})
FALSE_TEXT = frozenset({"", "false", "no", "0"})


def parse_number(text: str) -> float | None:
    if not _NUMBER.fullmatch(text):
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def plausible_range(indicator: object) -> tuple[float | None, bool, float | None]:
    """(lowest, whether the lowest itself is allowed, highest) for an indicator's raw values.

    The catalogue's `valid_min`/`valid_max` when given; otherwise judged by the unit: prices
    (`KZT/litre`, `USD/bbl`, `LCU per USD`) must be > 0, counts (`events/month`) >= 0.
    """
    low = getattr(indicator, "valid_min", None)
    high = getattr(indicator, "valid_max", None)
    if low is not None or high is not None:
        return low, True, high
    unit = str(getattr(indicator, "unit", ""))
    if _PRICE_UNIT.search(unit):
        return 0.0, False, None
    if _COUNT_UNIT.search(unit):
        return 0.0, True, None
    return None, True, None


def implausible(value: float, indicator: object) -> str:
    low, low_allowed, high = plausible_range(indicator)
    name = getattr(indicator, "id", "")
    if low is not None and (value < low or (value == low and not low_allowed)):
        bound = f">= {low:g}" if low_allowed else f"> {low:g}"
        return f"{value:g} is not plausible for {name} (values must be {bound})"
    if high is not None and value > high:
        return f"{value:g} is not plausible for {name} (values must be <= {high:g})"
    return ""


def unit_problem(unit: str, indicator_id: str, catalogue_unit: str) -> str:
    if is_local_currency_unit(catalogue_unit):
        return (
            f"{unit!r} is not a unit of {indicator_id} ({catalogue_unit!r}: the country's "
            f"currency code, e.g. {unit_hint(catalogue_unit)})"
        )
    return f"{unit!r} is not the unit of {indicator_id} ({catalogue_unit!r})"


def rows_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    columns = [
        "indicator", "country", "period", "value", "unit", "vintage", "is_forecast",
        "price_in_force", "row",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    frame["is_forecast"] = frame["is_forecast"].fillna(False).astype(bool)
    frame["price_in_force"] = frame["price_in_force"].fillna(False).astype(bool)
    frame["row"] = frame["row"].astype("int64")
    # The key is unique by construction; this documents it for the single upsert that follows.
    assert not frame.duplicated(subset=list(OBSERVATION_KEY)).any()
    return frame
