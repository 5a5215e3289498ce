"""The analyst's own CSV series (local files or URLs), re-imported on the source's schedule.

Parsing and validation are `fetchers.analyst_csv`'s, the same code `flashpoint import` runs, so
a file is read one way only: Flashpoint's import layout
(`indicator,country,period,value,unit[,vintage,note,source_url]`) or the Kazakhstan fuel-price
points layout (`date,region,fuel,unit,value_min,value_max,price_type,note,source_url`; the midpoint
of each row, the highest regional midpoint per date; LPG (autogas), AI-92/93 gasoline and diesel in
KZT/litre). A file with any bad row is rejected whole, naming the file, row and column.

Unchanged files cost nothing: a local file's size and modification time, and a URL's ETag /
Last-Modified, are kept as validators; when every file is unchanged the run is "not modified".
A downloaded file must end with a line break (a body cut off by a proxy cannot be told apart
otherwise). Relative paths are resolved against the working directory, or against `base_url`
when that is an http(s) URL (a folder of CSV files on a web server).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urljoin

import pandas as pd
import requests

from fetchers import http
from fetchers.analyst_csv import parse_analyst_csv
from fetchers.base import BaseFetcher, Extracted, FetchRequest, HttpValidator, Transformed
from fetchers.errors import BadPayload, FetchError, ImportFileError
from indicators.catalogue import Indicator
from indicators.observations import OBSERVATION_KEY, empty_observations

SOURCE = "analyst"


@dataclass(frozen=True)
class AnalystFile:
    """One CSV file's text and where it came from (path or URL, as configured)."""

    name: str
    text: str


@dataclass(frozen=True)
class _CatalogueView:
    """The catalogue view `parse_analyst_csv` reads: this source's indicators."""

    indicators: tuple[Indicator, ...]


def parse_analyst_file(file: AnalystFile, indicators: Sequence[Indicator]) -> pd.DataFrame:
    """Validate one file with `fetchers.analyst_csv` against the given indicators.

    Args:
        file: the file's name (for messages) and text.
        indicators: the catalogue indicators rows may name (this source's).

    Returns:
        Canonical observations with source `analyst`.

    Raises:
        BadPayload: the file is not valid; the message names the file, row and column.
    """
    try:
        parsed = parse_analyst_csv(
            file.text, _CatalogueView(tuple(indicators)), file=file.name, source=SOURCE
        )
    except ImportFileError as error:
        message = str(error)
        if ": row 1" in message:  # the header: not a layout Flashpoint reads
            raise BadPayload(SOURCE, f"{message} (unexpected header: schema changed?)",
                             kind="schema") from error
        raise BadPayload(SOURCE, message, kind="invalid") from error
    return parsed.observations


class AnalystFetcher(BaseFetcher):
    """Reads every file in `[sources.analyst] files`; each must be valid for the run to succeed."""

    name: ClassVar[str] = SOURCE

    def extract(self, request: FetchRequest, session: requests.Session) -> Extracted:
        """Read local files and GET URLs, conditionally on their stored validators.

        Args:
            request: `settings.files` and the stored validators.
            session: the injected session (for URLs).

        Returns:
            One `AnalystFile` per changed file.

        Raises:
            FetchError: a missing or unreadable file, or an HTTP failure.
        """
        files = [str(item) for item in getattr(request.settings, "files", []) or []]
        if not files:
            return Extracted(warnings=["no analyst files are configured ([sources.analyst] files)"])
        payloads: list[Any] = []
        validators: dict[str, HttpValidator] = {}
        base = request.base_url
        for configured in files:
            entry = configured
            if base.startswith(("http://", "https://")) and "://" not in entry and not (
                Path(entry).expanduser().is_absolute()
            ):
                entry = urljoin(base + "/", entry)  # a relative name under an http base_url
            if entry.startswith(("http://", "https://")):
                response = http.get(
                    session, entry, source=SOURCE, expect="bytes",
                    validator=request.validators.get(entry),
                    timeout=request.settings.timeout_seconds,
                )
                if any(response.validator):
                    validators[entry] = response.validator
                if not response.not_modified:
                    text = _decode(entry, response.content)
                    _check_complete(entry, text)
                    payloads.append(AnalystFile(entry, text))
                continue
            path = Path(entry).expanduser()
            try:
                stat = path.stat()
                fingerprint = HttpValidator(f"{stat.st_size}-{stat.st_mtime_ns}", None)
                validators[entry] = fingerprint
                if request.validators.get(entry) == fingerprint:
                    continue
                content = path.read_bytes()
            except OSError as error:
                raise FetchError(
                    SOURCE, f"cannot read {entry}: {error.strerror or type(error).__name__}"
                ) from error
            payloads.append(AnalystFile(entry, _decode(entry, content)))
        return Extracted(payloads=payloads, not_modified=not payloads, validators=validators)

    def transform(self, payloads: Sequence[Any], request: FetchRequest) -> Transformed:
        """Validate each file and combine them (a later file wins a repeated key, with a warning).

        Args:
            payloads: `AnalystFile` items.
            request: this source's catalogue indicators and `now`.

        Returns:
            Canonical observations.

        Raises:
            BadPayload: a file with a bad row (file, row and column named).
        """
        frames: list[pd.DataFrame] = []
        for payload in payloads:
            if not isinstance(payload, AnalystFile):
                raise BadPayload(SOURCE, f"unexpected payload {type(payload).__name__}")
            frames.append(parse_analyst_file(payload, request.indicators))
        if not frames:
            return Transformed(empty_observations())
        combined = pd.concat(frames, ignore_index=True)
        repeated = combined.duplicated(subset=list(OBSERVATION_KEY), keep="last")
        warnings = []
        if repeated.any():
            warnings.append(
                f"{int(repeated.sum())} row(s) repeated across files; the later file's value "
                "is kept"
            )
        combined = combined[~repeated].copy()
        combined["fetched_at"] = request.now
        return Transformed(combined, warnings=warnings)


def _check_complete(name: str, text: str) -> None:
    """A downloaded CSV must end with a line break: one that does not was cut off on the way.

    (HTTP cannot tell: a proxy that cuts a body short sends a matching Content-Length.) A file
    that really ends without a final line break only needs one added.
    """
    if text and not text.endswith(("\n", "\r")):
        raise BadPayload(
            SOURCE, f"{name}: the download stops without a final line break (truncated?); if "
            "the file really ends so, add a newline after its last row",
            kind="truncated",
        )


def _decode(name: str, content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise BadPayload(
            SOURCE, f"{name}: not UTF-8 text (byte {error.start}); save the file as CSV UTF-8",
            kind="invalid",
        ) from error
