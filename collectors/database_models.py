"""Typed facts read from Mattermost's PostgreSQL database, and the parsers that build them from query rows.

How exact each figure is matters in a review, so it is part of the type: sizes are exact, table row counts are
ANALYZE estimates, channel and session counts are exact counts, team and channel message totals are Mattermost's
own counters (channels.totalmsgcount), and the post grid is an exact count of the last 7 days.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

# The facts the database collector reports, by the names its `missing` map uses.
FACT_SERVER = "Server version and statistics"
FACT_CONNECTIONS = "Connections by state"
FACT_IDLE = "Idle-in-transaction sessions"
FACT_LONGEST = "Longest running query"
FACT_LOCKS = "Lock waits"
FACT_TABLES = "Largest tables"
FACT_POSTS_TABLE = "Posts table maintenance"
FACT_REPLICATION = "Replication"
FACT_SCHEMA = "Schema version"
FACT_CHANNEL_TYPES = "Channels by type"
FACT_TOP_TEAMS = "Top teams"
FACT_TOP_CHANNELS = "Top channels"
FACT_POSTS = "Posts by hour and weekday"
FACT_SESSIONS = "Active sessions"

QUERY_CHARS = 200
CHANNEL_TYPES = {"O": "public", "P": "private", "D": "direct", "G": "group"}
EPOCH_ISO_WEEKDAY = 4  # 1970-01-01 was a Thursday
# Quoted literals in query text can hold e-mail addresses, tokens or passwords typed into ad-hoc SQL.
_LITERAL = re.compile(r"'(?:[^']|'')*'?")
IDLE_IN_TRANSACTION = ("idle in transaction", "idle in transaction (aborted)")
HOW_COUNTED = {
    "database_size": "exact (pg_database_size)",
    "largest_tables": "sizes exact; rows estimated from ANALYZE statistics (pg_class.reltuples)",
    "connections": "exact (pg_stat_activity)",
    "channels_by_type": "exact count of channels that are not archived",
    "top_channels": "Mattermost's per-channel message counter (channels.totalmsgcount)",
    "top_teams": "sum of Mattermost's per-channel message counters over the team's channels",
    "posts_last_7_days": "exact count of posts that are not deleted, created in the last 7 days (UTC)",
    "active_sessions": "exact count of sessions that have not expired",
}


@dataclass(frozen=True)
class ServerVersion:
    number: int  # server_version_num, e.g. 150008
    text: str  # server_version, e.g. "15.8 (Debian 15.8-1.pgdg120+1)"

    @property
    def major(self) -> int:
        return self.number // 10000


@dataclass(frozen=True)
class SchemaVersion:
    version: int  # the newest applied migration, what Mattermost reports as its schema version
    name: str
    applied: int  # rows in db_migrations


@dataclass(frozen=True)
class TableSize:
    schema: str
    name: str
    total_bytes: int  # table, indexes and TOAST
    table_bytes: int
    index_bytes: int
    estimated_rows: int | None


@dataclass(frozen=True)
class Connections:
    by_state: dict[str, int]  # client sessions per pg_stat_activity state; "unknown" when the role may not see it
    total: int
    this_database: int
    max_connections: int
    reserved_connections: int  # superuser_reserved_connections: slots ordinary roles cannot use

    @property
    def usable(self) -> int:
        return max(self.max_connections - self.reserved_connections, 1)

    @property
    def used_ratio(self) -> float:
        return self.total / self.usable


@dataclass(frozen=True)
class DatabaseStatistics:
    """pg_stat_database counters for this database, cumulative since `stats_since`."""

    blocks_hit: int
    blocks_read: int
    deadlocks: int
    temp_files: int
    temp_bytes: int
    commits: int
    rollbacks: int
    stats_since: datetime | None

    @property
    def cache_hit_ratio(self) -> float | None:
        reads = self.blocks_hit + self.blocks_read
        return self.blocks_hit / reads if reads else None


@dataclass(frozen=True)
class IdleInTransaction:
    count: int
    longest_s: float | None
    longest_pid: int | None
    longest_application: str | None


@dataclass(frozen=True)
class RunningQuery:
    pid: int
    duration_s: float
    state: str
    application_name: str
    username: str | None
    wait_event: str | None  # "Lock:relation", "IO:DataFileRead", ...
    query: str  # at most QUERY_CHARS characters, quoted literals masked


@dataclass(frozen=True)
class LockWait:
    pid: int
    waiting_s: float  # age of the waiting query
    blocked_by: tuple[int, ...]
    application_name: str
    query: str


@dataclass(frozen=True)
class TableMaintenance:
    """Vacuum state of one table (posts), from pg_stat_user_tables."""

    live_tuples: int
    dead_tuples: int
    last_vacuum: datetime | None
    last_autovacuum: datetime | None
    last_analyze: datetime | None
    last_autoanalyze: datetime | None

    @property
    def dead_ratio(self) -> float | None:
        total = self.live_tuples + self.dead_tuples
        return self.dead_tuples / total if total else None

    @property
    def last_vacuumed(self) -> datetime | None:
        return _latest(self.last_vacuum, self.last_autovacuum)

    @property
    def last_analyzed(self) -> datetime | None:
        return _latest(self.last_analyze, self.last_autoanalyze)


@dataclass(frozen=True)
class Replica:
    name: str  # application_name of the WAL receiver
    client_address: str | None
    state: str | None
    sync_state: str | None
    write_lag_s: float | None  # None when the replica is idle and caught up
    flush_lag_s: float | None
    replay_lag_s: float | None
    replay_lag_bytes: int | None


@dataclass(frozen=True)
class Replication:
    is_standby: bool
    replicas: tuple[Replica, ...] = ()
    standby_replay_delay_s: float | None = None  # standby only: since the last replayed transaction
    standby_caught_up: bool | None = None  # standby only: everything received has been replayed

    @property
    def summary(self) -> str:
        if self.is_standby:
            caught_up = {True: "has replayed all it received", False: "is still replaying received WAL",
                         None: "is not receiving WAL right now"}[self.standby_caught_up]
            delay = ("" if self.standby_replay_delay_s is None
                     else f"; its last replayed transaction is {self.standby_replay_delay_s:.0f} s old")
            return f"This server is a standby (read replica) and {caught_up}{delay}."
        if not self.replicas:
            return "No replicas stream from this server."
        lags = [r.replay_lag_bytes for r in self.replicas if r.replay_lag_bytes is not None]
        worst = f"; the furthest behind is {max(lags):,} bytes" if lags else ""
        return f"{len(self.replicas)} replica(s) stream from this server{worst}."


@dataclass(frozen=True)
class ChannelTypeCounts:
    public: int
    private: int
    direct: int
    group: int

    @property
    def total(self) -> int:
        return self.public + self.private + self.direct + self.group


@dataclass(frozen=True)
class ChannelMessages:
    team_name: str
    team_display_name: str
    name: str
    display_name: str
    type: str  # O or P
    messages: int  # Mattermost's counter, not a recount


@dataclass(frozen=True)
class TeamMessages:
    name: str
    display_name: str
    messages: int  # sum of the channels' counters, archived channels included
    channels: int  # channels that are not archived


@dataclass(frozen=True)
class HourlyPosts:
    weekday: int  # ISO: 1 Monday .. 7 Sunday, UTC
    hour: int  # 0..23, UTC
    posts: int


@dataclass(frozen=True)
class PostActivity:
    since: datetime
    cells: tuple[HourlyPosts, ...]  # only the (weekday, hour) pairs that had posts

    @property
    def total(self) -> int:
        return sum(cell.posts for cell in self.cells)

    @property
    def by_hour(self) -> tuple[int, ...]:
        hours = [0] * 24
        for cell in self.cells:
            hours[cell.hour] += cell.posts
        return tuple(hours)

    @property
    def by_weekday(self) -> tuple[int, ...]:
        """Monday first."""
        days = [0] * 7
        for cell in self.cells:
            days[cell.weekday - 1] += cell.posts
        return tuple(days)


@dataclass(frozen=True)
class DatabaseFacts:
    target: str  # postgresql://role@host:port/database, never the password
    server: ServerVersion
    database: str
    role: str
    size_bytes: int
    statistics: DatabaseStatistics
    schema_version: SchemaVersion | None = None
    largest_tables: tuple[TableSize, ...] = ()
    connections: Connections | None = None
    idle_in_transaction: IdleInTransaction | None = None
    longest_query: RunningQuery | None = None  # None: no other query is running
    lock_waits: tuple[LockWait, ...] | None = None  # () when nobody waits, None when unknown
    posts_table: TableMaintenance | None = None
    replication: Replication | None = None
    channels_by_type: ChannelTypeCounts | None = None
    top_channels: tuple[ChannelMessages, ...] = ()
    top_teams: tuple[TeamMessages, ...] = ()
    posts_last_7_days: PostActivity | None = None
    active_sessions: int | None = None
    missing: dict[str, str] = field(default_factory=dict)  # fact -> why it could not be read

    @property
    def how_counted(self) -> dict[str, str]:
        return dict(HOW_COUNTED)


def _latest(*moments: datetime | None) -> datetime | None:
    present = [m for m in moments if m is not None]
    return max(present) if present else None


def mask_query(text: str | None) -> str:
    if not text:
        return ""
    return _LITERAL.sub("'…'", " ".join(text.split()))[:QUERY_CHARS]


def parse_statistics(row: dict[str, Any]) -> DatabaseStatistics:
    return DatabaseStatistics(
        blocks_hit=row["blks_hit"] or 0,
        blocks_read=row["blks_read"] or 0,
        deadlocks=row["deadlocks"] or 0,
        temp_files=row["temp_files"] or 0,
        temp_bytes=row["temp_bytes"] or 0,
        commits=row["xact_commit"] or 0,
        rollbacks=row["xact_rollback"] or 0,
        stats_since=row["stats_reset"],
    )


def parse_connections(rows: list[dict[str, Any]], max_connections: int, reserved: int) -> Connections:
    by_state: dict[str, int] = {}
    for row in rows:
        state = row["state"] or "unknown"
        by_state[state] = by_state.get(state, 0) + 1
    return Connections(
        by_state=_by_count(by_state),
        total=len(rows),
        this_database=sum(1 for row in rows if row["this_database"]),
        max_connections=max_connections,
        reserved_connections=reserved,
    )


def with_hidden_sessions(seen: Connections, cluster_backends: int, database_backends: int) -> Connections:
    """Without pg_read_all_stats, pg_stat_activity shows other roles' sessions with no type or state, so they are
    counted from pg_stat_database.numbackends (which also counts autovacuum workers while they run)."""
    hidden = max(cluster_backends - seen.total, 0)
    by_state = dict(seen.by_state)
    if hidden:
        by_state["unknown"] = by_state.get("unknown", 0) + hidden
    return replace(seen, by_state=_by_count(by_state), total=seen.total + hidden,
                   this_database=max(seen.this_database, database_backends))


def _by_count(by_state: dict[str, int]) -> dict[str, int]:
    return dict(sorted(by_state.items(), key=lambda item: (-item[1], item[0])))


def parse_idle_in_transaction(rows: list[dict[str, Any]]) -> IdleInTransaction:
    idle = [row for row in rows if row["state"] in IDLE_IN_TRANSACTION and not row["ours"]]
    oldest = max(idle, key=lambda row: row["xact_age_s"] or 0.0, default=None)
    return IdleInTransaction(
        count=len(idle),
        longest_s=oldest["xact_age_s"] if oldest else None,
        longest_pid=oldest["pid"] if oldest else None,
        longest_application=oldest["application_name"] if oldest else None,
    )


def parse_longest_query(rows: list[dict[str, Any]]) -> RunningQuery | None:
    active = [row for row in rows if row["state"] == "active" and not row["ours"] and row["query_age_s"] is not None]
    row = max(active, key=lambda r: r["query_age_s"], default=None)
    if row is None:
        return None
    wait = f"{row['wait_event_type']}:{row['wait_event']}" if row["wait_event_type"] else None
    return RunningQuery(
        pid=row["pid"],
        duration_s=row["query_age_s"],
        state=row["state"],
        application_name=row["application_name"] or "",
        username=row["usename"],
        wait_event=wait,
        query=mask_query(row["query"]),
    )


def parse_lock_waits(rows: list[dict[str, Any]]) -> tuple[LockWait, ...]:
    waiting = [row for row in rows if row["wait_event_type"] == "Lock" and not row["ours"]]
    waiting.sort(key=lambda row: row["query_age_s"] or 0.0, reverse=True)
    return tuple(
        LockWait(
            pid=row["pid"],
            waiting_s=row["query_age_s"] or 0.0,
            blocked_by=tuple(row["blocked_by"] or ()),
            application_name=row["application_name"] or "",
            query=mask_query(row["query"]),
        )
        for row in waiting
    )


def parse_tables(rows: list[dict[str, Any]], limit: int) -> tuple[TableSize, ...]:
    return tuple(
        TableSize(
            schema=row["schemaname"],
            name=row["relname"],
            total_bytes=row["total_bytes"],
            table_bytes=row["table_bytes"],
            index_bytes=row["index_bytes"],
            estimated_rows=_estimated_rows(row),
        )
        for row in rows[:limit]
    )


def _estimated_rows(row: dict[str, Any]) -> int | None:
    # reltuples is -1 until the first VACUUM or ANALYZE; the live-tuple counter is the next best estimate.
    if row["reltuples"] is not None and row["reltuples"] >= 0:
        return round(row["reltuples"])
    return row["n_live_tup"]


def parse_maintenance(row: dict[str, Any]) -> TableMaintenance:
    return TableMaintenance(
        live_tuples=row["n_live_tup"] or 0,
        dead_tuples=row["n_dead_tup"] or 0,
        last_vacuum=row["last_vacuum"],
        last_autovacuum=row["last_autovacuum"],
        last_analyze=row["last_analyze"],
        last_autoanalyze=row["last_autoanalyze"],
    )


def parse_replicas(rows: list[dict[str, Any]]) -> tuple[Replica, ...]:
    return tuple(
        Replica(
            name=row["application_name"] or "",
            client_address=row["client_address"],
            state=row["state"],
            sync_state=row["sync_state"],
            write_lag_s=row["write_lag_s"],
            flush_lag_s=row["flush_lag_s"],
            replay_lag_s=row["replay_lag_s"],
            replay_lag_bytes=row["replay_lag_bytes"],
        )
        for row in rows
    )


def parse_channel_types(groups: list[dict[str, Any]]) -> ChannelTypeCounts:
    live = {kind: 0 for kind in CHANNEL_TYPES}
    for row in groups:
        if row["type"] in live:
            live[row["type"]] += row["live_channels"]
    return ChannelTypeCounts(public=live["O"], private=live["P"], direct=live["D"], group=live["G"])


def parse_top_teams(groups: list[dict[str, Any]], teams: list[dict[str, Any]], limit: int) -> tuple[TeamMessages, ...]:
    totals: dict[str, list[int]] = {}
    for row in groups:
        if row["teamid"]:
            messages_channels = totals.setdefault(row["teamid"], [0, 0])
            messages_channels[0] += row["messages"]
            messages_channels[1] += row["live_channels"]
    ranked = [
        TeamMessages(team["name"], team["displayname"] or team["name"], *totals.get(team["id"], (0, 0)))
        for team in teams
        if not team["deleted"]
    ]
    ranked.sort(key=lambda t: (-t.messages, t.name))
    return tuple(ranked[:limit])


def parse_top_channels(rows: list[dict[str, Any]]) -> tuple[ChannelMessages, ...]:
    return tuple(
        ChannelMessages(
            team_name=row["team_name"],
            team_display_name=row["team_display_name"] or row["team_name"],
            name=row["name"],
            display_name=row["displayname"] or row["name"],
            type=row["type"],
            messages=row["messages"] or 0,
        )
        for row in rows
    )


def parse_post_activity(rows: list[dict[str, Any]], since: datetime) -> PostActivity:
    cells: dict[tuple[int, int], int] = {}
    for row in rows:
        days, hour = divmod(row["epoch_hour"], 24)
        weekday = (days + EPOCH_ISO_WEEKDAY - 1) % 7 + 1
        cells[weekday, hour] = cells.get((weekday, hour), 0) + row["posts"]
    return PostActivity(since=since, cells=tuple(HourlyPosts(d, h, n) for (d, h), n in sorted(cells.items())))
