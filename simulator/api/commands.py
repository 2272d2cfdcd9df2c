"""Custom slash commands: POST /api/v4/commands (register), GET /api/v4/commands (list), POST /commands/execute.

Follows server/channels/api4/command.go (createCommand, listCommands, executeCommand), server/channels/app/command.go
(createCommand, ExecuteCommand, tryExecuteCustomCommand, DoCommandRequest, HandleCommandResponse(Post),
CreateCommandPost) and server/public/model/command.go / command_response.go. Executing a command sends the
integration the form upstream sends (token, team_id, team_domain, channel_id, channel_name, user_id, user_name,
command, text, trigger_id, root_id, response_url), with the command's token also in `Authorization: Token ...`,
and turns the CommandResponse into posts: `in_channel` ones are posted in the channel as the caller, ephemeral
ones (the default) are delivered to the caller only. The answer is the CommandResponse with the client trigger id.

Not simulated: built-in commands (/echo, /join, ...: their triggers are reserved but executing one answers
not_found), plugin commands, the response_url hook (/hooks/commands/{id}) and @mention / ~channel form fields.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulator import errors
from simulator.api.channels import messaging
from simulator.api.common import json_body, query_bool, state
from simulator.api.integrations import check_outgoing_url, parse_slack_links, post_to_integration, team_of
from simulator.api.posts import may_manage_others_posts
from simulator.auth import Session, require_session
from simulator.ids import valid_id
from simulator.messaging import OPEN, PRIVATE, Command, MessagingError, TriggerTaken

# Triggers of upstream's built-in command providers: a custom command may not take them.
BUILT_IN_TRIGGERS = frozenset({
    "away", "code", "collapse", "dnd", "echo", "expand", "groupmsg", "header", "help", "invite", "invite_people",
    "join", "kick", "leave", "logout", "me", "msg", "mute", "offline", "online", "open", "purpose", "remove",
    "rename", "search", "settings", "shortcuts", "shrug", "status",
})
_WHITESPACE = re.compile(r"\s")


def _disabled() -> errors.AppError:
    return errors.AppError("api.command.disabled.app_error", "Commands have been disabled by the system admin.", 501)


def _enabled(request: Request) -> bool:
    return bool(state(request).config["ServiceSettings"]["EnableCommands"])


def command_json(c: Command, *, sanitized: bool = False) -> dict[str, Any]:
    """model.Command; `sanitized` is Command.Sanitize (token, creator, method, url, username, icon blanked)."""
    body = {
        "id": c.id, "token": c.token, "create_at": c.create_at, "update_at": c.update_at, "delete_at": c.delete_at,
        "creator_id": c.creator_id, "team_id": c.team_id, "trigger": c.trigger, "method": c.method,
        "username": c.username, "icon_url": c.icon_url, "auto_complete": c.auto_complete,
        "auto_complete_desc": c.auto_complete_desc, "auto_complete_hint": c.auto_complete_hint,
        "display_name": c.display_name, "description": c.description, "url": c.url, "plugin_id": "",
    }
    if sanitized:
        body.update(token="", creator_id="", method="", url="", username="", icon_url="")
    return body


def _can_view_team(request: Request, session: Session, team_id: str) -> bool:
    return session.is_admin or messaging(request).team_member(team_id, session.account.id) is not None


def _invalid(field: str) -> errors.AppError:
    return errors.AppError(f"model.command.is_valid.{field}.app_error", f"Invalid {field.replace('_', ' ')}.", 400)


def _valid_http_url(url: str) -> bool:
    """model.IsValidHTTPURL: http(s) with a host."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


# ------------------------------------------------------------------------------------------ register

_COMMAND_STRINGS = ("team_id", "trigger", "method", "url", "username", "icon_url", "auto_complete_desc",
                    "auto_complete_hint", "display_name", "description", "creator_id")


