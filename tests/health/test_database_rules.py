"""Our rules over the database collector's facts: built from the real fact types, and over a real collection."""

from dataclasses import replace
from datetime import timedelta

import psycopg
import pytest
from pydantic import SecretStr

from collectors import database
from collectors.database_models import (
    Connections,
    DatabaseFacts,
    DatabaseStatistics,
    IdleInTransaction,
    LockWait,
    Replica,
    Replication,
    RunningQuery,
    ServerVersion,
    TableMaintenance,
)
from health.engine import run_rule
from health.findings import State
from health.inputs import Fact
from health.rules import RULES
from settings import DatabaseSettings
from tests.health.conftest import NOW, make_inputs
from tests.servers.mattermost_schema import build_mattermost_database

BY_CODE = {rule.code: rule for rule in RULES}
HEALTHY = DatabaseFacts(
    target="postgresql://mmdash@db:5432/mattermost", server=ServerVersion(160004, "16.4"), database="mattermost",
    role="mmdash", size_bytes=10 ** 10,
    statistics=DatabaseStatistics(99_900, 100, 0, 0, 0, 10_000, 10, NOW - timedelta(days=30)),
    connections=Connections({"active": 5, "idle": 40}, 45, 45, 500, 3),
    idle_in_transaction=IdleInTransaction(0, None, None, None),
    longest_query=None, lock_waits=(),
    posts_table=TableMaintenance(1_000_000, 1_000, None, NOW - timedelta(days=1), None, NOW - timedelta(days=1)),
    replication=Replication(False, (Replica("replica1", "10.0.0.5", "streaming", "async", 0.1, 0.1, 0.2, 1024),),
                            None, None),
)
CASES = {
    "DB_POSTGRES_UNSUPPORTED": dict(server=ServerVersion(140011, "14.11")),
    "DB_CONNECTIONS_NEAR_MAX": dict(connections=Connections({"active": 450}, 450, 450, 500, 3)),
    "DB_CACHE_HIT_LOW": dict(statistics=replace(HEALTHY.statistics, blocks_hit=80_000, blocks_read=20_000)),
    "DB_DEADLOCKS": dict(statistics=replace(HEALTHY.statistics, deadlocks=4)),
    "DB_IDLE_IN_TRANSACTION": dict(idle_in_transaction=IdleInTransaction(2, 900.0, 4242, "psql")),
    "DB_LONG_RUNNING_QUERY": dict(longest_query=RunningQuery(77, 300.0, "active", "mattermost", "mmuser", None,
                                                             "SELECT * FROM posts WHERE message LIKE '?'")),
    "DB_LOCK_WAITS": dict(lock_waits=(LockWait(88, 120.0, (77,), "mattermost", "UPDATE posts SET ..."),)),
    "DB_DEAD_TUPLES": dict(posts_table=replace(HEALTHY.posts_table, dead_tuples=600_000)),
    "DB_VACUUM_STALE": dict(posts_table=replace(HEALTHY.posts_table, last_autovacuum=NOW - timedelta(days=20))),
    "DB_REPLICATION_LAG": dict(replication=Replication(False, (replace(HEALTHY.replication.replicas[0],
                                                                       replay_lag_s=120.0),), None, None)),
}


def findings(code: str, facts: DatabaseFacts):
    return run_rule(BY_CODE[code], make_inputs(database=Fact(facts, "database")))


@pytest.mark.parametrize("code", sorted(CASES))
def test_fires_on_its_condition_and_not_on_a_healthy_database(code):
    assert any(f.state is State.FIRING for f in findings(code, replace(HEALTHY, **CASES[code])))
    assert all(f.state is State.OK for f in findings(code, HEALTHY))


def test_facts_a_least_privilege_role_could_not_read_are_unknown_with_the_grant_to_make():
    limited = replace(HEALTHY, idle_in_transaction=None, lock_waits=None,
                      missing={database.FACT_IDLE: "Idle-in-transaction sessions: GRANT pg_monitor TO mmdash",
                               database.FACT_LOCKS: "Lock waits: GRANT pg_monitor TO mmdash"})
    [idle] = findings("DB_IDLE_IN_TRANSACTION", limited)
    assert idle.state is State.UNKNOWN and "GRANT pg_monitor" in idle.evidence


def test_every_database_rule_has_a_case():
    ours = {r.code for r in RULES if r.evaluate.__module__.endswith("database_server")}
    assert ours == set(CASES)


async def test_rules_over_a_real_mattermost_database(postgres_server):
    name = postgres_server.create_database()
    dsn = postgres_server.url(name).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        build_mattermost_database(conn, posts=2000)
    result = await database.collect(DatabaseSettings(dsn=SecretStr(dsn)))
    assert result.data is not None, result.error
    inputs = make_inputs(database=Fact(result.data, "database"))
    states = {f.code: f.state for code in CASES for f in run_rule(BY_CODE[code], inputs)}
    assert states["DB_POSTGRES_UNSUPPORTED"] is State.OK  # the tests' PostgreSQL is 15
    assert states["DB_CONNECTIONS_NEAR_MAX"] is State.OK
    assert states["DB_REPLICATION_LAG"] is State.OK  # no replicas: nothing lags
    assert State.UNKNOWN not in states.values(), states
