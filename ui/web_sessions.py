"""Sign-ins that survive reloads and new tabs: a signed, expiring, HttpOnly cookie per environment, backed by the store.

A Streamlit script can read cookies but not set one its page's JavaScript cannot read, so the cookie is set by an
HTTP route of ours (mounted by serve.py):

1. The sign-in page checks the token with Mattermost, then stores a one-time ticket (a minute long) and sends the
   browser to ``GET /auth/session?ticket=...&next=...``.
2. That route takes the ticket (once), opens a session row, sets ``mmdash_session_<environment>`` (HttpOnly,
   SameSite=Lax, Path=/, Max-Age = ``session_hours``, Secure when the request came over https or through a proxy
   that says ``X-Forwarded-Proto: https``) and redirects back.
3. Every run of the page (app.py's gate) accepts that cookie when its signature holds, its session exists, has not
   expired or been revoked, and was made on this environment's Mattermost; every RECHECK_AFTER it asks Mattermost
   again whether the token still belongs to a system admin, so a revoked token or a demoted admin loses access.
4. ``GET /auth/sign-out`` ends the sessions its cookies name and clears them (the page ends them first).

The cookie carries ``<session id>.<HMAC-SHA256 of environment and id>``; the store keeps the id's sha256 only.

The admin's Mattermost token, needed after a reload to call the API as them, is never in the cookie. It is kept in
the store sealed with Fernet under a key derived from the server's session key *and* the session id, which only
the browser's cookie carries: a copy of the store, even with the server key, opens no token. It is in the store
rather than in this process's memory so that sign-ins outlive a restart (with ``session_key`` set) and reach every
replica sharing a PostgreSQL store. Revoking a session empties its sealed token.

Without ``session_key`` (MMDASH_SESSION_KEY) a random key is made per process, logged once: sign-ins then end
when the dashboard restarts, and one replica does not accept another's cookies.

Single sign-on (OIDC) is not handled here: Streamlit's own login cookie already outlives reloads.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import html
import logging
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from cryptography.fernet import Fernet, InvalidToken
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from collectors.mattermost_auth import sign_in
from settings import EnvironmentSettings, Settings, SettingsError, load_settings
from store import Store, StoreError, open_store
from store import web_sessions as rows
from store.utc import utc_now
from store.web_sessions import Grant, WebSession

log = logging.getLogger("mmdash.web_sessions")

COOKIE_PREFIX = "mmdash_session_"
START_PATH = "/auth/session"
SIGN_OUT_PATH = "/auth/sign-out"
TICKET_LIFETIME = timedelta(seconds=60)
RECHECK_AFTER = timedelta(minutes=5)  # how long Mattermost's last "yes, a system admin" is trusted
SEEN_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often, not on every click
SIGNED_OUT = "signed out"
_NEXT = re.compile(r"^/(?![/\\])[^\s\\]*$")  # a path on this site: "/x?y", never "//host" or "/\host"
_TIME = "%Y-%m-%d %H:%M UTC"
_serving = False


def cookie_name(environment: str) -> str:
    return COOKIE_PREFIX + environment


class SessionKeys:
    """The cookie's signature and the token's sealing, both derived from one server secret."""

    def __init__(self, secret: bytes) -> None:
        self._sign_key = hmac.digest(secret, b"mmdash web session cookie", hashlib.sha256)
        self._seal_key = hmac.digest(secret, b"mmdash web session token", hashlib.sha256)

    def sign(self, environment: str, session_id: str) -> str:
        return f"{session_id}.{self._signature(environment, session_id)}"

    def unsign(self, environment: str, value: str) -> str | None:
        """The session id in a cookie made by `sign` for `environment`, or None for anything else."""
        session_id, dot, signature = value.rpartition(".")
        if not dot or not session_id:
            return None
        return session_id if hmac.compare_digest(signature, self._signature(environment, session_id)) else None

    def seal(self, secret_id: str, token: str) -> str:
        return self._fernet(secret_id).encrypt(token.encode()).decode()

    def unseal(self, secret_id: str, sealed: str) -> str | None:
        try:
            return self._fernet(secret_id).decrypt(sealed.encode()).decode()
        except (InvalidToken, ValueError):
            return None

    def _signature(self, environment: str, session_id: str) -> str:
        digest = hmac.digest(self._sign_key, f"{environment}\x1f{session_id}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def _fernet(self, secret_id: str) -> Fernet:
        key = hmac.digest(self._seal_key, secret_id.encode(), hashlib.sha256)
        return Fernet(base64.urlsafe_b64encode(key))


_process_secret = secrets.token_bytes(32)
_warned = threading.Event()


def keys_for(settings: Settings) -> SessionKeys:
    if settings.session_key is not None:
        return SessionKeys(settings.session_key.get_secret_value().encode())
    if not _warned.is_set():
        _warned.set()
        log.warning("MMDASH_SESSION_KEY is not set: sign-in cookies are signed with a key made at start, so "
                    "sign-ins end when the dashboard restarts and replicas do not accept each other's cookies")
    return SessionKeys(_process_secret)


def lifetime(settings: Settings) -> timedelta:
    return timedelta(hours=settings.session_hours)


@dataclass(frozen=True)
class Resumed:
    session_id: str
    session: WebSession
    token: str


@dataclass(frozen=True)
class Refused:
    reason: str  # a sentence for the sign-in page


def serving() -> bool:
    """Whether this process serves the routes that set the cookie (serve.py mounts them; AppTest does not)."""
    return _serving


def hand_off(store: Store, keys: SessionKeys, env: EnvironmentSettings, *, username: str, email: str | None,
             method: str, token: str, now: datetime) -> str:
    """A ticket for START_PATH that becomes a session for this admin, whom Mattermost confirmed just now.

    Raises StoreError when the store cannot take it.
    """
    if env.mattermost is None:
        raise ValueError(f"{env.name} has no Mattermost to sign in to")
    ticket = secrets.token_urlsafe(32)
    grant = Grant(username, email, env.name, env.mattermost.url, method, keys.seal(ticket, token))
    rows.add_ticket(store, ticket, grant, now=now, expires_at=now + TICKET_LIFETIME)
    return ticket


def start_url(ticket: str, next_path: str) -> str:
    return f"{START_PATH}?{urlencode({'ticket': ticket, 'next': next_path})}"


def sign_out_url(next_path: str) -> str:
    return f"{SIGN_OUT_PATH}?{urlencode({'next': next_path})}"


def start(store: Store, keys: SessionKeys, ticket: str, *, lasts: timedelta, now: datetime) -> tuple[str, str] | None:
    """Turn a ticket into a session: (cookie name, cookie value), or None for a used, expired or unknown ticket."""
    grant = rows.take_ticket(store, ticket, now=now)
    if grant is None:
        return None
    token = keys.unseal(ticket, grant.sealed_token)
    if token is None:  # sealed under another key: made before a restart without session_key
        return None
    session_id = secrets.token_urlsafe(32)
    sealed = Grant(grant.username, grant.email, grant.environment, grant.mattermost_url, grant.method,
                   keys.seal(session_id, token))
    rows.open_session(store, session_id, sealed, now=now, expires_at=now + lasts)
    return cookie_name(grant.environment), keys.sign(grant.environment, session_id)


def resume(store: Store, keys: SessionKeys, env: EnvironmentSettings, cookie: str, *,
           now: datetime) -> Resumed | Refused:
    """The sign-in a browser's cookie names for `env`, or why it is not accepted (never an exception)."""
    session_id = keys.unsign(env.name, cookie)
    if session_id is None:
        return Refused("Your saved sign-in could not be verified: the cookie was altered, or the dashboard's "
                       "session key changed (MMDASH_SESSION_KEY, or a restart without one). Sign in again.")
    try:
        session = rows.find(store, session_id)
        if session is None:
            return Refused("Your saved sign-in is not known to this dashboard any more (its store was replaced or "
                           "cleared). Sign in again.")
        if (refused := _standing(session, env, now)) is not None:
            return refused
        token = keys.unseal(session_id, session.grant.sealed_token)
        if token is None:
            return Refused("Your saved sign-in could not be unlocked with this dashboard's session key. "
                           "Sign in again.")
        return _recheck(store, env, session_id, session, token, now) or Resumed(session_id, session, token)
    except StoreError as exc:
        return Refused(f"Your saved sign-in cannot be checked: the store is unavailable ({exc}). Sign in again, "
                       "or reload once the store is back.")


