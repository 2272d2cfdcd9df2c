"""Incoming webhooks: POST /api/v4/hooks/incoming creates one, POST /hooks/{id} posts through it.

Follows server/channels/api4/webhook.go (createIncomingHook), server/channels/web/webhook.go (incomingWebhook:
a JSON body, or the form field `payload`; the answer is "ok" as text/plain) and app/webhook.go
(HandleIncomingWebhook, CreateWebhookPost: the post is the hook creator's, with `from_webhook: "true"` and the
hook's display name in its props, split into several posts when the text is longer than one post may be).
Direct messages through a hook (`"channel": "@user"`) are not simulated.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulator import errors
from simulator.api.channels import can_read, channel_not_found, messaging
from simulator.api.common import state
from simulator.api.posts import MESSAGE_MAX_RUNES
from simulator.auth import Session, require_session
from simulator.ids import valid_id
from simulator.messaging import OPEN, Channel, ChannelArchived, IncomingHook

DISPLAY_NAME_MAX = 64  # model.IncomingWebhook.IsValid
DESCRIPTION_MAX = 500
_HOOK_ID = re.compile(r"^[A-Za-z0-9]+$")  # the route's {id:[A-Za-z0-9]+}
# Props a caller may not set: the server sets them itself (CreateWebhookPost skips them in the request's props).
_RESERVED_PROPS = {"override_icon_url", "override_username", "from_webhook", "attachments"}


def hook_json(h: IncomingHook) -> dict[str, Any]:
    return {
        "id": h.id, "create_at": h.create_at, "update_at": h.update_at, "delete_at": h.delete_at,
        "user_id": h.user_id, "channel_id": h.channel_id, "team_id": h.team_id, "display_name": h.display_name,
        "description": h.description, "username": h.username, "icon_url": h.icon_url,
        "channel_locked": h.channel_locked, "webhook_schema_translation": None,
    }


def _enabled(request: Request) -> bool:
    return bool(state(request).config["ServiceSettings"]["EnableIncomingWebhooks"])


def _may_manage_hooks(request: Request, session: Session, team_id: str) -> bool:
    """manage_own_incoming_webhooks: system admins and team admins in the default scheme."""
    if session.is_admin:
        return True
    membership = messaging(request).team_member(team_id, session.account.id)
    return membership is not None and membership.scheme_admin


# ------------------------------------------------------------------------------------------- create a hook

async def create_incoming_hook(request: Request) -> JSONResponse:
    session = require_session(request)
    try:
        body = json.loads(await request.body() or b"null")
    except json.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        raise errors.invalid_param("incoming_webhook")
    channel_id = body.get("channel_id", "")
    channel = messaging(request).channel(channel_id) if isinstance(channel_id, str) and valid_id(channel_id) else None
    if channel is None:
        raise channel_not_found()
    if not _may_manage_hooks(request, session, channel.team_id):
        raise errors.permission_denied()
    if channel.type != OPEN and not can_read(request, session, channel):
        raise errors.permission_denied()
    if not _enabled(request):
        raise errors.AppError("api.incoming_webhook.disabled.app_error",
                              "Incoming webhooks have been disabled by the system admin.", 501)
    fields = {name: body.get(name) or "" for name in ("display_name", "description", "username", "icon_url")}
    if not all(isinstance(value, str) for value in fields.values()):
        raise errors.invalid_param("incoming_webhook")
    if len(fields["display_name"]) > DISPLAY_NAME_MAX:
        raise errors.AppError("model.incoming_hook.display_name.app_error", "Invalid display name.", 400)
    if len(fields["description"]) > DESCRIPTION_MAX:
        raise errors.AppError("model.incoming_hook.description.app_error", "Invalid description.", 400)
    service = state(request).config["ServiceSettings"]
    # CreateIncomingWebhookForChannel drops overrides the server does not allow.
    username = fields["username"] if service.get("EnablePostUsernameOverride") else ""
    icon_url = fields["icon_url"] if service.get("EnablePostIconOverride") else ""
    # Only holders of bypass_incoming_webhook_channel_lock (admins) may leave a hook unlocked.
    locked = bool(body.get("channel_locked")) or not session.is_admin
    hook = messaging(request).create_incoming_hook(
        channel_id=channel.id, user_id=session.account.id, display_name=fields["display_name"],
        description=fields["description"], username=username, icon_url=icon_url, channel_locked=locked)
    return JSONResponse(hook_json(hook), status_code=201)


# ---------------------------------------------------------------------------------------- post via a hook

async def _payload(request: Request) -> Any:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if media_type == "application/x-www-form-urlencoded":
        raw = (parse_qs(raw.decode("utf-8", "replace")).get("payload") or [""])[0].encode()
    try:
        return json.loads(raw or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise errors.AppError("model.incoming_hook.parse_data.app_error", "Unable to parse incoming data.",
                              400) from None


def _target_channel(request: Request, hook: IncomingHook, name: str) -> Channel:
    store = messaging(request)
    if not name:
        channel = store.channel(hook.channel_id)
        if channel is None:
            raise channel_not_found()
        return channel
    if name.startswith("@"):
        raise errors.AppError("web.incoming_webhook.user.app_error", "Couldn't find the user.", 400)
    channel = store.channel_by_name(hook.team_id, name.removeprefix("#"))
    if channel is None:
        raise errors.AppError("web.incoming_webhook.channel.app_error", "Couldn't find the channel.", 404)
    return channel


def _split(text: str) -> list[str]:
    """splitWebhookPost: a text longer than one post may be becomes several posts, in order."""
    if len(text) <= MESSAGE_MAX_RUNES:
        return [text]
    return [text[start:start + MESSAGE_MAX_RUNES] for start in range(0, len(text), MESSAGE_MAX_RUNES)]


async def incoming_webhook(request: Request) -> Response:
    hook_id = request.path_params["hook_id"]
    if not _HOOK_ID.match(hook_id):
        raise errors.not_found()
    payload = await _payload(request)
    if not _enabled(request):
        raise errors.AppError("web.incoming_webhook.disabled.app_error",
                              "Incoming webhooks have been disabled by the system admin.", 501)
    if not isinstance(payload, dict):
        raise errors.AppError("web.incoming_webhook.parse.app_error", "Unable to parse incoming data.", 400)
    text, attachments = payload.get("text") or "", payload.get("attachments")
    props = payload.get("props") or {}
    if not isinstance(text, str) or not isinstance(props, dict):
        raise errors.AppError("model.incoming_hook.parse_data.app_error", "Unable to parse incoming data.", 400)
    if not text and attachments is None:
        raise errors.AppError("web.incoming_webhook.text.app_error", "No text specified.", 400)
    hook = messaging(request).incoming_hook(hook_id)
    if hook is None:
        raise errors.AppError("web.incoming_webhook.invalid.app_error", "Invalid webhook.", 400)
    channel_name = payload.get("channel") or ""
    channel = _target_channel(request, hook, channel_name if isinstance(channel_name, str) else "")
    if hook.channel_locked and channel.id != hook.channel_id:
        raise errors.AppError("web.incoming_webhook.channel_locked.app_error",
                              "This webhook is not permitted to post to the requested channel.", 403)
    if channel.type != OPEN and messaging(request).member(channel.id, hook.user_id) is None:
        raise errors.AppError("web.incoming_webhook.permissions.app_error", "Inappropriate channel permissions.",
                              403)
    post_props = {key: value for key, value in props.items() if key not in _RESERVED_PROPS}
    post_props.update(from_webhook="true", webhook_display_name=hook.display_name)
    post_type = payload.get("type") or ""
    if attachments:
        post_props["attachments"], post_type = attachments, "slack_attachment"
    try:
        for part in _split(text):
            messaging(request).create_post(channel_id=channel.id, user_id=hook.user_id, message=part,
                                           type=str(post_type), props=post_props)
    except ChannelArchived:
        # CreateWebhookPost wraps whatever CreatePost refused in one error of its own.
        raise errors.AppError("api.post.create_webhook_post.creating.app_error", "Error creating post.",
                              500) from None
    # Exactly "text/plain", without the charset Starlette would add.
    return Response(b"ok", headers={"Content-Type": "text/plain"})


ROUTES = [
    Route("/api/v4/hooks/incoming", create_incoming_hook, methods=["POST"]),
    Route("/hooks/{hook_id}", incoming_webhook, methods=["POST"]),
]
