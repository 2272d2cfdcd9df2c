"""A database shaped like Mattermost's (the schema of demo/mattermost_schema.py, which follows upstream's
server/channels/db/migrations/postgres/), seeded with a small deterministic layout, for the database collector's
tests and benchmark.

`build_mattermost_database(conn, posts=N)` creates the schema and loads N posts with one INSERT ... SELECT over
generate_series, so 5 million rows take a minute rather than an hour. Everything is derived from the layout below,
so a test can say what the collector must find.

Post ``g`` (1..N) is created ``g * post_interval_ms`` before ``now_ms``; posts come in threads of five (a root and four
replies) in one channel; every twentieth post (g % 20 == 7) is deleted. The weekly 7-day window therefore holds the
posts with ``g * post_interval_ms < 7 days``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import psycopg

from demo.mattermost_schema import LATEST_MIGRATION as LATEST_MIGRATION  # re-exported for the collector's tests
from demo.mattermost_schema import MATTERMOST_TABLES as MATTERMOST_TABLES
from demo.mattermost_schema import POST_INDEXES, SCHEMA, migrations

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
USERS = 60
SLOT_STRIDE = 7919  # a prime above the total weight: consecutive threads land in channels spread over the list


@dataclass(frozen=True)
class TeamSpec:
    name: str
    display_name: str
    deleted: bool = False


@dataclass(frozen=True)
class ChannelSpec:
    team: str | None  # None for direct and group messages, which belong to no team
    name: str
    type: str  # O public, P private, D direct, G group
    weight: int  # share of the posts; all distinct, so "busiest" has one answer
    deleted: bool = False


TEAMS = (
    TeamSpec("engineering", "Engineering"),
    TeamSpec("sales", "Sales"),
    TeamSpec("support", "Support"),
    TeamSpec("old-projects", "Old projects", deleted=True),
)
CHANNELS = (
    ChannelSpec("engineering", "town-square", "O", 40),
    ChannelSpec("engineering", "off-topic", "O", 12),
    ChannelSpec("engineering", "releases", "O", 25),
    ChannelSpec("engineering", "eng-private", "P", 18),
    ChannelSpec("engineering", "security", "P", 7),
    ChannelSpec("engineering", "old-stuff", "O", 30, deleted=True),
    ChannelSpec("sales", "town-square", "O", 22),
    ChannelSpec("sales", "off-topic", "O", 5),
    ChannelSpec("sales", "deals", "P", 16),
    ChannelSpec("support", "town-square", "O", 14),
    ChannelSpec("support", "off-topic", "O", 3),
    ChannelSpec("old-projects", "town-square", "O", 35),
    ChannelSpec(None, "dm-1", "D", 9),
    ChannelSpec(None, "dm-2", "D", 8),
    ChannelSpec(None, "dm-3", "D", 6),
    ChannelSpec(None, "dm-4", "D", 4),
    ChannelSpec(None, "dm-5", "D", 2),
    ChannelSpec(None, "dm-6", "D", 1),
    ChannelSpec(None, "gm-1", "G", 11),
    ChannelSpec(None, "gm-2", "G", 10),
)
# Sessions: (how many, expiresat relative to now in ms, or None for "never expires", which Mattermost stores as 0).
SESSIONS = ((20, 30 * DAY_MS), (6, -DAY_MS), (4, None))
ACTIVE_SESSIONS = 24


def team_id(name: str) -> str:
    return _id("t", [t.name for t in TEAMS].index(name))


def channel_id(index: int) -> str:
    return _id("c", index)


def user_id(index: int) -> str:
    return _id("u", index)


def _id(prefix: str, number: int) -> str:
    """26 characters like Mattermost's ids, readable in a failing test."""
    return f"{number:x}".rjust(26, prefix)


def posts_per_cycle() -> int:
    """Posts that fill every channel exactly in proportion to its weight (five per thread, one thread per slot)."""
    return 5 * sum(spec.weight for spec in CHANNELS)


def live_channel_counts() -> dict[str, int]:
    counts = {"O": 0, "P": 0, "D": 0, "G": 0}
    for spec in CHANNELS:
        if not spec.deleted:
            counts[spec.type] += 1
    return counts


