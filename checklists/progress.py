"""Progress on checklist items, per environment, in the store: who changed what and when, never overwritten blind.

Each item's progress is one versioned document (kind "rollout_progress", key = item id); the store refuses a
save made against an older version (ConflictError) and writes an audit row for every change, which is the
item's history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from checklists.loader import Rollout
from store import Store

KIND = "rollout_progress"


class Status(StrEnum):
    TODO = "to do"
    IN_PROGRESS = "in progress"
    DONE = "done"
    NOT_APPLICABLE = "not applicable"


FINISHED = (Status.DONE, Status.NOT_APPLICABLE)  # not applicable counts as done


@dataclass(frozen=True)
class ItemProgress:
    item_id: str
    environment: str
    status: Status = Status.TODO
    owner: str = ""
    due: date | None = None
    notes: str = ""
    evidence_url: str = ""
    version: int | None = None  # None: never saved
    updated_by: str | None = None
    updated_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def overdue(self, today: date) -> bool:
        return self.due is not None and self.due < today and not self.finished

    def body(self) -> dict[str, Any]:
        return {"status": self.status.value, "owner": self.owner, "due": self.due.isoformat() if self.due else None,
                "notes": self.notes, "evidence_url": self.evidence_url}


@dataclass
class EnvironmentProgress:
    environment: str
    items: dict[str, ItemProgress] = field(default_factory=dict)  # saved items only
    orphaned: list[ItemProgress] = field(default_factory=list)  # saved for ids the checklist no longer has

    def get(self, item_id: str) -> ItemProgress:
        return self.items.get(item_id) or ItemProgress(item_id, self.environment)


def load(store: Store, rollout: Rollout, environment: str) -> EnvironmentProgress:
    """Every saved item of `environment`; progress for ids a newer checklist dropped is kept, as orphaned."""
    known = {item.id for _, _, item in rollout.items()}
    progress = EnvironmentProgress(environment)
    for document in store.list(KIND, environment):
        body = document.body
        item = ItemProgress(
            item_id=document.key, environment=environment, status=Status(body.get("status", Status.TODO.value)),
            owner=body.get("owner") or "", due=date.fromisoformat(body["due"]) if body.get("due") else None,
            notes=body.get("notes") or "", evidence_url=body.get("evidence_url") or "",
            version=document.version, updated_by=document.updated_by, updated_at=document.updated_at)
        if document.key in known:
            progress.items[document.key] = item
        else:
            progress.orphaned.append(item)
    return progress


def save(store: Store, item: ItemProgress, *, actor: str, at: datetime | None = None) -> ItemProgress:
    """Save one item; raises store.ConflictError when someone saved it since `item.version` was read. `at`
    backdates the save (imported history); it defaults to now."""
    document = store.put(KIND, item.item_id, item.environment, item.body(), actor=actor,
                         expected_version=item.version, audit_details={"status": item.status.value}, at=at)
    return ItemProgress(**{**item.__dict__, "version": document.version, "updated_by": document.updated_by,
                           "updated_at": document.updated_at})


def completion(rollout: Rollout, progress: EnvironmentProgress) -> list[dict[str, Any]]:
    """Per section: how many items are done (not-applicable ones count as done) out of how many."""
    rows = []
    for phase in rollout.phases:
        for section in phase.sections:
            statuses = [progress.get(item.id).status for item in section.items]
            done = sum(s in FINISHED for s in statuses)
            rows.append({"phase": phase.title, "section": f"{section.number}. {section.title}",
                         "items": len(statuses), "done": done, "in_progress": statuses.count(Status.IN_PROGRESS),
                         "percent": round(100 * done / len(statuses)) if statuses else 100})
    return rows


def history(store: Store, environment: str, item_ids: Iterable[str] | None = None, limit: int = 200) -> list:
    """Audit rows of progress changes, newest first (optionally for some items only)."""
    wanted = {f"{KIND}/{item_id}" for item_id in item_ids} if item_ids is not None else None
    rows = store.audit(limit=limit * 5 if wanted else limit, environment=environment, target_prefix=f"{KIND}/")
    return [entry for entry in rows if wanted is None or entry.target in wanted][:limit]
