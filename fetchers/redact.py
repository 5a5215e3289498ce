"""The one redaction layer: every string that can reach the store, a log, the CLI or a page passes
through `redact()` first.

It removes two kinds of thing:

- **Secret values the process holds**, registered as they become known: the values of the
  environment variables the config names (`*_env` keys: API keys, passwords, the admin password,
  secret webhook URLs), the store URL's password (in the user-info `user:pw@` and as
  `?password=`), and tokens a fetcher obtained (ACLED's OAuth access and refresh tokens). Each is
  also matched URL-encoded, since that is how a key sits in an echoed query string.
- **Credential shapes**, whatever their value: `Authorization:` headers, `Bearer …`,
  `password=`, `token=`, `api_key=`, `access_token` and friends in query strings, forms, JSON
  and Python reprs, and the password of any `scheme://user:pw@host` URL.

This module lives in `fetchers/` (which must not import `flashpoint/`) so both layers use it:
fetchers register the tokens they obtain, `flashpoint` registers the configured secrets and
applies `redact()` at every output channel.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit

MASK = "***"
# Shorter values are not registered: masking every "abc" in every message would destroy text,
# and a secret that short offers no protection anyway.
MIN_SECRET_LENGTH = 4

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None

_NAMES = (
    r"password|passwd|pwd|pass|secret|client_secret|token|access_token|refresh_token|id_token|"
    r"api_key|apikey|api-key|x-api-key|auth_token|session_token|private_key|signature|sig"
)
# `name=value` in a query string, a form body, a log line or a command line.
_ASSIGNMENT = re.compile(
    rf"(?i)(?<![A-Za-z0-9_-])((?:{_NAMES})\s*=\s*)(?!\*\*\*)[^\s&;,'\"<>)\]}}]+"
)
# A bare `key=` only in a URL query (`?key=` / `&key=`: Google-style API keys).
_QUERY_KEY = re.compile(r"(?i)([?&]key=)(?!\*\*\*)[^\s&#'\"<>]+")
# `"name": "value"` in JSON or `'name': 'value'` in a Python repr.
_QUOTED = re.compile(
    rf"(?i)([\"'](?:{_NAMES})[\"']\s*:\s*)([\"'])(?!\*\*\*)(?:\\.|(?!\2).)*\2"
)
# `Authorization: Bearer abc`, `Authorization: Basic abc`, `"Authorization": "…"`.
_AUTH_HEADER = re.compile(
    r"(?i)((?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?)(?!\*\*\*)(?:[A-Za-z]+\s+)?[^\s\"',}]+"
)
_BEARER = re.compile(r"(?i)(\bbearer\s+)(?!\*\*\*)[A-Za-z0-9._~+/=-]+")
# `scheme://user:password@host`: the password, whatever it is.
_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^\s:/@'\"]*:)(?!\*\*\*@)[^\s@/'\"]+(@)")


def _variants(value: str) -> set[str]:
    return {value, quote(value, safe=""), quote_plus(value, safe=""), quote(value)}


def register_secret(value: str | None) -> None:
    """Remember a secret value so `redact()` masks it wherever it appears (also URL-encoded)."""
    global _pattern
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    with _lock:
        before = len(_secrets)
        _secrets.update(v for v in _variants(value) if len(v) >= MIN_SECRET_LENGTH)
        if len(_secrets) != before:
            _pattern = None


def register_env_secrets(names: Iterable[str], environ: Mapping[str, str] | None = None) -> None:
    """Register the values of these environment variables (unset or empty ones are skipped)."""
    env = os.environ if environ is None else environ
    for name in names:
        if name:
            register_secret(env.get(name, ""))


def register_url_secrets(url: str | None) -> None:
    """Register the password of a URL: in its user-info and in a `password=` query parameter."""
    if not url:
        return
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        parts, password = None, None
    if password:
        register_secret(password)
        register_secret(unquote(password))
    query = parts.query if parts is not None else url.partition("?")[2]
    for name, value in parse_qsl(query, keep_blank_values=False):
        if re.fullmatch(rf"(?i){_NAMES}", name):
            register_secret(value)
    match = _USERINFO.search(url)
    if match and password is None:
        # A URL urlsplit cannot parse (e.g. a bad port) may still carry a password.
        register_secret(url[match.end(1) : match.start(2)])


def forget_secrets() -> None:
    """Drop every registered secret (tests use this to start clean)."""
    global _pattern
    with _lock:
        _secrets.clear()
        _pattern = None


def _secret_pattern() -> re.Pattern[str] | None:
    global _pattern
    with _lock:
        if not _secrets:
            return None
        if _pattern is None:
            # Longest first, so a secret containing another is masked whole.
            ordered = sorted(_secrets, key=len, reverse=True)
            _pattern = re.compile("|".join(re.escape(item) for item in ordered))
        return _pattern


def redact(text: str) -> str:
    """`text` with every registered secret and every credential shape replaced by `***`."""
    if not text:
        return text
    pattern = _secret_pattern()
    if pattern is not None:
        text = pattern.sub(MASK, text)
    text = _AUTH_HEADER.sub(rf"\g<1>{MASK}", text)
    text = _BEARER.sub(rf"\g<1>{MASK}", text)
    text = _QUOTED.sub(rf"\g<1>\g<2>{MASK}\g<2>", text)
    text = _ASSIGNMENT.sub(rf"\g<1>{MASK}", text)
    text = _QUERY_KEY.sub(rf"\g<1>{MASK}", text)
    text = _USERINFO.sub(rf"\g<1>{MASK}\g<2>", text)
    return text


def redact_value(value: Any) -> Any:
    """`redact()` applied to every string inside a JSON-like value (dicts, lists, strings)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {key: redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(item) for item in value]
    return value


__all__ = [
    "MASK",
    "forget_secrets",
    "redact",
    "redact_value",
    "register_env_secrets",
    "register_secret",
    "register_url_secrets",
]
