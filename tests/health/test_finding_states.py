"""Tracked findings in the store (SQLite here; the same code runs on PostgreSQL): runs that finish at once both
count, none overwrites the other."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from health import finding_states
from health.findings import State
from store import open_store
from tests.health.test_lifecycle import finding

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


def test_runs_are_kept_and_audited(tmp_path):
    with open_store(None, sqlite_path=tmp_path / "s.sqlite3") as store:
        _, changes = finding_states.record_run(store, "production", [finding(State.FIRING)], T0, actor="test")
        assert [c.kind.value for c in changes] == ["new"]
        _, changes = finding_states.record_run(store, "production", [finding(State.OK)], T0 + timedelta(minutes=5),
                                               actor="test")
        assert [c.kind.value for c in changes] == ["resolved"]
        assert finding_states.load(store, "staging") == {}
        audits = store.audit(environment="production")
        assert any(a.details.get("resolved") for a in audits)


def test_a_concurrent_run_is_reapplied_not_lost(tmp_path, monkeypatch):
    """Another run stores its result between our read and our write: ours is re-read and applied again."""
    with open_store(None, sqlite_path=tmp_path / "s.sqlite3") as store:
        original_put = store.put
        raced = []

        def put_after_a_rival(*args, **kwargs):
            if not raced:
                raced.append(True)
                finding_states.record_run(store, "production", [finding(State.FIRING, subject="app-2")], T0,
                                          actor="rival")
            return original_put(*args, **kwargs)

        monkeypatch.setattr(store, "put", put_after_a_rival)
        finding_states.record_run(store, "production", [finding(State.FIRING, subject="app-1")], T0, actor="us")
        assert {t.subject for t in finding_states.load(store, "production").values()} == {"app-1", "app-2"}
