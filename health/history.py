"""Snapshots over time in the store: one row per collection with its key figures and what fired, the full report
on each environment's newest row only, and the deployment's make-up stored once per distinct content.

Retention keeps every snapshot for `raw_days`, then the last one of each day for `daily_days`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, insert, null, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from health.findings import Finding, State, Verdict
from health.lifecycle import fingerprint
from health.report import finding_dict
from store import Store
from store.tables import health_snapshots, snapshot_details

RAW, DAILY = "raw", "daily"
_DELETE_BATCH = 500  # ids per DELETE: SQLite caps bound parameters, and short transactions block nobody


@dataclass(frozen=True)
class StoredSnapshot:
    id: int
    environment: str
    collected_at: datetime
    slot: datetime
    tier: str
    collected_by: str
    figures: dict[str, float | None]
    findings: dict[str, Any]  # {"verdict": {...}, "items": [firing findings, compact]}
    sources: dict[str, dict[str, Any]]  # name -> status, elapsed_ms, error
    details_hash: str | None
    report: dict[str, Any] | None = None  # every finding in full, the server line: newest row only

    @property
    def verdict(self) -> dict[str, Any]:
        return dict(self.findings.get("verdict") or {})

    def firing(self) -> list[dict[str, Any]]:
        return [item for item in self.findings.get("items", []) if item.get("state") == State.FIRING.value]


def compact_findings(findings: Sequence[Finding], result: Verdict) -> dict[str, Any]:
    """What history needs of a run's findings: the verdict (with how many rules could not judge) and each firing
    finding in a few fields. Unknown ones are only counted: dozens of them repeat every run while a source is
    not configured, and the newest row's full report names them."""
    items = [{"fingerprint": fingerprint(f.code, f.subject), "code": f.code, "subject": f.subject,
              "severity": f.severity.value, "state": f.state.value, "observed": f.observed[:120]}
             for f in findings if f.state is State.FIRING]
    return {"verdict": verdict_dict(result), "items": items}


