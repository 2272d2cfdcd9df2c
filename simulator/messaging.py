"""Channels, memberships and posts of one simulator run: an in-memory store behind a single lock.

Records are frozen dataclasses that the store replaces on change, so a handler can serialise what it got back
without holding the lock. Every post gets a create/update time in milliseconds that is strictly greater than
any time handed out before: `since` polling (which Mattermost answers with `update_at > since`) then never
misses a post written in the same millisecond as the last one a poller saw. A real server gives no such
guarantee; clients of a real server should overlap their `since` a little and drop ids they already hold.
"""

from __future__ import annotations

import bisect
import random
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from simulator.ids import new_id, random_id
from simulator.model import Account, Scenario, Team

OPEN = "O"
PRIVATE = "P"
DEFAULT_CHANNEL = "town-square"  # every team's default channel: it cannot be archived or left
CHANNEL_NAME_MAX = 64
SINCE_LIMIT = 1000  # the most posts one `since` query returns, as in Mattermost's store
HOUR_MS = 3_600_000
# app/post.go pendingPostIDsCacheTTL: a retried create with the same pending_post_id answers the first post.
PENDING_POST_ID_TTL_S = 30.0

# model.IsValidChannelIdentifier: lower-case letters, digits, '-' and '_', starting with a letter or digit.
_CHANNEL_NAME = re.compile(r"^[a-z0-9]+([a-z\-_0-9]+|(__)?)[a-z0-9]*$")


class MessagingError(Exception):
    """A request the store refuses; the API layer turns each kind into Mattermost's error."""


class NameTaken(MessagingError):
    pass


class ChannelArchived(MessagingError):
    pass


class UnknownChannel(MessagingError):
    pass


class UnknownRoot(MessagingError):
    pass


class UnknownPost(MessagingError):
    pass


class PostDeleted(MessagingError):
    pass


class TriggerTaken(MessagingError):
    pass


def valid_channel_name(name: str) -> bool:
    return 0 < len(name) <= CHANNEL_NAME_MAX and _CHANNEL_NAME.match(name) is not None


@dataclass(frozen=True)
class Channel:
    id: str
    team_id: str
    name: str
    display_name: str
    type: str
    purpose: str
    header: str
    creator_id: str
    create_at: int
    update_at: int
    delete_at: int = 0
    last_post_at: int = 0
    last_root_post_at: int = 0
    total_msg_count: int = 0
    total_msg_count_root: int = 0


@dataclass(frozen=True)
class ChannelMember:
    channel_id: str
    user_id: str
    scheme_admin: bool
    last_viewed_at: int
    last_update_at: int


@dataclass(frozen=True)
class TeamMember:
    team_id: str
    user_id: str
    scheme_admin: bool
    create_at: int


@dataclass(frozen=True)
class Post:
    id: str
    channel_id: str
    user_id: str
    create_at: int
    update_at: int
    message: str
    root_id: str = ""
    type: str = ""
    props: dict[str, Any] = field(default_factory=dict)
    edit_at: int = 0
    delete_at: int = 0  # a soft delete, as upstream's: GET answers 404 and listings leave the post out
    is_pinned: bool = False
    file_ids: tuple[str, ...] = ()


EPHEMERAL_POST_TYPE = "system_ephemeral"  # model.PostTypeEphemeral


def generate_action_ids(props: dict[str, Any]) -> dict[str, Any]:
    """model.Post.GenerateActionIds: every action in props.attachments without an id gets one (on a copy)."""
    attachments = props.get("attachments")
    if not isinstance(attachments, list):
        return dict(props)
    copied = []
    for attachment in attachments:
        if isinstance(attachment, dict) and isinstance(attachment.get("actions"), list):
            actions = [dict(a, id=a.get("id") or random_id()) if isinstance(a, dict) else a
                       for a in attachment["actions"]]
            attachment = dict(attachment, actions=actions)
        copied.append(attachment)
    return dict(props, attachments=copied)


def post_action(post: Post, action_id: str) -> dict[str, Any] | None:
    """model.Post.GetAction: the action of that id among the post's attachments."""
    attachments = post.props.get("attachments")
    for attachment in attachments if isinstance(attachments, list) else []:
        actions = attachment.get("actions") if isinstance(attachment, dict) else None
        for action in actions if isinstance(actions, list) else []:
            if isinstance(action, dict) and action.get("id") == action_id:
                return action
    return None


