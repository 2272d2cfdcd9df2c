"""The demo's Mattermost database: one real PostgreSQL (demo/postgres_cluster.py) holding one database per demo
environment (mattermost_production, ...), each with Mattermost's schema filled from that environment's simulator
(demo/mattermost_data.py says what agrees with the API and how), read by the dashboard's database collector through
a least-privilege role over the Unix socket.

Its files live in <demo folder>/postgres and outlive the run: a later start reuses a database whose manifest
(loader version and fingerprint of the plan) matches, re-dating its newest posts when the day has changed; anything
else is loaded anew. The degraded scenario's database is neglected for real: autovacuum is off for posts and a
third of them were rewritten without a vacuum since, so the dead-tuple and vacuum rules have something to find.
"""

from __future__ import annotations

import errno
import logging
import re
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import errors, sql
from pydantic import SecretStr

from demo import mattermost_load as loader
from demo import postgres_cluster
from demo.mattermost_data import Plan, build_plan
from demo.mattermost_load import Upkeep
from demo.postgres_cluster import Cluster, NoSpace, Running, Unavailable, binaries
from demo.services import DemoPart, DemoService
from settings import DatabaseSettings
from simulator.server import RunningSimulator

log = logging.getLogger("mmdash.demo.database")

NAME = "Mattermost database (PostgreSQL)"
MONITOR_ROLE = "mmdash"
UPKEEP = {"degraded": Upkeep(autovacuum=False, rewritten_share=0.35)}
# What a load takes on disk, measured: ~530 bytes a post with its nine indexes, more where posts were rewritten.
BYTES_PER_POST = 560
BYTES_PER_DATABASE = 30 * 1024 ** 2
BYTES_PER_ROW = 300  # users, memberships, sessions, files
HEADROOM = 1.2


@dataclass
class Prepared:
    """What one environment's database is and what this start did with it."""

    environment: str
    database: str
    plan: Plan
    upkeep: Upkeep
    action: str  # "load" | "redate" | "reuse"
    seconds: float = 0.0


def database_name(environment: str) -> str:
    return "mattermost_" + (re.sub(r"[^a-z0-9_]+", "_", environment.lower()).strip("_") or "demo")


def estimated_bytes(plan: Plan, upkeep: Upkeep) -> int:
    rows = (len(plan.users) + len(plan.team_members) + sum(len(c.members) for c in plan.channels)
            + plan.scenario.usage.sessions + plan.scenario.usage.file_count)
    posts = plan.posts_loaded * BYTES_PER_POST * (1 + 1.4 * upkeep.rewritten_share)
    return int(BYTES_PER_DATABASE + posts + rows * BYTES_PER_ROW)


def start(folder: Path, simulators: Mapping[str, RunningSimulator]) -> DemoService:
    started = time.perf_counter()
    prepared = [_prepared(env, sim) for env, sim in simulators.items()]
    cluster: Cluster | None = None
    try:
        cluster = Cluster(folder / "postgres", binaries())
        with cluster.exclusive():
            running = cluster.start()
            _bring_up(cluster, running, prepared)
            cluster.hold()
    except BaseException as exc:
        reason = _why(exc, folder / "postgres", prepared)
        if cluster is not None:
            _give_up(cluster, prepared if isinstance(reason, NoSpace) else [])
        if reason is None:
            raise
        return DemoService(DemoPart(NAME, False, str(reason), reason.add_with))
    settings = {p.environment: {"database": DatabaseSettings(dsn=SecretStr(
        cluster.dsn(running.socket_dir, p.database, MONITOR_ROLE)))} for p in prepared}
    detail = _detail(cluster, running, prepared, time.perf_counter() - started)
    log.info("demo database: %s (socket in %s)", detail, running.socket_dir)
    return DemoService(DemoPart(NAME, True, detail), settings, cluster.release)


def _prepared(environment: str, simulator: RunningSimulator) -> Prepared:
    scenario = simulator.model
    return Prepared(environment, database_name(environment), build_plan(scenario),
                    UPKEEP.get(scenario.name, Upkeep()), "load")


