"""Who is acting on a page that edits: the admin login panel and the server-side admin check.

The same login as the Alerts page (the signed token lives in the session, so logging in on either
page unlocks both). `current_admin()` must be called right before every write: a hidden or
disabled widget is not a permission, and neither is a session flag a crafted request could set.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import data
from dashboard.formatting import escape_markdown
from flashpoint import auth, store


def _auth_configured() -> bool:
    """Whether Streamlit's OIDC login is configured (`[auth]` in secrets.toml)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def _user() -> Any:
    try:
        return st.user
    except Exception:
        return None


def _signed_in_email() -> str:
    """The e-mail of a user logged in through OIDC ("" when nobody is)."""
    if not _auth_configured():
        return ""
    try:
        user = _user()
        return str(user.email or "") if user is not None and user.is_logged_in else ""
    except Exception:  # st.user raises when auth is half-configured
        return ""


def _session_id() -> str | None:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    context = get_script_run_ctx()
    return context.session_id if context is not None else None


def _client_address() -> str | None:
    try:
        direct = st.context.ip_address
        forwarded = st.context.headers.get("X-Forwarded-For")
    except Exception:  # no request context (bare mode)
        return None
    return auth.client_address(direct, forwarded)


def _audit_login(actor: str, action: str, details: dict[str, Any]) -> None:
    store.write_audit(
        data.get_engine(), actor=actor, action=action, obj="dashboard", old=None, new=details
    )


def current_admin() -> str | None:
    """The admin acting in this session, checked on the server (call right before every write)."""
    return auth.current_admin(
        st.session_state, data.get_settings(), user=_user(), auth_configured=_auth_configured()
    )


def login_panel(admin: str | None, *, what: str) -> None:
    """The sidebar's Admin expander: who is signed in and a log-out, or the login form.

    Args:
        admin: the signed-in admin (from `current_admin()`), or None.
        what: what an admin can do here, for the signed-in line (e.g. "edit announcements").
    """
    settings = data.get_settings()
    with st.sidebar.expander("Admin", expanded=False, icon=":material/key:"):
        if admin is not None:
            st.write(f"Signed in as **{escape_markdown(admin)}**: you can {what}.")
            if st.button("Log out", key="admin_logout"):
                st.session_state.pop(auth.ADMIN_TOKEN_KEY, None)
                if _auth_configured() and getattr(_user(), "is_logged_in", False):
                    # st.logout() only queues the browser's redirect to /auth/logout, which
                    # clears the identity cookie. A rerun here would clear that queue before it
                    # is sent (Streamlit keeps only lifecycle messages across an interrupted
                    # run), leaving the cookie in place: stop instead and let the redirect
                    # reload the page.
                    st.logout()
                    st.stop()
                st.rerun()
            return
        signed_in = _signed_in_email()
        if signed_in:
            # Logged in through the provider, but not a listed admin: say so, offer a way out.
            st.caption(
                f"Signed in through single sign-on as **{escape_markdown(signed_in)}**, which "
                f"cannot {what} here. Ask your administrator if you need to."
            )
            if st.button("Log out", key="sso_logout"):
                st.logout()
        if auth.password_login_available(settings):
            with st.form("admin_login", clear_on_submit=True):
                st.caption(
                    f"Signs in as **{escape_markdown(auth.admin_identity(settings))}** "
                    "(`[dashboard] admin_name`)."
                )
                password = st.text_input("Admin password", type="password", key="admin_password")
                if st.form_submit_button("Log in"):
                    result = auth.attempt_login(
                        password,
                        settings,
                        session_id=_session_id(),
                        address=_client_address(),
                        audit=_audit_login,
                    )
                    if result.ok and result.token is not None:
                        st.session_state[auth.ADMIN_TOKEN_KEY] = result.token
                        st.rerun()
                    st.error(result.message, icon=":material/lock:")  # our own words only
        if (
            _auth_configured()
            and not signed_in
            and st.button("Log in with single sign-on", key="admin_sso")
        ):
            st.login()
        if not auth.password_login_available(settings) and not _auth_configured():
            st.caption(
                f"To {what} you need an admin login, which is not set up on this dashboard. Ask "
                "your administrator."
            )
