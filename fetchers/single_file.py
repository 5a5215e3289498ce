"""One conditional GET of a whole published file: the extract step of the single-file sources.

The national fuel tables (NZ MBIE, data.gov.my, Brazil ANP) and the EU Weekly Oil Bulletin each
publish one file that is replaced in place. An unchanged file costs one request answered 304 with
no body; the validator (ETag / Last-Modified) is kept under a fixed key per source.
"""

from __future__ import annotations

import requests

from fetchers import http
from fetchers.base import Extracted, FetchRequest


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
