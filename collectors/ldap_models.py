"""Typed facts read from an LDAP directory, and the rules that recognise the directory product from its rootDSE."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

# rootDSE attributes worth asking for by name: some servers only return operational ones when named.
ROOT_DSE_ATTRIBUTES = (
    "objectClass", "vendorName", "vendorVersion", "supportedLDAPVersion", "namingContexts", "supportedControl",
    "supportedExtension", "monitorContext", "forestFunctionality", "domainControllerFunctionality",
    "isGlobalCatalogReady", "dsServiceName", "netscapemdsuffix", "defaultNamingContext",
)
PAGED_RESULTS_CONTROL = "1.2.840.113556.1.4.319"

# Active Directory's domainControllerFunctionality values (MS-ADTS 6.1.4.2) and the Windows Server they stand for.
AD_FUNCTIONAL_LEVELS = {
    "0": "2000", "1": "2003 interim", "2": "2003", "3": "2008", "4": "2008 R2", "5": "2012", "6": "2012 R2",
    "7": "2016", "10": "2025",
}


@dataclass(frozen=True)
class VendorRule:
    """A product recognised by a pattern over "vendorName vendorVersion"; `version` captures its version."""

    vendor: str
    pattern: re.Pattern[str]
    version: re.Pattern[str] | None = None


# Ordered: the first matching rule wins, so the more specific products come first.
VENDOR_RULES = (
    VendorRule("389 Directory Server", re.compile(r"389[- ]Directory|389 Project", re.I),
               re.compile(r"389-Directory/(\d[\w.]*)")),
    VendorRule("Red Hat Directory Server", re.compile(r"Red Hat[- ]Directory", re.I),
               re.compile(r"Red Hat-Directory/(\d[\w.]*)")),
    VendorRule("Oracle Unified Directory", re.compile(r"Oracle Unified Directory", re.I),
               re.compile(r"Oracle Unified Directory\s+(\d[\w.]*)")),
    VendorRule("Oracle Internet Directory", re.compile(r"Oracle Internet Directory|\bOID\b", re.I),
               re.compile(r"(\d+(?:\.\d+)+)")),
    VendorRule("Oracle Directory Server", re.compile(r"Sun[- ]Directory|Sun Java|Oracle", re.I),
               re.compile(r"Directory[- ]Server/(\d[\w.]*)|(\d+(?:\.\d+)+)")),
    VendorRule("ForgeRock Directory Services", re.compile(r"ForgeRock|OpenDJ|Ping Identity", re.I),
               re.compile(r"(\d+(?:\.\d+)+)")),
    VendorRule("NetIQ eDirectory", re.compile(r"eDirectory|Novell|NetIQ", re.I),
               re.compile(r"eDirectory\s+v?(\d[\w.]*)|(\d+(?:\.\d+)+)")),
    VendorRule("Apache Directory Server", re.compile(r"Apache Software Foundation|ApacheDS", re.I),
               re.compile(r"(\d[\w.-]*)")),
    VendorRule("Samba Active Directory", re.compile(r"Samba", re.I), re.compile(r"(\d+(?:\.\d+)+)")),
    VendorRule("OpenLDAP", re.compile(r"OpenLDAP", re.I), re.compile(r"(\d+(?:\.\d+)+)")),
)
# OpenLDAP's back-monitor says e.g. "OpenLDAP: slapd 2.5.13+dfsg-5 (Feb  8 2023 01:56:12)".
SLAPD_VERSION = re.compile(r"slapd\s+(\d+(?:\.\d+)+)")


class BindResult(StrEnum):
    ANONYMOUS = "anonymous"  # no bind DN configured
    SUCCESS = "success"
    REFUSED = "refused"


@dataclass(frozen=True)
class ObjectCount:
    """How many entries matched; when counting stopped early the directory holds at least `count`."""

    count: int
    complete: bool = True
    stopped_because: str | None = None  # why counting stopped early, e.g. the server's size limit

    def __str__(self) -> str:
        return str(self.count) if self.complete else f"at least {self.count}"


@dataclass(frozen=True)
class LdapFacts:
    url: str
    security: str  # what protected the connection: "none", "tls" (LDAPS) or "starttls"
    tls_version: str | None  # e.g. "TLSv1.3"; None on a plain connection
    vendor: str | None  # None when neither the rootDSE's vendorName nor any known trait names the product
    vendor_version: str | None  # None when the server does not say (OpenLDAP tells it only through cn=Monitor)
    supported_ldap_versions: tuple[int, ...]
    naming_contexts: tuple[str, ...]
    supports_paged_results: bool
    base_dn: str
    base_dn_exists: bool | None  # None when it could not be checked
    bind_dn: str | None
    bind_result: BindResult
    users: ObjectCount | None
    groups: ObjectCount | None
    bind_ms: float | None  # None for an anonymous connection (no bind request sent)
    query_ms: float | None  # one round trip: reading the base DN entry
    count_ms: float | None  # both counting searches together
    missing: dict[str, str] = field(default_factory=dict)  # fact -> why it could not be read


def _first(root_dse: dict[str, list[str]], name: str) -> str | None:
    values = root_dse.get(name.lower())
    return values[0].strip() if values and values[0].strip() else None


def _captured(pattern: re.Pattern[str] | None, text: str) -> str | None:
    match = pattern.search(text) if pattern else None
    if match is None:
        return None
    return next((group for group in match.groups() if group), None)


def identify_vendor(root_dse: dict[str, list[str]]) -> tuple[str | None, str | None]:
    """(product, version) from a rootDSE whose attribute names are lower-case.

    vendorName/vendorVersion (RFC 3045) win; servers that omit them are recognised by traits of their rootDSE.
    """
    vendor_name = _first(root_dse, "vendorName") or ""
    vendor_version = _first(root_dse, "vendorVersion") or ""
    said = f"{vendor_name} {vendor_version}".strip()
    if said:
        for rule in VENDOR_RULES:
            if rule.pattern.search(said):
                return rule.vendor, _captured(rule.version, vendor_version) or _captured(rule.version, said)
        return vendor_name or said, vendor_version or None
    object_classes = {value.lower() for value in root_dse.get("objectclass", [])}
    if "openldaprootdse" in object_classes:
        return "OpenLDAP", None
    if any(name in root_dse for name in ("forestfunctionality", "isglobalcatalogready", "dsservicename")):
        level = _first(root_dse, "domainControllerFunctionality")
        known = AD_FUNCTIONAL_LEVELS.get(level or "")
        return "Active Directory", f"Windows Server {known} functional level" if known else None
    if "netscapemdsuffix" in root_dse:
        return "389 Directory Server", None
    return None, None


def slapd_version(monitored_info: str) -> str | None:
    return _captured(SLAPD_VERSION, monitored_info)


def ldap_versions(root_dse: dict[str, list[str]]) -> tuple[int, ...]:
    return tuple(sorted(int(value) for value in root_dse.get("supportedldapversion", []) if value.strip().isdigit()))
