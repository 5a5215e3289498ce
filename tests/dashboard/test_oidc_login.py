"""OIDC login (`st.login`) end to end, against a local issuer on loopback.

Two layers:

- the test issuer itself (`tests/support/oidc_issuer.py`) is checked to be as strict as a real
  provider, over HTTP, so the browser tests below cannot pass against a pushover;
- a real `streamlit run` of the dashboard, configured with `.streamlit/secrets.toml` `[auth]`
  in a temporary working directory, is driven by headless Chromium through the whole
  authorization-code flow: an e-mail listed in `$FLASHPOINT_ADMIN_EMAILS` can edit alert rules
  and the audit log names that e-mail; an e-mail not listed stays a viewer; a tampered id_token
  or one with a wrong nonce leaves the browser logged out.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from playwright.sync_api import Page, WebSocketRoute, expect
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

from fetchers import redact
from flashpoint import alerts, auth, store
from flashpoint.config import load_config
from tests.dashboard.conftest import (
    APP,
    CONFIG,
    EXPECT_TIMEOUT_MS,
    free_port,
    sqlite_url,
    stop,
    wait_for_health,
)
from tests.dashboard.test_browser import wait_for_app
from tests.support.oidc_issuer import OidcIssuer, TestUser, b64url, b64url_decode

ADMIN = TestUser(sub="u-1001", email="desk.admin@example.org", name="Desk Admin")
VIEWER = TestUser(sub="u-2002", email="field.analyst@example.org", name="Field Analyst")
# The list is matched case-insensitively and may hold several addresses.
ADMIN_EMAILS = "lead@example.org, Desk.Admin@example.org"
CLIENT_ID = "flashpoint-dashboard"
REDIRECT = "http://127.0.0.1:8599/oauth2callback"


# --------------------------------------------------------------------------------------------
# The issuer is strict (plain HTTP, no browser)


@pytest.fixture
def issuer() -> Iterator[OidcIssuer]:
    with OidcIssuer(
        client_id=CLIENT_ID,
        client_secret=secrets.token_urlsafe(24),
        redirect_uris=(REDIRECT,),
        user=ADMIN,
    ) as running:
        yield running


def authorize(issuer: OidcIssuer, **overrides: str) -> requests.Response:
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "scope": "openid email profile",
        "state": "state-123",
        "nonce": "nonce-456",
        **overrides,
    }
    params = {key: value for key, value in params.items() if value != ""}
    return requests.get(f"{issuer.url}/authorize", params=params, allow_redirects=False, timeout=30)


def code_from(response: requests.Response) -> str:
    assert response.status_code == 302, response.text
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["state"] == ["state-123"]
    return query["code"][0]


def exchange(issuer: OidcIssuer, code: str, **overrides: str) -> requests.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            **overrides}  # fmt: skip
    secret = form.pop("secret", issuer.client_secret)
    return requests.post(f"{issuer.url}/token", data=form, auth=(CLIENT_ID, secret), timeout=30)


def verified_claims(issuer: OidcIssuer, id_token: str) -> dict[str, Any]:
    """The id_token's claims once its RS256 signature checks out against the issuer's JWKS."""
    (key,) = requests.get(issuer.metadata()["jwks_uri"], timeout=30).json()["keys"]
    public = rsa.RSAPublicNumbers(
        int.from_bytes(b64url_decode(key["e"]), "big"),
        int.from_bytes(b64url_decode(key["n"]), "big"),
    ).public_key()
    header, payload, signature = id_token.split(".")
    assert json.loads(b64url_decode(header)) == {"alg": "RS256", "typ": "JWT", "kid": key["kid"]}
    public.verify(b64url_decode(signature), f"{header}.{payload}".encode(), padding.PKCS1v15(),
                  hashes.SHA256())  # fmt: skip
    claims: dict[str, Any] = json.loads(b64url_decode(payload))
    return claims


def test_the_issuer_publishes_discovery_and_a_signed_id_token(issuer: OidcIssuer) -> None:
    metadata = requests.get(issuer.metadata_url, timeout=30).json()
    assert metadata["issuer"] == issuer.url
    assert metadata["authorization_endpoint"] == f"{issuer.url}/authorize"
    response = exchange(issuer, code_from(authorize(issuer)))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    claims = verified_claims(issuer, body["id_token"])
    assert claims["iss"] == issuer.url and claims["aud"] == CLIENT_ID
    assert claims["sub"] == ADMIN.sub and claims["email"] == ADMIN.email
    assert claims["nonce"] == "nonce-456"
    assert claims["iat"] <= claims["exp"] - 60


def test_the_issuer_refuses_a_wrong_client_secret(issuer: OidcIssuer) -> None:
    response = exchange(issuer, code_from(authorize(issuer)), secret="not-the-secret")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_the_issuer_never_redirects_to_an_unregistered_address(issuer: OidcIssuer) -> None:
    response = authorize(issuer, redirect_uri="http://127.0.0.1:9/oauth2callback")
    assert response.status_code == 400 and "Location" not in response.headers
    response = authorize(issuer, client_id="someone-else")
    assert response.status_code == 400 and "Location" not in response.headers
    assert issuer.refusals() == ["unregistered redirect_uri", "unknown client_id"]


def test_the_issuer_refuses_a_reused_code_and_a_changed_redirect_uri(issuer: OidcIssuer) -> None:
    code = code_from(authorize(issuer))
    assert exchange(issuer, code).status_code == 200
    again = exchange(issuer, code)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    other = exchange(issuer, code_from(authorize(issuer)), redirect_uri="http://127.0.0.1:9/cb")
    assert other.status_code == 400 and other.json()["error"] == "invalid_grant"
    assert issuer.refusals() == ["code already used", "redirect_uri differs"]


def test_the_issuer_requires_a_nonce_and_checks_the_pkce_verifier(issuer: OidcIssuer) -> None:
    missing = authorize(issuer, nonce="")
    assert missing.status_code == 302
    assert parse_qs(urlsplit(missing.headers["Location"]).query)["error"] == ["invalid_request"]
    verifier = secrets.token_urlsafe(40)
    challenge = b64url(hashlib.sha256(verifier.encode()).digest())
    code = code_from(authorize(issuer, code_challenge=challenge, code_challenge_method="S256"))
    assert exchange(issuer, code, code_verifier="a-different-verifier").status_code == 400
    code = code_from(authorize(issuer, code_challenge=challenge, code_challenge_method="S256"))
    assert exchange(issuer, code, code_verifier=verifier).status_code == 200


def test_the_issuers_faults_break_the_signature_or_the_nonce(issuer: OidcIssuer) -> None:
    issuer.tamper_email = "desk.admin@example.org"
    issuer.user = VIEWER
    tampered = exchange(issuer, code_from(authorize(issuer))).json()["id_token"]
    with pytest.raises(InvalidSignature):
        verified_claims(issuer, tampered)
    issuer.tamper_email = None
    issuer.wrong_nonce = True
    claims = verified_claims(
        issuer, exchange(issuer, code_from(authorize(issuer))).json()["id_token"]
    )
    assert claims["nonce"] != "nonce-456"


@dataclass
class SignedInUser:
    """Stands in for `st.user` (attribute access, as Streamlit offers it)."""

    email: str
    email_verified: Any
    is_logged_in: bool = True


class NoVerificationClaim:
    """A provider that sends no `email_verified` claim at all."""

    email = ADMIN.email
    is_logged_in = True


@pytest.mark.parametrize(
    ("user", "admin"),
    [
        (SignedInUser(ADMIN.email, True), True),
        (SignedInUser(ADMIN.email, "true"), True),
        (NoVerificationClaim(), True),
        (SignedInUser(ADMIN.email, False), False),
        (SignedInUser(ADMIN.email, "false"), False),
    ],
    ids=["verified", "verified-as-text", "no-claim", "unverified", "unverified-as-text"],
)
def test_an_unverified_email_never_makes_an_admin(user: Any, admin: bool) -> None:
    environ = {auth.ADMIN_EMAILS_ENV: ADMIN_EMAILS}
    found = auth.oidc_admin(user, auth_configured=True, environ=environ)
    assert found == (ADMIN.email if admin else None)


def test_the_auth_sections_secrets_are_masked_by_the_redaction_layer() -> None:
    cookie_secret, client_secret, other = (secrets.token_urlsafe(24) for _ in range(3))
    section = {
        "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
        "cookie_secret": cookie_secret,
        "client_id": CLIENT_ID,
        "client_secret": client_secret,
        "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
        "okta": {"client_id": "second-provider", "client_secret": other},
    }
    try:
        auth.register_oidc_secrets(section)
        line = f"echoed {cookie_secret} / {client_secret} / {other} by {CLIENT_ID}"
        assert redact.redact(line) == f"echoed *** / *** / *** by {CLIENT_ID}"
    finally:
        redact.forget_secrets()
    auth.register_oidc_secrets(None)  # OIDC not configured: nothing to register, no error


# --------------------------------------------------------------------------------------------
# The dashboard in a real browser


@dataclass
class OidcDashboard:
    """A `streamlit run` of the dashboard whose `[auth]` points at `issuer`."""

    url: str
    issuer: OidcIssuer
    store_path: Path
    log: Path
    client_secret: str
    cookie_secret: str


def secrets_toml(redirect_uri: str, cookie_secret: str, issuer: OidcIssuer) -> str:
    return "\n".join(
        [
            "[auth]",
            f'redirect_uri = "{redirect_uri}"',
            f'cookie_secret = "{cookie_secret}"',
            f'client_id = "{issuer.client_id}"',
            f'client_secret = "{issuer.client_secret}"',
            f'server_metadata_url = "{issuer.metadata_url}"',
            "",
        ]
    )


@pytest.fixture(scope="module")
def oidc_dashboard(
    snapshot_store: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OidcDashboard]:
    directory = tmp_path_factory.mktemp("oidc-dashboard")
    store_path = directory / "flashpoint.db"
    shutil.copyfile(snapshot_store, store_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    client_secret, cookie_secret = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with OidcIssuer(
        client_id=CLIENT_ID,
        client_secret=client_secret,
        redirect_uris=(f"{url}/oauth2callback",),
        user=ADMIN,
    ) as issuer:
        # Streamlit reads `.streamlit/secrets.toml` in its working directory (the project level).
        (directory / ".streamlit").mkdir()
        (directory / ".streamlit" / "secrets.toml").write_text(
            secrets_toml(f"{url}/oauth2callback", cookie_secret, issuer), encoding="utf-8"
        )
        environment = {
            key: value for key, value in os.environ.items() if not key.startswith("FLASHPOINT_")
        }
        environment.update(
            FLASHPOINT_DATABASE_URL=sqlite_url(store_path),
            FLASHPOINT_CONFIG=str(CONFIG),
            FLASHPOINT_ADMIN_EMAILS=ADMIN_EMAILS,  # and no admin password: OIDC only
        )
        log = directory / "streamlit.log"
        command = [
            sys.executable, "-m", "streamlit", "run", str(APP),
            "--server.port", str(port), "--server.address", "127.0.0.1",
            "--server.headless", "true", "--server.fileWatcherType", "none",
            "--browser.gatherUsageStats", "false", "--global.developmentMode", "false",
        ]  # fmt: skip
        with log.open("wb") as handle:
            process = subprocess.Popen(
                command, env=environment, cwd=directory, stdout=handle, stderr=subprocess.STDOUT
            )
        try:
            wait_for_health(url, process, log)
            yield OidcDashboard(url, issuer, store_path, log, client_secret, cookie_secret)
        finally:
            stop(process)


@pytest.fixture
def dashboard(oidc_dashboard: OidcDashboard) -> Iterator[OidcDashboard]:
    """The shared server with the issuer reset to an honest admin login for each test."""
    issuer = oidc_dashboard.issuer
    reset_issuer(issuer)
    yield oidc_dashboard
    reset_issuer(issuer)


def reset_issuer(issuer: OidcIssuer) -> None:
    issuer.user, issuer.tamper_email, issuer.wrong_nonce = ADMIN, None, False
    issuer.email_verified = True


def open_admin_panel(page: Page, dashboard: OidcDashboard) -> Any:
    page.goto(f"{dashboard.url}/alerts")
    wait_for_app(page)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_test_id("stExpander").filter(has_text="Admin").locator("summary").click()
    return sidebar


def log_in(page: Page, dashboard: OidcDashboard) -> None:
    """Click the dashboard's single sign-on button and go through the issuer and back."""
    tokens_before = len([kind for kind, _ in dashboard.issuer.events if kind == "token"])
    sidebar = open_admin_panel(page, dashboard)
    sidebar.get_by_role("button", name="Log in with single sign-on").click()
    # Streamlit sends the browser to the issuer, which approves at once and sends it back to
    # /oauth2callback; Streamlit then redirects to the app's home page.
    page.wait_for_url(f"{dashboard.url}/", timeout=EXPECT_TIMEOUT_MS)
    wait_for_app(page)
    events = dashboard.issuer.events
    assert len([kind for kind, _ in events if kind == "token"]) == tokens_before + 1, events


