"""Interactive messages and dialogs: POST /posts/{post_id}/actions/{action_id}, /actions/dialogs/open and /submit.

Follows server/channels/api4/integration_action.go (doPostAction, openDialog, submitDialog) and
server/channels/app/integration_action.go (DoPostActionWithCookie, DoActionRequest, OpenInteractiveDialog,
SubmitInteractiveDialog), with the shapes of server/public/model/integration_action.go:

* a click sends the integration a PostActionIntegrationRequest (JSON, with a signed trigger id) and applies its
  PostActionIntegrationResponse: `update` replaces the post (its id forced to the clicked post's; props kept when
  the update has none, otherwise from_webhook / override_username / override_icon_url carried over; is_pinned
  kept), `ephemeral_text` becomes an ephemeral post for the clicking user;
* opening a dialog verifies the trigger id and delivers the OpenDialogRequest (trigger id replaced by the client
  trigger id) to the trigger id's user: the simulator records what the open_dialog websocket event would carry;
* a submission is sent to the dialog's URL as a SubmitDialogRequest and the integration's SubmitDialogResponse is
  answered back.

Not simulated: action cookies (the simulator issues none, so a request with a cookie fails to decrypt, as a
cookie from another server would), plugin (`/plugins/...`, `rpc://`) integration URLs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulator import errors
from simulator.api.channels import can_read, channel_not_found, messaging, path_id
from simulator.api.common import json_body, state
from simulator.api.posts import post_not_found
from simulator.auth import Session, require_session
from simulator.ids import valid_id
from simulator.messaging import ChannelArchived, Post, PostDeleted, UnknownPost, post_action
from simulator.model import Team
from simulator.threaded_server import is_loopback

log = logging.getLogger("simulator.integrations")

# model.PostActionRetainPropKeys: carried over from the clicked post into an update that brings its own props.
RETAIN_PROP_KEYS = ("from_webhook", "override_username", "override_icon_url")
_SLACK_LINK = re.compile(r"<([^|<>]+)\|([^|<>]+)>")  # model.ParseSlackLinksToMarkdown


def action_integration_error() -> errors.AppError:
    return errors.AppError("api.post.do_action.action_integration.app_error", "Action integration error.", 400)


def parse_slack_links(text: str) -> str:
    """model.ParseSlackLinksToMarkdown: <url|text> becomes [text](url)."""
    return _SLACK_LINK.sub(r"[\2](\1)", text)


def team_of(request: Request, team_id: str) -> Team | None:
    return next((t for t in state(request).scenario.teams if t.id == team_id), None)


# ----------------------------------------------------------------------------------- outgoing requests

def check_outgoing_url(url: str) -> None:
    """Where the simulator may send a request for an integration.

    Upstream's HTTPService client refuses loopback, private and link-local addresses unless
    ServiceSettings.AllowedUntrustedInternalConnections lists them, and reaches anything else. The simulator is a
    test double serving on loopback whose integrations are test servers on loopback, so it turns this around: it
    calls loopback hosts only (as if AllowedUntrustedInternalConnections held 127.0.0.1, ::1 and localhost) and
    never leaves the machine. A refused URL fails as a blocked address does upstream."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or not is_loopback(parts.hostname):
        raise action_integration_error()


async def post_to_integration(request: Request, url: str, *, content: bytes | str, content_type: str,
                              extra_headers: dict[str, str] | None = None, method: str = "POST",
                              params: str = "") -> httpx.Response:
    """One outgoing request with ServiceSettings.OutgoingIntegrationRequestsTimeout, on the event loop (async).
    Transport failures and timeouts raise httpx.HTTPError for the caller to turn into its upstream error."""
    sim = state(request)
    headers = {"Accept": "application/json", **(extra_headers or {})}
    if method == "POST":
        headers["Content-Type"] = content_type
    insecure = bool(sim.config["ServiceSettings"].get("EnableInsecureOutgoingConnections"))
    client = _outgoing_client(sim, insecure)
    timeout = httpx.Timeout(sim.outgoing_timeout_s())
    if method == "GET":
        target = url + (("&" if urlsplit(url).query else "?") + params if params else "")
        return await client.get(target, headers=headers, timeout=timeout)
    return await client.post(url, content=content, headers=headers, timeout=timeout)


