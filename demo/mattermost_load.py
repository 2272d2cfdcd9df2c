"""Writes a Plan (demo/mattermost_data.py) into an empty PostgreSQL database with Mattermost's schema, keeps its
dates current, and records what was loaded.

The posts are made by one INSERT ... SELECT over generate_series, so two million take seconds: post g (0 = the
newest) belongs to channel width_bucket((g * stride) mod N, the channels' cumulative quotas), a bijection that gives
every channel exactly its quota and spreads each channel over time; its author is one of the channel's members and
its time comes from its rank: the first posts fill today and the 29 days before with the API's daily figures, the
rest go back evenly over the years. Post ids are md5 of the scenario and g in Mattermost's alphabet, so a later day
finds the newest `recent_block` posts again and only re-dates those.

What was loaded is a JSON manifest in the database's comment (COMMENT ON DATABASE): no table of ours shows up among
the dashboard's largest tables, and a load that did not finish leaves no manifest, so it is redone.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from math import gcd
from typing import Any

import psycopg
from psycopg import sql

from collectors import database_queries as q
from demo.mattermost_data import (
    DAY_MS,
    FILES_LIMIT,
    HOUR_MS,
    LOADER_VERSION,
    Plan,
    day_start_ms,
    history_interval_ms,
    hour_cdf,
    new_ids,
    share_of_day_before,
)
from demo.mattermost_schema import MATTERMOST_TABLES, POST_INDEXES, SCHEMA, migrations

MESSAGES = (
    "Deploy of the release candidate is done, please check the staging links.",
    "Can someone review my merge request before lunch?",
    "The customer call moved to 15:00, agenda in the thread.",
    "Reminder: fill in the quarterly planning sheet by Friday.",
    "Incident resolved, the postmortem draft is in the wiki.",
    "Who owns the alert for the nightly export job?",
    "Thanks everyone for the help with the migration!",
    "Updated the runbook with the new failover steps.",
    "Is the VPN slow for anyone else this morning?",
    "Sharing the notes from today's standup.",
    "New dashboard for the support queue is live.",
    "Please keep the channel for release questions only.",
    "Lunch order closes in ten minutes.",
    "The vendor confirmed the contract renewal.",
    "Added the design mockups to the shared folder.",
    "Heads up: maintenance window tonight from 22:00 UTC.",
)
STATUSES = ("online", "away", "dnd", "offline")
DATED_TABLES = "sessions, status, audits, jobs, clusterdiscovery"  # rows dated by the clock, written anew each day


@dataclass(frozen=True)
class Upkeep:
    """How the database has been looked after. Neglected: autovacuum turned off for posts and a bulk rewrite of a
    share of them (a plugin backfilling props) left that many dead row versions that nothing vacuumed since."""

    autovacuum: bool = True
    rewritten_share: float = 0.0

    @property
    def neglected(self) -> bool:
        return not self.autovacuum


# ------------------------------------------------------------------------------------------------ manifest

def read_manifest(conn: psycopg.Connection, database: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                       (database,)).fetchone()
    try:
        manifest = json.loads(row[0]) if row and row[0] else None
    except ValueError:
        return None
    return manifest if isinstance(manifest, dict) else None


def _write_manifest(conn: psycopg.Connection, database: str, manifest: dict[str, Any]) -> None:
    conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
        sql.Identifier(database), sql.Literal(json.dumps(manifest, sort_keys=True))))


def manifest_for(plan: Plan, upkeep: Upkeep) -> dict[str, Any]:
    return {"loader": LOADER_VERSION, "scenario": plan.scenario.name, "fingerprint": plan.fingerprint(),
            "neglected": upkeep.neglected, "day": plan.today, "block": plan.recent_block,
            "posts": plan.posts_loaded, "users": len(plan.users), "channels": len(plan.channels)}


# ---------------------------------------------------------------------------------------------------- load

def load(conn: psycopg.Connection, database: str, plan: Plan, upkeep: Upkeep, monitor_role: str) -> dict[str, Any]:
    """Fill the empty database `conn` is connected to (autocommit mode); returns the manifest it recorded."""
    with conn.transaction():
        # Tables created and filled in one transaction skip the WAL under wal_level=minimal.
        conn.execute(SCHEMA)
        with conn.cursor() as cur:
            _static_tables(cur, plan)
            _dated_tables(cur, plan)
            _posts(cur, plan, 0, plan.posts_loaded)
        conn.execute(POST_INDEXES)
        _channel_activity(conn)
        conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(
            sql.Identifier(monitor_role)))
    # ANALYZE first, then a VACUUM that reads every page, whose row counts (reltuples) are exact: a VACUUM that
    # skips pages extrapolates them, and ANALYZE estimates them from a sample.
    conn.execute("ANALYZE")
    conn.execute("VACUUM (DISABLE_PAGE_SKIPPING)")
    if upkeep.neglected:
        conn.execute("ALTER TABLE posts SET (autovacuum_enabled = false)")
        # The statistics begin here, so the load's own reads and writes are not taken for Mattermost's.
        _reset_statistics(conn)
        conn.execute(_vacuum_small_tables())  # autovacuum still looks after the other tables
        conn.execute("UPDATE posts SET props = '{\"backfilled\": true}' WHERE hashtext(id) & 1023 < %s",
                     (round(upkeep.rewritten_share * 1024),))
        conn.execute("ANALYZE posts")
    manifest = manifest_for(plan, upkeep)
    _write_manifest(conn, database, manifest)
    return manifest


def redate(conn: psycopg.Connection, database: str, plan: Plan, upkeep: Upkeep,
           manifest: dict[str, Any]) -> dict[str, Any]:
    """Move a database loaded on an earlier day to the plan's day: the newest posts take the API's daily figures
    again, and the tables whose rows are dated by the clock (sessions, statuses, jobs, ...) are written anew."""
    with conn.transaction():
        conn.execute(f"TRUNCATE {DATED_TABLES}")
        with conn.cursor() as cur:
            _dated_tables(cur, plan)
            cur.execute(
                f"""UPDATE posts AS p SET createat = x.t, updateat = x.t
                    FROM ({_timed_posts()}) AS x
                    WHERE p.id = {_post_id("x.g")}""",
                _post_parameters(plan, 0, manifest["block"]))
        _channel_activity(conn)
    conn.execute(f"ANALYZE {DATED_TABLES}")  # TRUNCATE forgot their row counts
    if upkeep.autovacuum:
        conn.execute("ANALYZE posts")
        conn.execute("VACUUM (DISABLE_PAGE_SKIPPING) posts")  # exact row counts again (see load)
    manifest = {**manifest, "day": plan.today}
    _write_manifest(conn, database, manifest)
    return manifest


def settle(conn: psycopg.Connection, plan: Plan, upkeep: Upkeep) -> None:
    """Each start: a looked-after database begins its statistics now, as after a restart with a warm cache
    (what the dashboard reads is read once first, so the statistics count what a running Mattermost would see),
    and is vacuumed (cheap: posts is all-visible, the rest small and cached). A neglected one keeps the
    statistics of its neglect, restored by ANALYZE if a crash lost them."""
    if upkeep.autovacuum:
        _vacuum(conn)  # whatever is left to do happens before the reset
        for query in warm_up_queries():
            conn.execute(query, {"days": 7, "limit": 10}).fetchall()
        _reset_statistics(conn)
        _vacuum(conn)  # now only sets the live-row counts and last_vacuum, from cached pages
        return
    row = conn.execute("SELECT n_live_tup FROM pg_stat_user_tables WHERE relname = 'posts'").fetchone()
    if row is None or not row[0]:
        conn.execute("ANALYZE posts")


def _vacuum(conn: psycopg.Connection) -> None:
    """VACUUM Mattermost's tables only (a database-wide one would read the shared catalogs from disk). The small
    tables are read whole, so their row counts stay exact (skipping all-visible pages, VACUUM extrapolates them
    from the rest, and they drift); posts, all-visible and large, is skipped through."""
    conn.execute(_vacuum_small_tables())
    conn.execute("VACUUM posts")


def _vacuum_small_tables() -> sql.Composed:
    # BUFFER_USAGE_LIMIT 0: through shared buffers rather than VACUUM's small ring, so what it read before the
    # reset is still cached when it reads it again after.
    small = [sql.Identifier(t) for t in MATTERMOST_TABLES if t != "posts"]
    return sql.SQL("VACUUM (DISABLE_PAGE_SKIPPING, BUFFER_USAGE_LIMIT 0) {}").format(sql.SQL(", ").join(small))


def _reset_statistics(conn: psycopg.Connection) -> None:
    # This session's own counts reach the shared statistics when it next goes idle; forced out first, they cannot
    # land on top of the reset (and double n_live_tup).
    conn.execute("SELECT pg_stat_force_next_flush()")
    conn.execute("SELECT pg_stat_reset()")


def warm_up_queries() -> tuple[str, ...]:
    """The dashboard's own reads (collectors/database_queries.py)."""
    return (q.POSTS_BY_HOUR, q.CHANNEL_GROUPS, q.TEAMS, q.TOP_CHANNELS, q.ACTIVE_SESSIONS, q.SCHEMA_VERSION, q.TABLES)


