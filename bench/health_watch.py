"""Benchmark: the watcher at fleet scale, on a real PostgreSQL store shared by several watcher processes.

Defaults (the issue's targets): 50 simulated environments collected every minute for 10 minutes by 3
`python -m health watch` processes; every few minutes a setting flips on the monitored servers so findings open
and heal, and the Mattermost that receives the alerts is down for 2 minutes in the middle. Then it counts:
collections per environment and interval (duplicates, missed intervals), alerts queued against alerts posted
(lost, duplicated: each post names the outbox keys it carries), the 30-day history query on an environment with
a minute's history for 30 days, the store's size per environment-month, and the health page in a real browser.

    .venv/bin/python bench/health_watch.py [--environments 50] [--minutes 10] [--interval 60] [--watchers 3]

Prints progress lines, then one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The project root goes on sys.path first, so these imports come after it.
import httpx  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402

from health import watch_lease  # noqa: E402
from simulator import RunningSimulator, start_simulator  # noqa: E402
from store import open_store  # noqa: E402
from store.tables import alert_outbox, health_snapshots  # noqa: E402
from tests.servers.postgres import PostgresServer, find_bindir  # noqa: E402

MONITORED_SERVERS = 5  # environments share simulators round-robin: 50 in-process servers would measure the bench
DRAIN_LIMIT_S = 420  # the outbox backs off up to 5 minutes after an outage


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def env_name(index: int) -> str:
    return f"env-{index:02d}"


def admin(sim: RunningSimulator) -> httpx.Client:
    return httpx.Client(base_url=sim.url, headers={"Authorization": f"Bearer {sim.admin_token}"}, timeout=10)


def alert_channels(chat: RunningSimulator, names: list[str]) -> tuple[str, dict[str, str]]:
    """One public channel per environment in the chat server's first team: team name, env -> channel id."""
    with admin(chat) as api:
        team = api.get("/api/v4/teams").json()[0]
        ids = {}
        for name in names:
            made = api.post("/api/v4/channels", json={"team_id": team["id"], "name": f"alerts-{name}",
                                                      "display_name": f"Alerts {name}", "type": "O"})
            made.raise_for_status()
            ids[name] = made.json()["id"]
    return team["name"], ids


def watcher_environ(store_url: str, interval: int, monitored: list[RunningSimulator], chat: RunningSimulator,
                    team: str, names: list[str]) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MMDASH_")}
    environ |= {"MMDASH_STORE_URL": store_url, "MMDASH_HEALTH__WATCH_INTERVAL": str(interval),
                "MMDASH_HEALTH__DASHBOARD_URL": "http://127.0.0.1:8501", "MMDASH_DEADLINE_SECONDS": "20",
                "MMDASH_SECRETS_FILE": "/nonexistent"}
    for index, name in enumerate(names):
        sim = monitored[index % len(monitored)]
        prefix = f"MMDASH_{name.upper().replace('-', '_')}__"
        environ |= {f"{prefix}MATTERMOST__URL": sim.url, f"{prefix}MATTERMOST__TOKEN": sim.admin_token,
                    f"{prefix}ALERTS__CHANNEL": f"{team}/alerts-{name}", f"{prefix}ALERTS__URL": chat.url,
                    f"{prefix}ALERTS__BOT_TOKEN": chat.admin_token, f"{prefix}ALERTS__MAX_PER_HOUR": "30"}
    return environ


def flip_log_level(monitored: list[RunningSimulator], debug: bool) -> None:
    """LOG_DEBUG_PROD fires while the log file is at debug level and heals when it is back at INFO."""
    for sim in monitored:
        with admin(sim) as api:
            api.put("/api/v4/config/patch", json={"LogSettings": {"FileLevel": "DEBUG" if debug else "INFO"}}
                    ).raise_for_status()


def posted_keys(chat: RunningSimulator, channel_ids: dict[str, str]) -> collections.Counter[str]:
    keys: collections.Counter[str] = collections.Counter()
    with admin(chat) as api:
        for channel_id in channel_ids.values():
            page = api.get(f"/api/v4/channels/{channel_id}/posts", params={"per_page": 200}).json()
            for post in page["posts"].values():
                keys.update((post.get("props") or {}).get("mmdash_alert_keys") or [])
    return keys


