"""The database collector against a real PostgreSQL holding a Mattermost-shaped, deterministically seeded schema."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from urllib.parse import quote

import psycopg
import pytest
from psycopg import errors, sql
from pydantic import SecretStr

from collectors import SourceStatus
from collectors.database import APPLICATION_NAME, DatabaseUnavailable, collect, describe_query_error, open_session
from settings import DatabaseSettings
from tests.servers.mattermost_schema import (
    ACTIVE_SESSIONS,
    DAY_MS,
    HOUR_MS,
    LATEST_MIGRATION,
    MATTERMOST_TABLES,
    build_mattermost_database,
    live_channel_counts,
    posts_per_cycle,
)
from tests.servers.postgres import PostgresServer

POSTS = posts_per_cycle()  # every channel gets exactly 5 x its weight posts
USAGE_FACTS = {"Schema version", "Channels by type", "Top teams", "Top channels", "Posts by hour and weekday",
               "Active sessions"}
SESSION_FACTS = {"Connections by state", "Idle-in-transaction sessions", "Longest running query", "Lock waits"}


@dataclass(frozen=True)
class Seeded:
    server: PostgresServer
    name: str
    now_ms: int

    def dsn(self, user: str | None = None, password: str | None = None) -> str:
        login = user or self.server.user
        secret = password if password is not None else self.server.password
        return f"postgresql://{quote(login)}:{quote(secret)}@{self.server.host}:{self.server.port}/{self.name}"

    def settings(self, timeout: float = 5.0, **login: str) -> DatabaseSettings:
        return DatabaseSettings(dsn=SecretStr(self.dsn(**login)), timeout_seconds=timeout)

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.dsn(), autocommit=True)


def _seed(server: PostgresServer, **options: object) -> Seeded:
    name = server.create_database()
    with psycopg.connect(Seeded(server, name, 0).dsn(), autocommit=True) as conn:
        now_ms = build_mattermost_database(conn, posts=POSTS, **options)
    return Seeded(server, name, now_ms)


@pytest.fixture(scope="module")
def seeded(postgres_server: PostgresServer) -> Iterator[Seeded]:
    """One seeded database for the tests that only read."""
    db = _seed(postgres_server)
    yield db
    postgres_server.drop_database(db.name)


@pytest.fixture
def fresh(postgres_server: PostgresServer) -> Iterator[Seeded]:
    """A seeded database of its own for a test that changes it; autovacuum off so dead tuples stay put."""
    db = _seed(postgres_server, autovacuum=False)
    yield db
    postgres_server.drop_database(db.name)


@pytest.fixture
def make_role(postgres_server: PostgresServer) -> Iterator[Callable[..., tuple[str, str]]]:
    """Creates a login role with only the given rights in the seeded database; dropped when the test ends."""
    made: list[tuple[Seeded, str]] = []

    def make(db: Seeded, *, pg_monitor: bool, select: bool, prefix: str = "mm_reader") -> tuple[str, str]:
        role, password = f"{prefix}_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
        with db.admin() as conn:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role),
                                                                            sql.Literal(password)))
            made.append((db, role))
            if pg_monitor:
                conn.execute(sql.SQL("GRANT pg_monitor TO {}").format(sql.Identifier(role)))
            if select:
                grant_select(conn, role)
        return role, password

    yield make
    for db, role in made:
        with db.admin() as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def grant_select(conn: psycopg.Connection, role: str) -> None:
    tables = sql.SQL(", ").join(sql.Identifier(t) for t in MATTERMOST_TABLES)
    conn.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(tables, sql.Identifier(role)))


async def wait_for(check: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def scalar(db: Seeded, query: str, params: dict[str, object] | None = None) -> object:
    with db.admin() as conn:
        return conn.execute(query, params).fetchone()[0]


# -- every fact ---------------------------------------------------------------------------------------------------


async def test_every_fact_from_a_mattermost_database(seeded: Seeded) -> None:
    result = await collect(seeded.settings(), None)

    assert result.status is SourceStatus.OK, result.error
    assert result.source == "database"
    facts = result.data
    assert facts.missing == {}
    assert facts.target == f"postgresql://{seeded.server.user}@127.0.0.1:{seeded.server.port}/{seeded.name}"
    assert seeded.server.password not in repr(facts)
    assert facts.server.number == int(scalar(seeded, "SHOW server_version_num"))
    assert facts.server.text == scalar(seeded, "SHOW server_version") and facts.server.major >= 14
    assert (facts.schema_version.version, facts.schema_version.name) == LATEST_MIGRATION
    assert facts.schema_version.applied == LATEST_MIGRATION[0] - 1  # migration 110 does not exist upstream
    assert facts.size_bytes == pytest.approx(scalar(seeded, "SELECT pg_database_size(current_database())"), rel=0.05)


async def test_largest_tables_come_from_catalogue_estimates(seeded: Seeded) -> None:
    facts = (await collect(seeded.settings(), None)).data

    tables = facts.largest_tables
    assert len(tables) == 10
    assert [t.total_bytes for t in tables] == sorted((t.total_bytes for t in tables), reverse=True)
    posts = tables[0]
    assert posts.name == "posts" and posts.schema == "public"
    assert posts.estimated_rows == POSTS  # ANALYZE read every row of this small table
    assert posts.total_bytes >= posts.table_bytes + posts.index_bytes
    users = next(t for t in tables if t.name == "users")
    assert users.estimated_rows == 60


async def test_connections_cache_and_transaction_counters(seeded: Seeded) -> None:
    facts = (await collect(seeded.settings(), None)).data

    connections = facts.connections
    assert connections.max_connections == int(scalar(seeded, "SHOW max_connections"))
    assert connections.reserved_connections == int(scalar(seeded, "SHOW superuser_reserved_connections"))
    assert connections.by_state.get("active", 0) >= 1  # the collector's own query
    assert connections.total == sum(connections.by_state.values()) and connections.this_database >= 1
    assert 0 < connections.used_ratio < 1
    stats = facts.statistics
    assert stats.commits > 0 and stats.blocks_hit > 0
    assert 0 < stats.cache_hit_ratio <= 1
    assert stats.deadlocks == 0 and stats.temp_files >= 0 and stats.rollbacks >= 0
    assert facts.longest_query is None and facts.lock_waits == ()
    assert facts.idle_in_transaction.count == 0


async def test_posts_table_maintenance_and_replication(seeded: Seeded) -> None:
    facts = (await collect(seeded.settings(), None)).data

    posts = facts.posts_table
    assert posts.live_tuples == POSTS  # Mattermost deletes softly: deleted posts are live rows
    assert posts.dead_tuples == 0 and posts.dead_ratio == 0
    assert posts.last_analyzed is not None  # the seed ran ANALYZE
    assert facts.replication.is_standby is False
    assert facts.replication.replicas == ()
    assert facts.replication.summary == "No replicas stream from this server."


async def test_channel_and_team_usage(seeded: Seeded) -> None:
    facts = (await collect(seeded.settings(), None)).data

    counts = live_channel_counts()
    by_type = facts.channels_by_type
    assert (by_type.public, by_type.private, by_type.direct, by_type.group) == (
        counts["O"], counts["P"], counts["D"], counts["G"])
    with seeded.admin() as conn:
        # The oracle counts the posts themselves; the collector reads Mattermost's counters.
        channels = conn.execute(
            """SELECT t.name, c.name, count(p.id) FROM channels c JOIN teams t ON t.id = c.teamid
               JOIN posts p ON p.channelid = c.id
               WHERE c.deleteat = 0 AND t.deleteat = 0 AND c.type IN ('O', 'P')
               GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 10""").fetchall()
        teams = conn.execute(
            """SELECT t.name, count(p.id) FROM teams t JOIN channels c ON c.teamid = t.id
               JOIN posts p ON p.channelid = c.id WHERE t.deleteat = 0 GROUP BY 1 ORDER BY 2 DESC""").fetchall()
    assert [(c.team_name, c.name, c.messages) for c in facts.top_channels] == channels
    assert facts.top_channels[0].team_display_name == "Engineering"
    assert facts.top_channels[0].display_name == "Town Square"
    assert all(c.type in ("O", "P") for c in facts.top_channels)  # direct messages stay private
    assert [(t.name, t.messages) for t in facts.top_teams] == teams
    assert "old-projects" not in {t.name for t in facts.top_teams}  # deleted team
    assert facts.top_teams[0].channels == 5  # engineering's archived channel is not counted as a channel
    assert facts.active_sessions == ACTIVE_SESSIONS
    assert "exact" in facts.how_counted["channels_by_type"]
    assert "estimated" in facts.how_counted["largest_tables"]


async def test_posts_by_hour_and_weekday_cover_the_last_7_days(seeded: Seeded) -> None:
    facts = (await collect(seeded.settings(), None)).data

    activity = facts.posts_last_7_days
    # Post g is g hours old; those younger than 7 days (g < 168) count unless deleted (g % 20 == 7).
    expected = [g for g in range(1, 168) if g % 20 != 7]
    assert activity.total == len(expected)
    with seeded.admin() as conn:
        oracle = conn.execute(
            """SELECT extract(isodow FROM to_timestamp(createat / 1000.0) AT TIME ZONE 'UTC')::int,
                      extract(hour FROM to_timestamp(createat / 1000.0) AT TIME ZONE 'UTC')::int, count(*)
               FROM posts WHERE createat > %(oldest)s AND deleteat = 0 GROUP BY 1, 2 ORDER BY 1, 2""",
            {"oldest": seeded.now_ms - 168 * HOUR_MS}).fetchall()
    assert [(c.weekday, c.hour, c.posts) for c in activity.cells] == oracle
    assert sum(activity.by_hour) == sum(activity.by_weekday) == activity.total
    assert len(activity.by_hour) == 24 and len(activity.by_weekday) == 7
    assert abs(activity.since.timestamp() * 1000 - (seeded.now_ms - 7 * DAY_MS)) < 60_000


# -- other sessions ------------------------------------------------------------------------------------------------


@pytest.fixture
async def busy_sessions(seeded: Seeded) -> AsyncIterator[dict[str, int]]:
    """A slow report, a transaction left open holding a row lock, and a session waiting for that lock."""

    async def session(application: str) -> psycopg.AsyncConnection:
        return await psycopg.AsyncConnection.connect(seeded.dsn(), autocommit=True, application_name=application)

    report, holder, waiter = await session("slow-report"), await session("forgetful-app"), await session("waiter")
    pids = {"report": report.info.backend_pid, "holder": holder.info.backend_pid, "waiter": waiter.info.backend_pid}
    sleeping = asyncio.create_task(report.execute("SELECT pg_sleep(30), 'alice@example.com' AS who"))
    await holder.execute("BEGIN")
    await holder.execute("UPDATE systems SET value = 'x' WHERE name = 'Version'")
    blocked = asyncio.create_task(waiter.execute("UPDATE systems SET value = 'y' WHERE name = 'Version'"))
    with seeded.admin() as conn:
        def settled() -> bool:
            return conn.execute(
                "SELECT count(*) = 2 FROM pg_stat_activity WHERE (pid = %s AND wait_event = 'PgSleep') "
                "OR (pid = %s AND wait_event_type = 'Lock')", (pids["report"], pids["waiter"])).fetchone()[0]
        await wait_for(settled, "the report to sleep and the waiter to queue for the lock")
    yield pids
    await report.cancel_safe()
    with pytest.raises(errors.QueryCanceled):
        await sleeping
    await holder.execute("ROLLBACK")
    await blocked
    for conn in (report, holder, waiter):
        await conn.close()


async def test_idle_transactions_long_queries_and_lock_waits(seeded: Seeded, busy_sessions: dict[str, int]) -> None:
    result = await collect(seeded.settings(), None)

    facts = result.data
    assert result.status is SourceStatus.OK, result.error
    longest = facts.longest_query
    assert longest.pid == busy_sessions["report"] and longest.application_name == "slow-report"
    assert longest.state == "active" and longest.duration_s > 0 and longest.wait_event == "Timeout:PgSleep"
    assert "pg_sleep" in longest.query and "alice@example.com" not in longest.query  # literals are masked
    assert len(longest.query) <= 200
    idle = facts.idle_in_transaction
    assert idle.count == 1 and idle.longest_pid == busy_sessions["holder"]
    assert idle.longest_application == "forgetful-app" and idle.longest_s > 0
    [wait] = facts.lock_waits
    assert wait.pid == busy_sessions["waiter"] and wait.blocked_by == (busy_sessions["holder"],)
    assert wait.application_name == "waiter" and "UPDATE systems" in wait.query
    assert facts.connections.by_state["idle in transaction"] == 1
    assert facts.connections.by_state["active"] >= 3  # report, waiter, and the collector itself


# -- least privilege -----------------------------------------------------------------------------------------------


async def test_pg_monitor_alone_names_each_table_to_grant(seeded: Seeded, make_role) -> None:
    role, password = make_role(seeded, pg_monitor=True, select=False)

    result = await collect(seeded.settings(user=role, password=password), None)

    assert result.status is SourceStatus.FORBIDDEN
    facts = result.data
    assert set(facts.missing) == USAGE_FACTS
    assert f"GRANT SELECT ON db_migrations TO {role};" in facts.missing["Schema version"]
    assert f"GRANT SELECT ON channels, teams TO {role};" in facts.missing["Top channels"]
    assert f"GRANT SELECT ON posts TO {role};" in facts.missing["Posts by hour and weekday"]
    assert f"GRANT SELECT ON sessions TO {role};" in facts.missing["Active sessions"]
    assert f"GRANT SELECT ON channels, db_migrations, posts, sessions, teams TO {role};" in result.error
    # The statistics need no table rights.
    assert facts.role == role and facts.largest_tables[0].name == "posts" and facts.posts_table is not None
    assert facts.connections is not None and facts.idle_in_transaction is not None and facts.lock_waits == ()


async def test_pg_monitor_and_select_read_everything(seeded: Seeded, make_role) -> None:
    role, password = make_role(seeded, pg_monitor=True, select=True)

    result = await collect(seeded.settings(user=role, password=password), None)

    assert result.status is SourceStatus.OK, result.error
    assert result.data.missing == {}
    assert result.data.active_sessions == ACTIVE_SESSIONS and result.data.schema_version is not None


async def test_without_pg_monitor_other_sessions_are_hidden_and_said_so(seeded: Seeded, make_role) -> None:
    role, password = make_role(seeded, pg_monitor=False, select=True, prefix="mm-reader")  # needs quoting

    with seeded.admin():  # someone else's session, whose state this role may not see
        result = await collect(seeded.settings(user=role, password=password), None)

    assert result.status is SourceStatus.FORBIDDEN
    facts = result.data
    assert set(facts.missing) == SESSION_FACTS
    grant = f'GRANT pg_monitor TO "{role}";'
    assert all(grant in sentence for sentence in facts.missing.values())
    assert grant in result.error
    assert facts.connections.by_state.get("unknown", 0) >= 1  # counted, state hidden
    assert facts.idle_in_transaction is None and facts.longest_query is None and facts.lock_waits is None
    assert facts.channels_by_type is not None and facts.posts_last_7_days is not None


async def test_a_database_that_is_not_mattermost(postgres_server: PostgresServer) -> None:
    name = postgres_server.create_database()
    try:
        empty = Seeded(postgres_server, name, 0)
        result = await collect(empty.settings(), None)
    finally:
        postgres_server.drop_database(name)

    assert result.status is SourceStatus.DEGRADED
    facts = result.data
    assert "no table db_migrations" in facts.missing["Schema version"]
    assert "Mattermost database" in facts.missing["Schema version"]
    assert set(facts.missing) == USAGE_FACTS | {"Posts table maintenance"}
    assert facts.server.number > 0 and facts.largest_tables == ()


# -- failures ------------------------------------------------------------------------------------------------------


async def test_wrong_password_is_one_sentence_without_the_password(seeded: Seeded) -> None:
    result = await collect(seeded.settings(password="not-the-password"), None)

    assert result.status is SourceStatus.ERROR and result.data is None
    assert result.error == (
        f"PostgreSQL at 127.0.0.1:{seeded.server.port} rejected the password for role '{seeded.server.user}': "
        "check the password in the database DSN (and that the role exists and may log in).")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_unreachable_port() -> None:
    port = _free_port()
    settings = DatabaseSettings(dsn=SecretStr(f"postgresql://mmuser:hunter2@127.0.0.1:{port}/mattermost"))

    result = await collect(settings, None)

    assert result.status is SourceStatus.ERROR
    assert result.error.startswith(f"Nothing is listening at 127.0.0.1:{port} (connection refused)")
    assert "hunter2" not in result.error


async def test_missing_database(seeded: Seeded) -> None:
    missing = Seeded(seeded.server, "no_such_db", 0)

    result = await collect(missing.settings(), None)

    assert result.status is SourceStatus.ERROR
    assert f"127.0.0.1:{seeded.server.port} has no database 'no_such_db'" in result.error


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts TCP connections and never says a word, like a host behind a black-holing firewall rule."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    yield listener.getsockname()[1]
    listener.close()


async def test_a_server_that_never_answers_times_out_with_a_sentence(silent_server: int) -> None:
    settings = DatabaseSettings(dsn=SecretStr(f"postgresql://mmuser:hunter2@127.0.0.1:{silent_server}/mattermost"),
                                timeout_seconds=0.5)
    started = time.monotonic()

    result = await collect(settings, None)

    assert time.monotonic() - started < 4
    assert result.status is SourceStatus.ERROR
    assert result.error.startswith(f"Could not connect to PostgreSQL at 127.0.0.1:{silent_server} within 2 s")


async def test_an_unparsable_dsn_is_not_echoed() -> None:
    settings = DatabaseSettings(dsn=SecretStr("host=db.example.com password=hunter2 nonsense"))

    result = await collect(settings, None)

    assert result.status is SourceStatus.ERROR
    assert "could not be parsed" in result.error and "hunter2" not in result.error


async def test_a_locked_table_costs_only_its_facts(fresh: Seeded) -> None:
    """A migration holding posts in ACCESS EXCLUSIVE mode: posts facts give up after the lock timeout."""
    with fresh.admin() as migration:
        migration.execute("BEGIN")
        migration.execute("LOCK TABLE posts IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        result = await collect(fresh.settings(timeout=0.4), None)
        elapsed = time.monotonic() - started
        migration.execute("ROLLBACK")

    assert result.status is SourceStatus.DEGRADED
    facts = result.data
    assert set(facts.missing) == {"Largest tables", "Posts table maintenance", "Posts by hour and weekday"}
    sentence = facts.missing["Posts by hour and weekday"]
    assert sentence.startswith("Posts by hour and weekday: waited 0.2 s for a lock another session holds")
    assert result.error.startswith("Largest tables: waited 0.2 s for a lock")
    assert facts.channels_by_type is not None and facts.active_sessions == ACTIVE_SESSIONS
    assert facts.idle_in_transaction.count == 1  # the migration's open transaction is visible too
    assert elapsed < 2


async def test_statement_timeout_sentence(seeded: Seeded) -> None:
    async with await psycopg.AsyncConnection.connect(seeded.dsn(), autocommit=True) as conn:
        await conn.execute("SET statement_timeout = 50")
        with pytest.raises(errors.QueryCanceled) as cancelled:
            await conn.execute("SELECT pg_sleep(2)")

    sentence = describe_query_error("Top channels", cancelled.value, 0.05, "mmuser")

    assert sentence == ("Top channels: the query did not finish within the 0.05 s statement timeout and was "
                        "cancelled; the database may be overloaded, or raise timeout_seconds if it is just slow.")


async def test_the_session_is_read_only_with_timeouts(seeded: Seeded) -> None:
    conn = await open_session(seeded.settings(timeout=1.5))
    async with conn:
        settings = await (await conn.execute(
            "SELECT current_setting('statement_timeout') AS statement, current_setting('lock_timeout') AS lock, "
            "current_setting('application_name') AS app")).fetchone()
        assert settings == {"statement": "1500ms", "lock": "750ms", "app": APPLICATION_NAME}
        for write in ("INSERT INTO systems VALUES ('mmdash', 'was here')", "CREATE TABLE mmdash_probe (id int)",
                      "UPDATE posts SET message = '' WHERE id = 'x'"):
            with pytest.raises(errors.ReadOnlySqlTransaction):
                await conn.execute(write)
    assert scalar(seeded, "SELECT count(*) FROM systems WHERE name = 'mmdash'") == 0


async def test_open_session_reports_failures_as_sentences(seeded: Seeded) -> None:
    with pytest.raises(DatabaseUnavailable, match="rejected the password"):
        await open_session(seeded.settings(password="wrong"))


# -- replication ---------------------------------------------------------------------------------------------------


class StandbyServer(PostgresServer):
    """A streaming replica of `primary`, cloned with pg_basebackup instead of initdb."""

    def __init__(self, primary: PostgresServer) -> None:
        super().__init__(primary.bindir)
        self.primary = primary
        self.password = primary.password

    def _initdb(self) -> None:
        conninfo = (f"host={self.primary.host} port={self.primary.port} user={self.primary.user} "
                    f"password={self.primary.password} application_name=mmdash_replica")
        result = self._run([self._bin("pg_basebackup"), "-D", str(self._data), "-d", conninfo, "-R",
                            "-X", "stream", "-c", "fast", "--no-sync"])
        if result.returncode != 0:
            raise RuntimeError(f"pg_basebackup failed: {result.stderr.strip()}")


@pytest.fixture
def standby(postgres_server: PostgresServer, seeded: Seeded) -> Iterator[StandbyServer]:
    replica = StandbyServer(postgres_server)
    try:
        replica.start()
        yield replica
    finally:
        replica.stop()


async def test_replicas_and_standbys(seeded: Seeded, standby: StandbyServer) -> None:
    with seeded.admin() as conn:
        def streaming() -> bool:
            # replay_lsn stays empty until the standby's first feedback message.
            return conn.execute("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' "
                                "AND replay_lsn IS NOT NULL").fetchone()[0] > 0
        await wait_for(streaming, "the standby to stream and report its position")

    on_primary = (await collect(seeded.settings(), None)).data
    on_standby = await collect(Seeded(standby, seeded.name, seeded.now_ms).settings(), None)

    [replica] = on_primary.replication.replicas
    assert replica.name == "mmdash_replica" and replica.client_address == "127.0.0.1"
    assert replica.state == "streaming" and replica.sync_state == "async"
    assert replica.replay_lag_bytes is not None and replica.replay_lag_bytes >= 0
    assert on_primary.replication.summary.startswith("1 replica(s) stream from this server")
    assert on_standby.status is SourceStatus.OK, on_standby.error
    replication = on_standby.data.replication
    assert replication.is_standby and replication.replicas == ()
    assert replication.summary.startswith("This server is a standby")
    assert on_standby.data.active_sessions == ACTIVE_SESSIONS  # the usage facts read the replica just as well
