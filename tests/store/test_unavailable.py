"""A store that cannot be used says where it is and what to check, and never shows the password."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import exc as sa_exc

from store import StoreError, StoreUnavailable, open_store
from store.unavailable import explain
from store.urls import resolve
from tests.servers.postgres import PostgresServer

WRONG_PASSWORD = "Wr0ng-Pa55word-xyz"


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def assert_no_secret(failure: StoreUnavailable, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in str(failure)
        assert secret not in failure.detail
    if failure.__traceback__ is not None:
        # The driver's exception is not attached, so no traceback can print its connection details.
        assert failure.__cause__ is None and failure.__suppress_context__


def test_unreachable_postgres_names_host_and_port() -> None:
    port = unused_port()
    with pytest.raises(StoreUnavailable) as caught:
        open_store(f"postgresql://mm:{WRONG_PASSWORD}@127.0.0.1:{port}/mmdash")

    assert str(caught.value) == (
        f"Cannot reach PostgreSQL at 127.0.0.1:{port} (database 'mmdash'): check that the server is running and "
        "listening on that host and port, and that no firewall blocks it."
    )
    assert_no_secret(caught.value, WRONG_PASSWORD)


def test_wrong_password_says_to_check_the_credentials(postgres_server: PostgresServer) -> None:
    with pytest.raises(StoreUnavailable) as caught:
        open_store(postgres_server.url("postgres", password=WRONG_PASSWORD))

    message = str(caught.value)
    assert message.startswith(f"PostgreSQL at 127.0.0.1:{postgres_server.port} rejected user '{postgres_server.user}'")
    assert "check the user name and password" in message
    assert_no_secret(caught.value, WRONG_PASSWORD, postgres_server.password)


def test_missing_database_says_how_to_create_it(postgres_server: PostgresServer) -> None:
    with pytest.raises(StoreUnavailable) as caught:
        open_store(postgres_server.url("no_such_db"))

    assert f"127.0.0.1:{postgres_server.port} has no database 'no_such_db'" in str(caught.value)
    assert "createdb no_such_db" in str(caught.value)
    assert_no_secret(caught.value, postgres_server.password)


def test_a_store_that_goes_away_later_is_unavailable_too(postgres_server: PostgresServer) -> None:
    name = postgres_server.create_database()
    store = open_store(postgres_server.url(name))
    try:
        postgres_server.drop_database(name)  # FORCE also ends the store's pooled connections
        with pytest.raises(StoreUnavailable, match=f"no database '{name}'"):
            store.audit()
    finally:
        store.close()


def test_read_only_sqlite_says_to_grant_write_access(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    open_store(None, sqlite_path=path).close()
    # The tests run as root, which ignores file modes, so the file is opened read-only by SQLite itself.
    with open_store(f"sqlite:///file:{path}?mode=ro&uri=true") as store:
        assert store.audit() == []  # reading still works
        with pytest.raises(StoreUnavailable, match="is read-only: give the app write access"):
            store.record("alice", "login")


def test_locked_sqlite_says_another_process_holds_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("store.engines.SQLITE_BUSY_TIMEOUT_S", 0.2)
    path = tmp_path / "store.sqlite3"
    with open_store(None, sqlite_path=path) as store:
        other = sqlite3.connect(path)
        try:
            other.execute("BEGIN EXCLUSIVE")
            with pytest.raises(StoreUnavailable, match=r"stayed locked by another process for 0\.2 s"):
                store.record("alice", "login")
        finally:
            other.rollback()
            other.close()
        store.record("alice", "login")  # usable again once the lock is gone


def test_a_file_that_is_not_a_database_says_to_restore_it(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    path.write_bytes(b"this is not SQLite" * 500)
    with pytest.raises(StoreUnavailable, match="damaged or not a SQLite database"):
        open_store(None, sqlite_path=path)


def test_a_sqlite_folder_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreUnavailable, match="check that the app may create and write that folder"):
        open_store(None, sqlite_path=blocker / "sub" / "store.sqlite3")


def test_unavailable_is_a_store_error() -> None:
    assert issubclass(StoreUnavailable, StoreError)


@pytest.mark.parametrize(
    ("driver_text", "says"),
    [
        ('FATAL: no pg_hba.conf entry for host "10.0.0.5", user "mm", database "mmdash"', "add a matching line"),
        ("FATAL: sorry, too many clients already", "no free connection slots"),
        ("FATAL: the database system is starting up", "starting up or shutting down"),
        ('FATAL: role "mm" does not exist', "check the user name and password"),
        ("connection failed: timeout expired", "Cannot reach PostgreSQL at db.example:5432"),
    ],
)
def test_postgres_failures_without_a_live_case(driver_text: str, says: str) -> None:
    failure = sa_exc.OperationalError("connect", {}, Exception(driver_text))
    explained = explain(failure, resolve(f"postgresql://mm:{WRONG_PASSWORD}@db.example/mmdash"))

    assert says in str(explained)
    assert_no_secret(explained, WRONG_PASSWORD)


def test_a_user_without_create_rights_is_told_how_to_grant_them(postgres_server: PostgresServer) -> None:
    """PostgreSQL 15 no longer lets every user create tables in schema public: a common first-run trap."""
    name = postgres_server.create_database()
    role, password = f"r_{name}", "Role-Pa55-123"
    with psycopg.connect(postgres_server.dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))
    try:
        with pytest.raises(StoreUnavailable) as caught:
            open_store(postgres_server.url(name, user=role, password=password))
        assert f"User '{role}' may not create or change the store's tables in database '{name}'" in str(caught.value)
        assert f"ALTER DATABASE {name} OWNER TO {role}" in str(caught.value)
        assert_no_secret(caught.value, password)
    finally:
        postgres_server.drop_database(name)
        with psycopg.connect(postgres_server.dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
