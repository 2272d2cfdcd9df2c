"""Posts (/posts, /channels/{channel_id}/posts).

GET /channels/{channel_id}/posts answers a PostList (posts newest first in `order`) in one of four modes, as
the server picks them: `since` (posts with update_at > since, at most 1000, cursors left empty), `after`,
`before`, or plain pages. `next_post_id` is the post right after the newest one listed and `prev_post_id` the
one right before the oldest, as Mattermost's AddCursorIdsForPostList sets them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulator import errors
from simulator.api.channels import can_read, channel_not_found, messaging, path_id, readable_channel
from simulator.api.common import json_body, paging
from simulator.auth import Session, require_session
from simulator.ids import valid_id
from simulator.messaging import ChannelArchived, Post, PostDeleted, PostPage, Thread, UnknownPost, UnknownRoot

MESSAGE_MAX_RUNES = 16383


def strip_action_integrations(props: dict[str, Any]) -> dict[str, Any]:
    """model.Post.StripActionIntegrations, which Post.EncodeJSON / PostList.EncodeJSON apply to every post sent
    to a client: the actions keep their id, name, type and options, but lose `integration` (its URL and context
    are the integration's own)."""
    attachments = props.get("attachments")
    if not isinstance(attachments, list):
        return props
    stripped = []
    for attachment in attachments:
        if isinstance(attachment, dict) and isinstance(attachment.get("actions"), list):
            actions = [{k: v for k, v in a.items() if k != "integration"} if isinstance(a, dict) else a
                       for a in attachment["actions"]]
            attachment = dict(attachment, actions=actions)
        stripped.append(attachment)
    return dict(props, attachments=stripped)


def post_json(p: Post, thread: Thread, pending_post_id: str = "") -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": p.id, "create_at": p.create_at, "update_at": p.update_at, "edit_at": p.edit_at,
        "delete_at": p.delete_at, "is_pinned": p.is_pinned, "user_id": p.user_id, "channel_id": p.channel_id,
        "root_id": p.root_id, "original_id": "", "message": p.message, "type": p.type,
        "props": strip_action_integrations(p.props), "hashtags": "", "pending_post_id": pending_post_id,
        "reply_count": thread.reply_count, "last_reply_at": thread.last_reply_at, "participants": None,
        "metadata": {},
    }
    if p.file_ids:
        body["file_ids"] = list(p.file_ids)  # `file_ids,omitempty`
    return body


def post_not_found() -> errors.AppError:
    return errors.AppError("app.post.get.app_error", "Unable to get the post.", 404)


def may_manage_others_posts(request: Request, session: Session, team_id: str) -> bool:
    """edit_others_posts / delete_others_posts, and manage_own/others_slash_commands: system admins and team admins
    in the default scheme (neither is a plain team member's permission there)."""
    if session.is_admin:
        return True
    membership = messaging(request).team_member(team_id, session.account.id)
    return membership is not None and membership.scheme_admin


def _may_act_in_channel(request: Request, session: Session, channel_id: str) -> bool:
    """Channel-scoped permissions a member holds (create_post, edit_post, delete_post); admins hold them all."""
    return session.is_admin or messaging(request).member(channel_id, session.account.id) is not None


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
    if post is None or post.delete_at:
        raise post_not_found()
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


# ---------------------------------------------------------------------------- edit, delete, pin (api4/post.go)

def _live_post(request: Request) -> Post | None:
    """GetSinglePost(includeDeleted=false): None for a post that does not exist or is deleted."""
    post = messaging(request).post(path_id(request, "post_id"))
    return None if post is None or post.delete_at else post


def _update_errors(exc: Exception, where: str, post_id: str) -> errors.AppError:
    """What app.UpdatePost / PatchPost answer for a post that cannot change."""
    if isinstance(exc, ChannelArchived):
        return errors.AppError(f"api.post.{where}.can_not_update_post_in_deleted.error",
                               "Can not update a post in a deleted channel.", 400)
    if isinstance(exc, PostDeleted):
        return errors.AppError("api.post.update_post.permissions_details.app_error",
                               f"Already deleted id={post_id}", 400)
    return errors.AppError("api.post.update_post.find.app_error", "Unable to find the existing post or comment to "
                           "update.", 400)


async def patch_post(request: Request) -> JSONResponse:
    """patchPost + postPatchChecks + app.PatchPost: the fields of a PostPatch that are present replace the post's.
    A post that is gone answers the edit permission error, as upstream's postPatchChecks does."""
    session = require_session(request)
    path_id(request, "post_id")
    body = await json_body(request, "post")
    if not isinstance(body, dict):
        raise errors.invalid_param("post")
    message, props = body.get("message"), body.get("props")
    is_pinned, file_ids = body.get("is_pinned"), body.get("file_ids")
    if message is not None and not isinstance(message, str):
        raise errors.invalid_param("post")
    if props is not None and not isinstance(props, dict):
        raise errors.invalid_param("post")
    if is_pinned is not None and not isinstance(is_pinned, bool):
        raise errors.invalid_param("post")
    if file_ids is not None and not (isinstance(file_ids, list) and all(isinstance(f, str) for f in file_ids)):
        raise errors.invalid_param("post")
    post = _own_or_managed_post(request, session, missing=errors.permission_denied)
    if message is not None and len(message) > MESSAGE_MAX_RUNES:
        raise errors.AppError("model.post.is_valid.msg.app_error", "Invalid message.", 400)
    try:
        patched = messaging(request).update_post(
            post.id, message=post.message if message is None else message,
            props=post.props if props is None else props,
            is_pinned=post.is_pinned if is_pinned is None else is_pinned,
            file_ids=post.file_ids if file_ids is None else file_ids)
    except (ChannelArchived, PostDeleted, UnknownPost) as exc:
        raise _update_errors(exc, "patch_post", post.id) from None
    return JSONResponse(post_json(patched, messaging(request).threads([patched])[patched.id]))


