"""A database shaped like Mattermost's (PostgreSQL, lower-case tables, real key columns and indexes), seeded with
deterministic data, for the database collector's tests and benchmark.

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

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
LATEST_MIGRATION = (159, "deduplicate_policy_names")  # the last migration of Mattermost v11.6
SKIPPED_MIGRATION = 110  # missing upstream too
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
# Tables the collector reads beyond the statistics views; a least-privilege role gets SELECT on these.
MATTERMOST_TABLES = (
    "users", "bots", "status", "sessions", "teams", "teammembers", "channels", "channelmembers", "posts",
    "reactions", "threads", "fileinfo", "preferences", "systems", "db_migrations", "jobs", "pluginkeyvaluestore",
    "clusterdiscovery", "audits",
)


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


SCHEMA = """
CREATE TYPE channel_type AS ENUM ('P', 'G', 'O', 'D');
CREATE TYPE team_type AS ENUM ('I', 'O');

CREATE TABLE db_migrations (version bigint PRIMARY KEY, name varchar NOT NULL);
CREATE TABLE systems (name varchar(64) PRIMARY KEY, value varchar(1024));

CREATE TABLE users (
    id varchar(26) PRIMARY KEY, createat bigint, updateat bigint, deleteat bigint,
    username varchar(64) UNIQUE, password varchar(128), authdata varchar(128) UNIQUE, authservice varchar(32),
    email varchar(128) UNIQUE, emailverified boolean, nickname varchar(64), firstname varchar(64),
    lastname varchar(64), roles varchar(256), allowmarketing boolean, props jsonb, notifyprops jsonb,
    lastpasswordupdate bigint, lastpictureupdate bigint, failedattempts integer, locale varchar(5),
    mfaactive boolean, mfasecret varchar(128), position varchar(128), timezone jsonb, remoteid varchar(26),
    lastlogin bigint NOT NULL DEFAULT 0
);
CREATE INDEX idx_users_update_at ON users (updateat);
CREATE INDEX idx_users_create_at ON users (createat);
CREATE INDEX idx_users_delete_at ON users (deleteat);

CREATE TABLE bots (
    userid varchar(26) PRIMARY KEY, description varchar(1024), ownerid varchar(190), createat bigint,
    updateat bigint, deleteat bigint, lasticonupdate bigint
);

CREATE TABLE status (
    userid varchar(26) PRIMARY KEY, status varchar(32), manual boolean, lastactivityat bigint,
    dndendtime bigint, prevstatus varchar(32)
);
CREATE INDEX idx_status_status_dndendtime ON status (status, dndendtime);

CREATE TABLE sessions (
    id varchar(26) PRIMARY KEY, token varchar(26), createat bigint, expiresat bigint, lastactivityat bigint,
    userid varchar(26), deviceid varchar(512), roles varchar(256), isoauth boolean, props jsonb,
    expirednotify boolean
);
CREATE INDEX idx_sessions_user_id ON sessions (userid);
CREATE INDEX idx_sessions_token ON sessions (token);
CREATE INDEX idx_sessions_expires_at ON sessions (expiresat);
CREATE INDEX idx_sessions_create_at ON sessions (createat);
CREATE INDEX idx_sessions_last_activity_at ON sessions (lastactivityat);

CREATE TABLE teams (
    id varchar(26) PRIMARY KEY, createat bigint, updateat bigint, deleteat bigint, displayname varchar(64),
    name varchar(64) UNIQUE, description varchar(255), email varchar(128), type team_type,
    companyname varchar(64), alloweddomains varchar(1000), inviteid varchar(32), schemeid varchar(26),
    allowopeninvite boolean, lastteamiconupdate bigint, groupconstrained boolean, cloudlimitsarchived boolean
);
CREATE INDEX idx_teams_invite_id ON teams (inviteid);
CREATE INDEX idx_teams_update_at ON teams (updateat);

CREATE TABLE teammembers (
    teamid varchar(26), userid varchar(26), roles varchar(256), deleteat bigint, schemeuser boolean,
    schemeadmin boolean, schemeguest boolean, createat bigint DEFAULT 0, PRIMARY KEY (teamid, userid)
);
CREATE INDEX idx_teammembers_user_id ON teammembers (userid);

CREATE TABLE channels (
    id varchar(26) PRIMARY KEY, createat bigint, updateat bigint, deleteat bigint, teamid varchar(26),
    type channel_type, displayname varchar(64), name varchar(64), header varchar(1024), purpose varchar(250),
    lastpostat bigint, totalmsgcount bigint, extraupdateat bigint, creatorid varchar(26), schemeid varchar(26),
    groupconstrained boolean, shared boolean, totalmsgcountroot bigint, lastrootpostat bigint DEFAULT 0,
    UNIQUE (name, teamid)
);
CREATE INDEX idx_channels_team_id ON channels (teamid);
CREATE INDEX idx_channels_update_at ON channels (updateat);
CREATE INDEX idx_channels_create_at ON channels (createat);
CREATE INDEX idx_channels_delete_at ON channels (deleteat);

