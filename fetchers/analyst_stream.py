"""The analyst's CSV read in chunks: the same checks as `fetchers.analyst_csv`, bounded memory.

`flashpoint import` streams its file through `AnalystCsvStream.chunks()`, staging each chunk of
validated observations as it comes, so a file of a million rows never sits in memory whole. The
file is decoded line by line, so a byte that is not UTF-8 is reported with its row and column
(the same message as `read_analyst_csv`).

Every row is still checked before anything is written: problems are collected over the whole
file and raised, as one `ImportFileError` naming the first, once the last chunk has been read;
the caller writes only after the iteration ended cleanly. A key repeated *within* a chunk is
reported here; a key repeated *across* chunks is the caller's to find (the store's staging
table does it in SQL), since remembering every key would cost the memory streaming saves.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from fetchers.analyst_csv import (
    DEFAULT_SOURCE_NAME,
    FUEL_POINT_COLUMNS,
    IMPORT_COLUMNS,
    OPTIONAL_IMPORT_COLUMNS,
    _as_dict,
    _check_header,
    _parse_fuel_rows,
    _parse_import_rows,
    _raise,
    check_source_name,
    not_utf8_error,
    open_import_file,
    stamp_source,
)
from fetchers.analyst_rows import CatalogueLike, RowProblem
from fetchers.errors import ImportFileError

CHUNK_ROWS = 50_000


class AnalystCsvStream:
    """One analyst CSV file, validated and yielded chunk by chunk.

    After `chunks()` is exhausted, `layout`, `rows_read` and `skipped` describe the whole file.
    """

    def __init__(
        self,
        path: Path | str,
        settings: CatalogueLike,
        *,
        source: str = DEFAULT_SOURCE_NAME,
        chunk_rows: int = CHUNK_ROWS,
        today: dt.date | None = None,
    ) -> None:
        self.path = Path(path)
        self.file = str(path)
        self.settings = settings
        self.source = source
        self.chunk_rows = chunk_rows
        self.layout = ""
        self.rows_read = 0
        self.skipped: dict[str, int] = {}
        # Periods may not be after this day (forecasts excepted): the current UTC date by default.
        self.today = today if today is not None else dt.datetime.now(dt.UTC).date()

    def _lines(self, handle: BinaryIO) -> Iterator[str]:
        header_line = b""
        for number, raw in enumerate(handle, start=1):
            if number == 1:
                header_line = raw
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise not_utf8_error(
                    self.file,
                    row=number,
                    header_line=header_line,
                    line_start=raw[: error.start],
                    byte=raw[error.start],
                ) from None
            yield line.removeprefix("\ufeff") if number == 1 else line

    def chunks(self) -> Iterator[tuple[pd.DataFrame, pd.Series]]:
        """Validated canonical observations and the file row of each, chunk by chunk.

        Raises:
            ImportFileError: for an unreadable file or header at once; for bad rows after the
                last chunk, naming the first bad row and counting the others.
        """
        check_source_name(self.source, self.file)
        with open_import_file(self.file) as handle:
            reader = csv.reader(self._lines(handle))
            try:
                header = [cell.strip() for cell in next(reader, [])]
            except csv.Error as error:
                raise ImportFileError(f"{self.file}: not a readable CSV file: {error}") from None
            if not any(header):
                raise ImportFileError(
                    f"{self.file}: row 1: no header row (expected {', '.join(IMPORT_COLUMNS)})"
                )
            if set(FUEL_POINT_COLUMNS[:7]) <= set(header):
                self.layout = "fuel_points"
                _check_header(self.file, header, FUEL_POINT_COLUMNS[:7], FUEL_POINT_COLUMNS[7:])
            else:
                self.layout = "import"
                _check_header(self.file, header, IMPORT_COLUMNS, OPTIONAL_IMPORT_COLUMNS)
            problems: list[RowProblem] = []
            best: dict[tuple[str, pd.Timestamp], tuple[int, float, int]] = {}
            units: dict[tuple[str, pd.Timestamp], str] = {}
            batch: list[tuple[int, dict[str, str]]] = []
            number = 1
            try:
                for number, record in enumerate(reader, start=2):
                    if not any(cell.strip() for cell in record):
                        continue
                    self.rows_read += 1
                    if len(record) > len(header):
                        problems.append(
                            RowProblem(
                                number, "", f"{len(record)} cells but the header has {len(header)}"
                            )
                        )
                    batch.append((number, _as_dict(header, record)))
                    if len(batch) >= self.chunk_rows:
                        yield from self._chunk(batch, problems, best, units)
                        batch = []
            except csv.Error as error:
                raise ImportFileError(
                    f"{self.file}: row {number + 1}: not a readable CSV row: {error}"
                ) from None
            yield from self._chunk(batch, problems, best, units)
        if self.rows_read == 0:
            raise ImportFileError(f"{self.file}: no data rows below the header")
        if self.layout == "fuel_points" and not problems:
            # The fuel file's one observation per (indicator, date) is known only at the end.
            frame, _ = _parse_fuel_rows(
                [], self.settings, problems, self.today, best=best, skipped={}, units=units
            )
            yield self._observations(frame)
        if problems:
            _raise(self.file, problems)

    def _chunk(
        self,
        batch: list[tuple[int, dict[str, str]]],
        problems: list[RowProblem],
        best: dict[tuple[str, pd.Timestamp], tuple[int, float, int]],
        units: dict[tuple[str, pd.Timestamp], str],
    ) -> Iterator[tuple[pd.DataFrame, pd.Series]]:
        if not batch:
            return
        if self.layout == "fuel_points":
            _parse_fuel_rows(
                batch, self.settings, problems, self.today,
                best=best, skipped=self.skipped, units=units,
            )
            return
        frame, _ = _parse_import_rows(batch, self.settings, problems, self.today)
        if problems:
            return  # nothing will be written: stop converting, keep validating
        yield self._observations(frame)

    def _observations(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
        rows = frame["row"].reset_index(drop=True)
        frame = stamp_source(frame.drop(columns=["row"]), self.source)
        return frame, rows
