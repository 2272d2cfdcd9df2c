"""Real-browser fixtures: Debian's Chromium driven by Playwright, against the real app."""

import os
import shutil
from pathlib import Path

import pytest

from tests.servers.streamlit_app import ROOT, StreamlitApp

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


# Module scope, not session: Playwright's sync API keeps an event loop running in the main thread while it is
# open, and async tests that run after the browser tests need that thread free.
@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM):
        message = f"{CHROMIUM} is missing: install Debian's chromium package (make test does, as root)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 2200})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def start_app(tmp_path):
    apps: list[StreamlitApp] = []

    def start(env: dict[str, str] | None = None) -> StreamlitApp:
        app = StreamlitApp(env or {}, tmp_path)
        apps.append(app)
        return app

    yield start
    for app in apps:
        app.stop()


def screenshot(page, name: str, height: int | None = None) -> Path:
    """Save where people can look; MMDASH_README_SCREENSHOTS=1 also refreshes the README's pictures.

    Streamlit scrolls inside its main area, so a full-page capture misses content: short pages are taken
    with a shorter viewport instead.
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    viewport = page.viewport_size
    if height:
        page.set_viewport_size({"width": viewport["width"], "height": height})
    page.screenshot(path=str(path))
    if height:
        page.set_viewport_size(viewport)
    if os.environ.get("MMDASH_README_SCREENSHOTS") == "1":
        shutil.copy(path, ROOT / "docs" / "screenshots" / f"{name}.png")
    return path
