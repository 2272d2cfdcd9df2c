"""Prove that a visitor is a system admin of the configured Mattermost server."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import httpx

from collectors.http_errors import describe_transport_error
from collectors.mattermost_models import SignedInUser, parse_user
from collectors.runner import tls_for
from settings import MattermostSettings


@dataclass(frozen=True)
class SignIn:
    user: SignedInUser | None = None
    token: str | None = None  # kept in the visitor's session only; never stored or logged
    error: str | None = None
    # The server could not be asked (down, 5xx, not Mattermost): no verdict on the token, unlike a 401.
    unreachable: bool = False

    @property
    def ok(self) -> bool:
        return self.user is not None and self.error is None


def _client(settings: MattermostSettings) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"{settings.url}/api/v4", verify=tls_for(settings),
                             timeout=settings.timeout_seconds)


def _admin_only(user: SignedInUser, url: str) -> SignIn:
    if not user.is_system_admin:
        return SignIn(user=None, error=(
            f"@{user.username} is a user of {url} but not a system admin; this dashboard is for system admins. "
            "Ask an admin to grant the System Admin role, or sign in with an admin account."))
    return SignIn(user=user)


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", "")).rstrip(".") or response.reason_phrase
    except (ValueError, AttributeError):
        return response.reason_phrase


async def sign_in(settings: MattermostSettings, *, token: str | None = None,
                  username: str | None = None, password: str | None = None) -> SignIn:
    """Check a personal access token, or log in with username and password; admins only."""
    try:
        async with _client(settings) as client:
            if not token:
                if not username or not password:
                    return SignIn(error="Enter a personal access token, or a username and a password.")
                login = await client.post("/users/login", json={"login_id": username, "password": password})
                if login.status_code == 401:
                    return SignIn(error=f"Mattermost refused the sign-in ({_message(login)}): check the username "
                                        "and password; accounts with MFA or SSO must use a personal access token.")
                if login.status_code >= 400 or not login.headers.get("Token"):
                    return SignIn(error=f"Mattermost answered the sign-in with HTTP {login.status_code} "
                                        f"({_message(login)}).")
                token = login.headers["Token"]
            me = await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as exc:
        return SignIn(error=describe_transport_error(exc, "Mattermost", settings.url, settings.timeout_seconds),
                      unreachable=True)
    if me.status_code == 401:
        return SignIn(error=f"Mattermost rejected the token ({_message(me)}): it is wrong, expired or revoked.")
    if me.status_code >= 400:
        return SignIn(error=f"Mattermost answered /users/me with HTTP {me.status_code} ({_message(me)}).",
                      unreachable=me.status_code >= 500 or me.status_code == 429)
    try:
        user = parse_user(me.json())
    except ValueError:
        return SignIn(error=f"{settings.url} did not answer like a Mattermost server; check the URL.",
                      unreachable=True)
    checked = _admin_only(user, settings.url)
    return SignIn(user=checked.user, token=token if checked.ok else None, error=checked.error)


async def admin_by_email(settings: MattermostSettings, email: str) -> SignIn:
    """After single sign-on (OIDC), map the identity's email to a Mattermost system admin."""
    if settings.token is None:
        return SignIn(error="Single sign-on needs mattermost.token (a system admin's personal access token) "
                            "so the dashboard can look up who you are in Mattermost.")
    headers = {"Authorization": f"Bearer {settings.token.get_secret_value()}"}
    try:
        async with _client(settings) as client:
            response = await client.get(f"/users/email/{quote(email, safe='')}", headers=headers)
    except httpx.HTTPError as exc:
        return SignIn(error=describe_transport_error(exc, "Mattermost", settings.url, settings.timeout_seconds))
    if response.status_code == 404:
        return SignIn(error=f"No Mattermost account at {settings.url} has the email {email}.")
    if response.status_code >= 400:
        return SignIn(error=f"Could not look up {email} in Mattermost (HTTP {response.status_code}: "
                            f"{_message(response)}).")
    return _admin_only(parse_user(response.json()), settings.url)