LOAD_POSTS = """
INSERT INTO posts (id, createat, updateat, deleteat, userid, channelid, rootid, originalid, message, type, props,
                   hashtags, filenames, fileids, hasreactions, editat, ispinned, remoteid)
SELECT lpad(to_hex(g), 26, 'p'),
       %(now)s - g * %(interval)s,
       %(now)s - g * %(interval)s,
       CASE WHEN g %% 20 = 7 THEN %(now)s - g * %(interval)s + 60000 ELSE 0 END,
       lpad(to_hex(g %% %(users)s), 26, 'u'),
       s.channelid,
       CASE WHEN g %% 5 = 0 THEN '' ELSE lpad(to_hex(g - g %% 5), 26, 'p') END,
       '',
       'Message ' || g || ' about the ' || (ARRAY['release', 'deployment', 'customer call', 'incident',
                                                  'roadmap', 'lunch plans'])[g %% 6 + 1]
           || repeat(' and more details', (g %% 4)::int),
       '',
       '{}'::jsonb, '', '[]', '[]', g %% 9 = 0, 0, g %% 97 = 0, NULL
FROM generate_series(1::bigint, %(posts)s) AS g
JOIN post_slots AS s ON s.slot = (g / 5 * %(stride)s) %% %(slots)s
"""


def build_mattermost_database(
    conn: psycopg.Connection,
    *,
    posts: int,
    now_ms: int | None = None,
    post_interval_ms: int = HOUR_MS,
    autovacuum: bool = True,
) -> int:
    """Create the schema and load the seed; returns the ``now_ms`` the data is anchored at.

    ``conn`` must be a superuser (or owner) connection in autocommit mode. ``autovacuum=False`` keeps the posts
    table's dead tuples where a test left them.
    """
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    conn.execute(SCHEMA)
    if not autovacuum:
        conn.execute("ALTER TABLE posts SET (autovacuum_enabled = false)")
    with conn.transaction():
        _seed_small_tables(conn, now_ms)
        _load_posts(conn, posts, now_ms, post_interval_ms)
    conn.execute(POST_INDEXES)
    # The load's insert counters reach the statistics only when this session next goes idle; flushed after
    # ANALYZE they would be added on top of its row counts and double n_live_tup.
    conn.execute("SELECT pg_stat_force_next_flush()")
    conn.execute("ANALYZE")
    return now_ms


