"""The alert outbox against a real simulator and both stores: one post per delivery, nothing lost or doubled
through outages, refusals, racing replicas and the hourly limit.

Formats follow upstream Mattermost: POST /api/v4/posts with pending_post_id (server/channels/app/post.go,
deduplicateCreatePost within pendingPostIDsCacheTTL = 30 s) and incoming webhooks (server/channels/web/webhook.go,
server/public/model/incoming_webhook.go: {"text", "props"}, answered "ok").
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from health import alert_delivery, alert_outbox
from health.alert_delivery import Delivery, Outcome
from health.alerts import ALERT_KEYS_PROP, alert_key
from settings import AlertSettings, EnvironmentSettings, HealthSettings, MattermostSettings, Settings
from simulator import RunningSimulator
from store import Store
from store.tables import alert_outbox as outbox_table
from tests.simulator.conftest import client_for
from tests.simulator.test_api_channels import create, unique

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
DASHBOARD = "https://dash.example.com"
ENV = "production"


def body(code: str = "NODE_FD_EXHAUSTION", at: datetime = T0) -> dict[str, Any]:
    return {"environment": ENV, "label": "Production", "run_at": at.isoformat(), "link": None, "items": [{
        "kind": "new", "severity": "critical", "code": code, "subject": "app-1", "title": f"{code} fired",
        "observed": "95%", "threshold": "below 90%", "evidence": "GET /api/v4/system/ping",
        "remediation": "Raise LimitNOFILE.", "docs_url": "https://docs.mattermost.com", "fingerprint": code}]}


def settings_for(sim: RunningSimulator, *, channel: str | None = None, token: str | None = None,
                 webhook_url: str | None = None, max_per_hour: int = 12) -> tuple[EnvironmentSettings, Settings]:
    env = EnvironmentSettings(
        name=ENV, label="Production", mattermost=MattermostSettings(url=sim.url, token=sim.admin_token),
        alerts=AlertSettings(channel=channel, bot_token=token, webhook_url=webhook_url, max_per_hour=max_per_hour))
    return env, Settings(environments={ENV: env}, default_environment=ENV,
                         health=HealthSettings(dashboard_url=DASHBOARD))


def alert_channel(sim: RunningSimulator) -> tuple[str, str]:
    """A fresh open channel in the first team, as ("team/channel", channel id)."""
    with client_for(sim, sim.admin_token) as admin:
        channel = create(admin, sim.model.teams[0].id, unique("alerts"))
    return f"{sim.model.teams[0].name}/{channel['name']}", channel["id"]


def posts_in(sim: RunningSimulator, channel_id: str) -> list[dict[str, Any]]:
    """The channel's posts, oldest first."""
    with client_for(sim, sim.admin_token) as admin:
        listed = admin.get(f"/channels/{channel_id}/posts", params={"per_page": 200}).json()
    return [listed["posts"][post_id] for post_id in reversed(listed["order"])]


def posted_keys(sim: RunningSimulator, channel_id: str) -> Counter[str]:
    return Counter(key for post in posts_in(sim, channel_id) for key in post["props"].get(ALERT_KEYS_PROP, []))


def deliver(store: Store, env: EnvironmentSettings, settings: Settings, now: datetime,
            holder: str = "test-host:1") -> alert_outbox.DeliveryReport:
    return asyncio.run(alert_outbox.deliver_due(store, env, settings, holder=holder, now=now))


def enqueue_runs(store: Store, count: int, start: datetime = T0) -> list[str]:
    keys = []
    for n in range(count):
        at = start + timedelta(minutes=5 * n)
        keys.append(alert_key(ENV, at))
        assert alert_outbox.enqueue(store, ENV, keys[-1], body(f"RULE_{n}", at), at)
    return keys


def test_enqueue_is_idempotent(store: Store) -> None:
    key = alert_key(ENV, T0)
    assert alert_outbox.enqueue(store, ENV, key, body(), T0) is True
    assert alert_outbox.enqueue(store, ENV, key, body("OTHER"), T0) is False
    rows = alert_outbox.pending(store, ENV)
    assert [(r.key, r.status, r.attempts, r.body["items"][0]["code"]) for r in rows] == [
        (key, "pending", 0, "NODE_FD_EXHAUSTION")]


