"""Which database a store URL points at, in the form the engine needs and the form people may see."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from store.errors import StoreError

DEFAULT_SQLITE_PATH = Path("data") / "mmdash.sqlite3"
POSTGRES_DRIVER = "postgresql+psycopg"
# People paste URLs from libpq, Heroku-style env vars or SQLAlchemy docs; all mean psycopg 3 here.
POSTGRES_ALIASES = frozenset({"postgres", "postgresql", POSTGRES_DRIVER})
ACCEPTED = "sqlite:///PATH, postgresql://, postgres:// or postgresql+psycopg://"


@dataclass(frozen=True)
class StoreLocation:
    """Where the store lives. ``url`` holds the password; ``describe()`` and ``str()`` never do."""

    url: URL

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def is_sqlite_uri(self) -> bool:
        """A ``sqlite:///file:...?uri=true`` URL: SQLite parses it itself (e.g. ``mode=ro``)."""
        return self.is_sqlite and self.url.query.get("uri") == "true"

    @property
    def sqlite_path(self) -> Path:
        return Path(self.url.database or "")

    @property
    def host(self) -> str:
        return self.url.host or "localhost"

    @property
    def port(self) -> int:
        return self.url.port or 5432

    @property
    def database(self) -> str:
        return self.url.database or ""

    @property
    def user(self) -> str:
        return self.url.username or ""

    @property
    def password(self) -> str:
        return self.url.password or ""

    def describe(self) -> str:
        if self.is_sqlite:
            return f"SQLite file {self.sqlite_path}"
        return f"PostgreSQL at {self.host}:{self.port}/{self.database}"

    def mask(self, text: str) -> str:
        """``text`` with the password replaced, for driver messages we pass on."""
        return text.replace(self.password, "***") if self.password else text

    def __str__(self) -> str:
        return self.describe()

    def __repr__(self) -> str:
        return f"StoreLocation({self.describe()!r})"


def resolve(url: str | None, sqlite_path: Path | None = None) -> StoreLocation:
    """The location for ``url``, or for the SQLite file ``sqlite_path`` (default ``data/mmdash.sqlite3``)."""
    if url is None:
        path = sqlite_path if sqlite_path is not None else DEFAULT_SQLITE_PATH
        return StoreLocation(URL.create("sqlite+pysqlite", database=str(path.absolute())))
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"The store URL is not a URL: use {ACCEPTED}.") from None
    if parsed.drivername in POSTGRES_ALIASES:
        if not parsed.database:
            raise StoreError(f"The store URL {_safe(parsed)} names no database: add /DBNAME at the end.")
        return StoreLocation(parsed.set(drivername=POSTGRES_DRIVER))
    if parsed.drivername in {"sqlite", "sqlite+pysqlite"}:
        if not parsed.database or parsed.database == ":memory:":
            # Each pooled connection would get its own empty in-memory database.
            raise StoreError("The SQLite store needs a file: use sqlite:///PATH.")
        if parsed.query.get("uri") != "true":
            # Messages name the file; an absolute path stays right if the working directory changes.
            parsed = parsed.set(database=str(Path(parsed.database).absolute()))
        return StoreLocation(parsed.set(drivername="sqlite+pysqlite"))
    raise StoreError(f"The store URL scheme '{parsed.drivername}' is not supported: use {ACCEPTED}.")


def _safe(url: URL) -> str:
    return url.render_as_string(hide_password=True)
