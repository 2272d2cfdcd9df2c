"""Findings across runs: one fingerprint per rule and subject; new, ongoing, resolved, reopened; unknown changes
nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from health.findings import Finding, Severity, State
from health.lifecycle import ChangeKind, Status, Tracked, advance, fingerprint

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


def finding(state: State, code: str = "NODE_FD_EXHAUSTION", subject: str | None = "app-1",
            observed: str = "95%") -> Finding:
    return Finding(code, "Platform", Severity.CRITICAL, state, "A node is close to its open-file limit", observed,
                   "below 90%", "diagnostics.yaml", "raise the limit", "https://docs.mattermost.com", subject)


def test_fingerprint_is_rule_and_subject_only():
    assert fingerprint("A", "n1") == fingerprint("A", "n1") != fingerprint("A", "n2") != fingerprint("B", "n1")
    assert fingerprint("A", None) == fingerprint("A", "")


def test_new_ongoing_resolved_reopened():
    tracked, changes = advance({}, [finding(State.FIRING)], T0)
    assert [c.kind for c in changes] == [ChangeKind.NEW]
    key = changes[0].finding.fingerprint
    tracked, changes = advance(tracked, [finding(State.FIRING, observed="96%")], T0 + timedelta(minutes=5))
    assert changes == [] and tracked[key].last_seen == T0 + timedelta(minutes=5)
    assert tracked[key].first_seen == T0 and tracked[key].observed == "96%"
    tracked, changes = advance(tracked, [finding(State.OK)], T0 + timedelta(minutes=10))
    assert [c.kind for c in changes] == [ChangeKind.RESOLVED] and tracked[key].status is Status.RESOLVED
    tracked, changes = advance(tracked, [finding(State.FIRING)], T0 + timedelta(minutes=15))
    assert [c.kind for c in changes] == [ChangeKind.REOPENED]
    assert tracked[key].reopened == 1 and tracked[key].opened_at == T0 + timedelta(minutes=15)
    assert tracked[key].first_seen == T0


def test_unknown_neither_opens_nor_resolves():
    tracked, _ = advance({}, [finding(State.FIRING)], T0)
    after, changes = advance(tracked, [finding(State.UNKNOWN)], T0 + timedelta(minutes=5))
    assert changes == [] and after == tracked
    assert advance({}, [finding(State.UNKNOWN), finding(State.OK)], T0) == ({}, [])


def test_per_subject_findings_are_separate():
    tracked, changes = advance({}, [finding(State.FIRING, subject="app-1"), finding(State.FIRING, subject="app-2")],
                               T0)
    assert len(tracked) == 2 and len(changes) == 2
    _, changes = advance(tracked, [finding(State.OK, subject="app-1"), finding(State.FIRING, subject="app-2")], T0)
    assert [(c.kind, c.finding.subject) for c in changes] == [(ChangeKind.RESOLVED, "app-1")]


def test_round_trips_through_json():
    tracked, _ = advance({}, [finding(State.FIRING)], T0)
    value = next(iter(tracked.values()))
    assert Tracked.from_json(value.to_json()) == value
