"""HTTP endpoints Mattermost and automation call: the /incident slash command and the actions API.

    POST /hooks/incidents/{environment}/slash    form posted by Mattermost (token checked in incidents.slash)
    POST /hooks/incidents/{environment}/actions  JSON, Authorization: Bearer <incidents.actions_token>
    POST /hooks/incidents/{environment}/card     the incident card's clicks (incidents/card_actions.py)
    POST /hooks/incidents/{environment}/dialog   dialog submissions (incidents/dialogs.py)
    any other method on any path under /hooks/incidents/: 405 with Allow: POST

The app mounts `routes(resolve)`; `resolve` maps an environment name to its settings and incident service, so
this module holds no configuration of its own. Bodies are small by nature: incidents/hook_bodies.py refuses
anything over 64 KB before it is parsed, and JSON nested too deep before it is decoded.

A caller who is not authenticated learns nothing about which environments exist: an unknown environment answers
exactly as a known one does to a wrong token (401, the same body). Only an authenticated caller hears more.

The last route `routes()` returns answers 405 to every method but POST under /hooks/incidents/ (Streamlit would
otherwise answer a GET with the app's page). It never matches a POST, so POST routes listed after it still work;
a route under /hooks/incidents/ for another method must be listed before it.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Match, Route
from starlette.types import Scope

from incidents import slash
from incidents.card_actions import interactive_routes
from incidents.hook_bodies import BodyRefused, parse_json, read_body
from incidents.mattermost_api import MattermostApiError, MattermostDown
from incidents.models import Actor, Incident
from incidents.repository import incidents_enabled, to_body
from incidents.service import CHANNEL_NAME_MAX, IncidentError, IncidentService, NotAllowed, NotFound, Unavailable
from settings import EnvironmentSettings
from store import StoreError

FORM = "application/x-www-form-urlencoded"
HOOKS = "/hooks/incidents/"
TEAM_NAME_MAX = 64  # server/public/model/team.go: TeamNameMaxLength
NO_BEARER = "Send the actions token as 'Authorization: Bearer <token>'."
NOT_ACCEPTED = ("The Bearer token is not accepted for this URL's environment: send that environment's "
                "incidents.actions_token (the actions endpoint is off while it is not set).")
_UNKNOWN = secrets.token_bytes(32)  # compared against for an unknown environment, so it takes as long as a known one

Resolver = Callable[[str], tuple[EnvironmentSettings, IncidentService] | None]
log = logging.getLogger(__name__)
_NEEDED = {"start": ("name",), "stage": ("channel_name", "stage"), "item": ("channel_name", "item_action", "item"),
           "end": ("channel_name",)}


class ActionRequest(BaseModel):
    """What automation may ask for; which fields each action needs is checked by `missing_fields`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action: Literal["start", "stage", "item", "end"]
    team: str | None = Field(None, max_length=TEAM_NAME_MAX)  # team name; default: the environment's incidents.team
    # start: the channel to create; others: the incident's channel (its length is the service's to refuse, 422)
    channel_name: str | None = None
    playbook: str | None = Field(None, max_length=CHANNEL_NAME_MAX)  # a playbook id, a slug
    name: str | None = None
    stage: str | None = None
    item_action: Literal["check", "uncheck", "add", "remove"] | None = None
    item: str | None = None

    def missing_fields(self) -> list[str]:
        return [name for name in _NEEDED[self.action] if not getattr(self, name)]


def routes(resolve: Resolver) -> list[Route]:
    async def slash_endpoint(request: Request) -> JSONResponse:
        return await _slash(request, resolve)

    async def actions_endpoint(request: Request) -> JSONResponse:
        return await _actions(request, resolve)

    return [
        Route(HOOKS + "{environment}/slash", slash_endpoint, methods=["POST"]),
        Route(HOOKS + "{environment}/actions", actions_endpoint, methods=["POST"]),
        *interactive_routes(resolve),  # the incident card's clicks and the dialogs' submissions
        # Last, and other hook routes before it: see the module's docstring.
        _NotPost(HOOKS + "{path:path}", _only_post),
    ]


class _NotPost(Route):
    """Every method but POST, on every path under /hooks/incidents/ (a POST is left to the routes that take it)."""

    def __init__(self, path: str, endpoint: Callable[[Request], Any]) -> None:
        super().__init__(path, endpoint)
        self.methods = None  # Starlette would take a function endpoint as GET only: this one takes any method

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["method"] == "POST":
            return Match.NONE, {}
        return super().matches(scope)


async def _only_post(request: Request) -> JSONResponse:
    return _error(405, f"{request.url.path} is a hook Mattermost and automation post to: send POST, not "
                       f"{request.method}.", headers={"Allow": "POST"})


# ------------------------------------------------------------------------------------------------ slash

async def _slash(request: Request, resolve: Resolver) -> JSONResponse:
    environment = request.path_params["environment"]
    if _media_type(request) != FORM:
        return _text(415, f"Send the slash command as {FORM}, as Mattermost does.")
    try:
        form = dict(parse_qsl((await read_body(request)).decode("utf-8"), keep_blank_values=True))
    except BodyRefused as exc:
        return _text(exc.status, str(exc))
    except UnicodeDecodeError:
        return _text(400, "The form is not UTF-8 text.")
    resolved = resolve(environment)
    if resolved is None:
        hmac.compare_digest(form.get("token", "").encode(), _UNKNOWN)
        log.warning("slash command refused: environment %r is not configured, or cannot act in Mattermost",
                    environment)
        refused = slash.not_accepted()
        return JSONResponse(refused.body, status_code=refused.status_code)
    settings, service = resolved
    try:
        enabled = incidents_enabled(service.store)
        answer = await slash.handle(form, service, settings, enabled)
    except StoreError as exc:
        return JSONResponse(slash.ephemeral(f"The dashboard could not reach its store, so nothing was done: {exc}"))
    except Exception:
        # Mattermost shows a bare "command failed" for a 500; a sentence tells the person where to look.
        log.exception("slash command failed in environment %s", environment)
        return JSONResponse(slash.ephemeral("The dashboard failed to run this command; its log has the details."))
    return JSONResponse(answer.body, status_code=answer.status_code)


