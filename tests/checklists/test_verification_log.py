"""The system's verdicts remembered in the real store (SQLite and PostgreSQL): regressions, quiet writes, races."""

from datetime import UTC, datetime

import pytest

from checklists import verification_log
from checklists.verification_log import Change
from checklists.verify import Verdict, Verification

ITEM = "prepare.security-compliance.mfa"
OTHER = "prepare.environments.smtp"
MONDAY, TUESDAY, WEDNESDAY = (datetime(2026, 3, day, 9, 0, tzinfo=UTC) for day in (2, 3, 4))
VERIFIED = Verification(Verdict.VERIFIED, "EnforceMultifactorAuthentication = True (config)")
FAILED = Verification(Verdict.FAILED, "EnforceMultifactorAuthentication = False (config)")
UNKNOWN = Verification(Verdict.UNKNOWN, "cannot verify: the config could not be read")


def verdict_rows(store, environment="production"):
    return [entry for entry in store.audit(limit=1000, environment=environment)
            if entry.target and entry.target.startswith(f"{verification_log.KIND}/")]


def stored_verdict(store, item_id=ITEM, environment="production"):
    return store.get(verification_log.KIND, item_id, environment).body["verdict"]


def test_verified_then_failing_is_a_regression_until_verified_again(store):
    verification_log.record(store, "production", {ITEM: VERIFIED, OTHER: FAILED}, now=MONDAY)

    before_recording = verification_log.regressions(store, "production", {ITEM: FAILED, OTHER: FAILED}, now=TUESDAY)
    assert [(r.item_id, r.verified_since, r.failing_since, r.evidence) for r in before_recording] == [
        (ITEM, MONDAY, TUESDAY, FAILED.evidence)]  # OTHER never passed: failing, but not a regression

    changes = verification_log.record(store, "production", {ITEM: FAILED, OTHER: FAILED}, now=TUESDAY)
    assert changes == [Change(ITEM, Verdict.VERIFIED, Verdict.FAILED, FAILED.evidence, recorded=True)]

    # The next page run (or another viewer) still sees it, with the time the failure was first seen.
    rerun = verification_log.regressions(store, "production", {ITEM: FAILED}, now=WEDNESDAY)
    assert [(r.verified_since, r.failing_since) for r in rerun] == [(MONDAY, TUESDAY)]
    assert verification_log.regressions(store, "staging", {ITEM: FAILED}) == []  # per environment

    verification_log.record(store, "production", {ITEM: VERIFIED}, now=WEDNESDAY)
    assert verification_log.regressions(store, "production", {ITEM: VERIFIED}) == []


def test_unknown_is_reported_but_never_clears_what_was_seen(store):
    verification_log.record(store, "production", {ITEM: VERIFIED}, now=MONDAY)
    verification_log.record(store, "production", {ITEM: FAILED}, now=TUESDAY)

    changes = verification_log.record(store, "production", {ITEM: UNKNOWN, OTHER: UNKNOWN}, now=WEDNESDAY)
    assert changes == [Change(ITEM, Verdict.FAILED, Verdict.UNKNOWN, UNKNOWN.evidence, recorded=False),
                       Change(OTHER, None, Verdict.UNKNOWN, UNKNOWN.evidence, recorded=False)]
    assert stored_verdict(store) == "failed"
    assert store.get(verification_log.KIND, OTHER, "production") is None
    assert verification_log.regressions(store, "production", {ITEM: UNKNOWN}) == []  # cannot tell right now

    # Once the source answers again and still fails, the regression is the same one, failing since Tuesday.
    [again] = verification_log.regressions(store, "production", {ITEM: FAILED})
    assert (again.verified_since, again.failing_since) == (MONDAY, TUESDAY)


