"""Who may call what: anonymous, invalid token, plain user, admin; header, Token scheme and cookie."""

from __future__ import annotations

import httpx
import pytest

from simulator import RunningSimulator
from tests.servers.simulator import SimulatorFactory

ADMIN_ONLY = ["/config", "/analytics/old", "/plugins", "/plugins/statuses", "/cluster/status", "/jobs"]
SESSION_ONLY = ["/users/stats", "/users/me", "/teams"]
OPEN = ["/system/ping", "/config/client?format=old", "/license/client?format=old"]


@pytest.mark.parametrize("path", ADMIN_ONLY + SESSION_ONLY)
def test_no_token_is_401(anon: httpx.Client, path: str) -> None:
    response = anon.get(path)
    assert response.status_code == 401
    assert response.json()["id"] == "api.context.session_expired.app_error"


@pytest.mark.parametrize("path", ADMIN_ONLY + SESSION_ONLY)
def test_invalid_token_is_401(simulator: RunningSimulator, path: str) -> None:
    response = httpx.get(f"{simulator.url}/api/v4{path}", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert response.json()["status_code"] == 401


@pytest.mark.parametrize("path", ADMIN_ONLY)
def test_plain_user_is_403_on_admin_endpoints(user: httpx.Client, path: str) -> None:
    response = user.get(path)
    assert response.status_code == 403
    assert response.json()["id"] == "api.context.permissions.app_error"


@pytest.mark.parametrize("path", SESSION_ONLY)
def test_plain_user_may_use_session_endpoints(user: httpx.Client, path: str) -> None:
    assert user.get(path).status_code == 200


@pytest.mark.parametrize("path", ADMIN_ONLY + SESSION_ONLY)
def test_admin_may_use_everything(admin: httpx.Client, path: str) -> None:
    assert admin.get(path).status_code == 200


@pytest.mark.parametrize("path", OPEN)
def test_open_endpoints_ignore_a_bad_token(simulator: RunningSimulator, path: str) -> None:
    response = httpx.get(f"{simulator.url}/api/v4{path}", headers={"Authorization": "Bearer stale"})
    assert response.status_code == 200


def test_token_scheme_and_cookie_are_accepted(simulator: RunningSimulator) -> None:
    url = f"{simulator.url}/api/v4/users/me"
    assert httpx.get(url, headers={"Authorization": f"Token {simulator.admin_token}"}).status_code == 200
    assert httpx.get(url, headers={"Authorization": f"bearer {simulator.admin_token}"}).status_code == 200
    assert httpx.get(url, cookies={"MMAUTHTOKEN": simulator.user_token}).json()["username"] == simulator.user_username


def test_tokens_differ_per_start(simulator: RunningSimulator, simulator_factory: SimulatorFactory) -> None:
    other = simulator_factory()
    assert other.admin_token != simulator.admin_token
    assert other.admin_password != simulator.admin_password
    response = httpx.get(f"{other.url}/api/v4/users/me", headers={"Authorization": f"Bearer {simulator.admin_token}"})
    assert response.status_code == 401
