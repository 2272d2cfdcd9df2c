"""Connection tests run while a packet is generated; a failure is shown on screen and recorded in the packet."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from typing import Any

import httpx

from collectors.base import Snapshot, SourceStatus


@dataclass(frozen=True)
class CheckResult:
    """A connection test run while generating the packet."""

    name: str
    ok: bool
    detail: str


SOURCE_TESTS = {"database": "Database connection", "ldap": "LDAP bind", "saml": "SAML IdP metadata",
                "elasticsearch": "Elasticsearch/OpenSearch"}


def from_snapshot(snapshot: Snapshot) -> list[CheckResult]:
    """The sources the dashboard just collected double as connection tests (only the configured ones)."""
    checks = []
    for name, label in SOURCE_TESTS.items():
        result = snapshot.sources.get(name)
        if result is None or result.status is SourceStatus.NOT_CONFIGURED:
            continue
        ok = result.status in (SourceStatus.OK, SourceStatus.DEGRADED)
        checks.append(CheckResult(label, ok, result.error or f"answered in {result.elapsed_ms:,.0f} ms"))
    return checks


async def site_url(url: str, timeout_s: float = 10.0) -> CheckResult:
    """The Site URL must lead to Mattermost: ping it there, as Mattermost's own Site URL test does."""
    name = "Site URL reachability"
    ping = f"{url.rstrip('/')}/api/v4/system/ping"
    try:
        async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=True) as client:
            response = await client.get(ping)
    except httpx.HTTPError as exc:
        return CheckResult(name, False, f"{url} did not answer: {type(exc).__name__}: {exc}")
    try:
        mattermost = response.status_code == 200 and "status" in response.json()
    except ValueError:
        mattermost = False
    detail = f"{ping} answered HTTP {response.status_code}" + ("" if mattermost else ", but not as Mattermost")
    return CheckResult(name, mattermost, detail)


def _smtp(host: str, port: int, security: str, timeout_s: float) -> CheckResult:
    name = "SMTP connection"
    try:
        if security == "TLS":
            with smtplib.SMTP_SSL(host, port, timeout=timeout_s, context=ssl.create_default_context()) as smtp:
                code, _ = smtp.noop()
        else:
            with smtplib.SMTP(host, port, timeout=timeout_s) as smtp:
                smtp.ehlo()
                if security == "STARTTLS":
                    smtp.starttls(context=ssl.create_default_context())
                code, _ = smtp.noop()
    except (OSError, smtplib.SMTPException) as exc:
        return CheckResult(name, False, f"{host}:{port} ({security or 'plain'}): {type(exc).__name__}: {exc}")
    return CheckResult(name, code == 250, f"{host}:{port} ({security or 'plain'}) answered {code}")


async def smtp_from_config(config: dict[str, Any], timeout_s: float = 10.0) -> CheckResult | None:
    """Reach the SMTP server named in EmailSettings (no credentials are sent); None when email is off."""
    email = config.get("EmailSettings") or {}
    host = str(email.get("SMTPServer") or "")
    if not email.get("SendEmailNotifications") or not host:
        return None
    try:
        port = int(email.get("SMTPPort") or 25)
    except ValueError:
        return CheckResult("SMTP connection", False, f"EmailSettings.SMTPPort {email.get('SMTPPort')!r} is not a "
                                                    "number")
    return await asyncio.to_thread(_smtp, host, port, str(email.get("ConnectionSecurity") or ""), timeout_s)
