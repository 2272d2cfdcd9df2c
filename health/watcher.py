"""The watcher: every environment collected on its own schedule, judged, remembered and alerted on.

Each environment runs as its own task, so a slow or failing source delays only its own environment. Several
watchers (dashboard replicas) may share one store: the lease row (health.watch_lease) lets exactly one of them
collect an environment per interval. A store that cannot be reached is retried on the next tick; the run is not
lost to the schedule, only to history, and the problem is kept for the pages (`problem`). Mattermost's own
support packet is read with an environment's first run and then every 15 minutes (health/run_sources.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from collectors.base import Snapshot
from health import history, watch_lease
from health.run_sources import ServerPacketSchedule, watch_sources
from health.watch_run import RunRecord, record
from settings import EnvironmentSettings, Settings
from store import Store, StoreError
from store.utc import utc_now

log = logging.getLogger("mmdash.watcher")
TICK_S = 5.0
RETENTION_EVERY_S = 3600
RETENTION_LEASE = "__retention__"  # a lease name no environment can have, so one watcher prunes per hour
MAX_PARALLEL = 16

Collect = Callable[[EnvironmentSettings, float], Awaitable[Snapshot]]


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def collect_environment(env: EnvironmentSettings, deadline_s: float) -> Snapshot:
    """Every source of `env` but the server's support packet."""
    from collectors.runner import collect_all  # the collectors' libraries load only when something is collected

    return await collect_all(env, deadline_s=deadline_s, sources=watch_sources())


@dataclass
class RunOutcome:
    environment: str
    slot: datetime
    status: str  # collected | claimed_elsewhere (another watcher has this interval) | store_unavailable | failed
    elapsed_ms: float = 0.0
    error: str | None = None
    record: RunRecord | None = None

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = {"event": "run", "environment": self.environment, "slot": self.slot.isoformat(),
                                   "status": self.status, "elapsed_ms": round(self.elapsed_ms)}
        if self.error:
            data["error"] = self.error
        if self.record is not None:
            data |= {"verdict": self.record.verdict, "snapshot_id": self.record.snapshot_id,
                     "changes": [{"change": c.kind.value, "code": c.finding.code, "subject": c.finding.subject}
                                 for c in self.record.changes],
                     "alert_queued": self.record.alert_queued}
        return data


