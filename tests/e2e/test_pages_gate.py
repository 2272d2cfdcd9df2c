"""Nothing under pages/ renders or runs before sign-in, in a real browser against a freshly started server.

Streamlit discovers a pages/ folder beside the main script and, until the first st.navigation call of the
process, runs a requested page's file directly (MPA v1), skipping app.py and its sign-in gate. So each test
starts its own server and sends the very first request of the process straight to a page's URL. A probe page
placed in pages/ for the test writes a file if it ever runs.
"""


import pytest
from playwright.sync_api import expect

from tests.servers.streamlit_app import ROOT

pytestmark = pytest.mark.e2e
SETTLE_MS = 30_000
PAGE_PATHS = ["support_packet", "rollout", "fleet", "incidents", "packet_analysis", "health-default", "health"]
PAGE_HEADINGS = ["Support packet", "Rollout", "Fleet", "Incidents", "Packet analysis", "Health"]


@pytest.fixture
def probe_page(tmp_path):
    marker = tmp_path / "probe-ran"
    probe = ROOT / "pages" / "zz_gate_probe.py"
    probe.write_text(f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran')\n"
                     "import streamlit as st\nst.title('Probe page')\n")
    try:
        yield marker
    finally:
        probe.unlink(missing_ok=True)


def _only_sign_in(page) -> None:
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=SETTLE_MS)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=SETTLE_MS)
    headings = [h.strip() for h in page.locator("h1").all_inner_texts()]
    assert not any(h.startswith(name) for h in headings for name in PAGE_HEADINGS), headings
    assert page.locator('[data-testid="stSidebarNav"]').count() == 0


@pytest.mark.parametrize("path", ["support_packet", "zz_gate_probe"])
def test_the_first_request_of_a_fresh_server_straight_to_a_page_meets_the_sign_in(
        path, page, start_app, simulator, probe_page):
    app = start_app({"MMDASH_PRODUCTION__MATTERMOST__URL": simulator.url})
    page.goto(f"{app.url}/{path}")
    _only_sign_in(page)
    assert not probe_page.exists(), "a file under pages/ ran before sign-in"


def test_every_page_url_meets_the_sign_in_and_no_page_file_runs(page, start_app, simulator, probe_page):
    app = start_app({"MMDASH_PRODUCTION__MATTERMOST__URL": simulator.url})
    for path in [*PAGE_PATHS, "zz_gate_probe"]:
        page.goto(f"{app.url}/{path}")
        _only_sign_in(page)
    assert not probe_page.exists(), "a file under pages/ ran before sign-in"
