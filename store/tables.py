"""The tables as the current code reads and writes them (their history is in ``store.migrations``)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Integer, MetaData, PrimaryKeyConstraint, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

from store.utc import UTCDateTime

# JSONB on PostgreSQL so people can query the store with the usual operators; plain JSON text on SQLite.
JSONDocument = JSON().with_variant(JSONB(), "postgresql")

metadata = MetaData()

schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False),
    Column("applied_at", UTCDateTime, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("environment", Text),
    Column("target", Text),
    Column("details", JSONDocument, nullable=False),
)

documents = Table(
    "documents",
    metadata,
    Column("kind", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("environment", Text, nullable=False),
    Column("body", JSONDocument, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_by", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("kind", "environment", "key"),
)

health_snapshots = Table(
    "health_snapshots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("environment", Text, nullable=False),
    Column("collected_at", UTCDateTime, nullable=False),
    Column("slot", UTCDateTime, nullable=False),
    Column("tier", Text, nullable=False),
    Column("collected_by", Text, nullable=False),
    Column("figures", JSONDocument, nullable=False),
    Column("findings", JSONDocument, nullable=False),
    Column("sources", JSONDocument, nullable=False),
    Column("details_hash", Text),
    Column("report", JSONDocument),
)

snapshot_details = Table(
    "snapshot_details",
    metadata,
    Column("hash", Text, primary_key=True),
    Column("body", JSONDocument, nullable=False),
    Column("first_seen", UTCDateTime, nullable=False),
)

watch_leases = Table(
    "watch_leases",
    metadata,
    Column("environment", Text, primary_key=True),
    Column("slot", UTCDateTime, nullable=False),
    Column("holder", Text, nullable=False),
    Column("claimed_at", UTCDateTime, nullable=False),
)

alert_outbox = Table(
    "alert_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("environment", Text, nullable=False),
    Column("key", Text, nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("body", JSONDocument, nullable=False),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claimed_by", Text),
    Column("claimed_until", UTCDateTime),
    Column("last_error", Text),
    Column("sent_at", UTCDateTime),
    Column("post_id", Text),
)

web_session_tickets = Table(
    "web_session_tickets",
    metadata,
    Column("id_hash", Text, primary_key=True),
    Column("username", Text, nullable=False),
    Column("email", Text),
    Column("environment", Text, nullable=False),
    Column("mattermost_url", Text, nullable=False),
    Column("method", Text, nullable=False),
    Column("sealed_token", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id_hash", Text, primary_key=True),
    Column("username", Text, nullable=False),
    Column("email", Text),
    Column("environment", Text, nullable=False),
    Column("mattermost_url", Text, nullable=False),
    Column("method", Text, nullable=False),
    Column("sealed_token", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("checked_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    Column("revoked_by", Text),
    Column("revoked_reason", Text),
)
