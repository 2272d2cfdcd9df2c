"""Outgoing webhooks: tell other systems that an incident started, changed stage or checklist, or ended.

Like the Playbooks plugin, each delivery is one JSON POST with no retries: the incident as JSON plus an "event"
object {type, at (ms), user_id, payload}. Delivery to every URL of the playbook that wants the event runs
concurrently under one timeout, and the outcome of each comes back as a value — a slow or dead receiver never
holds up or breaks the change that triggered it.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from collectors.http_errors import describe_transport_error
from incidents.playbooks import Playbook, WebhookEvent
from incidents.repository import to_body
from packet.redact import Redactor

if TYPE_CHECKING:
    from incidents.models import Actor, Incident

TIMEOUT_SECONDS = 5.0
_JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Delivery:
    url: str  # masked: a URL may carry a token in its path, and deliveries end up in the timeline
    status: int | None  # the receiver's HTTP status; None when no answer came
    error: str | None  # a sentence when the delivery failed
    elapsed_ms: float

    @property
    def ok(self) -> bool:
        return self.error is None


def masked_url(url: str) -> str:
    """`url` as it may be shown or stored: credentials, tokens and Mattermost hook ids masked."""
    redacted, _ = Redactor().redact_config({"url": url}, member="webhook")
    return redacted["url"]


def payload(event: WebhookEvent, incident: Incident, actor: Actor, details: dict[str, Any],
            at: datetime) -> dict[str, Any]:
    """The JSON body every receiver gets."""
    event_json = {"type": event, "at": int(at.timestamp() * 1000), "user_id": actor.user_id, "payload": details}
    return {**to_body(incident), "event": event_json}


class WebhookSender:
    """Posts an incident event to the playbook's webhooks; `send` never raises."""

    def __init__(self, timeout_seconds: float = TIMEOUT_SECONDS,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._timeout = timeout_seconds
        self._transport = transport

    async def send(self, playbook: Playbook, event: WebhookEvent, incident: Incident, actor: Actor,
                   details: dict[str, Any] | None = None) -> list[Delivery]:
        urls = [str(hook.url) for hook in playbook.webhooks if event in hook.events]
        if not urls:
            return []
        # default=str: a date or other odd value in the details must not stop the delivery
        body = json.dumps(payload(event, incident, actor, details or {}, datetime.now(UTC)), default=str).encode()
        async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport,
                                     follow_redirects=False) as client:
            return list(await asyncio.gather(*(self._deliver(client, url, body) for url in urls)))

    async def _deliver(self, client: httpx.AsyncClient, url: str, body: bytes) -> Delivery:
        shown = masked_url(url)
        started = time.perf_counter()

        def done(status: int | None, error: str | None) -> Delivery:
            return Delivery(shown, status, error, round((time.perf_counter() - started) * 1000, 1))

        try:
            # httpx's timeout applies to each phase; the outer one bounds the whole delivery.
            async with asyncio.timeout(self._timeout):
                response = await client.post(url, content=body, headers=_JSON)
        except TimeoutError:
            return done(None, f"The webhook {shown} did not answer within {self._timeout:g} s.")
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return done(None, describe_transport_error(exc, "the webhook receiver", shown, self._timeout))
        if response.is_success:
            return done(response.status_code, None)
        return done(response.status_code, f"The webhook {shown} answered HTTP {response.status_code}.")