CREATE TABLE channelmembers (
    channelid varchar(26), userid varchar(26), roles varchar(256), lastviewedat bigint, msgcount bigint,
    mentioncount bigint, notifyprops jsonb, lastupdateat bigint, schemeuser boolean, schemeadmin boolean,
    schemeguest boolean, mentioncountroot bigint, msgcountroot bigint, urgentmentioncount bigint,
    PRIMARY KEY (channelid, userid)
);
CREATE INDEX idx_channelmembers_user_id_channel_id_last_viewed_at ON channelmembers (userid, channelid, lastviewedat);

CREATE TABLE posts (
    id varchar(26) PRIMARY KEY, createat bigint, updateat bigint, deleteat bigint, userid varchar(26),
    channelid varchar(26), rootid varchar(26), originalid varchar(26), message varchar(65535), type varchar(26),
    props jsonb, hashtags varchar(1000), filenames varchar(4000), fileids varchar(300), hasreactions boolean,
    editat bigint, ispinned boolean, remoteid varchar(26)
);

CREATE TABLE reactions (
    userid varchar(26), postid varchar(26), emojiname varchar(64), createat bigint, updateat bigint,
    deleteat bigint, remoteid varchar(26), channelid varchar(26) NOT NULL DEFAULT '',
    PRIMARY KEY (postid, userid, emojiname)
);

CREATE TABLE threads (
    postid varchar(26) PRIMARY KEY, replycount bigint, lastreplyat bigint, participants jsonb,
    channelid varchar(26), threaddeleteat bigint, threadteamid varchar(26)
);

CREATE TABLE fileinfo (
    id varchar(26) PRIMARY KEY, creatorid varchar(26), postid varchar(26), createat bigint, updateat bigint,
    deleteat bigint, path varchar(512), thumbnailpath varchar(512), previewpath varchar(512), name varchar(256),
    extension varchar(64), size bigint, mimetype varchar(256), width integer, height integer,
    haspreviewimage boolean, minipreview bytea, content text, remoteid varchar(26), archived boolean NOT NULL
    DEFAULT false, channelid varchar(26)
);
CREATE INDEX idx_fileinfo_create_at ON fileinfo (createat);
CREATE INDEX idx_fileinfo_postid_at ON fileinfo (postid);

CREATE TABLE preferences (
    userid varchar(26), category varchar(32), name varchar(32), value text, PRIMARY KEY (userid, category, name)
);

CREATE TABLE jobs (
    id varchar(26) PRIMARY KEY, type varchar(32), priority bigint, createat bigint, startat bigint,
    lastactivityat bigint, status varchar(32), progress bigint, data jsonb
);
CREATE INDEX idx_jobs_type ON jobs (type);

CREATE TABLE pluginkeyvaluestore (
    pluginid varchar(190), pkey varchar(150), pvalue bytea, expireat bigint, PRIMARY KEY (pluginid, pkey)
);

CREATE TABLE clusterdiscovery (
    id varchar(26) PRIMARY KEY, type varchar(64), clustername varchar(64), hostname varchar(512),
    gossipport integer, port integer, createat bigint, lastpingat bigint
);

CREATE TABLE audits (
    id varchar(26) PRIMARY KEY, createat bigint, userid varchar(26), action varchar(512),
    extrainfo varchar(1024), ipaddress varchar(64), sessionid varchar(26)
);
CREATE INDEX idx_audits_user_id ON audits (userid);
"""

# Built after the bulk load: one sorted pass per index instead of millions of insertions. The full-text (GIN)
# index on posts.message is left out: it would dominate the load time and no collector query touches it.
POST_INDEXES = """
CREATE INDEX idx_posts_create_at ON posts (createat);
CREATE INDEX idx_posts_update_at ON posts (updateat);
CREATE INDEX idx_posts_delete_at ON posts (deleteat);
CREATE INDEX idx_posts_channel_id_update_at ON posts (channelid, updateat);
CREATE INDEX idx_posts_channel_id_delete_at_create_at ON posts (channelid, deleteat, createat);
CREATE INDEX idx_posts_root_id_delete_at ON posts (rootid, deleteat);
CREATE INDEX idx_posts_user_id ON posts (userid);
CREATE INDEX idx_posts_create_at_id ON posts (createat, id);
"""

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
    migrations = [(v, f"migration_{v:06d}") for v in range(1, LATEST_MIGRATION[0]) if v != SKIPPED_MIGRATION]
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO db_migrations VALUES (%s, %s)", [*migrations, LATEST_MIGRATION])
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