# ------------------------------------------------------------------------------------------------- tables

def _copy(cur: psycopg.Cursor, table: str, columns: str, rows) -> None:
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _static_tables(cur: psycopg.Cursor, plan: Plan) -> None:
    s = plan.scenario
    now = s.now_ms
    _copy(cur, "db_migrations", "version, name", migrations(int(s.build.schema_version)))
    _copy(cur, "systems", "name, value", [
        ("Version", s.build.version), ("DiagnosticId", s.diagnostic_id),
        ("InstallationDate", str(s.installation_date)), ("FirstServerRunTimestamp", str(s.installation_date)),
        ("AdvancedPermissionsMigrationComplete", "true"), ("ContentExtractionConfigDefaultTrueMigrationComplete",
                                                           "true")])
    _copy(cur, "users", "id, createat, updateat, deleteat, username, password, authservice, email, emailverified, "
          "nickname, firstname, lastname, roles, allowmarketing, props, notifyprops, lastpasswordupdate, "
          "lastpictureupdate, failedattempts, locale, mfaactive, mfasecret, position, timezone, lastlogin",
          ((u.id, u.create_at, max(u.create_at, u.delete_at), u.delete_at, u.username, "", "", u.email, True, "",
            u.first_name, u.last_name, u.roles, False, "{}", "{}", u.create_at, 0, 0, "en", False, "", u.position,
            "{}", 0 if u.is_bot or u.delete_at else now - (n % 72) * HOUR_MS) for n, u in enumerate(plan.users)))
    _copy(cur, "bots", "userid, description, ownerid, createat, updateat, deleteat, lasticonupdate",
          ((u.id, u.bot_description, u.bot_owner, u.create_at, u.create_at, 0, 0) for u in plan.users if u.is_bot))
    _copy(cur, "teams", "id, createat, updateat, deleteat, displayname, name, description, email, type, "
          "companyname, alloweddomains, inviteid, allowopeninvite, lastteamiconupdate, groupconstrained, "
          "cloudlimitsarchived",
          ((t.id, t.create_at, t.update_at, 0, t.display_name, t.name, t.description, t.email, t.type, "", "",
            t.invite_id, t.allow_open_invite, 0, False, False) for t in s.teams))
    created = {t.id: t.create_at for t in s.teams}
    _copy(cur, "teammembers", "teamid, userid, roles, deleteat, schemeuser, schemeadmin, schemeguest, createat",
          ((team, user, "", 0, True, admin, False, created[team]) for team, user, admin in plan.team_members))
    _copy(cur, "channels", "id, createat, updateat, deleteat, teamid, type, displayname, name, header, purpose, "
          "lastpostat, totalmsgcount, extraupdateat, creatorid, groupconstrained, shared, totalmsgcountroot, "
          "lastrootpostat",
          ((c.id, c.create_at, c.create_at, 0, c.team_id, c.type, c.display_name, c.name, "", c.purpose,
            c.create_at, c.messages, 0, c.creator_id, False, False, c.messages, c.create_at)
           for c in plan.channels))
    _copy(cur, "channelmembers", "channelid, userid, roles, lastviewedat, msgcount, mentioncount, notifyprops, "
          "lastupdateat, schemeuser, schemeadmin, schemeguest, mentioncountroot, msgcountroot, urgentmentioncount",
          ((c.id, user, "", now, c.messages, 0, '{"push": "default", "email": "default"}', c.create_at, True,
            user == c.creator_id and c.type in "OP", False, 0, c.messages, 0)
           for c in plan.channels for user in c.members))
    _copy(cur, "preferences", "userid, category, name, value",
          ((u.id, "tutorial_step", u.id, "999") for u in plan.users if not u.is_bot))
    plugins = [p.id for p in s.plugins if p.enabled and p.has_server]
    _copy(cur, "pluginkeyvaluestore", "pluginid, pkey, pvalue, expireat",
          ((plugin, f"config_{n}", b'{"enabled": true}', 0) for plugin in plugins for n in range(5)))
    _files(cur, plan)


