"""Benchmark: forwarding keeps up with 1,000 posts per minute on the simulator, losing none and duplicating none.

Starts a simulator and a SQLite store, starts an incident whose playbook watches one channel, then:
- live: posts ``posts`` matching messages into the watched channel, evenly spread over ``seconds``, while the real
  worker loop (``Forwarder.run_forever``, every ``forward_every_seconds`` of the settings) copies them; halfway
  the worker is stopped and a new one started, as on a restart. When the last copy is in, it counts the copies of
  each original in the incident channel (duplicates, lost) and the lag of each copy behind its original;
- catch-up: the same number of posts already waiting in another incident's watched channel, forwarded by one
  fresh worker as fast as it can: its capacity in posts per minute, the headroom above the live rate.
Prints progress lines, then one JSON object on the last line.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The project root goes on sys.path first, so these imports come after it.
from incidents.forwarding import FORWARDED_FROM, Forwarder  # noqa: E402
from incidents.mattermost_api import MattermostApi  # noqa: E402
from incidents.models import Actor, Incident  # noqa: E402
from incidents.playbooks import ForwardingRule, Playbook, PlaybookStage  # noqa: E402
from incidents.service import IncidentService  # noqa: E402
from settings import IncidentSettings  # noqa: E402
from simulator import RunningSimulator, start_simulator  # noqa: E402
from store import Store, open_store  # noqa: E402

ENVIRONMENT = "production"
TARGET_POSTS_PER_MIN = 1000
EVERY_S = IncidentSettings().forward_every_seconds  # what a deployment runs with unless configured otherwise
DRAIN_TIMEOUT_S = 120  # after the last post, how long the copies may take before the missing ones count as lost


@dataclass
class Watched:
    """An incident and the channel its playbook watches."""

    incident: Incident
    source_id: str
    service: IncidentService


async def watched_incident(sim: RunningSimulator, api: MattermostApi, store: Store, label: str) -> Watched:
    team, admin = sim.model.teams[0], sim.model.admin
    source = await api.create_channel(team.id, f"{label}-alerts", f"{label} alerts", private=False)
    playbook = Playbook(version=1, id=label, name=label, stages=[PlaybookStage(name="Triage")],
                        forwarding=[ForwardingRule(source_channels=[f"{team.name}/{source['name']}"],
                                                   keywords=["outage"])])
    playbooks = {playbook.id: playbook}
    service = IncidentService(store, api, playbooks, ENVIRONMENT)
    incident = await service.start(Actor(admin.id, admin.username), team_id=team.id, playbook_id=playbook.id,
                                   name=f"{label} incident", channel_name=f"{label}-incident")
    return Watched(incident, source["id"], service)


async def copies_of(api: MattermostApi, incident: Incident) -> list[dict[str, Any]]:
    posts = await api.posts_since(incident.channel_id, 1)
    return [p for p in posts if FORWARDED_FROM in (p.get("props") or {})]


def tally(originals: dict[str, int], copies: list[dict[str, Any]]) -> dict[str, Any]:
    """Duplicates, lost, and each copy's lag (ms) behind its original, from the incident channel's copies."""
    per_original = Counter(c["props"][FORWARDED_FROM] for c in copies)
    first_copy = {}
    for c in sorted(copies, key=lambda c: c["create_at"]):
        first_copy.setdefault(c["props"][FORWARDED_FROM], c["create_at"])
    lags = [first_copy[post_id] - at for post_id, at in originals.items() if post_id in first_copy]
    return {
        "duplicates": sum(n - 1 for n in per_original.values()),
        "lost": sum(1 for post_id in originals if post_id not in per_original),
        "lags_ms": lags,
        "last_copy_at": max(first_copy.values(), default=0),
    }


async def live(sim: RunningSimulator, api: MattermostApi, store: Store, posts: int, seconds: float) -> dict[str, Any]:
    watched = await watched_incident(sim, api, store, "live")
    originals: dict[str, int] = {}
    stop = asyncio.Event()

    def worker() -> asyncio.Task[None]:
        forwarder = Forwarder(watched.service)
        return asyncio.create_task(forwarder.run_forever(stop, EVERY_S))

    running = worker()
    started = time.monotonic()
    for n in range(posts):
        # An absolute schedule, so slow posts do not stretch the window.
        await asyncio.sleep(max(0.0, started + n * seconds / posts - time.monotonic()))
        post = await api.create_post(watched.source_id, f"outage update {n}: error rate {n % 97} per second")
        originals[post["id"]] = post["create_at"]
        if n + 1 == posts // 2:
            stop.set()  # a restart: the worker finishes its run and a new one, with nothing in memory, goes on
            await running
            stop.clear()
            running = worker()
            print(f"live: {n + 1} posts in {time.monotonic() - started:.1f} s, worker restarted", flush=True)
    posted_s = time.monotonic() - started
    print(f"live: {posts} posts in {posted_s:.1f} s, waiting for the copies", flush=True)
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while len({c["props"][FORWARDED_FROM] for c in await copies_of(api, watched.incident)}) < posts:
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    stop.set()
    await running
    # Ended, so the catch-up's worker does not look at it again.
    await watched.service.end(watched.incident.id, Actor(sim.model.admin.id, sim.model.admin.username))
    copies = await copies_of(api, watched.incident)
    result = tally(originals, copies)
    # From the first post to the last copy: the posting window plus the last post's wait for a worker run.
    window_ms = max(result["last_copy_at"] - min(originals.values()), 1)
    lags = sorted(result["lags_ms"]) or [0]
    # A worker that falls behind shows it as a lag that grows over the window; one that keeps up, as none.
    in_order = result["lags_ms"] or [0]  # in posting order
    tenth = max(len(in_order) // 10, 1)
    growth_ms = statistics.median(in_order[-tenth:]) - statistics.median(in_order[:tenth])
    print(f"live: {posts - result['lost']} copied over {window_ms / 1000:.1f} s, max lag {lags[-1] / 1000:.1f} s, "
          f"{result['duplicates']} duplicates, {result['lost']} lost", flush=True)
    return {
        "posted_per_min": round(posts / posted_s * 60),
        "forwarded_per_min": round((posts - result["lost"]) / window_ms * 60_000),
        "max_lag_s": round(lags[-1] / 1000, 2),
        "lag_growth_s": round(growth_ms / 1000, 2),
        "median_lag_s": round(statistics.median(lags) / 1000, 2),
        "duplicates": result["duplicates"],
        "lost": result["lost"],
    }


async def catch_up(sim: RunningSimulator, api: MattermostApi, store: Store, posts: int) -> dict[str, Any]:
    watched = await watched_incident(sim, api, store, "backlog")
    originals = {}
    for n in range(posts):
        post = await api.create_post(watched.source_id, f"outage backlog {n}")
        originals[post["id"]] = post["create_at"]
    forwarder = Forwarder(watched.service)
    started = time.perf_counter()
    copied = 0
    while copied < posts:  # one `since` answer holds at most 1,000 posts: a big backlog takes a few runs
        report = await forwarder.forward_once()
        copied += report.copied
        if report.errors or not report.copied:
            print(f"catch-up stopped: {report}", flush=True)
            break
    elapsed = time.perf_counter() - started
    result = tally(originals, await copies_of(api, watched.incident))
    print(f"catch-up: {copied} copied in {elapsed:.1f} s, {result['duplicates']} duplicates, {result['lost']} lost",
          flush=True)
    return {"capacity_per_min": round(copied / elapsed * 60), "duplicates": result["duplicates"],
            "lost": result["lost"]}


async def _measure(posts: int, seconds: float) -> dict[str, Any]:
    sim = start_simulator("healthy")
    try:
        with tempfile.TemporaryDirectory() as tmp, open_store(None, sqlite_path=Path(tmp) / "store.sqlite3") as store:
            async with MattermostApi(sim.url, sim.admin_token) as api:
                measured = await live(sim, api, store, posts, seconds)
                backlog = await catch_up(sim, api, store, posts)
    finally:
        sim.stop()
    duplicates, lost = measured["duplicates"] + backlog["duplicates"], measured["lost"] + backlog["lost"]
    # Keeping up: nothing lost or doubled, room to spare, and no post waits longer than one interval plus a run.
    keeps_up = (duplicates == lost == 0 and backlog["capacity_per_min"] >= TARGET_POSTS_PER_MIN
                and measured["max_lag_s"] <= 2 * EVERY_S)
    return {
        "forwarding_posts": posts,
        "forwarding_window_s": seconds,
        "forwarding_every_s": EVERY_S,
        "forwarding_posted_per_min": measured["posted_per_min"],
        "forwarding_posts_per_min": measured["forwarded_per_min"],
        "forwarding_max_lag_s": measured["max_lag_s"],
        "forwarding_median_lag_s": measured["median_lag_s"],
        "forwarding_lag_growth_s": measured["lag_growth_s"],
        "forwarding_duplicates": duplicates,
        "forwarding_lost": lost,
        "forwarding_capacity_per_min": backlog["capacity_per_min"],
        "forwarding_target_per_min": TARGET_POSTS_PER_MIN,
        "forwarding_keeps_up": keeps_up,
    }


def measure_forwarding(posts: int = 1000, seconds: float = 60) -> dict[str, Any]:
    """Forward ``posts`` posts written over ``seconds`` (live, with one worker restart) and the same number
    waiting at once (catch-up); figures for bench/incidents.py."""
    return asyncio.run(_measure(posts, seconds))


if __name__ == "__main__":
    print(json.dumps(measure_forwarding()))
