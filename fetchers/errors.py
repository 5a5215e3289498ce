"""The errors a fetcher raises: one small tree, each message naming the source and the cause.

    FetchError                 anything that stops one source's fetch (never the others)
    ├── TransportError         no usable response: timeout, refused or reset connection
    ├── HTTPStatusError        the server answered with an error status (4xx / 5xx)
    │   └── RateLimited        HTTP 429 (with the server's Retry-After, when it sent one)
    ├── BadPayload             a response that cannot be what we asked for: an HTML page
    │                          instead of JSON, truncated JSON, a changed schema (missing
    │                          field), an empty result where data was expected
    └── ApiError               the API's own error message (e.g. the World Bank's HTTP-200
                               envelope `[{"message": [{"id", "key", "value"}]}]`)

    ImportFileError            a bad analyst CSV (`fetchers.analyst_csv`), not a fetch failure:
                               `flashpoint import` reports it as one line, the analyst fetcher
                               wraps it in `BadPayload`

`RateLimited` sits under `HTTPStatusError` because a 429 *is* an error status: code that handles
"the server said no" catches both. Every error carries `source` and a plain-words `message`;
`str(error)` is `"<source>: <message>"`, which is what the fetch-run row and the CLI show.
Messages name hosts and paths, never query strings (they can hold API keys).
"""

from __future__ import annotations

from typing import Literal

TransportKind = Literal["timeout", "connection"]
PayloadKind = Literal["html", "truncated", "not_json", "schema", "empty", "invalid"]


class FetchError(Exception):
    """Base of every fetch failure; `source` is the registry name of the failing source."""

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        self.message = message
        super().__init__(f"{source}: {message}")


class TransportError(FetchError):
    """No usable HTTP response: the request timed out or the connection failed or was reset."""

    def __init__(self, source: str, message: str, *, kind: TransportKind = "connection") -> None:
        self.kind: TransportKind = kind
        super().__init__(source, message)


class HTTPStatusError(FetchError):
    """The server answered with an error status after the allowed retries."""

    def __init__(self, source: str, message: str, *, status: int) -> None:
        self.status = status
        super().__init__(source, message)


class RateLimited(HTTPStatusError):
    """HTTP 429 after the allowed retries; `retry_after` is the server's hint in seconds."""

    def __init__(self, source: str, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(source, message, status=429)


class BadPayload(FetchError):
    """A response body that is not what was asked for (HTML, truncated, changed schema, empty)."""

    def __init__(self, source: str, message: str, *, kind: PayloadKind = "invalid") -> None:
        self.kind: PayloadKind = kind
        super().__init__(source, message)


class ApiError(FetchError):
    """The API answered with its own error message (often with HTTP 200)."""

    def __init__(self, source: str, message: str, *, code: str | None = None) -> None:
        self.code = code
        super().__init__(source, message)


class ImportFileError(Exception):
    """An analyst's CSV file is invalid; nothing was written.

    `exit_code` is the status `flashpoint import` exits with (the CLI prints the message as one
    line, as it does for `flashpoint.errors.FlashpointError`).
    """

    exit_code = 2
