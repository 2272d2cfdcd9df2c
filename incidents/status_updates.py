"""Status updates: what responders tell everyone else about an incident, and reminders when one is overdue.

An update (``/incident update <text>``) goes on the timeline, into the incident channel and to the playbook's
announcement channels (its broadcast channels when it names none). A playbook with
``status_update_interval_minutes`` gets its commander reminded in the incident channel once per interval without
an update.

A due period is reminded exactly once across restarts and dashboard replicas sharing a store: the reminder takes a
claim document (kind "update_reminder", key "<incident id>:<due time in ms>") before it posts, and the store lets
only one writer create it. A worker that dies between its claim and its post loses that one reminder; the next
period is reminded as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from incidents import claims, repository
from incidents.mattermost_api import MattermostApiError
from incidents.models import Actor, EventType, Incident, TimelineEvent
from incidents.playbooks import Playbook
from incidents.service import IncidentError, IncidentService
from store import StoreError

log = logging.getLogger(__name__)

# Well under Mattermost's post limit (16,383 characters), leaving room for the heading; longer is a report, not an
# update, and belongs in a linked document.
STATUS_UPDATE_MAX_CHARS = 4_000
REMIND_EVERY_S = 60.0
CLAIM_KIND = "update_reminder"
REMINDER_ACTOR = Actor("system", "status update reminder", automation=True)


def announcement_channels(playbook: Playbook) -> list[str]:
    """Where updates are announced besides the incident channel; an empty list given in the playbook means none."""
    if playbook.announcement_channels is not None:
        return list(playbook.announcement_channels)
    return list(playbook.broadcast_channels)


async def post_status_update(service: IncidentService, incident_id: str, actor: Actor, message: str) -> Incident:
    """Post a status update of an active incident; only members of its channel (or automation) may.

    Raises IncidentError with a sentence for the person when the text is empty or longer than
    STATUS_UPDATE_MAX_CHARS, when they may not post, or when the incident has ended.
    """
    text = message.strip()
    if not text:
        raise IncidentError("Write the status update after the command, e.g. /incident update Rolled back the "
                            "release; error rate is falling.")
    if len(text) > STATUS_UPDATE_MAX_CHARS:
        raise IncidentError(f"A status update is at most {STATUS_UPDATE_MAX_CHARS:,} characters; this one has "
                            f"{len(text):,}. Shorten it, or link to a document with the details.")
    incident = await service.get(incident_id)
    playbook = service.playbooks.get(incident.playbook_id)
    return await service.post_event(
        incident_id, actor, event=EventType.STATUS_UPDATE,
        summary=f"{actor.mention} posted a status update: {text}", details={"message": text},
        message=f"**Status update** from {actor.mention}:\n\n{text}",
        broadcast=announcement_channels(playbook) if playbook else (),
        broadcast_message=f"**Status update** on **{incident.name}** (~{incident.channel_name}) from "
                          f"{actor.mention}:\n\n{text}")


def last_update(timeline: Sequence[TimelineEvent]) -> datetime | None:
    """When the newest status update was posted; None when there is none yet."""
    return max((e.at for e in timeline if e.type == EventType.STATUS_UPDATE), default=None)


def next_update_due(incident: Incident, timeline: Sequence[TimelineEvent], playbook: Playbook) -> datetime | None:
    """The playbook's interval after the newest status update (after the start when there is none); None when the
    playbook sets no interval or the incident has ended."""
    if playbook.status_update_interval_minutes is None or not incident.active:
        return None
    since = last_update(timeline) or incident.started_at
    return since + timedelta(minutes=playbook.status_update_interval_minutes)


async def remind_due(service: IncidentService, now: datetime) -> int:
    """Remind the commander of every active incident whose status update is due, once per interval; answers how
    many reminders were posted (or kept in the outbox while Mattermost does not take them)."""
    if not repository.incidents_enabled(service.store):
        return 0
    reminded = 0
    for incident in await service.list_active():
        playbook = service.playbooks.get(incident.playbook_id)
        if playbook is None or playbook.status_update_interval_minutes is None:
            continue
        timeline = service.timeline(incident.id)
        due = next_update_due(incident, timeline, playbook)
        if due is None or now < due:
            continue
        # Overdue for several intervals: each interval is its own period, reminded once.
        interval = timedelta(minutes=playbook.status_update_interval_minutes)
        period = due + (now - due) // interval * interval
        if not _claim(service, incident, period):
            continue
        with contextlib.suppress(IncidentError):  # ended or switched off since it was listed: nothing to remind
            await _remind(service, incident, timeline, period, now)
            reminded += 1
    return reminded


def _claim(service: IncidentService, incident: Incident, period: datetime) -> bool:
    """Whether this worker is the one to remind ``incident`` of ``period`` (no one did, nor is doing it now)."""
    key = f"{incident.id}:{int(period.timestamp() * 1000)}"
    return claims.claim(service.store, CLAIM_KIND, key, service.environment, actor=REMINDER_ACTOR.username) is not None


async def _remind(service: IncidentService, incident: Incident, timeline: Sequence[TimelineEvent],
                  period: datetime, now: datetime) -> None:
    last = last_update(timeline)
    minutes = int((now - (last or incident.started_at)).total_seconds() // 60)
    when = f"last one {minutes} min ago" if last else f"none since the start {minutes} min ago"
    commander = await _commander(service, incident, timeline)
    await service.post_event(
        incident.id, REMINDER_ACTOR, event=EventType.UPDATE_REMINDER, check=False,
        summary=f"Reminded {commander} that a status update is due ({when})",
        details={"due_at": period.isoformat(), "last_update_at": last.isoformat() if last else None,
                 "commander_id": incident.commander_id},
        message=f"{commander}, a status update for **{incident.name}** is due ({when}); post it with "
                "/incident update")


async def _commander(service: IncidentService, incident: Incident, timeline: Sequence[TimelineEvent]) -> str:
    """The commander's @mention; while Mattermost cannot tell, the name the timeline last gave them."""
    try:
        return "@" + (await service.api.user(incident.commander_id))["username"]
    except MattermostApiError:
        handovers = [e for e in timeline if e.type == EventType.COMMANDER_CHANGED
                     and e.details.get("to") == incident.commander_id and e.details.get("username")]
        return "@" + handovers[-1].details["username"] if handovers else "Commander"


async def remind_forever(service: IncidentService, stop: asyncio.Event, every_s: float = REMIND_EVERY_S,
                         clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
    """``remind_due`` every ``every_s`` seconds until ``stop`` is set; errors are logged when they change."""
    loop = asyncio.get_running_loop()
    reported = ""
    while not stop.is_set():
        started = loop.time()
        try:
            await remind_due(service, clock())
            error = ""
        except (StoreError, IncidentError, MattermostApiError) as exc:
            error = str(exc)
        if error and error != reported:
            log.warning("status update reminders in %s: %s", service.environment, error)
        reported = error
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=max(started + every_s - loop.time(), 0))
