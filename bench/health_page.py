"""Benchmark: how soon the Health page is visible in a real browser, on the demo (target: <= 1.0 s for a new
visitor).

The page opens from the last stored snapshot (the demo's watcher stores one per environment when it starts), so
"visible" means the title, the stored run's age line and the verdict's Score tile are on screen, whoever drew
them: for a new visitor that is first the server-drawn preview (ui/health_preview.py), then the app; "interactive"
means the app's own tiles are there (its widgets answer). Starts the real app
(`streamlit run serve.py`) and Debian's Chromium through Playwright, then measures: the first visit after the
server starts (imports, simulator start; it may collect itself if the watcher has not stored a run yet), a new
visitor on a warm server, moving back to Health from another page, and opening the Usage view, whose charts are
still collected live; and, for scale, a bare Streamlit page with the same kinds of elements and nothing else
(what Streamlit's own frontend costs a new visitor on this machine). Each figure is the median of several tries.
Prints progress lines, then one JSON object on the last line.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The project root goes on sys.path first, so these imports come after it.
import httpx  # noqa: E402
from playwright.sync_api import Page, sync_playwright  # noqa: E402

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.servers.streamlit_app import StreamlitApp, free_port  # noqa: E402

TRIES = 7
SETTLE_S = 20  # the watcher's first runs after the start share the two CPUs with the browser
TIMEOUT_MS = 30_000


TARGET_S = 1.0
STORED_AGE = re.compile(r"^Collected \d+ (s|min) ago .* by ")


def health_visible(page: Page) -> None:
    page.get_by_role("heading", name=re.compile("^Health · ")).first.wait_for(state="visible", timeout=TIMEOUT_MS)
    page.get_by_text(STORED_AGE).first.wait_for(state="visible", timeout=TIMEOUT_MS)
    page.get_by_text("Score", exact=True).first.wait_for(state="visible", timeout=TIMEOUT_MS)


def health_interactive(page: Page) -> None:
    page.locator('[data-testid="stMetric"]').filter(has_text="Score").wait_for(state="visible", timeout=TIMEOUT_MS)


def charts_visible(page: Page) -> None:
    page.locator(".js-plotly-plot").nth(1).wait_for(state="visible", timeout=TIMEOUT_MS)


def visit(browser, url: str) -> tuple[float, float]:
    """A new visitor: (seconds until the health page is visible, until the app's own page is there)."""
    context = browser.new_context(viewport={"width": 1440, "height": 1200})
    page = context.new_page()
    started = time.perf_counter()
    page.goto(url, wait_until="commit")
    health_visible(page)
    visible = time.perf_counter() - started
    health_interactive(page)
    interactive = time.perf_counter() - started
    context.close()
    return visible, interactive


@contextlib.contextmanager
def health_open(browser, url: str) -> Iterator[Page]:
    """A new visitor's tab with the Health page shown, closed afterwards."""
    context = browser.new_context(viewport={"width": 1440, "height": 1200})
    try:
        page = context.new_page()
        page.goto(url)
        health_interactive(page)
        yield page
    finally:
        context.close()


def usage_view(browser, url: str) -> float:
    with health_open(browser, url) as page:
        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=TIMEOUT_MS)
        started = time.perf_counter()
        page.locator('[data-testid="stButtonGroup"]').get_by_text("Usage", exact=True).click()
        charts_visible(page)
        return time.perf_counter() - started


def back_to_health(browser, url: str) -> float:
    with health_open(browser, url) as page:
        nav = page.locator('[data-testid="stSidebarNav"]')
        nav.get_by_role("link", name="Rollout", exact=True).click()
        page.get_by_role("heading", name="Rollout").wait_for(timeout=TIMEOUT_MS)
        started = time.perf_counter()
        nav.get_by_role("link", name="Health", exact=True).click()
        health_interactive(page)
        return time.perf_counter() - started


# The same kinds of elements on a page that does nothing else: what Streamlit itself costs a new visitor here.
BARE_PAGE = """
import streamlit as st
st.set_page_config(layout="wide")
with st.sidebar:
    st.selectbox("Environment", ["production", "staging"])
    st.markdown(":material/check_circle: Mattermost API: ok")
    st.toggle("Incidents", value=True)
def health():
    st.title("Health · bare")
    st.button("Collect now", icon=":material/refresh:")
    st.caption("Collected 3 s ago (2026-12-07 10:00:00 UTC) by watcher bench")
    st.metric("Score", "96/100", border=True)
    st.segmented_control("View", ["Overview", "Findings"], default="Overview")
st.navigation([st.Page(health, title="Health", default=True), st.Page(lambda: None, title="Other", url_path="x")]).run()
"""


# Streamlit's floor: a title and one caption, nothing else.
MINIMAL_PAGE = """
import streamlit as st
st.title("Health · minimal")
st.caption("Collected 3 s ago (2026-12-07 10:00:00 UTC) by watcher bench")
st.metric("Score", "96/100", border=True)
"""


def bare_page_s(browser, workdir: Path, source: str = BARE_PAGE) -> list[float]:
    script = workdir / "bare_page.py"
    script.write_text(source, encoding="utf-8")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port), "--server.address",
         "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.2)
        visit(browser, f"http://127.0.0.1:{port}")  # the first one warms the server, as for the dashboard
        return [visit(browser, f"http://127.0.0.1:{port}")[1] for _ in range(TRIES)]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def main() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as workdir, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        app = StreamlitApp({}, Path(workdir))
        try:
            first = visit(browser, app.url)[1]
            print(f"first visit after start: {first:.2f} s", flush=True)
            time.sleep(SETTLE_S)
            visits = [visit(browser, app.url) for _ in range(TRIES)]
            fresh, ready = [v[0] for v in visits], [v[1] for v in visits]
            print("new visitor, warm server, health page visible: " + ", ".join(f"{t:.2f}" for t in fresh),
                  flush=True)
            print("new visitor, the app's own page there: " + ", ".join(f"{t:.2f}" for t in ready), flush=True)
            back = [back_to_health(browser, app.url) for _ in range(TRIES)]
            print("back to Health from another page: " + ", ".join(f"{t:.2f}" for t in back), flush=True)
            usage = [usage_view(browser, app.url) for _ in range(TRIES)]
            print("Usage view (collected live): " + ", ".join(f"{t:.2f}" for t in usage), flush=True)
        finally:
            app.stop()
        try:
            bare = bare_page_s(browser, Path(workdir))
            print("bare Streamlit page, same elements: " + ", ".join(f"{t:.2f}" for t in bare), flush=True)
            minimal = bare_page_s(browser, Path(workdir), MINIMAL_PAGE)
            print("minimal Streamlit page (title, caption, one metric): " + ", ".join(f"{t:.2f}" for t in minimal),
                  flush=True)
        finally:
            browser.close()
    return {
        "first_visit_after_start_s": round(first, 2),
        "new_visitor_s": round(statistics.median(fresh), 2),
        "new_visitor_interactive_s": round(statistics.median(ready), 2),
        "navigation_back_s": round(statistics.median(back), 2),
        "usage_view_live_s": round(statistics.median(usage), 2),
        "bare_streamlit_page_s": round(statistics.median(bare), 2),
        "minimal_streamlit_page_s": round(statistics.median(minimal), 2),
        "target_new_visitor_s": TARGET_S,
    }


if __name__ == "__main__":
    print(json.dumps(main()))
