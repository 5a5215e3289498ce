"""A small OpenID Connect issuer on loopback for the login tests (authorization-code flow).

It serves what a relying party such as Streamlit's `st.login` (Authlib) needs:

    GET  /.well-known/openid-configuration   discovery metadata
    GET  /authorize                          auto-approves the configured test user: redirects
                                             to the redirect_uri with `code` and `state`
    POST /token                              exchanges a code for an RS256-signed id_token
    GET  /jwks                               the public signing key

It is strict where a real provider is: an unknown client_id or an unregistered redirect_uri is
answered with a 400 page (never a redirect there), a request without `state` or `nonce` is
refused, the token endpoint checks the client secret (HTTP Basic or form fields, compared in
constant time), that the code is known, unexpired, unused and was issued to this client for this
redirect_uri, and the PKCE verifier when a challenge was sent. A reused code is refused (and the
refusal recorded). The nonce of the authorization request goes into the id_token.

Two faults make a relying party's checks testable (both SYNTHETIC, off by default):
`tamper_email` rewrites the id_token's e-mail after signing (the signature no longer matches),
`wrong_nonce` signs a token whose nonce is not the one the client sent.

Secrets handed to it (the client secret) are never logged: the request log keeps paths only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

CODE_LIFETIME_SECONDS = 120
ID_TOKEN_LIFETIME_SECONDS = 600


def b64url(data: bytes) -> str:
    """Unpadded base64url, as JOSE wants it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """The bytes of unpadded base64url text."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


@dataclass
class TestUser:
    """The person the issuer logs in (it approves every authorization request as them)."""

    __test__ = False  # not a pytest test class despite the name

    sub: str
    email: str
    name: str = ""


@dataclass
class Grant:
    """One authorization code and what it was issued for."""

    client_id: str
    redirect_uri: str
    nonce: str
    user: TestUser
    code_challenge: str | None
    issued_at: float
    used: bool = False


@dataclass
class OidcIssuer:
    """The issuer; use as a context manager (`with OidcIssuer(...) as issuer:`)."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]
    user: TestUser
    tamper_email: str | None = None  # SYNTHETIC fault: e-mail swapped in after signing
    wrong_nonce: bool = False  # SYNTHETIC fault: a nonce the client did not send
    email_verified: bool = True  # the provider's word on the e-mail (false: typed by the user)
    # What happened, for the tests' assertions: ("authorize", email), ("token", email),
    # ("refused", reason).
    events: list[tuple[str, str]] = field(default_factory=list)
    _grants: dict[str, Grant] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    _kid: str = field(default_factory=lambda: secrets.token_hex(8))

    # ----------------------------------------------------------------------------------------
    # Lifecycle

    def __enter__(self) -> OidcIssuer:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Listen on a free loopback port (in a daemon thread)."""
        issuer = self

        class Handler(_IssuerHandler):
            owner = issuer

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        """The issuer identifier (`iss`), e.g. http://127.0.0.1:PORT."""
        assert self._server is not None, "the issuer is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def metadata_url(self) -> str:
        """The discovery document's URL (`server_metadata_url` in Streamlit's `[auth]`)."""
        return f"{self.url}/.well-known/openid-configuration"

    def refusals(self) -> list[str]:
        """Why requests were refused, in order."""
        with self._lock:
            return [detail for kind, detail in self.events if kind == "refused"]

    def _record(self, kind: str, detail: str) -> None:
        with self._lock:
            self.events.append((kind, detail))

    # ----------------------------------------------------------------------------------------
    # Documents

    def metadata(self) -> dict[str, Any]:
        """The discovery document."""
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["iss", "aud", "sub", "email", "email_verified", "name", "nonce",
                                 "exp", "iat"],
        }  # fmt: skip

    def jwks(self) -> dict[str, Any]:
        """The public key set (one RSA signing key)."""
        numbers = self._key.public_key().public_numbers()
        key = {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self._kid,
            "n": b64url(_int_bytes(numbers.n)),
            "e": b64url(_int_bytes(numbers.e)),
        }
        return {"keys": [key]}

    def id_token(self, grant: Grant) -> str:
        """An RS256-signed id_token for `grant` (with the configured faults applied)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "aud": grant.client_id,
            "sub": grant.user.sub,
            "email": grant.user.email,
            "email_verified": self.email_verified,
            "name": grant.user.name or grant.user.email,
            "nonce": f"not-{grant.nonce}" if self.wrong_nonce else grant.nonce,
            "iat": now,
            "exp": now + ID_TOKEN_LIFETIME_SECONDS,
        }
        header = {"alg": "RS256", "typ": "JWT", "kid": self._kid}
        signing_input = f"{b64url(_json(header))}.{b64url(_json(claims))}"
        signature = self._key.sign(signing_input.encode("ascii"), padding.PKCS1v15(),
                                   hashes.SHA256())  # fmt: skip
        if self.tamper_email is not None:
            # The claims change after signing, as an attacker editing a token would do.
            tampered = {**claims, "email": self.tamper_email}
            signing_input = f"{b64url(_json(header))}.{b64url(_json(tampered))}"
        return f"{signing_input}.{b64url(signature)}"

    # ----------------------------------------------------------------------------------------
    # Endpoints (each returns status, headers, body)

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """The authorization endpoint: approve the test user, or refuse."""
        client_id = query.get("client_id", "")
        redirect_uri = query.get("redirect_uri", "")
        if not hmac.compare_digest(client_id, self.client_id):
            return self._refuse_page("unknown client_id")
        if redirect_uri not in self.redirect_uris:
            # Never redirect to an address that was not registered.
            return self._refuse_page("unregistered redirect_uri")
        state = query.get("state", "")

        def error(code: str, reason: str) -> tuple[int, dict[str, str], bytes]:
            self._record("refused", reason)
            params = {"error": code, "error_description": reason}
            if state:
                params["state"] = state
            return 302, {"Location": f"{redirect_uri}?{urlencode(params)}"}, b""

        if query.get("response_type") != "code":
            return error("unsupported_response_type", "response_type must be code")
        if "openid" not in query.get("scope", "").split():
            return error("invalid_scope", "scope must include openid")
        if not state:
            return error("invalid_request", "state is required")
        nonce = query.get("nonce", "")
        if not nonce:
            return error("invalid_request", "nonce is required")
        challenge = query.get("code_challenge")
        if challenge is not None and query.get("code_challenge_method") != "S256":
            return error("invalid_request", "only the S256 code challenge is supported")
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._grants[code] = Grant(client_id, redirect_uri, nonce, self.user, challenge,
                                       time.monotonic())  # fmt: skip
        self._record("authorize", self.user.email)
        location = f"{redirect_uri}?{urlencode({'code': code, 'state': state})}"
        return 302, {"Location": location}, b""

    def token(
        self, form: dict[str, str], authorization: str | None
    ) -> tuple[int, dict[str, str], bytes]:
        """The token endpoint: a code (with client authentication) for an id_token."""
        client_id, client_secret = _client_credentials(form, authorization)
        if not (
            hmac.compare_digest(client_id, self.client_id)
            and hmac.compare_digest(client_secret, self.client_secret)
        ):
            return self._token_error(401, "invalid_client", "client authentication failed")
        if form.get("grant_type") != "authorization_code":
            return self._token_error(400, "unsupported_grant_type", "authorization_code only")
        code = form.get("code", "")
        with self._lock:
            grant = self._grants.get(code)
            reused = grant is not None and grant.used
            if grant is not None:
                grant.used = True  # a code works once, whatever happens next
        if grant is None:
            return self._token_error(400, "invalid_grant", "unknown code")
        if reused:
            return self._token_error(400, "invalid_grant", "code already used")
        if time.monotonic() - grant.issued_at > CODE_LIFETIME_SECONDS:
            return self._token_error(400, "invalid_grant", "code expired")
        if grant.client_id != client_id:
            return self._token_error(400, "invalid_grant", "code issued to another client")
        if form.get("redirect_uri", "") != grant.redirect_uri:
            return self._token_error(400, "invalid_grant", "redirect_uri differs")
        if grant.code_challenge is not None:
            verifier = form.get("code_verifier", "")
            expected = b64url(hashlib.sha256(verifier.encode("ascii")).digest())
            if not verifier or not hmac.compare_digest(expected, grant.code_challenge):
                return self._token_error(400, "invalid_grant", "PKCE verifier does not match")
        self._record("token", grant.user.email)
        body = {
            "access_token": secrets.token_urlsafe(24),
            "token_type": "Bearer",
            "expires_in": ID_TOKEN_LIFETIME_SECONDS,
            "scope": "openid email profile",
            "id_token": self.id_token(grant),
        }
        return 200, {"Content-Type": "application/json", "Cache-Control": "no-store"}, _json(body)

    def _refuse_page(self, reason: str) -> tuple[int, dict[str, str], bytes]:
        self._record("refused", reason)
        return 400, {"Content-Type": "text/plain; charset=utf-8"}, reason.encode("utf-8")

    def _token_error(
        self, status: int, code: str, reason: str
    ) -> tuple[int, dict[str, str], bytes]:
        self._record("refused", reason)
        headers = {"Content-Type": "application/json", "Cache-Control": "no-store"}
        if status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="test-issuer"'
        return status, headers, _json({"error": code, "error_description": reason})


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def _client_credentials(form: dict[str, str], authorization: str | None) -> tuple[str, str]:
    """client_id and client_secret from HTTP Basic (preferred) or the form body."""
    if authorization and authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:].strip()).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return "", ""
        user, _, password = decoded.partition(":")
        # RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
        return unquote_plus(user), unquote_plus(password)
    return form.get("client_id", ""), form.get("client_secret", "")


def _single_values(raw: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(raw, keep_blank_values=True).items()}


class _IssuerHandler(BaseHTTPRequestHandler):
    owner: OidcIssuer

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/.well-known/openid-configuration":
            self._send(200, {"Content-Type": "application/json"}, _json(self.owner.metadata()))
        elif parts.path == "/jwks":
            self._send(200, {"Content-Type": "application/json"}, _json(self.owner.jwks()))
        elif parts.path == "/authorize":
            self._send(*self.owner.authorize(_single_values(parts.query)))
        else:
            self._send(404, {"Content-Type": "text/plain"}, b"not found")

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != "/token":
            self._send(404, {"Content-Type": "text/plain"}, b"not found")
            return
        length = int(self.headers.get("Content-Length") or 0)
        form = _single_values(self.rfile.read(length).decode("utf-8"))
        self._send(*self.owner.token(form, self.headers.get("Authorization")))

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # Quiet: the query strings carry codes and the bodies carry the client secret.
        return
