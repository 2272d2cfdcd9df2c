"""In Chromium against the real app (serve.py) and the simulator: a sign-in with a personal access token survives a
reload and a new tab through an HttpOnly cookie without the token in it, ends with sign-out, and a tampered cookie
shows the sign-in."""

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_browser import SETTLE_MS, assert_page_sound, settle

pytestmark = pytest.mark.e2e
COOKIE = "mmdash_session_production"
SESSION_KEY = "a-session-key-for-the-browser-test-0123456789"


def sign_in_with_token(page: Page, token: str) -> None:
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=SETTLE_MS)
    page.get_by_role("textbox", name="Personal access token").fill(token)
    page.get_by_role("button", name="Sign in", exact=True).first.click()


def expect_dashboard(page: Page) -> None:
    expect(page.get_by_role("heading", name="Health · Production")).to_be_visible(timeout=SETTLE_MS)
    # The sign-in redirect reloads the page: wait for the health page's own figures, not the script state of the
    # page before the redirect.
    expect(page.locator('[data-testid="stMetric"]').first).to_be_visible(timeout=SETTLE_MS)
    settle(page)
    assert_page_sound(page)


def expect_sign_in(page: Page) -> None:
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=SETTLE_MS)
    settle(page)
    assert page.get_by_role("heading", name="Health · Production").count() == 0


def session_cookies(page: Page) -> list[dict]:
    return [c for c in page.context.cookies() if c["name"].startswith("mmdash_session_")]


def test_a_token_sign_in_survives_reloads_and_new_tabs_until_sign_out(page, start_app, simulator):
    app = start_app({"MMDASH_PRODUCTION__MATTERMOST__URL": simulator.url, "MMDASH_SESSION_KEY": SESSION_KEY})
    page.goto(f"{app.url}/?env=production")
    sign_in_with_token(page, simulator.admin_token)
    expect_dashboard(page)

    [cookie] = session_cookies(page)
    assert cookie["name"] == COOKIE and cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/"
    assert not cookie["secure"]  # plain http on loopback; https or X-Forwarded-Proto: https makes it Secure
    assert simulator.admin_token not in cookie["value"]
    assert page.evaluate("document.cookie").find(COOKIE) == -1  # the page's scripts cannot read it

    page.reload()
    expect_dashboard(page)
    expect(page.get_by_text(f"Signed in as @{simulator.admin_username} (token)")).to_be_visible()

    tab = page.context.new_page()
    tab.goto(f"{app.url}/?env=production")
    expect_dashboard(tab)
    tab.close()

    page.get_by_role("button", name="Sign out").click()
    expect_sign_in(page)
    assert session_cookies(page) == []
    page.reload()
    expect_sign_in(page)
    assert page.get_by_role("alert").count() == 0  # a plain sign-in: the cookie is gone, not just refused


def test_a_tampered_cookie_shows_the_sign_in_with_a_sentence(page, start_app, simulator):
    app = start_app({"MMDASH_PRODUCTION__MATTERMOST__URL": simulator.url, "MMDASH_SESSION_KEY": SESSION_KEY})
    page.goto(app.url)
    sign_in_with_token(page, simulator.admin_token)
    expect_dashboard(page)
    [cookie] = session_cookies(page)
    session_id, _, signature = cookie["value"].rpartition(".")
    tampered = session_id[:-1] + ("A" if session_id[-1] != "A" else "B") + "." + signature
    page.context.add_cookies([{**cookie, "value": tampered}])
    page.reload()
    expect_sign_in(page)
    expect(page.get_by_text("Your saved sign-in could not be verified")).to_be_visible()

    # Signed in again, the new cookie replaces the tampered one, and a link to another page opens signed in.
    sign_in_with_token(page, simulator.admin_token)
    expect_dashboard(page)
    assert session_cookies(page)[0]["value"] != tampered
    page.goto(f"{app.url}/fleet?env=production")
    expect(page.get_by_role("heading", name="Fleet")).to_be_visible(timeout=SETTLE_MS)
    settle(page)
    assert_page_sound(page)