def test_racing_enqueues_of_one_run_store_it_once(store: Store) -> None:
    key = alert_key(ENV, T0)
    start = threading.Barrier(8)

    def enqueue(_: int) -> bool:
        start.wait()
        return alert_outbox.enqueue(store, ENV, key, body(), T0)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(enqueue, range(8)))
    assert results.count(True) == 1 and len(alert_outbox.pending(store, ENV)) == 1


def test_queued_runs_go_out_as_one_post_with_evidence_and_link(store: Store, simulator: RunningSimulator) -> None:
    channel, channel_id = alert_channel(simulator)
    env, settings = settings_for(simulator, channel=channel)
    keys = enqueue_runs(store, 3)
    report = deliver(store, env, settings, T0 + timedelta(minutes=15))
    posts = posts_in(simulator, channel_id)
    assert len(posts) == 1 and report.posts == (posts[0]["id"],) and report.delivered == tuple(keys)
    message = posts[0]["message"]
    assert "covers 3 runs" in message and "Evidence: GET /api/v4/system/ping" in message
    assert "What to do: Raise LimitNOFILE." in message and f"{DASHBOARD}/health?env={ENV}" in message
    assert posts[0]["props"][ALERT_KEYS_PROP] == keys and posts[0]["user_id"] == simulator.model.admin.id
    rows = alert_outbox.recent(store, ENV, 10)
    assert {(r.status, r.post_id, r.sent_at) for r in rows} == {("sent", posts[0]["id"], T0 + timedelta(minutes=15))}
    assert alert_outbox.pending(store, ENV) == [] and alert_outbox.problem(store, ENV) is None
    assert deliver(store, env, settings, T0 + timedelta(minutes=16)).posts == ()  # nothing is posted twice


def test_racing_deliverers_never_post_a_row_twice(store: Store, simulator: RunningSimulator) -> None:
    channel, channel_id = alert_channel(simulator)
    env, settings = settings_for(simulator, channel=channel, max_per_hour=1000)
    simulator.faults.set("/api/v4/posts", latency_ms=50)  # posts take a while, so claims overlap with them
    start = threading.Barrier(6)
    enqueued: list[str] = []

    def replica(n: int) -> None:
        start.wait()
        for round_ in range(4):
            key = f"{alert_key(ENV, T0)}/replica-{n}/{round_}"
            enqueued.append(key)
            alert_outbox.enqueue(store, ENV, key, body(f"R{n}_{round_}"), T0)
            deliver(store, env, settings, T0 + timedelta(seconds=1), holder=f"replica-{n}")

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(replica, range(6)))
    simulator.faults.clear()
    deliver(store, env, settings, T0 + timedelta(minutes=10))
    counts = posted_keys(simulator, channel_id)
    assert set(counts) == set(enqueued) and set(counts.values()) == {1}
    assert {r.status for r in alert_outbox.recent(store, ENV, 100)} == {"sent"}


def test_an_outage_delays_alerts_and_they_go_out_once(store: Store, simulator_factory) -> None:
    sim = simulator_factory()
    channel, channel_id = alert_channel(sim)
    env, settings = settings_for(sim, channel=channel)
    keys = enqueue_runs(store, 2)
    start = T0 + timedelta(minutes=5)
    sim.faults.set("/api/v4/*", status=503)
    report = deliver(store, env, settings, start)
    assert report.posts == () and "503" in report.error
    rows = alert_outbox.pending(store, ENV)
    assert [(r.status, r.attempts, r.next_attempt_at) for r in rows] == [
        ("pending", 1, start + timedelta(seconds=15))] * 2
    assert "503" in alert_outbox.problem(store, ENV)
    sim.faults.clear()
    assert deliver(store, env, settings, start + timedelta(seconds=5)).posts == ()  # backing off: not due yet

    # The answer to the post is lost (Mattermost made it): the retry is answered with the same post.
    sim.faults.set("/api/v4/posts", malformed_json=True)
    report = deliver(store, env, settings, start + timedelta(seconds=15))
    assert report.posts == () and "not a post" in report.error
    assert [r.next_attempt_at for r in alert_outbox.pending(store, ENV)] == [start + timedelta(seconds=45)] * 2
    sim.faults.clear()
    assert deliver(store, env, settings, start + timedelta(seconds=45)).delivered == tuple(keys)
    assert posted_keys(sim, channel_id) == Counter(keys) and len(posts_in(sim, channel_id)) == 1

    # Mattermost gone altogether, then back on the same address.
    port = sim.port
    sim.stop()
    later = enqueue_runs(store, 1, T0 + timedelta(hours=1))
    report = deliver(store, env, settings, T0 + timedelta(hours=1))
    assert "connection refused" in report.error and [r.key for r in alert_outbox.pending(store, ENV)] == later
    back = simulator_factory(port=port)
    team, name = channel.split("/")
    with client_for(back, back.admin_token) as admin:  # a new simulator: the channel is made again
        fresh = create(admin, next(t.id for t in back.model.teams if t.name == team), name)
    env, settings = settings_for(back, channel=channel)
    alert_delivery._channel_ids.clear()  # the old channel id died with the old simulator
    assert deliver(store, env, settings, T0 + timedelta(hours=2)).delivered == tuple(later)
    assert posted_keys(back, fresh["id"]) == Counter(later)


