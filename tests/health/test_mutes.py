"""Mutes and acknowledgements in the store: who, why, until when; expiry; concurrent mutes conflict."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from health.mutes import Mute, MuteError, MuteKind, active, get, lift, set_mute
from store import ConflictError, open_store

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


def mute(**changes) -> Mute:
    values = dict(code="NODE_FD_EXHAUSTION", subject="app-1", kind=MuteKind.MUTE, reason="raising the limit today",
                  by="ana", at=T0, until=T0 + timedelta(hours=4))
    values.update(changes)
    return Mute(**values)


@pytest.fixture
def store(tmp_path):
    with open_store(None, sqlite_path=tmp_path / "s.sqlite3") as opened:
        yield opened


def test_a_mute_is_kept_until_it_expires(store):
    saved = set_mute(store, "production", mute(), expected_version=None)
    assert saved.version == 1 and "muted by ana until 2026-12-01 13:00 UTC" in saved.describe()
    assert list(active(store, "production", T0 + timedelta(hours=1))) == [saved.fingerprint]
    assert active(store, "production", T0 + timedelta(hours=5)) == {}
    assert active(store, "staging", T0) == {}
    assert store.audit(environment="production")[0].actor == "ana"


def test_two_people_muting_one_finding_at_once_get_a_conflict(store):
    set_mute(store, "production", mute(), expected_version=None)
    with pytest.raises(ConflictError):
        set_mute(store, "production", mute(by="ben", reason="other"), expected_version=None)
    assert get(store, "production", "NODE_FD_EXHAUSTION", "app-1").by == "ana"


@pytest.mark.parametrize("changes, expected", [(dict(reason=" "), "say why"), (dict(until=None), "needs an end"),
                                               (dict(until=T0 - timedelta(hours=1)), "not in the future")])
def test_a_mute_must_say_why_and_until_when(store, changes, expected):
    with pytest.raises(MuteError, match=expected):
        set_mute(store, "production", mute(**changes), expected_version=None)


def test_acknowledge_without_end_and_lift(store):
    saved = set_mute(store, "production", mute(kind=MuteKind.ACKNOWLEDGE, until=None), expected_version=None)
    assert saved.active(T0 + timedelta(days=300))
    lifted = lift(store, "production", "NODE_FD_EXHAUSTION", "app-1", by="ben", at=T0 + timedelta(hours=1))
    assert lifted is not None and active(store, "production", T0 + timedelta(hours=2)) == {}
    assert lift(store, "production", "NODE_FD_EXHAUSTION", "app-1", by="ben", at=T0 + timedelta(hours=2)) is None
