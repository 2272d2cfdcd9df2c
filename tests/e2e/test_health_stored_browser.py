"""The demo in Chromium: the health page from the stored run, a finding muted, an incident started from a critical
finding, and the fleet page linking back to a health page. Screenshots go to test-artifacts/screenshots-issue12."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from health.lifecycle import fingerprint
from tests.e2e.conftest import ROOT
from tests.e2e.test_browser import SETTLE_MS, STORED_AGE, assert_page_sound, choose, settle

pytestmark = pytest.mark.e2e
SHOTS = ROOT / "test-artifacts" / "screenshots-issue12"
# The degraded demo (staging) fires both of these.
WARNING_CODE, CRITICAL_CODE = "LDAP_SKIP_CERT", "FILESTORE_UNREACHABLE"


def shot(page: Page, name: str, near: Locator | None = None) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    if near is not None:
        near.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def card(page: Page, code: str) -> Locator:
    return page.locator(f".st-key-finding-{fingerprint(code, None)}")


def popover_body(page: Page) -> Locator:
    return page.locator('[data-testid="stPopoverBody"]').last


def test_health_findings_actions_and_fleet_in_a_real_browser(page: Page, start_app):
    app = start_app()
    page.goto(app.url)
    expect(page.get_by_role("heading", name="Health · Demo production")).to_be_visible(timeout=SETTLE_MS)
    expect(page.get_by_text(STORED_AGE).first).to_be_visible(timeout=SETTLE_MS)
    settle(page)
    assert_page_sound(page)
    expect(page.locator('[data-testid="stMetric"]').filter(has_text="Registered users")).to_be_visible()
    shot(page, "health_default")

    page.goto(f"{app.url}/health?env=staging")  # the fleet's links
    expect(page.get_by_role("heading", name="Health · Demo staging")).to_be_visible(timeout=SETTLE_MS)
    settle(page)
    choose(page, "Findings")
    expect(page.get_by_role("heading", name="Firing now")).to_be_visible(timeout=SETTLE_MS)
    warning = card(page, WARNING_CODE)
    expect(warning).to_contain_text("First seen")
    warning.get_by_role("button", name=re.compile("Mute or acknowledge")).click()
    body = popover_body(page)
    body.get_by_role("textbox", name="Why").fill("certificate rollout on Thursday")
    body.get_by_role("button", name="Save").click()
    settle(page)
    expect(warning.locator('[data-testid="stAlertContentInfo"] p')).to_have_text(
        re.compile(r"^Muted by @\w+ .* until .*: certificate rollout on Thursday$"), timeout=SETTLE_MS)
    page.keyboard.press("Escape")
    assert_page_sound(page)
    shot(page, "health_finding_muted", near=warning)

    critical = card(page, CRITICAL_CODE)
    critical.get_by_role("button", name=re.compile("Start incident")).click()
    body = popover_body(page)
    expect(body.get_by_role("textbox", name="Incident name")).to_have_value(re.compile("file store"), timeout=SETTLE_MS)
    shot(page, "health_incident_start", near=critical)
    body.get_by_role("button", name="Start incident").click()
    settle(page)
    expect(critical.get_by_text(re.compile(r"^Incident .* started in ~"))).to_be_visible(timeout=SETTLE_MS)
    link = critical.get_by_role("link", name=re.compile(r"^Open ~.* in Mattermost"))
    expect(link).to_have_attribute("href", re.compile(r"^http://127\.0\.0\.1:\d+/.+/channels/.+"))
    page.keyboard.press("Escape")
    shot(page, "health_incident_started", near=critical)

    open_page_fleet(page)
    table = page.locator('[data-testid="stDataFrame"]')
    expect(table).to_be_visible(timeout=SETTLE_MS)
    assert_page_sound(page)
    shot(page, "fleet")


def open_page_fleet(page: Page) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Fleet", exact=True).click()
    expect(page.get_by_role("heading", name="Fleet")).to_be_visible(timeout=SETTLE_MS)
    settle(page)