def test_an_unknown_channel_is_a_clear_error_and_the_alerts_are_kept(store: Store,
                                                                     simulator: RunningSimulator) -> None:
    team = simulator.model.teams[0].name
    keys = enqueue_runs(store, 2)
    for hours, channel, words in ((1, f"{team}/no-such-channel", "no channel named 'no-such-channel'"),
                                  (2, "no-such-team/alerts", "no team named 'no-such-team'")):
        env, settings = settings_for(simulator, channel=channel)
        report = deliver(store, env, settings, T0 + timedelta(hours=hours))
        assert words in report.error and "alerts.channel" in report.error and simulator.admin_token not in report.error
        assert f"@{simulator.admin_username}" in report.error  # which bot to add
        rows = alert_outbox.pending(store, ENV)
        assert [r.key for r in rows] == keys and {r.last_error for r in rows} == {report.error}
        assert alert_outbox.problem(store, ENV) == report.error
        assert {r.next_attempt_at for r in rows} == {T0 + timedelta(hours=hours, minutes=5)}


def test_a_bot_without_permission_is_a_clear_error_until_it_is_added(store: Store,
                                                                    simulator: RunningSimulator) -> None:
    channel, channel_id = alert_channel(simulator)  # the plain user can see it, but is no member
    env, settings = settings_for(simulator, channel=channel, token=simulator.user_token)
    keys = enqueue_runs(store, 1)
    report = deliver(store, env, settings, T0)
    assert report.posts == () and f"@{simulator.user_username}" in report.error and channel in report.error
    assert "403" in report.error and simulator.user_token not in report.error
    assert [r.key for r in alert_outbox.pending(store, ENV)] == keys
    with client_for(simulator, simulator.admin_token) as admin:
        added = admin.post(f"/channels/{channel_id}/members", json={"user_id": simulator.model.user.id})
        assert added.status_code == 201, added.text
    assert deliver(store, env, settings, T0 + timedelta(minutes=1)).posts == ()  # waits out the refusal first
    report = deliver(store, env, settings, T0 + timedelta(minutes=5))
    assert report.delivered == tuple(keys) and posted_keys(simulator, channel_id) == Counter(keys)
    assert posts_in(simulator, channel_id)[0]["user_id"] == simulator.model.user.id


def test_the_hourly_limit_holds_alerts_and_then_combines_them(store: Store, simulator: RunningSimulator) -> None:
    channel, channel_id = alert_channel(simulator)
    env, settings = settings_for(simulator, channel=channel, max_per_hour=2)
    keys = []
    for minute in range(4):
        at = T0 + timedelta(minutes=minute)
        keys.append(alert_key(ENV, at))
        alert_outbox.enqueue(store, ENV, keys[-1], body(f"RULE_{minute}", at), at)
        report = deliver(store, env, settings, at)
        assert report.held_until == (None if minute < 2 else T0 + timedelta(hours=1))
    assert len(posts_in(simulator, channel_id)) == 2
    assert {r.next_attempt_at for r in alert_outbox.pending(store, ENV)} == {T0 + timedelta(hours=1)}
    assert deliver(store, env, settings, T0 + timedelta(minutes=59)).posts == ()
    report = deliver(store, env, settings, T0 + timedelta(hours=1))
    assert report.delivered == tuple(keys[2:])
    posts = posts_in(simulator, channel_id)
    assert len(posts) == 3 and "covers 2 runs" in posts[-1]["message"]
    assert posted_keys(simulator, channel_id) == Counter(keys)


