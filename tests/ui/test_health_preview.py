"""The server-drawn health preview (ui/health_preview.py) against a real store, a run the watcher recorded from the
simulator, and real sign-in cookies: who gets it, what it says, and that the app's page still loads around it."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from health import history, stored_view, watch_run
from health.watcher import collect_environment
from settings import load_settings
from store import open_store
from store.utc import utc_now
from ui import health_preview, web_sessions
from ui.web_sessions import SessionKeys

KEYS = SessionKeys(b"k" * 32)  # what MMDASH_SESSION_KEY below gives
LABEL = 'Prod <script>alert("x")</script> & co'


@pytest.fixture
async def served(monkeypatch, route_environment, simulator):
    """GET / and /health as serve.py mounts them, settings from the environment, one run stored for production."""
    monkeypatch.setenv("MMDASH_PRODUCTION__LABEL", LABEL)
    monkeypatch.setenv("MMDASH_STAGING__MATTERMOST__URL", simulator.url)
    settings = load_settings()
    store = open_store(None, sqlite_path=route_environment)
    env = settings.environment("production")
    with_token = env.model_copy(update={"mattermost": env.mattermost.model_copy(
        update={"token": SecretStr(simulator.admin_token)})})
    snapshot = await collect_environment(with_token, 10)
    watch_run.record(store, settings, env, snapshot, slot=snapshot.collected_at, holder="host-1:7")
    transport = httpx.ASGITransport(app=Starlette(routes=health_preview.routes()))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client, store, simulator
    store.close()


def cookie_for(store, simulator, environment: str = "production") -> tuple[str, str]:
    env = load_settings().environment(environment)
    ticket = web_sessions.hand_off(store, KEYS, env, username="ana", email=None, method="token",
                                   token=simulator.admin_token, now=utc_now())
    made = web_sessions.start(store, KEYS, ticket, lasts=timedelta(hours=2), now=utc_now())
    assert made is not None
    return made


def session_id_of(value: str) -> str:
    return KEYS.unsign("production", value) or ""


async def test_a_signed_in_admin_gets_the_stored_verdict_drawn_into_the_app_page(served):
    client, store, simulator = served
    name, value = cookie_for(store, simulator)
    response = await client.get("/", cookies={name: value})
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    page = response.text
    stored = history.latest(store, "production")
    findings = stored_view.findings_of(stored)
    verdict = stored_view.verdict_of(stored, findings)
    assert 'id="mmdash-preview"' in page and page.index('id="mmdash-preview"') < page.index('<div id="root">')
    assert "<h1>Health · Prod &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co</h1>" in page
    assert "<script>alert" not in page  # the label is escaped, never markup
    assert f"<strong>{verdict.headline}</strong>" in page
    assert re.search(r"Collected \d+ s ago \(.* UTC\) by watcher host-1:7", page)
    for label in ("Score", "Critical firing", "Warning firing", "Info firing", "Unknown", "Version"):
        assert f'<div class="pv-label">{label}</div>' in page
    assert f'<div class="pv-value">{verdict.score}/100</div>' in page
    shown, _ = stored_view.most_urgent(findings)
    assert shown and all(finding.title in page for finding in shown)
    assert "<title>Mattermost diagnostics</title>" in page


async def test_the_app_still_loads_every_asset_of_its_own_page(served):
    """Streamlit's index.html names its stylesheet, entry script and module preloads; the preview page loads each
    of them once it has painted, and none of them from the head any more."""
    client, store, simulator = served
    name, value = cookie_for(store, simulator)
    page = (await client.get("/health", cookies={name: value})).text
    index = health_preview.streamlit_index()
    assets = re.findall(r'(?:href|src)="(\./static/(?:js|css)/[^"]+)"', index)
    assert len(assets) > 10
    head, body = page.split("<body>", 1)
    for asset in assets:
        assert asset not in head and f'"{asset}"' in body, asset
    assert '<noscript>' in body  # the rest of Streamlit's page is untouched


async def test_anyone_without_a_standing_sign_in_gets_the_plain_app_page(served):
    client, store, simulator = served
    plain = health_preview.streamlit_index()
    name, value = cookie_for(store, simulator)
    assert (await client.get("/")).text == plain  # no cookie
    assert (await client.get("/", cookies={name: value[:-2] + "xx"})).text == plain  # tampered
    staging_name, staging_value = cookie_for(store, simulator, "staging")
    assert (await client.get("/", cookies={name: staging_value})).text == plain  # another environment's
    # Staging's own cookie, but nothing stored for staging: the app collects, as without a preview.
    assert (await client.get("/?env=staging", cookies={staging_name: staging_value})).text == plain
    web_sessions.end(store, session_id_of(value), by=None, reason=web_sessions.SIGNED_OUT, now=utc_now())
    assert (await client.get("/", cookies={name: value})).text == plain  # signed out


async def test_a_sign_in_mattermost_has_not_confirmed_lately_waits_for_the_app(served):
    """The preview never asks Mattermost: past RECHECK_AFTER only the app's gate (which asks) may let it in."""
    client, store, simulator = served
    name, value = cookie_for(store, simulator)
    from store import web_sessions as rows
    from store.tables import web_sessions as table

    with store.writing() as conn:
        conn.execute(table.update().where(table.c.id_hash == rows.hash_id(session_id_of(value))).values(
            checked_at=utc_now() - web_sessions.RECHECK_AFTER - timedelta(seconds=1)))
    assert (await client.get("/", cookies={name: value})).text == health_preview.streamlit_index()


async def test_an_unreadable_store_or_a_broken_preview_still_serves_the_app(served, monkeypatch):
    client, store, simulator = served
    name, value = cookie_for(store, simulator)

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug in the preview")

    monkeypatch.setattr(health_preview, "render", broken)
    response = await client.get("/", cookies={name: value})
    assert response.status_code == 200 and response.text == health_preview.streamlit_index()
    monkeypatch.setenv("MMDASH_SQLITE_PATH", "/proc/no/such/folder/store.sqlite3")
    monkeypatch.setattr(web_sessions, "_stores", {})
    assert (await client.get("/", cookies={name: value})).text == health_preview.streamlit_index()


def test_the_hand_off_script_cannot_be_closed_by_what_it_carries():
    carried = health_preview._hand_off([{"tag": "script", "src": "./x</script><script>alert(1)//"}])
    assert carried.count("</script>") == 1 and carried.endswith("</script>")


def test_inline_marks_are_the_only_markup():
    assert health_preview._text("**Bold** <b>x</b> `code`") == \
        "<strong>Bold</strong> &lt;b&gt;x&lt;/b&gt; <code>code</code>"