async def create_command(request: Request) -> JSONResponse:
    session = require_session(request)
    body = await json_body(request, "command")
    if not isinstance(body, dict):
        raise errors.invalid_param("command")
    if any(body.get(k) is not None and not isinstance(body[k], str) for k in _COMMAND_STRINGS) or \
            (body.get("auto_complete") is not None and not isinstance(body["auto_complete"], bool)):
        raise errors.invalid_param("command")
    fields = {k: body.get(k) or "" for k in _COMMAND_STRINGS}
    team_id = fields["team_id"]
    if not may_manage_others_posts(request, session, team_id):
        raise errors.permission_denied()
    creator_id = session.account.id
    if fields["creator_id"] and fields["creator_id"] != creator_id:
        if not any(a.id == fields["creator_id"] for a in state(request).scenario.accounts):
            raise errors.user_not_found()
        creator_id = fields["creator_id"]
    if not _enabled(request):
        raise _disabled()
    trigger = fields["trigger"].lower()
    if trigger in BUILT_IN_TRIGGERS or any(c.trigger == trigger for c in messaging(request).commands(team_id)):
        raise errors.AppError("api.command.duplicate_trigger.app_error", "This trigger word is already in use. "
                              "Please choose another word.", 400)
    # Command.IsValid, in upstream's order (after PreSave gave it an id, a token and times).
    if not valid_id(team_id):
        raise _invalid("team_id")
    if not 1 <= len(trigger) <= 128 or trigger.startswith("/") or " " in trigger:
        raise _invalid("trigger")
    if not fields["url"] or len(fields["url"]) > 1024:
        raise _invalid("url")
    if not _valid_http_url(fields["url"]):
        raise _invalid("url_http")
    if fields["method"] not in ("P", "G"):
        raise _invalid("method")
    if len(fields["display_name"]) > 64:
        raise _invalid("display_name")
    if len(fields["description"]) > 128:
        raise _invalid("description")
    try:
        command = messaging(request).create_command(
            team_id=team_id, creator_id=creator_id, trigger=trigger, method=fields["method"], url=fields["url"],
            username=fields["username"], icon_url=fields["icon_url"], auto_complete=bool(body.get("auto_complete")),
            auto_complete_desc=fields["auto_complete_desc"], auto_complete_hint=fields["auto_complete_hint"],
            display_name=fields["display_name"], description=fields["description"])
    except TriggerTaken:
        raise errors.AppError("api.command.duplicate_trigger.app_error", "This trigger word is already in use. "
                              "Please choose another word.", 400) from None
    return JSONResponse(command_json(command), status_code=201)


async def list_commands(request: Request) -> JSONResponse:
    """listCommands: custom_only lists the team's commands in full (managers only); otherwise managers get every
    command sanitized (ListAllCommandsByUser) and others the auto-complete ones (ListAutocompleteCommands)."""
    session = require_session(request)
    team_id = request.query_params.get("team_id", "")
    if not team_id:
        raise errors.invalid_param("team_id")
    if not _can_view_team(request, session, team_id):
        raise errors.permission_denied()
    manager = may_manage_others_posts(request, session, team_id)
    commands = messaging(request).commands(team_id)
    if query_bool(request, "custom_only"):
        if not manager:
            raise errors.permission_denied()
        if not _enabled(request):
            raise _disabled()
        return JSONResponse([command_json(c) for c in commands])
    if not _enabled(request):
        commands = []
    if not manager:
        commands = [c for c in commands if c.auto_complete]
    return JSONResponse([command_json(c, sanitized=True) for c in commands])


# ------------------------------------------------------------------------------------------- execute

_RESPONSE_FIELDS: dict[str, tuple[type, Any]] = {
    "response_type": (str, ""), "text": (str, ""), "username": (str, ""), "channel_id": (str, ""),
    "icon_url": (str, ""), "type": (str, ""), "props": (dict, None), "goto_location": (str, ""),
    "trigger_id": (str, ""), "skip_slack_parsing": (bool, False), "attachments": (list, None),
    "extra_responses": (list, None),
}


def _failed(trigger: str, suffix: str = "failed", status: int = 500) -> errors.AppError:
    return errors.AppError(f"api.command.execute_command.{suffix}.app_error", f"Command with a trigger of '{trigger}' "
                           "failed.", status)


def _command_response(value: Any, trigger: str) -> dict[str, Any]:
    """model.CommandResponseFromJSON, re-encoded with every field (zero values included)."""
    if not isinstance(value, dict):
        raise _failed(trigger)
    response: dict[str, Any] = {}
    for key, (kind, zero) in _RESPONSE_FIELDS.items():
        got = value.get(key)
        if got is not None and not isinstance(got, kind):
            raise _failed(trigger)
        response[key] = zero if got is None else got
    if response["extra_responses"] is not None:
        response["extra_responses"] = [_command_response(r, trigger) for r in response["extra_responses"]]
    return response


def _split_command(command: str) -> tuple[str, str]:
    """ExecuteCommand: the trigger is up to the first white space, the text what follows that one character."""
    found = _WHITESPACE.search(command)
    if found is None:
        return command.lower(), ""
    return command[:found.start()].lower(), command[found.start() + 1:]