@dataclass
class Watcher:
    settings: Settings
    store: Store
    holder: str = field(default_factory=default_holder)
    environments: list[str] | None = None  # None: every configured environment
    resolve: Callable[[EnvironmentSettings], EnvironmentSettings] = lambda env: env  # demo -> its simulator
    collect: Collect | None = None  # None: every source, the server's packet when `packets` says it is due
    packets: ServerPacketSchedule = field(default_factory=ServerPacketSchedule)
    clock: Callable[[], datetime] = utc_now
    on_run: Callable[[RunOutcome], None] | None = None
    on_snapshot: Callable[[EnvironmentSettings, Snapshot, RunRecord], None] | None = None
    problem: str | None = None  # why the store cannot be used right now, for the pages
    _attempted: dict[str, datetime] = field(default_factory=dict)
    _running: dict[str, asyncio.Task] = field(default_factory=dict)
    _limit: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(MAX_PARALLEL))

    def names(self) -> list[str]:
        return list(self.environments or self.settings.environments)

    async def run(self, stop: asyncio.Event) -> None:
        log.info("watching %s as %s", ", ".join(self.names()), self.holder)
        while not stop.is_set():
            await self.tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=TICK_S)
        await self.drain()

    async def drain(self) -> None:
        if self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def tick(self) -> None:
        """Start the run of every environment whose interval began since its last attempt (if this watcher wins
        it), deliver alerts that are due, and apply retention once an hour."""
        now = self.clock()
        for name in self.names():
            env = self.settings.environment(name)
            slot = watch_lease.slot_of(now, self.settings.watch_interval(env))
            if self._attempted.get(name) == slot or name in self._running:
                continue
            self._running[name] = asyncio.create_task(self._attempt(env, slot, now), name=f"watch {name}")
            self._running[name].add_done_callback(lambda _task, name=name: self._running.pop(name, None))
        await self._deliver_alerts(now)
        await self._retention(now)

    async def _attempt(self, env: EnvironmentSettings, slot: datetime, now: datetime) -> RunOutcome:
        interval = self.settings.watch_interval(env)
        try:
            won = await asyncio.to_thread(watch_lease.claim, self.store, env.name, slot, interval, self.holder, now)
        except StoreError as exc:
            self._report_problem(str(exc))
            return self._report(RunOutcome(env.name, slot, "store_unavailable", error=str(exc)))
        self._attempted[env.name] = slot  # claimed by us or by another watcher: either way this slot is done
        if not won:
            return self._report(RunOutcome(env.name, slot, "claimed_elsewhere"))
        started = time.perf_counter()
        async with self._limit:
            try:
                effective = await asyncio.to_thread(self.resolve, env)
                snapshot = await self._collect(effective)
                done = await asyncio.to_thread(record, self.store, self.settings, env, snapshot, slot=slot,
                                               holder=self.holder)
            except StoreError as exc:
                self._report_problem(str(exc))
                return self._report(RunOutcome(env.name, slot, "store_unavailable",
                                               (time.perf_counter() - started) * 1000, str(exc)))
            except Exception as exc:  # one environment's failure must not stop the others
                log.exception("watcher: the run of %s failed", env.name)
                return self._report(RunOutcome(env.name, slot, "failed", (time.perf_counter() - started) * 1000,
                                               f"{type(exc).__name__}: {exc}"))
        if self.on_snapshot is not None:
            self.on_snapshot(env, snapshot, done)
        self.problem = None
        # The alert was dated by the collection; a watcher clock behind it (tests, skew) must not hold it back.
        await self._deliver_one(env, max(self.clock(), snapshot.collected_at))
        return self._report(RunOutcome(env.name, slot, "collected", (time.perf_counter() - started) * 1000,
                                       record=done))

    async def _collect(self, env: EnvironmentSettings) -> Snapshot:
        if self.collect is not None:
            return await self.collect(env, self.settings.deadline_seconds)
        return await self.packets.collect(env, self.settings.deadline_seconds, self.clock())

    def _report(self, outcome: RunOutcome) -> RunOutcome:
        if self.on_run is not None:
            self.on_run(outcome)
        return outcome

    async def _deliver_alerts(self, now: datetime) -> None:
        for name in self.names():
            env = self.settings.environment(name)
            if env.alerts.configured and name not in self._running:
                await self._deliver_one(env, now)

    async def _deliver_one(self, env: EnvironmentSettings, now: datetime) -> None:
        if not env.alerts.configured:
            return
        from health import alert_outbox

        try:
            await alert_outbox.deliver_due(self.store, self.resolve(env), self.settings, holder=self.holder, now=now)
        except StoreError as exc:
            self._report_problem(str(exc))

    def _report_problem(self, problem: str) -> None:
        if problem != self.problem:
            log.error("watcher: the store cannot be used, will retry: %s", problem)
        self.problem = problem

    async def _retention(self, now: datetime) -> None:
        slot = watch_lease.slot_of(now, RETENTION_EVERY_S)
        if self._attempted.get(RETENTION_LEASE) == slot:
            return
        health = self.settings.health
        try:
            if await asyncio.to_thread(watch_lease.claim, self.store, RETENTION_LEASE, slot, RETENTION_EVERY_S,
                                       self.holder, now):
                pruned = await asyncio.to_thread(history.prune, self.store, now, raw_days=health.raw_days,
                                                 daily_days=health.daily_days)
                log.info("retention: %s", pruned)
        except StoreError as exc:
            self._report_problem(str(exc))
            return
        self._attempted[RETENTION_LEASE] = slot
