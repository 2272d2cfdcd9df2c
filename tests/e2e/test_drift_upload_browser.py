"""Configuration drift in Chromium: a config.json nested 100,000 deep or holding a 5-million-digit number is one
sentence saying what is wrong and the limit, never a traceback; a real config uploaded afterwards is compared."""

import codecs
import json

import pytest
from playwright.sync_api import Page, expect

from simulator.scenarios import build_scenario
from simulator.server_config import build_config
from tests.e2e.conftest import screenshot
from tests.e2e.test_browser import SETTLE_MS, choose, open_page, settle
from tests.servers.streamlit_app import ROOT

pytestmark = pytest.mark.e2e
# What a traceback on the page would give away: the word itself and where the code lives on the server.
LEAKS = ("Traceback", str(ROOT), "site-packages", ".venv", 'File "')


def upload_left(page: Page, path) -> None:
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="Left: config.json")
    uploader.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    settle(page)


def assert_no_traceback(page: Page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    shown = page.locator("body").inner_text()
    html = page.content()
    for leak in LEAKS:
        assert leak not in shown and leak not in html, f"{leak!r} is on the page"
    assert "Something went wrong on this page" not in shown  # the parser said why, not the page's last resort


def test_uploads_that_are_no_config_get_a_sentence_and_no_traceback(page, start_app, tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    digits = tmp_path / "digits.json"
    digits.write_bytes(b'{"SqlSettings": {"MaxIdleConns": ' + b"9" * 5_000_000 + b"}}")
    real = tmp_path / "config.json"
    real.write_bytes(codecs.BOM_UTF8 + json.dumps(build_config(build_scenario("healthy")), indent=2).encode())

    app = start_app()
    page.goto(app.url)
    expect(page.get_by_role("heading", name="Health · Demo production")).to_be_visible(timeout=SETTLE_MS)
    settle(page)
    open_page(page, "Rollout")
    choose(page, "Configuration drift")
    page.locator('[data-testid="stRadio"]').filter(has_text="Left: read from").get_by_text(
        "Upload a config.json").click()
    settle(page)

    upload_left(page, deep)
    refused = page.get_by_text("deep.json nests 100,000 levels deep, and files nested more than 64 levels are not "
                               "read")
    expect(refused).to_be_visible(timeout=SETTLE_MS)
    assert_no_traceback(page)
    refused.scroll_into_view_if_needed()
    screenshot(page, "drift_upload_too_deep")

    upload_left(page, digits)
    expect(page.get_by_text("digits.json holds a number 5,000,000 digits long, and numbers of more than 4,300 "
                            "digits are not read")).to_be_visible(timeout=SETTLE_MS)
    assert_no_traceback(page)

    upload_left(page, real)
    expect(page.get_by_text("Settings compared")).to_be_visible(timeout=SETTLE_MS)
    assert_no_traceback(page)