def collections_per_slot(store) -> collections.Counter[tuple[str, datetime]]:
    with store.reading() as conn:
        rows = conn.execute(select(health_snapshots.c.environment, health_snapshots.c.slot, func.count())
                            .group_by(health_snapshots.c.environment, health_snapshots.c.slot)).all()
    return collections.Counter({(env, slot): count for env, slot, count in rows})


def outbox_rows(store) -> list:
    with store.reading() as conn:
        return conn.execute(select(alert_outbox.c.key, alert_outbox.c.status, alert_outbox.c.last_error)).all()


def store_bytes(store) -> int:
    with store.reading() as conn:
        return int(conn.execute(text(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r'")).scalar_one())


def seed_month(store, environment: str, interval: int, now: datetime) -> int:
    """A minute's snapshots for the raw week and one a day before it: what retention leaves of 30 days."""
    with store.reading() as conn:
        template = conn.execute(select(health_snapshots).limit(1)).first()
    moments = [now - timedelta(days=d) for d in range(30, 7, -1)]
    moments += [now - timedelta(seconds=s) for s in range(7 * 86400, 0, -interval)]
    rows = [{"environment": environment, "collected_at": at, "slot": at, "tier": "daily" if at < moments[23] else "raw",
             "collected_by": "bench", "figures": template.figures, "findings": template.findings,
             "sources": template.sources, "details_hash": template.details_hash} for at in moments]
    with store.writing() as conn:
        for start in range(0, len(rows), 1000):
            conn.execute(insert(health_snapshots), rows[start:start + 1000])
    return len(rows)


def time_history_query(store, environment: str) -> float:
    from health.history_trends import trend_frame

    timings = []
    for _ in range(5):
        started = time.perf_counter()
        trend_frame(store, environment, days=30)
        timings.append(time.perf_counter() - started)
    return sorted(timings)[len(timings) // 2]


def health_page_seconds() -> float | None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "health_page.py")], capture_output=True, text=True,
                          timeout=600, cwd=ROOT)
    try:
        figures = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        log(f"health page bench gave no figures: {done.stderr[-500:]}")
        return None
    return figures.get("new_visitor_s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--environments", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--interval", type=int, default=60)
    parser.add_argument("--watchers", type=int, default=3)
    parser.add_argument("--outage-at", type=float, default=3.0, help="minute the alerts' Mattermost goes down")
    parser.add_argument("--outage-minutes", type=float, default=2.0)
    parser.add_argument("--skip-page", action="store_true", help="leave out the browser measurement")
    args = parser.parse_args()
    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL is not installed: run `make test` once (scripts/install-test-servers.sh)")
    names = [env_name(i + 1) for i in range(args.environments)]
    postgres = PostgresServer(bindir)
    postgres.start()
    monitored = [start_simulator("healthy" if i % 2 else "degraded") for i in range(MONITORED_SERVERS)]
    chat = start_simulator("healthy")
    watchers: list[subprocess.Popen] = []
    outputs = Path(tempfile.mkdtemp(prefix="mmdash-bench-watch-"))
    try:
        store_url = postgres.url(postgres.create_database("bench_watch"))
        store = open_store(store_url)
        team, channel_ids = alert_channels(chat, names)
        environ = watcher_environ(store_url, args.interval, monitored, chat, team, names)
        for i in range(args.watchers):
            watchers.append(subprocess.Popen(
                [sys.executable, "-m", "health", "watch", "--format", "json"], cwd=ROOT, env=environ,
                stdout=(outputs / f"watcher-{i}.jsonl").open("w"), stderr=(outputs / f"watcher-{i}.log").open("w")))
        started = datetime.now(UTC)
        log(f"{args.watchers} watchers on {args.environments} environments every {args.interval} s; "
            f"output in {outputs}")
        end = time.monotonic() + args.minutes * 60
        flips = [args.minutes * 60 * f for f in (0.1, 0.35, 0.6, 0.85)]  # the second one falls in the outage
        outage = (args.outage_at * 60, (args.outage_at + args.outage_minutes) * 60)
        debug, outage_on, began = False, False, time.monotonic()
        while time.monotonic() < end:
            elapsed = time.monotonic() - began
            if flips and elapsed >= flips[0]:
                flips.pop(0)
                debug = not debug
                flip_log_level(monitored, debug)
                log(f"log level now {'DEBUG' if debug else 'INFO'} on the monitored servers")
            if not outage_on and outage[0] <= elapsed < outage[1]:
                chat.faults.set("*", status=503)
                outage_on = True
                log("the alerts' Mattermost is down")
            if outage_on and elapsed >= outage[1]:
                chat.faults.clear()
                outage_on = False
                log("the alerts' Mattermost is back")
            for i, proc in enumerate(watchers):
                if proc.poll() is not None:
                    raise SystemExit(f"watcher {i} exited with {proc.returncode}: see {outputs}/watcher-{i}.log")
            time.sleep(1)
        finished = datetime.now(UTC)
        chat.faults.clear()
        log("run over; waiting for the outbox to drain")
        drain_until = time.monotonic() + DRAIN_LIMIT_S
        while time.monotonic() < drain_until:
            waiting = [row for row in outbox_rows(store) if row.status in ("pending", "sending")]
            if not waiting:
                break
            time.sleep(5)
        for proc in watchers:
            proc.send_signal(signal.SIGTERM)
        for proc in watchers:
            proc.wait(timeout=60)

        per_slot = collections_per_slot(store)
        duplicate_collections = sum(count - 1 for count in per_slot.values() if count > 1)
        first = watch_lease.slot_of(started, args.interval) + timedelta(seconds=args.interval)
        last = watch_lease.slot_of(finished, args.interval) - timedelta(seconds=args.interval)
        slots = [first + timedelta(seconds=args.interval * i)
                 for i in range(int((last - first).total_seconds() // args.interval) + 1)]
        missed = [(env, slot) for env in names for slot in slots if per_slot[(env, slot)] == 0]
        queued = outbox_rows(store)
        posted = posted_keys(chat, channel_ids)
        lost = [row.key for row in queued if posted[row.key] == 0]
        duplicate_alerts = sum(count - 1 for count in posted.values() if count > 1)
        runs = sum(per_slot.values())
        log(f"{runs} runs, {len(queued)} alerts queued, {sum(posted.values())} keys posted")
        # What retention leaves of a month of one environment collected every minute, measured as the growth of
        # the database when that month is written (the fixed size of empty tables and indexes left out).
        before = store_bytes(store)
        seeded = seed_month(store, "history-probe", 60, finished)
        with store.writing() as conn:
            conn.execute(text("ANALYZE"))
        month_bytes = store_bytes(store) - before
        history_query_s = time_history_query(store, "history-probe")
        log(f"30-day history of {seeded} snapshots ({month_bytes / 1e6:.1f} MB) read in {history_query_s:.3f} s")
        store.close()
    finally:
        for proc in watchers:
            if proc.poll() is None:
                proc.kill()
        for sim in (*monitored, chat):
            sim.stop()
        postgres.stop()
    page_s = None if args.skip_page else health_page_seconds()
    print(json.dumps({
        "environments": args.environments, "watchers": args.watchers, "interval_s": args.interval,
        "minutes": args.minutes, "runs": runs, "intervals_expected": len(slots) * len(names),
        "duplicate_collections": duplicate_collections, "missed_intervals": len(missed),
        "alerts_queued": len(queued), "duplicate_alerts": duplicate_alerts, "lost_alerts": len(lost),
        "alerts_still_waiting": sum(row.status in ("pending", "sending") for row in queued),
        "history_query_s": round(history_query_s, 3), "health_page_s": page_s,
        "store_mb_per_env_month": round(month_bytes / 1e6, 2),
        "store_mb_per_env_month_at_5_min": round(month_bytes / seeded * (7 * 288 + 23) / 1e6, 2),
    }))


if __name__ == "__main__":
    main()
