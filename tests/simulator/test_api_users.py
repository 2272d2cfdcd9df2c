"""Login, /users/me, /users/stats and /users/email/{email}."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import quote

import httpx

from simulator import RunningSimulator, build_scenario
from tests.servers.simulator import SimulatorFactory
from tests.simulator.conftest import client_for


def test_login_gives_a_working_session_token(simulator: RunningSimulator, anon: httpx.Client) -> None:
    response = anon.post("/users/login", json={"login_id": simulator.admin_username,
                                               "password": simulator.admin_password})
    assert response.status_code == 200
    assert response.json()["username"] == simulator.admin_username
    token = response.headers["token"]
    assert token not in (simulator.admin_token, simulator.user_token)
    with client_for(simulator, token) as session:
        assert "system_admin" in session.get("/users/me").json()["roles"]
        assert session.get("/config").status_code == 200


def test_login_by_email_for_a_plain_user(simulator: RunningSimulator, anon: httpx.Client) -> None:
    response = anon.post("/users/login", json={"login_id": simulator.user_email.upper(),
                                               "password": simulator.user_password})
    assert response.status_code == 200
    assert response.cookies.get("MMAUTHTOKEN") == response.headers["token"]
    with client_for(simulator, response.headers["token"]) as session:
        assert session.get("/config").status_code == 403


def test_wrong_password_and_unknown_user_look_the_same(simulator: RunningSimulator, anon: httpx.Client) -> None:
    for login_id, password in ((simulator.admin_username, "wrong"), ("ghost", simulator.admin_password)):
        response = anon.post("/users/login", json={"login_id": login_id, "password": password})
        assert response.status_code == 401
        assert response.json()["id"] == "api.user.login.invalid_credentials_email_username"
        assert "token" not in response.headers


def test_blank_password_or_garbage_body_is_400(anon: httpx.Client) -> None:
    assert anon.post("/users/login", json={"login_id": "sysadmin"}).status_code == 400
    assert anon.post("/users/login", content=b"not json").status_code == 400


def test_users_me_roles(simulator: RunningSimulator, admin: httpx.Client, user: httpx.Client) -> None:
    me = admin.get("/users/me").json()
    assert me["roles"] == "system_admin system_user" and me["id"] == simulator.model.admin.id
    assert "password" not in me
    assert user.get("/users/me").json()["roles"] == "system_user"


def test_get_user_by_id(simulator: RunningSimulator, user: httpx.Client) -> None:
    admin_account = simulator.model.admin
    other = user.get(f"/users/{admin_account.id}").json()
    assert other["username"] == admin_account.username
    assert "notify_props" not in other  # someone else's profile only
    assert user.get("/users/" + "x" * 26).status_code == 404
    assert user.get("/users/not-an-id").status_code == 400


def test_user_stats(simulator: RunningSimulator, user: httpx.Client) -> None:
    """server/channels/app/user.go GetTotalUsersStats counts with IncludeBotAccounts: activated people and the
    bots, never the deactivated accounts."""
    model = simulator.model
    total = user.get("/users/stats").json()["total_users_count"]
    assert total == model.usage.active_users + model.bot_accounts > model.usage.active_users


def test_user_by_email(simulator: RunningSimulator, admin: httpx.Client, user: httpx.Client) -> None:
    found = admin.get(f"/users/email/{quote(simulator.user_email, safe='')}")
    assert found.status_code == 200 and found.json()["username"] == simulator.user_username
    assert user.get(f"/users/email/{simulator.user_email}").status_code == 200
    missing = admin.get("/users/email/nobody@example.com")
    assert missing.status_code == 404 and missing.json()["id"] == "app.user.missing_account.const"


def test_email_lookup_of_others_needs_show_email(simulator_factory: SimulatorFactory) -> None:
    scenario = build_scenario("healthy")
    hidden = simulator_factory(replace(scenario, settings=replace(scenario.settings, show_email_address=False)))
    with client_for(hidden, hidden.user_token) as user, client_for(hidden, hidden.admin_token) as admin:
        denied = user.get(f"/users/email/{hidden.admin_email}")
        assert denied.status_code == 403
        assert denied.json()["id"] == "api.user.get_user_by_email.permissions.app_error"
        assert user.get(f"/users/email/{hidden.user_email}").status_code == 200
        assert admin.get(f"/users/email/{hidden.user_email}").status_code == 200
