"""GET /healthz of the served app: whether this dashboard is usable, for load balancers, container health checks
and monitoring.

200 when it is: settings usable, store reachable, and (when this process runs the watcher) every environment
run within STALE_INTERVALS of its interval, the age after which the health page calls its snapshot stale. 503
otherwise, with the reasons. Cheap: one trivial store query under a short timeout, nothing collected. No
secret and no error text goes out (the endpoint needs no sign-in; the log has the details): only the version,
the store's kind, environment names and ages.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from health.stored_view import STALE_INTERVALS
from health.watcher import RunOutcome
from mmdash import __version__
from settings import Settings
from store import Store, StoreError

STORE_PROBE_TIMEOUT_S = 3.0
ALIVE = frozenset({"collected", "claimed_elsewhere"})  # another replica's claim still means the interval is run


@dataclass
class WatcherProgress:
    """What this process's watcher last did per environment (fed by Watcher.on_run), in monotonic seconds."""

    intervals: dict[str, int]
    task: asyncio.Task | None = None
    started: float = field(default_factory=time.monotonic)
    last: dict[str, tuple[float, str]] = field(default_factory=dict)  # environment -> (when, status)
    last_alive: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, settings: Settings, task: asyncio.Task | None = None) -> WatcherProgress:
        return cls({name: settings.watch_interval(env) for name, env in settings.environments.items()}, task)

    def saw(self, outcome: RunOutcome) -> None:
        now = time.monotonic()
        self.last[outcome.environment] = (now, outcome.status)
        if outcome.status in ALIVE:
            self.last_alive[outcome.environment] = now

    def report(self, now: float) -> tuple[dict[str, object], list[str]]:
        running = self.task is None or not self.task.done()
        problems = [] if running else ["the watcher has stopped (see the log)"]
        environments: dict[str, object] = {}
        for name, interval in self.intervals.items():
            when, status = self.last.get(name, (None, None))
            age = now - self.last_alive.get(name, self.started)
            late = age > STALE_INTERVALS * interval
            environments[name] = {"interval_seconds": interval, "last_status": status,
                                  "last_run_age_seconds": None if when is None else round(now - when, 1),
                                  "late": late}
            if late and running:
                problems.append(f"the watcher has not run {name} for {age:.0f} s "
                                f"(more than {STALE_INTERVALS} intervals of {interval} s)")
        return {"running": running, "environments": environments}, problems


@dataclass
class ServedState:
    """What the served app knows about itself; serve.py's lifespan fills it in."""

    settings_usable: bool = False
    store: Store | None = None
    watcher: WatcherProgress | None = None


async def report(state: ServedState, now: Callable[[], float] = time.monotonic) -> tuple[int, dict[str, object]]:
    problems: list[str] = []
    if not state.settings_usable:
        problems.append("the settings cannot be used (see the log)")
    reachable = state.store is not None and await _reachable(state.store)
    if not reachable:
        problems.append("the store cannot be reached (see the log)")
    body: dict[str, object] = {"version": __version__,
                               "store": {"reachable": reachable,
                                         "kind": state.store.dialect if state.store is not None else None}}
    if state.watcher is not None:
        body["watcher"], late = state.watcher.report(now())
        problems += late
    body = {"status": "unavailable" if problems else "ok", **body, "problems": problems}
    return (503 if problems else 200), body


async def _reachable(store: Store) -> bool:
    try:
        await asyncio.wait_for(asyncio.to_thread(store.schema_version), STORE_PROBE_TIMEOUT_S)
    except (StoreError, TimeoutError):
        return False
    return True


def endpoint(state: ServedState) -> Callable[[Request], Awaitable[Response]]:
    async def healthz(_request: Request) -> Response:
        status, body = await report(state)
        return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})

    return healthz
