"""The watcher against the real simulator and both store engines: schedule, lease, history and failure handling."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from pydantic import SecretStr

from collectors.base import Snapshot
from health import finding_states, history, watch_lease
from health.watcher import RunOutcome, Watcher, collect_environment
from settings import EnvironmentSettings, MattermostSettings, Settings
from store import StoreUnavailable

T0 = datetime(2026, 12, 7, 10, 0, 0, tzinfo=UTC)


def _settings(sim, *names: str, interval: int = 60) -> Settings:
    envs = {name: EnvironmentSettings(name=name, label=name.title(), mattermost=MattermostSettings(
        url=sim.url, token=SecretStr(sim.admin_token), timeout_seconds=5)) for name in names}
    return Settings(environments=envs, default_environment=names[0], deadline_seconds=10,
                    health={"watch_interval": interval})


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def _watcher(settings, store, clock, holder="w1", collect=collect_environment) -> tuple[Watcher, list[RunOutcome]]:
    outcomes: list[RunOutcome] = []
    return Watcher(settings, store, holder=holder, clock=clock, collect=collect, on_run=outcomes.append), outcomes


async def _tick(*watchers: Watcher) -> None:
    for watcher in watchers:
        await watcher.tick()
    for watcher in watchers:
        await watcher.drain()


async def test_one_collection_per_interval_across_watchers(simulator, store) -> None:
    settings = _settings(simulator, "production", "staging")
    clock = Clock(T0 + timedelta(seconds=5))
    first, seen_first = _watcher(settings, store, clock, "w1")
    second, seen_second = _watcher(settings, store, clock, "w2")
    await _tick(first, second)
    await _tick(first, second)  # the same interval again: nothing new
    clock.now += timedelta(seconds=60)
    await _tick(second, first)
    collected = [o for o in seen_first + seen_second if o.status == "collected"]
    assert sorted((o.environment, o.slot) for o in collected) == sorted(
        (env, T0 + timedelta(seconds=60 * i)) for env in ("production", "staging") for i in range(2))
    snapshots = history.between(store, "production", T0 - timedelta(days=1), T0 + timedelta(days=1))
    assert len(snapshots) == 2
    newest = history.latest(store, "production")
    assert newest is not None and newest.report is not None and newest.report["findings"]
    assert newest.figures["registered_users"] and newest.sources["mattermost"]["status"] == "ok"
    assert history.details_of(store, newest.details_hash)["version"]
    assert finding_states.load(store, "production")


async def test_racing_watchers_claim_each_slot_once(simulator, store) -> None:
    """Ten watchers tick at the same moment; the lease row lets exactly one claim each environment's slot."""
    settings = _settings(simulator, "production")
    slot = watch_lease.slot_of(T0, 60)
    wins = await asyncio.gather(*(asyncio.to_thread(watch_lease.claim, store, "production", slot, 60, f"w{i}", T0)
                                  for i in range(10)))
    assert sum(wins) == 1
    assert not watch_lease.claim(store, "production", slot, 60, "late", T0)
    assert watch_lease.claim(store, "production", slot + timedelta(seconds=60), 60, "next", T0)
    assert settings  # the settings are not needed for the lease itself


def test_clock_jumping_back_resumes_collections(store) -> None:
    slot = watch_lease.slot_of(T0, 60)
    assert watch_lease.claim(store, "production", slot, 60, "w1", T0)
    assert not watch_lease.claim(store, "production", slot - timedelta(seconds=60), 60, "w1", T0)  # skew: no
    back = slot - timedelta(hours=1)
    assert watch_lease.claim(store, "production", back, 60, "w1", T0), "a jump back of an hour must not stall"


async def test_slow_environment_delays_nothing_else(simulator, store) -> None:
    settings = _settings(simulator, "production", "slow")
    release = asyncio.Event()

    async def collect(env: EnvironmentSettings, deadline_s: float) -> Snapshot:
        if env.name == "slow":
            await release.wait()
        return await collect_environment(env, deadline_s)

    watcher, outcomes = _watcher(settings, store, Clock(T0), collect=collect)
    await watcher.tick()
    for _ in range(200):
        if any(o.environment == "production" and o.status == "collected" for o in outcomes):
            break
        await asyncio.sleep(0.05)
    assert [o.environment for o in outcomes if o.status == "collected"] == ["production"]
    release.set()
    await watcher.drain()
    assert {o.environment for o in outcomes if o.status == "collected"} == {"production", "slow"}


async def test_failing_collection_is_reported_and_others_go_on(simulator, store) -> None:
    settings = _settings(simulator, "production", "broken")

    async def collect(env: EnvironmentSettings, deadline_s: float) -> Snapshot:
        if env.name == "broken":
            raise RuntimeError("collector bug")
        return await collect_environment(env, deadline_s)

    watcher, outcomes = _watcher(settings, store, Clock(T0), collect=collect)
    await _tick(watcher)
    by_env = {o.environment: o for o in outcomes}
    assert by_env["production"].status == "collected"
    assert by_env["broken"].status == "failed" and "collector bug" in by_env["broken"].error


