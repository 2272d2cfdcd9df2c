"""Benchmark: incident cards under 20 responders clicking at once on 50 active incidents.

Starts a simulator (the stand-in Mattermost), a SQLite store and our card and dialog hooks in a process of their
own, as serve.py runs them beside (not inside) Mattermost. Starts ``incidents`` incidents from a playbook whose
first stage has five items (five buttons on each card) and adds ``responders`` people to every incident channel.
Then each responder, all at once, clicks an item button on a random card, ``clicks`` times: first without pause
(each click as soon as the last was answered: the most a 2-CPU machine running Mattermost, us and the clients
takes), then reading the card about PAUSE_S between clicks, as people do.
A click is Mattermost's POST /api/v4/posts/{post_id}/actions/{action_id}: Mattermost calls our hook, we change
the incident and answer the redrawn card, Mattermost applies it, then answers the client. Its time is the
action-to-updated-card time.

Then it counts, per incident, the clicks we accepted (those Mattermost showed no ephemeral refusal for) against
the changes on the incident's timeline: a change acknowledged but not kept is lost, one kept twice is doubled;
and the cards left showing an older version than their incident once every click has been answered.

Last, it times the incidents page's list of ``past`` ended incidents (the same frame the page draws).
Prints progress lines, then one JSON object on the last line.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The project root goes on sys.path first, so these imports come after it.
from starlette.applications import Starlette  # noqa: E402

from incidents import repository  # noqa: E402
from incidents.card import ContextSigner  # noqa: E402
from incidents.card_actions import interactive_routes  # noqa: E402
from incidents.card_posts import CARD_KIND, CardKeeper  # noqa: E402
from incidents.mattermost_api import MattermostApi  # noqa: E402
from incidents.models import Actor, ChecklistItem, EventType, Incident, Stage  # noqa: E402
from incidents.playbooks import Playbook  # noqa: E402
from incidents.service import IncidentService  # noqa: E402
from settings import EnvironmentSettings, MattermostSettings  # noqa: E402
from simulator import RunningSimulator, Scenario, start_simulator  # noqa: E402
from simulator.ids import random_id  # noqa: E402
from simulator.scenarios import build_scenario  # noqa: E402
from store import Store, open_store  # noqa: E402

ENVIRONMENT = "production"
PLAYBOOK = Playbook.model_validate({
    "version": 1, "id": "bench", "name": "Bench outage",
    "stages": [{"name": "Triage", "items": [f"Step {n}" for n in range(1, 6)]}, {"name": "Mitigate"}],
})
SIGNER = ContextSigner(b"bench key: thirty-two bytes or more, fixed")
RESPONDER_PREFIX = "responder"
PAUSE_S = 1.0  # the second round: each responder reads the card about this long before the next click
TARGET_P95_MS = 300
TARGET_LIST_S = 1.0


def scenario_with_responders(count: int) -> Scenario:
    """The healthy scenario with ``count`` more people who can sign in (it has only a handful)."""
    base = build_scenario("healthy")
    template = next(a for a in base.accounts if not a.is_admin)
    extra = tuple(replace(template, id=random_id(), username=f"{RESPONDER_PREFIX}{n:02d}",
                          email=f"{RESPONDER_PREFIX}{n:02d}@example.com", first_name="Responder", last_name=str(n))
                  for n in range(1, count + 1))
    return replace(base, accounts=base.accounts + extra)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def setup(sim: RunningSimulator, store: Store, hook_url: str, incidents: int, responders: int
                ) -> tuple[IncidentService, list[Incident], list[tuple[str, str, str]]]:
    """Incidents started through the service (each with its card), and the responders: (user id, name, token)."""
    api = MattermostApi(sim.url, sim.admin_token, timeout=30)
    service = IncidentService(store, api, {PLAYBOOK.id: PLAYBOOK}, ENVIRONMENT,
                              cards=CardKeeper(store, api, ENVIRONMENT, signer=SIGNER, dashboard_url=hook_url))
    team = sim.model.teams[0]
    plain = [a for a in sim.model.accounts if a.username.startswith(RESPONDER_PREFIX)]
    for account in plain:  # what an admin adding them to the team does, done in the stand-in's own tables
        if not await api.is_team_member(team.id, account.id):
            sim._state.messaging.add_team_member(team.id, account.id, admin=False, at=account.create_at)
    commander = Actor(plain[0].id, plain[0].username)
    people = [(a.id, a.username, sim.token_for(a.username)) for a in plain[1:responders + 1]]
    started = []
    for n in range(incidents):
        incident = await service.start(commander, team_id=team.id, playbook_id=PLAYBOOK.id,
                                       name=f"Bench incident {n + 1}")
        for user_id, _, _ in people:
            await api.add_member(incident.channel_id, user_id)
        started.append(incident)
    return service, started, people


async def responder(sim: RunningSimulator, store: Store, incidents: list[Incident], person: tuple[str, str, str],
                    clicks: int, seed: int, pause_s: float = 0.0) -> tuple[list[float], Counter[str]]:
    """One person clicking a random item button of a random card, ``pause_s`` apart on average (0: at once);
    (times, clicks per incident)."""
    rng = random.Random(seed)
    token = person[2]
    times: list[float] = []
    per_incident: Counter[str] = Counter()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=f"{sim.url}/api/v4", headers=headers, timeout=30) as client:
        for _ in range(clicks):
            incident = rng.choice(incidents)
            post_id = store.get(CARD_KIND, incident.id, ENVIRONMENT).body["post_id"]
            # The card's item buttons are item1..item5 (their ids are ours and stay put while the card is redrawn);
            # the client knows the post from the websocket, so no read is needed before a click.
            action_id = f"item{rng.randint(1, len(PLAYBOOK.stages[0].items))}"
            began = time.perf_counter()
            answer = await client.post(f"/posts/{post_id}/actions/{action_id}", json={})
            times.append((time.perf_counter() - began) * 1000)
            if answer.status_code != 200:
                raise SystemExit(f"a click answered HTTP {answer.status_code}: {answer.text}")
            per_incident[incident.id] += 1
            if pause_s:
                await asyncio.sleep(rng.uniform(0.5, 1.5) * pause_s)
    return times, per_incident


def refused_by_incident(sim: RunningSimulator, people: list[tuple[str, str, str]], incidents: list[Incident]
                        ) -> Counter[str]:
    """The ephemeral refusals Mattermost showed, per incident (a click we accepted shows none)."""
    by_channel = {i.channel_id: i.id for i in incidents}
    refused: Counter[str] = Counter()
    for user_id, _, _ in people:
        for post in sim.ephemeral_for(user_id):
            if post["channel_id"] in by_channel and post["message"]:
                refused[by_channel[post["channel_id"]]] += 1
    return refused


def _list_page(store_path: str) -> None:
    """The incidents page's list, as AppTest runs it: read the store, build the frame, draw it."""
    from datetime import UTC, datetime  # AppTest runs this function's body alone, as a script
    from pathlib import Path

    import streamlit as st

    from incidents import repository
    from store import open_store
    from ui.incidents_view import incident_list

    store = open_store(None, sqlite_path=Path(store_path))
    incidents = repository.list_incidents(store, "history")
    st.dataframe(incident_list(incidents, {}, {}, {}, datetime.now(UTC)), hide_index=True)
    store.close()


