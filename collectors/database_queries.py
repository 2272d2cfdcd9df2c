"""The SQL the database collector runs, one named query per group of facts.

Every query is read-only and cheap on a large Mattermost: sizes and row counts come from the catalogue and the
statistics views (never COUNT(*) on posts), post activity reads only the last 7 days through the createat index,
and the usage queries touch the channels, teams and sessions tables, which are small next to posts.
"""

from __future__ import annotations

# Mattermost tables the usage facts read; the statistics facts need no table rights at all.
USAGE_TABLES = ("db_migrations", "channels", "teams", "posts", "sessions")

# Session settings in one round trip: set_config(..., false) is a session-level SET.
SESSION_SETUP = """
SELECT set_config('statement_timeout', %(statement_ms)s, false),
       set_config('lock_timeout', %(lock_ms)s, false),
       set_config('default_transaction_read_only', 'on', false),
       set_config('TimeZone', 'UTC', false)
"""

# The server, this database's counters and what the role may read. Every function here is allowed to any role
# that may connect; the privilege checks return NULL for a table that does not exist. The backend counts stay
# visible to roles that may not see other sessions in pg_stat_activity.
SERVER = """
SELECT current_setting('server_version_num')::int AS version_num,
       current_setting('server_version') AS version,
       current_database() AS database,
       current_user AS role,
       pg_is_in_recovery() AS in_recovery,
       pg_database_size(current_database()) AS size_bytes,
       current_setting('max_connections')::int AS max_connections,
       current_setting('superuser_reserved_connections')::int AS reserved_connections,
       pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS reads_all_stats,
       (SELECT json_object_agg(t.name, has_table_privilege(to_regclass(t.name), 'SELECT'))
          FROM unnest(%(tables)s::text[]) AS t(name)) AS table_rights,
       d.blks_hit, d.blks_read, d.deadlocks, d.temp_files, d.temp_bytes, d.xact_commit, d.xact_rollback,
       d.stats_reset,
       d.numbackends AS database_backends,
       (SELECT sum(numbackends) FROM pg_stat_database)::int AS cluster_backends,
       extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS replay_delay_s,
       pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() AS replay_caught_up
FROM pg_stat_database AS d
WHERE d.datname = current_database()
"""

# One row per client session; connection counts, idle transactions, the longest query and lock waits are all
# derived from it, so a busy server costs one round trip. Query text only for sessions that are doing something.
ACTIVITY = """
SELECT pid, datname = current_database() AS this_database, usename, application_name, state,
       wait_event_type, wait_event,
       extract(epoch FROM now() - xact_start)::float8 AS xact_age_s,
       extract(epoch FROM now() - query_start)::float8 AS query_age_s,
       CASE WHEN state IS DISTINCT FROM 'idle' THEN left(query, %(query_chars)s) END AS query,
       CASE WHEN wait_event_type = 'Lock' THEN pg_blocking_pids(pid) END AS blocked_by,
       application_name = %(application)s AS ours
FROM pg_stat_activity
WHERE backend_type = 'client backend'
"""

# Sizes from the storage manager, rows from ANALYZE's estimate (reltuples; -1 before the first ANALYZE) with the
# live-tuple counter as the fallback. The posts row is returned even when posts is not among the largest.
TABLES = """
WITH sized AS (
    SELECT s.schemaname, s.relname, s.relid, c.reltuples, s.n_live_tup, s.n_dead_tup,
           s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze,
           pg_total_relation_size(s.relid) AS total_bytes,
           pg_relation_size(s.relid) AS table_bytes,
           pg_indexes_size(s.relid) AS index_bytes
    FROM pg_stat_user_tables AS s
    JOIN pg_class AS c ON c.oid = s.relid
)
SELECT *, relid = to_regclass('posts') AS is_posts
FROM sized
ORDER BY total_bytes DESC
"""

# Replicas streaming from this server. On a standby the reference position is what it has replayed, since
# pg_current_wal_lsn() is not available during recovery.
REPLICATION = """
SELECT application_name, host(client_addr) AS client_address, state, sync_state,
       extract(epoch FROM write_lag)::float8 AS write_lag_s,
       extract(epoch FROM flush_lag)::float8 AS flush_lag_s,
       extract(epoch FROM replay_lag)::float8 AS replay_lag_s,
       pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END,
                       replay_lsn)::bigint AS replay_lag_bytes
FROM pg_stat_replication
ORDER BY application_name, client_addr
"""

# What Mattermost itself reports as its schema version (SqlStore.GetDBSchemaVersion): the newest morph migration.
SCHEMA_VERSION = """
SELECT version, name, count(*) OVER () AS applied
FROM db_migrations
ORDER BY version DESC
LIMIT 1
"""

# One pass over channels: live channels per type, and per team the messages of all its channels (archived ones
# included: their messages are still stored). Direct and group channels have teamid ''.
CHANNEL_GROUPS = """
SELECT teamid, type::text AS type,
       count(*) FILTER (WHERE deleteat = 0) AS live_channels,
       coalesce(sum(totalmsgcount), 0)::bigint AS messages
FROM channels
GROUP BY teamid, type
"""

TEAMS = """
SELECT id, name, displayname, deleteat <> 0 AS deleted
FROM teams
"""

# Team channels only: direct and group message channels are people's private conversations.
TOP_CHANNELS = """
SELECT t.name AS team_name, t.displayname AS team_display_name, c.name, c.displayname, c.type::text AS type,
       c.totalmsgcount AS messages
FROM channels AS c
JOIN teams AS t ON t.id = c.teamid AND t.deleteat = 0
WHERE c.deleteat = 0 AND c.type IN ('O', 'P')
ORDER BY c.totalmsgcount DESC, t.name, c.name
LIMIT %(limit)s
"""

# The range condition on createat uses idx_posts_create_at, so only the last week's posts are read. Grouping by
# whole hours since the epoch is plain integer arithmetic (10x cheaper than converting every row to a timestamp);
# the parser turns the 169 or so hour numbers into UTC weekday and hour.
POSTS_BY_HOUR = """
SELECT createat / 3600000 AS epoch_hour, count(*) AS posts
FROM posts
WHERE createat >= (extract(epoch FROM now() - make_interval(days => %(days)s)) * 1000)::bigint
  AND deleteat = 0
GROUP BY 1
"""

# Mattermost treats expiresat <= 0 as "never expires" (model.Session.IsExpired); idx_sessions_expires_at serves it.
ACTIVE_SESSIONS = """
SELECT count(*) AS active
FROM sessions
WHERE expiresat > (extract(epoch FROM now()) * 1000)::bigint OR expiresat <= 0
"""