async def update_post(request: Request) -> JSONResponse:
    """updatePost + app.UpdatePost (not a safe update): the body is the whole post, its id the path's; message,
    props, is_pinned and file_ids (kept when absent) replace the post's."""
    session = require_session(request)
    post_id = path_id(request, "post_id")
    body = await json_body(request, "post")
    if not isinstance(body, dict):
        raise errors.invalid_param("post")
    message, props = body.get("message") or "", body.get("props")
    is_pinned, file_ids = body.get("is_pinned"), body.get("file_ids")
    if not isinstance(message, str) or (props is not None and not isinstance(props, dict)) or \
            (is_pinned is not None and not isinstance(is_pinned, bool)) or \
            (file_ids is not None and not (isinstance(file_ids, list) and all(isinstance(f, str) for f in file_ids))):
        raise errors.invalid_param("post")
    if body.get("id") != post_id:
        raise errors.invalid_param("id")
    post = _live_post(request)
    channel = messaging(request).channel(post.channel_id) if post is not None else None
    if post is None or channel is None or not _may_act_in_channel(request, session, channel.id):
        raise errors.permission_denied()
    if session.account.id != post.user_id and not may_manage_others_posts(request, session, channel.team_id):
        raise errors.permission_denied()
    if len(message) > MESSAGE_MAX_RUNES:
        raise errors.AppError("model.post.is_valid.msg.app_error", "Invalid message.", 400)
    try:
        updated = messaging(request).update_post(post.id, message=message, props=props or {},
                                                 is_pinned=bool(is_pinned),
                                                 file_ids=post.file_ids if file_ids is None else file_ids)
    except (ChannelArchived, PostDeleted, UnknownPost) as exc:
        raise _update_errors(exc, "update_post", post.id) from None
    return JSONResponse(post_json(updated, messaging(request).threads([updated])[updated.id]))


async def delete_post(request: Request) -> JSONResponse:
    """deletePost (not permanent): the author needs delete_post in the channel, anyone else delete_others_posts."""
    session = require_session(request)
    post = _own_or_managed_post(request, session, missing=post_not_found)
    try:
        messaging(request).delete_post(post.id)
    except UnknownPost:
        raise post_not_found() from None
    return JSONResponse({"status": "OK"})


def _own_or_managed_post(request: Request, session: Session, *, missing: Callable[[], errors.AppError]) -> Post:
    """The path's live post, when the session may edit or delete it: its author acting in the channel, or someone
    who manages others' posts there; ``missing`` is the error for a post (or channel) that is not there."""
    post = _live_post(request)
    channel = messaging(request).channel(post.channel_id) if post is not None else None
    if post is None or channel is None:
        raise missing()
    if session.account.id == post.user_id:
        allowed = _may_act_in_channel(request, session, channel.id)
    else:
        allowed = may_manage_others_posts(request, session, channel.team_id)
    if not allowed:
        raise errors.permission_denied()
    return post


async def _save_is_pinned(request: Request, is_pinned: bool) -> JSONResponse:
    """saveIsPinnedPost: anyone who may read the channel pins and unpins; a missing post is a permission error."""
    session = require_session(request)
    post = _live_post(request)
    if post is None:
        raise errors.permission_denied()
    channel = messaging(request).channel(post.channel_id)
    if channel is None:
        raise channel_not_found()
    if not can_read(request, session, channel):
        raise errors.permission_denied()
    try:
        messaging(request).update_post(post.id, message=post.message, props=post.props, is_pinned=is_pinned,
                                       file_ids=post.file_ids)
    except (ChannelArchived, PostDeleted, UnknownPost) as exc:
        raise _update_errors(exc, "patch_post", post.id) from None
    return JSONResponse({"status": "OK"})


async def pin_post(request: Request) -> JSONResponse:
    return await _save_is_pinned(request, True)


async def unpin_post(request: Request) -> JSONResponse:
    return await _save_is_pinned(request, False)


ROUTES = [
    Route("/api/v4/posts", create_post, methods=["POST"]),
    Route("/api/v4/posts/{post_id}", get_post, methods=["GET"]),
    Route("/api/v4/posts/{post_id}", update_post, methods=["PUT"]),
    Route("/api/v4/posts/{post_id}", delete_post, methods=["DELETE"]),
    Route("/api/v4/posts/{post_id}/patch", patch_post, methods=["PUT"]),
    Route("/api/v4/posts/{post_id}/pin", pin_post, methods=["POST"]),
    Route("/api/v4/posts/{post_id}/unpin", unpin_post, methods=["POST"]),
    Route("/api/v4/channels/{channel_id}/posts", channel_posts, methods=["GET"]),
]
