"""SQLAlchemy engines tuned for the store: SQLite shared by several app processes, PostgreSQL over TCP."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection

from store.urls import StoreLocation

# How long a writer waits for another process's write lock before giving up with "database is locked".
SQLITE_BUSY_TIMEOUT_S = 10.0
WAL_RETRY_PAUSE_S = 0.02
POSTGRES_CONNECT_TIMEOUT_S = 5
# Execution option that makes a SQLite transaction take the write lock at BEGIN.
WRITE = "store_write"


def create_store_engine(location: StoreLocation) -> Engine:
    if location.is_sqlite:
        return _sqlite_engine(location)
    return create_engine(
        location.url,
        pool_pre_ping=True,  # a restarted server must not hand the app dead pooled connections
        connect_args={"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S, "application_name": "mmdash"},
    )


def writer(engine: Engine) -> Engine:
    """The same engine, marked so that its transactions are write transactions from their first statement."""
    return engine.execution_options(**{WRITE: True})


def _sqlite_engine(location: StoreLocation) -> Engine:
    engine = create_engine(location.url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # sqlite3's legacy mode would run DDL and SELECTs outside any transaction; we issue BEGIN ourselves.
        dbapi_connection.isolation_level = None
        _use_wal(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # BEGIN IMMEDIATE queues writers on the busy timeout up front; a deferred BEGIN that reads first and
        # writes later fails at once with "database is locked" when another process wrote in between.
        immediate = conn.get_execution_options().get(WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _use_wal(dbapi_connection: sqlite3.Connection) -> None:
    """Switch the file to WAL, which lets readers in other processes carry on while one process writes.

    The switch needs an exclusive lock and SQLite reports a concurrent one as "locked" at once, without its
    busy handler, so apps opening a new file together retry here for as long as the busy timeout.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            dbapi_connection.execute("PRAGMA journal_mode=WAL").close()
            return
        except sqlite3.OperationalError as failure:
            if "locked" not in str(failure) or time.monotonic() >= deadline:
                raise
            time.sleep(WAL_RETRY_PAUSE_S)