def _files(cur: psycopg.Cursor, plan: Plan) -> None:
    s, rng = plan.scenario, random.Random(f"mmdash-demo-database/{plan.scenario.name}/files")
    count = min(s.usage.file_count, FILES_LIMIT)
    if not count:
        return
    total = s.usage.file_size_bytes if count == s.usage.file_count else s.usage.file_size_bytes * count // (
        s.usage.file_count)
    people = plan.people or plan.users
    teams = [c for c in plan.channels if c.team_id]
    kinds = (("pdf", "application/pdf"), ("png", "image/png"), ("docx", "application/vnd.openxmlformats-"
             "officedocument.wordprocessingml.document"), ("xlsx", "application/vnd.openxmlformats-officedocument."
             "spreadsheetml.sheet"), ("jpg", "image/jpeg"))

    def rows():
        for n, file_id in enumerate(new_ids(rng, count)):
            ext, mime = kinds[n % len(kinds)]
            at = s.now_ms - rng.randint(0, 700) * DAY_MS
            size = total // count + (1 if n < total % count else 0)
            channel = teams[n % len(teams)].id if teams else ""
            yield (file_id, people[n % len(people)].id, "", at, at, 0, f"{at // DAY_MS}/{file_id}/file{n}.{ext}",
                   "", "", f"file{n}.{ext}", ext, size, mime, False, channel)

    _copy(cur, "fileinfo", "id, creatorid, postid, createat, updateat, deleteat, path, thumbnailpath, previewpath, "
          "name, extension, size, mimetype, archived, channelid", rows())


