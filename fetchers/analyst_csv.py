"""The analyst's own series from CSV: parsed and validated completely before anything is written.

Two layouts are accepted (the header decides):

* **Flashpoint's import format** — one observation per row::

      indicator,country,period,value,unit[,vintage,note,source_url]
      fuel_lpg_retail,KAZ,2022-01-01,120,KZT/litre,,Mangystau after exchange pricing,https://...

  `indicator` is a catalogue id (`[[indicators]]` in config.toml); `country` an ISO3 code (`WLD`
  for global series); `period` `YYYY`, `YYYY-MM` or `YYYY-MM-DD` (stored as the start of the
  indicator's period: an annual value for 2021 → 2021-01-01, a monthly one → the 1st); `value` a
  number (`.` decimal point); `unit` the catalogue unit of the indicator (empty = that unit), or
  for a price catalogued in local currency (`LCU/litre`) the row's real unit (`IRR/litre`),
  which is then required;
  `vintage` optional (empty = the source's single vintage); `is_forecast` optional (`true` for a
  projection: only forecasts may have a period after today, and they stay flagged). `note` and
  `source_url` document the row in your file and are not stored.

  Plausibility: numbers and dates are ASCII digits only (no `1_3_0`, no Arabic-Indic digits); a
  value must lie in the indicator's catalogue range (`valid_min`/`valid_max`; without them prices
  must be > 0 and counts >= 0, judged by the unit); a period may not start after today unless the
  row is a forecast.

* **The Kazakhstan fuel-price points file** (`kz_fuel_price_points_from_reports.csv`)::

      date,region,fuel,unit,value_min,value_max,price_type,note,source_url

  Retail prices and retail caps in KZT/litre of LPG (autogas), AI-92/93 gasoline and diesel map to
  `fuel_lpg_retail`, `fuel_gasoline_retail` and `fuel_diesel_retail` for KAZ: each row's value is
  the midpoint of `value_min`–`value_max`; per indicator and date the Mangystau row is kept when
  there is one (the series follows the region where the 2022 trigger bit), else the highest
  regional midpoint. Other fuels (AI-80, AI-95) and wholesale caps (KZT/tonne)
  have no indicator and are skipped, and the count of skipped rows is reported.

Rows are numbered as a spreadsheet shows them: the header is row 1, the first data row is row 2.
Every problem names the file, the row and the column; nothing is written unless every row is good.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

import pandas as pd

from fetchers.errors import ImportFileError
from indicators.countries import iso3_countries
from indicators.observations import OBSERVATION_KEY, conform_observations
from indicators.units import is_local_currency_unit, unit_accepts, unit_hint

IMPORT_COLUMNS: tuple[str, ...] = ("indicator", "country", "period", "value", "unit")
OPTIONAL_IMPORT_COLUMNS: tuple[str, ...] = ("vintage", "is_forecast", "note", "source_url")
FUEL_POINT_COLUMNS: tuple[str, ...] = (
    "date",
    "region",
    "fuel",
    "unit",
    "value_min",
    "value_max",
    "price_type",
    "note",
    "source_url",
)
# The fuel-price file's `fuel` labels that have an indicator; everything else is skipped.
FUEL_INDICATORS: Mapping[str, str] = {
    "LPG (autogas)": "fuel_lpg_retail",
    "AI-92/93 gasoline": "fuel_gasoline_retail",
    "diesel": "fuel_diesel_retail",
    "diesel (summer/off-season)": "fuel_diesel_retail",
}
FUEL_PRICE_TYPES: tuple[str, ...] = ("retail", "retail_cap")
# The region a fuel series follows whenever the file reports it. The January 2022 trigger bit in
# Mangystau (LPG 55 → 120 KZT/l); following one place keeps a step in the series a price move, not
# a switch between regions (the highest regional cap on 2022-01-06, 72.5 in the north, after
# Mangystau's 50 of 2022-01-04 would read as a +45 % "shock"). Dates without a Mangystau row take
# the highest regional price, where a shock bites hardest.
REFERENCE_REGION = "Mangystau"


def regional_priority(region: str) -> int:
    """0 for a row whose `region` list (`;`-separated) names the reference region, else 1.

    Args:
        region: the fuel-price file's `region` cell, e.g. `"Mangystau; Atyrau"`.

    Returns:
        The sort key that puts reference-region rows first.
    """
    return 0 if REFERENCE_REGION in {part.strip() for part in region.split(";")} else 1
DEFAULT_SOURCE_NAME = "analyst"
_SOURCE_NAME = re.compile(r"[a-z][a-z0-9_.:-]*")
_MAX_REPORTED = 5


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


@dataclass
class ParsedFile:
    """A validated file: canonical observations plus what was skipped and why."""

    observations: pd.DataFrame
    layout: str  # "import" or "fuel_points"
    rows_read: int
    skipped: dict[str, int] = field(default_factory=dict)


def read_analyst_csv(
    path: Path | str,
    settings: CatalogueLike,
    *,
    source: str = DEFAULT_SOURCE_NAME,
    today: dt.date | None = None,
) -> ParsedFile:
    """Read and validate one CSV file.

    Args:
        path: the file (UTF-8, with or without a byte-order mark).
        settings: the catalogue whose indicators rows may name.
        source: the `source` stamped on every observation.
        today: the date periods may not be after (the current UTC date when None).

    Returns:
        The validated file (see `parse_analyst_csv`).

    Raises:
        ImportFileError: naming the file, and for bad content the row and column; nothing
            has been written anywhere.
    """
    shown = str(path)
    with open_import_file(path) as handle:
        raw = handle.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = raw[: error.start]
        header_line = raw.split(b"\n", 1)[0]
        raise not_utf8_error(
            shown,
            row=before.count(b"\n") + 1,
            header_line=header_line,
            line_start=before[before.rfind(b"\n") + 1 :],
            byte=raw[error.start],
        ) from None
    return parse_analyst_csv(text, settings, file=shown, source=source, today=today)


def open_import_file(path: Path | str) -> BinaryIO:
    """The import file opened for reading bytes; a missing or unreadable file is one line.

    Raises:
        ImportFileError: naming the file and what is wrong with it.
    """
    try:
        return Path(path).open("rb")
    except FileNotFoundError:
        raise ImportFileError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ImportFileError(f"{path}: is a directory, not a CSV file") from None
    except OSError as error:
        raise ImportFileError(f"{path}: cannot read: {error.strerror or error}") from None


def not_utf8_error(
    file: str, *, row: int, header_line: bytes, line_start: bytes, byte: int
) -> ImportFileError:
    """The one error for a byte that is not UTF-8, naming the row and column (both readers).

    Args:
        file: the file as shown to the user.
        row: the 1-based file row of the bad byte.
        header_line: the file's first line (raw), to name the column.
        line_start: the bytes of the bad row before the bad byte.
        byte: the bad byte.
    """
    return ImportFileError(
        f"{file}: row {row}, column {_column_at(header_line, line_start)}: byte 0x{byte:02x} is "
        "not UTF-8 text (Latin-1 or Windows-1252?); save the file as CSV UTF-8 "
        "(nothing was imported)"
    )


def _column_at(header_line: bytes, line_start: bytes) -> str:
    """The header name (else the 1-based position) of the cell whose line begins `line_start`.

    Counts commas, so a quoted comma before the bad byte can shift it: good enough to find it.
    """
    position = line_start.count(b",") + 1
    header = header_line.decode("utf-8-sig", errors="replace").rstrip("\r\n")
    names = [name.strip().strip('"') for name in header.split(",")]
    return names[position - 1] if 0 < position <= len(names) and names[position - 1] else str(
        position
    )


def parse_analyst_csv(
    text: str,
    settings: CatalogueLike,
    *,
    file: str,
    source: str = DEFAULT_SOURCE_NAME,
    today: dt.date | None = None,
) -> ParsedFile:
    """Validate CSV text in either accepted layout and return canonical observations.

    Args:
        text: the whole file's text.
        settings: the catalogue whose indicators rows may name.
        file: the name messages show.
        source: the `source` stamped on every observation (`acled` is refused).
        today: the date periods may not be after (the current UTC date when None).

    Returns:
        The observations, the layout read, the rows read and the skipped rows by reason.

    Raises:
        ImportFileError: `<file>: row N, column C: problem` (plus how many more problems).
    """
    check_source_name(source, file)
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise ImportFileError(f"{file}: not a readable CSV file: {error}") from None
    if not records or not any(cell.strip() for cell in records[0]):
        raise ImportFileError(
            f"{file}: row 1: no header row (expected {', '.join(IMPORT_COLUMNS)})"
        )
    header = [cell.strip() for cell in records[0]]
    rows = [
        (number, record)
        for number, record in enumerate(records[1:], start=2)
        if any(cell.strip() for cell in record)
    ]
    if set(FUEL_POINT_COLUMNS[:7]) <= set(header):
        layout = "fuel_points"
        _check_header(file, header, FUEL_POINT_COLUMNS[:7], FUEL_POINT_COLUMNS[7:])
    else:
        layout = "import"
        _check_header(file, header, IMPORT_COLUMNS, OPTIONAL_IMPORT_COLUMNS)
    if not rows:
        raise ImportFileError(f"{file}: no data rows below the header")
    cells = [(number, _as_dict(header, record)) for number, record in rows]
    problems: list[RowProblem] = []
    for number, record in rows:
        if len(record) > len(header):
            problems.append(
                RowProblem(number, "", f"{len(record)} cells but the header has {len(header)}")
            )
    day = today if today is not None else dt.datetime.now(dt.UTC).date()
    if layout == "import":
        frame, skipped = _parse_import_rows(cells, settings, problems, day)
    else:
        frame, skipped = _parse_fuel_rows(cells, settings, problems, day)
    if problems:
        _raise(file, problems)
    frame["source"] = source
    return ParsedFile(
        observations=conform_observations(frame),
        layout=layout,
        rows_read=len(rows),
        skipped=skipped,
    )


def check_source_name(source: str, file: str) -> None:
    """Refuse a source name that is not valid or is ACLED's.

    Raises:
        ImportFileError: naming the file and the source.
    """
    if not _SOURCE_NAME.fullmatch(source):
        raise ImportFileError(
            f"{file}: source name {source!r} is not valid (lower-case letters, digits, _ . : -)"
        )
    if source == "acled" or source.startswith("acled:"):
        raise ImportFileError(f"{file}: the source name {source!r} is reserved for ACLED's fetcher")


def _check_header(
    file: str, header: Sequence[str], required: Sequence[str], optional: Sequence[str]
) -> None:
    for position, name in enumerate(header, start=1):
        if not name:
            raise ImportFileError(f"{file}: row 1, column {position}: empty column name")
        if name not in required and name not in optional:
            raise ImportFileError(
                f"{file}: row 1, column {name}: unknown column (expected "
                f"{', '.join(required)}[, {', '.join(optional)}])"
            )
    for index, duplicate in _repeated(header):
        raise ImportFileError(f"{file}: row 1, column {index + 1}: column {duplicate!r} repeated")
    missing = [name for name in required if name not in header]
    if missing:
        raise ImportFileError(
            f"{file}: row 1, column {missing[0]}: missing column (required: {', '.join(required)})"
        )


def _repeated(values: Sequence[str]) -> Iterable[tuple[int, str]]:
    seen: set[str] = set()
    for index, value in enumerate(values):
        if value in seen:
            yield index, value
        seen.add(value)


def _as_dict(header: Sequence[str], record: Sequence[str]) -> dict[str, str]:
    return {name: (record[i].strip() if i < len(record) else "") for i, name in enumerate(header)}


def _raise(file: str, problems: Sequence[RowProblem]) -> None:
    ordered = sorted(problems, key=lambda item: item.row)
    first = ordered[0].describe()
    more = len(ordered) - 1
    suffix = (
        f" (and {more} more problem(s); nothing was imported)"
        if more
        else (" (nothing was imported)")
    )
    raise ImportFileError(f"{file}: {first}{suffix}")


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
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"", "false", "no", "0"})


def _parse_number(text: str) -> float | None:
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


def _implausible(value: float, indicator: object) -> str:
    low, low_allowed, high = plausible_range(indicator)
    name = getattr(indicator, "id", "")
    if low is not None and (value < low or (value == low and not low_allowed)):
        bound = f">= {low:g}" if low_allowed else f"> {low:g}"
        return f"{value:g} is not plausible for {name} (values must be {bound})"
    if high is not None and value > high:
        return f"{value:g} is not plausible for {name} (values must be <= {high:g})"
    return ""


def _parse_import_rows(
    rows: Sequence[tuple[int, dict[str, str]]],
    settings: CatalogueLike,
    problems: list[RowProblem],
    today: dt.date,
) -> tuple[pd.DataFrame, dict[str, int]]:
    indicators = {item.id: item for item in settings.indicators}
    countries = iso3_countries()
    seen: dict[tuple[str, str, pd.Timestamp, str], int] = {}
    out: list[dict[str, object]] = []
    for number, cells in rows:
        row_ok = True

        def bad(column: str, problem: str, number: int = number) -> None:
            nonlocal row_ok
            row_ok = False
            problems.append(RowProblem(number, column, problem))

        indicator_id = cells["indicator"]
        indicator = indicators.get(indicator_id)
        if not indicator_id:
            bad("indicator", "empty")
        elif indicator is None:
            bad(
                "indicator",
                f"unknown indicator {indicator_id!r} (not in the catalogue; add an "
                "[[indicators]] entry to config.toml first)",
            )
        elif indicator.source == "derived":
            bad("indicator", f"{indicator_id!r} is derived from other series; import those")
        country = cells["country"]
        if country not in countries:
            bad("country", f"unknown country code {country!r} (expected ISO3, e.g. KAZ)")
        frequency = indicator.frequency if indicator is not None else "daily"
        period = parse_period(cells["period"], frequency)
        if period is None:
            bad(
                "period",
                f"{cells['period']!r} is not a date (use YYYY-MM-DD; YYYY or YYYY-MM for "
                "annual and monthly series)",
            )
        forecast_text = cells.get("is_forecast", "").lower()
        is_forecast = forecast_text in _TRUE
        if forecast_text not in _TRUE | _FALSE:
            bad("is_forecast", f"{cells['is_forecast']!r} is not true or false")
        elif period is not None and period.date() > today and not is_forecast:
            bad(
                "period",
                f"{cells['period']!r} is after today ({today.isoformat()}); only a forecast "
                "(is_forecast = true) may be in the future",
            )
        value = _parse_number(cells["value"])
        if value is None:
            bad(
                "value",
                f"{cells['value']!r} is not a number (ASCII digits, . as the decimal point)",
            )
        elif indicator is not None and _implausible(value, indicator):
            bad("value", _implausible(value, indicator))
        unit = cells["unit"] or (indicator.unit if indicator is not None else "")
        if indicator is not None and not cells["unit"] and is_local_currency_unit(indicator.unit):
            bad("unit", f"empty, but {indicator_id} is priced in each country's own currency: "
                        f"give the unit, e.g. {unit_hint(indicator.unit)}")
        elif indicator is not None and not unit_accepts(indicator.unit, unit):
            bad("unit", _unit_problem(unit, indicator_id, indicator.unit))
        vintage = cells.get("vintage", "")
        if not row_ok or period is None or value is None:
            continue
        key = (indicator_id, country, period, vintage)
        if key in seen:
            bad(
                "period",
                f"duplicate of row {seen[key]} ({indicator_id}, {country}, "
                f"{period.date().isoformat()}{', vintage ' + vintage if vintage else ''})",
            )
            continue
        seen[key] = number
        out.append(
            {
                "indicator": indicator_id,
                "country": country,
                "period": period,
                "value": value,
                "unit": unit,
                "vintage": vintage,
                "is_forecast": is_forecast,
                "row": number,
            }
        )
    return _frame(out), {}


def _parse_fuel_rows(
    rows: Sequence[tuple[int, dict[str, str]]],
    settings: CatalogueLike,
    problems: list[RowProblem],
    today: dt.date,
    *,
    best: dict[tuple[str, pd.Timestamp], tuple[int, float, int]] | None = None,
    skipped: dict[str, int] | None = None,
    units: dict[tuple[str, pd.Timestamp], str] | None = None,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The fuel-points rows → one observation per (indicator, date). `best`, `skipped` and
    `units` carry the state between the chunks of a streamed file; the frame covers every chunk
    so far."""
    indicators = {item.id: item for item in settings.indicators}
    skipped = {} if skipped is None else skipped
    # Per (indicator, date): (regional priority, -midpoint, row) — the smallest wins.
    best = {} if best is None else best
    # The unit of the winning row (the file's own, e.g. KZT/litre; the catalogue's is a pattern).
    units = {} if units is None else units
    for number, cells in rows:
        period = parse_period(cells["date"], "daily")
        if period is None:
            problems.append(
                RowProblem(number, "date", f"{cells['date']!r} is not a YYYY-MM-DD date")
            )
        elif period.date() > today:
            problems.append(
                RowProblem(number, "date", f"{cells['date']!r} is after today ({today})")
            )
        low = _parse_number(cells["value_min"])
        high = _parse_number(cells["value_max"])
        if low is None:
            problems.append(
                RowProblem(number, "value_min", f"{cells['value_min']!r} is not a number")
            )
        if high is None:
            problems.append(
                RowProblem(number, "value_max", f"{cells['value_max']!r} is not a number")
            )
        for column, number_value in (("value_min", low), ("value_max", high)):
            if number_value is not None and number_value <= 0:
                problems.append(
                    RowProblem(number, column, f"{number_value:g} is not a plausible price (> 0)")
                )
        if low is not None and high is not None and high < low:
            problems.append(
                RowProblem(number, "value_max", f"{high:g} is below value_min ({low:g})")
            )
        indicator_id = FUEL_INDICATORS.get(cells["fuel"])
        reason = ""
        if cells["price_type"] not in FUEL_PRICE_TYPES:
            reason = f"price_type {cells['price_type']!r} is not a retail price"
        elif indicator_id is None:
            reason = f"fuel {cells['fuel']!r} has no indicator"
        elif indicator_id not in indicators:
            reason = f"indicator {indicator_id} is not in the catalogue"
        elif not unit_accepts(indicators[indicator_id].unit, cells["unit"]):
            problems.append(
                RowProblem(
                    number,
                    "unit",
                    _unit_problem(cells["unit"], indicator_id, indicators[indicator_id].unit),
                )
            )
            continue
        if reason:
            skipped[reason] = skipped.get(reason, 0) + 1
            continue
        if period is None or low is None or high is None or indicator_id is None:
            continue
        midpoint = (low + high) / 2.0
        key = (indicator_id, period)
        rank = (regional_priority(cells["region"]), -midpoint, number)
        if key not in best or rank < best[key]:
            best[key] = rank
            units[key] = cells["unit"]
    out = [
        {
            "indicator": indicator_id,
            "country": "KAZ",
            "period": period,
            "value": -negative_midpoint,
            "unit": units[(indicator_id, period)],
            "vintage": "",
            "is_forecast": False,
            "row": row,
        }
        for (indicator_id, period), (_priority, negative_midpoint, row) in sorted(best.items())
    ]
    return _frame(out), skipped


def _unit_problem(unit: str, indicator_id: str, catalogue_unit: str) -> str:
    if is_local_currency_unit(catalogue_unit):
        return (
            f"{unit!r} is not a unit of {indicator_id} ({catalogue_unit!r}: the country's "
            f"currency code, e.g. {unit_hint(catalogue_unit)})"
        )
    return f"{unit!r} is not the unit of {indicator_id} ({catalogue_unit!r})"


def _frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    columns = ["indicator", "country", "period", "value", "unit", "vintage", "is_forecast", "row"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["is_forecast"] = frame["is_forecast"].fillna(False).astype(bool)
    frame["row"] = frame["row"].astype("int64")
    # The key is unique by construction; this documents it for the single upsert that follows.
    assert not frame.duplicated(subset=list(OBSERVATION_KEY)).any()
    return frame