def auth_cookies(page: Page) -> list[str]:
    return [cookie["name"] for cookie in page.context.cookies()
            if cookie["name"].startswith("_streamlit_user")]  # fmt: skip


def first_rule(dashboard: OidcDashboard) -> alerts.RuleEntry:
    engine = store.make_engine(sqlite_url(dashboard.store_path))
    try:
        return alerts.load_rule_entries(engine, load_config(CONFIG))[0]
    finally:
        engine.dispose()


def audit_rows(dashboard: OidcDashboard) -> list[dict[str, Any]]:
    engine = store.make_engine(sqlite_url(dashboard.store_path))
    try:
        return store.read_audit(engine).to_dict("records")
    finally:
        engine.dispose()


def store_dump(dashboard: OidcDashboard) -> str:
    """Every row of every table, as text (to grep for secrets)."""
    engine = store.make_engine(sqlite_url(dashboard.store_path))
    try:
        with engine.connect() as connection:
            names = sa.inspect(connection).get_table_names()
            return "\n".join(
                repr(tuple(row))
                for name in names
                for row in connection.execute(sa.text(f'SELECT * FROM "{name}"'))
            )
    finally:
        engine.dispose()


@pytest.mark.browser
@pytest.mark.slow
def test_a_listed_email_logs_in_edits_a_rule_and_is_audited(
    dashboard: OidcDashboard, page: Page, artifacts: Path
) -> None:
    log_in(page, dashboard)
    assert auth_cookies(page), "no Streamlit identity cookie after the login"
    sidebar = open_admin_panel(page, dashboard)
    expect(sidebar.get_by_text(f"Signed in as {ADMIN.email}")).to_be_visible()
    expect(page.get_by_role("heading", name="Edit rules")).to_be_visible()
    page.screenshot(path=str(artifacts / "dashboard-alerts-oidc-admin.png"), full_page=True)

    rule = first_rule(dashboard)
    old_threshold = rule.rule.threshold
    assert old_threshold is not None
    new_threshold = old_threshold + 7
    audit_before = len(audit_rows(dashboard))
    threshold = page.locator(f".st-key-rule_{rule.rule.id}_threshold input")
    expect(threshold).to_be_enabled()
    threshold.fill(f"{new_threshold:g}")
    threshold.press("Tab")
    page.get_by_role("button", name="Save rule").click()
    expect(page.get_by_text(f"Rule {rule.rule.id} saved by {ADMIN.email}.")).to_be_visible()

    saved = first_rule(dashboard)
    assert saved.rule.threshold == new_threshold and saved.updated_by == ADMIN.email
    rows = audit_rows(dashboard)
    assert len(rows) == audit_before + 1
    assert rows[0]["actor"] == ADMIN.email
    assert rows[0]["old"]["threshold"] == old_threshold
    assert rows[0]["new"]["threshold"] == new_threshold

    # Neither secret of the `[auth]` section reaches the page, the server log or the store.
    shown = page.content()
    logged = dashboard.log.read_text(encoding="utf-8", errors="replace")
    dumped = store_dump(dashboard)
    for secret in (dashboard.client_secret, dashboard.cookie_secret):
        assert secret not in shown and secret not in logged and secret not in dumped

    # Logging out ends the admin's rights with the identity cookie.
    sidebar = open_admin_panel(page, dashboard)
    sidebar.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{dashboard.url}/", timeout=EXPECT_TIMEOUT_MS)
    wait_for_app(page)
    assert auth_cookies(page) == []
    page.goto(f"{dashboard.url}/alerts")
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Rule definitions (read-only)")).to_be_visible()