def _seed_small_tables(conn: psycopg.Connection, now_ms: int) -> None:
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO db_migrations VALUES (%s, %s)", migrations())
        cur.executemany(
            "INSERT INTO systems VALUES (%s, %s)",
            [("Version", "11.6.0"), ("DiagnosticId", "diagnosticid0000000000000a"),
             ("InstallationDate", str(now_ms - 400 * DAY_MS))],
        )
        cur.execute(
            """
            INSERT INTO users (id, createat, updateat, deleteat, username, email, emailverified, roles, locale,
                               mfaactive, props, notifyprops, timezone, authservice, lastlogin)
            SELECT lpad(to_hex(n), 26, 'u'), %(now)s - n * 86400000, %(now)s, CASE WHEN n BETWEEN 45 AND 49
                   THEN %(now)s - 3600000 ELSE 0 END, 'user' || n, 'user' || n || '@example.com', true,
                   CASE WHEN n = 0 THEN 'system_user system_admin' WHEN n >= 55 THEN 'system_guest'
                        ELSE 'system_user' END,
                   'en', false, '{}', '{}', '{}', '', %(now)s - n * 3600000
            FROM generate_series(0::bigint, %(users)s - 1) AS n
            """,
            {"now": now_ms, "users": USERS},
        )
        cur.execute(
            "INSERT INTO bots (userid, description, ownerid, createat, updateat, deleteat, lasticonupdate) "
            "SELECT lpad(to_hex(n), 26, 'u'), 'bot ' || n, lpad(to_hex(0), 26, 'u'), %(now)s, %(now)s, 0, 0 "
            "FROM generate_series(50, 54) AS n",
            {"now": now_ms},
        )
        cur.execute(
            "INSERT INTO status SELECT lpad(to_hex(n), 26, 'u'), (ARRAY['online', 'away', 'offline'])[n %% 3 + 1], "
            "false, %(now)s - n * 600000, 0, '' FROM generate_series(0::bigint, %(users)s - 1) AS n",
            {"now": now_ms, "users": USERS},
        )
        session_rows = []
        for how_many, expires_in in SESSIONS:
            for _ in range(how_many):
                number = len(session_rows)
                expires = 0 if expires_in is None else now_ms + expires_in
                session_rows.append((_id("s", number), _id("k", number), now_ms - DAY_MS, expires, now_ms,
                                     user_id(number % USERS), "", "system_user", False, "{}", False))
        cur.executemany("INSERT INTO sessions VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", session_rows)
        cur.executemany(
            "INSERT INTO teams (id, createat, updateat, deleteat, displayname, name, type, allowopeninvite, "
            "groupconstrained) VALUES (%s, %s, %s, %s, %s, %s, 'O', true, false)",
            [(team_id(t.name), now_ms - 300 * DAY_MS, now_ms, now_ms - DAY_MS if t.deleted else 0, t.display_name,
              t.name) for t in TEAMS],
        )
        cur.executemany(
            "INSERT INTO teammembers VALUES (%s, %s, 'team_user', 0, true, false, false, %s)",
            [(team_id(t.name), user_id(u), now_ms) for t in TEAMS for u in range(0, USERS, 2)],
        )
        cur.executemany(
            "INSERT INTO channels (id, createat, updateat, deleteat, teamid, type, displayname, name, header, "
            "purpose, lastpostat, totalmsgcount, extraupdateat, creatorid, groupconstrained, shared, "
            "totalmsgcountroot) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, '', '', %s, 0, 0, %s, false, false, 0)",
            [(channel_id(i), now_ms - 300 * DAY_MS, now_ms, now_ms - DAY_MS if c.deleted else 0,
              team_id(c.team) if c.team else "", c.type, c.name.replace("-", " ").title(), c.name, now_ms,
              user_id(0)) for i, c in enumerate(CHANNELS)],
        )
        cur.executemany(
            "INSERT INTO channelmembers VALUES (%s, %s, 'channel_user', %s, 0, 0, '{}', %s, true, false, false, "
            "0, 0, 0)",
            [(channel_id(i), user_id(u), now_ms, now_ms) for i in range(len(CHANNELS)) for u in range(0, USERS, 3)],
        )
        cur.executemany(
            "INSERT INTO preferences VALUES (%s, 'display_settings', 'use_military_time', 'false')",
            [(user_id(u),) for u in range(USERS)],
        )
        cur.executemany(
            "INSERT INTO jobs VALUES (%s, %s, 0, %s, %s, %s, %s, 100, '{}')",
            [(_id("j", n), kind, now_ms - n * HOUR_MS, now_ms - n * HOUR_MS, now_ms - n * HOUR_MS, status)
             for n, (kind, status) in enumerate([("data_retention", "success"), ("ldap_sync", "error"),
                                                 ("message_export", "success"), ("migrations", "success")])],
        )
        cur.executemany(
            "INSERT INTO pluginkeyvaluestore VALUES (%s, %s, %s, 0)",
            [(plugin, f"key{n}", b"x" * 64) for plugin in ("playbooks", "com.mattermost.calls") for n in range(20)],
        )
        cur.executemany(
            "INSERT INTO clusterdiscovery VALUES (%s, 'mattermost_cluster', 'production', %s, 8074, 8075, %s, %s)",
            [(_id("n", n), f"app-{n}.internal", now_ms - DAY_MS, now_ms - 5000) for n in range(2)],
        )
        cur.executemany(
            "INSERT INTO fileinfo (id, creatorid, postid, createat, updateat, deleteat, path, name, extension, size, "
            "mimetype, channelid) VALUES (%s, %s, '', %s, %s, 0, %s, %s, 'pdf', %s, 'application/pdf', %s)",
            [(_id("f", n), user_id(n % USERS), now_ms - n * HOUR_MS, now_ms, f"data/{n}.pdf", f"file{n}.pdf",
              1000 * (n + 1), channel_id(n % len(CHANNELS))) for n in range(30)],
        )
        cur.executemany(
            "INSERT INTO audits VALUES (%s, %s, %s, '/api/v4/users/login', 'success', '10.0.0.1', '')",
            [(_id("a", n), now_ms - n * HOUR_MS, user_id(n % USERS)) for n in range(50)],
        )


def _load_posts(conn: psycopg.Connection, posts: int, now_ms: int, interval_ms: int) -> None:
    slots = [(channel_id(i),) for i, spec in enumerate(CHANNELS) for _ in range(spec.weight)]
    with conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE post_slots (slot integer PRIMARY KEY, channelid varchar(26)) ON COMMIT DROP")
        cur.executemany("INSERT INTO post_slots VALUES (%s, %s)",
                        [(n, channel) for n, (channel,) in enumerate(slots)])
        cur.execute(LOAD_POSTS, {"now": now_ms, "interval": interval_ms, "users": USERS, "posts": posts,
                                 "slots": len(slots), "stride": SLOT_STRIDE})
        # Mattermost keeps per-channel counters; the seed makes them agree with the posts just loaded.
        cur.execute(
            """
            UPDATE channels AS c SET totalmsgcount = p.total, totalmsgcountroot = p.roots, lastpostat = p.last
            FROM (SELECT channelid, count(*) AS total, count(*) FILTER (WHERE rootid = '') AS roots,
                         max(createat) AS last
                  FROM posts GROUP BY channelid) AS p
            WHERE p.channelid = c.id
            """
        )