def _outgoing_client(sim: Any, insecure: bool) -> httpx.AsyncClient:
    """One client per event loop and TLS choice, kept, as Mattermost keeps its HTTP service's client: a new one
    per call would build a TLS context (the CA bundle read again) for every click."""
    key = (id(asyncio.get_running_loop()), insecure)
    client = sim.outgoing_clients.get(key)
    if client is None:
        client = httpx.AsyncClient(verify=not insecure, trust_env=False, follow_redirects=True)
        sim.outgoing_clients[key] = client
    return client


async def do_action_request(request: Request, url: str, body: dict[str, Any]) -> bytes:
    """app.DoActionRequest: POST the JSON; anything but a 200 is api.post.do_action.action_integration.app_error."""
    if url.startswith(("/plugins/", "plugins/", "rpc://")):
        raise action_integration_error()  # plugin integrations are not simulated
    check_outgoing_url(url)
    try:
        response = await post_to_integration(request, url, content=json.dumps(body), content_type="application/json")
    except httpx.HTTPError:
        raise action_integration_error() from None
    if response.status_code != 200:
        raise action_integration_error()
    return response.content


# ---------------------------------------------------------------------------------------- post actions

def _can_read_channel_by_post(request: Request, session: Session, post: Post | None) -> bool:
    """SessionHasPermissionToChannelByPost(read_channel_content): the post's channel is found even for a deleted
    post; an unknown post passes for system admins only (who hold every permission)."""
    if post is None:
        return session.is_admin
    channel = messaging(request).channel(post.channel_id)
    if channel is None:
        return session.is_admin
    return can_read(request, session, channel)


