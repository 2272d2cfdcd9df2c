"""Schema migrations: applied once, in order, recorded, safe to race, and never run on a newer schema."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC

import pytest
from sqlalchemy import Engine, create_engine, insert, inspect, select

from store import StoreError, open_store
from store.migrations import LATEST_VERSION, MIGRATIONS, Migration
from store.tables import schema_migrations
from store.urls import resolve
from store.utc import utc_now


@pytest.fixture
def raw(store_url: str) -> Iterator[Engine]:
    """Plain access to the database behind the store, to look at and tamper with it directly."""
    engine = create_engine(resolve(store_url).url)
    yield engine
    engine.dispose()


def applied(engine: Engine) -> list[tuple[int, str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(select(schema_migrations).order_by(schema_migrations.c.version))
        return [(r.version, r.name, r.applied_at) for r in rows]


def test_migrations_are_numbered_one_up_without_gaps() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert len({m.name for m in MIGRATIONS}) == len(MIGRATIONS)


def test_opening_an_empty_database_applies_and_records_every_migration(store_url: str, raw: Engine) -> None:
    before = utc_now()
    open_store(store_url).close()

    rows = applied(raw)
    assert [(v, n) for v, n, _ in rows] == [(m.version, m.name) for m in MIGRATIONS]
    assert all(at.tzinfo is UTC and at >= before for _, _, at in rows)  # type: ignore[attr-defined]
    assert {"audit_log", "documents", "schema_migrations"} <= set(inspect(raw).get_table_names())


def test_reopening_changes_nothing(store_url: str, raw: Engine) -> None:
    with open_store(store_url) as first:
        first.record("alice", "login")
    recorded = applied(raw)

    with open_store(store_url) as again:
        assert again.schema_version() == LATEST_VERSION
        assert [e.actor for e in again.audit()] == ["alice"]
    assert applied(raw) == recorded


def test_a_partly_migrated_database_gets_only_the_missing_steps(store_url: str, raw: Engine) -> None:
    with raw.begin() as conn:
        schema_migrations.create(conn)
        MIGRATIONS[0].apply(conn)
        conn.execute(insert(schema_migrations).values(version=1, name=MIGRATIONS[0].name, applied_at=utc_now()))
    first_applied_at = applied(raw)[0][2]

    with open_store(store_url) as store:
        assert store.schema_version() == LATEST_VERSION
    assert [v for v, _, _ in applied(raw)] == [m.version for m in MIGRATIONS]
    assert applied(raw)[0][2] == first_applied_at


def test_a_schema_newer_than_the_app_is_refused_untouched(store_url: str, raw: Engine) -> None:
    open_store(store_url).close()
    newer = LATEST_VERSION + 5
    with raw.begin() as conn:
        conn.execute(insert(schema_migrations).values(version=newer, name="from the future", applied_at=utc_now()))
    recorded = applied(raw)

    with pytest.raises(StoreError) as caught:
        open_store(store_url)

    assert str(caught.value) == (
        f"store schema version {newer} is newer than this app ({LATEST_VERSION}): "
        "upgrade the app or point it at another store"
    )
    assert applied(raw) == recorded


def test_apps_starting_together_migrate_once(store_url: str, raw: Engine) -> None:
    starters = 4
    barrier = threading.Barrier(starters)
    outcomes: list[object] = []

    def start_app() -> None:
        barrier.wait()
        try:
            with open_store(store_url) as store:
                outcomes.append(store.schema_version())
        except Exception as failure:
            outcomes.append(failure)

    threads = [threading.Thread(target=start_app) for _ in range(starters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert outcomes == [LATEST_VERSION] * starters
    assert [v for v, _, _ in applied(raw)] == [m.version for m in MIGRATIONS]


def test_migrations_run_in_one_transaction(store_url: str, raw: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(conn: object) -> None:
        raise RuntimeError("migration bug")

    monkeypatch.setattr("store.migrations.MIGRATIONS", (*MIGRATIONS, Migration(99, "broken", broken)))
    monkeypatch.setattr("store.migrations.LATEST_VERSION", 99)

    with pytest.raises(RuntimeError, match="migration bug"):
        open_store(store_url)

    # Nothing of the earlier steps survived the failed run, not even the bookkeeping table.
    assert inspect(raw).get_table_names() == []