def _text(status: int, text: str) -> JSONResponse:
    return JSONResponse(slash.ephemeral(text), status_code=status)


# ---------------------------------------------------------------------------------------------- actions

async def _actions(request: Request, resolve: Resolver) -> JSONResponse:
    environment = request.path_params["environment"]
    resolved = resolve(environment)
    refused = _check_bearer(request.headers.get("authorization", ""), resolved[0] if resolved else None)
    if refused or resolved is None:  # an unknown environment has no token to accept
        log.warning("actions request refused in environment %r: %s", environment, refused)
        said = NO_BEARER if refused == NO_BEARER else NOT_ACCEPTED
        return _error(401, said, headers={"WWW-Authenticate": "Bearer"})
    settings, service = resolved
    if _media_type(request) != "application/json":
        return _error(415, "Send the action as application/json.")
    try:
        raw = parse_json(await read_body(request), "an action is one flat JSON object")
    except BodyRefused as exc:
        return _error(exc.status, str(exc))
    problem, action = _validated(raw)
    if action is None:
        return _error(400, problem)
    if not (action.team or settings.incidents.team):
        return _error(400, "field 'team': required, as this environment has no incidents.team default.")
    try:
        if not incidents_enabled(service.store):
            return _error(503, "Incidents are turned off in the dashboard; an admin can turn them on again.")
        incident = await _run(action, settings, service)
    except NotAllowed as exc:
        return _error(403, str(exc))
    except NotFound as exc:
        return _error(404, str(exc))
    except Unavailable as exc:
        return _error(503, str(exc))
    except IncidentError as exc:
        return _error(422, str(exc))
    except StoreError as exc:
        return _error(503, f"The dashboard could not reach its store: {exc}")
    return JSONResponse({"ok": True, "incident": to_body(incident)})


def _check_bearer(header: str, settings: EnvironmentSettings | None) -> str | None:
    """Why the caller is not authenticated (NO_BEARER, or a reason for the log only), or None."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return NO_BEARER
    expected = settings.incidents.actions_token if settings is not None else None
    secret = expected.get_secret_value().encode() if expected is not None else _UNKNOWN
    if not hmac.compare_digest(token.strip().encode(), secret) or expected is None:
        if settings is None:
            return "the environment is not configured, or cannot act in Mattermost"
        return "its incidents.actions_token is not set" if expected is None else "the token does not match"
    return None


def _validated(raw: Any) -> tuple[str, ActionRequest | None]:
    """(why it is refused, None) or ("", the request): each problem names the field to fix."""
    if not isinstance(raw, dict):
        return "The body must be a JSON object such as {\"action\": \"end\", \"channel_name\": \"...\"}.", None
    try:
        action = ActionRequest.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            problems.append(f"field '{where}': {error['msg']}")
        return "; ".join(problems), None
    missing = action.missing_fields()
    if missing:
        return "; ".join(f"field '{name}': required for action '{action.action}'" for name in missing), None
    return "", action


async def _run(request: ActionRequest, settings: EnvironmentSettings, service: IncidentService) -> Incident:
    team_name = request.team or settings.incidents.team or ""
    api = service.api
    try:
        team = await api.team_by_name(team_name)
        me = await api.me()
    except MattermostDown as exc:
        raise Unavailable(str(exc)) from exc
    except MattermostApiError as exc:
        if exc.status == 404:
            raise NotFound(f"Mattermost has no team named {team_name!r}.") from exc
        raise IncidentError(str(exc)) from exc
    # Automation acts as the token's own Mattermost user, whose authority the Bearer token stands for.
    actor = Actor(user_id=me["id"], username=me["username"], automation=True)
    if request.action == "start":
        playbook_id = request.playbook or _only_playbook(service)
        return await service.start(actor, team_id=team["id"], playbook_id=playbook_id, name=request.name or "",
                                   channel_name=request.channel_name)
    incident = await service.by_channel_name(team["id"], request.channel_name or "")
    if incident is None:
        raise NotFound(f"There is no incident in channel {request.channel_name!r} of team {team_name!r}.")
    if request.action == "end":
        return await service.end(incident.id, actor)
    if request.action == "stage":
        return await service.change_stage(incident.id, actor, request.stage or "")
    item = request.item or ""
    match request.item_action:
        case "check" | "uncheck":
            return await service.set_item(incident.id, actor, item, checked=request.item_action == "check")
        case "add":
            return await service.add_item(incident.id, actor, item)
        case _:
            return await service.remove_item(incident.id, actor, item)


def _only_playbook(service: IncidentService) -> str:
    if len(service.playbooks) == 1:
        return next(iter(service.playbooks))
    known = ", ".join(sorted(service.playbooks)) or "none configured"
    raise IncidentError(f"field 'playbook': required when there is not exactly one playbook (playbooks: {known})")


# ---------------------------------------------------------------------------------------------- shared

def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _error(status: int, error: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"ok": False, "error": error}, status_code=status, headers=headers)