def list_render_s(store: Store, store_path: Path, past: int) -> float:
    """Seconds to run the page's list of ``past`` ended incidents (median of 5 runs after one warm-up)."""
    from streamlit.testing.v1 import AppTest

    began = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(past):
        at = began + timedelta(hours=7 * n)
        incident = Incident(id=f"past{n:04d}", environment="history", playbook_id=PLAYBOOK.id,
                            name=f"Past incident {n + 1}", team_id="t" * 26, channel_id=f"{n:026d}",
                            channel_name=f"past-{n}", commander_id="u" * 26,
                            stages=(Stage("Resolve", (ChecklistItem("i1", "Confirm"),)),), stage_index=0,
                            started_at=at, started_by="u" * 26, ended_at=at + timedelta(minutes=40 + n % 90),
                            ended_by="u" * 26)
        repository.save(store, incident, event=EventType.STARTED, summary="started", user_id="u" * 26,
                        actor="bench")
    app = AppTest.from_function(_list_page, args=(str(store_path),), default_timeout=60)
    app.run()
    assert len(app.dataframe) == 1 and len(app.dataframe[0].value) == past, "the list did not draw"
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        app.run()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


async def run(incidents: int = 50, responders: int = 20, clicks: int = 20, past: int = 500) -> dict[str, Any]:
    sim = start_simulator(scenario_with_responders(responders + 1))
    folder = tempfile.TemporaryDirectory()
    store_path = Path(folder.name) / "store.sqlite3"
    store = open_store(None, sqlite_path=store_path)
    hooks, hook_url = start_hooks(sim, store_path)
    try:
        began = time.perf_counter()
        service, started, people = await setup(sim, store, hook_url, incidents, responders)
        print(f"started {len(started)} incidents with their cards and {len(people)} responders in "
              f"{time.perf_counter() - began:.1f} s", flush=True)
        began = time.perf_counter()
        results = await asyncio.gather(*(responder(sim, store, started, person, clicks, seed)
                                         for seed, person in enumerate(people)))
        elapsed = time.perf_counter() - began
        times = [t for result in results for t in result[0]]
        print(f"{len(times)} clicks without pause in {elapsed:.1f} s ({len(times) / elapsed:.0f}/s)", flush=True)
        paced = await asyncio.gather(*(responder(sim, store, started, person, clicks, 1000 + seed, PAUSE_S)
                                       for seed, person in enumerate(people)))
        paced_times = [t for result in paced for t in result[0]]
        print(f"{len(paced_times)} clicks about {PAUSE_S:.0f} s apart per responder", flush=True)
        clicked: Counter[str] = sum((r[1] for r in [*results, *paced]), Counter())
        refused = refused_by_incident(sim, people, started)
        lost = doubled = stale_cards = 0
        for incident in started:
            accepted = clicked[incident.id] - refused[incident.id]
            kept = sum(1 for e in repository.timeline(store, ENVIRONMENT, incident.id)
                       if e.type in (EventType.ITEM_CHECKED, EventType.ITEM_UNCHECKED))
            lost += max(0, accepted - kept)
            doubled += max(0, kept - accepted)
            now = repository.load(store, ENVIRONMENT, incident.id)
            card = store.get(CARD_KIND, incident.id, ENVIRONMENT)
            stale_cards += int(card is None or card.body.get("drawn_version") != now.version)
        await service.api.aclose()
        figures = {
            "incidents": incidents, "responders": responders, "clicks": len(times) + len(paced_times),
            "accepted": sum(clicked.values()) - sum(refused.values()),
            "refused_stale_or_replayed": sum(refused.values()),
            "action_p50_ms": round(statistics.median(times), 1), "action_p95_ms": round(percentile(times, 0.95), 1),
            "action_max_ms": round(max(times), 1), "clicks_per_s": round(len(times) / elapsed, 1),
            "paced_action_p50_ms": round(statistics.median(paced_times), 1),
            "paced_action_p95_ms": round(percentile(paced_times, 0.95), 1),
            "lost_changes": lost, "doubled_changes": doubled, "stale_cards": stale_cards,
            "target_action_p95_ms": TARGET_P95_MS,
        }
        figures["list_render_s"] = round(list_render_s(store, store_path, past), 3) if past else None
        figures["past_incidents"] = past
        figures["target_list_render_s"] = TARGET_LIST_S
        return figures
    finally:
        hooks.terminate()
        hooks.wait(timeout=10)
        store.close()
        sim.stop()
        folder.cleanup()


