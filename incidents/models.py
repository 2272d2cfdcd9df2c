"""What an incident is, as the dashboard keeps it: plain frozen values, no I/O.

An incident lives in one private Mattermost channel and follows one playbook: its stages (each a checklist),
the current stage, a commander, and a timeline of everything that happened. The store keeps it (kind
"incident"), so turning the feature off and on again loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    """Our timeline's event types; runs read from the Playbooks plugin keep the plugin's own type names."""

    STARTED = "incident_started"
    STAGE_CHANGED = "stage_changed"
    ITEM_CHECKED = "item_checked"
    ITEM_UNCHECKED = "item_unchecked"
    ITEM_ADDED = "item_added"
    ITEM_REMOVED = "item_removed"
    COMMANDER_CHANGED = "commander_changed"
    MESSAGE_FORWARDED = "message_forwarded"
    WEBHOOK_SENT = "webhook_sent"
    WEBHOOK_FAILED = "webhook_failed"
    STATUS_UPDATE = "status_update"
    UPDATE_REMINDER = "update_reminder"
    ENDED = "incident_ended"


@dataclass(frozen=True)
class ChecklistItem:
    id: str  # stable within the incident: items can be added and removed while others keep their id
    title: str
    checked_by: str | None = None  # user id
    checked_at: datetime | None = None

    @property
    def checked(self) -> bool:
        return self.checked_at is not None


@dataclass(frozen=True)
class Stage:
    name: str
    items: tuple[ChecklistItem, ...] = ()

    def item(self, item_id: str) -> ChecklistItem | None:
        return next((item for item in self.items if item.id == item_id), None)


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime  # when it happened (UTC)
    type: str  # an EventType value, or a Playbooks plugin event type for runs read from the plugin
    actor: str  # user id, or "system" / "automation"
    summary: str  # one sentence a person can read
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Incident:
    id: str
    environment: str
    playbook_id: str
    name: str
    team_id: str
    channel_id: str
    channel_name: str
    commander_id: str
    stages: tuple[Stage, ...]
    stage_index: int
    started_at: datetime
    started_by: str
    ended_at: datetime | None = None
    ended_by: str | None = None
    source: str = "dashboard"  # "dashboard", or "playbooks plugin" for runs read from the plugin's API
    version: int | None = None  # the store's version, for conflict-safe updates

    @property
    def active(self) -> bool:
        return self.ended_at is None

    @property
    def stage(self) -> Stage:
        return self.stages[self.stage_index]

    def with_stage(self, index: int, stage: Stage) -> Incident:
        stages = list(self.stages)
        stages[index] = stage
        return replace(self, stages=tuple(stages))


@dataclass(frozen=True)
class Actor:
    user_id: str
    username: str
    automation: bool = False  # authenticated automation: may change incidents without being a channel member

    @property
    def mention(self) -> str:
        return f"{self.username} (automation)" if self.automation else f"@{self.username}"
