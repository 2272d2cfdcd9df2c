"""The incidents page in Chromium on the demo: start an incident, run it, and read its timeline."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_browser import SETTLE_MS, assert_page_sound, choose, open_page, settle

pytestmark = pytest.mark.e2e


def test_start_run_and_review_an_incident_in_the_browser(page, start_app):
    app = start_app()
    page.goto(app.url)
    expect(page.get_by_role("heading", name="Health · Demo production")).to_be_visible(timeout=SETTLE_MS)
    settle(page)
    open_page(page, "Incidents")
    choose(page, "Start")
    page.get_by_label("Incident name").fill("Checkout is down")
    page.get_by_role("button", name="Start incident").click()
    settle(page)
    choose(page, "Active")
    expect(page.get_by_text("Checklist (this stage)")).to_be_visible(timeout=SETTLE_MS)
    page.locator('[data-testid="stMain"] [data-testid="stCheckbox"]').first.click()
    settle(page)
    expect(page.get_by_text("1/4", exact=True).first).to_be_visible(timeout=SETTLE_MS)
    assert_page_sound(page)
    screenshot(page, "incidents_active")

    choose(page, "Timelines")
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=SETTLE_MS)
    settle(page)
    assert_page_sound(page)
    screenshot(page, "incidents_timeline")

    choose(page, "Playbooks")
    expect(page.get_by_text("Major outage").first).to_be_visible(timeout=SETTLE_MS)
    assert_page_sound(page)
