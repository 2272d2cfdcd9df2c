"""Fault injection: latency, error statuses, truncated JSON and hung requests, per request-path pattern.

The registry is shared between the test thread that sets faults and the server's event loop that reads
them, hence the lock. Faults act before any handler (and before authentication), like a sick server or a
broken proxy would.
"""

from __future__ import annotations

import asyncio
import fnmatch
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulator.errors import injected

MAX_HANG_S = 120.0
CONTROL_PREFIX = "/__simulator__/"
# Scope key telling the header middleware not to stamp Mattermost headers on this response: a truncated
# body or a proxy timeout does not come from Mattermost.
RAW_RESPONSE = "simulator.raw_response"
REQUEST_ID = "simulator.request_id"


@dataclass(frozen=True)
class Fault:
    pattern: str
    latency_ms: int = 0
    status: int | None = None
    malformed_json: bool = False
    hang: bool = False

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class Faults:
    """Faults by fnmatch pattern over the request path ("*" = every path). One fault per pattern."""

    def __init__(self, base_latency_ms: int = 0, hang_cap_s: float = MAX_HANG_S) -> None:
        if base_latency_ms < 0:
            raise ValueError("latency_ms must be >= 0")
        self.base_latency_ms = base_latency_ms
        self.hang_cap_s = min(max(hang_cap_s, 0.0), MAX_HANG_S)
        self._lock = threading.Lock()
        self._faults: dict[str, Fault] = {}
        self._released = threading.Event()

    def set(self, pattern: str, *, latency_ms: int = 0, status: int | None = None, malformed_json: bool = False,
            hang: bool = False) -> Fault:
        if not pattern:
            raise ValueError("pattern must not be empty")
        if latency_ms < 0:
            raise ValueError("latency_ms must be >= 0")
        if status is not None and not 400 <= status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        fault = Fault(pattern, int(latency_ms), status, bool(malformed_json), bool(hang))
        with self._lock:
            self._faults.pop(pattern, None)  # re-setting a pattern makes it the newest
            self._faults[pattern] = fault
        return fault

    def clear(self, pattern: str | None = None) -> None:
        with self._lock:
            if pattern is None:
                self._faults.clear()
            else:
                self._faults.pop(pattern, None)

    def list(self) -> list[Fault]:
        with self._lock:
            return list(self._faults.values())

    def for_path(self, path: str) -> Fault | None:
        """All faults matching `path`, merged: the longest latency, the newest status, and any
        malformed/hang flag."""
        matching = [f for f in self.list() if fnmatch.fnmatchcase(path, f.pattern)]
        if not matching:
            return None
        statuses = [f.status for f in matching if f.status is not None]
        return Fault(
            pattern=",".join(f.pattern for f in matching),
            latency_ms=max(f.latency_ms for f in matching),
            status=statuses[-1] if statuses else None,
            malformed_json=any(f.malformed_json for f in matching),
            hang=any(f.hang for f in matching),
        )

    def release_hangs(self) -> None:
        """Let hung requests finish, so the server can stop without waiting for the cap."""
        self._released.set()

    async def hang(self) -> None:
        # Polling a threading.Event keeps this independent of which loop or thread stops the server.
        deadline = time.monotonic() + self.hang_cap_s
        while not self._released.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(min(0.05, max(deadline - time.monotonic(), 0)))


class FaultMiddleware:
    """ASGI middleware applying the faults that match each request path (the control API is exempt)."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        fault = self.faults.for_path(scope["path"])
        latency_ms = self.faults.base_latency_ms + (fault.latency_ms if fault else 0)
        if latency_ms:
            await asyncio.sleep(latency_ms / 1000)
        if fault is None:
            await self.app(scope, receive, send)
        elif fault.hang:
            scope[RAW_RESPONSE] = True
            await self.faults.hang()
            await _proxy_timeout(send)
        elif fault.status is not None:
            await injected(fault.status).response(scope.get(REQUEST_ID, ""))(scope, receive, send)
        elif fault.malformed_json:
            scope[RAW_RESPONSE] = True
            await self._truncated(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _truncated(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The real answer cut in half, served as a complete 200 application/json response."""
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        # Half of any JSON object or array (even "{}" or "[]") is never valid JSON.
        truncated = body[: max(len(body) // 2, 1)] if body else b"{"
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(truncated)).encode())]})
        await send({"type": "http.response.body", "body": truncated})


async def _proxy_timeout(send: Send) -> None:
    """What a reverse proxy in front of a hung server answers once its read timeout expires."""
    body = b"504 Gateway Time-out"
    await send({"type": "http.response.start", "status": 504, "headers": [
        (b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
