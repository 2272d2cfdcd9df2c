"""Sessions and tokens: personal access tokens made at start, session tokens made by POST /users/login.

Like Mattermost, a token is read from `Authorization: Bearer <token>` (or `Token <token>`) or from the
MMAUTHTOKEN cookie. An invalid token on an endpoint that needs no session is simply anonymous.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from starlette.requests import Request

from simulator import errors
from simulator.model import Account

AUTH_COOKIE = "MMAUTHTOKEN"


@dataclass(frozen=True)
class Session:
    token: str
    account: Account

    @property
    def is_admin(self) -> bool:
        return self.account.is_admin


class SessionStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}

    def add(self, token: str, account: Account) -> Session:
        session = Session(token, account)
        with self._lock:
            self._sessions[token] = session
        return session

    def get(self, token: str) -> Session | None:
        with self._lock:
            return self._sessions.get(token)


def request_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("bearer", "token") and value.strip():
        return value.strip()
    return request.cookies.get(AUTH_COOKIE) or None


def optional_session(request: Request) -> Session | None:
    token = request_token(request)
    if token is None:
        return None
    store: SessionStore = request.app.state.sim.sessions
    return store.get(token)


def require_session(request: Request) -> Session:
    session = optional_session(request)
    if session is None:
        raise errors.session_expired()
    return session


def require_admin(request: Request) -> Session:
    """System-console permissions: the simulator's plain users hold none of them, its admins all."""
    session = require_session(request)
    if not session.is_admin:
        raise errors.permission_denied()
    return session