@dataclass(frozen=True)
class Command:
    """model.Command: a custom slash command of a team."""

    id: str
    token: str
    create_at: int
    update_at: int
    creator_id: str
    team_id: str
    trigger: str
    method: str
    url: str
    username: str = ""
    icon_url: str = ""
    auto_complete: bool = False
    auto_complete_desc: str = ""
    auto_complete_hint: str = ""
    display_name: str = ""
    description: str = ""
    delete_at: int = 0


@dataclass(frozen=True)
class IncomingHook:
    """model.IncomingWebhook: posts sent to /hooks/{id} land in `channel_id` as `user_id`."""

    id: str
    create_at: int
    update_at: int
    user_id: str
    channel_id: str
    team_id: str
    display_name: str = ""
    description: str = ""
    username: str = ""
    icon_url: str = ""
    channel_locked: bool = False
    delete_at: int = 0


@dataclass(frozen=True)
class Thread:
    """What Mattermost computes per thread when it lists posts (reply_count, last_reply_at)."""

    reply_count: int = 0
    last_reply_at: int = 0


@dataclass(frozen=True)
class PostPage:
    """Posts newest first, plus the neighbours just outside the page (Mattermost's cursor ids)."""

    posts: list[Post]
    next_post_id: str  # the post right after the newest one here
    prev_post_id: str  # the post right before the oldest one here
    has_next: bool


