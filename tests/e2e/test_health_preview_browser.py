"""In Chromium against the real app (serve.py): the server-drawn health preview (ui/health_preview.py) is on screen
before the app, gives way to it without the two ever showing at once, leaves the app working, and is drawn only
for a visitor the page itself lets in."""

import re

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_browser import SETTLE_MS, STORED_AGE, assert_page_sound, choose, settle
from tests.e2e.test_web_sessions_browser import SESSION_KEY, expect_dashboard, sign_in_with_token

pytestmark = pytest.mark.e2e
PREVIEW = "#mmdash-preview"


class HeldAppScripts:
    """Holds the app's own scripts in the browser until released, so the preview is checked before the app can
    replace it (on a fast machine the app draws within a few hundred milliseconds and the preview is gone)."""

    def __init__(self, page: Page):
        self.held: list[Route] = []
        self.released = False
        page.route(re.compile(r"/static/js/"), self._hold)

    def _hold(self, route: Route) -> None:
        if self.released:
            route.continue_()
        else:
            self.held.append(route)

    def release(self) -> None:
        self.released = True
        for route in self.held:
            route.continue_()


def expect_preview_then_app(page: Page, url: str, heading: str, shot: str | None = None) -> None:
    """Opens url and sees the preview alone (the app's scripts held), then the app alone once they run."""
    scripts = HeldAppScripts(page)
    page.goto(url, wait_until="commit")
    expect(page.locator(PREVIEW).get_by_role("heading", name=heading)).to_be_visible(timeout=SETTLE_MS)
    expect(page.locator(PREVIEW).get_by_text(STORED_AGE)).to_be_visible()
    if shot:
        screenshot(page, shot)
    scripts.release()
    expect(page.locator('[data-testid="stMetric"]').filter(has_text="Score")).to_be_visible(timeout=SETTLE_MS)
    expect(page.locator(PREVIEW)).to_have_count(0)
    expect(page.get_by_role("heading", name=heading)).to_have_count(1)


def test_the_demo_health_page_is_drawn_first_then_handed_to_the_app(browser, start_app):
    app = start_app()
    first = browser.new_page(viewport={"width": 1440, "height": 1200})
    first.goto(app.url)  # the watcher's first run is stored by now, or this visit stores one
    expect(first.locator('[data-testid="stMetric"]').filter(has_text="Score")).to_be_visible(timeout=SETTLE_MS)
    first.context.close()

    context = browser.new_context(viewport={"width": 1440, "height": 1200})
    page = context.new_page()
    problems: list[str] = []  # uncaught script errors (this machine has no network: failed fetches are expected)
    page.on("pageerror", lambda error: problems.append(str(error)))
    expect_preview_then_app(page, app.url, "Health · Demo production", shot="health_preview")
    settle(page)
    assert_page_sound(page)
    choose(page, "Findings")  # the app took over and answers
    expect(page.get_by_role("heading", name="Firing now")).to_be_visible(timeout=SETTLE_MS)
    assert problems == []
    context.close()


def test_only_a_signed_in_browser_gets_the_preview_of_a_real_deployment(browser, start_app, simulator):
    app = start_app({"MMDASH_PRODUCTION__MATTERMOST__URL": simulator.url, "MMDASH_SESSION_KEY": SESSION_KEY})
    assert "mmdash-preview" not in httpx.get(f"{app.url}/?env=production", timeout=30).text
    context = browser.new_context(viewport={"width": 1440, "height": 1200})
    page = context.new_page()
    page.goto(f"{app.url}/?env=production")
    sign_in_with_token(page, simulator.admin_token)
    expect_dashboard(page)  # its first visit collects and stores the run the preview draws

    tab = context.new_page()
    expect_preview_then_app(tab, f"{app.url}/?env=production", "Health · Production")
    cookies = {c["name"]: c["value"] for c in context.cookies()}
    assert "mmdash-preview" in httpx.get(f"{app.url}/health?env=production", cookies=cookies, timeout=30).text
    context.close()
    assert "mmdash-preview" not in httpx.get(f"{app.url}/health?env=production", timeout=30).text
