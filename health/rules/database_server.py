"""The database server as the database collector sees it (ours; Mattermost's own rules stop at its config)."""

from __future__ import annotations

from collectors import database_models as db
from health.findings import Severity
from health.inputs import RuleInputs
from health.rules import docs
from health.rules.base import Check, MissingInput, check, need, not_applicable, rule, version_tuple

AREA = "Database"
POSTGRES_DOCS = "https://www.postgresql.org/docs/current/monitoring-stats.html"


def _db(inputs: RuleInputs):
    return need(inputs.database)


def _known(value, fact: str, facts):
    if value is None:
        raise MissingInput(facts.missing.get(fact, f"{fact} was not reported"))
    return value


@rule("DB_POSTGRES_UNSUPPORTED", area=AREA, severity=Severity.WARNING,
      title="PostgreSQL is older than Mattermost's next minimum",
      remediation="Plan an upgrade to PostgreSQL 15 or newer (Mattermost v12 requires it).", docs=docs.REQUIREMENTS)
def postgres_version(inputs: RuleInputs) -> Check:
    # One fact, two sources: the database collector's server_version_num, else the server's own diagnostics.
    if inputs.database.known:
        facts = need(inputs.database)
        return check(facts.server.major < 15, f"PostgreSQL {facts.server.text}", "PostgreSQL 15 or newer")
    if not inputs.database_version.known:
        raise MissingInput(f"needs the database or {inputs.database_version.source}: "
                           f"{inputs.database.missing}; {inputs.database_version.missing}")
    text = need(inputs.database_version)
    major = version_tuple(text)[:1]
    if not major:
        raise MissingInput(f"the database version {text!r} has no version number")
    return check(major[0] < 15, f"PostgreSQL {text}", "PostgreSQL 15 or newer")


@rule("DB_CONNECTIONS_NEAR_MAX", area=AREA, severity=Severity.CRITICAL,
      title="The database is close to max_connections",
      remediation="Raise max_connections (and memory), add a pooler such as PgBouncer, or lower "
                  "SqlSettings.MaxOpenConns × nodes.", docs=POSTGRES_DOCS)
def connections_near_max(inputs: RuleInputs) -> Check:
    facts = _db(inputs)
    conns = _known(facts.connections, db.FACT_CONNECTIONS, facts)
    return check(conns.used_ratio >= 0.8, f"{conns.total} of {conns.usable} usable connections "
                 f"({conns.used_ratio:.0%})", "below 80%")


@rule("DB_CACHE_HIT_LOW", area=AREA, severity=Severity.WARNING, title="The database reads much from disk",
      remediation="Give PostgreSQL more shared_buffers and memory; a busy Mattermost database should serve over "
                  "99% of reads from cache.", docs=POSTGRES_DOCS)
def cache_hit(inputs: RuleInputs) -> Check:
    facts = _db(inputs)
    ratio = _known(facts.statistics.cache_hit_ratio, db.FACT_SERVER, facts)
    return check(ratio < 0.95, f"cache hit ratio {ratio:.2%}", "95% or more")


@rule("DB_DEADLOCKS", area=AREA, severity=Severity.INFO, title="The database has recorded deadlocks",
      remediation="Look for 'deadlock detected' in the PostgreSQL log; repeated deadlocks point at a plugin or a "
                  "migration fighting normal traffic.", docs=POSTGRES_DOCS)
def deadlocks(inputs: RuleInputs) -> Check:
    facts = _db(inputs)
    stats = _known(facts.statistics, db.FACT_SERVER, facts)
    return check(stats.deadlocks > 0, f"{stats.deadlocks} deadlocks since statistics were reset", "none")


@rule("DB_IDLE_IN_TRANSACTION", area=AREA, severity=Severity.WARNING,
      title="A session has sat idle inside a transaction for minutes",
      remediation="Idle transactions hold locks and stop vacuum: find the application (see evidence) and set "
                  "idle_in_transaction_session_timeout.", docs=POSTGRES_DOCS)