def start_hooks(sim: RunningSimulator, store_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Our hooks in a process of their own, as a dashboard runs beside (not inside) Mattermost."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "MMDASH_BENCH_STORE": str(store_path), "MMDASH_BENCH_MATTERMOST": sim.url,
           "MMDASH_BENCH_TOKEN": sim.admin_token}
    process = subprocess.Popen([sys.executable, __file__, "--serve-hooks", str(port)], env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.post(f"{url}/hooks/incidents/{ENVIRONMENT}/card", content=b"", timeout=1).status_code == 400:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.terminate()
    raise SystemExit("the hook server did not start within 30 s")


def serve_hooks(port: int) -> None:
    """--serve-hooks PORT: the card and dialog hooks with the runtime's own service, until terminated."""
    store = open_store(None, sqlite_path=Path(os.environ["MMDASH_BENCH_STORE"]))
    api = MattermostApi(os.environ["MMDASH_BENCH_MATTERMOST"], os.environ["MMDASH_BENCH_TOKEN"], timeout=30)
    cards = CardKeeper(store, api, ENVIRONMENT, signer=SIGNER, dashboard_url=f"http://127.0.0.1:{port}")
    service = IncidentService(store, api, {PLAYBOOK.id: PLAYBOOK}, ENVIRONMENT, cards=cards)
    settings = EnvironmentSettings(name=ENVIRONMENT, label="Production",
                                   mattermost=MattermostSettings(url=os.environ["MMDASH_BENCH_MATTERMOST"]))
    app = Starlette(routes=interactive_routes(lambda name: (settings, service) if name == ENVIRONMENT else None))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def main() -> int:
    if sys.argv[1:2] == ["--serve-hooks"]:
        serve_hooks(int(sys.argv[2]))
        return 0
    figures = asyncio.run(run(past=int(sys.argv[1]) if len(sys.argv) > 1 else 500))  # `0`: skip the list
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
