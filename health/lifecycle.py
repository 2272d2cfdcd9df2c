"""A finding's life across runs: new, ongoing, resolved and reopened, with first and last seen.

A finding is known by its fingerprint: the rule's code and the subject it is about (a node, a plugin, a job type),
so the same problem on the same node is one finding however its observed value moves. Only a firing finding opens
one, and only an OK verdict resolves it: "unknown" (a source down) says nothing either way, so it changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from health.findings import Finding, State


class Status(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class ChangeKind(StrEnum):
    NEW = "new"
    REOPENED = "reopened"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Tracked:
    fingerprint: str
    code: str
    subject: str | None
    title: str
    severity: str
    status: Status
    first_seen: datetime  # the first time it ever fired
    last_seen: datetime  # the last run in which it fired
    opened_at: datetime  # when the current (or last) episode began
    resolved_at: datetime | None = None
    reopened: int = 0  # how often it came back after being resolved
    observed: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        for name in ("first_seen", "last_seen", "opened_at", "resolved_at"):
            data[name] = data[name].isoformat() if data[name] is not None else None
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Tracked:
        times = {name: datetime.fromisoformat(data[name]) if data.get(name) else None
                 for name in ("first_seen", "last_seen", "opened_at", "resolved_at")}
        return cls(fingerprint=str(data["fingerprint"]), code=str(data["code"]), subject=data.get("subject"),
                   title=str(data.get("title", "")), severity=str(data.get("severity", "")),
                   status=Status(data["status"]), reopened=int(data.get("reopened", 0)),
                   observed=str(data.get("observed", "")), **times)


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    finding: Tracked


def fingerprint(code: str, subject: str | None) -> str:
    """Stable across runs, versions and wording changes: the rule's code and its subject only."""
    return hashlib.sha256(f"{code}\x1f{subject or ''}".encode()).hexdigest()[:16]


def advance(previous: Mapping[str, Tracked], findings: Iterable[Finding], now: datetime
            ) -> tuple[dict[str, Tracked], list[Change]]:
    """The tracked findings after this run, and what changed (new, reopened, resolved)."""
    tracked = dict(previous)
    changes: list[Change] = []
    for finding in findings:
        key = fingerprint(finding.code, finding.subject)
        before = tracked.get(key)
        if finding.state is State.FIRING:
            if before is None:
                after = Tracked(key, finding.code, finding.subject, finding.title, finding.severity.value,
                                Status.OPEN, now, now, now, observed=finding.observed)
                changes.append(Change(ChangeKind.NEW, after))
            elif before.status is Status.RESOLVED:
                after = replace(before, status=Status.OPEN, last_seen=now, opened_at=now, resolved_at=None,
                                reopened=before.reopened + 1, observed=finding.observed, title=finding.title)
                changes.append(Change(ChangeKind.REOPENED, after))
            else:
                after = replace(before, last_seen=now, observed=finding.observed, title=finding.title)
            tracked[key] = after
        elif finding.state is State.OK and before is not None and before.status is Status.OPEN:
            after = replace(before, status=Status.RESOLVED, resolved_at=now, observed=finding.observed)
            tracked[key] = after
            changes.append(Change(ChangeKind.RESOLVED, after))
    return tracked, changes
