"""Numbered schema migrations, applied in order when a store is opened.

Each migration declares the tables exactly as they were at its version (not ``store.tables``, which follows
the current code), so replaying history on an empty database always ends in the same schema. Add new
migrations at the end; never edit one that has shipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import (
    JSON,
    Column,
    Engine,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection

from store.engines import writer
from store.errors import StoreError
from store.tables import schema_migrations
from store.utc import UTCDateTime, utc_now

# Any constant works as long as nothing else in the database uses it: it makes concurrent app starts on one
# PostgreSQL database take turns, so only the first applies the migrations.
ADVISORY_LOCK_KEY = 0x6D6D_6461_7368  # "mmdash"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[Connection], None]


def _json() -> JSON:
    return JSON().with_variant(JSONB(), "postgresql")


def _create_audit_log(conn: Connection) -> None:
    table = Table(
        "audit_log",
        MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("at", UTCDateTime, nullable=False),
        Column("actor", Text, nullable=False),
        Column("action", Text, nullable=False),
        Column("environment", Text),
        Column("target", Text),
        Column("details", _json(), nullable=False),
        # The audit page reads newest first, often for one environment.
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_environment_at", "environment", "at"),
    )
    table.create(conn)


def _create_documents(conn: Connection) -> None:
    table = Table(
        "documents",
        MetaData(),
        Column("kind", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("environment", Text, nullable=False),
        Column("body", _json(), nullable=False),
        Column("version", Integer, nullable=False),
        Column("updated_by", Text, nullable=False),
        Column("updated_at", UTCDateTime, nullable=False),
        # kind first: listing one kind (per environment) is the common read and uses this key's prefix.
        PrimaryKeyConstraint("kind", "environment", "key"),
    )
    table.create(conn)


def _index_audit_log_target(conn: Connection) -> None:
    # An incident's timeline is every entry on its target ("incident/<id>"), read oldest to newest; without this
    # index each read scans the whole log.
    table = Table("audit_log", MetaData(), Column("target", Text), Column("at", UTCDateTime, nullable=False))
    Index("ix_audit_log_target_at", table.c.target, table.c.at).create(conn)


def _create_health_history(conn: Connection) -> None:
    metadata = MetaData()
    Table(
        "health_snapshots",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("environment", Text, nullable=False),
        Column("collected_at", UTCDateTime, nullable=False),
        Column("slot", UTCDateTime, nullable=False),  # the watcher's interval this run belongs to
        Column("tier", Text, nullable=False),  # "raw", or "daily" once retention keeps it as the day's one
        Column("collected_by", Text, nullable=False),
        Column("figures", _json(), nullable=False),
        Column("findings", _json(), nullable=False),
        Column("sources", _json(), nullable=False),
        Column("details_hash", Text),
        # Every finding in full (evidence, remediation) for the page: kept on an environment's newest row only.
        Column("report", _json()),
        # History reads one environment's snapshots over a time range; retention deletes by tier and age.
        Index("ix_health_snapshots_environment_collected_at", "environment", "collected_at"),
        Index("ix_health_snapshots_tier_collected_at", "tier", "collected_at"),
        # The one row per environment that still carries its report, found without reading the others.
        Index("ix_health_snapshots_with_report", "environment", postgresql_where=text("report IS NOT NULL"),
              sqlite_where=text("report IS NOT NULL")),
    )
    # Version, configuration, plugins and licence change rarely: stored once per distinct content, by hash.
    Table(
        "snapshot_details",
        metadata,
        Column("hash", Text, primary_key=True),
        Column("body", _json(), nullable=False),
        Column("first_seen", UTCDateTime, nullable=False),
    )
    # One row per environment: the interval whose collection someone has claimed, and who.
    Table(
        "watch_leases",
        metadata,
        Column("environment", Text, primary_key=True),
        Column("slot", UTCDateTime, nullable=False),
        Column("holder", Text, nullable=False),
        Column("claimed_at", UTCDateTime, nullable=False),
    )
    Table(
        "alert_outbox",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("environment", Text, nullable=False),
        Column("key", Text, nullable=False, unique=True),  # one alert per environment and run, whoever enqueues
        Column("created_at", UTCDateTime, nullable=False),
        Column("body", _json(), nullable=False),
        Column("status", Text, nullable=False),  # pending, sending, sent, failed
        Column("attempts", Integer, nullable=False),
        Column("next_attempt_at", UTCDateTime, nullable=False),
        Column("claimed_by", Text),
        Column("claimed_until", UTCDateTime),
        Column("last_error", Text),
        Column("sent_at", UTCDateTime),
        Column("post_id", Text),
        Index("ix_alert_outbox_environment_status", "environment", "status", "next_attempt_at"),
    )
    metadata.create_all(conn)


def _create_web_sessions(conn: Connection) -> None:
    metadata = MetaData()
    # A sign-in handed from the page to the browser: one-time, a minute long, so a URL that leaks is worthless.
    Table(
        "web_session_tickets",
        metadata,
        Column("id_hash", Text, primary_key=True),  # sha256 of the ticket; the ticket itself is only in the URL
        Column("username", Text, nullable=False),
        Column("email", Text),
        Column("environment", Text, nullable=False),
        Column("mattermost_url", Text, nullable=False),
        Column("method", Text, nullable=False),
        Column("sealed_token", Text, nullable=False),  # encrypted with a key derived from the ticket
        Column("created_at", UTCDateTime, nullable=False),
        Column("expires_at", UTCDateTime, nullable=False),
    )
    # A browser's sign-in, named by the cookie; the store holds only the hash of the id the cookie carries.
    Table(
        "web_sessions",
        metadata,
        Column("id_hash", Text, primary_key=True),
        Column("username", Text, nullable=False),
        Column("email", Text),
        Column("environment", Text, nullable=False),
        Column("mattermost_url", Text, nullable=False),
        Column("method", Text, nullable=False),
        Column("sealed_token", Text),  # encrypted with a key derived from the session id; emptied on revocation
        Column("created_at", UTCDateTime, nullable=False),
        Column("expires_at", UTCDateTime, nullable=False),
        Column("last_seen_at", UTCDateTime, nullable=False),
        Column("checked_at", UTCDateTime, nullable=False),  # when Mattermost last confirmed the admin
        Column("revoked_at", UTCDateTime),
        Column("revoked_by", Text),
        Column("revoked_reason", Text),
        # Pruning deletes by age; an admin's sessions are listed (and ended) by user.
        Index("ix_web_sessions_expires_at", "expires_at"),
        Index("ix_web_sessions_username", "username"),
    )
    metadata.create_all(conn)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "create audit_log", _create_audit_log),
    Migration(2, "create documents", _create_documents),
    Migration(3, "index audit_log by target", _index_audit_log_target),
    Migration(4, "create health history, watch leases and alert outbox", _create_health_history),
    Migration(5, "create web sessions and their sign-in tickets", _create_web_sessions),
)
LATEST_VERSION = MIGRATIONS[-1].version


def current_version(conn: Connection) -> int:
    """The highest applied migration; 0 for an empty database."""
    if not inspect(conn).has_table(schema_migrations.name):
        return 0
    return conn.scalar(select(func.max(schema_migrations.c.version))) or 0


def migrate(engine: Engine) -> int:
    """Bring the schema up to ``LATEST_VERSION`` in one transaction; returns the version now in force."""
    with engine.connect() as conn:
        found = current_version(conn)
    _refuse_newer(found)
    if found == LATEST_VERSION:
        return found  # the usual case: no write, no lock
    with writer(engine).begin() as conn:
        if conn.dialect.name == "postgresql":
            # Held until commit; a second process waits here, then sees the first one's work below.
            conn.execute(select(func.pg_advisory_xact_lock(ADVISORY_LOCK_KEY)))
        schema_migrations.create(conn, checkfirst=True)
        applied = set(conn.scalars(select(schema_migrations.c.version)))
        _refuse_newer(max(applied, default=0))
        for migration in MIGRATIONS:
            if migration.version in applied:
                continue
            migration.apply(conn)
            conn.execute(
                insert(schema_migrations).values(version=migration.version, name=migration.name, applied_at=utc_now())
            )
    return LATEST_VERSION


def _refuse_newer(found: int) -> None:
    if found > LATEST_VERSION:
        raise StoreError(
            f"store schema version {found} is newer than this app ({LATEST_VERSION}): "
            "upgrade the app or point it at another store"
        )
