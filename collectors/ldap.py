"""LDAP collector: can Mattermost's LDAP settings reach, secure, bind to and search this directory, and what is it?

ldap3 is blocking, so the whole conversation runs in one worker thread; every socket operation has the settings'
timeout and counting has a budget, so a directory of 100k users answers "at least N" instead of hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import ssl
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import ldap3
from ldap3.core import exceptions as ldap_errors
from ldap3.utils.dn import parse_dn

from collectors import ldap_models as models
from collectors.base import SourceResult, SourceStatus
from settings import LdapSettings

SOURCE = "ldap"
COUNT_LIMIT = 50_000  # beyond this "at least 50000" says enough, and counting further costs the server
PAGE_SIZE = 500  # below the size limits directories set per page (OpenLDAP 500, Active Directory 1000)
# Result codes (RFC 4511) that end a search early but still deliver the entries counted so far.
PARTIAL_SEARCH = {
    3: "the server's time limit for one search",
    4: "the server's size limit for this bind DN",
    11: "an administrative limit of the server",
}
NO_SUCH_OBJECT = 32
INVALID_CREDENTIALS = 49
INVALID_DN_SYNTAX = 34
CONFIDENTIALITY_REQUIRED = 13
# Active Directory explains a refused bind with "data <code>" in the diagnostic message.
AD_BIND_REASONS = {
    "525": "unknown",
    "52e": "wrong password",
    "530": "not permitted to log on at this time",
    "531": "not permitted to log on from this workstation",
    "532": "password expired",
    "533": "account disabled",
    "701": "account expired",
    "773": "password must be reset",
    "775": "account locked",
}
_AD_DATA = re.compile(r"\bdata ([0-9a-f]{3,4})\b", re.I)
# ldap3 nests the ssl module's message in its own; this digs out e.g. "certificate verify failed: <why>".
_SSL_REASON = re.compile(r"\[SSL: \w+\] (.+?)\s*\(_ssl\.c")


class Refusal(Exception):
    """Ends the conversation with one sentence; raised inside the worker thread only, returned as a value."""


@dataclass(frozen=True)
class Target:
    url: str
    host: str
    port: int
    security: str  # "none", "tls" (LDAPS) or "starttls"

    @property
    def where(self) -> str:
        scheme = "ldaps" if self.security == "tls" else "ldap"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"


def _target(settings: LdapSettings) -> Target:
    parts = urlsplit(settings.url)
    implicit_tls = parts.scheme == "ldaps" or settings.security == "tls"
    if parts.scheme == "ldaps" and settings.security == "starttls":
        raise Refusal(
            f"ldap.url {settings.url} already uses TLS (ldaps://) while ldap.security is starttls, which upgrades "
            "a plain ldap:// connection: use security = tls with ldaps://, or an ldap:// URL with starttls."
        )
    try:
        port = parts.port or (636 if implicit_tls else 389)
    except ValueError:
        raise Refusal(f"ldap.url {settings.url} has a port that is not a number from 1 to 65535.") from None
    security = "tls" if implicit_tls else settings.security
    return Target(settings.url, parts.hostname or "", port, security)


def _tls(target: Target, ca_bundle: Path | None, verify_tls: bool) -> ldap3.Tls:
    if ca_bundle is not None and not ca_bundle.is_file():
        raise Refusal(f"The LDAP CA bundle {ca_bundle} does not exist or is not a file: point it at the PEM file "
                      "holding the CA certificate that signed the LDAP server's certificate.")
    return ldap3.Tls(
        validate=ssl.CERT_REQUIRED if verify_tls else ssl.CERT_NONE,
        ca_certs_file=str(ca_bundle) if ca_bundle else None,  # None: the system's trusted CAs
        sni=target.host,
    )


def _causes(exc: BaseException) -> str:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return " ".join(str(e) for e in seen)


def _connection_sentence(exc: ldap_errors.LDAPException, target: Target, timeout_s: float) -> str:
    """One sentence for a connection that never got as far as an LDAP answer."""
    text = _causes(exc)
    lowered = text.lower()
    ssl_reason = _SSL_REASON.search(text)
    detail = ssl_reason.group(1).strip() if ssl_reason else _short(text)
    if "certificate verify failed" in lowered or "doesn't match" in lowered or "hostname mismatch" in lowered:
        return (f"The TLS certificate of {target.host} could not be verified ({detail}): give the collector the "
                "CA certificate that signed it (the LDAP CA bundle), or fix the certificate.")
    if "ssl" in lowered or "tls" in lowered or "wrong version number" in lowered:
        return (f"The TLS handshake with {target.where} failed ({detail}): is that port serving LDAPS, or should "
                "the URL be ldap:// with security starttls?")
    if "timed out" in lowered or "timeout" in lowered:
        return (f"Could not connect to the LDAP server at {target.where} within {timeout_s:g} s: check the host and "
                "port, and that no firewall drops the traffic.")
    if "refused" in lowered:
        return (f"Nothing is listening at {target.where} (connection refused): is the LDAP server running, and "
                "is the port in ldap.url right?")
    if "invalid server address" in lowered:  # ldap3's words for a host name getaddrinfo could not resolve
        return f"The host name {target.host!r} could not be resolved (DNS): check the spelling of ldap.url."
    return f"Could not reach the LDAP server at {target.where}: {detail}."


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _result_text(conn: ldap3.Connection) -> str:
    return _describe(conn.result or {})


def _open(conn: ldap3.Connection, target: Target, timeout_s: float) -> str | None:
    """Connect (and upgrade with STARTTLS when asked); the TLS version in use, if any."""
    try:
        conn.open()
    except ldap_errors.LDAPException as exc:
        raise Refusal(_connection_sentence(exc, target, timeout_s)) from None
    if target.security == "starttls":
        try:
            started = conn.start_tls(read_server_info=False)
        except ldap_errors.LDAPStartTLSError as exc:
            if "startTLS failed" in str(exc):  # the server answered the request with an LDAP error
                raise Refusal(
                    f"The LDAP server at {target.where} does not offer STARTTLS ({_result_text(conn)}): "
                    "enable TLS on the server, or use an ldaps:// URL with security tls if it serves LDAPS."
                ) from None
            raise Refusal(_connection_sentence(exc, target, timeout_s)) from None
        except ldap_errors.LDAPException as exc:
            raise Refusal(_connection_sentence(exc, target, timeout_s)) from None
        if not started:
            raise Refusal(f"The LDAP server at {target.where} did not start TLS after STARTTLS: "
                          "use an ldaps:// URL with security tls instead.")
    sock = conn.socket
    return sock.version() if isinstance(sock, ssl.SSLSocket) else None


def _read_root_dse(conn: ldap3.Connection, missing: dict[str, str]) -> dict[str, list[str]]:
    conn.search("", "(objectClass=*)", ldap3.BASE, attributes=["*", "+", *models.ROOT_DSE_ATTRIBUTES])
    entries = [item for item in conn.response or [] if item.get("type") == "searchResEntry"]
    if not entries:
        missing["Server identity"] = (
            f"Server identity: the server did not let us read its rootDSE ({_result_text(conn)}), so vendor, "
            "version and naming contexts are unknown.")
        return {}
    raw: dict[str, list[bytes]] = entries[0].get("raw_attributes") or {}
    return {name.lower(): [value.decode("utf-8", "replace") for value in values] for name, values in raw.items()}


def _under(dn: str, suffix: str) -> bool:
    def parts(value: str) -> list[tuple[str, str]]:
        return [(attr.lower(), val.lower()) for attr, val, _ in parse_dn(value)]

    try:
        child, parent = parts(dn), parts(suffix)
    except ldap_errors.LDAPInvalidDnError:
        return False
    return len(child) >= len(parent) and child[len(child) - len(parent):] == parent


def _valid_dn(dn: str) -> bool:
    try:
        parse_dn(dn)
    except ldap_errors.LDAPInvalidDnError:
        return False
    return bool(dn.strip())


def _exists(conn: ldap3.Connection, dn: str) -> bool | None:
    """Whether `dn` is an entry this connection can see; None when the server did not say."""
    if not _valid_dn(dn):
        return None
    conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=[ldap3.NO_ATTRIBUTES])
    code = (conn.result or {}).get("result")
    if code == 0:
        return True
    return False if code == NO_SUCH_OBJECT else None


def _describe(result: dict[str, Any]) -> str:
    description = result.get("description") or f"result code {result.get('result')}"
    message = (result.get("message") or "").strip()
    return f"{description}: {_short(message)}" if message else str(description)


def _bind_refusal(conn: ldap3.Connection, result: dict[str, Any], dn: str, naming_contexts: tuple[str, ...]) -> str:
    """Why the bind failed, as precisely as the server lets us tell (OpenLDAP says invalidCredentials for both
    a wrong password and an unknown DN, so the DN is looked up anonymously when the directory allows it)."""
    code = result.get("result")
    held = f" (the server holds {', '.join(naming_contexts)})" if naming_contexts else ""
    if code == INVALID_DN_SYNTAX:
        return (f"ldap.bind_dn {dn!r} is not a valid DN ({_describe(result)}): write it like "
                "cn=reader,dc=example,dc=com.")
    if code == CONFIDENTIALITY_REQUIRED:
        return (f"The LDAP server refuses binds over an unencrypted connection ({_describe(result)}): set "
                "ldap.security to starttls, or use an ldaps:// URL with security tls.")
    if code != INVALID_CREDENTIALS:
        return f"The LDAP server refused the bind for {dn} ({_describe(result)})."
    ad_reason = _AD_DATA.search(result.get("message") or "")
    reason = AD_BIND_REASONS.get(ad_reason.group(1).lower()) if ad_reason else None
    unknown = reason == "unknown"
    if reason is None and naming_contexts and not any(_under(dn, context) for context in naming_contexts):
        unknown = True
    if reason is None and not unknown:
        parent = dn.split(",", 1)[1] if "," in dn else ""
        # After a failed bind the session is anonymous: if it can see the parent but not the DN, there is no DN.
        if parent and _exists(conn, dn) is False and _exists(conn, parent) is True:
            unknown = True
    if unknown:
        return f"The LDAP server has no entry {dn} to bind as{held}: check ldap.bind_dn."
    if reason is not None:
        return f"The LDAP server refused the bind for {dn}: {reason}."
    return f"The LDAP server refused the bind for {dn}: wrong password or locked account."


def _count(conn: ldap3.Connection, base_dn: str, ldap_filter: str, limit: int, deadline: float) -> models.ObjectCount:
    count = 0
    cookie: bytes | None = None
    page = max(1, min(PAGE_SIZE, limit))
    while True:
        conn.search(base_dn, ldap_filter, ldap3.SUBTREE, attributes=[ldap3.NO_ATTRIBUTES],
                    paged_size=page, paged_cookie=cookie)
        count += sum(1 for item in conn.response or [] if item.get("type") == "searchResEntry")
        result = conn.result or {}
        code = result.get("result")
        if code in PARTIAL_SEARCH:
            return models.ObjectCount(count, complete=False, stopped_because=PARTIAL_SEARCH[code])
        if code != 0:
            raise Refusal(_result_text(conn))
        control = (result.get("controls") or {}).get(models.PAGED_RESULTS_CONTROL) or {}
        cookie = (control.get("value") or {}).get("cookie")
        if not cookie:
            return models.ObjectCount(count)
        if count >= limit:
            return models.ObjectCount(count, complete=False, stopped_because=f"the collector counts at most {limit}")
        if time.monotonic() > deadline:
            return models.ObjectCount(count, complete=False,
                                      stopped_because="counting ran out of time (ldap.timeout_seconds)")


def _count_fact(conn: ldap3.Connection, settings: LdapSettings, what: str, setting: str, ldap_filter: str,
                limit: int, deadline: float, missing: dict[str, str]) -> models.ObjectCount | None:
    fact = f"{what.capitalize()} count"
    try:
        return _count(conn, settings.base_dn, ldap_filter, limit, deadline)
    except ldap_errors.LDAPInvalidFilterError as exc:
        missing[fact] = (f"The {what} filter {ldap_filter} does not parse ({_short(str(exc))}): fix ldap.{setting}; "
                         "every part needs its parentheses, e.g. (&(objectClass=person)(uid=*)).")
    except Refusal as refusal:
        missing[fact] = f"{fact}: the server refused the search with ldap.{setting} {ldap_filter} ({refusal})."
    return None


def _server_version(conn: ldap3.Connection, vendor: str | None, root_dse: dict[str, list[str]]) -> str | None:
    """OpenLDAP keeps its version out of the rootDSE but shows it in cn=Monitor when the bind DN may read it."""
    monitor = (root_dse.get("monitorcontext") or [None])[0]
    if vendor != "OpenLDAP" or not monitor:
        return None
    conn.search(monitor, "(objectClass=*)", ldap3.BASE, attributes=["monitoredInfo"])
    for item in conn.response or []:
        for value in (item.get("raw_attributes") or {}).get("monitoredInfo", []):
            version = models.slapd_version(value.decode("utf-8", "replace"))
            if version:
                return version
    return None


def _skipped(missing: dict[str, str], facts: tuple[str, ...], because: str) -> None:
    for fact in facts:
        missing.setdefault(fact, f"{fact}: not read, because {because}.")


def _converse(settings: LdapSettings, conn: ldap3.Connection, target: Target,
              count_limit: int) -> tuple[SourceStatus, models.LdapFacts, str | None]:
    """Everything after the socket is open: bind, identity, base DN, counts."""
    tls_version = _open(conn, target, settings.timeout_seconds)
    bind_result, bind_ms = models.BindResult.ANONYMOUS, None
    if settings.bind_dn:
        started = time.perf_counter()
        bound = conn.bind()
        bind_ms = (time.perf_counter() - started) * 1000
        bind_result = models.BindResult.SUCCESS if bound else models.BindResult.REFUSED
        refusal = None if bound else dict(conn.result or {})
    # Read after the bind: some directories answer only bound clients, and a refused bind leaves an anonymous one.
    missing: dict[str, str] = {}
    root_dse = _read_root_dse(conn, missing)
    vendor, vendor_version = models.identify_vendor(root_dse)
    naming_contexts = tuple(root_dse.get("namingcontexts", []))
    if bind_result is not models.BindResult.REFUSED:
        vendor_version = vendor_version or _server_version(conn, vendor, root_dse)
    facts = models.LdapFacts(
        url=settings.url, security=target.security, tls_version=tls_version, vendor=vendor,
        vendor_version=vendor_version, supported_ldap_versions=models.ldap_versions(root_dse),
        naming_contexts=naming_contexts,
        supports_paged_results=models.PAGED_RESULTS_CONTROL in root_dse.get("supportedcontrol", []),
        base_dn=settings.base_dn, base_dn_exists=None, bind_dn=settings.bind_dn, bind_result=bind_result,
        users=None, groups=None, bind_ms=bind_ms, query_ms=None, count_ms=None, missing=missing,
    )
    if bind_result is models.BindResult.REFUSED:
        sentence = _bind_refusal(conn, refusal, settings.bind_dn or "", naming_contexts)
        _skipped(missing, ("Base DN", "User count", "Group count"), "the bind failed")
        return SourceStatus.ERROR, facts, sentence

    started = time.perf_counter()
    exists = _exists(conn, settings.base_dn)
    facts = replace(facts, base_dn_exists=exists, query_ms=(time.perf_counter() - started) * 1000)
    if not exists:
        sentence = _base_dn_sentence(conn, settings, target, naming_contexts, exists)
        missing["Base DN"] = sentence
        _skipped(missing, ("User count", "Group count"), "the base DN could not be read")
        return SourceStatus.ERROR, facts, sentence

    started = time.perf_counter()
    deadline = time.monotonic() + settings.timeout_seconds
    users = _count_fact(conn, settings, "user", "user_filter", settings.user_filter, count_limit, deadline, missing)
    groups = _count_fact(conn, settings, "group", "group_filter", settings.group_filter, count_limit, deadline,
                         missing)
    facts = replace(facts, users=users, groups=groups, count_ms=(time.perf_counter() - started) * 1000)
    if missing:
        first = next(iter(missing.values()))
        more = len(missing) - 1
        return SourceStatus.DEGRADED, facts, first + (f" (and {more} more missing)" if more else "")
    return SourceStatus.OK, facts, None


def _base_dn_sentence(conn: ldap3.Connection, settings: LdapSettings, target: Target,
                      naming_contexts: tuple[str, ...], exists: bool | None) -> str:
    held = f" (it holds {', '.join(naming_contexts)})" if naming_contexts else ""
    if not _valid_dn(settings.base_dn):
        return f"ldap.base_dn {settings.base_dn!r} is not a valid DN: write it like dc=example,dc=com."
    if exists is None:
        return (f"The base DN {settings.base_dn} could not be read on {target.where} ({_result_text(conn)}): "
                "check ldap.base_dn and the bind DN's read rights.")
    if (conn.result or {}).get("result") == INVALID_DN_SYNTAX:
        return f"ldap.base_dn {settings.base_dn!r} is not a valid DN ({_result_text(conn)})."
    hidden = "" if settings.bind_dn else ", or anonymous clients may not see it (set ldap.bind_dn)"
    return f"The base DN {settings.base_dn} does not exist on {target.where}{held}{hidden}: correct ldap.base_dn."


def _probe(settings: LdapSettings, ca_bundle: Path | None, verify_tls: bool,
           count_limit: int) -> tuple[SourceStatus, models.LdapFacts | None, str | None]:
    if settings.bind_dn and not (settings.bind_password and settings.bind_password.get_secret_value()):
        return SourceStatus.ERROR, None, (
            f"ldap.bind_dn is set to {settings.bind_dn} but ldap.bind_password is empty: set the password, or "
            "remove bind_dn to connect anonymously.")
    try:
        target = _target(settings)
        tls = _tls(target, ca_bundle, verify_tls)
    except Refusal as refusal:
        return SourceStatus.ERROR, None, str(refusal)
    timeout_s = settings.timeout_seconds
    server = ldap3.Server(target.host, port=target.port, use_ssl=target.security == "tls", tls=tls,
                          get_info=ldap3.NONE, connect_timeout=timeout_s)
    conn = ldap3.Connection(
        server,
        user=settings.bind_dn or None,
        password=settings.bind_password.get_secret_value() if settings.bind_dn and settings.bind_password else None,
        authentication=ldap3.SIMPLE if settings.bind_dn else ldap3.ANONYMOUS,
        auto_bind=ldap3.AUTO_BIND_NONE,
        receive_timeout=math.ceil(timeout_s),  # ldap3 packs it into SO_RCVTIMEO as whole seconds
        read_only=True,
        auto_referrals=False,  # chasing Active Directory's referrals means DNS lookups and binds elsewhere
        raise_exceptions=False,
    )
    try:
        return _converse(settings, conn, target, count_limit)
    except Refusal as refusal:
        return SourceStatus.ERROR, None, str(refusal)
    except ldap_errors.LDAPException as exc:
        # The socket failed mid-conversation: a receive timeout, or the server closed the connection.
        return SourceStatus.ERROR, None, _midway_sentence(exc, target, timeout_s)
    finally:
        with contextlib.suppress(ldap_errors.LDAPException, OSError):
            conn.unbind()


def _midway_sentence(exc: ldap_errors.LDAPException, target: Target, timeout_s: float) -> str:
    text = _causes(exc).lower()
    if "timed out" in text or "timeout" in text:
        return (f"The LDAP server at {target.where} accepted the connection but did not answer within "
                f"{timeout_s:g} s: it may be overloaded; raise ldap.timeout_seconds if it is just slow.")
    return f"The LDAP server at {target.where} ended the conversation early ({_short(_causes(exc))})."


async def collect(
    settings: LdapSettings,
    client: object = None,
    *,
    ca_bundle: Path | None = None,
    verify_tls: bool | None = None,
    count_limit: int = COUNT_LIMIT,
) -> SourceResult:
    """Probe the directory. `client` is unused (LDAP is not HTTP). `ca_bundle` and `verify_tls` override the
    settings' fields of those names; without a CA bundle the system's CAs are trusted."""
    started = time.perf_counter()
    ca = ca_bundle if ca_bundle is not None else settings.ca_bundle
    verify = verify_tls if verify_tls is not None else settings.verify_tls
    status, facts, error = await asyncio.to_thread(_probe, settings, ca, verify, count_limit)
    return SourceResult(SOURCE, status, facts, error, (time.perf_counter() - started) * 1000)
