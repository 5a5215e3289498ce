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
  projection: only forecasts may have a period after today, and they stay flagged).
  `price_in_force` optional (`true` for an **official revision**: a ministry's price list, one row
  per revision, the price holding until the next row; empty/`false` = a sampled reading): a step
  between two such rows compares the new price with the one in force the day before however long
  ago it was set, where a sampled series needs its previous row within `window_days`. The rows are
  stored with the source `<source>:revisions` (`analyst:revisions`), so the declaration travels
  with each row to the store and every replay; a forecast cannot be one. `note` and `source_url`
  document the row in your file and are not stored.

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
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from fetchers.analyst_rows import (
    FALSE_TEXT,
    TRUE_TEXT,
    CatalogueLike,
    RowProblem,
    implausible,
    parse_number,
    parse_period,
    rows_frame,
    unit_problem,
)
from fetchers.errors import ImportFileError
from indicators.countries import iso3_countries
from indicators.derived import DECLARED_REVISIONS_SUFFIX, declared_revisions_source
from indicators.observations import conform_observations
from indicators.units import is_local_currency_unit, unit_accepts, unit_hint

IMPORT_COLUMNS: tuple[str, ...] = ("indicator", "country", "period", "value", "unit")
OPTIONAL_IMPORT_COLUMNS: tuple[str, ...] = (
    "vintage",
    "is_forecast",
    "price_in_force",
    "note",
    "source_url",
)
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
    return ParsedFile(
        observations=conform_observations(stamp_source(frame, source)),
        layout=layout,
        rows_read=len(rows),
        skipped=skipped,
    )


def stamp_source(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """The parsed rows with their `source`: `source` itself, or for rows declared official
    revisions (`price_in_force`) `<source>:revisions`, which scoring reads as price in force.

    Args:
        frame: parsed rows (a `price_in_force` column is optional and is dropped).
        source: the source name of the import.

    Returns:
        A new frame with `source` and without `price_in_force`.
    """
    declared = (
        frame["price_in_force"].fillna(False).astype(bool)
        if "price_in_force" in frame.columns
        else pd.Series(False, index=frame.index)
    )
    out = frame.drop(columns=["price_in_force"], errors="ignore")
    out["source"] = declared.map({True: declared_revisions_source(source), False: source})
    return out


def check_source_name(source: str, file: str) -> None:
    """Refuse a source name that is not valid, is ACLED's, or claims revisions by its name.

    Raises:
        ImportFileError: naming the file and the source.
    """
    if not _SOURCE_NAME.fullmatch(source):
        raise ImportFileError(
            f"{file}: source name {source!r} is not valid (lower-case letters, digits, _ . : -)"
        )
    if source.endswith(DECLARED_REVISIONS_SUFFIX):
        raise ImportFileError(
            f"{file}: the source name {source!r} ends with {DECLARED_REVISIONS_SUFFIX!r}, which "
            "marks official revisions: declare them row by row with the price_in_force column"
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
        is_forecast = forecast_text in TRUE_TEXT
        in_force_text = cells.get("price_in_force", "").lower()
        price_in_force = in_force_text in TRUE_TEXT
        if in_force_text not in TRUE_TEXT | FALSE_TEXT:
            bad("price_in_force", f"{cells['price_in_force']!r} is not true or false")
        elif price_in_force and is_forecast:
            bad("price_in_force", "a forecast is not an official revision (is_forecast is true)")
        if forecast_text not in TRUE_TEXT | FALSE_TEXT:
            bad("is_forecast", f"{cells['is_forecast']!r} is not true or false")
        elif period is not None and period.date() > today and not is_forecast:
            bad(
                "period",
                f"{cells['period']!r} is after today ({today.isoformat()}); only a forecast "
                "(is_forecast = true) may be in the future",
            )
        value = parse_number(cells["value"])
        if value is None:
            bad(
                "value",
                f"{cells['value']!r} is not a number (ASCII digits, . as the decimal point)",
            )
        elif indicator is not None and implausible(value, indicator):
            bad("value", implausible(value, indicator))
        unit = cells["unit"] or (indicator.unit if indicator is not None else "")
        if indicator is not None and not cells["unit"] and is_local_currency_unit(indicator.unit):
            bad("unit", f"empty, but {indicator_id} is priced in each country's own currency: "
                        f"give the unit, e.g. {unit_hint(indicator.unit)}")
        elif indicator is not None and not unit_accepts(indicator.unit, unit):
            bad("unit", unit_problem(unit, indicator_id, indicator.unit))
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
                "price_in_force": price_in_force,
                "row": number,
            }
        )
    return rows_frame(out), {}


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
        low = parse_number(cells["value_min"])
        high = parse_number(cells["value_max"])
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
                    unit_problem(cells["unit"], indicator_id, indicators[indicator_id].unit),
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
            # Points gathered from reports, never a complete revision list: sampled.
            "price_in_force": False,
            "row": row,
        }
        for (indicator_id, period), (_priority, negative_midpoint, row) in sorted(best.items())
    ]
    return rows_frame(out), skipped
