"""Control endpoints beside the API, admin token required.

/__simulator__/faults changes faults from another process (the demo, a shell). /__simulator__/ephemeral and
/__simulator__/dialogs show what the websocket would have delivered to one user: the ephemeral posts
(ephemeral_message events, as post JSON with integrations stripped) and the opened dialogs (open_dialog events:
the OpenDialogRequest with the client trigger id, its url included), oldest first.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulator import errors
from simulator.api.common import state
from simulator.api.posts import post_json
from simulator.auth import require_admin
from simulator.faults import CONTROL_PREFIX
from simulator.messaging import Thread

FAULTS_PATH = CONTROL_PREFIX + "faults"
EPHEMERAL_PATH = CONTROL_PREFIX + "ephemeral"
DIALOGS_PATH = CONTROL_PREFIX + "dialogs"


def _current(request: Request) -> JSONResponse:
    return JSONResponse([f.as_json() for f in state(request).faults.list()])


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except json.JSONDecodeError:
        raise errors.invalid_param("fault") from None
    if not isinstance(body, dict):
        raise errors.invalid_param("fault")
    return body


async def faults_endpoint(request: Request) -> JSONResponse:
    """GET lists the faults; PUT sets one; DELETE clears one pattern, or all without a pattern.
    Every method answers with the faults now in force."""
    require_admin(request)
    faults = state(request).faults
    if request.method == "PUT":
        body = await _body(request)
        try:
            faults.set(
                str(body.get("pattern") or ""),
                latency_ms=int(body.get("latency_ms") or 0),
                status=int(body["status"]) if body.get("status") is not None else None,
                malformed_json=bool(body.get("malformed_json", False)),
                hang=bool(body.get("hang", False)),
            )
        except (TypeError, ValueError):
            raise errors.invalid_param("fault") from None
    elif request.method == "DELETE":
        pattern = (await _body(request)).get("pattern") or request.query_params.get("pattern")
        faults.clear(str(pattern) if pattern else None)
    return _current(request)


def _user_id(request: Request) -> str:
    user_id = request.query_params.get("user_id", "")
    if not user_id:
        raise errors.invalid_param("user_id")
    return user_id


async def ephemeral_endpoint(request: Request) -> JSONResponse:
    """GET ?user_id=: the ephemeral posts delivered to that user, newest last."""
    require_admin(request)
    delivered = state(request).messaging.ephemeral_for(_user_id(request))
    return JSONResponse([post_json(p, Thread()) for p in delivered])


async def dialogs_endpoint(request: Request) -> JSONResponse:
    """GET ?user_id=: the OpenDialogRequests delivered to that user, newest last."""
    require_admin(request)
    return JSONResponse(state(request).messaging.dialogs_for(_user_id(request)))


ROUTES = [
    Route(FAULTS_PATH, faults_endpoint, methods=["GET", "PUT", "DELETE"]),
    Route(EPHEMERAL_PATH, ephemeral_endpoint, methods=["GET"]),
    Route(DIALOGS_PATH, dialogs_endpoint, methods=["GET"]),
]
