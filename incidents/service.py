"""Run an incident in Mattermost through its core REST API: start, change stage and checklist, hand over, end.

Everyone in the team may view and start incidents; only members of the incident's channel may change one
(automation, authenticated by the caller, may change any). Every change is saved with its timeline event, then
announced in the incident channel ("@alice moved the incident to stage **Mitigate**"). When Mattermost does not
take that message the change still stands: the message waits in the outbox and ``flush_outbox`` posts it later.
Starting is all or nothing: if anything fails after the channel was created, the channel is archived again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from incidents import repository
from incidents.card_posts import answering_click
from incidents.mattermost_api import MattermostApi, MattermostApiError, MattermostDown
from incidents.models import Actor, ChecklistItem, EventType, Incident, Stage, TimelineEvent
from incidents.playbooks import Playbook
from incidents.playbooks import channel_name as template_channel_name
from store import ConflictError, Store, StoreError

if TYPE_CHECKING:
    from incidents.card_posts import CardKeeper
    from incidents.webhooks import WebhookEvent, WebhookSender

log = logging.getLogger(__name__)

CHANNEL_NAME_ATTEMPTS = 20  # generated names get -2, -3, ... when taken; a person's own choice is never changed
DISPLAY_NAME_MAX = 64
CHANNEL_NAME_MAX = 64
# What people type is limited so that everything built from it stays within what Mattermost takes; each refusal
# names its limit. Mattermost counts runes, as len() counts a str's code points. Upstream: server/public/model/
# post.go (PostMessageMaxRunesV2), channel.go (ChannelPurposeMaxRunes 250), user.go (UserNameMaxLength 64).
POST_MESSAGE_MAX = 16383  # runes in one post (PostMessageMaxRunesV2)
NAME_MAX = 200  # incident name: the channel purpose "Incident: <name>" must fit ChannelPurposeMaxRunes (250)
ITEM_TITLE_MAX = 500  # a checklist item's title, and an item named in check/uncheck/remove
STAGE_NAME_MAX = 200
DETAILS_MAX = 8000  # what set the incident off, in its first message beside the checklist
COMMANDER_MAX = 65  # "@" and a username of UserNameMaxLength
_CHANNEL_NAME = re.compile(r"^[a-z0-9]+([a-z\-_0-9]+|(__)?)[a-z0-9]*$")
_USER_ID = re.compile(r"^[a-z0-9]{26}$")
_NAME_TAKEN = "store.sql_channel.save_channel.exists.app_error"
OUTBOX_MAX_ATTEMPTS = 10  # tries of a message Mattermost fails on (5xx) while it answers other calls
_TRY_LATER = frozenset({408, 429})  # request timeout, rate limited: not a refusal


class IncidentError(Exception):
    """Something the caller asked cannot be done; the message is a sentence for them (person or slash command)."""


class NotAllowed(IncidentError):
    pass


class NotFound(IncidentError):
    pass


class Unavailable(IncidentError):
    """Mattermost (or the store) is down: nothing was changed, the same request may work later."""


@dataclass(frozen=True)
class _Change:
    """What one change does: the new incident, its timeline event, the channel message and the webhook event."""

    incident: Incident
    event: EventType
    summary: str
    details: dict[str, Any]
    webhook: WebhookEvent | None


class IncidentService:
    def __init__(self, store: Store, api: MattermostApi, playbooks: dict[str, Playbook], environment: str,
                 webhooks: WebhookSender | None = None, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 cards: CardKeeper | None = None):
        self.store = store
        self.api = api
        self.playbooks = playbooks
        self.environment = environment
        self.webhooks = webhooks
        self.clock = clock
        self.cards = cards  # the pinned card in each incident channel, redrawn after every change

    # -- reading -------------------------------------------------------------------------------------------

    async def list_active(self, team_id: str | None = None) -> list[Incident]:
        """Active incidents, newest first; each carries its commander, stage, start time and channel."""
        return [i for i in await self.list_all() if i.active and (team_id is None or i.team_id == team_id)]

    async def list_all(self) -> list[Incident]:
        return repository.list_incidents(self.store, self.environment)

    async def get(self, incident_id: str) -> Incident:
        incident = repository.load(self.store, self.environment, incident_id)
        if incident is None:
            raise NotFound(f"There is no incident {incident_id!r} in {self.environment}.")
        return incident

    async def by_channel(self, channel_id: str) -> Incident | None:
        return next((i for i in await self.list_all() if i.channel_id == channel_id), None)

    async def by_channel_name(self, team_id: str, channel_name: str) -> Incident | None:
        wanted = channel_name.removeprefix("~")
        check_length("channel name", wanted, CHANNEL_NAME_MAX)
        return next((i for i in await self.list_all() if i.team_id == team_id and i.channel_name == wanted), None)

    def timeline(self, incident_id: str) -> list[TimelineEvent]:
        return repository.timeline(self.store, self.environment, incident_id)

    def pending_messages(self, incident_id: str | None = None) -> int:
        """Channel messages still waiting in the outbox (for one incident, or all): tell the caller after a change."""
        waiting = repository.outbox(self.store, self.environment, status=repository.PENDING)
        return sum(1 for m in waiting if incident_id is None or m.incident_id == incident_id)

    async def channel_urls(self, incidents: list[Incident]) -> dict[str, str]:
        """Incident id -> link to its channel, reading each team once; "" when Mattermost cannot tell the team."""
        teams: dict[str, str] = {}  # team id -> name
        for team_id in {incident.team_id for incident in incidents}:
            with contextlib.suppress(MattermostApiError):
                teams[team_id] = (await self.api.team(team_id))["name"]
        return {i.id: self.api.channel_url(teams[i.team_id], i.channel_name) if i.team_id in teams else ""
                for i in incidents}

    # -- starting ------------------------------------------------------------------------------------------

    async def start(self, actor: Actor, *, team_id: str, playbook_id: str, name: str,
                    channel_name: str | None = None, details: str | None = None) -> Incident:
        """Open an incident in a new channel; `details` (what set it off, e.g. a health finding's evidence and
        remediation) becomes part of the channel's first message."""
        self._require_enabled()
        playbook = self._playbook(playbook_id)
        name = " ".join(name.split())
        if not name:
            raise IncidentError("Give the incident a name, e.g. /incident start Checkout is down.")
        check_length("incident name", name, NAME_MAX)
        check_length("description", details or "", DETAILS_MAX)
        if channel_name is not None:
            channel_name = channel_name.removeprefix("~").strip()
            check_length("channel name", channel_name, CHANNEL_NAME_MAX)
            _check_channel_name(channel_name)
        if not actor.automation and not await self._in_team(team_id, actor):
            raise NotAllowed(f"@{actor.username} is not a member of this team, so cannot start an incident in it; "
                             "ask a team admin to add you.")
        starter = await self._starter(actor)
        now = self.clock()
        channel = await self._create_channel(team_id, playbook, name, channel_name, now)
        try:
            incident = await self._open(actor, starter, playbook, name, channel, now, details)
        except BaseException:
            await self._archive_quietly(channel["id"])
            raise
        if self.cards is not None:
            await self.cards.publish(incident)
        await self._broadcast(playbook, incident, actor,
                              f"{actor.mention} started the incident **{name}** in ~{incident.channel_name}.")
        await self._call_webhooks(playbook, "started", incident, actor, {})
        return incident

    async def _create_channel(self, team_id: str, playbook: Playbook, name: str, chosen: str | None,
                              now: datetime) -> dict[str, Any]:
        display = name[:DISPLAY_NAME_MAX]
        for attempt in range(1, CHANNEL_NAME_ATTEMPTS + 1):
            wanted = chosen or template_channel_name(playbook, name, now.date(), seq=attempt if attempt > 1 else None)
            try:
                return await self._mm(self.api.create_channel(team_id, wanted, display, private=True,
                                                              purpose=f"Incident: {name}"))
            except IncidentError as exc:
                cause = exc.__cause__
                if not (isinstance(cause, MattermostApiError) and cause.error_id == _NAME_TAKEN):
                    raise
                if chosen:
                    raise IncidentError(f"A channel named ~{chosen} already exists in this team: choose another "
                                        "channel name.") from None
        raise IncidentError(f"Could not find a free channel name for {name!r} after {CHANNEL_NAME_ATTEMPTS} tries: "
                            "give the channel name yourself.")

    async def _in_team(self, team_id: str, actor: Actor) -> bool:
        try:
            return await self._mm(self.api.is_team_member(team_id, actor.user_id))
        except IncidentError as exc:
            # Acting with the person's own token, Mattermost hides the memberships of teams they are not in.
            if _status_was(exc, 403):
                return False
            raise

    async def _starter(self, actor: Actor) -> Actor:
        """Who becomes commander: the person, or for automation the user it names (else the token's own user)."""
        if not actor.automation:
            return actor
        user = await self._mm(self.api.user(actor.user_id) if _USER_ID.match(actor.user_id) else self.api.me())
        return Actor(user["id"], user["username"])

    async def _open(self, actor: Actor, starter: Actor, playbook: Playbook, name: str, channel: dict[str, Any],
                    now: datetime, details: str | None = None) -> Incident:
        """Everything after the channel exists; any failure here makes ``start`` archive the channel."""
        starter_id = starter.user_id
        await self._mm(self.api.add_member(channel["id"], starter_id))
        stages = stages_from(playbook)
        incident = Incident(
            id=uuid.uuid4().hex, environment=self.environment, playbook_id=playbook.id, name=name,
            team_id=channel["team_id"], channel_id=channel["id"], channel_name=channel["name"],
            commander_id=starter_id, stages=stages, stage_index=0, started_at=now, started_by=starter_id,
        )
        await self._mm(self.api.create_post(channel["id"],
                                            _start_message(actor, starter, playbook, incident, details)))
        summary = f"{actor.mention} started the incident {name!r} with the playbook {playbook.name!r}."
        details = {"playbook_id": playbook.id, "channel_name": channel["name"], "stage": stages[0].name}
        try:
            return repository.save(self.store, incident, event=EventType.STARTED, summary=summary, details=details,
                                   user_id=starter_id, actor=actor.username)
        except StoreError as exc:
            raise Unavailable(f"The incident could not be saved ({exc}); its channel was archived again.") from exc

    async def _archive_quietly(self, channel_id: str) -> None:
        try:
            await self.api.archive_channel(channel_id)
        except MattermostApiError as exc:
            # The caller hears about the first failure; this one is for whoever reads the log.
            log.warning("could not archive the channel %s of an incident that failed to start: %s", channel_id, exc)

    # -- changing ------------------------------------------------------------------------------------------

    async def change_stage(self, incident_id: str, actor: Actor, to: str, *, seen: Incident | None = None
                           ) -> Incident:
        check_length("stage name", to, STAGE_NAME_MAX)

        def apply(incident: Incident) -> _Change:
            index = _stage_index(incident, to)
            if index == incident.stage_index:
                raise IncidentError(f"The incident is already in stage {incident.stage.name!r}.")
            stage = incident.stages[index].name
            return _Change(replace(incident, stage_index=index), EventType.STAGE_CHANGED,
                           f"{actor.mention} moved the incident to stage **{stage}**",
                           {"from": incident.stage.name, "to": stage}, "stage_changed")

        return await self._change(incident_id, actor, apply, seen=seen)

    async def set_item(self, incident_id: str, actor: Actor, item: str, checked: bool, *,
                       seen: Incident | None = None) -> Incident:
        check_length("checklist item", item, ITEM_TITLE_MAX)

        def apply(incident: Incident) -> _Change:
            index, found = _find_item(incident, item)
            if found.checked == checked:
                state = "checked" if checked else "not checked"
                raise IncidentError(f"{found.title!r} is already {state}.")
            stage = incident.stages[index]
            updated = replace(found, checked_by=actor.user_id if checked else None,
                              checked_at=self.clock() if checked else None)
            items = tuple(updated if i.id == found.id else i for i in stage.items)
            verb = "checked" if checked else "unchecked"
            return _Change(incident.with_stage(index, replace(stage, items=items)),
                           EventType.ITEM_CHECKED if checked else EventType.ITEM_UNCHECKED,
                           f"{actor.mention} {verb} **{found.title}** in stage **{stage.name}**",
                           {"item_id": found.id, "item": found.title, "stage": stage.name}, "checklist_changed")

        return await self._change(incident_id, actor, apply, seen=seen)

    async def add_item(self, incident_id: str, actor: Actor, title: str, stage: str | None = None) -> Incident:
        title = " ".join(title.split())
        if not title:
            raise IncidentError("Give the new checklist item a title.")
        check_length("checklist item title", title, ITEM_TITLE_MAX)
        check_length("stage name", stage or "", STAGE_NAME_MAX)

        def apply(incident: Incident) -> _Change:
            index = incident.stage_index if stage is None else _stage_index(incident, stage)
            target = incident.stages[index]
            new = ChecklistItem(_next_item_id(incident), title)
            return _Change(incident.with_stage(index, replace(target, items=(*target.items, new))),
                           EventType.ITEM_ADDED,
                           f"{actor.mention} added **{title}** to the checklist of stage **{target.name}**",
                           {"item_id": new.id, "item": title, "stage": target.name}, "checklist_changed")

        return await self._change(incident_id, actor, apply)

    async def remove_item(self, incident_id: str, actor: Actor, item: str) -> Incident:
        check_length("checklist item", item, ITEM_TITLE_MAX)

        def apply(incident: Incident) -> _Change:
            index, found = _find_item(incident, item)
            stage = incident.stages[index]
            items = tuple(i for i in stage.items if i.id != found.id)
            return _Change(incident.with_stage(index, replace(stage, items=items)), EventType.ITEM_REMOVED,
                           f"{actor.mention} removed **{found.title}** from the checklist of stage **{stage.name}**",
                           {"item_id": found.id, "item": found.title, "stage": stage.name}, "checklist_changed")

        return await self._change(incident_id, actor, apply)

    async def change_commander(self, incident_id: str, actor: Actor, new_commander: str, *,
                               seen: Incident | None = None) -> Incident:
        check_length("commander", new_commander.strip(), COMMANDER_MAX)
        user = await self._user(new_commander)

        async def join(incident: Incident) -> None:
            # The commander takes part in the channel; Mattermost refuses users outside the team.
            if user["id"] == incident.commander_id:
                return
            try:
                await self._mm(self.api.add_member(incident.channel_id, user["id"]))
            except IncidentError as exc:
                raise IncidentError(f"@{user['username']} cannot join the incident channel, so cannot be its "
                                    f"commander: {exc}") from exc

        def apply(incident: Incident) -> _Change:
            if user["id"] == incident.commander_id:
                raise IncidentError(f"@{user['username']} is already the commander.")
            return _Change(replace(incident, commander_id=user["id"]), EventType.COMMANDER_CHANGED,
                           f"{actor.mention} made @{user['username']} the commander",
                           {"from": incident.commander_id, "to": user["id"], "username": user["username"]}, None)

        return await self._change(incident_id, actor, apply, prepare=join, seen=seen)

    async def end(self, incident_id: str, actor: Actor, *, seen: Incident | None = None) -> Incident:
        def apply(incident: Incident) -> _Change:
            return _Change(replace(incident, ended_at=self.clock(), ended_by=actor.user_id), EventType.ENDED,
                           f"{actor.mention} ended the incident **{incident.name}**",
                           {"stage": incident.stage.name}, "ended")

        ended = await self._change(incident_id, actor, apply, allow_gone_channel=True, seen=seen)
        playbook = self.playbooks.get(ended.playbook_id)
        if playbook is not None:
            await self._broadcast(playbook, ended, actor, f"{actor.mention} ended the incident **{ended.name}**.")
        return ended

    async def _change(self, incident_id: str, actor: Actor, apply: Callable[[Incident], _Change], *,
                      allow_gone_channel: bool = False,
                      prepare: Callable[[Incident], Awaitable[None]] | None = None,
                      seen: Incident | None = None) -> Incident:
        """Check, apply, save (re-applying once on a concurrent save), then announce; the save is what counts.

        ``prepare`` runs once the actor is known to be allowed, before anything is saved (e.g. adding a member).
        ``seen`` is the incident as the caller just read it (a card click), which saves reading it again: the save
        is conditional on its version, so one changed meanwhile is read again and the change applied to that.
        """
        self._require_enabled()
        await self.flush_outbox()  # messages held back earlier go out before this one, keeping their order
        fresh = seen if seen is not None and seen.id == incident_id else await self.get(incident_id)
        incident = _still_active(fresh)
        channel_usable = await self._check_may_change(incident, actor, allow_gone_channel)
        if prepare is not None:
            await prepare(incident)
        change = apply(incident)
        try:
            saved = self._save(change, actor)
        except ConflictError:
            change = apply(_still_active(await self.get(incident_id)))  # someone saved first: apply ours to theirs
            saved = self._save(change, actor)
        if channel_usable:
            await self._announce(saved, change.summary + ".", actor)
        if self.cards is not None and answering_click.get() != saved.id:
            await self.cards.redraw(saved.id)  # a click on the card answers with the redrawn card itself
        if change.webhook is not None:
            await self._call_webhooks(self._playbook(saved.playbook_id), change.webhook, saved, actor, change.details)
        return saved

    def _save(self, change: _Change, actor: Actor) -> Incident:
        try:
            return repository.save(self.store, change.incident, event=change.event,
                                   summary=change.summary.replace("**", ""), details=change.details,
                                   user_id=actor.user_id, actor=actor.username)
        except ConflictError:
            raise
        except StoreError as exc:
            raise Unavailable(f"The change could not be saved ({exc}); nothing was changed.") from exc

    async def check_may_change(self, incident: Incident, actor: Actor) -> None:
        """Raise unless the actor may change the incident (before a form for a change is opened)."""
        await self._check_may_change(_still_active(incident), actor, False)

    async def _check_may_change(self, incident: Incident, actor: Actor, allow_gone_channel: bool) -> bool:
        """Raise unless the actor may change the incident now; answers whether its channel can take messages.
        The channel and the membership are asked at once: a click waits for one round trip, not two."""
        asks = [self._mm(self.api.channel(incident.channel_id))]
        if not actor.automation:
            asks.append(self._mm(self.api.is_channel_member(incident.channel_id, actor.user_id)))
        answers = await asyncio.gather(*asks, return_exceptions=True)
        channel_answer = _raise_unexpected(answers[0])
        channel: dict[str, Any] | None = channel_answer
        if isinstance(channel_answer, IncidentError):
            if not _status_was(channel_answer, 404):
                raise channel_answer
            channel = None  # deleted for good
        gone = channel is None or bool(channel.get("delete_at"))
        if gone and not allow_gone_channel:
            raise IncidentError(f"The incident channel ~{incident.channel_name} was archived or deleted, so the "
                                "incident cannot be changed: restore the channel in Mattermost, or end the incident.")
        # Membership outlives archiving; a channel deleted for good leaves no one to ask, so ending it is open.
        if actor.automation or channel is None:
            return not gone
        member = _raise_unexpected(answers[1])
        if isinstance(member, IncidentError):
            raise member
        if not member:
            raise NotAllowed(f"@{actor.username} is not a member of ~{incident.channel_name}; only members of the "
                             "incident channel may change the incident. Ask someone in the channel to add you.")
        return not gone

    # -- messages ------------------------------------------------------------------------------------------

    async def post_event(self, incident_id: str, actor: Actor, *, event: EventType, summary: str, message: str,
                         details: dict[str, Any] | None = None, broadcast: Sequence[str] = (),
                         broadcast_message: str = "", check: bool = True) -> Incident:
        """Keep an event that changes no state (a status update) on the timeline, then post ``message`` in the
        incident channel and ``broadcast_message`` in the ``broadcast`` channels ("team/channel"); what Mattermost
        does not take waits in the outbox. Checked like a change, except with ``check=False``: the dashboard's own
        messages (a reminder) have no actor to check and are kept even while Mattermost cannot be asked."""
        self._require_enabled()
        await self.flush_outbox()  # messages held back earlier go out before this one, keeping their order
        incident = _still_active(await self.get(incident_id))
        channel_usable = await self._check_may_change(incident, actor, False) if check else True
        try:
            repository.record_event(self.store, self.environment, incident.id, event=event, summary=summary,
                                    details=details, user_id=actor.user_id, actor=actor.username)
        except StoreError as exc:
            raise Unavailable(f"It could not be saved ({exc}); nothing was posted.") from exc
        if channel_usable:
            await self._announce(incident, message, actor)
        await self._post_to_channels(broadcast, incident, actor, broadcast_message or message)
        return incident

    async def _announce(self, incident: Incident, message: str, actor: Actor) -> None:
        try:
            await self.api.create_post(incident.channel_id, message)
        except MattermostApiError as exc:
            log.warning("incident %s: message kept in the outbox: %s", incident.id, exc)
            repository.queue_message(self.store, self.environment, incident.id, channel_id=incident.channel_id,
                                     message=message, actor=actor.username, error=exc.sentence,
                                     status=_outbox_status(exc))

    async def _broadcast(self, playbook: Playbook, incident: Incident, actor: Actor, message: str) -> None:
        await self._post_to_channels(playbook.broadcast_channels, incident, actor, message)

    async def _post_to_channels(self, refs: Sequence[str], incident: Incident, actor: Actor, message: str) -> None:
        for ref in refs:
            try:
                channel_id = await self._resolve_channel(ref)
                await self.api.create_post(channel_id, message)
            except MattermostApiError as exc:
                log.warning("incident %s: broadcast to %s kept in the outbox: %s", incident.id, ref, exc)
                repository.queue_message(self.store, self.environment, incident.id, channel=ref, message=message,
                                         actor=actor.username, error=exc.sentence, status=_outbox_status(exc))

    async def _resolve_channel(self, ref: str) -> str:
        team_name, channel = ref.split("/", 1)
        team = await self.api.team_by_name(team_name)
        return (await self.api.channel_by_name(team["id"], channel))["id"]

    async def flush_outbox(self) -> int:
        """Post the messages Mattermost did not take before, oldest first. Stops at the first one it cannot take
        yet (down, rate limited), keeping the rest in order; marks as failed, with Mattermost's answer, those it
        refuses for good (a 4xx: channel gone, message too long) and those it still fails on after
        OUTBOX_MAX_ATTEMPTS tries while it answers other calls, so none blocks the ones behind it forever.
        Answers how many were posted."""
        posted = 0
        for message in repository.outbox(self.store, self.environment, status=repository.PENDING):
            try:
                channel_id = message.channel_id or await self._resolve_channel(message.channel)
                await self.api.create_post(channel_id, message.message, message.props)
            except MattermostApiError as exc:
                if _outbox_status(exc) == repository.FAILED:
                    self._settle(message, repository.FAILED, exc.sentence)
                    continue
                if exc.status in _TRY_LATER or not await self._answering():
                    return posted  # Mattermost itself cannot take messages now: the next flush tries again
                if message.attempts + 1 >= OUTBOX_MAX_ATTEMPTS:
                    self._settle(message, repository.FAILED, f"{exc.sentence} (given up after "
                                 f"{OUTBOX_MAX_ATTEMPTS} tries while Mattermost answered other calls)")
                    continue
                self._settle(message, repository.PENDING, exc.sentence)
                return posted
            self._settle(message, repository.SENT, "", channel_id)
            posted += 1
        return posted

    def _settle(self, message: repository.OutboxMessage, status: str, error: str, channel_id: str | None = None
                ) -> None:
        with contextlib.suppress(ConflictError):  # another replica flushed it at the same moment
            repository.settle_message(self.store, message, status=status, error=error, actor="system",
                                      channel_id=channel_id)

    async def _answering(self) -> bool:
        """Whether Mattermost answers at all, to tell it being down from it failing on one message."""
        try:
            await self.api.me()
        except MattermostApiError:
            return False
        return True

    async def _call_webhooks(self, playbook: Playbook, event: WebhookEvent, incident: Incident, actor: Actor,
                             details: dict[str, Any]) -> None:
        if self.webhooks is None or not playbook.webhooks:
            return
        for delivery in await self.webhooks.send(playbook, event, incident, actor, details):
            summary = (f"The webhook {delivery.url} took the {event} event (HTTP {delivery.status})." if delivery.ok
                       else f"The {event} event was not delivered: {delivery.error}")
            repository.record_event(
                self.store, self.environment, incident.id,
                event=EventType.WEBHOOK_SENT if delivery.ok else EventType.WEBHOOK_FAILED, summary=summary,
                details={"url": delivery.url, "status": delivery.status, "trigger": event,
                         "elapsed_ms": delivery.elapsed_ms},  # already rounded to 0.1 ms
                user_id=actor.user_id, actor=actor.username)

    # -- helpers -------------------------------------------------------------------------------------------

    def _require_enabled(self) -> None:
        if not repository.incidents_enabled(self.store):
            raise IncidentError("Incidents are turned off in the dashboard; an admin can turn them on again "
                                "(nothing was lost).")

    def _playbook(self, playbook_id: str) -> Playbook:
        playbook = self.playbooks.get(playbook_id)
        if playbook is None:
            known = ", ".join(sorted(self.playbooks)) or "none are loaded"
            raise NotFound(f"There is no playbook {playbook_id!r}; playbooks: {known}.")
        return playbook

    async def _user(self, who: str) -> dict[str, Any]:
        who = who.strip()
        try:
            if _USER_ID.match(who):
                return await self._mm(self.api.user(who))
            return await self._mm(self.api.user_by_username(who))
        except IncidentError as exc:
            if _status_was(exc, 404):
                raise NotFound(f"There is no Mattermost user {who!r}; give a @username.") from exc
            raise

    async def _mm(self, call: Any) -> Any:
        """Await a Mattermost call, turning its failure into the caller's IncidentError (cause kept)."""
        try:
            return await call
        except MattermostDown as exc:
            raise Unavailable(f"{exc.sentence} Nothing was changed.") from exc
        except MattermostApiError as exc:
            raise IncidentError(exc.sentence) from exc