@pytest.mark.browser
@pytest.mark.slow
def test_an_email_not_listed_stays_a_viewer(dashboard: OidcDashboard, page: Page) -> None:
    dashboard.issuer.user = VIEWER
    audit_before = audit_rows(dashboard)
    log_in(page, dashboard)
    assert auth_cookies(page), "the viewer did log in with the provider"
    sidebar = open_admin_panel(page, dashboard)
    expect(sidebar.get_by_text("Signed in as")).to_have_count(0)
    expect(sidebar).to_contain_text(
        f"Signed in through single sign-on as {VIEWER.email}, which cannot edit rules and "
        "silences here."
    )
    expect(sidebar.get_by_role("button", name="Log in with single sign-on")).to_have_count(0)
    expect(page.get_by_role("heading", name="Rule definitions (read-only)")).to_be_visible()
    rule = first_rule(dashboard)
    expect(page.locator(f".st-key-rule_{rule.rule.id}_threshold input")).to_be_disabled()
    expect(page.get_by_role("button", name="Save rule")).to_be_disabled()
    page.get_by_role("tab", name="Silences").click()
    expect(page.get_by_role("button", name="Add silence")).to_be_disabled()
    assert audit_rows(dashboard) == audit_before
    # Logging out removes the identity cookie and offers the login again.
    sidebar.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{dashboard.url}/", timeout=EXPECT_TIMEOUT_MS)
    wait_for_app(page)
    assert auth_cookies(page) == []
    sidebar = open_admin_panel(page, dashboard)
    expect(sidebar.get_by_role("button", name="Log in with single sign-on")).to_be_visible()


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("who", ["admin", "viewer"])
def test_a_forged_save_click_saves_for_an_admin_only(
    dashboard: OidcDashboard, page: Page, who: str
) -> None:
    """The browser sends a "Save rule" click nobody made: the websocket message of an ordinary
    rerun (a viewer-safe toggle) gets the submit button's trigger added. For the admin that is
    a save (which proves the forgery reaches the server); for the viewer, whose button is
    disabled, the server discards it and nothing is written."""
    user = ADMIN if who == "admin" else VIEWER
    dashboard.issuer.user = user
    crafted = CraftedClick("Save rule")
    page.route_web_socket("**/_stcore/stream", crafted.route)
    log_in(page, dashboard)
    page.goto(f"{dashboard.url}/alerts")
    wait_for_app(page)
    assert crafted.widget_id, "the page never drew the Save rule button"
    before = rules_and_audit(dashboard)
    crafted.armed = True
    page.get_by_text("Show ok instances too").click()
    crafted.wait_until_answered(page)
    wait_for_app(page)
    rule = first_rule(dashboard)
    saved = page.get_by_text(f"Rule {rule.rule.id} saved by")
    if who == "admin":
        expect(saved).to_have_text(f"Rule {rule.rule.id} saved by {ADMIN.email}.")
    else:
        expect(saved).to_have_count(0)
        expect(page.get_by_role("button", name="Save rule")).to_be_disabled()
        assert rules_and_audit(dashboard) == before


