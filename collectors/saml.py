"""SAML identity provider collector: reads the IdP metadata Mattermost uses and reports what it promises.

The metadata comes from a remote server, so it is parsed with defusedxml and never with a parser that would
expand entities or fetch external references.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import defusedxml.ElementTree as SafeET
import httpx
from defusedxml import DefusedXmlException

from collectors import saml_models as models
from collectors.base import SourceResult, SourceStatus
from collectors.http_errors import describe_transport_error
from settings import SamlSettings

SERVICE = "the SAML identity provider"
MD = "{urn:oasis:names:tc:SAML:2.0:metadata}"
DS = "{http://www.w3.org/2000/09/xmldsig#}"
# One IdP's metadata is a few kB; federation aggregates (tens of MB) are not what Mattermost is pointed at.
MAX_METADATA_BYTES = 5 * 1024 * 1024
ACCEPT = "application/samlmetadata+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"


class Unusable(Exception):
    """The metadata cannot be used at all; the message is the sentence for the person."""


@dataclass(frozen=True)
class Download:
    content: bytes
    content_type: str


def _timeout_s(client: httpx.AsyncClient) -> float:
    timeout = client.timeout
    return timeout.read or timeout.connect or 0.0


async def fetch(url: str, client: httpx.AsyncClient) -> Download:
    """GET the metadata, following redirects as Mattermost does, and stop reading at MAX_METADATA_BYTES."""
    try:
        async with client.stream("GET", url, headers={"Accept": ACCEPT}, follow_redirects=True) as response:
            if response.status_code >= 400:
                raise Unusable(_describe_status(response.status_code, url))
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_METADATA_BYTES:
                    raise Unusable(
                        f"The metadata at {url} is larger than {MAX_METADATA_BYTES // (1024 * 1024)} MB, which "
                        "suggests a federation aggregate: use the metadata URL of your own identity provider.")
                chunks.append(chunk)
            return Download(b"".join(chunks), response.headers.get("Content-Type", ""))
    except httpx.HTTPError as exc:
        raise Unusable(describe_transport_error(exc, SERVICE, url, _timeout_s(client))) from None


def _describe_status(code: int, url: str) -> str:
    if code in (401, 403):
        return (f"The identity provider asks for sign-in (HTTP {code}) at {url}: Mattermost fetches metadata "
                "without credentials, so use the IdP's public metadata URL.")
    if code == 404:
        return (f"The identity provider has no metadata at {url} (HTTP 404): copy the metadata URL again from "
                "the IdP's settings for the Mattermost application and set saml.metadata_url.")
    if code >= 500:
        return (f"The identity provider answered HTTP {code} for {url}: it may be down or failing; "
                "check its status and log.")
    return f"The identity provider answered HTTP {code} for {url}: check saml.metadata_url."


def parse_xml(download: Download, url: str) -> ET.Element:
    web_page = Unusable(f"{url} returned a web page instead of SAML metadata, perhaps a sign-in page: use the "
                        "IdP's metadata URL (it needs no sign-in and returns XML).")
    if download.content[:200].lstrip(b"\xef\xbb\xbf \t\r\n").lower().startswith((b"<!doctype html", b"<html")):
        raise web_page
    try:
        return SafeET.fromstring(download.content, forbid_dtd=True)
    except DefusedXmlException:
        raise Unusable(
            f"The metadata at {url} declares a DTD or entities, which SAML metadata never needs: it was not parsed "
            "(the server may be misconfigured or hostile); check the URL and the IdP.") from None
    except ET.ParseError as exc:
        if "html" in download.content_type:
            raise web_page from None
        answered = download.content_type.split(";")[0] or "no content type"
        raise Unusable(f"{url} did not return XML ({answered}; {exc}): check that saml.metadata_url is the "
                       "IdP's metadata URL.") from None


def idp_entity(root: ET.Element, url: str) -> tuple[ET.Element, ET.Element]:
    """The one EntityDescriptor with an IDPSSODescriptor (and that descriptor), whether the document is one
    entity or a list of them."""
    if root.tag == MD + "EntityDescriptor":
        entities = [root]
    elif root.tag == MD + "EntitiesDescriptor":
        entities = list(root.iter(MD + "EntityDescriptor"))
    else:
        name = root.tag.rpartition("}")[2]
        raise Unusable(f"{url} returned XML, but not SAML metadata (the document is <{name}>, not "
                       "<EntityDescriptor>): check that saml.metadata_url is the IdP's metadata URL.")
    idps = [(e, d) for e in entities if (d := e.find(MD + "IDPSSODescriptor")) is not None]
    if not idps:
        if any(e.find(MD + "SPSSODescriptor") is not None for e in entities):
            raise Unusable(f"{url} is a service provider's metadata (perhaps Mattermost's own /api/v4/saml/metadata)"
                           ", not an identity provider's: use the IdP's metadata URL.")
        raise Unusable(f"The SAML metadata at {url} describes no identity provider (no IDPSSODescriptor): "
                       "use the IdP's metadata URL.")
    if len(idps) > 1:
        raise Unusable(f"The SAML metadata at {url} lists {len(idps)} identity providers (a federation "
                       "aggregate): use the metadata URL of your own identity provider.")
    return idps[0]


def _valid_until(elements: list[ET.Element], missing: dict[str, str]) -> datetime | None:
    moments = []
    for element in elements:
        raw = element.get("validUntil")
        if raw is None:
            continue
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            missing["Valid until"] = f"Valid until: the metadata's validUntil {raw!r} is not a date and time."
            continue
        moments.append(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    return min(moments, default=None)


def _signing_certificates(idp: ET.Element, now: datetime,
                          missing: dict[str, str]) -> tuple[models.SigningCertificate, ...]:
    """Certificates of KeyDescriptors for signing; one without `use` serves both signing and encryption."""
    found: dict[str, models.SigningCertificate] = {}
    number = 0
    for descriptor in idp.findall(MD + "KeyDescriptor"):
        if descriptor.get("use", "signing") != "signing":
            continue
        for element in descriptor.iter(DS + "X509Certificate"):
            number += 1
            try:
                certificate = models.parse_certificate(element.text or "", now)
            except ValueError as exc:
                missing[f"Signing certificate {number}"] = (
                    f"Signing certificate {number} in the metadata could not be read ({exc}): the IdP's metadata is "
                    "damaged; download it again or ask the IdP's administrator.")
                continue
            found.setdefault(certificate.sha256_fingerprint, certificate)
    return tuple(found.values())


def build_facts(url: str, root: ET.Element, entity: ET.Element, descriptor: ET.Element,
                now: datetime) -> models.SamlFacts:
    missing: dict[str, str] = {}
    sso = tuple(models.SamlEndpoint(s.get("Binding"), s.get("Location"))
                for s in descriptor.findall(MD + "SingleSignOnService"))
    if not sso:
        missing["Sign-in URL"] = (f"The SAML metadata at {url} lists no SingleSignOnService: Mattermost needs the "
                                  "IdP's sign-in URL; fix the IdP's metadata or enter the URL by hand.")
    certificates = _signing_certificates(descriptor, now, missing)
    if not certificates and not any(key.startswith("Signing certificate") for key in missing):
        missing["Signing certificate"] = (
            f"The SAML metadata at {url} lists no signing certificate, so Mattermost cannot verify the IdP's "
            "answers: add the IdP's signing certificate to its metadata, or upload it in Mattermost's "
            "System Console > SAML 2.0.")
    return models.SamlFacts(
        metadata_url=url,
        provider_type=models.provider_type(url),
        entity_id=entity.get("entityID"),
        sso_services=sso,
        signing_certificates=certificates,
        metadata_signed=any(e.find(DS + "Signature") is not None for e in (root, entity)),
        valid_until=_valid_until([root, entity], missing),
        name_id_formats=tuple(n.text.strip() for n in descriptor.findall(MD + "NameIDFormat") if n.text),
        missing=missing,
    )


def _judge(facts: models.SamlFacts) -> tuple[SourceStatus, str | None]:
    # An expired certificate or validUntil in the past is a fact for the health rules, not a failure to read.
    if not facts.missing:
        return SourceStatus.OK, None
    first = facts.missing.get("Signing certificate") or next(iter(facts.missing.values()))
    more = len(facts.missing) - 1
    return SourceStatus.DEGRADED, first + (f" (and {more} more missing)" if more else "")


async def collect(settings: SamlSettings, client: httpx.AsyncClient) -> SourceResult:
    started = time.perf_counter()

    def result(status: SourceStatus, data: Any = None, error: str | None = None) -> SourceResult:
        return SourceResult("saml", status, data, error, (time.perf_counter() - started) * 1000)

    url = settings.metadata_url
    try:
        download = await fetch(url, client)
        root = parse_xml(download, url)
        entity, descriptor = idp_entity(root, url)
    except Unusable as exc:
        return result(SourceStatus.ERROR, error=str(exc))
    facts = build_facts(url, root, entity, descriptor, datetime.now(UTC))
    status, error = _judge(facts)
    return result(status, facts, error)
