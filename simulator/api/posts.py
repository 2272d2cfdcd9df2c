"""Posts (/posts, /channels/{channel_id}/posts).

GET /channels/{channel_id}/posts answers a PostList (posts newest first in `order`) in one of four modes, as
the server picks them: `since` (posts with update_at > since, at most 1000, cursors left empty), `after`,
`before`, or plain pages. `next_post_id` is the post right after the newest one listed and `prev_post_id` the
one right before the oldest, as Mattermost's AddCursorIdsForPostList sets them.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulator import errors
from simulator.api.channels import can_read, messaging, path_id, readable_channel
from simulator.api.common import json_body, paging
from simulator.auth import require_session
from simulator.ids import valid_id
from simulator.messaging import ChannelArchived, Post, PostPage, Thread, UnknownRoot

MESSAGE_MAX_RUNES = 16383


def post_json(p: Post, thread: Thread, pending_post_id: str = "") -> dict[str, Any]:
    return {
        "id": p.id, "create_at": p.create_at, "update_at": p.update_at, "edit_at": 0, "delete_at": 0,
        "is_pinned": False, "user_id": p.user_id, "channel_id": p.channel_id, "root_id": p.root_id,
        "original_id": "", "message": p.message, "type": p.type, "props": p.props, "hashtags": "",
        "pending_post_id": pending_post_id, "reply_count": thread.reply_count, "last_reply_at": thread.last_reply_at,
        "participants": None, "metadata": {},
    }


def post_list_json(request: Request, posts: list[Post], next_id: str = "", prev_id: str = "",
                   has_next: bool = False) -> dict[str, Any]:
    threads = messaging(request).threads(posts)
    return {
        "order": [p.id for p in posts],
        "posts": {p.id: post_json(p, threads[p.id]) for p in posts},
        "next_post_id": next_id,
        "prev_post_id": prev_id,
        "has_next": has_next,
    }


def _cannot_post_to_archived() -> errors.AppError:
    return errors.AppError("api.post.create_post.can_not_post_to_deleted.error", "Can not post to deleted channel.",
                           403)


async def create_post(request: Request) -> JSONResponse:
    session = require_session(request)
    body = await json_body(request, "post")
    if not isinstance(body, dict):
        raise errors.invalid_param("post")
    channel_id, message = body.get("channel_id", ""), body.get("message", "")
    root_id, props = body.get("root_id", ""), body.get("props") or {}
    pending_post_id = body.get("pending_post_id", "")
    if not isinstance(channel_id, str) or not valid_id(channel_id):
        raise errors.invalid_param("channel_id")
    if not isinstance(message, str) or len(message) > MESSAGE_MAX_RUNES:
        raise errors.AppError("model.post.is_valid.msg.app_error", "Invalid message.", 400)
    if not isinstance(root_id, str) or (root_id and not valid_id(root_id)):
        raise errors.AppError("model.post.is_valid.root_id.app_error", "Invalid root ID.", 400)
    if not isinstance(props, dict):
        raise errors.invalid_param("props")
    if not isinstance(pending_post_id, str):
        raise errors.invalid_param("post")
    store = messaging(request)
    channel = store.channel(channel_id)
    # create_post: channel members hold it, system admins hold it everywhere.
    if not session.is_admin and (channel is None or store.member(channel_id, session.account.id) is None):
        raise errors.permission_denied()
    if channel is None:
        raise errors.AppError("api.context.invalid_param.app_error", "Invalid post.channel_id parameter.", 400)
    try:
        post = store.create_post(channel_id=channel_id, user_id=session.account.id, message=message,
                                 root_id=root_id, props=props, pending_post_id=pending_post_id)
    except ChannelArchived:
        raise _cannot_post_to_archived() from None
    except UnknownRoot:
        raise errors.AppError("api.post.create_post.root_id.app_error", "Invalid RootId parameter.", 400) from None
    # The post as created, echoing the client's pending_post_id so it can match its optimistic copy.
    return JSONResponse(post_json(post, store.threads([post])[post.id], pending_post_id), status_code=201)


async def get_post(request: Request) -> JSONResponse:
    session = require_session(request)
    store = messaging(request)
    post = store.post(path_id(request, "post_id"))
    if post is None:
        raise errors.AppError("app.post.get.app_error", "Unable to get the post.", 404)
    channel = store.channel(post.channel_id)
    if channel is None or not can_read(request, session, channel):
        raise errors.permission_denied()
    return JSONResponse(post_json(post, store.threads([post])[post.id]))


async def channel_posts(request: Request) -> JSONResponse:
    session = require_session(request)
    channel = readable_channel(request, session)
    query = request.query_params
    before, after = query.get("before", ""), query.get("after", "")
    for name, value in (("before", before), ("after", after)):
        if value and not valid_id(value):
            raise errors.invalid_param(name)
    since = _int_or_zero(query.get("since"))
    store = messaging(request)
    if since > 0:
        return JSONResponse(post_list_json(request, store.since(channel.id, since)))
    page, per_page = paging(request)
    if after:
        found = store.after(channel.id, after, page, per_page)
    elif before:
        found = store.before(channel.id, before, page, per_page)
    else:
        found = store.page(channel.id, page, per_page)
    return JSONResponse(_page_json(request, found))


def _page_json(request: Request, found: PostPage) -> dict[str, Any]:
    return post_list_json(request, found.posts, found.next_post_id, found.prev_post_id, found.has_next)


def _int_or_zero(raw: str | None) -> int:
    # Mattermost ignores a `since` that does not parse, which reads as "no since".
    try:
        return int(raw) if raw else 0
    except ValueError:
        return 0



ROUTES = [
    Route("/api/v4/posts", create_post, methods=["POST"]),
    Route("/api/v4/posts/{post_id}", get_post, methods=["GET"]),
    Route("/api/v4/channels/{channel_id}/posts", channel_posts, methods=["GET"]),
]