class CraftedClick:
    """Adds a click on the button labelled `label` to the next rerun the browser sends."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.widget_id = ""
        self.armed = False
        self.sent = False
        self.answered = False

    def route(self, socket: WebSocketRoute) -> None:
        server = socket.connect_to_server()
        socket.on_message(lambda message: server.send(self.to_server(message)))
        server.on_message(lambda message: socket.send(self.to_page(message)))

    def wait_until_answered(self, page: Page) -> None:
        """Until the server finished the run the forged message started (≥ 60 s deadline)."""
        deadline = time.monotonic() + EXPECT_TIMEOUT_MS / 1000
        while not self.answered:
            assert time.monotonic() < deadline, "the forged rerun was never answered"
            page.wait_for_timeout(200)  # lets Playwright deliver the socket's messages

    def to_page(self, message: str | bytes) -> str | bytes:
        if isinstance(message, bytes):
            forward = ForwardMsg()
            forward.ParseFromString(message)
            element = forward.delta.new_element
            if element.WhichOneof("type") == "button" and element.button.label == self.label:
                self.widget_id = element.button.id
            if self.sent and forward.WhichOneof("type") == "script_finished":
                self.answered = True
        return message

    def to_server(self, message: str | bytes) -> str | bytes:
        if not (self.armed and isinstance(message, bytes)):
            return message
        back = BackMsg()
        back.ParseFromString(message)
        if back.WhichOneof("type") != "rerun_script":
            return message
        back.rerun_script.widget_states.widgets.append(
            WidgetState(id=self.widget_id, trigger_value=True)
        )
        self.armed, self.sent = False, True
        return back.SerializeToString()


def rules_and_audit(dashboard: OidcDashboard) -> tuple[list[tuple[Any, ...]], ...]:
    """Every row an admin edit could write."""
    engine = store.make_engine(sqlite_url(dashboard.store_path))
    try:
        with engine.connect() as connection:
            return tuple(
                [tuple(row) for row in connection.execute(sa.select(table))]
                for table in (store.alert_rules, store.audit_log, store.silences)
            )
    finally:
        engine.dispose()


@pytest.mark.browser
@pytest.mark.slow
def test_an_admin_email_the_provider_did_not_verify_stays_a_viewer(
    dashboard: OidcDashboard, page: Page
) -> None:
    dashboard.issuer.email_verified = False  # e.g. an address the user typed at the provider
    log_in(page, dashboard)
    assert auth_cookies(page), "the user did log in with the provider"
    sidebar = open_admin_panel(page, dashboard)
    expect(sidebar.get_by_text("Signed in as")).to_have_count(0)
    expect(page.get_by_role("heading", name="Rule definitions (read-only)")).to_be_visible()
    expect(page.get_by_role("button", name="Save rule")).to_be_disabled()


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("fault", ["tampered signature", "wrong nonce"])
def test_a_bad_id_token_leaves_the_browser_logged_out(
    dashboard: OidcDashboard, page: Page, fault: str
) -> None:
    issuer = dashboard.issuer
    issuer.user = VIEWER
    if fault == "tampered signature":
        # SYNTHETIC: a viewer's token edited to claim the admin's e-mail.
        issuer.tamper_email = ADMIN.email
    else:
        issuer.wrong_nonce = True
    log_in(page, dashboard)  # the issuer did hand out a token...
    assert auth_cookies(page) == []  # ...which Streamlit refused: no identity cookie
    sidebar = open_admin_panel(page, dashboard)
    expect(sidebar.get_by_role("button", name="Log in with single sign-on")).to_be_visible()
    expect(sidebar.get_by_text("Signed in as")).to_have_count(0)
    expect(page.get_by_role("heading", name="Rule definitions (read-only)")).to_be_visible()
    assert "OAuth token exchange failed" in dashboard.log.read_text(encoding="utf-8")
