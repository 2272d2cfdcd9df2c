"""The Starlette application: routes, Mattermost's response headers, error bodies and fault injection."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulator import api, control, errors, metrics
from simulator.api import commands, hooks, integrations, support_packet
from simulator.faults import RAW_RESPONSE, REQUEST_ID, FaultMiddleware
from simulator.ids import random_id
from simulator.state import SimulatorState


class MattermostHeaders:
    """Stamps every answer with X-Request-Id and X-Version-Id, as Mattermost's handler wrapper does."""

    def __init__(self, app: ASGIApp, version_id: str) -> None:
        self.app = app
        self.version_id = version_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = random_id()
        scope[REQUEST_ID] = request_id

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and not scope.get(RAW_RESPONSE):
                headers = MutableHeaders(scope=message)
                headers["X-Request-Id"] = request_id
                headers["X-Version-Id"] = self.version_id
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _request_id(request: Request) -> str:
    return request.scope.get(REQUEST_ID, "")


async def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.AppError)
    return exc.response(_request_id(request))


async def _no_route(request: Request, exc: Exception) -> Response:
    # Mattermost's API router sends every unmatched path or method to its 404 handler.
    assert isinstance(exc, HTTPException)
    return errors.not_found().response(_request_id(request))


def build_app(state: SimulatorState) -> Starlette:
    app = Starlette(
        routes=[*api.routes(), *integrations.ROUTES, *commands.ROUTES, *hooks.ROUTES, *support_packet.ROUTES,
                *control.ROUTES, *metrics.ROUTES],
        middleware=[
            Middleware(MattermostHeaders, version_id=state.version_id),
            Middleware(FaultMiddleware, faults=state.faults),
        ],
        exception_handlers={errors.AppError: _app_error, 404: _no_route, 405: _no_route},
    )
    app.state.sim = state
    return app