def compact_sources(sources: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """How each source answered; "not configured" needs no sentence, it is the same every run."""
    return {name: {k: v for k, v in answer.items() if not (k == "error" and answer.get("status") == "not_configured")}
            for name, answer in sources.items()}


def verdict_dict(result: Verdict) -> dict[str, Any]:
    return {"label": result.label, "score": result.score, "unknown": result.unknown, "evaluated": result.evaluated,
            "firing": {sev.value: n for sev, n in result.firing.items()}}


def full_report(findings: Sequence[Finding], server: Mapping[str, Any], elapsed_ms: float) -> dict[str, Any]:
    return {"findings": [finding_dict(f) for f in findings], "server": dict(server), "elapsed_ms": elapsed_ms}


def save(store: Store, environment: str, *, collected_at: datetime, slot: datetime, collected_by: str,
         figures: Mapping[str, float | None], findings: Mapping[str, Any], sources: Mapping[str, Any],
         details: Mapping[str, Any] | None, details_key: str | None, report: Mapping[str, Any]) -> int:
    """Store one collection as the environment's newest snapshot; answers its id."""
    with store.writing() as conn:
        return write(conn, environment, collected_at=collected_at, slot=slot, collected_by=collected_by,
                     figures=figures, findings=findings, sources=sources, details=details, details_key=details_key,
                     report=report)


def write(conn: Connection, environment: str, *, collected_at: datetime, slot: datetime, collected_by: str,
          figures: Mapping[str, float | None], findings: Mapping[str, Any], sources: Mapping[str, Any],
          details: Mapping[str, Any] | None, details_key: str | None, report: Mapping[str, Any] | None,
          tier: str = RAW) -> int:
    """`save` inside the caller's transaction, so several rows can go in at once. `report` None is for a row
    older than the newest (history brought in from elsewhere, such as the demo's seeded past): it carries no
    report and leaves the newest row its own."""
    if details is not None and details_key is not None:
        _insert_details(conn, details_key, details, collected_at)
    if report is not None:
        # Only the newest row carries the full report; the previous newest gives it up in the same transaction.
        conn.execute(update(health_snapshots)
                     .where(and_(health_snapshots.c.environment == environment, health_snapshots.c.report.is_not(None)))
                     .values(report=None))
    # SQL NULL, not JSON null, for no report: the index of the rows with a report and every read test for NULL.
    result = conn.execute(insert(health_snapshots).values(
        environment=environment, collected_at=collected_at, slot=slot, tier=tier, collected_by=collected_by,
        figures=dict(figures), findings=dict(findings), sources=dict(sources), details_hash=details_key,
        report=dict(report) if report is not None else null()))
    return int(result.inserted_primary_key[0])


def _insert_details(conn: Connection, key: str, body: Mapping[str, Any], at: datetime) -> None:
    dialect_insert = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(dialect_insert(snapshot_details).values(hash=key, body=dict(body), first_seen=at)
                 .on_conflict_do_nothing(index_elements=["hash"]))


_SUMMARY = (health_snapshots.c.id, health_snapshots.c.environment, health_snapshots.c.collected_at,
            health_snapshots.c.slot, health_snapshots.c.tier, health_snapshots.c.collected_by,
            health_snapshots.c.figures, health_snapshots.c.findings, health_snapshots.c.sources,
            health_snapshots.c.details_hash)


def latest(store: Store, environment: str) -> StoredSnapshot | None:
    """The environment's newest snapshot, with its full report."""
    query = (select(health_snapshots).where(health_snapshots.c.environment == environment)
             .order_by(health_snapshots.c.collected_at.desc(), health_snapshots.c.id.desc()).limit(1))
    with store.reading() as conn:
        row = conn.execute(query).first()
    return _stored(row, with_report=True) if row is not None else None


def latest_all(store: Store) -> dict[str, StoredSnapshot]:
    """Every environment's newest snapshot (without the full report), for the fleet view."""
    newest = (select(health_snapshots.c.environment, func.max(health_snapshots.c.id).label("id"))
              .group_by(health_snapshots.c.environment).subquery())
    query = select(*_SUMMARY).join(newest, health_snapshots.c.id == newest.c.id)
    with store.reading() as conn:
        return {row.environment: _stored(row) for row in conn.execute(query)}


def collected_in(environment: str, start: datetime, end: datetime) -> ColumnElement[bool]:
    """The environment's snapshots collected in [start, end]: the condition every history read uses (and the
    index on environment and collected_at serves)."""
    return and_(health_snapshots.c.environment == environment, health_snapshots.c.collected_at >= start,
                health_snapshots.c.collected_at <= end)


OLDEST_FIRST = (health_snapshots.c.collected_at, health_snapshots.c.id)


def between(store: Store, environment: str, start: datetime, end: datetime) -> list[StoredSnapshot]:
    """The environment's snapshots collected in [start, end], oldest first (figures and findings, no report)."""
    query = select(*_SUMMARY).where(collected_in(environment, start, end)).order_by(*OLDEST_FIRST)
    with store.reading() as conn:
        return [_stored(row) for row in conn.execute(query)]


def one(store: Store, snapshot_id: int) -> StoredSnapshot | None:
    with store.reading() as conn:
        row = conn.execute(select(*_SUMMARY).where(health_snapshots.c.id == snapshot_id)).first()
    return _stored(row) if row is not None else None


def details_of(store: Store, key: str | None) -> dict[str, Any] | None:
    if key is None:
        return None
    with store.reading() as conn:
        body = conn.scalar(select(snapshot_details.c.body).where(snapshot_details.c.hash == key))
    return dict(body) if body is not None else None


@dataclass(frozen=True)
class Pruned:
    kept_as_daily: int
    deleted_raw: int
    deleted_daily: int
    deleted_details: int


def prune(store: Store, now: datetime, *, raw_days: int, daily_days: int) -> Pruned:
    """Apply retention to every environment: raw snapshots older than `raw_days` are thinned to the last one of
    each day (kept as daily), daily ones older than `daily_days` go, and so does make-up no snapshot points at."""
    raw_cutoff, daily_cutoff = now - timedelta(days=raw_days), now - timedelta(days=daily_days)
    with store.reading() as conn:
        old = conn.execute(select(health_snapshots.c.id, health_snapshots.c.environment,
                                  health_snapshots.c.collected_at)
                           .where(and_(health_snapshots.c.tier == RAW, health_snapshots.c.collected_at < raw_cutoff))
                           .order_by(health_snapshots.c.collected_at, health_snapshots.c.id)).all()
    last_of_day: dict[tuple[str, date], int] = {}
    for row in old:
        last_of_day[(row.environment, row.collected_at.date())] = row.id  # ordered, so the last one wins
    keep = set(last_of_day.values())
    drop = [row.id for row in old if row.id not in keep]
    with store.writing() as conn:
        for batch in _batches(sorted(keep)):
            conn.execute(update(health_snapshots).where(health_snapshots.c.id.in_(batch)).values(tier=DAILY))
    for batch in _batches(drop):
        with store.writing() as conn:
            conn.execute(delete(health_snapshots).where(health_snapshots.c.id.in_(batch)))
    with store.writing() as conn:
        deleted_daily = conn.execute(delete(health_snapshots).where(and_(
            health_snapshots.c.tier == DAILY, health_snapshots.c.collected_at < daily_cutoff))).rowcount
        referenced = select(health_snapshots.c.id).where(health_snapshots.c.details_hash == snapshot_details.c.hash)
        deleted_details = conn.execute(delete(snapshot_details).where(~referenced.exists())).rowcount
    return Pruned(len(keep), len(drop), deleted_daily, deleted_details)


def _batches(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[i:i + _DELETE_BATCH] for i in range(0, len(ids), _DELETE_BATCH)]


def _stored(row: Any, *, with_report: bool = False) -> StoredSnapshot:
    return StoredSnapshot(id=row.id, environment=row.environment, collected_at=row.collected_at, slot=row.slot,
                          tier=row.tier, collected_by=row.collected_by, figures=dict(row.figures or {}),
                          findings=dict(row.findings or {}), sources=dict(row.sources or {}),
                          details_hash=row.details_hash,
                          report=dict(row.report) if with_report and row.report is not None else None)
