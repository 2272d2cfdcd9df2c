"""The packet analysis page in Chromium: upload a support packet, see its findings, nodes and log insights."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_browser import SETTLE_MS, assert_page_sound, settle
from tests.pages.test_packet_analysis import write_degraded_packet

pytestmark = pytest.mark.e2e


def test_upload_a_packet_and_read_it(page, start_app, tmp_path):
    packet = write_degraded_packet(tmp_path / "mm_support_packet_degraded.zip")
    app = start_app()
    page.set_viewport_size({"width": 1400, "height": 3400})
    page.goto(app.url)
    settle(page)
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Packet analysis", exact=True).click()
    expect(page.get_by_role("heading", name="Packet analysis")).to_be_visible(timeout=SETTLE_MS)
    expect(page.get_by_text("mmctl system supportpacket")).to_be_visible()

    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(packet))
    expect(page.get_by_role("heading", name="Nodes side by side")).to_be_visible(timeout=SETTLE_MS)
    page.locator(".js-plotly-plot").first.wait_for(state="visible", timeout=SETTLE_MS)
    settle(page)
    assert_page_sound(page)
    main = page.locator('[data-testid="stMain"]')
    for text in ("Health", "Errors and warnings over time", "Top warning and error messages",
                 "Plugin panics and restarts", "Lines around the problem time"):
        expect(main.get_by_text(text, exact=True)).to_be_visible()
    for node in ("mm-1", "mm-2", "mm-3"):
        expect(main.get_by_role("tab", name=f"{node} · mattermost.log")).to_be_visible()
    # Tables and code blocks draw a moment after the script ends.
    main.locator('[data-testid="stDataFrame"] canvas').first.wait_for(state="visible", timeout=SETTLE_MS)
    page.wait_for_timeout(1500)
    screenshot(page, "packet_analysis")
