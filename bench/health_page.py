"""Benchmark: how soon the Health page shows its charts in a real browser, on the demo (target: <= 3 s).

Starts the real app (`streamlit run app.py`) and Debian's Chromium through Playwright, then measures
three navigations: the first visit after the server starts (imports, simulator start), a new visitor on a
warm server, and moving back to Health from another page. Each figure is the median of several tries.
Prints progress lines, then one JSON object on the last line.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The project root goes on sys.path first, so these imports come after it.
from playwright.sync_api import Page, sync_playwright  # noqa: E402

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.servers.streamlit_app import StreamlitApp  # noqa: E402

TRIES = 5
TIMEOUT_MS = 30_000


def charts_visible(page: Page) -> None:
    page.locator(".js-plotly-plot").nth(1).wait_for(state="visible", timeout=TIMEOUT_MS)


def visit(browser, url: str) -> float:
    context = browser.new_context(viewport={"width": 1440, "height": 1200})
    page = context.new_page()
    started = time.perf_counter()
    page.goto(url)
    charts_visible(page)
    elapsed = time.perf_counter() - started
    context.close()
    return elapsed


def back_to_health(browser, url: str) -> float:
    context = browser.new_context(viewport={"width": 1440, "height": 1200})
    page = context.new_page()
    page.goto(url)
    charts_visible(page)
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.get_by_role("link", name="Rollout", exact=True).click()
    page.get_by_role("heading", name="Rollout").wait_for(timeout=TIMEOUT_MS)
    started = time.perf_counter()
    nav.get_by_role("link", name="Health", exact=True).click()
    charts_visible(page)
    elapsed = time.perf_counter() - started
    context.close()
    return elapsed


def main() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as workdir, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        app = StreamlitApp({}, Path(workdir))
        try:
            first = visit(browser, app.url)
            print(f"first visit after start: {first:.2f} s", flush=True)
            fresh = [visit(browser, app.url) for _ in range(TRIES)]
            print("new visitor, warm server: " + ", ".join(f"{t:.2f}" for t in fresh), flush=True)
            back = [back_to_health(browser, app.url) for _ in range(TRIES)]
            print("back to Health from another page: " + ", ".join(f"{t:.2f}" for t in back), flush=True)
        finally:
            app.stop()
            browser.close()
    return {
        "first_visit_after_start_s": round(first, 2),
        "new_visitor_s": round(statistics.median(fresh), 2),
        "navigation_back_s": round(statistics.median(back), 2),
        "target_s": 3.0,
    }


if __name__ == "__main__":
    print(json.dumps(main()))
