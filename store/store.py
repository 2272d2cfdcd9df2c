"""The store: audit log and versioned documents, one code path for SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, and_, func, insert, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from store import migrations
from store.engines import create_store_engine, writer
from store.errors import ConflictError
from store.no_secrets import reject_secrets
from store.records import AuditEntry, Document
from store.tables import audit_log, documents
from store.unavailable import prepare_folder, unavailable_on_failure
from store.urls import StoreLocation, resolve
from store.utc import utc_now

# Audit actions for document writes, so the audit page can filter on them.
DOCUMENT_CREATED = "document.create"
DOCUMENT_UPDATED = "document.update"


def open_store(url: str | None = None, *, sqlite_path: Path | None = None) -> Store:
    """Open (and migrate) the store at ``url``, or the SQLite file ``sqlite_path`` when ``url`` is None.

    Raises StoreUnavailable when the database cannot be reached or written, StoreError when its schema
    comes from a newer app.
    """
    location = resolve(url, sqlite_path)
    if location.is_sqlite and not location.is_sqlite_uri:
        prepare_folder(location)
    with unavailable_on_failure(location):
        engine = create_store_engine(location)
        try:
            migrations.migrate(engine)
        except BaseException:
            engine.dispose()
            raise
    return Store(engine, location)


class Store:
    def __init__(self, engine: Engine, location: StoreLocation) -> None:
        self._engine = engine
        self._writer = writer(engine)
        self.location = location

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.location.describe()!r})"

    def close(self) -> None:
        self._engine.dispose()

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    @contextlib.contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for the store's other tables (history, leases, outbox); failures become StoreUnavailable."""
        with unavailable_on_failure(self.location), self._engine.connect() as conn:
            yield conn

    @contextlib.contextmanager
    def writing(self) -> Iterator[Connection]:
        """One write transaction (committed on leaving, rolled back on an error)."""
        with unavailable_on_failure(self.location), self._writer.begin() as conn:
            yield conn

    def schema_version(self) -> int:
        with unavailable_on_failure(self.location), self._engine.connect() as conn:
            return migrations.current_version(conn)

    # -- audit log -------------------------------------------------------------------------------------------

    def record(
        self,
        actor: str,
        action: str,
        *,
        environment: str | None = None,
        target: str | None = None,
        details: Mapping[str, Any] | None = None,
        at: datetime | None = None,
    ) -> AuditEntry:
        """Append one audit entry: who did what, where, to what. ``at`` backdates it, as ``put`` does, for
        history kept elsewhere (and the demo's); it defaults to now."""
        _require_text(actor=actor, action=action)
        reject_secrets(details, where="details")
        with unavailable_on_failure(self.location), self._writer.begin() as conn:
            return _record(conn, actor, action, environment=environment, target=target, details=details, at=at)

    def audit(
        self,
        limit: int = 100,
        environment: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        target_prefix: str | None = None,
        target: str | None = None,
    ) -> list[AuditEntry]:
        """The newest ``limit`` entries first, optionally only those matching every filter given."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        query = _audit_filters(select(audit_log), environment=environment, actor=actor, action=action,
                               target_prefix=target_prefix, target=target)
        query = query.order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit)
        with unavailable_on_failure(self.location), self._engine.connect() as conn:
            return [_audit_entry(row) for row in conn.execute(query)]

    def count_audit(self, environment: str | None = None, action: str | None = None) -> int:
        """How many entries match every filter given (counted by the database, not loaded)."""
        query = _audit_filters(select(func.count()).select_from(audit_log), environment=environment, action=action)
        with unavailable_on_failure(self.location), self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    # -- documents -------------------------------------------------------------------------------------------

    def get(self, kind: str, key: str, environment: str) -> Document | None:
        with unavailable_on_failure(self.location), self._engine.connect() as conn:
            return _fetch(conn, kind, key, environment)

    def list(self, kind: str, environment: str | None = None) -> list[Document]:
        """Documents of one kind, in every environment or one, ordered by environment then key."""
        query = select(documents).where(documents.c.kind == kind).order_by(documents.c.environment, documents.c.key)
        if environment is not None:
            query = query.where(documents.c.environment == environment)
        with unavailable_on_failure(self.location), self._engine.connect() as conn:
            return [_document(row) for row in conn.execute(query)]

    def put(
        self,
        kind: str,
        key: str,
        environment: str,
        body: Mapping[str, Any],
        *,
        actor: str,
        expected_version: int | None,
        audit_details: Mapping[str, Any] | None = None,
        at: datetime | None = None,
        audit: bool = True,
    ) -> Document:
        """Create (``expected_version=None``) or update the document whose stored version is
        ``expected_version``; raise ConflictError if someone got there first. Audited in the same transaction,
        with ``audit_details`` (what changed, for histories) beside the kind, key and version. ``at`` backdates
        the change, for importing history kept elsewhere (and the demo's); it defaults to now. ``audit=False`` is
        for a machine's heartbeat that changes no decision (the watcher's "still firing"), which would otherwise
        add an entry per run forever.
        """
        _require_text(kind=kind, key=key, environment=environment, actor=actor)
        reject_secrets(body, where="body")
        reject_secrets(audit_details, where="audit details")
        now = at or utc_now()
        with unavailable_on_failure(self.location), self._writer.begin() as conn:
            if expected_version is None:
                version = 1
                _create(conn, kind, key, environment, dict(body), actor=actor, now=now)
            else:
                version = expected_version + 1
                _update(conn, kind, key, environment, dict(body), actor=actor, now=now, expected=expected_version)
            if not audit and version > 1:
                return Document(kind, key, environment, dict(body), version, actor, now)
            _record(
                conn,
                actor,
                DOCUMENT_CREATED if version == 1 else DOCUMENT_UPDATED,
                environment=environment,
                target=f"{kind}/{key}",
                details={**(audit_details or {}), "kind": kind, "key": key, "version": version},
                at=now,
            )
        return Document(kind, key, environment, dict(body), version, actor, now)


def _audit_filters(query: Select[Any], *, environment: str | None = None, actor: str | None = None,
                   action: str | None = None, target_prefix: str | None = None, target: str | None = None
                   ) -> Select[Any]:
    for column, wanted in ((audit_log.c.environment, environment), (audit_log.c.actor, actor),
                           (audit_log.c.action, action), (audit_log.c.target, target)):
        if wanted is not None:
            query = query.where(column == wanted)
    if target_prefix is not None:
        query = query.where(audit_log.c.target.startswith(target_prefix, autoescape=True))
    return query


def _record(
    conn: Connection,
    actor: str,
    action: str,
    *,
    environment: str | None,
    target: str | None,
    details: Mapping[str, Any] | None,
    at: datetime | None = None,
) -> AuditEntry:
    entry = {
        "at": at or utc_now(),
        "actor": actor,
        "action": action,
        "environment": environment,
        "target": target,
        "details": dict(details or {}),
    }
    result = conn.execute(insert(audit_log).values(**entry))
    return AuditEntry(id=result.inserted_primary_key[0], **entry)


def _create(
    conn: Connection, kind: str, key: str, environment: str, body: dict[str, Any], *, actor: str, now: datetime
) -> None:
    try:
        # A savepoint, so a duplicate key leaves the transaction usable for reading who got there first.
        with conn.begin_nested():
            conn.execute(
                insert(documents).values(
                    kind=kind, key=key, environment=environment, body=body, version=1, updated_by=actor, updated_at=now
                )
            )
    except IntegrityError:
        current = _fetch(conn, kind, key, environment)
        if current is None:
            raise
        raise _conflict(current, expected=None) from None


def _update(
    conn: Connection,
    kind: str,
    key: str,
    environment: str,
    body: dict[str, Any],
    *,
    actor: str,
    now: datetime,
    expected: int,
) -> None:
    # Compare-and-set in one statement: on PostgreSQL a concurrent writer blocks on the row lock and then
    # re-checks the version, on SQLite writers are serialized, so of two racing edits exactly one matches.
    result = conn.execute(
        update(documents)
        .where(and_(_pk(kind, key, environment), documents.c.version == expected))
        .values(body=body, version=documents.c.version + 1, updated_by=actor, updated_at=now)
    )
    if result.rowcount == 1:
        return
    current = _fetch(conn, kind, key, environment)
    if current is None:
        raise ConflictError(
            kind=kind,
            key=key,
            environment=environment,
            expected_version=expected,
            current_version=None,
            changed_by=None,
            changed_at=None,
        )
    raise _conflict(current, expected=expected)


def _conflict(current: Document, *, expected: int | None) -> ConflictError:
    return ConflictError(
        kind=current.kind,
        key=current.key,
        environment=current.environment,
        expected_version=expected,
        current_version=current.version,
        changed_by=current.updated_by,
        changed_at=current.updated_at,
    )


def _pk(kind: str, key: str, environment: str) -> ColumnElement[bool]:
    return and_(documents.c.kind == kind, documents.c.environment == environment, documents.c.key == key)


def _fetch(conn: Connection, kind: str, key: str, environment: str) -> Document | None:
    row = conn.execute(select(documents).where(_pk(kind, key, environment))).first()
    return _document(row) if row is not None else None


def _document(row: Row[Any]) -> Document:
    return Document(
        kind=row.kind,
        key=row.key,
        environment=row.environment,
        body=row.body,
        version=row.version,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )


def _audit_entry(row: Row[Any]) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        environment=row.environment,
        target=row.target,
        details=row.details,
    )


def _require_text(**fields: str) -> None:
    for name, value in fields.items():
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name} must be a non-empty string, not {value!r}")
