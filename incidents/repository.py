"""Incidents in the store: one document per incident, its timeline in the audit log, an outbox of messages.

Each change of an incident is one ``store.put`` whose audit details carry the timeline event, so the new state and
its event are written in the same transaction: there is never a change without its event, nor the reverse.
Events that change nothing (a webhook delivered, a message forwarded) are plain audit records on the same target.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from incidents.models import ChecklistItem, Incident, Stage, TimelineEvent
from store import ConflictError, Document, Store

INCIDENT_KIND = "incident"
OUTBOX_KIND = "incident_outbox"
FEATURE_KIND = "feature"
FEATURE_KEY = "incidents"
ALL_ENVIRONMENTS = "all environments"
EVENT_ACTION = "incident.event"
TIMELINE_LIMIT = 1_000_000  # the audit API wants a limit; no incident gets near this many events

# Audit details the store adds itself, or that the event already carries in its own fields.
_BOOKKEEPING = frozenset({"event", "summary", "kind", "key", "version", "user_id"})

PENDING, SENT, FAILED = "pending", "sent", "failed"


def target(incident_id: str) -> str:
    """The audit target of everything about one incident (what ``store.put`` writes for the document too)."""
    return f"{INCIDENT_KIND}/{incident_id}"


# -- incidents ---------------------------------------------------------------------------------------------

def to_body(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "playbook_id": incident.playbook_id,
        "name": incident.name,
        "team_id": incident.team_id,
        "channel_id": incident.channel_id,
        "channel_name": incident.channel_name,
        "commander_id": incident.commander_id,
        "stages": [
            {"name": stage.name, "items": [
                {"id": item.id, "title": item.title, "checked_by": item.checked_by,
                 "checked_at": _iso(item.checked_at)} for item in stage.items]}
            for stage in incident.stages
        ],
        "stage_index": incident.stage_index,
        "started_at": _iso(incident.started_at),
        "started_by": incident.started_by,
        "ended_at": _iso(incident.ended_at),
        "ended_by": incident.ended_by,
        "source": incident.source,
    }


def from_document(document: Document) -> Incident:
    body = document.body
    return Incident(
        id=body["id"],
        environment=document.environment,
        playbook_id=body["playbook_id"],
        name=body["name"],
        team_id=body["team_id"],
        channel_id=body["channel_id"],
        channel_name=body["channel_name"],
        commander_id=body["commander_id"],
        stages=tuple(
            Stage(stage["name"], tuple(
                ChecklistItem(item["id"], item["title"], item.get("checked_by"), _datetime(item.get("checked_at")))
                for item in stage["items"]))
            for stage in body["stages"]
        ),
        stage_index=body["stage_index"],
        started_at=_datetime(body["started_at"]),
        started_by=body["started_by"],
        ended_at=_datetime(body.get("ended_at")),
        ended_by=body.get("ended_by"),
        source=body.get("source", "dashboard"),
        version=document.version,
    )


def load(store: Store, environment: str, incident_id: str) -> Incident | None:
    document = store.get(INCIDENT_KIND, incident_id, environment)
    return from_document(document) if document else None


def list_incidents(store: Store, environment: str) -> list[Incident]:
    """Every incident of the environment, newest start first."""
    incidents = [from_document(d) for d in store.list(INCIDENT_KIND, environment)]
    return sorted(incidents, key=lambda i: (i.started_at, i.id), reverse=True)


def save(store: Store, incident: Incident, *, event: str, summary: str, details: Mapping[str, Any] | None = None,
         user_id: str, actor: str, at: datetime | None = None) -> Incident:
    """Create (``incident.version`` None) or update the incident together with its timeline event.

    ``event`` is an EventType value, ``user_id`` who the timeline shows, ``actor`` who the audit log names (a
    username). The event's time is the store's write time, so the timeline's order is the order of the writes;
    ``at`` backdates it (the demo's past incidents). Raises ConflictError when someone else saved the incident
    since it was read.
    """
    document = store.put(INCIDENT_KIND, incident.id, incident.environment, to_body(incident), actor=actor,
                         expected_version=incident.version,
                         audit_details=_event_details(event, summary, details, user_id), at=at)
    return from_document(document)


def record_event(store: Store, environment: str, incident_id: str, *, event: str, summary: str,
                 details: Mapping[str, Any] | None = None, user_id: str, actor: str,
                 at: datetime | None = None) -> None:
    """An event that changes no state (a webhook delivered, a message forwarded); ``at`` backdates it."""
    store.record(actor, EVENT_ACTION, environment=environment, target=target(incident_id),
                 details=_event_details(event, summary, details, user_id), at=at)


def _event_details(event: str, summary: str, details: Mapping[str, Any] | None, user_id: str) -> dict[str, Any]:
    return {**(details or {}), "event": str(event), "summary": summary, "user_id": user_id}


def timeline(store: Store, environment: str, incident_id: str, limit: int = TIMELINE_LIMIT) -> list[TimelineEvent]:
    """Every event of the incident (or only the newest ``limit``), oldest first."""
    entries = store.audit(limit, environment=environment, target=target(incident_id))
    events = []
    for entry in reversed(entries):
        if "event" not in entry.details:
            continue
        details = entry.details
        events.append(TimelineEvent(
            at=entry.at,
            type=details["event"],
            actor=details.get("user_id") or entry.actor,
            summary=details.get("summary", ""),
            details={k: v for k, v in details.items() if k not in _BOOKKEEPING},
        ))
    return events


# -- outbox ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OutboxMessage:
    """A channel message Mattermost did not take yet; ``channel`` is a "team/channel" reference when the
    channel id could not be looked up either (a broadcast channel while Mattermost was down)."""

    key: str
    environment: str
    incident_id: str
    channel_id: str
    channel: str
    message: str
    props: dict[str, Any]
    status: str
    error: str
    attempts: int
    version: int


def queue_message(store: Store, environment: str, incident_id: str, *, message: str, actor: str,
                  channel_id: str = "", channel: str = "", props: Mapping[str, Any] | None = None,
                  error: str = "", status: str = PENDING) -> OutboxMessage:
    """Keep a message for later; ``status`` FAILED keeps one that will never go through, for people to see."""
    body = {"incident_id": incident_id, "channel_id": channel_id, "channel": channel, "message": message,
            "props": dict(props or {}), "status": status, "error": error, "attempts": 1}
    taken = [m for m in outbox(store, environment) if m.incident_id == incident_id]
    number = max((_number(m.key) for m in taken), default=0) + 1
    while True:
        key = f"{incident_id}:{number}"
        try:
            document = store.put(OUTBOX_KIND, key, environment, body, actor=actor, expected_version=None)
        except ConflictError:
            number += 1  # someone queued one for this incident at the same moment
            continue
        return _outbox_message(document)


def outbox(store: Store, environment: str, *, status: str | None = None) -> list[OutboxMessage]:
    """Queued messages in the order they were queued (per incident), optionally only those with ``status``."""
    messages = [_outbox_message(d) for d in store.list(OUTBOX_KIND, environment)]
    if status is not None:
        messages = [m for m in messages if m.status == status]
    return sorted(messages, key=lambda m: (m.incident_id, _number(m.key)))


def refused_messages(store: Store, environment: str) -> list[OutboxMessage]:
    """The messages Mattermost will never take (each with its answer in ``error``), for people to see and post
    by hand: the outbox no longer tries them."""
    return outbox(store, environment, status=FAILED)


def settle_message(store: Store, message: OutboxMessage, *, status: str, actor: str, error: str = "",
                   channel_id: str | None = None) -> None:
    """Mark a queued message sent, failed, or still pending after one more attempt."""
    body = {"incident_id": message.incident_id, "channel_id": channel_id or message.channel_id,
            "channel": message.channel, "message": message.message, "props": message.props, "status": status,
            "error": error, "attempts": message.attempts + 1}
    store.put(OUTBOX_KIND, message.key, message.environment, body, actor=actor, expected_version=message.version)


def _outbox_message(document: Document) -> OutboxMessage:
    body = document.body
    return OutboxMessage(
        key=document.key, environment=document.environment, incident_id=body["incident_id"],
        channel_id=body.get("channel_id", ""), channel=body.get("channel", ""), message=body["message"],
        props=body.get("props") or {}, status=body.get("status", PENDING), error=body.get("error", ""),
        attempts=int(body.get("attempts", 1)), version=document.version,
    )


def _number(key: str) -> int:
    return int(key.rsplit(":", 1)[1])


# -- feature toggle ----------------------------------------------------------------------------------------

def incidents_enabled(store: Store) -> bool:
    document = store.get(FEATURE_KIND, FEATURE_KEY, ALL_ENVIRONMENTS)
    return bool(document.body.get("enabled", True)) if document else True


def set_incidents_enabled(store: Store, enabled: bool, *, actor: str) -> None:
    """Turn the feature on or off; incidents, timelines and the outbox stay as they are either way."""
    current = store.get(FEATURE_KIND, FEATURE_KEY, ALL_ENVIRONMENTS)
    store.put(FEATURE_KIND, FEATURE_KEY, ALL_ENVIRONMENTS, {"enabled": enabled}, actor=actor,
              expected_version=current.version if current else None, audit_details={"enabled": enabled})


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _datetime(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
