"""Database settings from Mattermost's configuration and statistics."""

from __future__ import annotations

from health.findings import Severity
from health.inputs import RuleInputs
from health.rules import docs
from health.rules.base import Check, MissingInput, check, need, not_applicable, number, rule, setting

AREA = "Database"


def _sql(inputs: RuleInputs) -> dict:
    return setting(need(inputs.config), "SqlSettings")


def _users(inputs: RuleInputs) -> int:
    users = need(inputs.usage).registered_users
    if users is None:
        raise MissingInput("the number of registered users was not reported")
    return users


@rule("DB_NO_READ_REPLICA", area=AREA, severity=Severity.INFO, title="No read replica for 2,000 or more users",
      remediation="Add a read replica (SqlSettings.DataSourceReplicas) to take read load off the primary.",
      docs=docs.SCALING)
def no_read_replica(inputs: RuleInputs) -> Check:
    replicas = _sql(inputs).get("DataSourceReplicas") or []
    users = _users(inputs)
    return check(not replicas and users >= 2000, f"{len(replicas)} replicas for {users:,} users",
                 "a replica from 2,000 users")


@rule("DB_NO_SEARCH_REPLICA", area=AREA, severity=Severity.WARNING,
      title="Database search without a search replica on a large post table",
      remediation="Add a search replica (SqlSettings.DataSourceSearchReplicas) or move search to Elasticsearch.",
      docs=docs.SCALING)
def no_search_replica(inputs: RuleInputs) -> Check:
    sql = _sql(inputs)
    searching = setting(need(inputs.config), "ElasticsearchSettings.EnableSearching")
    posts = need(inputs.usage).posts
    if posts is None:
        raise MissingInput("the number of posts was not reported")
    search_replicas = sql.get("DataSourceSearchReplicas") or []
    return check(not search_replicas and not searching and posts >= 1_000_000,
                 f"{len(search_replicas)} search replicas, {posts:,} posts, Elasticsearch searching "
                 f"{'on' if searching else 'off'}", "a search replica or Elasticsearch from 1,000,000 posts")


@rule("DB_TRACE_ON", area=AREA, severity=Severity.WARNING, title="SQL tracing is on",
      remediation="Turn SqlSettings.Trace off: it logs every query and slows the server.", docs=docs.ENVIRONMENT)
def trace_on(inputs: RuleInputs) -> Check:
    trace = _sql(inputs).get("Trace")
    return check(bool(trace), f"Trace = {trace}", "false")


@rule("DB_MAX_OPEN_CONNS_LOW", area=AREA, severity=Severity.INFO, title="Small connection pool for 1,000 or more users",
      remediation="Raise SqlSettings.MaxOpenConns (300 is the recommended starting point at scale).",
      docs=docs.SCALING)
def max_open_low(inputs: RuleInputs) -> Check:
    max_open = number(_sql(inputs).get("MaxOpenConns"))
    if max_open is None:
        raise MissingInput("SqlSettings.MaxOpenConns is not set")
    users = _users(inputs)
    return check(max_open < 75 and users >= 1000, f"MaxOpenConns = {max_open} for {users:,} users",
                 "75 or more from 1,000 users")


@rule("DB_QUERY_TIMEOUT_HIGH", area=AREA, severity=Severity.WARNING, title="Database query timeout of a minute or more",
      remediation="Lower SqlSettings.QueryTimeout (30 s is the default) so runaway queries are cut off.",
      docs=docs.ENVIRONMENT)
def query_timeout_high(inputs: RuleInputs) -> Check:
    timeout = number(_sql(inputs).get("QueryTimeout"))
    if timeout is None:
        raise MissingInput("SqlSettings.QueryTimeout is not set")
    return check(timeout >= 60, f"QueryTimeout = {timeout} s", "under 60 s")