def _outbox_status(exc: MattermostApiError) -> str:
    """Mattermost being down, timing out or rate limiting is worth another try; a refusal (any other 4xx: channel
    archived, no permission, message too long) is not."""
    try_later = isinstance(exc, MattermostDown) or exc.status in _TRY_LATER
    return repository.PENDING if try_later else repository.FAILED


def _raise_unexpected(answer: Any) -> Any:
    """An answer of asyncio.gather(return_exceptions=True): raised again unless it is an IncidentError to judge."""
    if isinstance(answer, BaseException) and not isinstance(answer, IncidentError):
        raise answer
    return answer


def _status_was(exc: IncidentError, status: int) -> bool:
    """Whether Mattermost answered the call behind ``exc`` with ``status`` (not a failure to answer)."""
    cause = exc.__cause__
    return isinstance(cause, MattermostApiError) and not isinstance(cause, MattermostDown) and cause.status == status


def _still_active(incident: Incident) -> Incident:
    if not incident.active:
        raise IncidentError(f"The incident {incident.name!r} has ended; ended incidents cannot be changed.")
    return incident


def stages_from(playbook: Playbook) -> tuple[Stage, ...]:
    number = 0
    stages = []
    for stage in playbook.stages:
        items = []
        for title in stage.items:
            number += 1
            items.append(ChecklistItem(f"i{number}", title))
        stages.append(Stage(stage.name, tuple(items)))
    return tuple(stages)


