"""Who may change alert rules in the dashboard: an admin password from the environment, or
Streamlit's OIDC login.

Password login: the operator puts the password in the environment variable named by
`[dashboard] admin_password_env` (default `FLASHPOINT_ADMIN_PASSWORD`); unset or empty means
nobody can log in with a password. The candidate and the expected password are both hashed with
scrypt under a random per-process salt and the digests compared with `hmac.compare_digest`, so
the comparison takes the same time wherever the strings differ. The password is never shown,
stored in the session or logged.

A successful login does not store a bare "is admin" flag that a crafted session could set:
the session receives a token `actor|expiry|signature`, signed with HMAC-SHA256 under a random
per-process key that never leaves the server. Every write re-checks it with `current_admin`
(and re-checks that the password is still configured), so only a session that went through
`check_password` in this process can write; a restart logs everyone out.

Throttling: `attempt_login` is the only way the dashboard checks a password. Failures are
counted per session and per client address (`LoginThrottle`): after `FREE_FAILURES` failures
each further attempt must wait an exponentially growing delay (capped at `MAX_DELAY_SECONDS`),
and after `LOCKOUT_AFTER` failures the session and the address are locked out for
`LOCKOUT_SECONDS`. A refused attempt is answered before any scrypt work, so guessing costs the
server nothing. Every attempt is logged (`flashpoint.auth`: outcome, identity, address), and
a lockout is also written to the audit log (through the `audit` callback).

Identity: a password login acts as `[dashboard] admin_name` (the password is shared, so the name
is configured, never typed at login); an OIDC login acts as the identity provider's e-mail.

OIDC (optional): when Streamlit's `[auth]` section is configured in `.streamlit/secrets.toml`
(see Streamlit's `st.login` documentation), a user logged in through the identity provider whose
e-mail is listed in `$FLASHPOINT_ADMIN_EMAILS` (comma-separated) is an admin, unless the
provider marks that e-mail unverified (`email_verified` false). With no list, nobody is an admin
through OIDC: the check fails closed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from fetchers.redact import register_secret
from flashpoint.config import Settings

__all__ = [
    "ADMIN_EMAILS_ENV",
    "ADMIN_TOKEN_KEY",
    "THROTTLE",
    "TOKEN_LIFETIME",
    "LoginResult",
    "LoginThrottle",
    "attempt_login",
    "check_password",
    "client_address",
    "current_admin",
    "issue_token",
    "oidc_admin",
    "password_login_available",
    "register_oidc_secrets",
    "verify_token",
]

ADMIN_TOKEN_KEY: Final = "flashpoint_admin_token"
ADMIN_EMAILS_ENV: Final = "FLASHPOINT_ADMIN_EMAILS"
TOKEN_LIFETIME: Final = timedelta(hours=8)
FREE_FAILURES: Final = 3
BASE_DELAY_SECONDS: Final = 2.0
MAX_DELAY_SECONDS: Final = 120.0
LOCKOUT_AFTER: Final = 10
LOCKOUT_SECONDS: Final = 900.0

log = logging.getLogger("flashpoint.auth")

# Both secrets live only in this process's memory.
_SALT: Final = secrets.token_bytes(16)
_SIGNING_KEY: Final = secrets.token_bytes(32)


def _digest(password: str) -> bytes:
    # scrypt makes each guess cost ~50 ms of work; the salt keeps digests useless elsewhere.
    return hashlib.scrypt(password.encode("utf-8"), salt=_SALT, n=2**14, r=8, p=1, dklen=32)


def _expected_password(settings: Settings, environ: Mapping[str, str]) -> str:
    name = settings.dashboard.admin_password_env
    return environ.get(name, "") if name else ""


def password_login_available(
    settings: Settings, *, environ: Mapping[str, str] | None = None
) -> bool:
    """Whether an admin password is configured (the environment variable is set, non-empty)."""
    return bool(_expected_password(settings, os.environ if environ is None else environ))


def check_password(
    candidate: str, settings: Settings, *, environ: Mapping[str, str] | None = None
) -> bool:
    """Whether `candidate` is the admin password (hashed, constant-time comparison)."""
    expected = _expected_password(settings, os.environ if environ is None else environ)
    if not expected:
        return False
    return hmac.compare_digest(_digest(candidate), _digest(expected))


def _sign(payload: str) -> str:
    return hmac.new(_SIGNING_KEY, payload.encode("utf-8"), hashlib.sha256).hexdigest()


def issue_token(actor: str, *, now: datetime | None = None) -> str:
    """A session token naming `actor`, valid for `TOKEN_LIFETIME` (give it only after a login)."""
    moment = now or datetime.now(UTC)
    clean = actor.replace("|", "/").strip() or "admin"
    expiry = int((moment + TOKEN_LIFETIME).timestamp())
    payload = f"{clean}|{expiry}"
    return f"{payload}|{_sign(payload)}"


def verify_token(token: object, *, now: datetime | None = None) -> str | None:
    """The actor a token names when its signature is ours and it has not expired, else None."""
    if not isinstance(token, str) or token.count("|") != 2:
        return None
    actor, expiry, signature = token.split("|")
    if not hmac.compare_digest(_sign(f"{actor}|{expiry}"), signature):
        return None
    try:
        expires = int(expiry)
    except ValueError:
        return None
    moment = now or datetime.now(UTC)
    return actor if moment.timestamp() < expires else None


def oidc_admin(
    user: Any, *, auth_configured: bool, environ: Mapping[str, str] | None = None
) -> str | None:
    """The e-mail of an OIDC-logged-in user listed in `$FLASHPOINT_ADMIN_EMAILS`, else None.

    Args:
        user: `st.user` (anything with `is_logged_in` and `email`).
        auth_configured: whether Streamlit's `[auth]` secrets exist.
        environ: the environment (default `os.environ`).
    """
    if not auth_configured or user is None:
        return None
    try:
        logged_in = bool(getattr(user, "is_logged_in", False))
        email = str(getattr(user, "email", "") or "")
        verified = getattr(user, "email_verified", None)
    except Exception:  # st.user raises when auth is half-configured: fail closed
        return None
    if not logged_in or not email:
        return None
    # A provider that says the address is unverified lets its users claim anyone's e-mail.
    # Absent (some providers never send the claim) is accepted; some send the flag as a string.
    if verified is False or str(verified).strip().lower() == "false":
        return None
    env = os.environ if environ is None else environ
    allowed = {item.strip().lower() for item in env.get(ADMIN_EMAILS_ENV, "").split(",")}
    allowed.discard("")
    return email if email.lower() in allowed else None


OIDC_SECRET_KEYS: Final = frozenset({"cookie_secret", "client_secret"})


def register_oidc_secrets(auth_section: Any) -> None:
    """Register the secrets of Streamlit's `[auth]` section (the cookie secret, each provider's
    client secret) with the redaction layer, so no Flashpoint output can show them.

    Args:
        auth_section: `st.secrets["auth"]` (a mapping, possibly with provider sub-sections), or
            None when OIDC is not configured.
    """
    if not isinstance(auth_section, Mapping):
        return
    for key, value in auth_section.items():
        if isinstance(value, Mapping):
            register_oidc_secrets(value)
        elif key in OIDC_SECRET_KEYS and isinstance(value, str):
            register_secret(value)


def current_admin(
    session_state: Mapping[str, Any],
    settings: Settings,
    *,
    user: Any = None,
    auth_configured: bool = False,
    environ: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> str | None:
    """The admin acting in this session (for the audit log), or None for a viewer.

    Call it on EVERY write, server-side, right before the write: widget visibility is not a
    permission.
    """
    env = os.environ if environ is None else environ
    if password_login_available(settings, environ=env):
        actor = verify_token(session_state.get(ADMIN_TOKEN_KEY), now=now)
        if actor is not None:
            return actor
    return oidc_admin(user, auth_configured=auth_configured, environ=env)


@dataclass
class _Failures:
    count: int = 0
    last_at: float = 0.0
    locked_until: float = 0.0


@dataclass
class LoginThrottle:
    """Failed-login bookkeeping per key (`session:<id>`, `address:<ip>`), in process memory."""

    free_failures: int = FREE_FAILURES
    base_delay: float = BASE_DELAY_SECONDS
    max_delay: float = MAX_DELAY_SECONDS
    lockout_after: int = LOCKOUT_AFTER
    lockout_seconds: float = LOCKOUT_SECONDS
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, _Failures] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_seconds(self, keys: Iterable[str]) -> tuple[float, bool]:
        """How long these keys must wait before the next attempt, and whether it is a lockout."""
        now = self.clock()
        wait, locked = 0.0, False
        with self._lock:
            for key in keys:
                entry = self._failures.get(key)
                if entry is None:
                    continue
                if entry.locked_until > now:
                    wait, locked = max(wait, entry.locked_until - now), True
                    continue
                if entry.count >= self.lockout_after:  # the lockout has run out: start afresh
                    del self._failures[key]
                    continue
                if entry.count >= self.free_failures:
                    delay = min(
                        self.max_delay,
                        self.base_delay * 2 ** (entry.count - self.free_failures),
                    )
                    wait = max(wait, entry.last_at + delay - now)
        return max(0.0, wait), locked

    def record(self, keys: Iterable[str], *, success: bool) -> bool:
        """Record an attempt's outcome; True when this failure started a lockout."""
        now = self.clock()
        started_lockout = False
        with self._lock:
            for key in keys:
                if success:
                    self._failures.pop(key, None)
                    continue
                entry = self._failures.setdefault(key, _Failures())
                entry.count += 1
                entry.last_at = now
                if entry.count >= self.lockout_after and entry.locked_until <= now:
                    entry.locked_until = now + self.lockout_seconds
                    started_lockout = True
        return started_lockout

    def reset(self) -> None:
        """Forget every failure (tests; an operator restarting the dashboard does the same)."""
        with self._lock:
            self._failures.clear()

    def failures(self, key: str) -> int:
        """Failures recorded for `key` (0 when none)."""
        with self._lock:
            entry = self._failures.get(key)
            return entry.count if entry is not None else 0


