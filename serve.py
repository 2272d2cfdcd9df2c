"""The dashboard as one web app: the Streamlit pages (app.py) and the endpoints Mattermost and automation call.

    streamlit run serve.py

Besides the pages it serves POST /hooks/incidents/<environment>/slash (the /incident slash command) and
POST /hooks/incidents/<environment>/actions (automation), and forwards messages into incident channels.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import streamlit as st

from incidents.http_api import routes
from incidents.runtime import IncidentRuntime
from settings import SettingsError, load_settings
from store import StoreError, open_store
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


app = st.App("app.py", routes=routes(_resolve), lifespan=lifespan)
