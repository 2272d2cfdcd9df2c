"""Channels and memberships (/channels, /teams/{team_id}/channels), and the team lookups they rely on.

Permissions follow Mattermost's default scheme: team members may read and join public channels, channel
members manage a channel's membership and may archive it, private channels are for their members, and system
admins may do everything. Where the real server checks a permission before looking a channel up, an unknown
channel answers 403 to a plain user (nothing grants a permission on it) and 404 to an admin.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulator import errors
from simulator.api.common import json_body, page_of, paging, query_bool, state
from simulator.api.teams import team_json
from simulator.auth import Session, require_session
from simulator.ids import valid_id
from simulator.messaging import (
    DEFAULT_CHANNEL,
    OPEN,
    PRIVATE,
    Channel,
    ChannelArchived,
    ChannelMember,
    Messaging,
    NameTaken,
    TeamMember,
    valid_channel_name,
)
from simulator.model import Team

DISPLAY_NAME_MAX = 64
PURPOSE_MAX = 250
HEADER_MAX = 1024
_STATUS_OK = {"status": "OK"}
_CHANNEL_NOTIFY_PROPS = {"desktop": "default", "email": "default", "ignore_channel_mentions": "default",
                         "mark_unread": "all", "push": "default"}


# ----------------------------------------------------------------------------------------------- errors

def channel_not_found() -> errors.AppError:
    return errors.AppError("app.channel.get.existing.app_error", "Unable to find the existing channel.", 404)


def channel_name_not_found() -> errors.AppError:
    return errors.AppError("app.channel.get_by_name.missing.app_error", "Channel does not exist.", 404)


def channel_exists() -> errors.AppError:
    return errors.AppError("store.sql_channel.save_channel.exists.app_error",
                           "A channel with that name already exists on the same team.", 400)


def channel_archived() -> errors.AppError:
    return errors.AppError("api.channel.delete_channel.deleted.app_error",
                           "The channel has been archived or deleted.", 400)


def _invalid(field: str, message: str) -> errors.AppError:
    return errors.AppError(f"model.channel.is_valid.{field}.app_error", message, 400)


def team_not_found() -> errors.AppError:
    return errors.AppError("app.team.get.find.app_error", "Unable to find the existing team.", 404)


# ------------------------------------------------------------------------------------------------ shapes

def channel_json(c: Channel) -> dict[str, Any]:
    return {
        "id": c.id, "create_at": c.create_at, "update_at": c.update_at, "delete_at": c.delete_at,
        "team_id": c.team_id, "type": c.type, "display_name": c.display_name, "name": c.name, "header": c.header,
        "purpose": c.purpose, "last_post_at": c.last_post_at, "total_msg_count": c.total_msg_count,
        "extra_update_at": 0, "creator_id": c.creator_id, "scheme_id": None, "props": None,
        "group_constrained": None, "shared": None, "total_msg_count_root": c.total_msg_count_root,
        "policy_id": None, "last_root_post_at": c.last_root_post_at,
    }


def channel_member_json(m: ChannelMember) -> dict[str, Any]:
    return {
        "channel_id": m.channel_id, "user_id": m.user_id,
        "roles": "channel_user channel_admin" if m.scheme_admin else "channel_user",
        "last_viewed_at": m.last_viewed_at, "msg_count": 0, "mention_count": 0, "mention_count_root": 0,
        "urgent_mention_count": 0, "msg_count_root": 0, "notify_props": dict(_CHANNEL_NOTIFY_PROPS),
        "last_update_at": m.last_update_at, "scheme_guest": False, "scheme_user": True,
        "scheme_admin": m.scheme_admin, "explicit_roles": "",
    }


def team_member_json(m: TeamMember) -> dict[str, Any]:
    return {
        "team_id": m.team_id, "user_id": m.user_id, "roles": "team_user team_admin" if m.scheme_admin else "team_user",
        "delete_at": 0, "scheme_guest": False, "scheme_user": True, "scheme_admin": m.scheme_admin,
        "explicit_roles": "", "create_at": m.create_at,
    }


# ----------------------------------------------------------------------------------------------- helpers

def messaging(request: Request) -> Messaging:
    return state(request).messaging


def path_id(request: Request, name: str) -> str:
    value = request.path_params[name]
    if not valid_id(value):
        raise errors.invalid_url_param(name)
    return value


def is_team_member(request: Request, session: Session, team_id: str) -> bool:
    return messaging(request).team_member(team_id, session.account.id) is not None


def can_read(request: Request, session: Session, channel: Channel) -> bool:
    """read_channel: members of the channel, team members for open channels, and admins."""
    if session.is_admin or messaging(request).member(channel.id, session.account.id) is not None:
        return True
    return channel.type == OPEN and is_team_member(request, session, channel.team_id)


def readable_channel(request: Request, session: Session) -> Channel:
    """The channel of the path, for a caller allowed to read it."""
    channel = messaging(request).channel(path_id(request, "channel_id"))
    if channel is None:
        raise channel_not_found() if session.is_admin else errors.permission_denied()
    if not can_read(request, session, channel):
        raise errors.permission_denied()
    return channel


def _existing_channel(request: Request) -> Channel:
    channel = messaging(request).channel(path_id(request, "channel_id"))
    if channel is None:
        raise channel_not_found()
    return channel


def _can_manage_members(request: Request, session: Session, channel: Channel) -> bool:
    return session.is_admin or messaging(request).member(channel.id, session.account.id) is not None


def _team(request: Request, team_id: str) -> Team | None:
    return next((t for t in state(request).scenario.teams if t.id == team_id), None)


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key, "")
    if not isinstance(value, str):
        raise errors.invalid_param(key)
    return value


# ---------------------------------------------------------------------------------------------- channels

async def create_channel(request: Request) -> JSONResponse:
    session = require_session(request)
    body = await json_body(request, "channel")
    if not isinstance(body, dict):
        raise errors.invalid_param("channel")
    team_id = _text(body, "team_id")
    if not valid_id(team_id):
        raise errors.invalid_param("team_id")
    # create_public_channel / create_private_channel are team permissions.
    if not (session.is_admin or is_team_member(request, session, team_id)):
        raise errors.permission_denied()
    if _team(request, team_id) is None:
        raise team_not_found()
    name, display_name, kind = _text(body, "name"), _text(body, "display_name"), _text(body, "type")
    purpose, header = _text(body, "purpose"), _text(body, "header")
    # The checks of model.Channel.IsValid, in its order.
    if len(display_name) > DISPLAY_NAME_MAX:
        raise _invalid("display_name", "Invalid display name.")
    if not valid_channel_name(name):
        raise _invalid("1_or_more", "Name must be 1 or more lowercase alphanumeric characters.")
    if kind not in (OPEN, PRIVATE):
        raise _invalid("type", "Invalid type.")
    if len(header) > HEADER_MAX:
        raise _invalid("header", "Invalid header.")
    if len(purpose) > PURPOSE_MAX:
        raise _invalid("purpose", "Invalid purpose.")
    try:
        channel = messaging(request).create_channel(team_id=team_id, name=name, display_name=display_name,
                                                    type=kind, creator_id=session.account.id, purpose=purpose,
                                                    header=header)
    except NameTaken:
        raise channel_exists() from None
    return JSONResponse(channel_json(channel), status_code=201)


async def get_channel(request: Request) -> JSONResponse:
    session = require_session(request)
    channel = _existing_channel(request)
    if not can_read(request, session, channel):
        raise errors.permission_denied()
    return JSONResponse(channel_json(channel))


async def get_channel_by_name(request: Request) -> JSONResponse:
    session = require_session(request)
    team_id = path_id(request, "team_id")
    channel = messaging(request).channel_by_name(team_id, request.path_params["channel_name"])
    if channel is not None and channel.delete_at and not query_bool(request, "include_deleted"):
        channel = None
    # Without read access the server answers "does not exist" too, so names cannot be probed.
    if channel is None or not can_read(request, session, channel):
        raise channel_name_not_found()
    return JSONResponse(channel_json(channel))


async def archive_channel(request: Request) -> JSONResponse:
    session = require_session(request)
    channel = _existing_channel(request)
    if not _can_manage_members(request, session, channel):
        raise errors.permission_denied()
    if channel.name == DEFAULT_CHANNEL:
        raise errors.AppError("api.channel.delete_channel.cannot.app_error",
                              f"Unable to delete the default channel {DEFAULT_CHANNEL}.", 400)
    try:
        messaging(request).archive_channel(channel.id)
    except ChannelArchived:
        raise channel_archived() from None
    return JSONResponse(_STATUS_OK)


async def list_team_channels(request: Request) -> JSONResponse:
    session = require_session(request)
    team_id = path_id(request, "team_id")
    if not (session.is_admin or is_team_member(request, session, team_id)):
        raise errors.permission_denied()  # list_team_channels
    page, per_page = paging(request)
    channels = messaging(request).public_channels(team_id)
    return JSONResponse([channel_json(c) for c in page_of(channels, page, per_page)])


# ----------------------------------------------------------------------------------------------- members

async def add_member(request: Request) -> JSONResponse:
    session = require_session(request)
    channel = _existing_channel(request)
    body = await json_body(request, "user_id")
    user_id = body.get("user_id", "") if isinstance(body, dict) else ""
    if not isinstance(user_id, str) or not valid_id(user_id):
        raise errors.invalid_param("user_id")
    store = messaging(request)
    joining_self = user_id == session.account.id
    allowed = _can_manage_members(request, session, channel) or (
        # join_public_channels lets team members add themselves to an open channel.
        joining_self and channel.type == OPEN and is_team_member(request, session, channel.team_id))
    if not allowed:
        raise errors.permission_denied()
    if not any(a.id == user_id for a in state(request).scenario.accounts):
        raise errors.user_not_found()
    if store.team_member(channel.team_id, user_id) is None:
        raise errors.AppError("api.channel.add_user.to.channel.failed.deleted.app_error",
                              "Failed to add user to channel because they have been removed from the team.", 403)
    try:
        membership = store.add_member(channel.id, user_id)
    except ChannelArchived:
        raise errors.AppError("api.channel.add_user_to_channel.deleted.app_error",
                              "The channel has been archived or deleted.", 400) from None
    return JSONResponse(channel_member_json(membership), status_code=201)


async def list_members(request: Request) -> JSONResponse:
    session = require_session(request)
    channel = readable_channel(request, session)
    page, per_page = paging(request)
    members = messaging(request).members(channel.id)
    return JSONResponse([channel_member_json(m) for m in page_of(members, page, per_page)])


async def get_member(request: Request) -> JSONResponse:
    session = require_session(request)
    channel = readable_channel(request, session)
    membership = messaging(request).member(channel.id, path_id(request, "user_id"))
    if membership is None:
        raise _member_missing()
    return JSONResponse(channel_member_json(membership))


async def remove_member(request: Request) -> JSONResponse:
    session = require_session(request)
    channel = _existing_channel(request)
    user_id = path_id(request, "user_id")
    if user_id != session.account.id and not _can_manage_members(request, session, channel):
        raise errors.permission_denied()
    if channel.name == DEFAULT_CHANNEL:
        raise errors.AppError("api.channel.remove.default.app_error",
                              f"Unable to remove user from the default channel {DEFAULT_CHANNEL}.", 400)
    if not messaging(request).remove_member(channel.id, user_id):
        raise _member_missing()
    return JSONResponse(_STATUS_OK)


def _member_missing() -> errors.AppError:
    return errors.AppError("app.channel.get_member.missing.app_error",
                           "No channel member found for that user ID and channel ID.", 404)


# ------------------------------------------------------------------------------------------------- teams

def _visible_team(request: Request, session: Session, team: Team | None) -> dict[str, Any]:
    if team is None:
        raise team_not_found()
    # Open teams are visible to everyone; others need view_team (membership).
    if not (team.allow_open_invite and team.type == "O") and not (
            session.is_admin or is_team_member(request, session, team.id)):
        raise errors.permission_denied()
    return team_json(team, sanitized=not session.is_admin)


async def get_team(request: Request) -> JSONResponse:
    session = require_session(request)
    return JSONResponse(_visible_team(request, session, _team(request, path_id(request, "team_id"))))


async def get_team_by_name(request: Request) -> JSONResponse:
    session = require_session(request)
    name = request.path_params["name"]
    team = next((t for t in state(request).scenario.teams if t.name == name), None)
    if team is None:
        raise errors.AppError("app.team.get_by_name.missing.app_error", "Unable to find the existing team.", 404)
    return JSONResponse(_visible_team(request, session, team))


async def get_team_member(request: Request) -> JSONResponse:
    session = require_session(request)
    team_id, user_id = path_id(request, "team_id"), path_id(request, "user_id")
    if not (session.is_admin or is_team_member(request, session, team_id)):
        raise errors.permission_denied()  # view_team
    membership = messaging(request).team_member(team_id, user_id)
    if membership is None:
        raise errors.AppError("app.team.get_member.missing.app_error",
                              "No team member found for that user ID and team ID.", 404)
    return JSONResponse(team_member_json(membership))


ROUTES = [
    Route("/api/v4/channels", create_channel, methods=["POST"]),
    Route("/api/v4/channels/{channel_id}", get_channel, methods=["GET"]),
    Route("/api/v4/channels/{channel_id}", archive_channel, methods=["DELETE"]),
    Route("/api/v4/channels/{channel_id}/members", add_member, methods=["POST"]),
    Route("/api/v4/channels/{channel_id}/members", list_members, methods=["GET"]),
    Route("/api/v4/channels/{channel_id}/members/{user_id}", get_member, methods=["GET"]),
    Route("/api/v4/channels/{channel_id}/members/{user_id}", remove_member, methods=["DELETE"]),
    Route("/api/v4/teams/name/{name}", get_team_by_name, methods=["GET"]),
    Route("/api/v4/teams/{team_id}", get_team, methods=["GET"]),
    Route("/api/v4/teams/{team_id}/channels", list_team_channels, methods=["GET"]),
    Route("/api/v4/teams/{team_id}/channels/name/{channel_name}", get_channel_by_name, methods=["GET"]),
    Route("/api/v4/teams/{team_id}/members/{user_id}", get_team_member, methods=["GET"]),
]
