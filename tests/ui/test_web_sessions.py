"""The sign-in cookie's logic against a real store (SQLite and PostgreSQL) and the simulator: signing, expiry,
revocation, the re-check with Mattermost, and the routes that set and clear the cookie."""

from __future__ import annotations

import logging
import shutil
from datetime import timedelta
from http.cookies import SimpleCookie

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from settings import EnvironmentSettings, MattermostSettings, load_settings
from store import Store, open_store
from store.tables import web_session_tickets
from store.tables import web_sessions as web_sessions_table
from store.utc import utc_now
from ui import web_sessions
from ui.web_sessions import Refused, Resumed, SessionKeys

KEYS = SessionKeys(b"k" * 32)
LASTS = timedelta(hours=12)


def production(url: str) -> EnvironmentSettings:
    return EnvironmentSettings(name="production", label="Production", mattermost=MattermostSettings(url=url))


def signed_in(store: Store, env: EnvironmentSettings, token: str, *, username: str = "ana", now=None,
              method: str = "token") -> tuple[str, str]:
    """Sign in as the page does, then redeem the ticket as the route does: (cookie name, cookie value)."""
    now = now or utc_now()
    ticket = web_sessions.hand_off(store, KEYS, env, username=username, email=None, method=method, token=token,
                                   now=now)
    made = web_sessions.start(store, KEYS, ticket, lasts=LASTS, now=now)
    assert made is not None
    return made


def test_a_cookie_is_bound_to_its_key_and_environment():
    cookie = KEYS.sign("production", "abc")
    assert KEYS.unsign("production", cookie) == "abc"
    assert KEYS.unsign("staging", cookie) is None
    assert SessionKeys(b"x" * 32).unsign("production", cookie) is None
    assert KEYS.unsign("production", "abd" + cookie[3:]) is None
    assert KEYS.unsign("production", cookie[:-1] + ("A" if cookie[-1] != "A" else "B")) is None
    for junk in ("", ".", "abc", ".sig", "a.b.c"):
        assert KEYS.unsign("production", junk) is None


def test_a_sealed_token_opens_only_with_its_own_id_and_key():
    sealed = KEYS.seal("session-1", "the-token")
    assert "the-token" not in sealed
    assert KEYS.unseal("session-1", sealed) == "the-token"
    assert KEYS.unseal("session-2", sealed) is None
    assert SessionKeys(b"x" * 32).unseal("session-1", sealed) is None
    assert KEYS.unseal("session-1", "not-fernet") is None


def test_a_sign_in_resumes_from_its_cookie_and_the_token_is_nowhere_but_sealed(store, simulator):
    env = production(simulator.url)
    name, cookie = signed_in(store, env, simulator.admin_token)
    assert name == "mmdash_session_production"
    assert simulator.admin_token not in cookie
    resumed = web_sessions.resume(store, KEYS, env, cookie, now=utc_now())
    assert isinstance(resumed, Resumed), resumed
    assert resumed.token == simulator.admin_token and resumed.session.grant.username == "ana"
    with store.reading() as conn:
        stored = repr([tuple(r) for t in (web_session_tickets, web_sessions_table) for r in conn.execute(t.select())])
    assert simulator.admin_token not in stored and resumed.session_id not in stored


def test_a_ticket_works_once_and_briefly(store, simulator):
    env = production(simulator.url)
    now = utc_now()
    ticket = web_sessions.hand_off(store, KEYS, env, username="ana", email=None, method="token",
                                   token=simulator.admin_token, now=now)
    assert web_sessions.start(store, KEYS, ticket, lasts=LASTS, now=now + timedelta(seconds=61)) is None
    ticket = web_sessions.hand_off(store, KEYS, env, username="ana", email=None, method="token",
                                   token=simulator.admin_token, now=now)
    assert web_sessions.start(store, KEYS, ticket, lasts=LASTS, now=now) is not None
    assert web_sessions.start(store, KEYS, ticket, lasts=LASTS, now=now) is None
    # A ticket sealed under another key (made before a restart without session_key) makes no session.
    ticket = web_sessions.hand_off(store, SessionKeys(b"x" * 32), env, username="ana", email=None, method="token",
                                   token=simulator.admin_token, now=now)
    assert web_sessions.start(store, KEYS, ticket, lasts=LASTS, now=now) is None


def test_tampered_forged_and_unknown_cookies_are_refused_with_a_sentence(store, simulator):
    env = production(simulator.url)
    _, cookie = signed_in(store, env, simulator.admin_token)
    session_id, _, signature = cookie.rpartition(".")
    forged_elsewhere = SessionKeys(b"x" * 32).sign("production", session_id)
    for bad in (session_id[:-1] + "x." + signature, forged_elsewhere, "garbage", KEYS.sign("staging", session_id)):
        refused = web_sessions.resume(store, KEYS, env, bad, now=utc_now())
        assert isinstance(refused, Refused) and "could not be verified" in refused.reason
    unknown = web_sessions.resume(store, KEYS, env, KEYS.sign("production", "never-made"), now=utc_now())
    assert isinstance(unknown, Refused) and "not known to this dashboard" in unknown.reason


