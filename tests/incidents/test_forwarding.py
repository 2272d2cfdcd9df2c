"""The forwarding worker against the simulator and a real store: what it copies, and that it copies each post once
(across restarts, concurrent runs, a crash mid-copy and Mattermost going down)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from incidents import repository
from incidents.forwarding import (
    CLAIM_KIND,
    CURSOR_KIND,
    FORWARDED_FROM,
    LEASE_MS,
    QUOTE_MAX_CHARS,
    Forwarder,
    copy_message,
    forwardable,
)
from incidents.mattermost_api import MattermostApi
from incidents.models import Actor, EventType, Incident, Stage
from incidents.playbooks import ForwardingRule, Playbook, PlaybookStage
from incidents.service import IncidentService

ENV = "production"


@dataclass
class World:
    """One incident whose playbook watches a fresh public channel, on the shared simulator."""

    store: object
    api: MattermostApi
    user_api: MattermostApi
    service: IncidentService
    playbooks: dict[str, Playbook]
    incident: Incident
    source_id: str
    source_name: str
    team_name: str

    def forwarder(self, **kwargs) -> Forwarder:
        return Forwarder(self.service, **kwargs)

    async def post(self, message: str, *, as_user: bool = False, props: dict | None = None) -> str:
        api = self.user_api if as_user else self.api
        return (await api.create_post(self.source_id, message, props))["id"]

    async def copies(self) -> Counter[str]:
        """How many copies of each original the incident channel holds."""
        posts = await self.api.posts_since(self.incident.channel_id, 1)
        return Counter(p["props"][FORWARDED_FROM] for p in posts if FORWARDED_FROM in (p.get("props") or {}))


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def world(simulator, store):
    team, admin, user = simulator.model.teams[0], simulator.model.admin, simulator.model.user
    async with (MattermostApi(simulator.url, simulator.admin_token, timeout=2) as api,
                MattermostApi(simulator.url, simulator.credentials.user_token, timeout=2) as user_api):
        source = await api.create_channel(team.id, _unique("alerts"), "Alerts", private=False)
        await user_api.add_member(source["id"], user.id)
        incident_channel = _unique("inc")
        rule = ForwardingRule(source_channels=[f"{team.name}/{source['name']}"], keywords=["outage", "[FIRING]"],
                              regex=r"HTTP 5\d\d", users=[user.username])
        # The playbook also names the incident's own channel: the worker must still never copy from it.
        own = ForwardingRule(source_channels=[f"{team.name}/{incident_channel}"])
        playbook = Playbook(version=1, id="outage", name="Outage", stages=[PlaybookStage(name="Triage")],
                            forwarding=[rule, own])
        playbooks = {playbook.id: playbook}
        service = IncidentService(store, api, playbooks, ENV)
        incident = await service.start(Actor(admin.id, admin.username), team_id=team.id, playbook_id=playbook.id,
                                       name="Checkout is down", channel_name=incident_channel)
        yield World(store, api, user_api, service, playbooks, incident, source["id"], source["name"], team.name)


# ------------------------------------------------------------------------------------------- what is copied

async def test_matching_posts_are_copied_with_a_link_and_the_rest_are_not(world, simulator):
    wanted = [
        await world.post("Checkout OUTAGE in eu-west"),  # keyword, any case
        await world.post("api answers HTTP 503 since 10:02"),  # regex
        await world.post("[FIRING] disk almost full"),  # keyword with punctuation
        await world.post("lunch anyone?", as_user=True),  # by a watched user
    ]
    for message in ("outages are rare here", "a routage table", "HTTP 404 on /favicon"):
        await world.post(message)  # keywords match whole words only; the regex wants a 5xx
    await world.post("outage: this is a copy", props={FORWARDED_FROM: "x" * 26})  # someone's copy: never again

    report = await world.forwarder().forward_once()

    assert (report.copied, report.errors) == (4, ())
    assert await world.copies() == Counter({post_id: 1 for post_id in wanted})
    posts = {p["props"].get(FORWARDED_FROM): p for p in await world.api.posts_since(world.incident.channel_id, 1)}
    admin = simulator.model.admin.username
    assert posts[wanted[0]]["message"] == (
        f"> **@{admin}** in ~{world.source_name}: Checkout OUTAGE in eu-west\n"
        f"[Original message]({simulator.url}/{world.team_name}/pl/{wanted[0]})")
    assert f"**@{simulator.model.user.username}**" in posts[wanted[3]]["message"]
    forwarded = [e for e in world.service.timeline(world.incident.id) if e.type == EventType.MESSAGE_FORWARDED]
    assert sorted(e.details["post_id"] for e in forwarded) == sorted(wanted)
    assert forwarded[0].summary.startswith("Forwarded a message by @")


async def test_the_incident_channel_itself_is_never_a_source(world):
    await world.api.create_post(world.incident.channel_id, "outage update from the commander")
    await world.post("outage spreads")
    forwarder = world.forwarder()

    first = await forwarder.forward_once()
    second = await forwarder.forward_once()  # the copy now sits in the incident channel: no loop

    assert (first.copied, second.copied) == (1, 0)
    assert sum((await world.copies()).values()) == 1


def test_forwardable_skips_system_posts_copies_old_posts_and_the_incident_channel():
    started = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    incident = Incident(id="i1", environment=ENV, playbook_id="p", name="n", team_id="t", channel_id="incident",
                        channel_name="inc", commander_id="u", stages=(Stage("Triage"),), stage_index=0,
                        started_at=started, started_by="u")
    at = int(started.timestamp() * 1000)
    post = {"id": "p1", "channel_id": "alerts", "create_at": at, "type": "", "props": {}, "message": "outage"}
    assert forwardable(post, incident)
    assert not forwardable({**post, "type": "system_join_channel"}, incident)
    assert not forwardable({**post, "props": {FORWARDED_FROM: "p0"}}, incident)
    assert not forwardable({**post, "channel_id": "incident"}, incident)
    assert not forwardable({**post, "create_at": at - 1}, incident)  # a thread root from before the incident
    assert not forwardable({**post, "delete_at": at + 5}, incident)


def test_copy_quotes_every_line_cuts_long_messages_and_defuses_channel_wide_mentions():
    text = copy_message("first\n\nthird @channel", author="alice", channel_name="ops-alerts",
                        permalink="https://mm.example/ops/pl/abc")
    assert text == ("> **@alice** in ~ops-alerts: first\n>\n> third @\u200bchannel\n"
                    "[Original message](https://mm.example/ops/pl/abc)")
    long = copy_message("x" * (QUOTE_MAX_CHARS + 500), author="a", channel_name="c", permalink="l")
    assert long.count("x") == QUOTE_MAX_CHARS and "…" in long


# ------------------------------------------------------------------------------------------ exactly once

async def test_each_post_is_copied_once_across_a_restart(world):
    before = [await world.post(f"outage step {n}") for n in range(3)]
    assert (await world.forwarder().forward_once()).copied == 3
    after = [await world.post(f"outage step {n}") for n in range(3, 5)]

    restarted = await world.forwarder().forward_once()  # a new worker: nothing in memory, all in the store

    assert restarted.copied == 2
    assert restarted.skipped_duplicates >= 3  # it re-read the first three (the overlap) and dropped them
    assert await world.copies() == Counter({post_id: 1 for post_id in before + after})


async def test_concurrent_runs_copy_each_post_once(world):
    posted = [await world.post(f"outage {n}") for n in range(25)]
    one, other = world.forwarder(), world.forwarder()

    reports = await asyncio.gather(one.forward_once(), other.forward_once(), one.forward_once())
    for _ in range(3):  # runs that met a claim held by another keep their cursor: later runs finish the job
        await one.forward_once()

    assert sum(r.copied for r in reports) <= 25 and all(r.errors == () for r in reports)
    assert await world.copies() == Counter({post_id: 1 for post_id in posted})


async def test_a_crash_between_claim_and_post_is_finished_once_after_the_lease(world):
    lost, later = await world.post("outage begins"), await world.post("outage grows")
    now = datetime.now(UTC)
    # A worker claimed the first post and died before posting its copy.
    world.store.put(CLAIM_KIND, f"{world.incident.id}:{lost}", ENV,
                    {"status": "pending", "claimed_at": int(now.timestamp() * 1000), "worker": "dead"},
                    actor="test", expected_version=None)

    during_lease = await world.forwarder().forward_once()
    assert (during_lease.copied, await world.copies()) == (1, Counter({later: 1}))
    cursor = world.store.get(CURSOR_KIND, f"{world.incident.id}:{world.source_id}", ENV)
    assert cursor is None or cursor.body["since"] < (await world.api.post(lost))["update_at"]  # not past the claim

    after_lease = world.forwarder(clock=lambda: now + timedelta(milliseconds=LEASE_MS + 1000))
    assert (await after_lease.forward_once()).copied == 1
    assert (await after_lease.forward_once()).copied == 0
    assert await world.copies() == Counter({lost: 1, later: 1})


async def test_a_crash_after_posting_does_not_post_again(world):
    posted = await world.post("outage in billing")
    now = datetime.now(UTC)
    world.store.put(CLAIM_KIND, f"{world.incident.id}:{posted}", ENV,
                    {"status": "pending", "claimed_at": int(now.timestamp() * 1000), "worker": "dead"},
                    actor="test", expected_version=None)
    copy = await world.api.create_post(world.incident.channel_id, "the dead worker's copy", {FORWARDED_FROM: posted})

    report = await world.forwarder(clock=lambda: now + timedelta(milliseconds=LEASE_MS + 1000)).forward_once()

    assert (report.copied, report.errors) == (0, ())
    assert await world.copies() == Counter({posted: 1})
    claim = world.store.get(CLAIM_KIND, f"{world.incident.id}:{posted}", ENV)
    assert claim.body["status"] == "done" and claim.body["copy_id"] == copy["id"]


# ---------------------------------------------------------------------------------------- when things fail

async def test_mattermost_refusing_posts_is_reported_and_nothing_is_lost(world, simulator):
    posted = [await world.post(f"outage {n}") for n in range(3)]
    simulator.faults.set("/api/v4/posts", status=503)
    forwarder = world.forwarder()

    down = await forwarder.forward_once()

    assert down.copied == 0
    assert len(down.errors) == 1 and "will be retried" in down.errors[0] and "HTTP 503" in down.errors[0]
    simulator.faults.clear()
    assert (await forwarder.forward_once()).copied == 3
    assert await world.copies() == Counter({post_id: 1 for post_id in posted})


async def test_mattermost_down_entirely_is_reported_and_the_next_run_catches_up(world, simulator):
    posted = await world.post("outage everywhere")
    simulator.faults.set("*", status=502)

    down = await world.forwarder().forward_once()

    assert down.copied == 0 and down.errors and all("HTTP 502" in e for e in down.errors)
    simulator.faults.clear()
    assert (await world.forwarder().forward_once()).copied == 1
    assert await world.copies() == Counter({posted: 1})


async def test_an_unknown_source_channel_is_named_and_the_others_still_forward(world):
    working = world.playbooks["outage"].forwarding[0]
    missing = ForwardingRule(source_channels=[f"{world.team_name}/no-such-channel"], keywords=["outage"])
    world.playbooks["outage"] = world.playbooks["outage"].model_copy(update={"forwarding": [missing, working]})
    posted = await world.post("outage again")

    report = await world.forwarder().forward_once()

    assert report.copied == 1 and await world.copies() == Counter({posted: 1})
    assert len(report.errors) == 1 and f"~{world.team_name}/no-such-channel" in report.errors[0]


async def test_a_missing_playbook_is_reported(world):
    world.playbooks.clear()
    report = await world.forwarder().forward_once()
    assert report.copied == 0 and "playbook 'outage', which is not loaded" in report.errors[0]


async def test_the_worker_idles_while_incidents_are_off_and_catches_up_after(world):
    posted = await world.post("outage while off")
    repository.set_incidents_enabled(world.store, False, actor="admin")
    assert (await world.forwarder().forward_once()).copied == 0
    repository.set_incidents_enabled(world.store, True, actor="admin")
    assert (await world.forwarder().forward_once()).copied == 1
    assert await world.copies() == Counter({posted: 1})


async def test_run_forever_forwards_until_stopped(world, caplog):
    stop = asyncio.Event()
    forwarder = world.forwarder()
    worker = asyncio.create_task(forwarder.run_forever(stop, every_s=0.05))
    posted = await world.post("outage, live")
    for _ in range(100):
        if await world.copies():
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(worker, timeout=2)
    assert await world.copies() == Counter({posted: 1})
    assert not [r for r in caplog.records if r.name == "incidents.forwarding"]  # no errors to report
