"""A quiet start: the dashboard started as `make run` starts it (the demo, nothing configured), its watcher's
first runs, a visitor opening pages and the stop leave no warning, error or traceback in its log. Streamlit used to
print "No runtime found, using MemoryCacheStorageManager" and "missing ScriptRunContext" there."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_browser import SETTLE_MS, settle

pytestmark = pytest.mark.e2e
PAGES = {"/": "Health · Demo production", "/support_packet": "Support packet", "/packet_analysis": "Packet analysis",
         "/fleet": "Fleet", "/rollout": "Rollout · Demo production", "/incidents": "Incidents · Demo production"}
NOISE = re.compile(r"Traceback|missing ScriptRunContext|No runtime found|\b(WARNING|ERROR|CRITICAL)\b")


def wait_for_the_watchers_first_runs(url: str, timeout_s: float = 90) -> dict:
    deadline = time.monotonic() + timeout_s
    body: dict = {}
    while time.monotonic() < deadline:
        body = httpx.get(f"{url}/healthz", timeout=10).json()
        if all(env["last_status"] for env in body["watcher"]["environments"].values()):
            return body
        time.sleep(0.5)
    pytest.fail(f"the watcher did not run every demo environment within {timeout_s} s: {body}")


def test_the_demo_starts_serves_and_stops_with_a_clean_log(start_app, page: Page):
    app = start_app()
    health = wait_for_the_watchers_first_runs(app.url)
    assert health["status"] == "ok", health
    for path, heading in PAGES.items():
        page.goto(f"{app.url}{path}")
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible(timeout=SETTLE_MS)
        settle(page)
    app.stop()
    log = app.log_path.read_text(errors="replace")
    noisy = [line for line in log.splitlines() if NOISE.search(line)]
    assert noisy == [], log
