"""Muted and acknowledged findings: who, why and until when, one versioned store document per finding.

A mute silences a finding until it expires: it does not fail `health check` and its changes are not announced.
An acknowledgement says someone is on it: the finding still counts, and the report says who has it. Both are
audited by the store; two people muting one finding at once get a conflict, never a lost update.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from health.lifecycle import fingerprint

if TYPE_CHECKING:
    from store import Store

KIND = "finding_mute"


class MuteKind(StrEnum):
    MUTE = "mute"
    ACKNOWLEDGE = "acknowledge"


@dataclass(frozen=True)
class Mute:
    code: str
    subject: str | None
    kind: MuteKind
    reason: str
    by: str
    at: datetime
    until: datetime | None  # None: until someone lifts it (acknowledgements only)
    version: int = 0  # the store document's version, for the next change

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.code, self.subject)

    def active(self, now: datetime) -> bool:
        return self.until is None or self.until > now

    def describe(self) -> str:
        until = f" until {self.until:%Y-%m-%d %H:%M} UTC" if self.until else ""
        verb = "muted" if self.kind is MuteKind.MUTE else "acknowledged"
        return f"{verb} by {self.by}{until}: {self.reason}"

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "subject": self.subject, "kind": self.kind.value, "reason": self.reason,
                "by": self.by, "at": self.at.isoformat(), "until": self.until.isoformat() if self.until else None}


class MuteError(ValueError):
    """The mute cannot be set as asked; the message says what to change."""


def set_mute(store: Store, environment: str, mute: Mute, *, expected_version: int | None) -> Mute:
    """Store the mute; `expected_version` is the version the person saw (None: there was none)."""
    if not mute.reason.strip():
        raise MuteError("say why: a mute without a reason cannot be reviewed later")
    if mute.kind is MuteKind.MUTE and mute.until is None:
        raise MuteError("a mute needs an end (--until); acknowledge instead to keep it until it is lifted")
    if mute.until is not None and mute.until <= mute.at:
        raise MuteError(f"--until {mute.until:%Y-%m-%d %H:%M} is not in the future")
    document = store.put(KIND, mute.fingerprint, environment, mute.body(), actor=mute.by, at=mute.at,
                         expected_version=expected_version,
                         audit_details={"change": mute.kind.value, "code": mute.code, "subject": mute.subject,
                                        "reason": mute.reason, "until": mute.until.isoformat() if mute.until else None})
    return _mute(document.body, document.version)


def lift(store: Store, environment: str, code: str, subject: str | None, *, by: str, at: datetime) -> Mute | None:
    """End a mute or acknowledgement now (kept, with its end set, so the history shows it); None if none was set."""
    current = get(store, environment, code, subject)
    if current is None or not current.active(at):
        return None
    lifted = Mute(current.code, current.subject, current.kind, current.reason, current.by, current.at, at)
    document = store.put(KIND, current.fingerprint, environment, lifted.body(), actor=by, at=at,
                         expected_version=current.version,
                         audit_details={"change": "lifted", "code": code, "subject": subject})
    return _mute(document.body, document.version)


def get(store: Store, environment: str, code: str, subject: str | None) -> Mute | None:
    document = store.get(KIND, fingerprint(code, subject), environment)
    return _mute(document.body, document.version) if document is not None else None


def silenced(in_force: Mapping[str, Mute], key: str) -> bool:
    """Whether the finding `key` (its fingerprint) is muted among the mutes in force: no alert, no failed check.
    An acknowledgement is not: it says someone is on it, and the finding still counts."""
    mute = in_force.get(key)
    return mute is not None and mute.kind is MuteKind.MUTE


def active(store: Store, environment: str, now: datetime) -> dict[str, Mute]:
    """The environment's mutes and acknowledgements in force now, by finding fingerprint."""
    mutes = (_mute(d.body, d.version) for d in store.list(KIND, environment))
    return {m.fingerprint: m for m in mutes if m.active(now)}


def _mute(body: dict[str, Any], version: int) -> Mute:
    return Mute(code=body["code"], subject=body.get("subject"), kind=MuteKind(body["kind"]), reason=body["reason"],
                by=body["by"], at=datetime.fromisoformat(body["at"]),
                until=datetime.fromisoformat(body["until"]) if body.get("until") else None, version=version)
