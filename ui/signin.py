"""The sign-in gate: nothing but a sign-in until the visitor proves they are a Mattermost system admin."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import streamlit as st

from collectors.mattermost_auth import SignIn, admin_by_email, sign_in
from settings import EnvironmentSettings, Settings, env_var_name
from store import Store, StoreError
from ui.context import demo_simulator

_IDENTITIES = "identities"


@dataclass(frozen=True)
class Identity:
    username: str
    email: str | None
    method: str  # demo | token | password | oidc
    token: str | None  # the visitor's own token, kept in this browser session only


def _identities() -> dict[str, Identity]:
    return st.session_state.setdefault(_IDENTITIES, {})


def _identity_key(env: EnvironmentSettings) -> str:
    # Keyed by what the visitor proved themselves on: a changed URL (or a demo turned real) needs a new sign-in.
    if env.demo_scenario:
        return f"{env.name} demo {env.demo_scenario}"
    return f"{env.name} {env.mattermost.url if env.mattermost else '-'}"


def current_identity(env: EnvironmentSettings) -> Identity | None:
    return _identities().get(_identity_key(env))


def sign_out() -> None:
    st.session_state.pop(_IDENTITIES, None)
    if st.user.is_logged_in:
        st.logout()


def _remember(env: EnvironmentSettings, identity: Identity, store: Store | None) -> None:
    _identities()[_identity_key(env)] = identity
    if store is not None:
        # The sign-in itself succeeded; an audit outage is shown in the sidebar, not here.
        with contextlib.suppress(StoreError):
            store.record(identity.username, "sign_in", environment=env.name, details={"method": identity.method})


def _accept(result: SignIn, env: EnvironmentSettings, method: str, store: Store | None) -> None:
    if result.ok and result.user is not None:
        _remember(env, Identity(result.user.username, result.user.email, method, result.token), store)
        st.rerun()
    st.error(result.error or "Sign-in failed.")


def signed_in(env: EnvironmentSettings, store: Store | None) -> Identity | None:
    """The admin signed in to `env` in this browser session; demo environments sign in by themselves."""
    identity = current_identity(env)
    if identity is not None:
        return identity
    simulator = demo_simulator(env)
    if simulator is None:
        return None
    identity = Identity(simulator.admin_username, simulator.admin_email, "demo", simulator.admin_token)
    _remember(env, identity, store)
    return identity


def render_sign_in(settings: Settings, env: EnvironmentSettings, store: Store | None) -> None:
    """The only page a visitor sees until they prove they are a system admin of `env`'s Mattermost."""
    st.title("Sign in")
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
