"""GET /healthz as a load balancer or container health check reads it: 200 only when the dashboard is usable,
503 with the reasons otherwise, and nothing secret in either."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from health.watcher import RunOutcome
from mmdash import __version__, healthz
from settings import load_settings
from store import open_store
from store.utc import utc_now


@pytest.fixture
def store(tmp_path):
    opened = open_store(None, sqlite_path=tmp_path / "store.sqlite3")
    yield opened
    opened.close()


def get(state: healthz.ServedState) -> httpx.Response:
    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=Starlette(routes=[Route("/healthz", healthz.endpoint(state))]))
        async with httpx.AsyncClient(transport=transport, base_url="http://dashboard") as client:
            return await client.get("/healthz")

    return asyncio.run(fetch())


def outcome(environment: str, status: str) -> RunOutcome:
    return RunOutcome(environment, utc_now(), status)


def test_usable_dashboard_answers_200_with_version_and_store(store):
    response = get(healthz.ServedState(settings_usable=True, store=store))
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    assert response.json() == {"status": "ok", "version": __version__, "store": {"reachable": True, "kind": "sqlite"},
                               "problems": []}


def test_no_store_or_unusable_settings_answer_503_saying_why():
    body = get(healthz.ServedState(settings_usable=False, store=None)).json()
    assert body["status"] == "unavailable"
    assert body["problems"] == ["the settings cannot be used (see the log)",
                                "the store cannot be reached (see the log)"]


def test_a_store_that_stopped_answering_is_unreachable_and_its_error_stays_in_the_log(store, tmp_path):
    store.close()
    (tmp_path / "store.sqlite3").write_bytes(b"not a database, and the path is not said " * 100)
    response = get(healthz.ServedState(settings_usable=True, store=store))
    assert response.status_code == 503 and response.json()["store"]["reachable"] is False
    assert "store.sqlite3" not in response.text


def test_watcher_runs_are_reported_and_a_late_environment_makes_it_503(store):
    progress = healthz.WatcherProgress({"production": 60, "staging": 60}, started=0.0)
    state = healthz.ServedState(settings_usable=True, store=store, watcher=progress)
    progress.saw(outcome("production", "collected"))
    progress.saw(outcome("staging", "claimed_elsewhere"))  # another replica has this interval: still run
    at = progress.last["production"][0]
    status, body = asyncio.run(healthz.report(state, now=lambda: at + 30))
    assert status == 200
    assert body["watcher"] == {"running": True, "environments": {
        "production": {"interval_seconds": 60, "last_status": "collected", "last_run_age_seconds": 30.0,
                       "late": False},
        "staging": {"interval_seconds": 60, "last_status": "claimed_elsewhere", "last_run_age_seconds": 30.0,
                    "late": False}}}
    progress.saw(outcome("staging", "failed"))  # failing runs do not keep it healthy
    status, body = asyncio.run(healthz.report(state, now=lambda: at + 200))
    assert status == 503 and body["watcher"]["environments"]["staging"]["late"]
    assert body["problems"] == ["the watcher has not run production for 200 s (more than 3 intervals of 60 s)",
                                "the watcher has not run staging for 200 s (more than 3 intervals of 60 s)"]


def test_a_watcher_that_never_ran_is_late_only_after_three_intervals_from_its_start(store):
    progress = healthz.WatcherProgress({"production": 60}, started=1000.0)
    state = healthz.ServedState(settings_usable=True, store=store, watcher=progress)
    assert asyncio.run(healthz.report(state, now=lambda: 1100.0))[0] == 200
    assert asyncio.run(healthz.report(state, now=lambda: 1181.0))[0] == 503


def test_a_stopped_watcher_task_is_503(store):
    async def stopped() -> tuple[int, dict]:
        task = asyncio.create_task(asyncio.sleep(0))
        await task
        state = healthz.ServedState(settings_usable=True, store=store,
                                    watcher=healthz.WatcherProgress({"production": 60}, task))
        return await healthz.report(state)

    status, body = asyncio.run(stopped())
    assert status == 503 and body["watcher"]["running"] is False
    assert body["problems"] == ["the watcher has stopped (see the log)"]


def test_intervals_come_from_the_settings():
    settings = load_settings({"MMDASH_PROD__MATTERMOST__URL": "https://chat.example.com",
                              "MMDASH_PROD__WATCH_INTERVAL": "120", "MMDASH_SECRETS_FILE": "/nonexistent"})
    assert healthz.WatcherProgress.of(settings).intervals == {"prod": 120}