def vouches(store: Store, keys: SessionKeys, env: EnvironmentSettings, cookie: str, *, now: datetime) -> bool:
    """Whether the cookie names a sign-in to `env` that stands and that Mattermost confirmed within RECHECK_AFTER,
    decided without asking Mattermost (for the server-drawn health preview, which must not wait on it)."""
    session_id = keys.unsign(env.name, cookie)
    if session_id is None:
        return False
    try:
        session = rows.find(store, session_id)
    except StoreError:
        return False
    return (session is not None and _standing(session, env, now) is None
            and now - session.checked_at < RECHECK_AFTER)


def keep(store: Store | None, env: EnvironmentSettings, session_id: str, token: str, *,
         now: datetime) -> Refused | None:
    """Why a tab's cookie-backed sign-in no longer holds (signed out elsewhere, expired, revoked), or None.

    A store that cannot be read leaves the tab signed in: it proved itself when it resumed.
    """
    if store is None:
        return None
    try:
        session = rows.find(store, session_id)
        if session is None:
            return Refused("Your sign-in is not known to this dashboard any more. Sign in again.")
        return _standing(session, env, now) or _recheck(store, env, session_id, session, token, now)
    except StoreError:
        return None


def end(store: Store, session_id: str, *, by: str | None, reason: str, now: datetime) -> WebSession | None:
    """Revoke the session and audit it (`by` None: its own admin); the session if this call ended it."""
    ended = rows.revoke(store, session_id, by=by, reason=reason, now=now)
    if ended is not None:
        action = "sign_out" if reason == SIGNED_OUT else "session_ended"
        store.record(ended.grant.username, action, environment=ended.grant.environment,
                     details={"method": ended.grant.method, "by": by or ended.grant.username, "reason": reason})
    return ended