def _next_item_id(incident: Incident) -> str:
    numbers = [int(i.id[1:]) for s in incident.stages for i in s.items if i.id[:1] == "i" and i.id[1:].isdigit()]
    return f"i{max(numbers, default=0) + 1}"


def _stage_index(incident: Incident, to: str) -> int:
    wanted = " ".join(to.casefold().split())
    last = len(incident.stages) - 1
    if wanted == "next":
        if incident.stage_index == last:
            raise IncidentError(f"The incident is already in its last stage ({incident.stage.name!r}); end it instead.")
        return incident.stage_index + 1
    if wanted in ("prev", "previous"):
        if incident.stage_index == 0:
            raise IncidentError(f"The incident is already in its first stage ({incident.stage.name!r}).")
        return incident.stage_index - 1
    for index, stage in enumerate(incident.stages):
        if " ".join(stage.name.casefold().split()) == wanted:
            return index
    names = ", ".join(s.name for s in incident.stages)
    raise IncidentError(f"There is no stage {to!r} in this incident; its stages are: {names} (or next, prev).")


def _find_item(incident: Incident, item: str) -> tuple[int, ChecklistItem]:
    """By id anywhere, by 1-based number in the current stage, or by title (current stage first)."""
    wanted = item.strip()
    for index, stage in enumerate(incident.stages):
        found = stage.item(wanted)
        if found is not None:
            return index, found
    current = incident.stage
    if wanted.isdigit():
        number = int(wanted)
        if 1 <= number <= len(current.items):
            return incident.stage_index, current.items[number - 1]
        raise IncidentError(f"Stage {current.name!r} has {len(current.items)} checklist items; there is no "
                            f"number {number}.")
    title = " ".join(wanted.casefold().split())
    order = [incident.stage_index, *(i for i in range(len(incident.stages)) if i != incident.stage_index)]
    for index in order:
        matches = [i for i in incident.stages[index].items if " ".join(i.title.casefold().split()) == title]
        if matches:
            return index, matches[0]
    listed = "; ".join(f"{n}. {i.title}" for n, i in enumerate(current.items, 1)) or "none"
    raise IncidentError(f"There is no checklist item {item!r}; items in stage {current.name!r}: {listed}.")


