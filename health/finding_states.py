"""The tracked findings of one environment in the store: one versioned document, so two runs that finish at once
never overwrite each other (the later one re-reads and applies its run again), and each run that opened or healed
something is audited with what (a run that changed nothing is not: the watcher would add an entry a minute)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from health.findings import Finding
from health.lifecycle import Change, Tracked, advance
from store import ConflictError, Store, StoreError

KIND = "finding_lifecycle"
KEY = "current"
ATTEMPTS = 5  # concurrent runs on one environment are rare; more conflicts than this mean something is wrong


@dataclass(frozen=True)
class EnvironmentState:
    environment: str
    findings: dict[str, Tracked]
    last_run_at: datetime | None
    sources: dict[str, dict[str, Any]]  # name -> status, elapsed_ms, error, as the last run saw them


def load_all(store: Store) -> list[EnvironmentState]:
    """Every environment's tracked findings and last run, for /metrics and the fleet view."""
    states = []
    for document in store.list(KIND):
        last = document.body.get("last_run") or {}
        states.append(EnvironmentState(
            document.environment,
            {key: Tracked.from_json(value) for key, value in document.body.get("findings", {}).items()},
            datetime.fromisoformat(last["at"]) if last.get("at") else None,
            dict(last.get("sources") or {})))
    return states


def load(store: Store, environment: str) -> dict[str, Tracked]:
    document = store.get(KIND, KEY, environment)
    if document is None:
        return {}
    return {key: Tracked.from_json(value) for key, value in document.body.get("findings", {}).items()}


def record_run(store: Store, environment: str, findings: Iterable[Finding], now: datetime, *, actor: str,
               sources: Mapping[str, Mapping[str, Any]] | None = None) -> tuple[dict[str, Tracked], list[Change]]:
    """Advance the environment's tracked findings by this run and store them, with how each source answered
    (`sources`: name -> status, elapsed_ms, error); returns the tracked findings and the changes."""
    findings = list(findings)
    for _ in range(ATTEMPTS):
        document = store.get(KIND, KEY, environment)
        previous = ({key: Tracked.from_json(value) for key, value in document.body.get("findings", {}).items()}
                    if document is not None else {})
        tracked, changes = advance(previous, findings, now)
        body = {"findings": {key: value.to_json() for key, value in tracked.items()},
                "last_run": {"at": now.isoformat(), "sources": dict(sources or {})}}
        details = {kind: [c.finding.fingerprint for c in changes if c.kind.value == kind]
                   for kind in ("new", "reopened", "resolved")}
        try:
            store.put(KIND, KEY, environment, body, actor=actor, at=now,
                      expected_version=document.version if document is not None else None,
                      audit_details={k: v for k, v in details.items() if v}, audit=bool(changes))
        except ConflictError:
            continue
        return tracked, changes
    raise StoreError(f"the findings of {environment} kept changing under this run ({ATTEMPTS} attempts); try again")