def test_an_expired_sign_in_says_when_it_expired(store, simulator):
    env = production(simulator.url)
    now = utc_now()
    _, cookie = signed_in(store, env, simulator.admin_token, now=now)
    assert isinstance(web_sessions.resume(store, KEYS, env, cookie, now=now + LASTS - timedelta(minutes=1)),
                      Resumed)
    refused = web_sessions.resume(store, KEYS, env, cookie, now=now + LASTS)
    assert isinstance(refused, Refused)
    assert refused.reason.startswith("Your sign-in as @ana expired at ") and "lasts 12 h" in refused.reason


def test_signing_out_ends_the_session_in_every_tab_and_is_audited(store, simulator):
    env = production(simulator.url)
    _, cookie = signed_in(store, env, simulator.admin_token)
    resumed = web_sessions.resume(store, KEYS, env, cookie, now=utc_now())
    assert web_sessions.keep(store, env, resumed.session_id, resumed.token, now=utc_now()) is None
    assert web_sessions.end(store, resumed.session_id, by=None, reason=web_sessions.SIGNED_OUT, now=utc_now())
    assert web_sessions.end(store, resumed.session_id, by=None, reason=web_sessions.SIGNED_OUT, now=utc_now()) is None
    refused = web_sessions.keep(store, env, resumed.session_id, resumed.token, now=utc_now())
    assert refused is not None and refused.reason.startswith("You signed out as @ana at ")
    assert isinstance(web_sessions.resume(store, KEYS, env, cookie, now=utc_now()), Refused)
    [entry] = store.audit(action="sign_out")
    assert (entry.actor, entry.environment, entry.details["method"]) == ("ana", "production", "token")


def test_a_sign_in_made_on_another_mattermost_is_refused(store, simulator):
    _, cookie = signed_in(store, production(simulator.url), simulator.admin_token)
    refused = web_sessions.resume(store, KEYS, production("https://chat.example.com"), cookie, now=utc_now())
    assert isinstance(refused, Refused) and f"made on {simulator.url}" in refused.reason


def test_mattermost_is_asked_again_after_a_few_minutes(store, simulator):
    env = production(simulator.url)
    now = utc_now()
    _, cookie = signed_in(store, env, simulator.admin_token, now=now)
    simulator.faults.set("/api/v4/users/me", status=401)  # what a revoked token gets
    soon = now + web_sessions.RECHECK_AFTER - timedelta(seconds=1)
    assert isinstance(web_sessions.resume(store, KEYS, env, cookie, now=soon), Resumed)  # not asked yet
    simulator.faults.set("/api/v4/users/me", status=502)
    later = now + web_sessions.RECHECK_AFTER
    assert isinstance(web_sessions.resume(store, KEYS, env, cookie, now=later), Resumed)  # down: no verdict
    simulator.faults.set("/api/v4/users/me", status=401)
    assert isinstance(web_sessions.resume(store, KEYS, env, cookie, now=later + timedelta(minutes=1)), Resumed)
    refused = web_sessions.resume(store, KEYS, env, cookie, now=later + web_sessions.RECHECK_AFTER)
    assert isinstance(refused, Refused) and "rejected the token" in refused.reason
    simulator.faults.clear()
    again = web_sessions.resume(store, KEYS, env, cookie, now=later + web_sessions.RECHECK_AFTER)
    assert isinstance(again, Refused) and "was ended at" in again.reason  # revoked, not just refused once
    [entry] = store.audit(action="session_ended")
    assert entry.actor == "ana" and entry.details["by"] == "mattermost"


def test_a_token_that_no_longer_belongs_to_an_admin_loses_access(store, simulator):
    env = production(simulator.url)
    now = utc_now()
    _, cookie = signed_in(store, env, simulator.user_token, username=simulator.user_username, now=now)
    refused = web_sessions.resume(store, KEYS, env, cookie, now=now + web_sessions.RECHECK_AFTER)
    assert isinstance(refused, Refused) and "not a system admin" in refused.reason


def test_a_store_that_cannot_be_read_refuses_the_cookie_but_keeps_a_tab(tmp_path, simulator):
    env = production(simulator.url)
    path = tmp_path / "store.sqlite3"
    store = open_store(None, sqlite_path=path)
    _, cookie = signed_in(store, env, simulator.admin_token)
    resumed = web_sessions.resume(store, KEYS, env, cookie, now=utc_now())
    store.close()
    shutil.move(path, tmp_path / "moved.sqlite3")
    path.mkdir()  # the store's file is now a folder: every connection fails
    refused = web_sessions.resume(store, KEYS, env, cookie, now=utc_now())
    assert isinstance(refused, Refused) and "the store is unavailable" in refused.reason
    assert web_sessions.keep(store, env, resumed.session_id, resumed.token, now=utc_now()) is None
    store.close()