def _check_channel_name(name: str) -> None:
    if not (2 <= len(name) <= CHANNEL_NAME_MAX and _CHANNEL_NAME.match(name)):
        raise IncidentError(f"{name!r} is not a valid channel name: use 2 to 64 lowercase letters, digits, '-' "
                            "and '_', starting and ending with a letter or digit.")


def _start_message(actor: Actor, commander: Actor, playbook: Playbook, incident: Incident,
                   details: str | None = None) -> str:
    head = [f"{actor.mention} started the incident **{incident.name}** with the playbook **{playbook.name}**.",
            *([details.strip()] if details and details.strip() else []),
            f"Commander: {commander.mention}. Stage: **{incident.stage.name}**.", ""]
    items = [f"{n}. [ ] {item.title}" for n, item in enumerate(incident.stage.items, 1)]
    return fit_lines("\n".join(head), items, "\nChange it with /incident stage next, /incident check <number>, "
                     "/incident end.")


def check_length(what: str, value: str, limit: int) -> None:
    """Refuse text longer than ``limit`` characters (runes, as Mattermost counts them), naming the limit."""
    if len(value) > limit:
        raise IncidentError(f"The {what} is {len(value):,} characters long; at most {limit:,} are allowed.")


def fit_lines(head: str, lines: Sequence[str], tail: str = "", *, limit: int = POST_MESSAGE_MAX) -> str:
    """``head``, ``lines`` and ``tail`` one a line, leaving out the last lines ("… and N more") so that the text
    stays within ``limit`` characters: a long checklist is shortened rather than the whole post refused."""
    whole = "\n".join([head, *lines, *([tail] if tail else [])])
    if len(whole) <= limit:
        return whole
    room = limit - len(head) - len(tail) - len(f"\n… and {len(lines):,} more\n")
    kept: list[str] = []
    for line in lines:
        if len(line) + 1 > room:
            break
        kept.append(line)
        room -= len(line) + 1
    more = f"… and {len(lines) - len(kept):,} more"
    return "\n".join([head, *kept, more, *([tail] if tail else [])])[:limit]
