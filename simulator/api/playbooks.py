"""The Playbooks plugin's REST API, read side: /plugins/playbooks/api/v0/{runs, runs/{id}, runs/{id}/status-updates,
playbooks}.

It answers the way a plugin behind Mattermost does, which differs from the core API:
- plugins switched off server-wide: 501 with Mattermost's AppError; the plugin not installed or not enabled: Go's
  plain-text "404 page not found", as for any path the plugin's router does not know;
- no valid session: the server forwards the request without a user id and the plugin answers a plain-text 401;
- errors are `{"error": "<message>"}`; a run the caller may not view, or that does not exist, is 403 "Not
  authorized" (the permission check runs first and fails on a missing run too);
- system admins see every run; others see runs they own or take part in, and runs of public playbooks in their
  teams.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from simulator import errors
from simulator.api.channels import messaging
from simulator.api.common import state
from simulator.auth import Session, optional_session
from simulator.ids import valid_id
from simulator.playbook_runs import STATUS_POST_TYPE

PLUGIN_ID = "playbooks"
BASE = f"/plugins/{PLUGIN_ID}/api/v0"
PER_PAGE_DEFAULT = 1000

RUN_SORTS = {
    "create_at": lambda r: r["create_at"], "id": lambda r: r["id"], "name": lambda r: r["name"],
    "owner_user_id": lambda r: r["owner_user_id"], "team_id": lambda r: r["team_id"],
    "end_at": lambda r: r["end_at"], "status": lambda r: r["current_status"],
    "last_status_update_at": lambda r: r["last_status_update_at"],
    **{f"metric{n}": (lambda r, n=n: _metric(r, n)) for n in range(4)},
}
PLAYBOOK_SORTS = {
    "title": lambda p: p["title"], "stages": lambda p: p["num_stages"], "steps": lambda p: p["num_steps"],
    "runs": lambda p: p["num_runs"], "last_run_at": lambda p: p["last_run_at"],
    "active_runs": lambda p: p["active_runs"],
}

Handler = Callable[[Request, Session], Awaitable[Response]]


class BadParameter(Exception):
    pass


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def plugin_route(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """What stands between a request and the plugin: the server's plugin switch, the plugin, the session."""

    async def serve(request: Request) -> Response:
        scenario = state(request).scenario
        if not scenario.settings.plugins_enabled:
            raise errors.plugins_disabled()
        if not any(p.id == PLUGIN_ID and p.enabled for p in scenario.plugins):
            return _not_found()
        session = optional_session(request)
        if session is None:
            return PlainTextResponse("Not authorized\n", status_code=401, headers={"X-Content-Type-Options": "nosniff"})
        try:
            return await handler(request, session)
        except BadParameter:
            return _error(400, "Bad parameter")

    return serve


def _not_found() -> PlainTextResponse:
    return PlainTextResponse("404 page not found\n", status_code=404, headers={"X-Content-Type-Options": "nosniff"})


# --------------------------------------------------------------------------------------------- visibility

def _playbooks(request: Request) -> dict[str, dict[str, Any]]:
    return {p["id"]: p for p in state(request).playbooks.playbooks}


def _can_view_playbook(request: Request, session: Session, playbook: dict[str, Any]) -> bool:
    if session.is_admin or any(m["user_id"] == session.account.id for m in playbook["members"]):
        return True
    return playbook["public"] and messaging(request).team_member(playbook["team_id"], session.account.id) is not None


def _can_view_run(request: Request, session: Session, run: dict[str, Any]) -> bool:
    user_id = session.account.id
    if session.is_admin or run["owner_user_id"] == user_id or user_id in run["participant_ids"]:
        return True
    playbook = _playbooks(request).get(run["playbook_id"])
    return playbook is not None and _can_view_playbook(request, session, playbook)


def _viewable_run(request: Request, session: Session) -> dict[str, Any] | None:
    run_id = request.path_params["run_id"]
    run = next((r for r in state(request).playbooks.runs if r["id"] == run_id), None)
    return run if run is not None and _can_view_run(request, session, run) else None


# ----------------------------------------------------------------------------------------------- paging

def _int_param(request: Request, name: str) -> int:
    """strconv.Atoi of the parameter, with "" as 0; anything else that does not parse is a bad parameter."""
    raw = request.query_params.get(name, "")
    try:
        return int(raw) if raw else 0
    except ValueError:
        raise BadParameter(name) from None


