"""Admin login: per-session and per-address backoff, lockout, logging, and the identity taken
from the config (never typed). The clock is injected: no test waits in real time."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from flashpoint import auth
from flashpoint.config import Settings

PASSWORD = "correct horse battery staple"
ENV = {"FLASHPOINT_ADMIN_PASSWORD": PASSWORD}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def settings() -> Settings:
    base = Settings()
    dashboard = base.dashboard.model_copy(update={"admin_name": "Operations desk"})
    return base.model_copy(update={"dashboard": dashboard})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def throttle(clock: FakeClock) -> auth.LoginThrottle:
    return auth.LoginThrottle(clock=clock)


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts the scrypt evaluations (each costs the server real work)."""
    calls: list[str] = []
    real = auth._digest

    def counting(password: str) -> bytes:
        calls.append(password)
        return real(password)

    monkeypatch.setattr(auth, "_digest", counting)
    return calls


def attempt(
    password: str, settings: Settings, throttle: auth.LoginThrottle, *,
    session: str | None = "s1", address: str | None = "10.0.0.7", **kwargs: Any,
) -> auth.LoginResult:
    return auth.attempt_login(
        password, settings, session_id=session, address=address, throttle=throttle,
        environ=ENV, **kwargs,
    )


def test_the_right_password_signs_in_as_the_configured_name(
    settings: Settings, throttle: auth.LoginThrottle
) -> None:
    result = attempt(PASSWORD, settings, throttle)
    assert result.ok and result.identity == "Operations desk"
    assert result.token is not None
    assert auth.verify_token(result.token) == "Operations desk"
    assert auth.current_admin({auth.ADMIN_TOKEN_KEY: result.token}, settings,
                              environ=ENV) == "Operations desk"


def test_ten_wrong_passwords_trigger_backoff_then_lockout(
    settings: Settings, throttle: auth.LoginThrottle, clock: FakeClock, hashes: list[str]
) -> None:
    results: list[auth.LoginResult] = []
    for _ in range(10):
        if results:
            clock.now += results[-1].wait_seconds  # wait exactly as long as asked
        results.append(attempt("guess", settings, throttle))
        if results[-1].wait_seconds > 0:
            # Asking again at once is refused without hashing anything (no scrypt work).
            hashes_before = len(hashes)
            refused = attempt("guess", settings, throttle)
            assert not refused.ok and "Too many failed logins" in refused.message
            assert len(hashes) == hashes_before
    waits = [result.wait_seconds for result in results]
    assert waits[:2] == [0.0, 0.0]  # the first failures cost nothing
    assert waits[2] > 0 and waits[3] > waits[2]  # then the delay grows
    assert "Wait" in results[2].message
    # The tenth failure locks out: even the right password is refused for the lockout time.
    assert waits[9] == pytest.approx(auth.LOCKOUT_SECONDS)
    locked = attempt(PASSWORD, settings, throttle)
    assert not locked.ok and "locked out" in locked.message and locked.token is None
    clock.now += auth.LOCKOUT_SECONDS - 1
    assert not attempt(PASSWORD, settings, throttle).ok
    clock.now += 2
    assert attempt(PASSWORD, settings, throttle).ok


def test_a_new_session_from_the_same_address_is_throttled_too(
    settings: Settings, throttle: auth.LoginThrottle
) -> None:
    for _ in range(auth.FREE_FAILURES):
        attempt("guess", settings, throttle, session="first")
    fresh = attempt(PASSWORD, settings, throttle, session="second")
    assert not fresh.ok and "Too many failed logins" in fresh.message
    # Another address with another session is not affected.
    assert attempt(PASSWORD, settings, throttle, session="third", address="10.0.0.8").ok


def test_the_same_session_from_a_new_address_is_throttled_too(
    settings: Settings, throttle: auth.LoginThrottle
) -> None:
    for _ in range(auth.FREE_FAILURES):
        attempt("guess", settings, throttle, address="10.0.0.1")
    assert not attempt(PASSWORD, settings, throttle, address="10.0.0.2").ok


