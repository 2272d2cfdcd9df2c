"""Mattermost's PostgreSQL database: server and schema versions, size, largest tables, connections, cache and
transaction statistics, idle transactions, the longest query, lock waits, posts vacuum state, replication, and the
usage figures a rollout review asks for.

The session is read-only (default_transaction_read_only) with a statement timeout, and it works with a
least-privilege role: pg_monitor for the statistics, SELECT on a few Mattermost tables for the usage figures. A fact
the role may not read goes to `missing` with the GRANT that would fix it; the rest is still collected.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row

from collectors import database_models as models
from collectors import database_queries as queries
from collectors.base import SourceResult, SourceStatus
from collectors.database_models import (
    FACT_CHANNEL_TYPES,
    FACT_CONNECTIONS,
    FACT_IDLE,
    FACT_LOCKS,
    FACT_LONGEST,
    FACT_POSTS,
    FACT_POSTS_TABLE,
    FACT_REPLICATION,
    FACT_SCHEMA,
    FACT_SERVER,
    FACT_SESSIONS,
    FACT_TABLES,
    FACT_TOP_CHANNELS,
    FACT_TOP_TEAMS,
)
from settings import DatabaseSettings

if TYPE_CHECKING:
    import httpx

SOURCE = "database"
# Lets the collector tell its own sessions apart in pg_stat_activity, and tells a DBA who is asking.
APPLICATION_NAME = "mmdash database collector"
TOP = 10
POST_WINDOW_DAYS = 7
# Beyond the statement timeout, how long to wait for an answer the network may have lost.
NETWORK_GRACE_S = 5.0
MIN_CONNECT_TIMEOUT_S = 2  # libpq's floor for connect_timeout
_SIMPLE_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_$]*$")



class DatabaseUnavailable(Exception):
    """The database could not be used at all; the message is one sentence a person can act on."""


@dataclass(frozen=True)
class Target:
    """Where the DSN points, without its password, for sentences and display."""

    user: str
    host: str
    port: str
    dbname: str
    password: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, dsn: str) -> Target:
        try:
            params = conninfo_to_dict(dsn)
        except psycopg.Error:
            # The parser's message may quote the DSN, password included, so it is not repeated.
            raise DatabaseUnavailable(
                "The database DSN could not be parsed: write it as postgresql://user:password@host:5432/mattermost "
                "or as host=... port=... dbname=... user=... (it is not shown here because it holds the password)."
            ) from None
        user = str(params.get("user") or "(default role)")
        return cls(
            user=user,
            host=str(params.get("host") or params.get("hostaddr") or "localhost"),
            port=str(params.get("port") or "5432"),
            dbname=str(params.get("dbname") or user),
            password=str(params["password"]) if params.get("password") else None,
        )

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def masked(self) -> str:
        return f"postgresql://{self.user}@{self.where}/{self.dbname}"

    def scrub(self, text: str) -> str:
        return text.replace(self.password, "***") if self.password else text


def _ident(name: str) -> str:
    return name if _SIMPLE_IDENTIFIER.match(name) else '"' + name.replace('"', '""') + '"'


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    # libpq prefixes the server's message with where it tried to connect; the FATAL part is what matters.
    if "FATAL:" in text:
        text = text.split("FATAL:", 1)[1]
    return " ".join(text.split("\n", 1)[0].split()).rstrip(".")


def connect_timeout_s(timeout_s: float) -> int:
    return max(MIN_CONNECT_TIMEOUT_S, math.ceil(timeout_s))


def describe_connect_error(exc: BaseException, target: Target, timeout_s: float) -> str:
    """One sentence for a connection that could not be made; never contains the password."""
    text = str(exc).lower()
    where, user, db = target.where, target.user, target.dbname
    if isinstance(exc, TimeoutError) or "timeout expired" in text or "timed out" in text:
        return (f"Could not connect to PostgreSQL at {where} within {connect_timeout_s(timeout_s)} s: check the host "
                "and port in the DSN, and that no firewall drops the traffic.")
    if "password authentication failed" in text:
        return (f"PostgreSQL at {where} rejected the password for role {user!r}: check the password in the "
                "database DSN (and that the role exists and may log in).")
    if "no password supplied" in text:
        return f"PostgreSQL at {where} asks role {user!r} for a password, but the database DSN has none: add it."
    if "does not exist" in text and "database" in text:
        return (f"PostgreSQL at {where} has no database {db!r}: check the database name in the DSN "
                "(Mattermost's SqlSettings.DataSource names the right one).")
    if "does not exist" in text and "role" in text:
        return f"PostgreSQL at {where} has no role {user!r}: check the user name in the database DSN."
    if "connection refused" in text:
        return (f"Nothing is listening at {where} (connection refused): is PostgreSQL running, and are the host "
                "and port in the DSN right?")
    if "resolve host" in text or "translate host name" in text:
        return f"The host name {target.host!r} could not be resolved (DNS): check the host in the database DSN."
    if "pg_hba.conf" in text:
        return (f"PostgreSQL at {where} does not accept role {user!r} from this machine (no pg_hba.conf entry): "
                "add a line for this client to pg_hba.conf, or set sslmode=require if only SSL is allowed.")
    if "too many clients" in text or "connection slots are reserved" in text:
        return (f"PostgreSQL at {where} has no free connection slot (max_connections reached): "
                "that is itself a finding; look for connection leaks or raise max_connections.")
    if "ssl" in text:
        return (f"The SSL connection to PostgreSQL at {where} failed ({target.scrub(_first_line(exc))}): set sslmode "
                "(and sslrootcert for verify-full) in the DSN to what the server supports.")
    if "starting up" in text or "shutting down" in text or "in recovery mode" in text:
        return f"PostgreSQL at {where} is starting up or shutting down: try again in a minute."
    return f"Could not connect to PostgreSQL at {where}: {target.scrub(_first_line(exc))}."


def describe_query_error(fact: str, exc: BaseException, timeout_s: float, role: str) -> str:
    """One sentence for a query that failed while the connection stayed usable."""
    message = (exc.diag.message_primary if isinstance(exc, psycopg.Error) else None) or _first_line(exc)
    if isinstance(exc, errors.LockNotAvailable):
        return (f"{fact}: waited {_lock_timeout_ms(timeout_s) / 1000:g} s for a lock another session holds on a "
                "table it reads (often a schema migration, VACUUM FULL or a forgotten open transaction) and gave "
                "up; see Lock waits and Idle-in-transaction sessions.")
    if isinstance(exc, errors.QueryCanceled):
        return (f"{fact}: the query did not finish within the {timeout_s:g} s statement timeout and was cancelled; "
                "the database may be overloaded, or raise timeout_seconds if it is just slow.")
    if isinstance(exc, errors.InsufficientPrivilege):
        return f"{fact}: PostgreSQL refused it to role {role!r} ({message}); grant the right it names."
    if isinstance(exc, errors.UndefinedTable | errors.UndefinedColumn | errors.UndefinedObject):
        return f"{fact}: {message}; this does not look like a supported Mattermost schema."
    sqlstate = exc.sqlstate if isinstance(exc, psycopg.Error) else None
    return f"{fact}: PostgreSQL answered with an error ({sqlstate or type(exc).__name__}: {message})."


def _statement_timeout_ms(timeout_s: float) -> int:
    return max(1, round(timeout_s * 1000))


def _lock_timeout_ms(timeout_s: float) -> int:
    # Shorter than the statement timeout, so a query stuck behind a lock says so instead of looking slow.
    return max(1, _statement_timeout_ms(timeout_s) // 2)


async def open_session(settings: DatabaseSettings) -> psycopg.AsyncConnection[dict[str, Any]]:
    """A read-only autocommit session with statement and lock timeouts; raises DatabaseUnavailable."""
    dsn = settings.dsn.get_secret_value()
    target = Target.parse(dsn)
    timeout_s = settings.timeout_seconds
    try:
        async with asyncio.timeout(connect_timeout_s(timeout_s) + NETWORK_GRACE_S):
            conn = await psycopg.AsyncConnection.connect(
                dsn,
                autocommit=True,
                connect_timeout=connect_timeout_s(timeout_s),
                application_name=APPLICATION_NAME,
                row_factory=dict_row,
            )
    except (psycopg.Error, OSError, TimeoutError) as exc:
        raise DatabaseUnavailable(describe_connect_error(exc, target, timeout_s)) from None
    try:
        async with asyncio.timeout(timeout_s + NETWORK_GRACE_S):
            await conn.execute(queries.SESSION_SETUP, {"statement_ms": str(_statement_timeout_ms(timeout_s)),
                                                       "lock_ms": str(_lock_timeout_ms(timeout_s))})
    except (psycopg.Error, TimeoutError) as exc:
        await conn.close()
        raise DatabaseUnavailable(
            f"PostgreSQL at {target.where} accepted the connection but not the session settings "
            f"({target.scrub(_first_line(exc)) or 'no answer'}).") from None
    return conn


class _Reader:
    """Runs the collector's queries; a failed query becomes a `missing` sentence, a lost connection an exception."""

    def __init__(self, conn: psycopg.AsyncConnection[dict[str, Any]], target: Target, timeout_s: float):
        self.conn = conn
        self.target = target
        self.timeout_s = timeout_s
        self.role = target.user
        self.missing: dict[str, str] = {}
        self.needs_stats: list[str] = []  # facts that need pg_monitor
        self.needs_select: dict[str, tuple[str, ...]] = {}  # fact -> tables it needs SELECT on

    async def rows(self, fact: str, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]] | None:
        try:
            async with asyncio.timeout(self.timeout_s + NETWORK_GRACE_S):
                cursor = await self.conn.execute(query, params)
                return await cursor.fetchall()
        except TimeoutError:
            raise DatabaseUnavailable(
                f"PostgreSQL at {self.target.where} stopped answering (nothing for "
                f"{self.timeout_s + NETWORK_GRACE_S:g} s while reading {fact.lower()}): the network or the server "
                "may be down.") from None
        except psycopg.Error as exc:
            if self.conn.broken or self.conn.closed:
                raise DatabaseUnavailable(
                    f"The connection to PostgreSQL at {self.target.where} broke while reading {fact.lower()} "
                    f"({self.target.scrub(_first_line(exc))}): the server may have restarted.") from None
            self.missing[fact] = describe_query_error(fact, exc, self.timeout_s, self.role)
            return None

    def same_reason(self, fact: str, as_fact: str) -> None:
        """`fact` comes from the same query as `as_fact`, which failed."""
        self.missing[fact] = fact + self.missing[as_fact].removeprefix(as_fact)

    def lacks_stats(self, fact: str) -> None:
        self.needs_stats.append(fact)
        self.missing[fact] = (
            f"{fact}: PostgreSQL hides other sessions' details from role {self.role!r}; grant it pg_monitor "
            f"(or pg_read_all_stats): GRANT pg_monitor TO {_ident(self.role)};")

    def may_read(self, fact: str, tables: tuple[str, ...], rights: dict[str, bool | None], database: str) -> bool:
        absent = [t for t in tables if rights.get(t) is None]
        if absent:
            self.missing[fact] = (
                f"{fact}: there is no table {absent[0]} in database {database!r} (on the role's search_path); "
                "is the DSN pointing at the Mattermost database?")
            return False
        refused = tuple(t for t in tables if not rights[t])
        if refused:
            self.needs_select[fact] = refused
            listed = ", ".join(refused)
            self.missing[fact] = (f"{fact}: role {self.role!r} may not read {listed}; grant it with "
                                  f"GRANT SELECT ON {listed} TO {_ident(self.role)};")
            return False
        return True


