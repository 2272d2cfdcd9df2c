"""Changes the dashboard makes to Mattermost, on an admin's explicit request (today: the log level)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from collectors.http_errors import describe_transport_error
from collectors.runner import tls_for
from settings import MattermostSettings


@dataclass(frozen=True)
class LogLevelChange:
    previous: str | None  # FileLevel before the change, to restore it later
    current: str | None
    error: str | None = None


def _client(settings: MattermostSettings, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"{settings.url}/api/v4", verify=tls_for(settings),
                             timeout=settings.timeout_seconds,
                             headers={"Authorization": f"Bearer {token}"})


def _refusal(response: httpx.Response, what: str) -> str:
    try:
        message = str(response.json().get("message", "")).rstrip(".")
    except (ValueError, AttributeError):
        message = response.reason_phrase
    return f"Mattermost refused to {what} (HTTP {response.status_code}: {message})."


async def set_log_level(settings: MattermostSettings, token: str, level: str) -> LogLevelChange:
    """Set LogSettings.FileLevel and ConsoleLevel through PUT /config/patch; report what it was before."""
    try:
        async with _client(settings, token) as client:
            current = await client.get("/config")
            if current.status_code >= 400:
                return LogLevelChange(None, None, _refusal(current, "show its configuration"))
            previous = (current.json().get("LogSettings") or {}).get("FileLevel")
            patched = await client.put("/config/patch", json={"LogSettings": {"FileLevel": level,
                                                                              "ConsoleLevel": level}})
            if patched.status_code >= 400:
                return LogLevelChange(previous, previous, _refusal(patched, "change the log level"))
            return LogLevelChange(previous, (patched.json().get("LogSettings") or {}).get("FileLevel"))
    except httpx.HTTPError as exc:
        return LogLevelChange(None, None, describe_transport_error(exc, "Mattermost", settings.url,
                                                                   settings.timeout_seconds))