class Messaging:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clock = 0
        self._channels: dict[str, Channel] = {}
        self._names: dict[tuple[str, str], str] = {}
        self._members: dict[str, dict[str, ChannelMember]] = {}
        self._team_members: dict[str, dict[str, TeamMember]] = {}
        self._posts: dict[str, Post] = {}
        self._timeline: dict[str, list[tuple[int, str]]] = {}  # channel -> sorted (create_at, post id)
        self._threads: dict[str, Thread] = {}
        self._hooks: dict[str, IncomingHook] = {}
        self._pending_post_ids: dict[str, tuple[str, float]] = {}  # pending_post_id -> (post id, expiry)
        # What the websocket would deliver to one user: ephemeral posts and opened dialogs, oldest first.
        self._ephemeral: dict[str, list[Post]] = {}
        self._dialogs: dict[str, list[dict[str, Any]]] = {}
        self._commands: dict[str, Command] = {}

    # ------------------------------------------------------------------------------------------ teams

    def add_team_member(self, team_id: str, user_id: str, *, admin: bool, at: int) -> None:
        with self._lock:
            self._team_members.setdefault(team_id, {})[user_id] = TeamMember(team_id, user_id, admin, at)

    def team_member(self, team_id: str, user_id: str) -> TeamMember | None:
        with self._lock:
            return self._team_members.get(team_id, {}).get(user_id)

    # --------------------------------------------------------------------------------------- channels

    def channel(self, channel_id: str) -> Channel | None:
        with self._lock:
            return self._channels.get(channel_id)

    def channel_by_name(self, team_id: str, name: str) -> Channel | None:
        with self._lock:
            channel_id = self._names.get((team_id, name))
            return self._channels.get(channel_id) if channel_id else None

    def team_channels(self, team_id: str) -> list[Channel]:
        """Every channel of the team, archived ones too, oldest first."""
        with self._lock:
            found = [c for c in self._channels.values() if c.team_id == team_id]
        return sorted(found, key=lambda c: (c.create_at, c.id))

    def public_channels(self, team_id: str) -> list[Channel]:
        """The team's open, unarchived channels in Mattermost's order (display name)."""
        with self._lock:
            found = [c for c in self._channels.values()
                     if c.team_id == team_id and c.type == OPEN and not c.delete_at]
        return sorted(found, key=lambda c: (c.display_name.lower(), c.id))

    def create_channel(self, *, team_id: str, name: str, display_name: str, type: str, creator_id: str,
                       purpose: str = "", header: str = "", channel_id: str | None = None,
                       at: int | None = None) -> Channel:
        """A new channel with its creator as channel admin. `at` and `channel_id` are for seed data."""
        with self._lock:
            if (team_id, name) in self._names:
                raise NameTaken(name)
            stamp = self._stamp(at)
            channel = Channel(channel_id or random_id(), team_id, name, display_name, type, purpose, header,
                              creator_id, stamp, stamp)
            self._channels[channel.id] = channel
            self._names[(team_id, name)] = channel.id
            self._members[channel.id] = {}
            self._timeline[channel.id] = []
            if creator_id:
                self._add_member(channel.id, creator_id, admin=True, at=stamp)
        return channel

    def archive_channel(self, channel_id: str, at: int | None = None) -> Channel:
        with self._lock:
            channel = self._existing(channel_id)
            if channel.delete_at:
                raise ChannelArchived(channel_id)
            stamp = self._stamp(at)
            self._channels[channel_id] = replace(channel, delete_at=stamp, update_at=stamp)
            return self._channels[channel_id]

    def unarchive_channel(self, channel_id: str, at: int | None = None) -> Channel:
        with self._lock:
            self._channels[channel_id] = replace(self._existing(channel_id), delete_at=0, update_at=self._stamp(at))
            return self._channels[channel_id]

    def _existing(self, channel_id: str) -> Channel:
        """The channel (call with the lock held); UnknownChannel when there is none."""
        channel = self._channels.get(channel_id)
        if channel is None:
            raise UnknownChannel(channel_id)
        return channel

    # ---------------------------------------------------------------------------------------- members

    def member(self, channel_id: str, user_id: str) -> ChannelMember | None:
        with self._lock:
            return self._members.get(channel_id, {}).get(user_id)

    def members(self, channel_id: str) -> list[ChannelMember]:
        with self._lock:
            found = list(self._members.get(channel_id, {}).values())
        return sorted(found, key=lambda m: m.user_id)

    def add_member(self, channel_id: str, user_id: str, at: int | None = None) -> ChannelMember:
        """Adds the user (as a plain member) unless already there; answers the membership either way."""
        with self._lock:
            channel = self._existing(channel_id)
            existing = self._members[channel_id].get(user_id)
            if existing is not None:
                return existing
            if channel.delete_at:
                raise ChannelArchived(channel_id)
            return self._add_member(channel_id, user_id, admin=False, at=self._stamp(at))

    def remove_member(self, channel_id: str, user_id: str) -> bool:
        with self._lock:
            return self._members.get(channel_id, {}).pop(user_id, None) is not None

    def _add_member(self, channel_id: str, user_id: str, *, admin: bool, at: int) -> ChannelMember:
        membership = ChannelMember(channel_id, user_id, admin, at, at)
        self._members[channel_id][user_id] = membership
        return membership

    # ------------------------------------------------------------------------------------------ posts

    def create_post(self, *, channel_id: str, user_id: str, message: str, root_id: str = "", type: str = "",
                    props: dict[str, Any] | None = None, post_id: str | None = None,
                    at: int | None = None, pending_post_id: str = "") -> Post:
        """Stores a post; its time is taken under the lock, so times and visibility advance together.

        A `pending_post_id` seen from the same user in the last PENDING_POST_ID_TTL_S answers the post made
        then, as Mattermost's deduplicateCreatePost does, so a client retrying after a lost answer posts once."""
        with self._lock:
            earlier = self._deduplicated(pending_post_id, user_id)
            if earlier is not None:
                return earlier
            channel = self._existing(channel_id)
            if channel.delete_at:
                raise ChannelArchived(channel_id)
            if root_id:
                root = self._posts.get(root_id)
                if root is None or root.channel_id != channel_id or root.root_id:
                    raise UnknownRoot(root_id)
            stamp = self._stamp(at)
            post = Post(post_id or random_id(), channel_id, user_id, stamp, stamp, message, root_id, type,
                        generate_action_ids(props or {}))
            self._posts[post.id] = post
            bisect.insort(self._timeline[channel_id], (stamp, post.id))
            if root_id:
                thread = self._threads.get(root_id, Thread())
                self._threads[root_id] = Thread(thread.reply_count + 1, max(thread.last_reply_at, stamp))
            self._channels[channel_id] = replace(
                channel,
                last_post_at=max(channel.last_post_at, stamp),
                last_root_post_at=channel.last_root_post_at if root_id else max(channel.last_root_post_at, stamp),
                total_msg_count=channel.total_msg_count + 1,
                total_msg_count_root=channel.total_msg_count_root + (0 if root_id else 1),
            )
            if pending_post_id:
                self._pending_post_ids[pending_post_id] = (post.id, time.monotonic() + PENDING_POST_ID_TTL_S)
        return post

    def _deduplicated(self, pending_post_id: str, user_id: str) -> Post | None:
        """The post an earlier create with this pending_post_id made (call with the lock held). Upstream keys
        its cache by pending_post_id alone and ignores a hit the caller may not read; the simulator's
        approximation is to honour a hit by the same user only."""
        if not pending_post_id:
            return None
        now = time.monotonic()
        for key in [k for k, (_, expiry) in self._pending_post_ids.items() if expiry <= now]:
            del self._pending_post_ids[key]
        post_id, _ = self._pending_post_ids.get(pending_post_id, ("", 0.0))
        earlier = self._posts.get(post_id)
        return earlier if earlier is not None and earlier.user_id == user_id else None

    def update_post(self, post_id: str, *, message: str, props: dict[str, Any], is_pinned: bool,
                    file_ids: Iterable[str]) -> Post:
        """app.UpdatePost (not a safe update): message, props (with action ids made), is_pinned and file_ids
        replaced; edit_at set when the message, the file ids or the attachments changed."""
        with self._lock:
            old = self._posts.get(post_id)
            if old is None:
                raise UnknownPost(post_id)
            if old.delete_at:
                raise PostDeleted(post_id)
            if self._existing(old.channel_id).delete_at:
                raise ChannelArchived(old.channel_id)
            stamp = self._stamp(None)
            new_props, new_files = generate_action_ids(props), tuple(file_ids)
            edited = message != old.message or new_files != old.file_ids or \
                new_props.get("attachments") != old.props.get("attachments")  # Post.AttachmentsEqual
            post = replace(old, message=message, props=new_props, is_pinned=is_pinned, file_ids=new_files,
                           update_at=stamp, edit_at=stamp if edited else old.edit_at)
            self._posts[post_id] = post
        return post

    def delete_post(self, post_id: str) -> Post:
        """app.DeletePost: a soft delete of the post and, for a root, of its replies (delete_at = update_at)."""
        with self._lock:
            post = self._posts.get(post_id)
            if post is None or post.delete_at:
                raise UnknownPost(post_id)
            stamp = self._stamp(None)
            for other in [p for p in self._posts.values() if p.id == post_id or (p.root_id == post_id)]:
                if not other.delete_at:
                    self._posts[other.id] = replace(other, delete_at=stamp, update_at=stamp)
            if post.root_id:
                thread = self._threads.get(post.root_id, Thread())
                self._threads[post.root_id] = Thread(max(thread.reply_count - 1, 0), thread.last_reply_at)
            return self._posts[post_id]

    # ---------------------------------------------------------------- what the websocket would deliver

    def send_ephemeral(self, user_id: str, *, channel_id: str, message: str, root_id: str = "",
                       props: dict[str, Any] | None = None) -> Post:
        """app.SendEphemeralPost: a post only `user_id` sees (the ephemeral_message event), never stored."""
        with self._lock:
            post = Post(random_id(), channel_id, user_id, self._stamp(None), 0, message, root_id, EPHEMERAL_POST_TYPE,
                        generate_action_ids(props or {}))
            self._ephemeral.setdefault(user_id, []).append(post)
        return post

    def ephemeral_for(self, user_id: str) -> list[Post]:
        with self._lock:
            return list(self._ephemeral.get(user_id, []))

    def open_dialog(self, user_id: str, request: dict[str, Any]) -> None:
        """The open_dialog event of app.OpenInteractiveDialog, as delivered to `user_id`."""
        with self._lock:
            self._dialogs.setdefault(user_id, []).append(request)

    def dialogs_for(self, user_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._dialogs.get(user_id, []))

    # ------------------------------------------------------------------------------- slash commands

    def create_command(self, *, team_id: str, creator_id: str, trigger: str, method: str, url: str,
                       **fields: Any) -> Command:
        """Store().Command().Save after app.createCommand's uniqueness check (triggers are per team)."""
        with self._lock:
            if any(c.team_id == team_id and c.trigger == trigger and not c.delete_at
                   for c in self._commands.values()):
                raise TriggerTaken(trigger)
            stamp = self._stamp(None)
            command = Command(random_id(), random_id(), stamp, stamp, creator_id, team_id, trigger, method, url,
                              **fields)
            self._commands[command.id] = command
        return command

    def commands(self, team_id: str) -> list[Command]:
        with self._lock:
            found = [c for c in self._commands.values() if c.team_id == team_id and not c.delete_at]
        return sorted(found, key=lambda c: (c.create_at, c.id))

    # ---------------------------------------------------------------------------------- incoming hooks

    def create_incoming_hook(self, *, channel_id: str, user_id: str, display_name: str = "",
                             description: str = "", username: str = "", icon_url: str = "",
                             channel_locked: bool = False) -> IncomingHook:
        with self._lock:
            channel = self._existing(channel_id)
            stamp = self._stamp(None)
            hook = IncomingHook(random_id(), stamp, stamp, user_id, channel_id, channel.team_id, display_name,
                                description, username, icon_url, channel_locked)
            self._hooks[hook.id] = hook
        return hook

    def incoming_hook(self, hook_id: str) -> IncomingHook | None:
        with self._lock:
            hook = self._hooks.get(hook_id)
        return hook if hook is not None and not hook.delete_at else None

    def post(self, post_id: str) -> Post | None:
        with self._lock:
            return self._posts.get(post_id)

    def threads(self, posts: Iterable[Post]) -> dict[str, Thread]:
        """Thread counts by post id; a reply reports its root's thread, as the non-collapsed API does."""
        with self._lock:
            return {p.id: self._threads.get(p.root_id or p.id, Thread()) for p in posts}

    def page(self, channel_id: str, page: int, per_page: int) -> PostPage:
        """Newest first, `page` pages of `per_page` skipped."""
        with self._lock:
            ids = self._live_ids(channel_id, newest_first=True)
            return self._page_of(ids, page * per_page, per_page, ids)

    def before(self, channel_id: str, post_id: str, page: int, per_page: int) -> PostPage:
        """Posts older than `post_id`, newest first; unknown anchors select nothing, as in SQL."""
        with self._lock:
            everything = [i for _, i in reversed(self._timeline.get(channel_id, []))]
            if post_id not in everything:
                return PostPage([], "", "", False)
            ids = self._live_ids(channel_id, newest_first=True)
            older = [i for i in everything[everything.index(post_id) + 1:] if not self._posts[i].delete_at]
            return self._page_of(older, page * per_page, per_page, ids)

    def after(self, channel_id: str, post_id: str, page: int, per_page: int) -> PostPage:
        """Posts newer than `post_id`: the `per_page` closest to it, answered newest first."""
        with self._lock:
            everything = [i for _, i in self._timeline.get(channel_id, [])]
            if post_id not in everything:
                return PostPage([], "", "", False)
            ids = self._live_ids(channel_id, newest_first=False)
            newer = [i for i in everything[everything.index(post_id) + 1:] if not self._posts[i].delete_at]
            chosen = newer[page * per_page:(page + 1) * per_page]
            more = len(newer) > (page + 1) * per_page
            return self._cursor_page(list(reversed(chosen)), list(reversed(ids)), more)

    def since(self, channel_id: str, since: int) -> list[Post]:
        """Posts updated after `since` (exclusive, like the server), with the roots of any replies among them,
        newest first. Deleted posts are among them (with their delete_at), as in upstream's GetPostsSince, so a poller
        learns of deletions. Mattermost caps the answer at SINCE_LIMIT without saying which posts it keeps; the
        simulator keeps the earliest-updated, so a poller that advances `since` catches up over a few polls."""
        with self._lock:
            changed = [self._posts[i] for _, i in self._timeline.get(channel_id, [])
                       if self._posts[i].update_at > since]
            changed.sort(key=lambda p: (p.update_at, p.id))
            kept = {p.id: p for p in changed[:SINCE_LIMIT]}
            for p in list(kept.values()):
                if p.root_id and p.root_id in self._posts:
                    kept.setdefault(p.root_id, self._posts[p.root_id])
        return sorted(kept.values(), key=lambda p: (p.create_at, p.id), reverse=True)

    def _live_ids(self, channel_id: str, *, newest_first: bool) -> list[str]:
        """The channel's posts that are not deleted (call with the lock held): the store's DeleteAt = 0."""
        timeline = self._timeline.get(channel_id, [])
        ordered = reversed(timeline) if newest_first else iter(timeline)
        return [i for _, i in ordered if not self._posts[i].delete_at]

    def _page_of(self, candidates: list[str], offset: int, limit: int, newest_first: list[str]) -> PostPage:
        window = candidates[offset:offset + limit]
        return self._cursor_page(window, newest_first, len(candidates) > offset + limit)

    def _cursor_page(self, window: list[str], newest_first: list[str], more: bool) -> PostPage:
        posts = [self._posts[i] for i in window]
        if not window:
            return PostPage([], "", "", more)
        top, bottom = newest_first.index(window[0]), newest_first.index(window[-1])
        next_id = newest_first[top - 1] if top > 0 else ""
        prev_id = newest_first[bottom + 1] if bottom + 1 < len(newest_first) else ""
        return PostPage(posts, next_id, prev_id, more)

    def _stamp(self, at: int | None) -> int:
        """Seed data brings its own (past) time; everything else gets a millisecond no one has had yet."""
        if at is not None:
            self._clock = max(self._clock, at)
            return at
        self._clock = max(int(time.time() * 1000), self._clock + 1)
        return self._clock