def _standing(session: WebSession, env: EnvironmentSettings, now: datetime) -> Refused | None:
    """Why the session no longer stands by itself: ended, expired, or made on another Mattermost."""
    grant = session.grant
    if session.revoked_at is not None:
        when = session.revoked_at.strftime(_TIME)
        if session.revoked_reason == SIGNED_OUT:
            return Refused(f"You signed out as @{grant.username} at {when}. Sign in again to continue.")
        return Refused(f"Your sign-in as @{grant.username} was ended at {when}: {session.revoked_reason} "
                       "Sign in again.")
    if now >= session.expires_at:
        hours = (session.expires_at - session.created_at).total_seconds() / 3600
        return Refused(f"Your sign-in as @{grant.username} expired at {session.expires_at.strftime(_TIME)} "
                       f"(a sign-in lasts {hours:g} h). Sign in again.")
    if env.mattermost is None or grant.environment != env.name or grant.mattermost_url != env.mattermost.url:
        return Refused(f"Your saved sign-in was made on {grant.mattermost_url}, which {env.label} no longer points "
                       "at. Sign in again.")
    return None


def _recheck(store: Store, env: EnvironmentSettings, session_id: str, session: WebSession, token: str,
             now: datetime) -> Refused | None:
    """Ask Mattermost again, at most every RECHECK_AFTER, whether the token still belongs to a system admin."""
    if now - session.checked_at < RECHECK_AFTER:
        if now - session.last_seen_at >= SEEN_EVERY:
            rows.seen(store, session_id, now=now)
        return None
    assert env.mattermost is not None  # _standing refused it otherwise
    checked = asyncio.run(sign_in(env.mattermost, token=token))
    if checked.ok or checked.unreachable:
        # Unreachable is no verdict, and the dashboard exists to diagnose a Mattermost that is down: it is asked
        # again after RECHECK_AFTER rather than on every click.
        if checked.unreachable:
            log.warning("could not re-check @%s's sign-in with %s: %s", session.grant.username,
                        session.grant.mattermost_url, checked.error)
        rows.seen(store, session_id, now=now, checked=True)
        return None
    reason = checked.error or "Mattermost no longer confirms this admin."
    end(store, session_id, by="mattermost", reason=reason, now=now)
    return Refused(f"Your sign-in as @{session.grant.username} was ended: {reason} Sign in again.")


