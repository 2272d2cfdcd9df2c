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
