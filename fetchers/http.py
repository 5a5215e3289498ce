"""The one HTTP layer every fetcher uses: session factory, retries, rate limit, `get` helper.

`make_session()` returns a `FlashpointSession`: a `requests.Session` with a default timeout on every
call, a User-Agent naming Flashpoint, bounded urllib3 retries with backoff on 429/5xx that honour a
capped `Retry-After`, a per-source minimum interval between requests, and a count of the HTTP
attempts it made (retries included), which becomes the fetch run's `requests`.

`get()` is the helper fetchers call: it sends conditional-request headers from stored validators,
treats 304 as "not modified", turns every `requests` exception and error status into the
`fetchers.errors` tree (`raise ... from e`), and, for JSON, detects HTML pages, empty and
truncated bodies before a parser ever sees them.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from importlib import metadata
from typing import Any, Literal, NamedTuple
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.util.retry import Retry

from fetchers.errors import BadPayload, FetchError, HTTPStatusError, RateLimited, TransportError


def _installed_version() -> str:
    # The distribution's metadata, not `flashpoint.__version__`: fetchers never import the shell.
    try:
        return metadata.version("flashpoint")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


_log = logging.getLogger("fetchers.http")

PROJECT_URL = "https://github.com/flashpoint-risk/flashpoint"
USER_AGENT = f"Flashpoint/{_installed_version()} (+{PROJECT_URL})"

# (connect, read) seconds; requests itself has no default timeout at all.
DEFAULT_TIMEOUT: tuple[float, float] = (3.05, 30.0)
RETRY_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})
MAX_REDIRECTS = 5  # requests follows redirects itself; its default allows 30

Timeout = float | tuple[float, float]
Expect = Literal["json", "text", "bytes"]


class HttpValidator(NamedTuple):
    """What a conditional request needs: the last `ETag` and `Last-Modified` seen for a URL."""

    etag: str | None = None
    last_modified: str | None = None


class RateLimiter:
    """Keeps at least `min_interval` seconds between the starts of consecutive requests.

    Uses a monotonic clock; tests inject `clock` and `sleep` so no real time passes.
    """

    def __init__(
        self,
        min_interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.min_interval = max(0.0, float(min_interval))
        self._clock = clock
        self._sleep = sleep
        self._last_start: float | None = None
        self._lock = threading.Lock()

    def wait(self) -> float:
        """Block until the next request may start; returns the seconds waited."""
        with self._lock:
            waited = 0.0
            now = self._clock()
            if self._last_start is not None and self.min_interval > 0:
                due = self._last_start + self.min_interval
                if now < due:
                    waited = due - now
                    self._sleep(waited)
                    now = self._clock()
            self._last_start = now
            return waited


@dataclass
class AttemptLog:
    """Failed HTTP attempts seen by the session's retry policy (shared by its Retry copies)."""

    failed: int = 0
    # The Retry-After values (seconds) a server asked for beyond the cap; each was cut to it.
    capped_waits: list[float] = field(default_factory=list)


class CountingRetry(Retry):
    """urllib3 `Retry` that also counts every failed attempt, so retries show in `requests`."""

    def __init__(self, *args: Any, attempt_log: AttemptLog | None = None, **kwargs: Any) -> None:
        self.attempt_log = attempt_log if attempt_log is not None else AttemptLog()
        super().__init__(*args, **kwargs)

    def new(self, **kw: Any) -> CountingRetry:
        # urllib3 copies the policy on every increment; keep sharing the same log.
        kw.setdefault("attempt_log", self.attempt_log)
        return super().new(**kw)

    def increment(self, *args: Any, **kwargs: Any) -> CountingRetry:
        self.attempt_log.failed += 1
        return super().increment(*args, **kwargs)

    def sleep_for_retry(self, response: Any) -> bool:
        asked = parse_retry_after(response.headers.get("Retry-After"))
        if asked is not None and asked > self.retry_after_max:
            self.attempt_log.capped_waits.append(asked)
            _log.warning(
                "Retry-After capped",
                extra={"asked_s": asked, "waited_s": float(self.retry_after_max)},
            )
        return bool(super().sleep_for_retry(response))


class FlashpointSession(requests.Session):
    """`requests.Session` with a default timeout, a rate limiter and an attempt counter."""

    def __init__(
        self,
        *,
        timeout: Timeout = DEFAULT_TIMEOUT,
        rate_limiter: RateLimiter | None = None,
        attempt_log: AttemptLog | None = None,
    ) -> None:
        super().__init__()
        self.default_timeout: Timeout = timeout
        self.rate_limiter = rate_limiter if rate_limiter is not None else RateLimiter(0.0)
        self.attempt_log = attempt_log if attempt_log is not None else AttemptLog()
        self.requests_made = 0
        self.retry_after_cap: float | None = None

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        self.rate_limiter.wait()
        failed_before = self.attempt_log.failed
        try:
            response = super().request(method, url, *args, **kwargs)
        except Exception:
            self.requests_made += max(1, self.attempt_log.failed - failed_before)
            raise
        self.requests_made += _attempts_behind(response)
        return response