# -------------------------------------------------------------------------------------------- seed data

# (name, display name, type, purpose, the messages people post there)
_SEED_CHANNELS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    (DEFAULT_CHANNEL, "Town Square", OPEN, "", (
        "Reminder: the quarterly all-hands is on Thursday at 15:00.",
        "Welcome to everyone who joined this week!",
    )),
    ("off-topic", "Off-Topic", OPEN, "", (
        "Anyone up for lunch at the new place on the corner?",
        "The coffee machine on floor 3 is fixed.",
    )),
    ("ops-alerts", "Ops Alerts", OPEN, "Alerts from monitoring and the on-call rotation", (
        "[FIRING] api p99 latency above 1.5 s for 10 minutes",
        "[RESOLVED] api p99 latency back under 400 ms",
        "Disk usage on the file store crossed 80 %",
        "Certificate for the SSO endpoint renews in 14 days",
    )),
    ("support", "Support", OPEN, "Questions for the support team", (
        "A customer reports that mobile push notifications arrive late.",
        "Is the export of channel history available for guests?",
        "Password reset emails are landing in spam for one domain.",
    )),
    ("team-leads", "Team Leads", PRIVATE, "Coordination between team leads", (
        "Headcount planning draft is in the shared folder.",
        "Please review the on-call rotation before Friday.",
    )),
)


