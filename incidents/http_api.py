"""HTTP endpoints Mattermost and automation call: the /incident slash command and the actions API.

    POST /hooks/incidents/{environment}/slash    form posted by Mattermost (token checked in incidents.slash)
    POST /hooks/incidents/{environment}/actions  JSON, Authorization: Bearer <incidents.actions_token>

The app mounts `routes(resolve)`; `resolve` maps an environment name to its settings and incident service, so
this module holds no configuration of its own. Bodies are small by nature: anything over 64 KB is refused
before it is parsed.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from incidents import slash
from incidents.mattermost_api import MattermostApiError, MattermostDown
from incidents.models import Actor, Incident
from incidents.repository import incidents_enabled, to_body
from incidents.service import IncidentError, IncidentService, NotAllowed, NotFound, Unavailable
from settings import EnvironmentSettings
from store import StoreError

MAX_BODY_BYTES = 64 * 1024
FORM = "application/x-www-form-urlencoded"

Resolver = Callable[[str], tuple[EnvironmentSettings, IncidentService] | None]
log = logging.getLogger(__name__)
_NEEDED = {"start": ("name",), "stage": ("channel_name", "stage"), "item": ("channel_name", "item_action", "item"),
           "end": ("channel_name",)}


class _TooLarge(Exception):
    pass


class ActionRequest(BaseModel):
    """What automation may ask for; which fields each action needs is checked by `missing_fields`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action: Literal["start", "stage", "item", "end"]
    team: str | None = None  # team name; default: the environment's incidents.team
    channel_name: str | None = None  # start: the channel to create; others: the incident's channel
    playbook: str | None = None
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
        Route("/hooks/incidents/{environment}/slash", slash_endpoint, methods=["POST"]),
        Route("/hooks/incidents/{environment}/actions", actions_endpoint, methods=["POST"]),
    ]


# ------------------------------------------------------------------------------------------------ slash

async def _slash(request: Request, resolve: Resolver) -> JSONResponse:
    environment = request.path_params["environment"]
    resolved = resolve(environment)
    if resolved is None:
        return _text(404, f"The dashboard has no environment {environment!r}: check the command's request URL.")
    settings, service = resolved
    if _media_type(request) != FORM:
        return _text(415, f"Send the slash command as {FORM}, as Mattermost does.")
    try:
        form = dict(parse_qsl((await _body(request)).decode("utf-8"), keep_blank_values=True))
    except _TooLarge:
        return _text(413, f"The request is larger than {MAX_BODY_BYTES // 1024} KB.")
    except UnicodeDecodeError:
        return _text(400, "The form is not UTF-8 text.")
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
    if resolved is None:
        return _error(404, f"There is no environment {environment!r}.")
    settings, service = resolved
    refused = _check_bearer(request.headers.get("authorization", ""), settings)
    if refused:
        return _error(401, refused, headers={"WWW-Authenticate": "Bearer"})
    if _media_type(request) != "application/json":
        return _error(415, "Send the action as application/json.")
    try:
        raw = json.loads(await _body(request))
    except _TooLarge:
        return _error(413, f"The request is larger than {MAX_BODY_BYTES // 1024} KB.")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return _error(400, f"The body is not valid JSON: {exc}.")
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


def _check_bearer(header: str, settings: EnvironmentSettings) -> str | None:
    expected = settings.incidents.actions_token
    if expected is None:
        return (f"The actions endpoint is off for environment {settings.name!r}: set its incidents.actions_token "
                "and send it as 'Authorization: Bearer <token>'.")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return "Send the actions token as 'Authorization: Bearer <token>'."
    if not hmac.compare_digest(token.strip().encode(), expected.get_secret_value().encode()):
        return "The Bearer token is not this environment's incidents.actions_token."
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


async def _body(request: Request) -> bytes:
    """The body, refused as soon as it passes the limit so a huge upload is never held in memory."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise _TooLarge
    return bytes(body)


def _error(status: int, error: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"ok": False, "error": error}, status_code=status, headers=headers)
