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

OIDC (optional): when Streamlit's `[auth]` section is configured in `.streamlit/secrets.toml`
(see Streamlit's `st.login` documentation), a user logged in through the identity provider whose
e-mail is listed in `$FLASHPOINT_ADMIN_EMAILS` (comma-separated) is an admin. With no list,
nobody is an admin through OIDC: the check fails closed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from flashpoint.config import Settings

__all__ = [
    "ADMIN_EMAILS_ENV",
    "ADMIN_TOKEN_KEY",
    "TOKEN_LIFETIME",
    "check_password",
    "current_admin",
    "issue_token",
    "oidc_admin",
    "password_login_available",
    "verify_token",
]

ADMIN_TOKEN_KEY: Final = "flashpoint_admin_token"
ADMIN_EMAILS_ENV: Final = "FLASHPOINT_ADMIN_EMAILS"
TOKEN_LIFETIME: Final = timedelta(hours=8)

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
    except Exception:  # st.user raises when auth is half-configured: fail closed
        return None
    if not logged_in or not email:
        return None
    env = os.environ if environ is None else environ
    allowed = {item.strip().lower() for item in env.get(ADMIN_EMAILS_ENV, "").split(",")}
    allowed.discard("")
    return email if email.lower() in allowed else None


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
