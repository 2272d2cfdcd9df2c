"""The store's API as the pages use it: audit trail, versioned documents, no silent overwrites."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, timedelta

import pytest

from store import ConflictError, Store, open_store
from store.migrations import LATEST_VERSION
from store.utc import utc_now

RACERS = 6


def race(workers: list[Callable[[], object]]) -> list[object]:
    """Run ``workers`` at the same instant; each result is what it returned or the exception it raised."""
    barrier = threading.Barrier(len(workers))
    results: list[object] = [None] * len(workers)

    def run(index: int, work: Callable[[], object]) -> None:
        barrier.wait()
        try:
            results[index] = work()
        except Exception as failure:
            results[index] = failure

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


# -- audit log -----------------------------------------------------------------------------------------------


def test_audit_lists_newest_first_and_filters(store: Store) -> None:
    store.record("alice", "checklist.tick", environment="dev", target="item-1", details={"done": True})
    store.record("bob", "incident.start", environment="production", target="#incident-7")
    store.record("alice", "checklist.tick", environment="production", target="item-2")
    store.record("carol", "packet.build")

    assert [e.target for e in store.audit()] == [None, "item-2", "#incident-7", "item-1"]
    assert [e.target for e in store.audit(environment="production")] == ["item-2", "#incident-7"]
    assert [e.target for e in store.audit(target_prefix="item-")] == ["item-2", "item-1"]
    assert store.audit(target_prefix="item_") == []  # the prefix is literal, not a LIKE pattern
    assert [e.actor for e in store.audit(target="item-1")] == ["alice"]
    assert store.count_audit() == 4
    assert store.count_audit(environment="production", action="checklist.tick") == 1
    assert [e.target for e in store.audit(actor="alice")] == ["item-2", "item-1"]
    assert [e.target for e in store.audit(action="checklist.tick", environment="dev")] == ["item-1"]
    assert [e.actor for e in store.audit(limit=2)] == ["carol", "alice"]
    assert store.audit(actor="nobody") == []


def test_record_returns_the_stored_entry(store: Store) -> None:
    entry = store.record("alice", "settings.change", environment="staging", details={"nested": {"a": [1, 2]}})

    (stored,) = store.audit()
    assert stored == entry
    assert stored.details == {"nested": {"a": [1, 2]}}
    assert stored.at.tzinfo is UTC


def test_audit_rejects_a_useless_limit(store: Store) -> None:
    with pytest.raises(ValueError, match="limit"):
        store.audit(limit=0)


# -- documents -----------------------------------------------------------------------------------------------


def test_put_creates_then_updates_with_increasing_versions(store: Store) -> None:
    created = store.put("progress", "sso", "dev", {"state": "todo"}, actor="alice", expected_version=None)
    updated = store.put("progress", "sso", "dev", {"state": "done"}, actor="bob", expected_version=1)

    assert (created.version, updated.version) == (1, 2)
    fetched = store.get("progress", "sso", "dev")
    assert fetched == updated
    assert fetched is not None
    assert (fetched.body, fetched.updated_by) == ({"state": "done"}, "bob")
    assert fetched.updated_at >= created.updated_at


def test_every_put_is_audited_with_who_and_which_version(store: Store) -> None:
    store.put("progress", "sso", "dev", {"state": "todo"}, actor="alice", expected_version=None)
    store.put("progress", "sso", "dev", {"state": "done"}, actor="bob", expected_version=1)

    entries = store.audit()
    assert [(e.actor, e.action, e.target, e.details["version"]) for e in entries] == [
        ("bob", "document.update", "progress/sso", 2),
        ("alice", "document.create", "progress/sso", 1),
    ]
    assert {e.environment for e in entries} == {"dev"}


def test_a_heartbeat_update_may_skip_the_audit_but_a_creation_never_does(store: Store) -> None:
    store.put("finding_lifecycle", "current", "dev", {"n": 1}, actor="watcher", expected_version=None, audit=False)
    updated = store.put("finding_lifecycle", "current", "dev", {"n": 2}, actor="watcher", expected_version=1,
                        audit=False)
    assert updated.version == 2 and store.get("finding_lifecycle", "current", "dev").body == {"n": 2}
    assert [e.details["version"] for e in store.audit()] == [1]


def test_get_missing_document_is_none(store: Store) -> None:
    assert store.get("progress", "nothing", "dev") is None


def test_documents_are_separate_per_environment(store: Store) -> None:
    store.put("progress", "sso", "dev", {"state": "done"}, actor="alice", expected_version=None)
    store.put("progress", "sso", "production", {"state": "todo"}, actor="alice", expected_version=None)
    store.put("progress", "ldap", "production", {"state": "todo"}, actor="alice", expected_version=None)
    store.put("plan", "phase-1", "production", {"owner": "bob"}, actor="alice", expected_version=None)

    assert [(d.environment, d.key) for d in store.list("progress")] == [
        ("dev", "sso"),
        ("production", "ldap"),
        ("production", "sso"),
    ]
    assert [d.key for d in store.list("progress", environment="production")] == ["ldap", "sso"]
    assert store.list("progress", environment="staging") == []


def test_stale_edit_is_refused_and_names_who_changed_it(store: Store) -> None:
    store.put("progress", "sso", "dev", {"state": "todo"}, actor="alice", expected_version=None)
    winner = store.put("progress", "sso", "dev", {"state": "doing"}, actor="bob", expected_version=1)

    with pytest.raises(ConflictError) as caught:
        store.put("progress", "sso", "dev", {"state": "done"}, actor="carol", expected_version=1)

    conflict = caught.value
    assert (conflict.current_version, conflict.changed_by, conflict.changed_at) == (2, "bob", winner.updated_at)
    assert "bob" in str(conflict) and "version 2" in str(conflict)
    stored = store.get("progress", "sso", "dev")
    assert stored is not None and stored.body == {"state": "doing"}
    assert [e.actor for e in store.audit()] == ["bob", "alice"]  # the refused edit left no trace


def test_creating_over_an_existing_document_is_a_conflict(store: Store) -> None:
    store.put("progress", "sso", "dev", {"state": "todo"}, actor="alice", expected_version=None)

    with pytest.raises(ConflictError) as caught:
        store.put("progress", "sso", "dev", {"state": "mine"}, actor="bob", expected_version=None)

    assert (caught.value.current_version, caught.value.changed_by) == (1, "alice")
    assert "already exists" in str(caught.value)
    stored = store.get("progress", "sso", "dev")
    assert stored is not None and stored.body == {"state": "todo"}


def test_editing_a_document_that_does_not_exist_is_a_conflict(store: Store) -> None:
    with pytest.raises(ConflictError) as caught:
        store.put("progress", "gone", "dev", {}, actor="alice", expected_version=3)
    assert caught.value.current_version is None


def test_racing_edits_of_one_version_exactly_one_wins(store: Store) -> None:
    store.put("progress", "sso", "dev", {"by": "nobody"}, actor="setup", expected_version=None)

    results = race(
        [
            lambda n=n: store.put("progress", "sso", "dev", {"by": n}, actor=f"user{n}", expected_version=1)
            for n in range(RACERS)
        ]
    )

    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1, results
    assert all(isinstance(r, ConflictError) for r in results if r not in winners), results
    stored = store.get("progress", "sso", "dev")
    assert stored is not None
    assert (stored.version, stored.body) == (2, winners[0].body)  # type: ignore[attr-defined]


def test_racing_creates_exactly_one_wins(store: Store) -> None:
    results = race(
        [
            lambda n=n: store.put("progress", "new", "dev", {"by": n}, actor=f"user{n}", expected_version=None)
            for n in range(RACERS)
        ]
    )

    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1, results
    assert all(isinstance(r, ConflictError) for r in results if r not in winners), results
    assert len(store.audit(action="document.create")) == 1


def test_two_app_processes_sharing_a_store_see_each_other(store: Store, store_url: str) -> None:
    with open_store(store_url) as other:
        store.put("progress", "sso", "dev", {"state": "todo"}, actor="alice", expected_version=None)
        seen = other.get("progress", "sso", "dev")
        assert seen is not None and seen.version == 1
        other.put("progress", "sso", "dev", {"state": "done"}, actor="bob", expected_version=1)
        with pytest.raises(ConflictError):
            store.put("progress", "sso", "dev", {"state": "doing"}, actor="alice", expected_version=1)


# -- nothing secret, no anonymous writes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "details",
    [
        {"password": "hunter2"},
        {"Config": {"SqlSettings": {"DataSource": "postgres://mm:pw@db/mm"}}},
        {"steps": [{"ok": True}, {"API_Key": "abc"}]},
        {"note": "see postgresql://admin:pw@db.internal/mattermost"},
    ],
)
def test_secret_looking_details_are_refused_and_nothing_is_written(store: Store, details: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="refusing to store"):
        store.record("alice", "settings.change", details=details)
    with pytest.raises(ValueError, match="refusing to store"):
        store.put("progress", "sso", "dev", details, actor="alice", expected_version=None)
    assert store.audit() == []
    assert store.get("progress", "sso", "dev") is None


def test_refusal_names_the_offending_key(store: Store) -> None:
    with pytest.raises(ValueError, match=r"\['ldap'\]\['BindPassword'\]"):
        store.put("plan", "auth", "dev", {"ldap": {"BindPassword": "x"}}, actor="alice", expected_version=None)


@pytest.mark.parametrize("actor", ["", "   "])
def test_writes_need_an_actor(store: Store, actor: str) -> None:
    with pytest.raises(ValueError, match="actor"):
        store.record(actor, "login")
    with pytest.raises(ValueError, match="actor"):
        store.put("progress", "sso", "dev", {}, actor=actor, expected_version=None)


# -- time ----------------------------------------------------------------------------------------------------


def test_timestamps_are_aware_utc_and_current(store: Store) -> None:
    before = utc_now()
    store.record("alice", "login")
    store.put("progress", "sso", "dev", {}, actor="alice", expected_version=None)

    stamps = [e.at for e in store.audit()] + [d.updated_at for d in store.list("progress")]
    for stamp in stamps:
        assert stamp.tzinfo is UTC
        assert before - timedelta(seconds=1) <= stamp <= utc_now() + timedelta(seconds=1)


def test_schema_version_is_the_latest(store: Store) -> None:
    assert store.schema_version() == LATEST_VERSION