def idle_in_transaction(inputs: RuleInputs) -> Check:
    facts = _db(inputs)
    idle = _known(facts.idle_in_transaction, db.FACT_IDLE, facts)
    longest = idle.longest_s or 0
    return check(longest > 300, f"{idle.count} idle in transaction, longest {longest:,.0f} s"
                 + (f" ({idle.longest_application})" if idle.longest_application else ""), "none over 5 minutes")


@rule("DB_LONG_RUNNING_QUERY", area=AREA, severity=Severity.WARNING, title="A query has run for over a minute",
      remediation="Check the query (evidence) in pg_stat_activity; cancel it with pg_cancel_backend if it is "
                  "stuck, and review Mattermost's SqlSettings.QueryTimeout.", docs=POSTGRES_DOCS)
def long_query(inputs: RuleInputs) -> Check:
    facts = _db(inputs)
    if db.FACT_LONGEST in facts.missing:
        raise MissingInput(facts.missing[db.FACT_LONGEST])
    query = facts.longest_query
    if query is None:
        return check(False, "no query running", "under 60 s")
    return check(query.duration_s > 60, f"{query.duration_s:,.0f} s: {query.query[:80]}", "under 60 s")


@rule("DB_LOCK_WAITS", area=AREA, severity=Severity.WARNING, title="Sessions are waiting on locks",
      remediation="Find the blocking session (evidence names it) and end the long transaction holding the lock.",
      docs=POSTGRES_DOCS)
def lock_waits(inputs: RuleInputs) -> Check:
    facts = _db(inputs)
    waits = _known(facts.lock_waits, db.FACT_LOCKS, facts)
    long_waits = [w for w in waits if (w.waiting_s or 0) > 30]
    return check(bool(long_waits), f"{len(waits)} waiting, {len(long_waits)} for over 30 s", "no wait over 30 s")


@rule("DB_DEAD_TUPLES", area=AREA, severity=Severity.WARNING, title="The posts table is bloated with dead rows",
      remediation="Check that autovacuum keeps up (autovacuum_vacuum_scale_factor for Posts), and VACUUM the "
                  "table in a quiet hour.", docs=POSTGRES_DOCS)
def dead_tuples(inputs: RuleInputs) -> Check:
    facts = _db(inputs)
    posts = _known(facts.posts_table, db.FACT_POSTS_TABLE, facts)
    ratio = posts.dead_ratio
    if ratio is None:
        return not_applicable("the posts table is empty")
    return check(ratio > 0.2, f"{posts.dead_tuples:,} dead of {posts.live_tuples + posts.dead_tuples:,} rows "
                 f"({ratio:.0%})", "at most 20% dead rows")


@rule("DB_VACUUM_STALE", area=AREA, severity=Severity.INFO, title="The posts table has not been vacuumed for a week",
      remediation="Check autovacuum settings and logs; a table this busy should be vacuumed often.",
      docs=POSTGRES_DOCS)
def vacuum_stale(inputs: RuleInputs) -> Check:
    facts = _db(inputs)
    posts = _known(facts.posts_table, db.FACT_POSTS_TABLE, facts)
    last = posts.last_vacuumed
    if last is None:
        return check(posts.dead_tuples > 0, "never vacuumed", "vacuumed within 7 days")
    days = (inputs.now - last).days
    return check(days > 7, f"last vacuumed {last:%Y-%m-%d} ({days} days ago)", "within 7 days")


@rule("DB_REPLICATION_LAG", area=AREA, severity=Severity.WARNING, title="A replica lags behind the primary",
      remediation="Check the replica's disk and network; Mattermost reads stale data from a lagging replica.",
      docs=docs.HIGH_AVAILABILITY)
def replication_lag(inputs: RuleInputs) -> list[Check]:
    facts = _db(inputs)
    replication = _known(facts.replication, db.FACT_REPLICATION, facts)
    if not replication.replicas:
        return [not_applicable(replication.summary)]
    return [check((r.replay_lag_s or 0) > 30, f"replay lag {r.replay_lag_s or 0:,.1f} s, "
                  f"{r.replay_lag_bytes or 0:,} bytes behind", "under 30 s", subject=r.name or r.client_address)
            for r in replication.replicas]
