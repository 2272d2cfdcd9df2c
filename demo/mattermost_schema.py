"""Mattermost's PostgreSQL schema as of v11.6, the part the dashboard reads: lower-case tables and columns, the key
columns and the indexes upstream creates (server/channels/db/migrations/postgres/ in mattermost/mattermost, e.g.
000020_create_posts.up.sql, 000022_create_sessions.up.sql, 000046_create_users.up.sql, 000049_create_channels.up.sql,
folded together with the later migrations that changed them). Tables the collectors never read (emoji, webhooks,
groups, ...) are left out.

Used by the demo's database (demo/mattermost_data.py) and by the tests' Mattermost-shaped database
(tests/servers/mattermost_schema.py), so both hold the same shape.
"""

from __future__ import annotations

LATEST_MIGRATION = (159, "deduplicate_policy_names")  # the last migration of Mattermost v11.6
SKIPPED_MIGRATION = 110  # missing upstream too
# Tables the collector reads beyond the statistics views; a least-privilege role gets SELECT on these.
MATTERMOST_TABLES = (
    "users", "bots", "status", "sessions", "teams", "teammembers", "channels", "channelmembers", "posts",
    "reactions", "threads", "fileinfo", "preferences", "systems", "db_migrations", "jobs", "pluginkeyvaluestore",
    "clusterdiscovery", "audits",
)


def migrations(latest: int = LATEST_MIGRATION[0]) -> list[tuple[int, str]]:
    """db_migrations rows up to `latest`, as morph leaves them (one row per applied migration). Only the newest
    name is upstream's: it is the one Mattermost and the dashboard show."""
    rows = [(v, f"migration_{v:06d}") for v in range(1, latest + 1) if v != SKIPPED_MIGRATION]
    if rows and rows[-1][0] == LATEST_MIGRATION[0]:
        rows[-1] = LATEST_MIGRATION
    return rows


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
    id varchar(26) NOT NULL, createat bigint, updateat bigint, deleteat bigint, userid varchar(26),
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

# Built after the bulk load, the primary key too: one sorted pass per index instead of millions of insertions at
# random places (post ids are random). The full-text (GIN) indexes on posts.message and posts.hashtags are left out:
# they would dominate the load time and no collector query touches them.
POST_INDEXES = """
ALTER TABLE posts ADD CONSTRAINT posts_pkey PRIMARY KEY (id);
CREATE INDEX idx_posts_create_at ON posts (createat);
CREATE INDEX idx_posts_update_at ON posts (updateat);
CREATE INDEX idx_posts_delete_at ON posts (deleteat);
CREATE INDEX idx_posts_channel_id_update_at ON posts (channelid, updateat);
CREATE INDEX idx_posts_channel_id_delete_at_create_at ON posts (channelid, deleteat, createat);
CREATE INDEX idx_posts_root_id_delete_at ON posts (rootid, deleteat);
CREATE INDEX idx_posts_user_id ON posts (userid);
CREATE INDEX idx_posts_create_at_id ON posts (createat, id);
"""
