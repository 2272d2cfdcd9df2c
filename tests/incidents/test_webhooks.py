"""Outgoing webhooks against a real local receiver: who gets which event, what they get, and failures as values."""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import time
from datetime import UTC, datetime

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from incidents.mattermost_api import MattermostApi
from incidents.models import Actor, ChecklistItem, Incident, Stage
from incidents.playbooks import Playbook
from incidents.service import IncidentService
from incidents.webhooks import WebhookSender, masked_url
from simulator.threaded_server import serve_in_thread
from store import open_store

HOOK_ID = "abcdefghijklmnopqrstuvwxyz"  # shaped like a Mattermost incoming-webhook id: a credential
ALICE = Actor(user_id="u1alice", username="alice")
INCIDENT = Incident(
    id="inc1", environment="production", playbook_id="outage", name="Database down", team_id="team1",
    channel_id="chan1", channel_name="outage-db", commander_id="u1alice",
    stages=(Stage("Triage", (ChecklistItem("i1", "Confirm", "u1alice", datetime(2025, 1, 1, 10, 5, tzinfo=UTC)),)),
            Stage("Mitigate")),
    stage_index=0, started_at=datetime(2025, 1, 1, 10, 0, tzinfo=UTC), started_by="u1alice",
)


@pytest.fixture(scope="module")
def receiver():
    """A receiver that records every POST: /ok answers 200, /broken 500, /slow after ?s= seconds."""
    received: list[tuple[str, dict]] = []

    async def record(request: Request) -> JSONResponse:
        received.append((request.url.path, json.loads(await request.body())))
        await asyncio.sleep(float(request.query_params.get("s", 0)))
        return JSONResponse({}, status_code=500 if "broken" in request.url.path else 200)

    app = Starlette(routes=[Route("/{path:path}", record, methods=["POST"])])
    server = serve_in_thread(app, "webhook receiver")
    yield server.url, received
    server.stop()


