"""The engines reach a real database, and SQLite is set up for several app processes sharing one file."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from store import engines, open_store
from store.engines import create_store_engine, writer
from store.urls import resolve


def test_the_engine_reaches_the_real_database(store_url: str) -> None:
    engine = create_store_engine(resolve(store_url))
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                assert conn.scalar(text("SELECT version()")).startswith("PostgreSQL ")
                # The test server must listen on loopback only.
                assert conn.scalar(text("SHOW listen_addresses")) == "127.0.0.1"
                assert str(conn.scalar(text("SELECT inet_server_addr()"))) == "127.0.0.1"
            else:
                assert conn.scalar(text("SELECT sqlite_version()"))
    finally:
        engine.dispose()


def test_sqlite_uses_wal_and_waits_for_locks(tmp_path: Path) -> None:
    engine = create_store_engine(resolve(None, tmp_path / "s.db"))
    try:
        with engine.connect() as conn:
            assert conn.scalar(text("PRAGMA journal_mode")) == "wal"
            assert conn.scalar(text("PRAGMA busy_timeout")) == engines.SQLITE_BUSY_TIMEOUT_S * 1000
    finally:
        engine.dispose()


def test_sqlite_write_transactions_queue_instead_of_failing(tmp_path: Path) -> None:
    """A writer that reads first must wait for the other process's write, not fail with "locked"."""
    path = tmp_path / "s.db"
    with open_store(None, sqlite_path=path):
        pass  # creates and migrates the file
    engine = create_store_engine(resolve(None, path))
    other = sqlite3.connect(path, check_same_thread=False)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO audit_log (at, actor, action, details) VALUES ('2024-01-01', 'x', 'y', '{}')")
        released = threading.Timer(0.3, other.commit)
        released.start()
        with writer(engine).begin() as conn:
            count = conn.scalar(text("SELECT count(*) FROM audit_log"))
            conn.execute(text("INSERT INTO audit_log (at, actor, action, details) VALUES ('2024', 'a', 'b', '{}')"))
        released.join()
        assert count == 1  # the write lock was taken at BEGIN, after the other process committed
    finally:
        other.close()
        engine.dispose()


def test_sqlite_transactions_cover_ddl(tmp_path: Path) -> None:
    engine = create_store_engine(resolve(None, tmp_path / "s.db"))
    try:
        with pytest.raises(RuntimeError), writer(engine).begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            raise RuntimeError("roll back")
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM sqlite_master WHERE name = 't'")) == 0
    finally:
        engine.dispose()
