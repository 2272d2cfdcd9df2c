"""The dashboard as one web app: the Streamlit pages (app.py) and the endpoints Mattermost and automation call.

    streamlit run serve.py

Besides the pages it serves POST /hooks/incidents/<environment>/slash (the /incident slash command),
POST /hooks/incidents/<environment>/actions (automation) and GET /metrics (open findings and collection health for
Prometheus, read from the store), and forwards messages into incident channels.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import streamlit as st
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from health.metrics_export import exposition
from incidents.http_api import routes
from incidents.runtime import IncidentRuntime
from settings import SettingsError, load_settings
from store import StoreError, open_store
from store.utc import utc_now
from ui.context import effective_environment

log = logging.getLogger("mmdash.serve")
_runtime: IncidentRuntime | None = None


def _resolve(name: str):
    return _runtime.resolve(name) if _runtime is not None else None


@contextlib.asynccontextmanager
async def lifespan(_app: st.App) -> AsyncIterator[None]:
    global _runtime
    stop = asyncio.Event()
    worker = None
    try:
        settings = load_settings()
        store = open_store(settings.store_url.get_secret_value() if settings.store_url else None,
                           sqlite_path=settings.sqlite_path)
    except (SettingsError, StoreError) as exc:
        # The pages say the same and keep working; the incident endpoints answer 404 until this is fixed.
        log.error("incident endpoints and forwarding are off: %s", exc)
    else:
        _runtime = IncidentRuntime(settings, store, effective_environment)
        worker = asyncio.create_task(_runtime.run_forwarders(stop))
    yield
    stop.set()
    if worker is not None:
        await worker
    if _runtime is not None:
        await _runtime.close()
        _runtime.store.close()


async def metrics(_request: Request) -> Response:
    if _runtime is None:
        return PlainTextResponse("The store cannot be opened (see the dashboard's log), so there are no metrics.\n",
                                 status_code=503)
    try:
        body = await run_in_threadpool(exposition, _runtime.store, utc_now)
    except StoreError as exc:
        return PlainTextResponse(f"The store cannot be read: {exc}\n", status_code=503)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


app = st.App("app.py", routes=[*routes(_resolve), Route("/metrics", metrics, methods=["GET"])], lifespan=lifespan)