@pytest.fixture
def silent_url():
    """A port that accepts connections (the kernel's backlog) but never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    sock.close()


@pytest.fixture
def refused_url():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there any more
    return f"http://127.0.0.1:{port}/hook"


def playbook(*hooks: dict) -> Playbook:
    return Playbook.model_validate({"version": 1, "id": "outage", "name": "Outage", "stages": [{"name": "Triage"}],
                                    "webhooks": list(hooks)})


async def test_each_url_subscribed_to_the_event_gets_the_incident_and_the_event(receiver):
    url, received = receiver
    received.clear()
    book = playbook({"url": f"{url}/all"}, {"url": f"{url}/stages-only", "events": ["stage_changed"]},
                    {"url": f"{url}/ends-only", "events": ["ended"]})
    before = datetime.now(UTC)
    details = {"from": "Triage", "to": "Mitigate"}
    deliveries = await WebhookSender().send(book, "stage_changed", INCIDENT, ALICE, details)

    assert sorted(d.url for d in deliveries) == [f"{url}/all", f"{url}/stages-only"]
    assert all(d.ok and d.status == 200 and d.error is None for d in deliveries)
    assert sorted(path for path, _ in received) == ["/all", "/stages-only"]
    body = received[0][1]
    assert (body["id"], body["name"], body["channel_name"], body["commander_id"]) == (
        "inc1", "Database down", "outage-db", "u1alice")
    assert body["stages"][0]["items"][0] == {"id": "i1", "title": "Confirm", "checked_by": "u1alice",
                                             "checked_at": "2025-01-01T10:05:00+00:00"}
    event = body["event"]
    assert (event["type"], event["user_id"], event["payload"]) == (
        "stage_changed", "u1alice", details)
    assert before.timestamp() * 1000 - 1 <= event["at"] <= time.time() * 1000 + 1


async def test_a_playbook_without_hooks_for_the_event_sends_nothing(receiver):
    url, received = receiver
    received.clear()
    book = playbook({"url": f"{url}/ends-only", "events": ["ended"]})
    assert await WebhookSender().send(book, "started", INCIDENT, ALICE) == []
    assert received == []


async def test_receivers_are_called_concurrently(receiver):
    url, _ = receiver
    book = playbook(*({"url": f"{url}/slow{n}?s=0.4"} for n in range(3)))
    started = time.perf_counter()
    deliveries = await WebhookSender().send(book, "started", INCIDENT, ALICE)
    assert [d.ok for d in deliveries] == [True, True, True]
    assert time.perf_counter() - started < 1.0  # one after the other would take 1.2 s


async def test_refused_silent_and_failing_receivers_are_failed_deliveries_quickly(receiver, refused_url,
                                                                                   silent_url):
    url, _ = receiver
    book = playbook({"url": refused_url}, {"url": silent_url}, {"url": f"{url}/broken"}, {"url": f"{url}/ok"})
    started = time.perf_counter()
    deliveries = await WebhookSender(timeout_seconds=0.5).send(book, "ended", INCIDENT, ALICE)
    assert time.perf_counter() - started < 2.0
    by_url = {d.url: d for d in deliveries}

    refused = by_url[refused_url]
    assert (refused.ok, refused.status) == (False, None)
    assert "connection refused" in refused.error
    silent = by_url[silent_url]
    assert (silent.ok, silent.status) == (False, None)
    assert "0.5 s" in silent.error
    broken = by_url[f"{url}/broken"]
    assert (broken.ok, broken.status, broken.error) == (False, 500, f"The webhook {url}/broken answered HTTP 500.")
    assert by_url[f"{url}/ok"].ok


async def test_a_token_in_the_url_is_masked_in_deliveries_and_errors(refused_url):
    secret_url = refused_url.replace("/hook", f"/hooks/{HOOK_ID}")
    deliveries = await WebhookSender(timeout_seconds=0.5).send(playbook({"url": secret_url}), "started",
                                                               INCIDENT, ALICE)
    assert HOOK_ID not in deliveries[0].url and HOOK_ID not in deliveries[0].error
    assert deliveries[0].url.endswith("/hooks/[REDACTED:webhook]")


def test_masked_url_hides_credentials_but_keeps_where_it_goes():
    assert masked_url(f"https://chat.example.com/hooks/{HOOK_ID}") == "https://chat.example.com/hooks/[REDACTED:webhook]"
    shown = masked_url("https://bot:s3cr3t-pw@ci.example.com/notify")
    assert "s3cr3t-pw" not in shown and shown.endswith("@ci.example.com/notify")
    assert masked_url("https://ci.example.com/notify") == "https://ci.example.com/notify"


async def test_the_service_calls_the_hooks_and_records_each_delivery_in_the_timeline(simulator, receiver, tmp_path,
                                                                                      refused_url):
    url, received = receiver
    received.clear()
    book = playbook({"url": f"{url}/started", "events": ["started"]}, {"url": refused_url.replace(
        "/hook", f"/hooks/{HOOK_ID}")})
    store = open_store(None, sqlite_path=tmp_path / "store.sqlite3")
    async with MattermostApi(simulator.url, simulator.admin_token, timeout=2) as api:
        service = IncidentService(store, api, {"outage": book}, "production", WebhookSender(timeout_seconds=0.5))
        user = simulator.model.user
        incident = await service.start(Actor(user.id, user.username), team_id=simulator.model.teams[0].id,
                                       playbook_id="outage", name=f"Hooked {secrets.token_hex(3)}")
    store_events = {event.type: event for event in service.timeline(incident.id)}
    store.close()

    assert [(path, body["id"], body["event"]["type"]) for path, body in received] == [
        ("/started", incident.id, "started")]
    assert store_events["webhook_sent"].details["status"] == 200
    failed = store_events["webhook_failed"]
    assert HOOK_ID not in failed.summary and "[REDACTED:webhook]" in failed.details["url"]