def seeded(scenario: Scenario) -> Messaging:
    """The scenario's teams with their memberships, standard channels and a few days of posts."""
    rng = random.Random(f"mattermost-simulator/{scenario.name}/messaging")
    store = Messaging()
    admin = scenario.admin
    plain = [a for a in scenario.accounts if not a.is_admin]
    for index, team in enumerate(scenario.teams):
        members = [admin, *(a for k, a in enumerate(plain) if _joins(index, k))]
        for account in members:
            store.add_team_member(team.id, account.id, admin=account.is_admin, at=team.create_at)
        _seed_team(store, rng, scenario.now_ms, team, members)
    return store


def _joins(team_index: int, plain_index: int) -> bool:
    """Everyone is in the first team; the second team holds the admin alone, so tests have a team the plain
    users are not in; beyond that each plain user joins a different share of the teams."""
    if team_index == 0:
        return True
    return team_index != 1 and team_index % (plain_index + 2) == 0


def _seed_team(store: Messaging, rng: random.Random, now: int, team: Team, members: list[Account]) -> None:
    admin = members[0]
    for name, display, kind, purpose, messages in _SEED_CHANNELS:
        channel = store.create_channel(team_id=team.id, name=name, display_name=display, type=kind,
                                       creator_id=admin.id, purpose=purpose, channel_id=new_id(rng),
                                       at=team.create_at + rng.randint(1, 3_600_000))
        # The private channel stays with the admin, so tests have a channel plain users cannot read.
        joined = [admin] if kind == PRIVATE else members
        for account in joined[1:]:
            store.add_member(channel.id, account.id, at=channel.create_at + 1)
        at = now - rng.randint(70, 96) * HOUR_MS
        for message in messages:
            at += rng.randint(2, 15) * HOUR_MS + rng.randint(0, 59_999)
            author = joined[rng.randrange(len(joined))]
            store.create_post(channel_id=channel.id, user_id=author.id, message=message, post_id=new_id(rng), at=at)