THROTTLE: Final = LoginThrottle()


@dataclass(frozen=True)
class LoginResult:
    """The outcome of one login attempt; `token` is set only when it succeeded."""

    ok: bool
    message: str
    identity: str = ""
    token: str | None = None
    wait_seconds: float = 0.0


def client_address(direct: str | None, forwarded_for: str | None) -> str | None:
    """The address failed logins are counted under.

    Streamlit reports no address for a loopback connection, which is what a reverse proxy on the
    same host makes; then the LAST `X-Forwarded-For` entry is used: the one the proxy itself
    appended (`$proxy_add_x_forwarded_for` in deploy/nginx), which a client cannot forge. Earlier
    entries come from the client and are ignored.
    """
    # Only text counts: a context without a request (AppTest, bare mode) hands out placeholders.
    if isinstance(direct, str) and direct:
        return direct
    if isinstance(forwarded_for, str) and forwarded_for:
        last = forwarded_for.split(",")[-1].strip()
        return last or None
    return None


def admin_identity(settings: Settings) -> str:
    """Who a password login acts as in the audit log: `[dashboard] admin_name`."""
    return settings.dashboard.admin_name.replace("|", "/").strip() or "admin"


def attempt_login(
    candidate: str,
    settings: Settings,
    *,
    session_id: str | None,
    address: str | None,
    throttle: LoginThrottle = THROTTLE,
    environ: Mapping[str, str] | None = None,
    audit: Callable[[str, str, dict[str, Any]], None] | None = None,
) -> LoginResult:
    """One password login attempt, throttled per session and per address, logged and audited.

    Args:
        candidate: the password typed.
        settings: the config (admin password variable and admin name).
        session_id: the browser session's id (None when unknown).
        address: the client's IP address (None when unknown).
        throttle: the failure bookkeeping (the process-wide one by default).
        environ: the environment (default `os.environ`).
        audit: called as `audit(actor, action, details)` when a failure starts a lockout (the
            dashboard writes it to the store's audit log).
    """
    keys = [f"session:{session_id}"] if session_id else []
    if address:
        keys.append(f"address:{address}")
    identity = admin_identity(settings)
    where = {"identity": identity, "address": address or "unknown"}
    wait, locked = throttle.wait_seconds(keys)
    if wait > 0:
        outcome = "locked_out" if locked else "throttled"
        log.warning("login refused", extra={"event": "login", "outcome": outcome, **where,
                                            "wait_s": wait})
        what = "Too many failed logins: locked out" if locked else "Too many failed logins"
        return LoginResult(
            False, f"{what}; try again in {_seconds(wait)}.", identity, wait_seconds=wait
        )
    if check_password(candidate, settings, environ=environ):
        throttle.record(keys, success=True)
        log.info("login", extra={"event": "login", "outcome": "ok", **where})
        return LoginResult(True, f"Signed in as {identity}.", identity, issue_token(identity))
    started_lockout = throttle.record(keys, success=False)
    failures = max((throttle.failures(key) for key in keys), default=0)
    log.warning("login failed", extra={"event": "login", "outcome": "wrong_password", **where,
                                       "failures": failures})
    if started_lockout:
        log.warning("login locked out", extra={"event": "login", "outcome": "lockout", **where,
                                               "failures": failures})
        if audit is not None:
            audit(identity, "login_lockout", {"address": address or "unknown",
                                              "failures": failures})
    next_wait, _ = throttle.wait_seconds(keys)
    message = "Wrong password."
    if next_wait > 0:
        message += f" Wait {_seconds(next_wait)} before trying again."
    return LoginResult(False, message, identity, wait_seconds=next_wait)


def _seconds(value: float) -> str:
    whole = max(1, int(value + 0.999))
    return f"{whole} s" if whole < 120 else f"{(whole + 59) // 60} min"