async def test_unreachable_store_is_retried_next_tick(simulator, tmp_path, monkeypatch) -> None:
    from store import open_store

    store = open_store(None, sqlite_path=tmp_path / "store.sqlite3")
    settings = _settings(simulator, "production")
    clock = Clock(T0)
    watcher, outcomes = _watcher(settings, store, clock)

    def down(*_args, **_kwargs):
        raise StoreUnavailable("The store at test cannot be reached")

    monkeypatch.setattr(watch_lease, "claim", down)
    await _tick(watcher)
    assert outcomes[-1].status == "store_unavailable" and watcher.problem
    monkeypatch.undo()
    await _tick(watcher)  # same interval: tried again, since it was never claimed
    assert outcomes[-1].status == "collected" and watcher.problem is None
    store.close()


def test_retention_keeps_one_snapshot_a_day(store) -> None:
    def save(at: datetime) -> int:
        return history.save(store, "production", collected_at=at, slot=at, collected_by="test", figures={"x": 1.0},
                            findings={"verdict": {}, "items": []}, sources={}, details={"version": "10.0.0"},
                            details_key="k1", report={"findings": []})

    old_day = T0.replace(hour=0) - timedelta(days=10)
    old = [save(old_day + timedelta(hours=h)) for h in range(0, 24, 6)]
    ancient = save(T0 - timedelta(days=400))
    recent = save(T0 - timedelta(hours=1))
    pruned = history.prune(store, T0, raw_days=7, daily_days=365)
    assert (pruned.kept_as_daily, pruned.deleted_daily) == (2, 1)  # the ancient one became daily, then went
    left = {s.id: s.tier for s in history.between(store, "production", T0 - timedelta(days=500), T0)}
    assert left == {old[-1]: "daily", recent: "raw"}
    assert ancient not in left
    assert history.latest(store, "production").report is not None


async def test_a_run_that_opens_findings_posts_one_alert_and_the_next_run_none(simulator, store) -> None:
    """Watcher to channel through the outbox: POST /api/v4/posts as upstream's server/public/model/post.go."""
    from health.alerts import ALERT_KEYS_PROP
    from settings import AlertSettings
    from tests.health.test_alert_outbox import alert_channel, posts_in

    channel, channel_id = alert_channel(simulator)
    settings = _settings(simulator, "production")
    env = settings.environments["production"].model_copy(update={"alerts": AlertSettings(channel=channel)})
    settings = settings.model_copy(update={"environments": {"production": env}})
    clock = Clock(datetime.now(UTC))  # the outbox dates rows by the collection, so the watcher's clock is real
    watcher, outcomes = _watcher(settings, store, clock)
    await _tick(watcher)
    assert outcomes[-1].record.alert_queued
    posts = posts_in(simulator, channel_id)
    assert len(posts) == 1 and "Production" in posts[0]["message"]
    assert posts[0]["props"][ALERT_KEYS_PROP] == [f"production/{outcomes[-1].slot.isoformat()}"]
    clock.now += timedelta(seconds=60)
    await _tick(watcher)  # the same findings still open: nothing new to say
    assert outcomes[-1].status == "collected" and not outcomes[-1].record.alert_queued
    assert len(posts_in(simulator, channel_id)) == 1


async def test_alerts_may_go_to_another_mattermost_than_the_one_watched(simulator, simulator_factory, store) -> None:
    """alerts.url: a central chat server; the channel and the bot token are the chat server's."""
    from settings import AlertSettings
    from tests.health.test_alert_outbox import alert_channel, posts_in

    chat = simulator_factory("healthy")
    channel, channel_id = alert_channel(chat)
    settings = _settings(simulator, "production")
    env = settings.environments["production"].model_copy(update={"alerts": AlertSettings(
        channel=channel, url=chat.url, bot_token=SecretStr(chat.admin_token))})
    settings = settings.model_copy(update={"environments": {"production": env}})
    watcher, outcomes = _watcher(settings, store, Clock(datetime.now(UTC)))
    await _tick(watcher)
    assert outcomes[-1].record.alert_queued and len(posts_in(chat, channel_id)) == 1


async def test_every_run_is_judged_with_the_servers_packet_read_every_15_minutes(simulator, store) -> None:
    """The nodes' OS and open files come only from Mattermost's own support packet (diagnostics.yaml per node,
    server/channels/app/support_packet.go): the first run reads it, the runs of the next 15 minutes judge with the
    same one without asking the server for another CPU profile, and the run after that reads a new one."""
    settings = _settings(simulator, "production")
    clock = Clock(T0)
    watcher, outcomes = _watcher(settings, store, clock, collect=None)

    def judged() -> tuple[str, set[str]]:
        newest = history.latest(store, "production")
        states = {f["state"] for f in newest.report["findings"] if f["code"] == "ENV_UNSUPPORTED_OS"}
        return newest.sources["support_packet"]["status"], states

    await _tick(watcher)
    assert judged() == ("ok", {"ok"})
    simulator.faults.set("/api/v4/system/support_packet", status=500)  # a new packet now would fail
    clock.now += timedelta(minutes=1)
    await _tick(watcher)
    assert outcomes[-1].status == "collected" and judged() == ("ok", {"ok"})
    clock.now += timedelta(minutes=15)
    await _tick(watcher)
    status, states = judged()
    assert status == "error" and states == {"unknown"}