def _attempts_behind(response: requests.Response) -> int:
    """HTTP attempts that produced this response: 1 + the retries urllib3 recorded."""
    retries = getattr(response.raw, "retries", None)
    history = getattr(retries, "history", ()) or ()
    return 1 + len(history)


def make_session(
    *,
    user_agent: str = USER_AGENT,
    max_retries: int = 3,
    backoff_factor: float = 0.5,
    backoff_jitter: float = 0.0,
    retry_after_cap: float = 120.0,
    timeout: Timeout = DEFAULT_TIMEOUT,
    min_interval_seconds: float = 0.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> FlashpointSession:
    """Build the session every fetcher receives.

    Args:
        user_agent: the `User-Agent` header; names Flashpoint and its project URL by default.
        max_retries: retries after the first attempt, for connect and read errors and for the
            statuses in `RETRY_STATUSES`, GET and HEAD only.
        backoff_factor: urllib3 backoff: `backoff_factor * 2**(n-1)` seconds, first retry at once.
        backoff_jitter: random extra seconds added to each backoff.
        retry_after_cap: the longest `Retry-After` honoured, in seconds (urllib3's own default
            lets a server park us for 6 hours).
        timeout: default `(connect, read)` timeout for every call without its own.
        min_interval_seconds: minimum time between the starts of two requests (the source's pace).
        clock: monotonic clock for the rate limiter (tests inject a fake one).
        sleep: sleep function for the rate limiter (tests inject a fake one).

    Returns:
        A `FlashpointSession` with the retry adapter mounted on http:// and https://.
    """
    attempt_log = AttemptLog()
    retry = CountingRetry(
        total=max_retries,
        connect=max_retries,
        read=max_retries,
        status=max_retries,
        other=0,
        redirect=5,
        backoff_factor=backoff_factor,
        backoff_jitter=backoff_jitter,
        backoff_max=max(retry_after_cap, backoff_factor),
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        retry_after_max=retry_after_cap,
        # Hand the last response back instead of raising, so `get()` can say which status it was.
        raise_on_status=False,
        attempt_log=attempt_log,
    )
    session = FlashpointSession(
        timeout=timeout,
        rate_limiter=RateLimiter(min_interval_seconds, clock=clock, sleep=sleep),
        attempt_log=attempt_log,
    )
    session.retry_after_cap = retry_after_cap
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = user_agent
    session.max_redirects = MAX_REDIRECTS
    return session


def requests_made(session: requests.Session) -> int:
    """HTTP attempts this session has made so far (0 for a plain `requests.Session`)."""
    return session.requests_made if isinstance(session, FlashpointSession) else 0


@dataclass(frozen=True)
class HttpResponse:
    """What `get()` hands a fetcher: status, body and the validators to store next time."""

    url: str
    status: int
    headers: Mapping[str, str]
    content: bytes
    validator: HttpValidator
    not_modified: bool = False
    payload: Any = field(default=None, repr=False)  # parsed JSON when `expect="json"`

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (a leading BOM dropped, bad bytes replaced)."""
        return self.content.decode("utf-8-sig", errors="replace")


def describe_url(url: str) -> str:
    """Host and path of `url`, without the query string (it can hold API keys)."""
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}"


def get(
    session: requests.Session,
    url: str,
    *,
    source: str,
    params: Mapping[str, str | int | float] | None = None,
    timeout: Timeout | None = None,
    validator: HttpValidator | None = None,
    headers: Mapping[str, str] | None = None,
    expect: Expect = "json",
    retry_non_json_statuses: Collection[int] = (),
    extra_attempts: int = 0,
    error_body_statuses: Collection[int] = (),
) -> HttpResponse:
    """GET `url` and return a checked response, or raise a `FetchError` naming `source`.

    Args:
        session: the injected session (normally from `make_session`).
        url: the full URL without query string.
        source: registry name of the calling source (named in every error message).
        params: query parameters.
        timeout: per-call timeout; the session's default when None.
        validator: stored `ETag` / `Last-Modified`; sent as `If-None-Match` / `If-Modified-Since`.
        headers: extra request headers.
        expect: "json" parses the body (checked for HTML, emptiness, truncation); "text" and
            "bytes" only check that an HTML error page did not come back instead.
        retry_non_json_statuses: error statuses to retry when the body is not JSON (the World
            Bank's transient HTTP 400 HTML page); a JSON body with such a status fails at once.
        extra_attempts: how many times to re-issue the request for those statuses.
        error_body_statuses: error statuses whose JSON body is returned, not raised, so the
            caller can raise `ApiError` with the API's own message (FRED's HTTP-400 body).

    Returns:
        The response; `not_modified` is True for HTTP 304 (then `content` is empty).

    Raises:
        TransportError: timeout or connection failure after the session's retries.
        RateLimited: HTTP 429 after the retries.
        HTTPStatusError: any other status >= 400 after the retries.
        BadPayload: an HTML page, an empty or truncated body, or invalid JSON.
    """
    request_headers: dict[str, str] = dict(headers or {})
    if validator is not None:
        if validator.etag:
            request_headers["If-None-Match"] = validator.etag
        if validator.last_modified:
            request_headers["If-Modified-Since"] = validator.last_modified
    attempt = 0
    while True:
        response = _send(session, url, source=source, params=params, timeout=timeout,
                         headers=request_headers)
        retry_body = (
            response.status_code in retry_non_json_statuses
            and attempt < extra_attempts
            and not _looks_like_json(response.content)
        )
        if not retry_body:
            break
        attempt += 1
    return _check(response, url=url, source=source, expect=expect,
                  error_body_statuses=error_body_statuses,
                  retry_after_cap=getattr(session, "retry_after_cap", None))


def _send(
    session: requests.Session,
    url: str,
    *,
    source: str,
    params: Mapping[str, str | int | float] | None,
    timeout: Timeout | None,
    headers: Mapping[str, str],
) -> requests.Response:
    where = describe_url(url)
    try:
        return session.get(url, params=params, timeout=timeout, headers=headers)
    except requests.exceptions.Timeout as error:
        raise TransportError(source, f"timed out waiting for {where}", kind="timeout") from error
    except requests.exceptions.TooManyRedirects as error:
        raise TransportError(source, f"gave up on {where} after too many redirects") from error
    except requests.exceptions.RetryError as error:
        raise TransportError(source, f"gave up on {where} after repeated errors") from error
    except (
        requests.exceptions.ChunkedEncodingError,
        requests.exceptions.ContentDecodingError,
    ) as error:
        raise TransportError(
            source, f"the connection to {where} broke off while the response was being read"
        ) from error
    except requests.exceptions.ConnectionError as error:
        if _is_timeout(error):
            raise TransportError(
                source, f"timed out waiting for {where}", kind="timeout"
            ) from error
        raise TransportError(
            source, f"could not get a response from {where}: {_connection_cause(error)}"
        ) from error
    except requests.exceptions.RequestException as error:
        raise TransportError(source, f"request to {where} failed: {_reason(error)}") from error


def _check(response: requests.Response, *, url: str, source: str, expect: Expect,
           error_body_statuses: Collection[int] = (),
           retry_after_cap: float | None = None) -> HttpResponse:
    where = describe_url(url)
    status = response.status_code
    try:
        content = response.content
    except requests.exceptions.RequestException as error:  # body cut off mid-read
        raise TransportError(
            source, f"the connection to {where} broke off while the response was being read"
        ) from error
    validator = HttpValidator(response.headers.get("ETag"), response.headers.get("Last-Modified"))
    headers = dict(response.headers)
    if status == 304:
        return HttpResponse(url, status, headers, b"", validator, not_modified=True)
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        hint = f" (server asked to wait {retry_after:g} s)" if retry_after is not None else ""
        capped = retry_after_cap is not None and (retry_after or 0.0) > retry_after_cap
        if retry_after is not None and capped:
            hint = (
                f" (server asked to wait {retry_after:g} s; Flashpoint waits at most "
                f"{retry_after_cap:g} s between retries)"
            )
        raise RateLimited(
            source, f"rate limited by {where}: HTTP 429 Too Many Requests{hint}",
            retry_after=retry_after,
        )
    if status >= 400 and not (status in error_body_statuses and _looks_like_json(content)):
        raise HTTPStatusError(
            source,
            f"{where} answered HTTP {status} {response.reason or ''}".rstrip()
            + _body_hint(content),
            status=status,
        )
    if expect == "json":
        payload = parse_json(content, source=source, where=where)
        return HttpResponse(url, status, headers, content, validator, payload=payload)
    if _looks_like_html(content):
        raise BadPayload(
            source, f"{where} sent an HTML page instead of data{_body_hint(content)}", kind="html"
        )
    return HttpResponse(url, status, headers, content, validator)


def parse_json(content: bytes, *, source: str, where: str) -> Any:
    """Decode a JSON body (UTF-8, BOM tolerated), classifying what is wrong when it is not JSON.

    Args:
        content: the raw body.
        source: registry name of the source, for the error message.
        where: host and path, for the error message.

    Returns:
        The decoded JSON value.

    Raises:
        BadPayload: empty body (`kind="empty"`), an HTML page (`"html"`), JSON cut off before its
            end (`"truncated"`) or anything else that is not JSON (`"not_json"`).
    """
    text = content.decode("utf-8-sig", errors="replace")
    stripped = text.strip()
    if not stripped:
        raise BadPayload(source, f"{where} sent an empty body where JSON was expected",
                         kind="empty")
    if _looks_like_html(content):
        raise BadPayload(
            source, f"{where} sent an HTML page instead of JSON{_body_hint(content)}", kind="html"
        )
    try:
        return json.loads(stripped)
    except json.JSONDecodeError as error:
        if _is_cut_off(stripped, error):
            raise BadPayload(
                source,
                f"{where} sent truncated JSON (the body stops after {len(content)} bytes)",
                kind="truncated",
            ) from error
        raise BadPayload(
            source, f"{where} sent a body that is not valid JSON ({error.msg} at position "
            f"{error.pos}){_body_hint(content)}", kind="not_json",
        ) from error


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or HTTP date); None when absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def _looks_like_html(content: bytes) -> bool:
    head = content[:1024].decode("utf-8-sig", errors="replace").lstrip().lower()
    if head.startswith(("<!doctype html", "<html")):
        return True
    # XHTML error pages (the World Bank's 400 page) open with an XML declaration.
    return head.startswith("<?xml") and ("<!doctype html" in head or "<html" in head)


def _is_cut_off(text: str, error: json.JSONDecodeError) -> bool:
    """True when invalid JSON is a document cut off at its end, not one that is wrong inside.

    A body whose layout changed (an unexpected token halfway, an unquoted placeholder) also
    "ends inside the document" when it is also cut off or unbalanced; only an error at the very
    end (or a string left open) means the body was cut off.
    """
    if not _ends_inside_document(text):
        return False
    if error.msg.startswith("Unterminated string"):
        return True
    return error.pos >= len(text) - 1


def _ends_inside_document(text: str) -> bool:
    """True when a JSON text stops inside a string, array or object (it was cut off)."""
    if not text or text[0] not in "[{":
        return False
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
    return in_string or depth > 0


def _looks_like_json(content: bytes) -> bool:
    head = content[:64].decode("utf-8-sig", errors="replace").lstrip()
    return head.startswith(("{", "["))


def _body_hint(content: bytes, limit: int = 120) -> str:
    """A short plain-text excerpt of a body, tags stripped, for an error message."""
    text = content[:4096].decode("utf-8-sig", errors="replace")
    title = re.search(r"<title[^>]*>(.*?)</title>", text, flags=re.IGNORECASE | re.DOTALL)
    has_title = title is not None and title.group(1).strip()
    excerpt = title.group(1) if title is not None and has_title else _TAG.sub(" ", text)
    excerpt = _SPACE.sub(" ", excerpt).strip()
    if not excerpt:
        return ""
    if len(excerpt) > limit:
        excerpt = excerpt[: limit - 1] + "…"
    return f': "{excerpt}"'


def _walk_causes(error: BaseException) -> list[BaseException]:
    """The error, its args that are exceptions, their `reason`s and causes, breadth first."""
    seen: list[BaseException] = []
    queue: list[BaseException] = [error]
    while queue:
        current = queue.pop(0)
        if any(current is item for item in seen):
            continue
        seen.append(current)
        queue.extend(arg for arg in current.args if isinstance(arg, BaseException))
        for attribute in ("reason", "__cause__", "__context__"):
            nested = getattr(current, attribute, None)
            if isinstance(nested, BaseException):
                queue.append(nested)
    return seen


def _is_timeout(error: BaseException) -> bool:
    return any(
        isinstance(item, ReadTimeoutError | ConnectTimeoutError | TimeoutError)
        for item in _walk_causes(error)
    )


def _connection_cause(error: BaseException) -> str:
    causes = _walk_causes(error)
    if any(isinstance(item, ConnectionResetError) for item in causes):
        return "the connection was reset by the server"
    if any(isinstance(item, ConnectionRefusedError) for item in causes):
        return "the connection was refused"
    if any(isinstance(item, NewConnectionError) for item in causes):
        return "could not connect"
    if any(isinstance(item, ProtocolError) for item in causes):
        return "the connection was closed before a complete response arrived"
    if any(isinstance(item, MaxRetryError) for item in causes):
        return "gave up after retries"
    return _reason(error)


def _reason(error: BaseException) -> str:
    return str(error) or type(error).__name__


__all__ = [
    "DEFAULT_TIMEOUT",
    "RETRY_STATUSES",
    "USER_AGENT",
    "AttemptLog",
    "CountingRetry",
    "FetchError",
    "FlashpointSession",
    "HttpResponse",
    "HttpValidator",
    "RateLimiter",
    "describe_url",
    "get",
    "make_session",
    "parse_json",
    "parse_retry_after",
    "requests_made",
]