async def do_post_action(request: Request) -> JSONResponse:
    session = require_session(request)
    post_id = path_id(request, "post_id")
    action_id = request.path_params["action_id"]
    if not re.fullmatch(r"[A-Za-z0-9]+", action_id):
        raise errors.not_found()  # the route's {action_id:[A-Za-z0-9]+}
    try:  # doPostAction only logs a body that does not decode
        body = json.loads(await request.body() or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = {}
    body = body if isinstance(body, dict) else {}
    selected_option = body.get("selected_option") if isinstance(body.get("selected_option"), str) else ""
    store = messaging(request)
    post = store.post(post_id)
    if body.get("cookie"):
        raise action_integration_error()  # DecryptPostActionCookie fails: the simulator issues no cookies
    if not _can_read_channel_by_post(request, session, post):
        raise errors.permission_denied()
    if post is None or post.delete_at:
        raise post_not_found()
    channel = store.channel(post.channel_id)
    if channel is None:
        raise errors.AppError("app.channel.get_for_post.app_error", "Unable to get the channel for the post.", 500)
    action = post_action(post, action_id)
    integration = action.get("integration") if action is not None else None
    if not isinstance(integration, dict):
        raise errors.AppError("api.post.do_action.action_id.app_error", "Invalid action id.", 404)
    team = team_of(request, channel.team_id)
    context = dict(integration["context"]) if isinstance(integration.get("context"), dict) else None
    action_type = str(action.get("type") or "") if action is not None else ""
    data_source = ""
    if action_type == "select" and selected_option:
        context = context if context is not None else {}
        data_source = str(action.get("data_source") or "") if action is not None else ""
        context["selected_option"] = selected_option
    client_trigger_id, trigger_id = state(request).trigger_ids.generate(session.account.id)
    upstream: dict[str, Any] = {
        "user_id": session.account.id, "user_name": session.account.username, "channel_id": post.channel_id,
        "channel_name": channel.name, "team_id": channel.team_id, "team_domain": team.name if team else "",
        "post_id": post.id, "trigger_id": trigger_id, "type": action_type, "data_source": data_source,
    }
    if context:
        upstream["context"] = context  # `context,omitempty`
    raw = await do_action_request(request, str(integration.get("url") or ""), upstream)
    response = _action_response(raw)
    retain = {key: post.props[key] for key in RETAIN_PROP_KEYS if key in post.props}
    update = response.get("update")
    if isinstance(update, dict):
        _apply_update(request, post, update, retain)
    ephemeral_text = response.get("ephemeral_text") or ""
    if ephemeral_text:
        message = ephemeral_text if response.get("skip_slack_parsing") else parse_slack_links(ephemeral_text)
        store.send_ephemeral(session.account.id, channel_id=post.channel_id, message=message,
                             root_id=post.root_id or post.id, props=retain)
    return JSONResponse({"status": "OK", "trigger_id": client_trigger_id})


def _action_response(raw: bytes) -> dict[str, Any]:
    """PostActionIntegrationResponse from the integration's body; an empty body is an empty response."""
    if not raw.strip():
        return {}
    try:
        response = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise action_integration_error() from None
    if response is None:
        return {}
    if not isinstance(response, dict):
        raise action_integration_error()
    update, text = response.get("update"), response.get("ephemeral_text")
    if update is not None and not isinstance(update, dict):
        raise action_integration_error()
    if text is not None and not isinstance(text, str):
        raise action_integration_error()
    if isinstance(update, dict):
        for name, kind in (("message", str), ("props", dict), ("file_ids", list)):
            if update.get(name) is not None and not isinstance(update[name], kind):
                raise action_integration_error()
    return response


def _apply_update(request: Request, post: Post, update: dict[str, Any], retain: dict[str, Any]) -> None:
    """The `update` half of DoPostActionWithCookie, then app.UpdatePost (not a safe update)."""
    props = update.get("props")
    if props is None:
        props = post.props
    else:
        props = {k: v for k, v in props.items() if k not in RETAIN_PROP_KEYS}
        props.update(retain)
    try:
        messaging(request).update_post(post.id, message=update.get("message") or "", props=props,
                                       is_pinned=post.is_pinned, file_ids=update.get("file_ids") or [])
    except ChannelArchived:
        raise errors.AppError("api.post.update_post.can_not_update_post_in_deleted.error",
                              "Can not update a post in a deleted channel.", 400) from None
    except (PostDeleted, UnknownPost):
        raise errors.AppError("api.post.update_post.permissions_details.app_error",
                              f"Already deleted id={post.id}", 400) from None


# -------------------------------------------------------------------------------------------- dialogs

# Field name -> (JSON type, zero value, omitempty) of model.Dialog, model.DialogElement and the requests, so the
# simulator decodes and re-encodes them as Go's encoding/json does: unknown fields dropped, missing ones zero.
_DIALOG_FIELDS: dict[str, tuple[type | tuple[type, ...], Any, bool]] = {
    "callback_id": (str, "", False), "title": (str, "", False), "introduction_text": (str, "", False),
    "icon_url": (str, "", False), "elements": (list, None, False), "submit_label": (str, "", False),
    "notify_on_cancel": (bool, False, False), "state": (str, "", False), "source_url": (str, "", True),
}
_ELEMENT_FIELDS: dict[str, tuple[type | tuple[type, ...], Any, bool]] = {
    "display_name": (str, "", False), "name": (str, "", False), "type": (str, "", False),
    "subtype": (str, "", False), "default": (str, "", False), "placeholder": (str, "", False),
    "help_text": (str, "", False), "optional": (bool, False, False), "min_length": (int, 0, False),
    "max_length": (int, 0, False), "data_source": (str, "", False), "data_source_url": (str, "", True),
    "options": (list, None, False), "multiselect": (bool, False, False), "refresh": (bool, False, True),
    "min_date": (str, "", True), "max_date": (str, "", True), "time_interval": (int, 0, True),
}


def _decode(value: Any, fields: dict[str, tuple[type | tuple[type, ...], Any, bool]], name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise errors.invalid_param(name)
    decoded: dict[str, Any] = {}
    for key, (kind, zero, omitempty) in fields.items():
        got = value.get(key)
        if got is None:
            got = zero
        elif not isinstance(got, kind) or (kind is int and isinstance(got, bool)):
            raise errors.invalid_param(name)
        if omitempty and not got:
            continue
        decoded[key] = got
    return decoded


def _decode_dialog(value: Any) -> dict[str, Any]:
    dialog = _decode(value if value is not None else {}, _DIALOG_FIELDS, "dialog")
    if dialog["elements"] is not None:
        elements = []
        for element in dialog["elements"]:
            decoded = _decode(element, _ELEMENT_FIELDS, "dialog")
            if decoded["options"] is not None:
                decoded["options"] = [_decode_option(o) for o in decoded["options"]]
            elements.append(decoded)
        dialog["elements"] = elements
    return dialog


def _decode_option(option: Any) -> dict[str, str] | None:
    if option is None:
        return None
    if not isinstance(option, dict) or not all(isinstance(option.get(k, ""), str) for k in ("text", "value")):
        raise errors.invalid_param("dialog")
    return {"text": option.get("text", ""), "value": option.get("value", "")}


def dialog_problems(request: dict[str, Any]) -> list[str]:
    """model.OpenDialogRequest.IsValid, Dialog.IsValid and DialogElement.IsValid (the main rules): what upstream's
    OpenInteractiveDialog logs as a warning before delivering the dialog anyway."""
    problems = []
    if not request["url"]:
        problems.append("empty URL")
    if not request["trigger_id"]:
        problems.append("empty trigger id")
    dialog = request["dialog"]
    if not dialog["title"] or len(dialog["title"].encode()) > 24:
        problems.append(f"invalid dialog title {dialog['title']!r}")
    if dialog["icon_url"] and not dialog["icon_url"].startswith(("http://", "https://")):
        problems.append("invalid icon url")
    seen: set[str] = set()
    for element in dialog["elements"] or []:
        name = element["name"]
        if name in seen:
            problems.append(f"duplicate dialog element {name!r}")
        seen.add(name)
        problems.extend(f"{name!r} field is not valid: {p}" for p in _element_problems(element))
    return problems


_LIMITS = {"text": 150, "textarea": 3000, "select": 3000, "date": 150, "datetime": 150}
_TEXT_SUBTYPES = {"", "text", "email", "number", "tel", "url", "password"}


def _element_problems(e: dict[str, Any]) -> list[str]:
    problems = []
    if e["min_length"] < 0:
        problems.append("min length cannot be a negative number")
    if e["min_length"] > e["max_length"]:
        problems.append("min length should be less then max length")
    for field, limit in (("display_name", 24), ("name", 300), ("help_text", 150)):
        if field != "help_text" and not e[field]:
            problems.append(f"{field} cannot be empty")
        if len(e[field].encode()) > limit:
            problems.append(f"{field} cannot be longer than {limit} characters")
    if e["multiselect"] and e["type"] != "select":
        problems.append("multiselect can only be used with select elements")
    kind = e["type"]
    if kind in _LIMITS:
        for field in ("default", "placeholder"):
            if len(e[field].encode()) > _LIMITS[kind]:
                problems.append(f"{field} cannot be longer than {_LIMITS[kind]} characters")
    if kind in ("text", "textarea") and e["subtype"] not in _TEXT_SUBTYPES:
        problems.append(f"invalid subtype {e['subtype']!r}")
    values = {o["value"] for o in e["options"] or [] if o}
    if kind == "select":
        if e["data_source"] not in ("", "users", "channels", "dynamic"):
            problems.append(f"invalid data source {e['data_source']!r}")
        if e["data_source"] == "dynamic" and not e.get("data_source_url"):
            problems.append("dynamic data_source requires data_source_url")
        if not e["data_source"] and e["default"]:
            defaults = e["default"].replace(" ", "").split(",") if e["multiselect"] else [e["default"]]
            if any(d and d not in values for d in defaults):
                problems.append(f"default value {e['default']!r} doesn't exist in options")
    elif kind == "bool":
        if e["default"] not in ("", "true", "false"):
            problems.append("invalid default of bool")
        if len(e["placeholder"].encode()) > 150:
            problems.append("placeholder cannot be longer than 150 characters")
    elif kind == "radio":
        if e["default"] and e["default"] not in values:
            problems.append(f"default value {e['default']!r} doesn't exist in options")
    elif kind not in _LIMITS:
        problems.append(f"invalid element type: {kind!r}")
    return problems


async def open_dialog(request: Request) -> JSONResponse:
    """openDialog (no session needed: the trigger id is the credential) and app.OpenInteractiveDialog."""
    body = await json_body(request, "dialog")
    if not isinstance(body, dict):
        raise errors.invalid_param("dialog")
    trigger_id, url = body.get("trigger_id"), body.get("url")
    if not isinstance(trigger_id, str | None) or not isinstance(url, str | None):
        raise errors.invalid_param("dialog")
    dialog_request = {"trigger_id": trigger_id or "", "url": url or "", "dialog": _decode_dialog(body.get("dialog"))}
    if not dialog_request["url"]:
        raise errors.invalid_param("url")
    sim = state(request)
    client_trigger_id, user_id = sim.trigger_ids.verify(dialog_request["trigger_id"], sim.outgoing_timeout_s())
    problems = dialog_problems(dialog_request)
    if problems:
        log.warning("Interactive dialog is invalid: %s", "; ".join(problems))  # upstream logs and goes on
    dialog_request["trigger_id"] = client_trigger_id
    messaging(request).open_dialog(user_id, dialog_request)
    return JSONResponse({"status": "OK"})


async def submit_dialog(request: Request) -> JSONResponse:
    """submitDialog and app.SubmitInteractiveDialog: the user comes from the session, the channel must be
    readable and the team viewable; the integration's SubmitDialogResponse is the answer ({} when empty)."""
    session = require_session(request)
    body = await json_body(request, "dialog")
    if not isinstance(body, dict):
        raise errors.invalid_param("dialog")
    fields = {"type": str, "url": str, "callback_id": str, "state": str, "channel_id": str, "team_id": str,
              "submission": dict, "cancelled": bool}
    for name, kind in fields.items():
        if body.get(name) is not None and not isinstance(body[name], kind):
            raise errors.invalid_param("dialog")
    url = body.get("url") or ""
    if not url:
        raise errors.invalid_param("url")
    channel_id, team_id = body.get("channel_id") or "", body.get("team_id") or ""
    channel = messaging(request).channel(channel_id) if valid_id(channel_id) else None
    if channel is None:
        raise channel_not_found()
    if not can_read(request, session, channel):
        raise errors.permission_denied()
    if not session.is_admin and messaging(request).team_member(team_id, session.account.id) is None:
        raise errors.permission_denied()  # view_team
    submission = {
        "type": "dialog_submission", "callback_id": body.get("callback_id") or "", "state": body.get("state") or "",
        "user_id": session.account.id, "channel_id": channel_id, "team_id": team_id,
        "submission": body.get("submission"), "cancelled": bool(body.get("cancelled")),
    }
    raw = await do_action_request(request, url, submission)
    try:  # "Don't fail, an empty response is acceptable"
        decoded = json.loads(raw) if raw.strip() else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        decoded = {}
    return JSONResponse(_submit_response(decoded if isinstance(decoded, dict) else {}))


def _submit_response(decoded: dict[str, Any]) -> dict[str, Any]:
    """model.SubmitDialogResponse re-encoded: error, errors, type and form, each omitted when empty."""
    answer: dict[str, Any] = {}
    if isinstance(decoded.get("error"), str) and decoded["error"]:
        answer["error"] = decoded["error"]
    found = decoded.get("errors")
    if isinstance(found, dict) and found:
        answer["errors"] = {str(k): v for k, v in found.items() if isinstance(v, str)}
    if isinstance(decoded.get("type"), str) and decoded["type"]:
        answer["type"] = decoded["type"]
    if isinstance(decoded.get("form"), dict):
        with contextlib.suppress(errors.AppError):  # a form that does not decode is left out
            answer["form"] = _decode_dialog(decoded["form"])
    return answer


ROUTES = [
    Route("/api/v4/posts/{post_id}/actions/{action_id}", do_post_action, methods=["POST"]),
    Route("/api/v4/actions/dialogs/open", open_dialog, methods=["POST"]),
    Route("/api/v4/actions/dialogs/submit", submit_dialog, methods=["POST"]),
]