@rule("DB_HA_FAILOVER_STORM_RISK", area=AREA, severity=Severity.WARNING,
      title="A failover could open hundreds of database connections at once",
      remediation="Put a connection pooler (PgBouncer) in front of PostgreSQL or lower MaxOpenConns.",
      docs=docs.HIGH_AVAILABILITY)
def failover_storm(inputs: RuleInputs) -> Check:
    sql = _sql(inputs)
    max_open = number(sql.get("MaxOpenConns"))
    if max_open is None:
        raise MissingInput("SqlSettings.MaxOpenConns is not set")
    nodes = max(1, len(need(inputs.nodes)))
    sources = 1 + len(sql.get("DataSourceReplicas") or []) + len(sql.get("DataSourceSearchReplicas") or [])
    total = max_open * nodes * sources
    # The DSN is masked in a sanitized config, so a pooler cannot be recognised from it: say so in the text.
    return check(total >= 400, f"{max_open} connections × {nodes} nodes × {sources} data sources = {total:,}",
                 "under 400, or a pooler in front of the database")


@rule("DB_REPLICA_UNUSED", area=AREA, severity=Severity.WARNING, title="Read replicas are configured but unused",
      remediation="Check the replica DSNs and the replica's health: Mattermost sends it no queries.",
      docs=docs.SCALING)
def replica_unused(inputs: RuleInputs) -> Check:
    replicas = _sql(inputs).get("DataSourceReplicas") or []
    if not replicas:
        return not_applicable("no read replicas configured")
    connections = need(inputs.usage).replica_db_connections
    if connections is None:
        raise MissingInput("replica connection counts were not reported")
    return check(connections == 0, f"{connections} replica connections", "some replica connections")


@rule("DB_REPLICA_LAG_UNMONITORED", area=AREA, severity=Severity.INFO, title="Replica lag is not monitored",
      remediation="Add SqlSettings.ReplicaLagSettings so Prometheus shows how far each replica is behind.",
      docs=docs.MONITORING)
def replica_lag_unmonitored(inputs: RuleInputs) -> Check:
    config = need(inputs.config)
    sql = setting(config, "SqlSettings")
    if not sql.get("DataSourceReplicas") or not setting(config, "MetricsSettings.Enable"):
        return not_applicable("no replicas, or metrics off")
    return check(not sql.get("ReplicaLagSettings"), f"{len(sql.get('ReplicaLagSettings') or [])} lag queries",
                 "a lag query per replica")


@rule("DB_IDLE_EXCEEDS_OPEN", area=AREA, severity=Severity.INFO, title="More idle than open connections allowed",
      remediation="Set SqlSettings.MaxIdleConns at or below MaxOpenConns.", docs=docs.ENVIRONMENT)
def idle_exceeds_open(inputs: RuleInputs) -> Check:
    sql = _sql(inputs)
    idle, max_open = number(sql.get("MaxIdleConns")), number(sql.get("MaxOpenConns"))
    if idle is None or max_open is None:
        raise MissingInput("MaxIdleConns or MaxOpenConns is not set")
    return check(idle > max_open, f"MaxIdleConns {idle} > MaxOpenConns {max_open}" if idle > max_open
                 else f"MaxIdleConns {idle}, MaxOpenConns {max_open}", "idle ≤ open")


@rule("DB_POOL_SATURATED", area=AREA, severity=Severity.CRITICAL, title="The database connection pool is nearly full",
      remediation="Raise SqlSettings.MaxOpenConns (and the database's max_connections), or find the slow queries "
                  "holding connections.", docs=docs.SCALING)
def pool_saturated(inputs: RuleInputs) -> Check:
    max_open = number(_sql(inputs).get("MaxOpenConns"))
    in_use = need(inputs.usage).master_db_connections
    if max_open is None or in_use is None:
        raise MissingInput("connections in use or MaxOpenConns were not reported")
    nodes = max(1, len(need(inputs.nodes)))
    ratio = in_use / (max_open * nodes)
    return check(ratio >= 0.9, f"{in_use} connections of {max_open * nodes} allowed ({ratio:.0%})", "below 90%")
