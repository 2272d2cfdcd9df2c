"""The real app in Chromium: sign in, open every page, no Streamlit exception, no empty main area."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.e2e
PAGES = {"Health": "Health · ", "Support packet": "Support packet", "Rollout": "Rollout", "Incidents": "Incidents"}
SETTLE_MS = 30_000
STORED_AGE = re.compile(r"^Collected \d+ (s|min) ago .* by ")  # the health page opens from the stored run


def settle(page: Page) -> None:
    """Wait until Streamlit has finished running the script."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=SETTLE_MS)


def assert_page_sound(page: Page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]').first.inner_text()
    main = page.locator('[data-testid="stMain"]').inner_text().strip()
    assert len(main) > 80, f"main area nearly empty: {main!r}"


def choose(page: Page, section: str) -> None:
    """Pick a section of the health page's view switcher."""
    page.locator('[data-testid="stButtonGroup"]').get_by_text(section, exact=True).click()
    settle(page)


def open_page(page: Page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title, exact=True).click()
    expect(page.get_by_role("heading", name=PAGES[title]).first).to_be_visible(timeout=SETTLE_MS)
    settle(page)


def test_demo_every_page_in_a_real_browser(page, start_app):
    app = start_app()
    page.goto(app.url)
    expect(page.get_by_role("heading", name="Health · Demo production")).to_be_visible(timeout=SETTLE_MS)
    expect(page.get_by_text(STORED_AGE).first).to_be_visible(timeout=SETTLE_MS)
    settle(page)
    expect(page.get_by_text("Demo mode")).to_be_visible()
    assert_page_sound(page)
    screenshot(page, "health")
    choose(page, "Usage")  # the usage charts need the live facts: their own view
    # Posts and active users per day from the API, peak hours from the demo's database.
    expect(page.locator('[data-testid="stPlotlyChart"]')).to_have_count(3, timeout=SETTLE_MS)
    page.locator(".js-plotly-plot").first.wait_for(state="visible", timeout=SETTLE_MS)
    assert_page_sound(page)
    page.get_by_role("heading", name="Usage review").scroll_into_view_if_needed()
    expect(page.get_by_text("Busiest channels (Mattermost's message counters)")).to_be_visible()
    screenshot(page, "health_usage_review")
    choose(page, "Metrics")  # the demo's Prometheus: a week backfilled, then live scrapes
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=SETTLE_MS)
    assert_page_sound(page)
    screenshot(page, "health_metrics")

    for title in ("Support packet", "Rollout", "Incidents"):
        open_page(page, title)
        expect(page.get_by_text("Demo mode")).to_be_visible()
        assert_page_sound(page)
        screenshot(page, title.lower().replace(" ", "_"), height=700)

    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Health", exact=True).click()
    expect(page.get_by_text(STORED_AGE).first).to_be_visible(timeout=SETTLE_MS)


def test_degraded_environment_in_the_browser(page, start_app):
    app = start_app()
    page.goto(app.url)
    expect(page.get_by_role("heading", name="Health · Demo production")).to_be_visible(timeout=SETTLE_MS)
    settle(page)
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').click()
    page.get_by_role("option", name="Demo staging").click()
    expect(page.get_by_role("heading", name="Health · Demo staging")).to_be_visible(timeout=SETTLE_MS)
    settle(page)
    assert_page_sound(page)
    screenshot(page, "health_degraded")
    choose(page, "Findings")
    expect(page.get_by_text(re.compile(r"^Cluster: \d+ warning"))).to_be_visible(timeout=SETTLE_MS)
    assert_page_sound(page)
    screenshot(page, "health_findings")
    choose(page, "Server, plugins and jobs")
    expect(page.get_by_text("different configuration hashes")).to_be_visible(timeout=SETTLE_MS)
    choose(page, "Directory, sign-on and search")
    expect(page.get_by_text("Largest Mattermost indexes")).to_be_visible(timeout=SETTLE_MS)
    assert_page_sound(page)
    screenshot(page, "health_directory_search")
    choose(page, "Database")  # the demo's PostgreSQL, neglected in staging (autovacuum off for posts)
    expect(page.get_by_text("Largest tables (row counts are PostgreSQL's estimates")).to_be_visible(
        timeout=SETTLE_MS)
    assert_page_sound(page)
    screenshot(page, "health_database")


def test_sign_in_against_a_configured_server(page, start_app, simulator):
    app = start_app({"MMDASH_PRODUCTION__MATTERMOST__URL": simulator.url})
    page.goto(app.url)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=SETTLE_MS)
    settle(page)
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 0
    screenshot(page, "sign_in", height=700)
    token = page.get_by_role("textbox", name="Personal access token")
    token.fill(simulator.user_token)
    page.get_by_role("button", name="Sign in", exact=True).first.click()
    expect(page.get_by_text("not a system admin")).to_be_visible(timeout=SETTLE_MS)
    token.fill(simulator.admin_token)
    page.get_by_role("button", name="Sign in", exact=True).first.click()
    expect(page.get_by_role("heading", name="Health · Production")).to_be_visible(timeout=SETTLE_MS)
    settle(page)
    assert_page_sound(page)
    for title in ("Support packet", "Rollout", "Incidents"):
        open_page(page, title)
        assert_page_sound(page)


def test_support_packet_generated_and_downloaded_in_the_browser(page, start_app, tmp_path):
    import json
    import zipfile

    app = start_app()
    page.goto(f"{app.url}/support_packet")
    expect(page.get_by_role("heading", name="Support packet")).to_be_visible(timeout=SETTLE_MS)
    settle(page)
    page.get_by_label("Describe the issue").fill("Uploads fail for everyone since 09:00 UTC")
    page.get_by_role("button", name="Generate support packet").click()
    expect(page.get_by_role("heading", name="Review before download")).to_be_visible(timeout=SETTLE_MS)
    settle(page)
    assert_page_sound(page)
    screenshot(page, "support_packet_review")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download support packet").click()
    path = tmp_path / "packet.zip"
    download.value.save_as(path)
    with zipfile.ZipFile(path) as archive:
        summary = json.loads(archive.read("summary.json"))
        assert {"manifest.json", "diagnostics.yaml", "sanitized_config.json"} <= set(archive.namelist())
    assert summary["form"]["issue"] == "Uploads fail for everyone since 09:00 UTC"