def _why(exc: BaseException, folder: Path, prepared: list[Prepared]) -> Unavailable | None:
    """The sentence for a start that failed in a way a person can fix; None for a bug (raised on)."""
    if isinstance(exc, Unavailable):
        return exc
    if isinstance(exc, errors.DiskFull) or (isinstance(exc, OSError) and exc.errno == errno.ENOSPC):
        return NoSpace(folder, sum(estimated_bytes(p.plan, p.upkeep) for p in prepared if p.action == "load"), None)
    return None


def _give_up(cluster: Cluster, unfinished: list[Prepared]) -> None:
    """Drop the databases a full disk left half-loaded (they would only take the room), then let go of the
    server, which stops unless another demo uses it."""
    try:
        running = cluster.running()
        if running is not None and unfinished:
            with cluster.connect(running.socket_dir) as admin:
                for p in unfinished:
                    if p.action == "load":
                        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(p.database)))
        cluster.release()
    except Exception:  # the sentence about why it did not start matters more than a failed clean-up
        log.exception("cleaning up after the demo's PostgreSQL failed to start failed")


def _bring_up(cluster: Cluster, running: Running, prepared: list[Prepared]) -> None:
    with cluster.connect(running.socket_dir) as admin:
        cluster.ensure_role(admin, MONITOR_ROLE)
        existing = {row[0] for row in admin.execute("SELECT datname FROM pg_database").fetchall()}
        replaced = 0
        for p in prepared:
            manifest = loader.read_manifest(admin, p.database) if p.database in existing else None
            p.action = _action(p, manifest)
            if p.action == "load" and p.database in existing:
                replaced += admin.execute("SELECT pg_database_size(%s)", (p.database,)).fetchone()[0]
        needed = int(HEADROOM * sum(estimated_bytes(p.plan, p.upkeep) for p in prepared if p.action == "load"))
        free = postgres_cluster.free_bytes(cluster.folder)
        if needed and free + replaced < needed:
            raise NoSpace(cluster.folder, needed, free)
        for p in prepared:
            if p.action == "load":
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(p.database)))
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(p.database)))
    with ThreadPoolExecutor(max_workers=len(prepared) or 1) as pool:
        for future in [pool.submit(_fill, cluster, running, p) for p in prepared]:
            future.result()


def _action(p: Prepared, manifest: dict[str, Any] | None) -> str:
    if manifest is None or manifest.get("fingerprint") != p.plan.fingerprint() \
            or manifest.get("neglected") != p.upkeep.neglected:
        return "load"
    if manifest.get("day") == p.plan.today:
        return "reuse"
    # The newest posts are re-dated in place; a day with more of them than the room kept means a new load.
    return "redate" if p.plan.recent_posts <= int(manifest.get("block", 0)) else "load"


def _fill(cluster: Cluster, running: Running, p: Prepared) -> None:
    started = time.perf_counter()
    with psycopg.connect(cluster.dsn(running.socket_dir, p.database), autocommit=True, connect_timeout=10) as conn:
        if p.action == "load":
            loader.load(conn, p.database, p.plan, p.upkeep, MONITOR_ROLE)
        elif p.action == "redate":
            manifest = loader.read_manifest(conn, p.database) or {}
            loader.redate(conn, p.database, p.plan, p.upkeep, manifest)
        # The same session: its own counts from the load are flushed before the statistics are reset.
        loader.settle(conn, p.plan, p.upkeep)
    p.seconds = time.perf_counter() - started


def _detail(cluster: Cluster, running: Running, prepared: list[Prepared], seconds: float) -> str:
    done = {"load": "loaded", "redate": "re-dated to today", "reuse": "reused"}
    parts = []
    for p in prepared:
        posts = (f"{p.plan.posts_loaded:,} posts" if p.plan.posts_loaded == p.plan.posts_total
                 else f"the newest {p.plan.posts_loaded:,} of {p.plan.posts_total:,} posts (the channel counters "
                      "hold the full totals)")
        care = ", autovacuum off for posts" if p.upkeep.neglected else ""
        parts.append(f"{p.database} ({posts}, {len(p.plan.users):,} users{care}; {done[p.action]}"
                     + (f" in {p.seconds:.0f} s" if p.action != "reuse" else "") + ")")
    notes = "".join(f"; {note}" for note in cluster.notes)
    # No server path on the page (the log names the socket's folder).
    return (f"PostgreSQL {running.version} on a Unix socket (no TCP port), ready in "
            f"{seconds:.0f} s: {', '.join(parts)}{notes}.")
