"""The rollout page in Chromium: every view renders, and the review's HTML report opens offline on its own."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_browser import SETTLE_MS, assert_page_sound, choose, open_page, settle

pytestmark = pytest.mark.e2e
# Each view and a text only it shows, so the test waits for the view itself, not just any finished run.
VIEWS = {"Environments": "Per section, percent done", "Schedule": "Planned finish",
         "Team and sizing": "Hardware sizing", "Review meeting": "Open health findings",
         "Configuration drift": "Settings compared", "Checklist": "Needs attention"}


def test_every_rollout_view_and_the_offline_review_report(page, start_app, tmp_path):
    app = start_app()
    page.goto(app.url)
    expect(page.get_by_role("heading", name="Health · Demo production")).to_be_visible(timeout=SETTLE_MS)
    settle(page)
    open_page(page, "Rollout")
    for view, marker in VIEWS.items():
        choose(page, view)
        expect(page.get_by_text(marker).first).to_be_visible(timeout=SETTLE_MS)
        settle(page)
        assert_page_sound(page)
        screenshot(page, "rollout_" + view.lower().replace(" ", "_"))

    choose(page, "Review meeting")
    with page.expect_download() as caught:
        page.get_by_role("button", name="HTML report").click()
    report = tmp_path / "review.html"
    caught.value.save_as(report)

    requests: list[str] = []
    offline = page.context.browser.new_context()
    viewer = offline.new_page()
    viewer.on("request", lambda request: requests.append(request.url))
    viewer.goto(report.as_uri())
    expect(viewer.get_by_role("heading", name="Review · Demo production")).to_be_visible()
    expect(viewer.get_by_role("heading", name="Blockers", exact=False).first).to_be_visible()
    offline.close()
    assert requests == [report.as_uri()], f"the report fetched more than itself: {requests}"
