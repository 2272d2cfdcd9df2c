"""Turn driver failures into StoreUnavailable sentences that say where the store is and what to check.

The sentences are built from the parsed URL's parts, never from the URL itself, so no password can end up in
them; the driver's own text is kept (masked) in ``StoreUnavailable.detail``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc

from store import engines
from store.errors import StoreUnavailable
from store.urls import StoreLocation

# Failures that mean "the database cannot be used", as opposed to a bug or a data conflict.
_UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)
# PostgreSQL's SQLSTATE for "permission denied": typical on PG 15+, where schema public is no longer
# writable by every user.
_INSUFFICIENT_PRIVILEGE = "42501"


@contextmanager
def unavailable_on_failure(location: StoreLocation) -> Iterator[None]:
    try:
        yield
    except _UNAVAILABLE as failure:
        raise explain(failure, location) from None
    except sa_exc.DatabaseError as failure:
        # Of the rest only two mean an unusable database rather than a bug or a conflict: a bare DatabaseError
        # (SQLite's "file is not a database", "malformed") and PostgreSQL's permission denied.
        privileges = getattr(failure.orig, "sqlstate", None) == _INSUFFICIENT_PRIVILEGE
        if type(failure) is not sa_exc.DatabaseError and not privileges:
            raise
        raise explain(failure, location) from None


def prepare_folder(location: StoreLocation) -> None:
    """Create the SQLite file's folder, or say why it cannot be."""
    try:
        location.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as failure:
        raise StoreUnavailable(
            f"Cannot create the folder for the {location.describe()} ({failure.strerror or failure}): "
            "check that the app may create and write that folder.",
            detail=location.mask(str(failure)),
        ) from None


def explain(failure: BaseException, location: StoreLocation) -> StoreUnavailable:
    orig = getattr(failure, "orig", None) or failure
    detail = location.mask(" ".join(str(orig).split()))
    if location.is_sqlite:
        return StoreUnavailable(_sqlite_sentence(detail, location), detail=detail)
    return StoreUnavailable(_postgres_sentence(orig, detail, location), detail=detail)


def _sqlite_sentence(detail: str, location: StoreLocation) -> str:
    path = location.sqlite_path
    text = detail.lower()
    if "readonly" in text or "read-only" in text:
        return (
            f"The SQLite store {path} is read-only: give the app write access to the file and its folder "
            f"(WAL mode also writes {path.name}-wal and {path.name}-shm next to it)."
        )
    if "locked" in text or "busy" in text:
        return (
            f"The SQLite store {path} stayed locked by another process for {engines.SQLITE_BUSY_TIMEOUT_S:g} s: check "
            "that no other program holds a long transaction on it and that it is not on a network file system."
        )
    if "unable to open" in text:
        return f"Cannot open the SQLite store {path}: check that its folder exists and the app may write there."
    if "not a database" in text or "malformed" in text or "disk i/o" in text:
        return (
            f"The SQLite store {path} is damaged or not a SQLite database ({detail}): restore it from a backup "
            "or point the app at another store."
        )
    return f"The SQLite store {path} failed ({detail}): check the file and the disk it is on."


def _postgres_sentence(orig: BaseException, detail: str, location: StoreLocation) -> str:
    where = f"{location.host}:{location.port}"
    db, user = location.database, location.user
    sqlstate = getattr(orig, "sqlstate", None)
    text = detail.lower()
    # libpq reports connection-time failures without a SQLSTATE, so those are told apart by their wording.
    if sqlstate in {"28P01", "28000"} or "authentication failed" in text or _role_missing(text):
        return (
            f"PostgreSQL at {where} rejected user '{user}' for database '{db}': check the user name and "
            "password in the store URL."
        )
    if "no pg_hba.conf entry" in text:
        return (
            f"PostgreSQL at {where} does not accept connections from this host for user '{user}' and database "
            f"'{db}': add a matching line to its pg_hba.conf."
        )
    if sqlstate == "3D000" or f'database "{db}" does not exist'.lower() in text:
        return (
            f"PostgreSQL at {where} has no database '{db}': create it (createdb {db}) or fix the database "
            "name in the store URL."
        )
    if sqlstate == _INSUFFICIENT_PRIVILEGE or "permission denied" in text:
        return (
            f"User '{user}' may not create or change the store's tables in database '{db}' at {where}: make "
            f"it the database owner (ALTER DATABASE {db} OWNER TO {user}) or grant it CREATE on schema public."
        )
    if sqlstate == "53300" or "too many clients" in text:
        return f"PostgreSQL at {where} has no free connection slots: raise max_connections or close idle clients."
    if sqlstate == "57P03" or "starting up" in text or "shutting down" in text:
        return f"PostgreSQL at {where} is starting up or shutting down: try again in a moment."
    if "connection failed" in text or "could not" in text or "timeout" in text or "refused" in text:
        return (
            f"Cannot reach PostgreSQL at {where} (database '{db}'): check that the server is running and "
            "listening on that host and port, and that no firewall blocks it."
        )
    return f"PostgreSQL at {where}/{db} failed ({detail}): check the server's log."


def _role_missing(text: str) -> bool:
    return 'role "' in text and "does not exist" in text
