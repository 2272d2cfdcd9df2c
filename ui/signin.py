"""The sign-in gate: nothing but a sign-in until the visitor proves they are a Mattermost system admin.

A sign-in with a token or a password is kept in this browser session and, when serve.py serves the cookie routes,
handed to the browser as a cookie (ui/web_sessions.py), so reloads and new tabs stay signed in until it expires,
Mattermost stops confirming the admin, or they sign out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import streamlit as st

from collectors.mattermost_auth import SignIn, admin_by_email, sign_in
from settings import EnvironmentSettings, Settings, env_var_name
from store import Store, StoreError
from store.utc import utc_now
from ui import web_sessions
from ui.context import demo_simulator, settings_or_stop, store_or_none

_IDENTITIES = "identities"
_NOTICES = "sign_in_notices"  # why a saved sign-in was not accepted, per environment, for its sign-in page
_LEAVING = "sign_out_leaving"  # signed out: the browser still has to drop its cookies
SIGN_IN_PATH = "sign-in"  # the sign-in page's url_path in app.py


@dataclass(frozen=True)
class Identity:
    username: str
    email: str | None
    method: str  # demo | token | password | oidc
    token: str | None  # the visitor's own token, kept in server memory only (and sealed in their web session)
    session_id: str | None = None  # the web session (cookie) behind this sign-in, if there is one


def _identities() -> dict[str, Identity]:
    return st.session_state.setdefault(_IDENTITIES, {})


def _identity_key(env: EnvironmentSettings) -> str:
    # Keyed by what the visitor proved themselves on: a changed URL (or a demo turned real) needs a new sign-in.
    if env.demo_scenario:
        return f"{env.name} demo {env.demo_scenario}"
    return f"{env.name} {env.mattermost.url if env.mattermost else '-'}"


def current_identity(env: EnvironmentSettings) -> Identity | None:
    return _identities().get(_identity_key(env))


def _notices() -> dict[str, str]:
    return st.session_state.setdefault(_NOTICES, {})


def _browser_cookies() -> dict[str, str]:
    """Our cookies the browser sent when this session connected (read through items(): AppTest has no browser)."""
    return {name: value for name, value in st.context.cookies.items()
            if isinstance(name, str) and isinstance(value, str) and name.startswith(web_sessions.COOKIE_PREFIX)}


def sign_out() -> None:
    """Sign out of every environment in this browser: its web sessions end in the store, its cookies go next."""
    settings = settings_or_stop()
    store, _ = store_or_none(settings)
    keys = web_sessions.keys_for(settings)
    cookies = _browser_cookies()
    now = utc_now()
    for env in settings.environments.values():
        identity = current_identity(env)
        cookie = cookies.get(web_sessions.cookie_name(env.name))
        session_ids = {identity.session_id if identity else None, keys.unsign(env.name, cookie) if cookie else None}
        ended = False
        if store is not None:
            with contextlib.suppress(StoreError):  # a session the store cannot end still loses its cookie
                for session_id in session_ids - {None}:
                    ended |= web_sessions.end(store, session_id, by=None, reason=web_sessions.SIGNED_OUT,
                                              now=now) is not None
                if identity is not None and identity.method != "demo" and not ended:
                    store.record(identity.username, "sign_out", environment=env.name,
                                 details={"method": identity.method})
    st.session_state.pop(_IDENTITIES, None)
    if settings.oidc_enabled and st.user.is_logged_in:  # st.user has no is_logged_in without an [auth] section
        st.logout()
    elif web_sessions.serving() and cookies:
        st.session_state[_LEAVING] = True


def _remember(env: EnvironmentSettings, identity: Identity, store: Store | None) -> None:
    _identities()[_identity_key(env)] = identity
    if store is not None:
        # The sign-in itself succeeded; an audit outage is shown in the sidebar, not here.
        with contextlib.suppress(StoreError):
            store.record(identity.username, "sign_in", environment=env.name, details={"method": identity.method})


def _accept(result: SignIn, env: EnvironmentSettings, method: str, store: Store | None) -> None:
    if result.ok and result.user is not None:
        _remember(env, Identity(result.user.username, result.user.email, method, result.token), store)
        if method != "oidc" and result.token and store is not None and web_sessions.serving():
            try:
                ticket = web_sessions.hand_off(store, web_sessions.keys_for(settings_or_stop()), env,
                                               username=result.user.username, email=result.user.email,
                                               method=method, token=result.token, now=utc_now())
            except StoreError:
                pass  # signed in for this tab only, as the sidebar's store warning explains
            else:
                _go(web_sessions.start_url(ticket, _here(env)), f"Signed in as @{result.user.username}. "
                    "Opening the dashboard")
        st.rerun()
    st.error(result.error or "Sign-in failed.")


def _here(env: EnvironmentSettings) -> str:
    """This page's path with its environment, to come back to (the sign-in page's own path means the start)."""
    path = urlsplit(st.context.url or "").path or "/"
    if path.rstrip("/").endswith(f"/{SIGN_IN_PATH}"):
        path = path.rstrip("/").removesuffix(SIGN_IN_PATH)
    return f"{path}?{urlencode({'env': env.name})}"


def _go(url: str, doing: str) -> None:
    """Send the browser to one of our routes: a script navigation now, a link if scripts are blocked."""
    st.html(f"<script>window.location.replace({json.dumps(url)});</script>", unsafe_allow_javascript=True)
    st.info(f"{doing}… If nothing happens, [continue here]({url}).", icon=":material/login:")
    st.stop()


def signed_in(env: EnvironmentSettings, store: Store | None) -> Identity | None:
    """The admin signed in to `env` in this browser (this tab, or a cookie from an earlier sign-in); demo
    environments sign in by themselves."""
    identity = current_identity(env)
    if identity is not None:
        if identity.session_id is not None:
            refused = web_sessions.keep(store, env, identity.session_id, identity.token or "", now=utc_now())
            if refused is not None:
                _identities().pop(_identity_key(env), None)
                _notices()[_identity_key(env)] = refused.reason
                return None
        return identity
    simulator = demo_simulator(env)
    if simulator is not None:
        identity = Identity(simulator.admin_username, simulator.admin_email, "demo", simulator.admin_token)
        _remember(env, identity, store)
        return identity
    return _from_cookie(env, store)


def _from_cookie(env: EnvironmentSettings, store: Store | None) -> Identity | None:
    cookie = _browser_cookies().get(web_sessions.cookie_name(env.name))
    if not cookie or env.mattermost is None:
        return None
    if store is None:
        _notices()[_identity_key(env)] = ("Your saved sign-in cannot be checked while the store is unavailable. "
                                          "Sign in again, or reload once the store is back.")
        return None
    outcome = web_sessions.resume(store, web_sessions.keys_for(settings_or_stop()), env, cookie, now=utc_now())
    if isinstance(outcome, web_sessions.Refused):
        _notices()[_identity_key(env)] = outcome.reason
        return None
    grant = outcome.session.grant
    identity = Identity(grant.username, grant.email, grant.method, outcome.token, outcome.session_id)
    _identities()[_identity_key(env)] = identity  # not audited again: the sign-in was, when it was made
    return identity


def render_sign_in(settings: Settings, env: EnvironmentSettings, store: Store | None) -> None:
    """The only page a visitor sees until they prove they are a system admin of `env`'s Mattermost."""
    if st.session_state.pop(_LEAVING, False):
        _go(web_sessions.sign_out_url(_here(env)), "Signed out. Clearing this browser's sign-in")
    st.title("Sign in")
    if notice := _notices().pop(_identity_key(env), None):
        st.warning(notice, icon=":material/lock_clock:")
    if env.mattermost is None:
        st.error(f"{env.label} has no Mattermost URL configured, so nobody can sign in to it. "
                 f"Set {env_var_name(env.name, 'mattermost', 'url')} or "
                 f"[environments.{env.name}.mattermost] url in .streamlit/secrets.toml.")
        return
    st.write(f"This dashboard is for system admins of **{env.mattermost.url}** ({env.label}). "
             "Prove it with a personal access token, or your username and password.")
    if settings.oidc_enabled:
        if st.user.is_logged_in:
            email = str(st.user.get("email") or "")
            _accept(asyncio.run(admin_by_email(env.mattermost, email)), env, "oidc", store)
            st.button("Sign out of single sign-on", on_click=st.logout)
        else:
            st.button("Sign in with single sign-on", type="primary", on_click=st.login)
    token_tab, password_tab = st.tabs(["Personal access token", "Username and password"])
    with token_tab, st.form("token_sign_in"):
        token = st.text_input("Personal access token", type="password",
                              help="Profile → Security → Personal Access Tokens, of a system admin.")
        if st.form_submit_button("Sign in", type="primary"):
            _accept(asyncio.run(sign_in(env.mattermost, token=token.strip())), env, "token", store)
    with password_tab, st.form("password_sign_in"):
        username = st.text_input("Username or email")
        password = st.text_input("Password", type="password")
        if st.form_submit_button("Sign in"):
            _accept(asyncio.run(sign_in(env.mattermost, username=username.strip(), password=password)),
                    env, "password", store)
