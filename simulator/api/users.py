"""POST /users/login, /users/ids; GET /users/stats, /users/{user_id} (and "me"), /users/email/{email},
/users/username/{username}."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulator import errors
from simulator.api.common import json_body, state
from simulator.auth import AUTH_COOKIE, Session, require_session
from simulator.ids import random_id, valid_id
from simulator.model import Account

_NOTIFY_PROPS = {
    "channel": "true", "comments": "never", "desktop": "mention", "desktop_sound": "true",
    "desktop_threads": "all", "email": "true", "email_threads": "all", "first_name": "false", "mention_keys": "",
    "push": "mention", "push_status": "away", "push_threads": "all",
}


def user_json(a: Account, *, full: bool, show_email: bool = True) -> dict[str, Any]:
    """The User object. `full` is what the user themself or an admin sees; others get the profile only."""
    user: dict[str, Any] = {
        "id": a.id,
        "create_at": a.create_at,
        "update_at": a.update_at,
        "delete_at": 0,
        "username": a.username,
        "auth_service": "",
        "email": a.email if full or show_email else "",
        "email_verified": True,
        "nickname": a.nickname,
        "first_name": a.first_name,
        "last_name": a.last_name,
        "position": a.position,
        "roles": a.roles,
        "props": {},
        "locale": "en",
        "timezone": {"automaticTimezone": "", "manualTimezone": "", "useAutomaticTimezone": "true"},
        "disable_welcome_email": False,
    }
    if full:
        user["notify_props"] = dict(_NOTIFY_PROPS)
        user["last_password_update"] = a.last_password_update
    return user


async def login(request: Request) -> JSONResponse:
    try:
        props = json.loads(await request.body() or b"{}")
    except json.JSONDecodeError:
        props = {}
    if not isinstance(props, dict):
        props = {}
    login_id, password = str(props.get("login_id", "")), str(props.get("password", ""))
    if not password:
        raise errors.blank_password()
    st = state(request)
    account = next((a for a in st.scenario.accounts
                    if login_id.lower() in (a.username.lower(), a.email.lower())), None)
    # An unknown login id and a wrong password get the same answer, so logins cannot be enumerated.
    if account is None or st.passwords.get(account.id) != password:
        raise errors.invalid_credentials()
    token = random_id()
    st.sessions.add(token, account)
    response = JSONResponse(user_json(account, full=True), headers={"Token": token})
    response.set_cookie(AUTH_COOKIE, token, httponly=True, samesite="lax")
    response.set_cookie("MMUSERID", account.id, samesite="lax")
    return response


async def user_stats(request: Request) -> JSONResponse:
    # app/user.go GetTotalUsersStats: User().Count with IncludeBotAccounts, so activated people and bots, no
    # deactivated accounts.
    require_session(request)
    scenario = state(request).scenario
    return JSONResponse({"total_users_count": scenario.usage.active_users + scenario.bot_accounts})


async def get_user(request: Request) -> JSONResponse:
    session = require_session(request)
    user_id = request.path_params["user_id"]
    if user_id == "me":
        return JSONResponse(user_json(session.account, full=True))
    if not valid_id(user_id):
        raise errors.invalid_url_param("user_id")
    account = next((a for a in state(request).scenario.accounts if a.id == user_id), None)
    if account is None:
        raise errors.user_not_found()
    return JSONResponse(_user_for(request, session, account))


async def get_user_by_email(request: Request) -> JSONResponse:
    session = require_session(request)
    email = request.path_params["email"].lower()
    st = state(request)
    # The real server refuses non-admins whenever ShowEmailAddress is off, even for their own address;
    # the simulator lets people look themselves up, which is what sign-in checks need.
    is_self = session.account.email.lower() == email
    if not (session.is_admin or is_self or st.config["PrivacySettings"]["ShowEmailAddress"]):
        raise errors.email_lookup_denied()
    account = next((a for a in st.scenario.accounts if a.email.lower() == email), None)
    if account is None:
        raise errors.user_not_found()
    return JSONResponse(_user_for(request, session, account))


async def users_by_ids(request: Request) -> JSONResponse:
    session = require_session(request)
    ids = await json_body(request, "user_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise errors.invalid_param("user_ids")
    wanted = set(ids)
    # Unknown ids are skipped, not refused.
    return JSONResponse([_user_for(request, session, a) for a in state(request).scenario.accounts if a.id in wanted])


async def user_by_username(request: Request) -> JSONResponse:
    session = require_session(request)
    username = request.path_params["username"].lower()
    account = next((a for a in state(request).scenario.accounts if a.username.lower() == username), None)
    if account is None:
        raise errors.AppError("app.user.get_by_username.app_error",
                              "Unable to find an existing account matching your username for this team. This team "
                              "may require an invite from the team owner to join.", 404)
    return JSONResponse(_user_for(request, session, account))


def _user_for(request: Request, session: Session, account: Account) -> dict[str, Any]:
    show_email = session.is_admin or bool(state(request).config["PrivacySettings"]["ShowEmailAddress"])
    full = session.is_admin or session.account.id == account.id
    return user_json(account, full=full, show_email=show_email)


ROUTES = [
    Route("/api/v4/users/login", login, methods=["POST"]),
    Route("/api/v4/users/ids", users_by_ids, methods=["POST"]),
    Route("/api/v4/users/username/{username}", user_by_username, methods=["GET"]),
    Route("/api/v4/users/stats", user_stats, methods=["GET"]),
    Route("/api/v4/users/email/{email}", get_user_by_email, methods=["GET"]),
    Route("/api/v4/users/{user_id}", get_user, methods=["GET"]),
]
