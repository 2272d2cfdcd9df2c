"""Turn HTTP failures into one sentence a person can act on."""

from __future__ import annotations

import ssl
from urllib.parse import urlsplit

import httpx

_DNS_MARKERS = (
    "name or service not known",
    "nodename nor servname",
    "temporary failure in name resolution",
    "getaddrinfo failed",
    "no address associated",
)


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def describe_transport_error(exc: httpx.HTTPError, service: str, url: str, timeout_s: float) -> str:
    """A sentence for a request that never got an HTTP answer (DNS, refused, TLS, timeout, ...)."""
    parts = urlsplit(url)
    host = parts.hostname or url
    where = f"{parts.scheme}://{parts.netloc}"
    text = " ".join(str(e) for e in _causes(exc)).lower()
    if isinstance(exc, httpx.ConnectTimeout):
        return (f"Could not connect to {service} at {where} within {timeout_s:g} s: check the host and port, "
                "and that no firewall drops the traffic.")
    if isinstance(exc, httpx.TimeoutException):
        return (f"{service} at {where} accepted the connection but did not answer within {timeout_s:g} s: "
                "the server may be overloaded; raise timeout_seconds if it is just slow.")
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in _causes(exc)) or "certificate" in text:
        return (f"The TLS certificate of {host} could not be verified ({_short(exc)}): install its CA and set "
                "ca_bundle, or fix the certificate; verify_tls = false is only for tests.")
    if any(isinstance(e, ssl.SSLError) for e in _causes(exc)) or "ssl" in text:
        return (f"TLS handshake with {where} failed ({_short(exc)}): is the port serving HTTPS, "
                "or should the URL start with http://?")
    if any(marker in text for marker in _DNS_MARKERS):
        return f"The host name {host!r} could not be resolved (DNS): check the spelling of the {service} URL."
    if "connection refused" in text or "connect call failed" in text:
        return (f"Nothing is listening at {where} (connection refused): is {service} running, "
                "and is the port in the URL right?")
    if isinstance(exc, httpx.RemoteProtocolError):
        return (f"{where} closed the connection or did not speak HTTP ({_short(exc)}): check that the URL "
                f"points at {service} and not at another service.")
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return f"The {service} URL {url!r} is not usable ({_short(exc)}): it must start with https:// or http://."
    return f"Could not reach {service} at {where}: {_short(exc)}."


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
