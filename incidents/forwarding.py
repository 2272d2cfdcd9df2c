"""The forwarding worker: copies posts that match a playbook's rules from watched channels into the incident
channel, each exactly once, with a link to the original.

Exactly once across restarts and concurrent workers rests on the store, not on memory:
- a claim document (kind "forwarded", key "<incident id>:<post id>") is created before the copy is posted; the
  store lets only one writer create it, so two workers never both post the same copy;
- the claim says "pending" while a worker posts, "done" once the copy exists, "failed" when posting failed (the
  next run takes it again); a "pending" claim older than the lease belongs to a worker that died, and whoever
  takes it over first looks for the copy in the incident channel (our copies carry the original's id in their
  props) and posts only when it is not there;
- a cursor per incident and source channel (kind "forward_cursor") moves only past posts whose claims are done,
  and every poll re-reads a little before it, so a post is never skipped; re-read posts are dropped by their claim.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from incidents import repository
from incidents.mattermost_api import MattermostApiError
from incidents.models import EventType, Incident
from incidents.playbooks import ForwardingRule
from incidents.service import IncidentError, IncidentService
from store import ConflictError, Document, StoreError

log = logging.getLogger(__name__)
FORWARDED_FROM = "mmdash_forwarded_from"  # props key on our copies: the original post's id
CLAIM_KIND = "forwarded"
CURSOR_KIND = "forward_cursor"
ACTOR = "incident forwarder"
QUOTE_MAX_CHARS = 1_000
# Mattermost's `since` sees a post by its update time, which a cluster node stamps from its own clock and commits
# a moment later: a post can appear with a time just before the newest one already read. Re-reading this much
# before the cursor catches it; the claims drop what was already copied.
OVERLAP_MS = 5_000
# A worker holds a pending claim for at most this long (its post has long timed out by then); after it, the
# worker is taken for dead and another one finishes the copy.
LEASE_MS = 120_000
# How far before a dead worker's claim its copy may have been stamped: our clock and Mattermost's can differ.
CLOCK_SKEW_MS = 60_000

PENDING, DONE, FAILED = "pending", "done", "failed"
# Mentions that would notify a whole channel: a quoted "@channel" must not page everyone in the incident channel.
_CHANNEL_WIDE_MENTION = re.compile(r"@(all|channel|here)\b", re.IGNORECASE)
_ZERO_WIDTH_SPACE = "\u200b"


@dataclass(frozen=True)
class ForwardReport:
    copied: int = 0  # copies posted in this run
    skipped_duplicates: int = 0  # matching posts already copied (or being copied) by this or another worker
    errors: tuple[str, ...] = ()  # sentences a person can act on; what failed is retried on the next run


@dataclass
class _Tally:
    copied: int = 0
    skipped_duplicates: int = 0
    errors: list[str] = field(default_factory=list)

    def report(self) -> ForwardReport:
        return ForwardReport(self.copied, self.skipped_duplicates, tuple(self.errors))


# ------------------------------------------------------------------------------------------------ what to copy

def forwardable(post: Mapping[str, Any], incident: Incident) -> bool:
    """Posts no rule may forward: the incident channel's own, our copies, system messages, deleted posts and
    posts from before the incident started (a `since` answer brings old thread roots along with new replies)."""
    return (
        post.get("channel_id") != incident.channel_id
        and FORWARDED_FROM not in (post.get("props") or {})
        and not str(post.get("type") or "").startswith("system_")
        and not post.get("delete_at")
        and int(post.get("create_at") or 0) >= _ms(incident.started_at)
    )


def copy_message(message: str, *, author: str, channel_name: str, permalink: str) -> str:
    """The copy: who wrote it where, the original quoted (at most QUOTE_MAX_CHARS characters), and its link."""
    text = message if len(message) <= QUOTE_MAX_CHARS else message[:QUOTE_MAX_CHARS] + "…"
    text = _CHANNEL_WIDE_MENTION.sub(lambda m: f"@{_ZERO_WIDTH_SPACE}{m.group(1)}", text)
    first, *rest = text.split("\n")
    lines = [f"> **@{author}** in ~{channel_name}: {first}", *(f"> {line}" if line else ">" for line in rest)]
    return "\n".join([*lines, f"[Original message]({permalink})"])


# ------------------------------------------------------------------------------------------------- the worker

@dataclass(frozen=True)
class _Source:
    """A watched channel, resolved from the rule's "team-name/channel-name"."""

    team_name: str
    channel_id: str
    channel_name: str


class _Outcome(Enum):
    DONE = "done"  # copied now or before: the cursor may pass this post
    ELSEWHERE = "elsewhere"  # another worker holds the claim: later posts go on, the cursor waits
    FAILED = "failed"  # Mattermost refused or is down: stop this channel, retry next run


