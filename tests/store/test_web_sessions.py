"""Web session rows on both engines: tickets work once and briefly, ids are stored hashed, revocation sticks."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import inspect, select

from store import Store
from store import web_sessions as rows
from store.tables import web_session_tickets, web_sessions
from store.utc import utc_now

GRANT = rows.Grant("ana", "ana@example.com", "production", "https://chat.example.com", "token", "sealed-bytes")


def every_value(store: Store) -> str:
    """Everything both tables hold, as one string to search."""
    with store.reading() as conn:
        found = [*conn.execute(select(web_session_tickets)), *conn.execute(select(web_sessions))]
    return repr([tuple(row) for row in found])


def test_the_migrated_tables_are_the_ones_the_code_uses(store: Store) -> None:
    with store.reading() as conn:
        for table in (web_session_tickets, web_sessions):
            assert {c["name"] for c in inspect(conn).get_columns(table.name)} == set(table.c.keys())


def test_a_ticket_is_taken_once_and_only_its_hash_is_stored(store: Store) -> None:
    now = utc_now()
    rows.add_ticket(store, "ticket-1", GRANT, now=now, expires_at=now + timedelta(minutes=1))
    assert "ticket-1" not in every_value(store) and rows.hash_id("ticket-1") in every_value(store)
    assert rows.take_ticket(store, "ticket-1", now=now) == GRANT
    assert rows.take_ticket(store, "ticket-1", now=now) is None
    assert rows.take_ticket(store, "never-made", now=now) is None


def test_an_expired_ticket_is_refused_and_swept(store: Store) -> None:
    now = utc_now()
    rows.add_ticket(store, "late", GRANT, now=now, expires_at=now + timedelta(minutes=1))
    rows.add_ticket(store, "stale", GRANT, now=now, expires_at=now + timedelta(minutes=1))
    assert rows.take_ticket(store, "late", now=now + timedelta(minutes=2)) is None
    assert rows.hash_id("stale") not in every_value(store)


def test_a_session_records_who_and_when_and_its_use(store: Store) -> None:
    now = utc_now()
    rows.open_session(store, "session-1", GRANT, now=now, expires_at=now + timedelta(hours=12))
    assert "session-1" not in every_value(store)
    session = rows.find(store, "session-1")
    assert session is not None and session.grant == GRANT
    assert session.created_at == session.last_seen_at == session.checked_at
    assert session.expires_at - session.created_at == timedelta(hours=12)
    assert session.revoked_at is None

    rows.seen(store, "session-1", now=now + timedelta(minutes=2))
    rows.seen(store, "session-1", now=now + timedelta(minutes=7), checked=True)
    session = rows.find(store, "session-1")
    assert session.last_seen_at == now + timedelta(minutes=7) == session.checked_at
    assert rows.find(store, "session-2") is None


def test_revoking_ends_once_names_who_and_forgets_the_sealed_token(store: Store) -> None:
    now = utc_now()
    rows.open_session(store, "mine", GRANT, now=now, expires_at=now + timedelta(hours=1))
    rows.open_session(store, "theirs", GRANT, now=now, expires_at=now + timedelta(hours=1))
    ended = rows.revoke(store, "mine", by=None, reason="signed out", now=now + timedelta(minutes=1))
    assert ended is not None and ended.grant.username == "ana"
    assert rows.revoke(store, "mine", by="bob", reason="again", now=now + timedelta(minutes=2)) is None
    assert rows.revoke(store, "unknown", by="bob", reason="no such", now=now) is None
    after = rows.find(store, "mine")
    assert (after.revoked_at, after.revoked_by, after.revoked_reason) == (now + timedelta(minutes=1), "ana",
                                                                          "signed out")
    assert after.grant.sealed_token == ""
    rows.seen(store, "mine", now=now + timedelta(minutes=3))
    assert rows.find(store, "mine").last_seen_at == now  # an ended session is not in use
    rows.revoke(store, "theirs", by="mattermost", reason="Mattermost rejected the token.", now=now)
    assert rows.find(store, "theirs").revoked_by == "mattermost"


def test_long_ended_sessions_are_swept_when_a_new_one_opens(store: Store) -> None:
    long_ago = utc_now() - rows.KEEP_ENDED - timedelta(days=2)
    rows.open_session(store, "old", GRANT, now=long_ago, expires_at=long_ago + timedelta(days=1))
    rows.open_session(store, "recent", GRANT, now=utc_now() - timedelta(days=2),
                      expires_at=utc_now() - timedelta(days=1))
    rows.open_session(store, "new", GRANT, now=utc_now(), expires_at=utc_now() + timedelta(hours=1))
    assert rows.find(store, "old") is None
    assert rows.find(store, "recent") is not None and rows.find(store, "new") is not None
