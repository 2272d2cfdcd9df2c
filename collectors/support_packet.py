"""Mattermost's own support packet: download it (GET /api/v4/system/support_packet) and read its facts.

`parse_packet` (collectors/packet_layout.py) reads every layout Mattermost has shipped. A packet is evidence from
a sick system, so bad content never raises: a truncated zip, a missing member, malformed YAML or JSON and bytes
that are not UTF-8 each become a sentence in `PacketFacts.unreadable`, and everything else is still read. Only
bytes that are not a zip, or a zip that is not a support packet, raise PacketError.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import IO, Any

import httpx

from collectors import support_packet_models as models
from collectors.base import SourceResult, SourceStatus
from collectors.http_errors import describe_transport_error
from collectors.packet_archive import ZIP_KEY, PacketError
from collectors.packet_layout import parse_packet, read_packet
from settings import MattermostSettings

__all__ = ["ZIP_KEY", "PacketError", "collect", "download", "parse_packet"]

SOURCE = "support_packet"
SERVICE = "Mattermost"
PACKET_PATH = "/api/v4/system/support_packet"
MAX_PACKET_BYTES = 512 * 1024 * 1024
# The server profiles the CPU of every node for 5 s before it sends the first byte.
MIN_WAIT_S = 15.0
DOWNLOAD_BUDGET = 4  # the whole download may take this many read timeouts

# --------------------------------------------------------------------------------------------- download

class _Failed(Exception):
    """The download ended without a packet; `sentence` says why."""

    def __init__(self, status: SourceStatus, sentence: str) -> None:
        super().__init__(sentence)
        self.status = status
        self.sentence = sentence


def _error_body(response: httpx.Response) -> tuple[str, str]:
    """(error id, message) of Mattermost's AppError body, or what the answer says otherwise."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return "", response.reason_phrase or "no details"
    if not isinstance(body, dict):
        return "", response.reason_phrase or "no details"
    return str(body.get("id") or ""), str(body.get("message") or response.reason_phrase or "no details").rstrip(".")


def _describe_refusal(response: httpx.Response) -> _Failed:
    code = response.status_code
    error_id, message = _error_body(response)
    if code == 401:
        return _Failed(SourceStatus.ERROR, (
            f"Mattermost rejected the token (HTTP 401: {message}): it is wrong, expired or revoked; create a new "
            "personal access token for a system admin and configure it as mattermost.token."))
    if code == 403 and error_id == "api.no_license":
        return _Failed(SourceStatus.ERROR, (
            f"Mattermost makes support packets only on a licensed server (HTTP 403: {message}); "
            "install the license first."))
    if code == 403:
        return _Failed(SourceStatus.FORBIDDEN, (
            f"The support packet needs a system admin token: Mattermost makes support packets only for "
            f"manage_system (HTTP 403: {message}); use a system admin's personal access token, and check that "
            "ExperimentalSettings.RestrictSystemAdmin is off."))
    if code in (404, 405, 501):
        return _Failed(SourceStatus.ERROR, (
            f"This Mattermost version cannot make a support packet (HTTP {code} on {PACKET_PATH}): the endpoint "
            "exists from server 5.32 on; upgrade Mattermost, or check that the URL points at Mattermost itself."))
    if code >= 500:
        return _Failed(SourceStatus.ERROR, (
            f"Mattermost failed to make the support packet (HTTP {code}: {message}); check the Mattermost server "
            "log around this time, or try again without server logs."))
    return _Failed(SourceStatus.ERROR, f"Mattermost refused the support packet (HTTP {code}: {message}).")


async def _download(settings: MattermostSettings, client: httpx.AsyncClient, token: str, target: IO[bytes],
                    wait_s: float) -> None:
    url = f"{settings.url}{PACKET_PATH}"
    headers = {"Authorization": f"Bearer {token}", "X-Requested-With": "XMLHttpRequest"}
    try:
        async with client.stream("GET", url, headers=headers, timeout=httpx.Timeout(wait_s)) as response:
            if response.status_code >= 400:
                await response.aread()
                raise _describe_refusal(response)
            if response.is_redirect:
                raise _Failed(SourceStatus.ERROR, (
                    f"{PACKET_PATH} redirected to {response.headers.get('location', 'another page')} instead of "
                    "sending the packet: a sign-in proxy may sit in front of Mattermost, or the URL is not the "
                    "Mattermost site root."))
            declared = models.integer(response.headers.get("content-length"))
            if declared is not None and declared > MAX_PACKET_BYTES:
                raise _Failed(SourceStatus.ERROR, _too_large())
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_PACKET_BYTES:
                    raise _Failed(SourceStatus.ERROR, _too_large())
                target.write(chunk)
    except httpx.HTTPError as exc:
        raise _Failed(SourceStatus.ERROR, describe_transport_error(exc, SERVICE, settings.url, wait_s)) from exc


def _too_large() -> str:
    return (f"The support packet is larger than {MAX_PACKET_BYTES // 2**20} MB, so the download was stopped: the "
            "server log is probably huge; make the packet without server logs in the System Console "
            "(Commercial Support), or rotate the log.")


def _timed_out(wait_s: float) -> str:
    return (f"The support packet did not finish downloading within {wait_s * DOWNLOAD_BUDGET:g} s: the server may "
            "be overloaded or the packet very large; try again, or make it without server logs.")


async def _fetch(settings: MattermostSettings, client: httpx.AsyncClient, path: Path) -> None:
    """Save the packet to `path`; raises _Failed with the status and sentence when Mattermost will not."""
    token = settings.token.get_secret_value() if settings.token else None
    if not token:
        raise _Failed(SourceStatus.ERROR, (
            "No Mattermost token is configured: the support packet needs a system admin's personal access "
            "token as mattermost.token."))
    wait_s = max(settings.timeout_seconds, MIN_WAIT_S)
    try:
        with path.open("wb") as target:
            async with asyncio.timeout(wait_s * DOWNLOAD_BUDGET):
                await _download(settings, client, token, target, wait_s)
    except TimeoutError:
        raise _Failed(SourceStatus.ERROR, _timed_out(wait_s)) from None


async def download(settings: MattermostSettings, client: httpx.AsyncClient, path: Path) -> str | None:
    """Save Mattermost's own packet to `path`; the sentence saying why not, or None when it worked."""
    try:
        await _fetch(settings, client, path)
    except _Failed as failed:
        return failed.sentence
    return None


async def collect(settings: MattermostSettings, client: httpx.AsyncClient) -> SourceResult:
    started = time.perf_counter()

    def result(status: SourceStatus, data: Any = None, error: str | None = None) -> SourceResult:
        return SourceResult(SOURCE, status, data, error, (time.perf_counter() - started) * 1000)

    fd, name = tempfile.mkstemp(prefix="mm_support_packet_", suffix=".zip")
    os.close(fd)
    path = Path(name)
    try:
        await _fetch(settings, client, path)
        facts = await asyncio.to_thread(read_packet, path, f"Mattermost's answer to {PACKET_PATH}")
    except _Failed as failed:
        return result(failed.status, error=failed.sentence)
    except PacketError as exc:
        return result(SourceStatus.ERROR, error=f"{exc} Check that the URL points at Mattermost itself.")
    finally:
        path.unlink(missing_ok=True)
    if facts.unreadable:
        first = next(iter(facts.unreadable.values()))
        more = len(facts.unreadable) - 1
        return result(SourceStatus.DEGRADED, facts, first + (f" (and {more} more)" if more else ""))
    return result(SourceStatus.OK, facts)
