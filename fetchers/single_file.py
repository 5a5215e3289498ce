"""Single-file sources: one conditional GET of a whole published file, and one country's rows.

The national fuel tables (NZ MBIE, data.gov.my, Brazil ANP) and the EU Weekly Oil Bulletin each
publish one file that is replaced in place. An unchanged file costs one request answered 304 with
no body; the validator (ETag / Last-Modified) is kept under a fixed key per source.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pandas as pd
import requests

from fetchers import http
from fetchers.base import Extracted, FetchRequest, Transformed
from fetchers.errors import BadPayload
from indicators.observations import empty_observations
from indicators.pointintime import estimated_publication


def fetch_whole_file(
    request: FetchRequest,
    session: requests.Session,
    *,
    source: str,
    default_url: str,
    validator_key: str,
) -> Extracted:
    """GET the file at `base_url` (else `default_url`), conditional on the stored validator.

    Args:
        request: settings (`base_url`, `timeout_seconds`) and the stored validators.
        session: the injected session (retries and backoff are its business).
        source: the source name, for errors.
        default_url: the published file's address when the config leaves `base_url` empty.
        validator_key: where this file's validator is stored.

    Returns:
        The body as the only payload, or `not_modified` on HTTP 304; the new validator if the
        server sent one.

    Raises:
        FetchError: transport, status or HTML-page failures.
    """
    url = str(request.settings.base_url).strip() or default_url
    response = http.get(
        session,
        url,
        source=source,
        expect="bytes",
        validator=request.validators.get(validator_key),
        timeout=request.settings.timeout_seconds,
    )
    validators = {validator_key: response.validator} if any(response.validator) else {}
    if response.not_modified:
        return Extracted(not_modified=True, validators=validators)
    return Extracted(payloads=[response.content], validators=validators)


def one_country_prices(
    payloads: Sequence[Any],
    request: FetchRequest,
    *,
    source: str,
    country: str,
    parse: Callable[[bytes], Iterable[tuple[Any, ...]]],
    served: Iterable[str],
    empty_what: str,
    publication_lag: pd.Timedelta,
    unit: str | None = None,
) -> Transformed:
    """The transform step of a single-file national price source: one country's observations.

    Args:
        payloads: raw bodies (bytes); none after a 304.
        request: the requested indicators and `now`.
        source: the source name recorded on every row and in errors.
        country: the ISO3 code of every row.
        parse: body → rows `(indicator, day, value)`, or `(indicator, day, value, unit)` when
            the rows carry their own unit (`unit` is then None).
        served: the indicator ids the source can give.
        empty_what: what the file lacks when no requested price is in it, for the error.
        publication_lag: how long after a row's date the source publishes it. None of these files
            records a publication date, so `published_at` = the date + this lag, each source's
            documented estimate (the catalogue's `publication_lag_days` belongs to the generic
            fuel indicator, shared by every source, so it cannot say it).
        unit: the unit of every row, unless the rows carry theirs.

    Returns:
        The requested indicators' observations (the last row wins for a repeated day), with
        `published_at`.

    Raises:
        BadPayload: a payload that is not bytes, or a file with no requested price (empty).
    """
    wanted = {item.id for item in request.indicators} & set(served)
    rows: list[tuple[Any, ...]] = []
    for payload in payloads:
        if not isinstance(payload, bytes):
            raise BadPayload(source, f"unexpected payload {type(payload).__name__}")
        rows.extend(row for row in parse(payload) if row[0] in wanted)
    if not payloads:
        return Transformed(empty_observations())
    if not rows:
        raise BadPayload(source, f"{empty_what} (empty result)", kind="empty")
    columns = ["indicator", "period", "value"] + ([] if unit is not None else ["unit"])
    frame = pd.DataFrame.from_records(rows, columns=columns)
    frame = frame.drop_duplicates(["indicator", "period"], keep="last")
    frame["period"] = pd.to_datetime(frame["period"])
    frame["country"] = country
    if unit is not None:
        frame["unit"] = unit
    frame["source"] = source
    frame["published_at"] = estimated_publication(frame["period"], publication_lag, request.now)
    frame["fetched_at"] = request.now
    return Transformed(frame.reset_index(drop=True))