# -- the routes ---------------------------------------------------------------------------------------------


def routes() -> list[Route]:
    """START_PATH and SIGN_OUT_PATH, for serve.py's st.App."""
    global _serving
    _serving = True
    return [Route(START_PATH, _start_route, methods=["GET"]), Route(SIGN_OUT_PATH, _sign_out_route, methods=["GET"])]


_stores: dict[tuple[str | None, str], Store] = {}
_stores_lock = threading.Lock()


def resources() -> tuple[Settings, Store]:
    """The settings and the store, opened once per location; raises SettingsError or StoreError."""
    settings = load_settings()
    url = settings.store_url.get_secret_value() if settings.store_url else None
    key = (url, str(settings.sqlite_path))
    with _stores_lock:
        if key not in _stores:
            _stores[key] = open_store(url, sqlite_path=Path(settings.sqlite_path))
        return settings, _stores[key]


async def _start_route(request: Request) -> Response:
    next_path = _next(request)
    if _cross_site(request):
        return _page(403, "This sign-in link was opened from another site, so it was not used. Sign in on the "
                          "dashboard itself.", next_path)
    try:
        settings, store = await run_in_threadpool(resources)
        made = await run_in_threadpool(start, store, keys_for(settings), request.query_params.get("ticket", ""),
                                       lasts=lifetime(settings), now=utc_now())
    except (SettingsError, StoreError) as exc:
        return _page(503, f"The sign-in could not be saved: {exc}", next_path)
    if made is None:
        return _page(400, "This sign-in link has expired or was used already (it works once, within a minute). "
                          "Sign in again.", next_path)
    name, value = made
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(name, value, max_age=int(lifetime(settings).total_seconds()), path="/", httponly=True,
                        samesite="lax", secure=_https(request))
    return _uncached(response)


async def _sign_out_route(request: Request) -> Response:
    next_path = _next(request)
    if _cross_site(request):
        return _page(403, "This sign-out link was opened from another site, so it was not used.", next_path)
    ours = {name: value for name, value in request.cookies.items() if name.startswith(COOKIE_PREFIX)}
    try:
        settings, store = await run_in_threadpool(resources)
        keys = keys_for(settings)
        for name, value in ours.items():
            session_id = keys.unsign(name.removeprefix(COOKIE_PREFIX), value)
            if session_id is not None:
                await run_in_threadpool(end, store, session_id, by=None, reason=SIGNED_OUT, now=utc_now())
    except (SettingsError, StoreError) as exc:
        log.error("sign-out could not revoke the sessions in the store: %s", exc)  # the cookies go regardless
    response = RedirectResponse(next_path, status_code=303)
    for name in ours:
        response.delete_cookie(name, path="/", httponly=True, samesite="lax", secure=_https(request))
    return _uncached(response)


def _next(request: Request) -> str:
    wanted = request.query_params.get("next", "/")
    return wanted if _NEXT.match(wanted) else "/"


def _https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def _cross_site(request: Request) -> bool:
    # Browsers say where a navigation came from; another site must not sign a visitor in (or out) here.
    return request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none")


def _uncached(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the ticket is in this URL
    return response


def _page(status: int, sentence: str, next_path: str) -> Response:
    body = (f"<!doctype html><meta charset=utf-8><title>Sign-in</title><p>{html.escape(sentence)}</p>"
            f'<p><a href="{html.escape(next_path)}">Back to the dashboard</a></p>')
    return _uncached(HTMLResponse(body, status_code=status))