def test_without_a_session_key_one_key_per_process_is_used_and_said_once(monkeypatch, tmp_path, caplog):
    settings = load_settings(environ={}, secrets_path=tmp_path / "none.toml")
    monkeypatch.setattr(web_sessions, "_warned", type(web_sessions._warned)())
    with caplog.at_level(logging.WARNING, logger="mmdash.web_sessions"):
        first, second = web_sessions.keys_for(settings), web_sessions.keys_for(settings)
    assert second.unsign("production", first.sign("production", "id")) == "id"
    assert [r.message for r in caplog.records if "MMDASH_SESSION_KEY is not set" in r.message] != []
    assert len(caplog.records) == 1
    configured = settings.model_copy(update={"session_key": SecretStr("s" * 32)})
    assert web_sessions.keys_for(configured).unsign("production", first.sign("production", "id")) is None


# -- the routes ---------------------------------------------------------------------------------------------


@pytest.fixture
async def served(monkeypatch, route_environment):
    """The two routes as serve.py mounts them, with settings from the environment as in production."""
    monkeypatch.setenv("MMDASH_SESSION_HOURS", "2")
    monkeypatch.setattr(web_sessions, "_serving", False)
    store = open_store(None, sqlite_path=route_environment)
    transport = httpx.ASGITransport(app=Starlette(routes=web_sessions.routes()))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client, store
    store.close()


def ticket_for(store: Store, token: str) -> str:
    env = load_settings().environment("production")
    return web_sessions.hand_off(store, KEYS, env, username="ana", email=None, method="token", token=token,
                                 now=utc_now())


def set_cookie(response) -> SimpleCookie:
    parsed = SimpleCookie()
    parsed.load(response.headers["set-cookie"])
    return parsed


async def test_the_route_sets_an_http_only_cookie_and_sends_the_browser_back(served, simulator):
    client, store = served
    assert web_sessions.serving()
    url = web_sessions.start_url(ticket_for(store, simulator.admin_token), "/rollout?env=production")
    response = await client.get(url, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/rollout?env=production"
    assert response.headers["cache-control"] == "no-store"
    morsel = set_cookie(response)["mmdash_session_production"]
    assert morsel["httponly"] and morsel["samesite"] == "lax" and morsel["path"] == "/"
    assert morsel["max-age"] == str(2 * 3600) and not morsel["secure"]
    assert simulator.admin_token not in response.headers["set-cookie"]
    env = load_settings().environment("production")
    assert isinstance(web_sessions.resume(store, KEYS, env, morsel.value, now=utc_now()), Resumed)
    reused = await client.get(web_sessions.start_url("used-or-made-up", "/"), follow_redirects=False)
    assert reused.status_code == 400 and "expired or was used already" in reused.text


async def test_the_cookie_is_secure_behind_https_and_next_stays_on_this_site(served, simulator):
    client, store = served
    for next_path in ("//evil.example.com/x", "https://evil.example.com", "/\\evil.example.com", "relative"):
        url = web_sessions.start_url(ticket_for(store, simulator.admin_token), next_path)
        response = await client.get(url, headers={"X-Forwarded-Proto": "https"}, follow_redirects=False)
        assert response.headers["location"] == "/", next_path
        assert set_cookie(response)["mmdash_session_production"]["secure"]


async def test_a_sign_in_link_opened_from_another_site_is_not_used(served, simulator):
    client, store = served
    ticket = ticket_for(store, simulator.admin_token)
    response = await client.get(web_sessions.start_url(ticket, "/"), headers={"Sec-Fetch-Site": "cross-site"},
                                follow_redirects=False)
    assert response.status_code == 403 and "set-cookie" not in response.headers
    assert (await client.get(web_sessions.start_url(ticket, "/"), headers={"Sec-Fetch-Site": "same-origin"},
                             follow_redirects=False)).status_code == 303


async def test_the_sign_out_route_ends_the_session_and_clears_the_cookie(served, simulator):
    client, store = served
    await client.get(web_sessions.start_url(ticket_for(store, simulator.admin_token), "/"), follow_redirects=False)
    cookie = client.cookies["mmdash_session_production"]
    response = await client.get(web_sessions.sign_out_url("/?env=production"), follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/?env=production"
    morsel = set_cookie(response)["mmdash_session_production"]
    assert morsel.value == "" and morsel["max-age"] == "0"
    env = load_settings().environment("production")
    refused = web_sessions.resume(store, KEYS, env, cookie, now=utc_now())
    assert isinstance(refused, Refused) and "signed out" in refused.reason
    assert [e.actor for e in store.audit(action="sign_out")] == ["ana"]
