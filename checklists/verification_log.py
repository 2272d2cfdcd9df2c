"""What the live system said about each checklist item, remembered per environment, so that "was verified, now
fails" is a fact read from the store rather than a guess from one page load.

Each item's last verdict is one versioned document (kind "rollout_verification", key = item id) with body
``{"verdict", "evidence", "since", "verified_since"}``: ``since`` is when this verdict was first observed and
``verified_since`` (failed verdicts only) when the verdict it replaced became "verified". A document is written only
when the verdict changes to "verified" or "failed" ("unknown" is never stored), so every audit row of this
kind is a change of verdict: the item's history.

Using it from a page, on every run (the order does not matter, and reruns do not lose the flag):

    flagged = verification_log.regressions(store, env, verifications)  # failing now, verified before
    verification_log.record(store, env, verifications, actor=user)   # remember what was seen

A regression stays flagged while the item keeps failing (also across reruns and other viewers) and clears when
the system verifies it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from checklists.verify import Verdict, Verification
from store import ConflictError, Document, Store
from store.utc import utc_now

KIND = "rollout_verification"
# Verdicts are written only when they change, so this many rows of one item's history covers years.
HISTORY_SCAN_ROWS = 20_000


@dataclass(frozen=True)
class Change:
    """One item whose observed verdict differs from the stored one."""

    item_id: str
    before: Verdict | None  # the stored verdict when this observation was made; None: never observed
    after: Verdict
    evidence: str
    # The store now holds `after` (written by this call, or by another viewer at the same moment). Never for
    # "unknown": a source being down is not a change, so the stored verdict is kept.
    recorded: bool


@dataclass(frozen=True)
class Regression:
    """An item the system verified before and that fails now."""

    item_id: str
    verified_since: datetime  # when the system first saw it verified, before it failed
    failing_since: datetime  # when the failure was first observed (this observation's time if not yet recorded)
    evidence: str  # what the failing check saw


@dataclass(frozen=True)
class VerdictRecord:
    """One change of verdict from the audit log."""

    at: datetime
    actor: str
    verdict: Verdict
    evidence: str


def _when(now: datetime | None) -> datetime:
    if now is None:
        return utc_now()
    if now.tzinfo is None:
        raise ValueError(f"now={now.isoformat()} has no timezone: pass an aware time such as datetime.now(UTC)")
    return now


def _stored(store: Store, environment: str) -> dict[str, Document]:
    return {document.key: document for document in store.list(KIND, environment)}


def _verdict(document: Document | None) -> Verdict | None:
    return Verdict(document.body["verdict"]) if document is not None else None


def _body(verification: Verification, previous: Document | None, now: datetime) -> dict[str, Any]:
    verified_since = None
    if verification.verdict is Verdict.FAILED and previous is not None and _verdict(previous) is Verdict.VERIFIED:
        verified_since = previous.body["since"]
    return {"verdict": verification.verdict.value, "evidence": verification.evidence, "since": now.isoformat(),
            "verified_since": verified_since}


def record(store: Store, environment: str, verifications: dict[str, Verification], *, actor: str = "system",
           now: datetime | None = None) -> list[Change]:
    """Remember the verdicts that changed (one store write each); return every item whose verdict differs from the
    stored one, in the order given. "Unknown" is reported but never stored: a source being down is not a change.
    """
    return _record(store, environment, _stored(store, environment), verifications, actor=actor, now=_when(now))


def _record(store: Store, environment: str, stored: dict[str, Document], verifications: dict[str, Verification],
            *, actor: str, now: datetime) -> list[Change]:
    changes = []
    for item_id, verification in verifications.items():
        previous = stored.get(item_id)
        before = _verdict(previous)
        if verification.verdict is before:
            continue
        recorded = False
        if verification.verdict is not Verdict.UNKNOWN:
            recorded = _write(store, environment, item_id, verification, previous, actor=actor, now=now)
        changes.append(Change(item_id, before, verification.verdict, verification.evidence, recorded))
    return changes


def _write(store: Store, environment: str, item_id: str, verification: Verification, previous: Document | None,
           *, actor: str, now: datetime) -> bool:
    try:
        store.put(KIND, item_id, environment, _body(verification, previous, now), actor=actor,
                  expected_version=previous.version if previous else None,
                  audit_details={"verdict": verification.verdict.value, "evidence": verification.evidence})
    except ConflictError:
        # Another viewer observed the system at the same moment; their record stands (no retry loop, which could
        # make two viewers of a flapping source overwrite each other forever).
        return _verdict(store.get(KIND, item_id, environment)) is verification.verdict
    return True


def regressions(store: Store, environment: str, verifications: dict[str, Verification], *,
                now: datetime | None = None) -> list[Regression]:
    """Items failing in `verifications` that the store knows were verified before they failed."""
    return _regressions(_stored(store, environment), verifications, _when(now))


def observe(store: Store, environment: str, verifications: dict[str, Verification], *, actor: str = "system",
            now: datetime | None = None) -> list[Regression]:
    """What a page does on each visit, with one read of the stored verdicts: the regressions, then `record`."""
    now = _when(now)
    stored = _stored(store, environment)
    found = _regressions(stored, verifications, now)
    _record(store, environment, stored, verifications, actor=actor, now=now)
    return found


def _regressions(stored: dict[str, Document], verifications: dict[str, Verification],
                 now: datetime) -> list[Regression]:
    found = []
    for item_id, verification in verifications.items():
        document = stored.get(item_id)
        if verification.verdict is not Verdict.FAILED or document is None:
            continue
        body = document.body
        if _verdict(document) is Verdict.VERIFIED:  # not recorded as failing yet
            found.append(Regression(item_id, datetime.fromisoformat(body["since"]), now, verification.evidence))
        elif body.get("verified_since"):
            found.append(Regression(item_id, datetime.fromisoformat(body["verified_since"]),
                                    datetime.fromisoformat(body["since"]), verification.evidence))
    return found


def history(store: Store, environment: str, item_id: str) -> list[VerdictRecord]:
    """Changes of the system's verdict on one item, newest first."""
    target = f"{KIND}/{item_id}"
    return [VerdictRecord(entry.at, entry.actor, Verdict(entry.details["verdict"]), entry.details.get("evidence", ""))
            for entry in store.audit(limit=HISTORY_SCAN_ROWS, environment=environment, target_prefix=target)
            if entry.target == target and "verdict" in entry.details]