def test_a_crashed_deliverers_rows_come_back(store: Store, simulator: RunningSimulator) -> None:
    channel, channel_id = alert_channel(simulator)
    env, settings = settings_for(simulator, channel=channel)
    keys = enqueue_runs(store, 1)
    with store.writing() as conn:  # what a deliverer that died mid-post leaves behind
        conn.execute(update(outbox_table).values(status="sending", claimed_by="dead:1", attempts=1,
                                                 claimed_until=T0 + alert_outbox.LEASE))
    assert deliver(store, env, settings, T0 + timedelta(minutes=1)).posts == ()  # its lease still runs
    assert deliver(store, env, settings, T0 + alert_outbox.LEASE + timedelta(seconds=1)).delivered == tuple(keys)
    assert posted_keys(simulator, channel_id) == Counter(keys)
    assert alert_outbox.recent(store, ENV, 1)[0].attempts == 2


def test_webhook_delivery_end_to_end(store: Store, simulator: RunningSimulator) -> None:
    _, channel_id = alert_channel(simulator)
    with client_for(simulator, simulator.admin_token) as admin:
        hook = admin.post("/hooks/incoming", json={"channel_id": channel_id, "display_name": "Health alerts"}).json()
    env, settings = settings_for(simulator, webhook_url=f"{simulator.url}/hooks/{hook['id']}")
    keys = enqueue_runs(store, 2)
    report = deliver(store, env, settings, T0 + timedelta(minutes=10))
    assert report.delivered == tuple(keys) and report.posts[0].startswith("webhook:")
    [post] = posts_in(simulator, channel_id)
    assert post["props"]["from_webhook"] == "true" and post["props"]["webhook_display_name"] == "Health alerts"
    assert post["props"][ALERT_KEYS_PROP] == keys and "covers 2 runs" in post["message"]
    assert {r.post_id for r in alert_outbox.recent(store, ENV, 5)} == {report.posts[0]}


def test_an_unknown_webhook_is_refused_without_showing_its_secret(store: Store, simulator: RunningSimulator) -> None:
    secret = "q" * 26
    env, settings = settings_for(simulator, webhook_url=f"{simulator.url}/hooks/{secret}")
    keys = enqueue_runs(store, 1)
    report = deliver(store, env, settings, T0)
    assert "does not know the incoming webhook" in report.error and "alerts.webhook_url" in report.error
    assert secret not in report.error and simulator.url in report.error
    assert [r.last_error for r in alert_outbox.pending(store, ENV)] == [report.error]
    assert [r.key for r in alert_outbox.pending(store, ENV)] == keys


def test_unconfigured_alerts_deliver_nothing(store: Store, simulator: RunningSimulator) -> None:
    env, settings = settings_for(simulator)
    enqueue_runs(store, 1)
    report = deliver(store, env, settings, T0)
    assert report.configured is False and len(alert_outbox.pending(store, ENV)) == 1


@pytest.mark.parametrize("outcome", [Outcome.RETRY, Outcome.REFUSED])
def test_backoff_grows_and_stops_at_five_minutes(store: Store, outcome: Outcome) -> None:
    class Failing:
        async def send(self, post):
            return Delivery(outcome, error="Mattermost said no")

    env = EnvironmentSettings(name=ENV, label="Production", alerts=AlertSettings(channel="team/alerts"))
    settings = Settings(environments={ENV: env}, default_environment=ENV)
    enqueue_runs(store, 1)
    now, waits = T0, []
    for _ in range(7):
        asyncio.run(alert_outbox.deliver_due(store, env, settings, holder="h", now=now, sender=Failing()))
        [row] = alert_outbox.pending(store, ENV)
        waits.append(int((row.next_attempt_at - now).total_seconds()))
        now = row.next_attempt_at
    expected = [15, 30, 60, 120, 240, 300, 300] if outcome is Outcome.RETRY else [300] * 7
    assert waits == expected and row.attempts == 7 and row.last_error == "Mattermost said no"


def test_pages_see_nothing_odd_for_an_empty_outbox(store: Store) -> None:
    assert alert_outbox.pending(store, ENV) == [] and alert_outbox.recent(store, ENV, 5) == []
    assert alert_outbox.problem(store, ENV) is None