def test_an_unchanged_verdict_writes_nothing(store):
    assert verification_log.record(store, "production", {ITEM: VERIFIED}, now=MONDAY) == [
        Change(ITEM, None, Verdict.VERIFIED, VERIFIED.evidence, recorded=True)]
    reworded = Verification(Verdict.VERIFIED, "EnforceMultifactorAuthentication = True (packet)")
    for _ in range(3):
        assert verification_log.record(store, "production", {ITEM: reworded}) == []
    assert len(verdict_rows(store)) == 1
    assert store.get(verification_log.KIND, ITEM, "production").version == 1


class RacingStore:
    """The real store, but another viewer's observation lands between our read and our first write."""

    def __init__(self, store, other_viewer):
        self._store = store
        self._other_viewer = other_viewer

    def __getattr__(self, name):
        return getattr(self._store, name)

    def put(self, *args, **kwargs):
        if self._other_viewer is not None:
            other, self._other_viewer = self._other_viewer, None
            other()
        return self._store.put(*args, **kwargs)


def test_a_viewer_recording_the_same_observation_first_is_tolerated(store):
    verification_log.record(store, "production", {ITEM: VERIFIED}, now=MONDAY)
    racing = RacingStore(store, lambda: verification_log.record(store, "production", {ITEM: FAILED}, actor="lee"))

    changes = verification_log.record(racing, "production", {ITEM: FAILED, OTHER: VERIFIED}, actor="dana")

    assert changes == [Change(ITEM, Verdict.VERIFIED, Verdict.FAILED, FAILED.evidence, recorded=True),
                       Change(OTHER, None, Verdict.VERIFIED, VERIFIED.evidence, recorded=True)]  # carried on
    assert [(row.actor, row.target) for row in verdict_rows(store)[:2]] == [
        ("dana", f"{verification_log.KIND}/{OTHER}"), ("lee", f"{verification_log.KIND}/{ITEM}")]
    assert verification_log.regressions(store, "production", {ITEM: FAILED})[0].verified_since == MONDAY


def test_a_viewer_seeing_something_else_first_keeps_their_record(store):
    racing = RacingStore(store, lambda: verification_log.record(store, "production", {ITEM: VERIFIED}, actor="lee"))
    changes = verification_log.record(racing, "production", {ITEM: FAILED}, actor="dana")
    assert changes == [Change(ITEM, None, Verdict.FAILED, FAILED.evidence, recorded=False)]
    assert stored_verdict(store) == "verified"


def test_history_lists_each_change_of_verdict_newest_first(store):
    for when, verification, actor in ((MONDAY, VERIFIED, "dana"), (TUESDAY, FAILED, "system"),
                                      (WEDNESDAY, UNKNOWN, "system"), (WEDNESDAY, VERIFIED, "lee")):
        verification_log.record(store, "production", {ITEM: verification}, actor=actor, now=when)
    verification_log.record(store, "production", {OTHER: FAILED})

    history = verification_log.history(store, "production", ITEM)
    assert [(record.actor, record.verdict, record.evidence) for record in history] == [
        ("lee", Verdict.VERIFIED, VERIFIED.evidence), ("system", Verdict.FAILED, FAILED.evidence),
        ("dana", Verdict.VERIFIED, VERIFIED.evidence)]
    assert verification_log.history(store, "staging", ITEM) == []


def test_a_time_without_timezone_is_refused_with_a_fix(store):
    with pytest.raises(ValueError, match="no timezone: pass an aware time"):
        verification_log.record(store, "production", {ITEM: VERIFIED}, now=datetime(2026, 3, 2, 9, 0))
    assert verdict_rows(store) == []


def test_observe_reports_the_regression_and_records_the_failure(store):
    verification_log.record(store, "production", {"item": Verification(Verdict.VERIFIED, "seen")})
    failing = {"item": Verification(Verdict.FAILED, "gone")}
    assert [r.item_id for r in verification_log.observe(store, "production", failing)] == ["item"]
    assert verification_log.history(store, "production", "item")[0].verdict is Verdict.FAILED
    assert [r.item_id for r in verification_log.observe(store, "production", failing)] == ["item"]  # still flagged