async def execute_command(request: Request) -> JSONResponse:
    session = require_session(request)
    body = await json_body(request, "command_args")
    if not isinstance(body, dict):
        raise errors.invalid_param("command_args")
    command, channel_id = body.get("command"), body.get("channel_id")
    root_id = body.get("root_id") if isinstance(body.get("root_id"), str) else ""
    if not isinstance(command, str) or len(command) <= 1 or not command.startswith("/") or \
            not isinstance(channel_id, str) or not valid_id(channel_id):
        raise errors.AppError("api.command.execute_command.start.app_error", "No command trigger found.", 400)
    store = messaging(request)
    # create_post in the channel: members (and admins) only.
    if not session.is_admin and store.member(channel_id, session.account.id) is None:
        raise errors.permission_denied()
    channel = store.channel(channel_id)
    if channel is None:
        raise errors.AppError("app.channel.get.existing.app_error", "Unable to find the existing channel.", 404)
    if channel.delete_at:
        raise errors.AppError("api.command.execute_command.deleted.error", "Cannot execute command in archived "
                              "channel.", 400)
    team_id = channel.team_id if channel.type in (OPEN, PRIVATE) else str(body.get("team_id") or "")
    trigger, text = _split_command(command)
    trigger = trigger.removeprefix("/")
    sim = state(request)
    client_trigger_id, trigger_id = sim.trigger_ids.generate(session.account.id)
    if not _enabled(request):
        raise _disabled()
    team = team_of(request, team_id)
    if team is None:
        raise errors.AppError("app.team.get.find.app_error", "Unable to find the existing team.", 404)
    found = next((c for c in store.commands(team_id) if c.trigger == trigger), None)
    if found is None:
        raise errors.AppError("api.command.execute_command.not_found.app_error",
                              f"Command with a trigger of '{trigger[:512]}' not found.", 404)
    site_url = str(sim.config["ServiceSettings"].get("SiteURL") or "")
    if not site_url:
        raise errors.AppError("api.command.execute_command.site_url_required.app_error", "Site URL is required for "
                              "slash commands.", 400)
    form = {
        "token": found.token, "team_id": found.team_id, "team_domain": team.name, "channel_id": channel.id,
        "channel_name": channel.name, "user_id": session.account.id, "user_name": session.account.username,
        "command": "/" + trigger, "text": text, "trigger_id": trigger_id, "root_id": root_id,
        # CreateCommandWebhook's hook; the simulator does not serve /hooks/commands/{id}.
        "response_url": f"{site_url.rstrip('/')}/hooks/commands/{client_trigger_id}",
    }
    response = await _do_command_request(request, found, urlencode(sorted(form.items())))
    response["trigger_id"] = client_trigger_id
    args = {"channel_id": channel.id, "root_id": root_id, "user_id": session.account.id}
    failed = False
    for each in [response, *(response["extra_responses"] or [])]:
        failed = not _response_post(request, session, found, args, each) or failed
    if failed:
        raise errors.AppError("api.command.execute_command.create_post_failed.app_error",
                              f"Command '{trigger}' failed to post response. Please contact your System "
                              "Administrator.", 500)
    return JSONResponse(response)


async def _do_command_request(request: Request, command: Command, form: str) -> dict[str, Any]:
    """app.DoCommandRequest: POST the form (or GET with it as the query), the token as `Authorization: Token`."""
    try:
        check_outgoing_url(command.url)
    except errors.AppError:
        raise _failed(command.trigger) from None
    try:
        answer = await post_to_integration(
            request, command.url, content=form, content_type="application/x-www-form-urlencoded",
            extra_headers={"Authorization": f"Token {command.token}"},
            method="GET" if command.method == "G" else "POST", params=form)
    except httpx.HTTPError:
        raise _failed(command.trigger) from None
    if answer.status_code != 200:
        raise _failed(command.trigger, "failed_resp")
    media_type = answer.headers.get("content-type", "").split(";")[0].strip()
    if media_type != "application/json":
        return _command_response({"text": answer.text}, command.trigger)  # CommandResponseFromPlainText
    try:
        decoded = json.loads(answer.content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _failed(command.trigger) from None
    if decoded is None:
        raise _failed(command.trigger, "failed_empty")
    return _command_response(decoded, command.trigger)


def _response_post(request: Request, session: Session, command: Command, args: dict[str, str],
                   response: dict[str, Any]) -> bool:
    """HandleCommandResponsePost + CreateCommandPost for a custom command; False where upstream errs."""
    store = messaging(request)
    service = state(request).config["ServiceSettings"]
    channel_id = args["channel_id"]
    if response["channel_id"]:
        if store.member(response["channel_id"], session.account.id) is None:
            return False  # api.command.command_post.forbidden.app_error
        channel_id = response["channel_id"]
    props = dict(response["props"] or {})
    if service.get("EnablePostUsernameOverride") and (command.username or response["username"]):
        props["override_username"] = command.username or response["username"]
    if service.get("EnablePostIconOverride") and (command.icon_url or response["icon_url"]):
        props["override_icon_url"] = command.icon_url or response["icon_url"]
    props["from_webhook"] = "true"  # a custom command's answer is a bot post
    text = response["text"] if response["skip_slack_parsing"] else parse_slack_links(response["text"])
    post_type = response["type"]
    if post_type.startswith("system_"):
        return False  # api.context.invalid_param.app_error (post.type)
    if response["attachments"] is not None:
        props["attachments"] = response["attachments"]
        post_type = "slack_attachment"
    if response["response_type"] == "in_channel":
        try:
            store.create_post(channel_id=channel_id, user_id=session.account.id, message=text,
                              root_id=args["root_id"], type=post_type, props=props)
        except MessagingError:  # an archived channel, an unknown root
            return False
        return True
    if response["response_type"] in ("", "ephemeral") and (text or response["attachments"] is not None):
        store.send_ephemeral(session.account.id, channel_id=channel_id, message=text, root_id=args["root_id"],
                             props=props)
    return True


ROUTES = [
    Route("/api/v4/commands", create_command, methods=["POST"]),
    Route("/api/v4/commands", list_commands, methods=["GET"]),
    Route("/api/v4/commands/execute", execute_command, methods=["POST"]),
]