async def _read_facts(reader: _Reader, target: Target) -> models.DatabaseFacts:
    server_rows = await reader.rows(FACT_SERVER, queries.SERVER, {"tables": list(queries.USAGE_TABLES)})
    if not server_rows:
        # Nothing else can work when the cheapest query fails; its sentence becomes the source's error.
        raise DatabaseUnavailable(reader.missing.get(FACT_SERVER, f"{FACT_SERVER}: no answer."))
    server = server_rows[0]
    reader.role = server["role"]
    rights: dict[str, bool | None] = server["table_rights"] or {}
    reads_all_stats = bool(server["reads_all_stats"])
    database = server["database"]
    found: dict[str, Any] = {}

    activity = await reader.rows(FACT_CONNECTIONS, queries.ACTIVITY,
                                 {"query_chars": models.QUERY_CHARS * 4, "application": APPLICATION_NAME})
    if activity is not None:
        connections = models.parse_connections(activity, server["max_connections"], server["reserved_connections"])
        if reads_all_stats:
            found["connections"] = connections
            found["idle_in_transaction"] = models.parse_idle_in_transaction(activity)
            found["longest_query"] = models.parse_longest_query(activity)
            found["lock_waits"] = models.parse_lock_waits(activity)
        else:
            found["connections"] = models.with_hidden_sessions(connections, server["cluster_backends"],
                                                               server["database_backends"])
            for fact in (FACT_CONNECTIONS, FACT_IDLE, FACT_LONGEST, FACT_LOCKS):
                reader.lacks_stats(fact)

    tables = await reader.rows(FACT_TABLES, queries.TABLES)
    if tables is not None:
        found["largest_tables"] = models.parse_tables(tables, TOP)
        posts = next((row for row in tables if row["is_posts"]), None)
        if posts is not None:
            found["posts_table"] = models.parse_maintenance(posts)
        else:
            reader.missing[FACT_POSTS_TABLE] = (
                f"{FACT_POSTS_TABLE}: there is no posts table in database {database!r}; is the DSN pointing at "
                "the Mattermost database?")
    else:
        reader.same_reason(FACT_POSTS_TABLE, FACT_TABLES)

    found["replication"] = await _replication(reader, server, reads_all_stats)
    found.update(await _usage(reader, rights, database))

    return models.DatabaseFacts(
        target=target.masked,
        server=models.ServerVersion(server["version_num"], server["version"]),
        database=database,
        role=server["role"],
        size_bytes=server["size_bytes"],
        statistics=models.parse_statistics(server),
        missing=reader.missing,
        **found,
    )


