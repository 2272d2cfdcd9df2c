"""Browser sign-ins as rows: one-time tickets that hand a sign-in from the page to the browser, and sessions.

Ids arrive here in the clear (the ticket from its URL, the session id from its cookie) and are stored only as
their sha256, so a copy of the store names no live sign-in. The admin's Mattermost token comes sealed by the
caller (ui/web_sessions.py) with a key this module never sees; revoking a session empties it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.engine import Row

from store.store import Store
from store.tables import web_session_tickets, web_sessions

# Expired and revoked sessions are kept this long (who was signed in where, and why it ended), then deleted.
KEEP_ENDED = timedelta(days=30)


def hash_id(secret_id: str) -> str:
    return hashlib.sha256(secret_id.encode()).hexdigest()


@dataclass(frozen=True)
class Grant:
    """Who proved what, where: what a ticket carries into the session it becomes."""

    username: str
    email: str | None
    environment: str
    mattermost_url: str
    method: str  # token | password
    sealed_token: str


@dataclass(frozen=True)
class WebSession:
    grant: Grant
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime
    checked_at: datetime  # when Mattermost last confirmed the token and the admin role
    revoked_at: datetime | None
    revoked_by: str | None
    revoked_reason: str | None


def add_ticket(store: Store, ticket: str, grant: Grant, *, now: datetime, expires_at: datetime) -> None:
    with store.writing() as conn:
        conn.execute(insert(web_session_tickets).values(id_hash=hash_id(ticket), created_at=now,
                                                        expires_at=expires_at, **_grant_values(grant)))


def take_ticket(store: Store, ticket: str, *, now: datetime) -> Grant | None:
    """The ticket's grant, once: taken tickets are gone, expired ones are never handed out (and are swept)."""
    with store.writing() as conn:
        row = conn.execute(select(web_session_tickets).where(web_session_tickets.c.id_hash == hash_id(ticket))
                           ).first()
        # Of two racing takers only one deletes the row (PostgreSQL re-checks after the row lock; SQLite
        # serialises writers), and only that one gets the grant.
        taken = conn.execute(delete(web_session_tickets).where(web_session_tickets.c.id_hash == hash_id(ticket))
                             ).rowcount
        conn.execute(delete(web_session_tickets).where(web_session_tickets.c.expires_at <= now))
    if row is None or taken != 1 or row.expires_at <= now:
        return None
    return _grant(row)


def open_session(store: Store, session_id: str, grant: Grant, *, now: datetime, expires_at: datetime) -> None:
    """Store a new session (checked by Mattermost just now, when the ticket was made) and sweep old ones."""
    with store.writing() as conn:
        conn.execute(delete(web_sessions).where(or_(web_sessions.c.expires_at <= now - KEEP_ENDED,
                                                    web_sessions.c.revoked_at <= now - KEEP_ENDED)))
        conn.execute(insert(web_sessions).values(
            id_hash=hash_id(session_id), created_at=now, expires_at=expires_at, last_seen_at=now, checked_at=now,
            **_grant_values(grant)))


def find(store: Store, session_id: str) -> WebSession | None:
    with store.reading() as conn:
        row = conn.execute(select(web_sessions).where(web_sessions.c.id_hash == hash_id(session_id))).first()
    return _session(row) if row is not None else None


def seen(store: Store, session_id: str, *, now: datetime, checked: bool = False) -> None:
    """The browser used the session at `now` (and, with `checked`, Mattermost confirmed the admin then)."""
    values = {"last_seen_at": now} | ({"checked_at": now} if checked else {})
    with store.writing() as conn:
        conn.execute(update(web_sessions).where(and_(web_sessions.c.id_hash == hash_id(session_id),
                                                     web_sessions.c.revoked_at.is_(None))).values(**values))


def revoke(store: Store, session_id: str, *, by: str | None, reason: str, now: datetime) -> WebSession | None:
    """End the session and forget its sealed token, recording who ended it (None: its own admin) and why.

    The session as it was if this call ended it; None if it was unknown or had ended already.
    """
    with store.writing() as conn:
        where = and_(web_sessions.c.id_hash == hash_id(session_id), web_sessions.c.revoked_at.is_(None))
        row = conn.execute(select(web_sessions).where(where)).first()
        if row is None:
            return None
        ended = conn.execute(update(web_sessions).where(where).values(
            revoked_at=now, revoked_by=by or row.username, revoked_reason=reason, sealed_token=None)).rowcount
    return _session(row) if ended == 1 else None


def _grant_values(grant: Grant) -> dict[str, str | None]:
    return {"username": grant.username, "email": grant.email, "environment": grant.environment,
            "mattermost_url": grant.mattermost_url, "method": grant.method, "sealed_token": grant.sealed_token}


def _grant(row: Row) -> Grant:
    return Grant(row.username, row.email, row.environment, row.mattermost_url, row.method, row.sealed_token or "")


def _session(row: Row) -> WebSession:
    return WebSession(_grant(row), row.created_at, row.expires_at, row.last_seen_at, row.checked_at,
                      row.revoked_at, row.revoked_by, row.revoked_reason)