def test_success_clears_the_failures(
    settings: Settings, throttle: auth.LoginThrottle
) -> None:
    attempt("guess", settings, throttle)
    attempt("guess", settings, throttle)
    assert attempt(PASSWORD, settings, throttle).ok
    assert throttle.failures("session:s1") == 0
    assert attempt("guess", settings, throttle).wait_seconds == 0.0


def test_every_attempt_is_logged_and_a_lockout_audited(
    settings: Settings, throttle: auth.LoginThrottle, clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    audited: list[tuple[str, str, dict[str, Any]]] = []
    caplog.set_level(logging.INFO, logger="flashpoint.auth")
    wait = 0.0
    for _ in range(auth.LOCKOUT_AFTER):
        clock.now += wait
        wait = attempt("guess", settings, throttle,
                       audit=lambda *entry: audited.append(entry)).wait_seconds
    attempt("guess", settings, throttle)  # refused: locked out
    clock.now += auth.LOCKOUT_SECONDS + 1
    attempt(PASSWORD, settings, throttle)
    outcomes = [getattr(record, "outcome", None) for record in caplog.records]
    assert outcomes.count("wrong_password") == auth.LOCKOUT_AFTER
    assert outcomes.count("lockout") == 1
    assert outcomes.count("locked_out") == 1
    assert outcomes[-1] == "ok"
    assert all(getattr(record, "identity", None) == "Operations desk" for record in caplog.records)
    assert all(getattr(record, "address", None) == "10.0.0.7" for record in caplog.records)
    assert PASSWORD not in caplog.text and "guess" not in caplog.text
    assert audited == [("Operations desk", "login_lockout",
                        {"address": "10.0.0.7", "failures": auth.LOCKOUT_AFTER})]


def test_unknown_session_and_address_still_log_in(
    settings: Settings, throttle: auth.LoginThrottle
) -> None:
    assert attempt(PASSWORD, settings, throttle, session=None, address=None).ok
    assert not attempt("guess", settings, throttle, session=None, address=None).ok


@pytest.mark.parametrize(
    ("direct", "forwarded", "expected"),
    [
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),  # a direct client: its own address
        (None, "198.51.100.1", "198.51.100.1"),  # behind the loopback proxy
        (None, "10.9.9.9, 198.51.100.1", "198.51.100.1"),  # a forged first entry is ignored
        (None, None, None),
        (None, " , ", None),
    ],
)
def test_the_address_behind_a_proxy_is_the_one_the_proxy_added(
    direct: str | None, forwarded: str | None, expected: str | None
) -> None:
    assert auth.client_address(direct, forwarded) == expected


class FakeUser:
    """Stands in for `st.user` after an OIDC login (no identity provider is run here)."""

    def __init__(self, email: str, *, logged_in: bool = True) -> None:
        self.email = email
        self.is_logged_in = logged_in


class BrokenUser:
    @property
    def is_logged_in(self) -> bool:
        raise RuntimeError("auth half-configured")


def test_an_oidc_admin_acts_as_their_email(settings: Settings) -> None:
    env = {auth.ADMIN_EMAILS_ENV: "ops@example.org, Lead@Example.org"}
    user = FakeUser("lead@example.org")
    assert auth.current_admin({}, settings, user=user, auth_configured=True,
                              environ=env) == "lead@example.org"
    # Not listed, not logged in, auth not configured, a broken user object: a viewer.
    assert auth.current_admin({}, settings, user=FakeUser("x@example.org"),
                              auth_configured=True, environ=env) is None
    assert auth.current_admin({}, settings, user=FakeUser("ops@example.org", logged_in=False),
                              auth_configured=True, environ=env) is None
    assert auth.current_admin({}, settings, user=user, auth_configured=False,
                              environ=env) is None
    assert auth.current_admin({}, settings, user=BrokenUser(), auth_configured=True,
                              environ=env) is None
    # No list at all: nobody is an admin through OIDC.
    assert auth.current_admin({}, settings, user=user, auth_configured=True, environ={}) is None