class Forwarder:
    def __init__(self, service: IncidentService, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        """Forwards with the service's store, Mattermost client, playbooks and environment."""
        self._service = service
        self._store = service.store
        self._api = service.api
        self._playbooks = service.playbooks
        self._environment = service.environment
        self._clock = clock
        self._worker = uuid.uuid4().hex  # names this worker in its claims, for whoever inspects them
        # Names resolved once per worker: channels and users rarely change, and 1,000 posts a minute must not
        # cost 1,000 lookups.
        self._sources: dict[str, _Source] = {}
        self._usernames: dict[str, str] = {}  # user id -> username

    async def run_forever(self, stop_event: asyncio.Event, every_s: float) -> None:
        """Forward (and flush the incident outbox) every ``every_s`` seconds until ``stop_event`` is set.
        Idles while the incidents feature is off. Errors are logged when they change, not every interval."""
        loop = asyncio.get_running_loop()
        reported: tuple[str, ...] = ()
        while not stop_event.is_set():
            started = loop.time()
            errors = (await self.forward_once()).errors
            if errors != reported:
                for error in errors:
                    log.warning("message forwarding in %s: %s", self._environment, error)
                reported = errors
            await self._flush_outbox()
            # Runs start every ``every_s`` however long each takes, so a post waits at most one interval.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_event.wait(), timeout=max(started + every_s - loop.time(), 0))

    async def forward_once(self) -> ForwardReport:
        """One pass over every active incident's rules; never raises for Mattermost or store trouble."""
        tally = _Tally()
        try:
            if not repository.incidents_enabled(self._store):
                return tally.report()
            incidents = await self._service.list_active()
        except (StoreError, IncidentError) as exc:
            tally.errors.append(f"Could not list the active incidents: {exc}")
            return tally.report()
        for incident in incidents:
            await self._forward_incident(incident, tally)
        return tally.report()

    async def _flush_outbox(self) -> None:
        try:
            if repository.incidents_enabled(self._store):
                await self._service.flush_outbox()
                if self._service.cards is not None:
                    await self._service.cards.catch_up()  # cards left behind while Mattermost was down
        except (StoreError, IncidentError, MattermostApiError):
            pass  # the outbox keeps what it could not post, and the next run tries again

    async def _forward_incident(self, incident: Incident, tally: _Tally) -> None:
        playbook = self._playbooks.get(incident.playbook_id)
        if playbook is None:
            tally.errors.append(f"Incident '{incident.name}' follows playbook '{incident.playbook_id}', which is not "
                                "loaded: its messages are not forwarded until the playbook file is back.")
            return
        for source_name, rules in _rules_by_source(playbook.forwarding).items():
            try:
                source = await self._source(source_name)
                if source.channel_id == incident.channel_id:
                    continue
                await self._forward_channel(incident, source, rules, tally)
            except MattermostApiError as exc:
                self._sources.pop(source_name, None)  # the channel may have been archived or renamed: look again
                tally.errors.append(f"Forwarding ~{source_name} into incident '{incident.name}': {exc}")
            except StoreError as exc:
                tally.errors.append(f"Forwarding ~{source_name} into incident '{incident.name}' stopped, the store "
                                    f"failed: {exc}")

    async def _forward_channel(self, incident: Incident, source: _Source, rules: list[ForwardingRule],
                               tally: _Tally) -> None:
        cursor_key = f"{incident.id}:{source.channel_id}"
        cursor = self._store.get(CURSOR_KIND, cursor_key, self._environment)
        since = int(cursor.body["since"]) if cursor else _ms(incident.started_at)
        posts = sorted(await self._api.posts_since(source.channel_id, max(since - OVERLAP_MS, 1)),
                       key=lambda p: (int(p["update_at"]), p["id"]))
        candidates = [p for p in posts if forwardable(p, incident)]
        await self._learn_usernames(p["user_id"] for p in candidates)  # rules match users by name
        wanted_ids = {p["id"] for p in candidates
                      if any(rule.matches(p.get("message") or "", self._username(p["user_id"])) for rule in rules)}
        reached, waiting = since, False
        for post in posts:
            if post["id"] in wanted_ids:
                outcome = await self._copy_once(incident, source, post, tally)
                if outcome is _Outcome.FAILED:
                    break
                waiting = waiting or outcome is _Outcome.ELSEWHERE
            if not waiting:
                reached = max(reached, int(post["update_at"]))
        self._move_cursor(cursor_key, cursor, reached)

    async def _copy_once(self, incident: Incident, source: _Source, post: Mapping[str, Any],
                         tally: _Tally) -> _Outcome:
        key = f"{incident.id}:{post['id']}"
        now = _ms(self._clock())
        claim = self._store.get(CLAIM_KIND, key, self._environment)
        abandoned_at: int | None = None  # when a dead or failed worker claimed it: its copy may already exist
        if claim is not None:
            status, claimed_at = claim.body.get("status"), int(claim.body.get("claimed_at", 0))
            if status == DONE or (status == PENDING and now - claimed_at < LEASE_MS):
                tally.skipped_duplicates += 1
                return _Outcome.DONE if status == DONE else _Outcome.ELSEWHERE
            abandoned_at = claimed_at
        try:
            claim = self._store.put(CLAIM_KIND, key, self._environment, self._claim_body(PENDING, now, incident),
                                    actor=ACTOR, expected_version=claim.version if claim else None)
        except ConflictError:
            tally.skipped_duplicates += 1  # another worker claimed it a moment ago
            return _Outcome.ELSEWHERE
        author = self._username(post["user_id"])
        try:
            copy_id = None
            if abandoned_at is not None:
                copy_id = await self._existing_copy(incident, post["id"], abandoned_at - CLOCK_SKEW_MS)
            if copy_id is None:
                message = copy_message(post.get("message") or "", author=author, channel_name=source.channel_name,
                                       permalink=self._api.permalink(source.team_name, post["id"]))
                created = await self._api.create_post(incident.channel_id, message, {FORWARDED_FROM: post["id"]})
                copy_id = created["id"]
                tally.copied += 1
            else:
                tally.skipped_duplicates += 1
        except MattermostApiError as exc:
            self._store.put(CLAIM_KIND, key, self._environment, self._claim_body(FAILED, now, incident),
                            actor=ACTOR, expected_version=claim.version)
            tally.errors.append(f"Could not copy a message from ~{source.channel_name} into incident "
                                f"'{incident.name}' (it will be retried): {exc}")
            return _Outcome.FAILED
        self._store.put(CLAIM_KIND, key, self._environment,
                        {**self._claim_body(DONE, now, incident), "copy_id": copy_id},
                        actor=ACTOR, expected_version=claim.version)
        repository.record_event(
            self._store, self._environment, incident.id, event=EventType.MESSAGE_FORWARDED,
            summary=f"Forwarded a message by @{author} from ~{source.channel_name}",
            details={"post_id": post["id"], "copy_id": copy_id, "source_channel_id": source.channel_id},
            user_id="system", actor=ACTOR,
        )
        return _Outcome.DONE

    def _claim_body(self, status: str, claimed_at: int, incident: Incident) -> dict[str, Any]:
        return {"status": status, "claimed_at": claimed_at, "worker": self._worker,
                "incident_channel_id": incident.channel_id}

    async def _existing_copy(self, incident: Incident, post_id: str, since_ms: int) -> str | None:
        """The id of our copy of ``post_id`` in the incident channel, if an earlier worker posted it."""
        for post in await self._api.posts_since(incident.channel_id, max(since_ms, 1)):
            if (post.get("props") or {}).get(FORWARDED_FROM) == post_id:
                return post["id"]
        return None

    def _move_cursor(self, key: str, cursor: Document | None, reached: int) -> None:
        """Move the cursor forward to ``reached``; a worker that got further first keeps its place."""
        for _ in range(3):
            if cursor is not None and int(cursor.body["since"]) >= reached:
                return
            try:
                self._store.put(CURSOR_KIND, key, self._environment, {"since": reached}, actor=ACTOR,
                                expected_version=cursor.version if cursor else None)
                return
            except ConflictError:
                cursor = self._store.get(CURSOR_KIND, key, self._environment)

    async def _source(self, name: str) -> _Source:
        if name not in self._sources:
            team_name, _, channel_name = name.partition("/")
            team = await self._api.team_by_name(team_name)
            channel = await self._api.channel_by_name(team["id"], channel_name)
            self._sources[name] = _Source(team_name, channel["id"], channel["name"])
        return self._sources[name]

    def _username(self, user_id: str) -> str:
        return self._usernames.get(user_id, user_id)

    async def _learn_usernames(self, user_ids: Iterable[str]) -> None:
        unknown = sorted(set(user_ids) - self._usernames.keys())
        if unknown:
            for user in await self._api.users_by_ids(unknown):
                self._usernames[user["id"]] = user["username"]


def _rules_by_source(rules: Iterable[ForwardingRule]) -> dict[str, list[ForwardingRule]]:
    """Rules grouped by the channel they watch, so each channel is read once per run however many rules name it."""
    grouped: dict[str, list[ForwardingRule]] = {}
    for rule in rules:
        for name in rule.source_channels:
            grouped.setdefault(name, []).append(rule)
    return grouped


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
