"""The dashboard as one web app: the Streamlit pages (app.py) and the endpoints Mattermost and automation call.

    streamlit run serve.py      # or, installed: mmdash serve

Besides the pages it serves POST /hooks/incidents/<environment>/slash (the /incident slash command),
POST /hooks/incidents/<environment>/actions (automation), GET /metrics (open findings and collection health for
Prometheus, read from the store) and GET /healthz (whether this dashboard is usable: mmdash/healthz.py), and
forwards messages into incident channels, reminding their commanders of due status updates. GET / and /health
answer the app's page with the last stored health snapshot drawn into it, shown until the app draws its own
(ui/health_preview.py). With `health.watch_interval` set (and always in the demo) it also runs the watcher,
which collects every environment on its schedule; several replicas sharing one PostgreSQL store still collect
each environment once per interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import AsyncIterator

import streamlit as st
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from streamlit.runtime.pages_manager import PagesManager

from demo.deployment import effective, running_demo, stop_running_demos
from health.metrics_export import exposition
from health.watcher import Watcher
from incidents.http_api import routes
from incidents.runtime import IncidentRuntime
from mmdash import healthz, logs
from settings import Settings, SettingsError, load_settings
from store import Store, StoreError, open_store
from store.utc import utc_now
from ui import health_preview
from ui.web_sessions import routes as web_session_routes

logs.configure()  # MMDASH_LOG_FORMAT: text or JSON lines, for Streamlit's records too; secrets masked
log = logging.getLogger("mmdash.serve")
# Streamlit runs a script in pages/ directly, without app.py and its sign-in gate, until the first st.navigation
# call of the process switches that off; so a fresh server's first visitor to /support_packet would skip the
# gate. Our pages are only ever reached through app.py's st.navigation (tests/e2e/test_pages_gate.py proves it).
PagesManager.uses_pages_directory = False
_runtime: IncidentRuntime | None = None
_served = healthz.ServedState()  # for GET /healthz


def _resolve(name: str):
    return _runtime.resolve(name) if _runtime is not None else None


STORE_RETRY_S = 10.0


@contextlib.asynccontextmanager
async def lifespan(_app: st.App) -> AsyncIterator[None]:
    global _runtime
    stop = asyncio.Event()
    workers: list[asyncio.Task] = []
    try:
        settings = load_settings()
    except SettingsError as exc:
        log.error("incident endpoints, forwarding and the watcher are off: %s", exc)  # the pages say why too
        settings = None
    _served.settings_usable = settings is not None
    if settings is not None and settings.demo:
        # Started now, not by the first visitor: the demo's servers take seconds, and the watcher needs them too.
        threading.Thread(target=running_demo, args=(settings,), name="demo-start", daemon=True).start()
    store = _served.store = _open(settings) if settings is not None else None
    if store is not None:
        _runtime = IncidentRuntime(settings, store, functools.partial(effective, settings))
        workers.append(asyncio.create_task(_runtime.run_forwarders(stop)))
        workers.append(asyncio.create_task(_runtime.run_reminders(stop)))
    if settings is not None and (settings.health.watch_interval or settings.demo):
        workers.append(asyncio.create_task(_watch(settings, store, stop)))
        _served.watcher = healthz.WatcherProgress.of(settings, workers[-1])
    yield
    stop.set()
    await asyncio.gather(*workers)
    if _runtime is not None:
        await _runtime.close()
        _runtime.store.close()
    await asyncio.to_thread(stop_running_demos)


def _open(settings: Settings) -> Store | None:
    try:
        return open_store(settings.store_url.get_secret_value() if settings.store_url else None,
                          sqlite_path=settings.sqlite_path)
    except StoreError as exc:
        # The pages say the same and keep working; the incident endpoints answer 404 until this is fixed.
        log.error("incident endpoints and forwarding are off: %s", exc)
        return None


async def _watch(settings: Settings, store: Store | None, stop: asyncio.Event) -> None:
    """The watcher, once the store opens: a store down at start is tried again every STORE_RETRY_S."""
    opened_here = store is None  # the incident runtime closes the store it shares; this one is ours to close
    while store is None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=STORE_RETRY_S)
        if stop.is_set():
            return
        store = await asyncio.to_thread(_open, settings)
    _served.store = _served.store or store
    try:
        await Watcher(settings, store, resolve=functools.partial(effective, settings),
                      on_run=_served.watcher.saw if _served.watcher else None).run(stop)
    finally:
        if opened_here:
            store.close()


async def metrics(_request: Request) -> Response:
    if _runtime is None:
        return PlainTextResponse("The store cannot be opened (see the dashboard's log), so there are no metrics.\n",
                                 status_code=503)
    try:
        body = await run_in_threadpool(exposition, _runtime.store, utc_now)
    except StoreError as exc:
        return PlainTextResponse(f"The store cannot be read: {exc}\n", status_code=503)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


app = st.App("app.py", routes=[*routes(_resolve), Route("/metrics", metrics, methods=["GET"]), *web_session_routes(),
                               Route("/healthz", healthz.endpoint(_served), methods=["GET"]),
                               *health_preview.routes()],
             lifespan=lifespan)
