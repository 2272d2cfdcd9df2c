"""GET /teams with Mattermost's paging and optional total count."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulator.api.common import page_of, paging, query_bool, state
from simulator.auth import require_session
from simulator.model import Team


def team_json(t: Team, *, sanitized: bool) -> dict[str, Any]:
    """The Team object; without team-management rights the email and invite id are blanked (Team.Sanitize)."""
    return {
        "id": t.id,
        "create_at": t.create_at,
        "update_at": t.update_at,
        "delete_at": 0,
        "display_name": t.display_name,
        "name": t.name,
        "description": t.description,
        "email": "" if sanitized else t.email,
        "type": t.type,
        "company_name": "",
        "allowed_domains": "",
        "invite_id": "" if sanitized else t.invite_id,
        "allow_open_invite": t.allow_open_invite,
        "scheme_id": None,
        "group_constrained": None,
        "policy_id": None,
        "cloud_limits_archived": False,
    }


async def list_teams(request: Request) -> JSONResponse:
    session = require_session(request)
    teams = sorted(state(request).scenario.teams, key=lambda t: (t.display_name.lower(), t.id))
    if not session.is_admin:
        # Plain users may list public teams only (list_public_teams, not list_private_teams).
        teams = [t for t in teams if t.allow_open_invite]
    page, per_page = paging(request)
    body = [team_json(t, sanitized=not session.is_admin) for t in page_of(teams, page, per_page)]
    if query_bool(request, "include_total_count"):
        return JSONResponse({"teams": body, "total_count": len(teams)})
    return JSONResponse(body)


ROUTES = [Route("/api/v4/teams", list_teams, methods=["GET"])]