async def _replication(reader: _Reader, server: dict[str, Any], reads_all_stats: bool) -> models.Replication | None:
    rows = await reader.rows(FACT_REPLICATION, queries.REPLICATION)
    if rows is None:
        return None
    if rows and not reads_all_stats:
        # The rows say replicas exist; their positions and lags are hidden without pg_read_all_stats.
        reader.lacks_stats(FACT_REPLICATION)
    standby = bool(server["in_recovery"])
    return models.Replication(
        is_standby=standby,
        replicas=models.parse_replicas(rows),
        standby_replay_delay_s=server["replay_delay_s"] if standby else None,
        standby_caught_up=server["replay_caught_up"] if standby else None,
    )


async def _usage(reader: _Reader, rights: dict[str, bool | None], database: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if reader.may_read(FACT_SCHEMA, ("db_migrations",), rights, database):
        rows = await reader.rows(FACT_SCHEMA, queries.SCHEMA_VERSION)
        if rows:
            found["schema_version"] = models.SchemaVersion(rows[0]["version"], rows[0]["name"], rows[0]["applied"])
        elif rows is not None:
            reader.missing[FACT_SCHEMA] = f"{FACT_SCHEMA}: db_migrations is empty; Mattermost has not migrated it."

    groups = None
    if reader.may_read(FACT_CHANNEL_TYPES, ("channels",), rights, database):
        groups = await reader.rows(FACT_CHANNEL_TYPES, queries.CHANNEL_GROUPS)
        if groups is not None:
            found["channels_by_type"] = models.parse_channel_types(groups)
    if reader.may_read(FACT_TOP_TEAMS, ("channels", "teams"), rights, database):
        if groups is None:
            reader.same_reason(FACT_TOP_TEAMS, FACT_CHANNEL_TYPES)
        else:
            teams = await reader.rows(FACT_TOP_TEAMS, queries.TEAMS)
            if teams is not None:
                found["top_teams"] = models.parse_top_teams(groups, teams, TOP)
    if reader.may_read(FACT_TOP_CHANNELS, ("channels", "teams"), rights, database):
        rows = await reader.rows(FACT_TOP_CHANNELS, queries.TOP_CHANNELS, {"limit": TOP})
        if rows is not None:
            found["top_channels"] = models.parse_top_channels(rows)

    if reader.may_read(FACT_POSTS, ("posts",), rights, database):
        since = datetime.now(UTC) - timedelta(days=POST_WINDOW_DAYS)
        rows = await reader.rows(FACT_POSTS, queries.POSTS_BY_HOUR, {"days": POST_WINDOW_DAYS})
        if rows is not None:
            found["posts_last_7_days"] = models.parse_post_activity(rows, since)
    if reader.may_read(FACT_SESSIONS, ("sessions",), rights, database):
        rows = await reader.rows(FACT_SESSIONS, queries.ACTIVE_SESSIONS)
        if rows is not None:
            found["active_sessions"] = rows[0]["active"]
    return found


def _judge(facts: models.DatabaseFacts, reader: _Reader) -> tuple[SourceStatus, str | None]:
    if not facts.missing:
        return SourceStatus.OK, None
    for_lack_of_rights = set(reader.needs_stats) | set(reader.needs_select)
    if set(facts.missing) <= for_lack_of_rights:
        grants = []
        if reader.needs_stats:
            grants.append(f"GRANT pg_monitor TO {_ident(facts.role)};")
        tables = sorted({t for needed in reader.needs_select.values() for t in needed})
        if tables:
            grants.append(f"GRANT SELECT ON {', '.join(tables)} TO {_ident(facts.role)};")
        return SourceStatus.FORBIDDEN, (
            f"Role {facts.role!r} lacks the rights for {len(facts.missing)} fact(s) "
            f"({', '.join(facts.missing)}); a database owner can fix that with: {' '.join(grants)}")
    first = next(iter(facts.missing.values()))
    more = len(facts.missing) - 1
    return SourceStatus.DEGRADED, first + (f" (and {more} more missing)" if more else "")


async def collect(settings: DatabaseSettings, client: httpx.AsyncClient | None = None) -> SourceResult:
    """Read the facts; `client` is unused (the contract passes one to every source)."""
    started = time.perf_counter()

    def result(status: SourceStatus, data: Any = None, error: str | None = None) -> SourceResult:
        return SourceResult(SOURCE, status, data, error, (time.perf_counter() - started) * 1000)

    try:
        target = Target.parse(settings.dsn.get_secret_value())
        conn = await open_session(settings)
    except DatabaseUnavailable as exc:
        return result(SourceStatus.ERROR, error=str(exc))
    reader = _Reader(conn, target, settings.timeout_seconds)
    try:
        facts = await _read_facts(reader, target)
    except DatabaseUnavailable as exc:
        return result(SourceStatus.ERROR, error=str(exc))
    finally:
        await conn.close()
    status, error = _judge(facts, reader)
    return result(status, facts, error)