def _sorted(request: Request, items: list[dict[str, Any]], sorts: dict[str, Callable[[dict[str, Any]], Any]],
            default: str) -> list[dict[str, Any]]:
    sort = request.query_params.get("sort", "").lower() or default
    direction = request.query_params.get("direction", "").upper() or "ASC"
    if sort not in sorts or direction not in ("ASC", "DESC"):
        raise BadParameter("sort")
    return sorted(items, key=lambda i: (sorts[sort](i), i["id"]), reverse=direction == "DESC")


def _results(request: Request, items: list[dict[str, Any]], *, with_per_page: bool) -> dict[str, Any]:
    page = _int_param(request, "page")
    per_page = _int_param(request, "per_page")
    if per_page <= 0:
        per_page = PER_PAGE_DEFAULT
    page_count = math.ceil(len(items) / per_page)
    body: dict[str, Any] = {"total_count": len(items), "page_count": page_count}
    if with_per_page:
        body["per_page"] = per_page
    body["has_more"] = page + 1 < page_count
    body["items"] = items[page * per_page:(page + 1) * per_page] if page >= 0 else []
    return body


def _metric(run: dict[str, Any], index: int) -> int:
    values = run["metrics_data"]
    value = values[index]["value"] if index < len(values) else None
    return -1 if value is None else value


# ---------------------------------------------------------------------------------------------- handlers

async def list_runs(request: Request, session: Session) -> Response:
    query = request.query_params
    team_id = query.get("team_id", "")
    if team_id and not valid_id(team_id):
        raise BadParameter("team_id")
    since = _int_param(request, "since")
    statuses = query.getlist("statuses")
    owner = _me(query.get("owner_user_id", ""), session)
    participant = _me(query.get("participant_id", ""), session)
    omit_ended = query.get("omit_ended") == "true"
    runs = [
        r for r in state(request).playbooks.runs
        if _can_view_run(request, session, r)
        and (not team_id or r["team_id"] == team_id)
        and (not statuses or r["current_status"] in statuses)
        and (not owner or r["owner_user_id"] == owner)
        and (not participant or participant in r["participant_ids"])
        and (not since or r["update_at"] >= since)
        and not (omit_ended and r["end_at"])
    ]
    runs = _sorted(request, runs, RUN_SORTS, "create_at")
    return JSONResponse(_results(request, runs, with_per_page=True))


def _me(value: str, session: Session) -> str:
    return session.account.id if value == "me" else value


async def get_run(request: Request, session: Session) -> Response:
    run = _viewable_run(request, session)
    if run is None:
        return _error(403, "Not authorized")
    return JSONResponse(run)


async def status_updates(request: Request, session: Session) -> Response:
    run = _viewable_run(request, session)
    if run is None:
        return _error(403, "Not authorized")
    store = messaging(request)
    found = (store.post(s["id"]) for s in run["status_posts"])
    # The plugin reads each status post back and keeps only genuine status updates.
    posts = [p for p in found if p is not None and p.type == STATUS_POST_TYPE]
    posts.sort(key=lambda p: p.create_at, reverse=True)
    return JSONResponse([
        {"id": p.id, "create_at": p.create_at, "delete_at": 0, "message": p.message,
         "author_user_name": p.props.get("authorUsername", "")}
        for p in posts
    ])


async def list_playbooks(request: Request, session: Session) -> Response:
    query = request.query_params
    team_id = query.get("team_id", "")
    if team_id and not valid_id(team_id):
        raise BadParameter("team_id")
    term = query.get("search_term", "").lower()
    with_archived = query.get("with_archived") == "true"
    found = [
        p for p in _playbooks(request).values()
        if _can_view_playbook(request, session, p)
        and (not team_id or p["team_id"] == team_id)
        and term in p["title"].lower()
        and (with_archived or not p["delete_at"])
    ]
    found = _sorted(request, found, PLAYBOOK_SORTS, "title")
    return JSONResponse(_results(request, found, with_per_page=False))


async def unknown_route(request: Request, session: Session) -> Response:
    return _not_found()


ROUTES = [
    Route(f"{BASE}/runs", plugin_route(list_runs), methods=["GET"]),
    Route(f"{BASE}/runs/{{run_id}}", plugin_route(get_run), methods=["GET"]),
    Route(f"{BASE}/runs/{{run_id}}/status-updates", plugin_route(status_updates), methods=["GET"]),
    Route(f"{BASE}/playbooks", plugin_route(list_playbooks), methods=["GET"]),
    # Everything else under the plugin's URL reaches the plugin, whose router answers a plain 404.
    Route(f"/plugins/{PLUGIN_ID}/{{rest:path}}", plugin_route(unknown_route),
          methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]),
]