def _dated_tables(cur: psycopg.Cursor, plan: Plan) -> None:
    """Rows whose times follow the clock: written at the load and again on each later day."""
    s, now = plan.scenario, plan.scenario.now_ms
    rng = random.Random(f"mmdash-demo-database/{s.name}/sessions")
    people = plan.people or plan.users
    expired = max(1, s.usage.sessions // 25)
    ids = new_ids(rng, 2 * (s.usage.sessions + expired))

    def sessions():
        for n in range(s.usage.sessions + expired):
            user = people[rng.randrange(len(people))]
            created = now - rng.randint(1, 29) * DAY_MS
            expires = (now + rng.randint(1, 720) * HOUR_MS if n < s.usage.sessions
                       else now - rng.randint(1, 47) * HOUR_MS)
            yield (ids[2 * n], ids[2 * n + 1], created, expires, min(now, expires), user.id, "",
                   user.roles, False, '{"platform": "Linux", "browser": "Chrome"}', False)

    _copy(cur, "sessions", "id, token, createat, expiresat, lastactivityat, userid, deviceid, roles, isoauth, "
          "props, expirednotify", sessions())
    online = min(len(people), s.usage.websocket_connections)
    _copy(cur, "status", "userid, status, manual, lastactivityat, dndendtime, prevstatus",
          ((u.id, STATUSES[0] if n < online * 0.7 else STATUSES[1] if n < online else STATUSES[3], False,
            now - (n % 600) * 60_000, 0, "") for n, u in enumerate(people)))
    _copy(cur, "jobs", "id, type, priority, createat, startat, lastactivityat, status, progress, data",
          ((j.id, j.type, j.priority, j.create_at, j.start_at, j.last_activity_at, j.status, j.progress,
            json.dumps(j.data)) for j in s.jobs))
    _copy(cur, "clusterdiscovery", "id, type, clustername, hostname, gossipport, port, createat, lastpingat",
          ((n.id, "mattermost_cluster", s.name, n.ipaddress, 8074, 8075, now - DAY_MS, now - 5_000)
           for n in s.nodes))
    _copy(cur, "audits", "id, createat, userid, action, extrainfo, ipaddress, sessionid",
          ((audit_id, now - n * HOUR_MS, s.accounts[n % len(s.accounts)].id, "/api/v4/users/login",
            "success", f"10.0.{n % 4}.{10 + n % 200}", "") for n, audit_id in enumerate(new_ids(rng, 40))))


# -------------------------------------------------------------------------------------------------- posts

def _post_id(g: str) -> str:
    return f"translate(left(md5(%(seed)s || {g}::text), 26), '0123456789abcdef', 'ybndrfg8ejkmcpqx')"


def _timed_posts() -> str:
    """(g, ch, t) for g in [first, last): its channel number (1-based) and its createat."""
    return """
        SELECT g, ch,
               CASE WHEN d <= %(days)s
                    THEN (%(day_start)s::bigint[])[d]
                         + (((h - 1) + (u - (%(cdf)s::float8[])[h])
                            / ((%(cdf)s::float8[])[h + 1] - (%(cdf)s::float8[])[h])) * 3600000)::bigint
                    ELSE %(old_top)s - (g - %(recent)s + 1) * %(old_interval)s END AS t
        FROM (SELECT g, ch, d, u, width_bucket(u, %(cdf_lo)s::float8[]) AS h
              FROM (SELECT g, ch, d,
                           CASE WHEN d <= %(days)s
                                THEN (1 - ((g - (%(day_lo)s::bigint[])[d])::float8 + 0.5) / (%(day_n)s::int[])[d])
                                     * (%(day_share)s::float8[])[d] END AS u
                    FROM (SELECT g, width_bucket((g * %(stride)s) %% %(n)s, %(chan_lo)s::bigint[]) AS ch,
                                 width_bucket(g, %(day_lo)s::bigint[]) AS d
                          FROM generate_series(%(first)s::bigint, %(last)s::bigint - 1) AS g) AS numbered
                   ) AS shared) AS hours
    """


def _stride(n: int) -> int:
    """A multiplier coprime with n near n/phi, so (g * stride) mod n visits every residue once, well mixed."""
    stride = max(1, int(n * 0.6180339887))
    while gcd(stride, n) != 1:
        stride += 1
    return stride


def _post_parameters(plan: Plan, first: int, last: int) -> dict[str, Any]:
    n, recent = plan.posts_loaded, plan.recent_posts
    cdf = hour_cdf()
    now = plan.scenario.now_ms
    left, day_lo, day_start, day_n, day_share = recent, [0], [], [], []
    for index, day in enumerate(plan.days):
        count = min(day.value, left)
        left -= count
        day_lo.append(day_lo[-1] + count)
        day_start.append(day_start_ms(day.day))
        day_n.append(max(count, 1))
        day_share.append(share_of_day_before(now, cdf) if index == 0 else 1.0)
    loaded = [c.loaded for c in plan.channels if c.loaded]
    chan_lo = [0]
    for quota in loaded[:-1]:
        chan_lo.append(chan_lo[-1] + quota)
    oldest = day_start[-1] if day_start else now
    return {"seed": f"mmdash-demo/{plan.scenario.name}/", "n": max(n, 1), "stride": _stride(max(n, 1)),
            "chan_lo": chan_lo, "day_lo": day_lo, "day_start": day_start, "day_n": day_n, "day_share": day_share,
            "days": len(day_start), "cdf": cdf, "cdf_lo": cdf[:24], "recent": recent, "old_top": oldest,
            "old_interval": history_interval_ms(plan), "first": first, "last": last}


def _posts(cur: psycopg.Cursor, plan: Plan, first: int, last: int) -> None:
    channels = [c for c in plan.channels if c.loaded]
    if not channels or last <= first:
        return
    cur.execute("CREATE TEMP TABLE post_channels (no int PRIMARY KEY, id varchar(26), members int) ON COMMIT DROP")
    cur.execute("CREATE TEMP TABLE post_authors (channel_no int, ordinal int, userid varchar(26), "
                "PRIMARY KEY (channel_no, ordinal)) ON COMMIT DROP")
    _copy(cur, "post_channels", "no, id, members",
          ((no, c.id, len(c.members)) for no, c in enumerate(channels, start=1)))
    _copy(cur, "post_authors", "channel_no, ordinal, userid",
          ((no, ordinal, user) for no, c in enumerate(channels, start=1) for ordinal, user in enumerate(c.members)))
    cur.execute("ANALYZE post_channels; ANALYZE post_authors")
    parameters = _post_parameters(plan, first, last) | {"messages": list(MESSAGES)}
    cur.execute(
        f"""INSERT INTO posts (id, createat, updateat, deleteat, userid, channelid, rootid, originalid, message,
                               type, props, hashtags, filenames, fileids, hasreactions, editat, ispinned, remoteid)
            SELECT {_post_id("p.g")}, p.t, p.t, 0, a.userid, c.id, '', '',
                   (%(messages)s::text[])[1 + p.g %% {len(MESSAGES)}], '', '{{}}', '', '[]', '[]', false, 0,
                   p.g %% 499 = 0, NULL
            FROM ({_timed_posts()}) AS p
            JOIN post_channels AS c ON c.no = p.ch
            JOIN post_authors AS a ON a.channel_no = p.ch AND a.ordinal = p.g %% c.members""",
        parameters)


def _channel_activity(conn: psycopg.Connection) -> None:
    """Each channel's last post time, through idx_posts_channel_id_delete_at_create_at (one lookup a channel)."""
    conn.execute("""
        UPDATE channels AS c SET lastpostat = last.t, lastrootpostat = last.t, updateat = greatest(c.updateat, last.t)
        FROM (SELECT ch.id, (SELECT max(createat) FROM posts AS p WHERE p.channelid = ch.id AND p.deleteat = 0) AS t
              FROM channels AS ch WHERE ch.totalmsgcount > 0) AS last
        WHERE c.id = last.id AND last.t IS NOT NULL""")
