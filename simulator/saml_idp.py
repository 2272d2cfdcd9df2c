"""A stand-in SAML identity provider: IdP metadata in the shapes Okta, Keycloak, ADFS, Shibboleth and
SimpleSAMLphp publish, at the paths they publish it on, plus a redirect and the wrong answers a metadata URL can give.

Certificates are made at start, so their validity is relative to now: Okta-style and Shibboleth-style metadata
carry one valid for about a year, Keycloak-style one that expires in 10 days, ADFS-style an expired one (and the
metadata is signed). The SimpleSAMLphp-style metadata has an encryption certificate only.

Provider detection reads the URL (Mattermost's table): the Keycloak (/realms/), ADFS (/FederationMetadata/)
and Shibboleth (/idp/shibboleth) paths are recognised on any host; Okta is recognised by its *.okta.com host
name only, so on loopback the Okta-style metadata is reported as "unknown", as Mattermost would.
"""

from __future__ import annotations

import base64
import hashlib
import tempfile
import textwrap
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from simulator.self_signed import KeyPair, new_key, self_signed
from simulator.threaded_server import ThreadedServer, serve_in_thread

MD_NS = "urn:oasis:names:tc:SAML:2.0:metadata"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
SHIBMD_NS = "urn:mace:shibboleth:metadata:1.0"
MD, DS = f"{{{MD_NS}}}", f"{{{DS_NS}}}"
PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol"
BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:"
NAMEID = "urn:oasis:names:tc:SAML:{}:nameid-format:{}"
for _prefix, _uri in (("md", MD_NS), ("ds", DS_NS), ("shibmd", SHIBMD_NS)):
    ET.register_namespace(_prefix, _uri)

# The paths each product publishes its metadata on.
PATHS = {
    "okta": "/app/exk123/sso/saml/metadata",
    "keycloak": "/realms/acme/protocol/saml/descriptor",
    "adfs": "/FederationMetadata/2007-06/FederationMetadata.xml",
    "shibboleth": "/idp/shibboleth",
    "simplesamlphp": "/simplesaml/saml2/idp/metadata.php",
}
# Other answers a metadata URL can give: a redirect to the Okta-style metadata, and wrong answers.
OTHER_PATHS = {
    "redirect": "/metadata",
    "login-page": "/login",
    "oidc-discovery": "/.well-known/openid-configuration",
    "not-metadata": "/feed.xml",
    "sp-metadata": "/api/v4/saml/metadata",
    "aggregate": "/federation/metadata.xml",
    "entity-expansion": "/evil/metadata.xml",
}
ADFS_HOST = "adfs.acme.test"
METADATA_TYPE = "application/samlmetadata+xml"


@dataclass(frozen=True)
class IdpCertificates:
    valid: KeyPair  # about a year left
    expiring: KeyPair  # 10 days left
    expired: KeyPair  # expired 30 days ago
    adfs_encryption: KeyPair
    shibboleth: KeyPair
    simplesamlphp_encryption: KeyPair

    @classmethod
    def make(cls, now: datetime) -> IdpCertificates:
        signing, encryption = new_key(), new_key()
        day = timedelta(days=1)
        return cls(
            valid=self_signed("CN=acme,OU=SSOProvider,O=Okta,L=San Francisco,ST=California,C=US",
                              now - day, now + 365 * day, key=signing),
            expiring=self_signed("CN=acme", now - 355 * day, now + 10 * day, key=signing),
            expired=self_signed(f"CN=ADFS Signing - {ADFS_HOST}", now - 395 * day, now - 30 * day, key=signing),
            adfs_encryption=self_signed(f"CN=ADFS Encryption - {ADFS_HOST}", now - 30 * day, now + 335 * day,
                                        key=encryption),
            shibboleth=self_signed("CN=idp.acme.test", now - day, now + 365 * day, key=signing),
            simplesamlphp_encryption=self_signed("CN=simplesaml.acme.test,O=Acme", now - day, now + 365 * day,
                                                 key=encryption),
        )

    def signing_for(self, style: str) -> KeyPair | None:
        """The signing certificate the metadata of `style` carries (None: it carries none)."""
        return {"okta": self.valid, "keycloak": self.expiring, "adfs": self.expired,
                "shibboleth": self.shibboleth}.get(style)


def _element(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    child = ET.SubElement(parent, tag, attributes)
    child.text = text
    return child


def _key_descriptor(parent: ET.Element, pair: KeyPair, use: str | None, *, wrap: bool = False,
                    key_name: str | None = None) -> None:
    descriptor = _element(parent, MD + "KeyDescriptor", **({"use": use} if use else {}))
    key_info = _element(descriptor, DS + "KeyInfo")
    if key_name:
        _element(key_info, DS + "KeyName", key_name)
    text = pair.certificate_base64()
    if wrap:  # Shibboleth prints the certificate over indented 64-character lines
        text = "\n" + textwrap.indent("\n".join(textwrap.wrap(text, 64)), " " * 20) + "\n"
    _element(_element(key_info, DS + "X509Data"), DS + "X509Certificate", text)


def _idp(entity: ET.Element, **attributes: str) -> ET.Element:
    return _element(entity, MD + "IDPSSODescriptor", protocolSupportEnumeration=PROTOCOL, **attributes)


def _sso(idp: ET.Element, location: str, *bindings: str) -> None:
    for binding in bindings:
        _element(idp, MD + "SingleSignOnService", Binding=BINDING + binding, Location=location)


def okta(base: str, certs: IdpCertificates) -> ET.Element:
    entity = ET.Element(MD + "EntityDescriptor", entityID="http://www.okta.com/exk123")
    idp = _idp(entity, WantAuthnRequestsSigned="false")
    _key_descriptor(idp, certs.valid, "signing")
    _element(idp, MD + "NameIDFormat", NAMEID.format("1.1", "unspecified"))
    _element(idp, MD + "NameIDFormat", NAMEID.format("1.1", "emailAddress"))
    _sso(idp, f"{base}/app/acme_mattermost_1/exk123/sso/saml", "HTTP-POST", "HTTP-Redirect")
    return entity


def keycloak(base: str, certs: IdpCertificates) -> ET.Element:
    # Keycloak wraps its one entity in an EntitiesDescriptor named urn:keycloak.
    entities = ET.Element(MD + "EntitiesDescriptor", Name="urn:keycloak")
    realm = f"{base}/realms/acme"
    entity = _element(entities, MD + "EntityDescriptor", entityID=realm)
    idp = _idp(entity, WantAuthnRequestsSigned="true")
    _key_descriptor(idp, certs.expiring, "signing", key_name="q3Jd8lSlQ0s2fE-gE0t2Jgz1wF5xX9zFOT3H4CkzU6A")
    _element(idp, MD + "SingleLogoutService", Binding=BINDING + "HTTP-POST", Location=f"{realm}/protocol/saml")
    for name_id in (("2.0", "persistent"), ("2.0", "transient"), ("1.1", "unspecified"), ("1.1", "emailAddress")):
        _element(idp, MD + "NameIDFormat", NAMEID.format(*name_id))
    _sso(idp, f"{realm}/protocol/saml", "HTTP-POST", "HTTP-Redirect", "SOAP", "HTTP-Artifact")
    return entities


def adfs(base: str, certs: IdpCertificates) -> ET.Element:
    entity_id = f"_{uuid.uuid4()}"
    entity = ET.Element(MD + "EntityDescriptor", ID=entity_id, entityID=f"http://{ADFS_HOST}/adfs/services/trust")
    sp = _element(entity, MD + "SPSSODescriptor", WantAssertionsSigned="true", protocolSupportEnumeration=PROTOCOL)
    _key_descriptor(sp, certs.adfs_encryption, "encryption")
    _key_descriptor(sp, certs.expired, "signing")
    _element(sp, MD + "AssertionConsumerService", Binding=BINDING + "HTTP-POST", Location=f"{base}/adfs/ls/",
             index="0", isDefault="true")
    idp = _idp(entity)
    _key_descriptor(idp, certs.adfs_encryption, "encryption")
    _key_descriptor(idp, certs.expired, "signing")
    _element(idp, MD + "SingleLogoutService", Binding=BINDING + "HTTP-Redirect", Location=f"{base}/adfs/ls/")
    for name_id in (("1.1", "emailAddress"), ("2.0", "persistent"), ("2.0", "transient")):
        _element(idp, MD + "NameIDFormat", NAMEID.format(*name_id))
    _sso(idp, f"{base}/adfs/ls/", "HTTP-Redirect", "HTTP-POST")
    _sign(entity, entity_id, certs.expired)
    return entity


def _sign(entity: ET.Element, reference_id: str, pair: KeyPair) -> None:
    """An enveloped signature in the shape ADFS puts first in its metadata. The digest and signature are real
    RSA-SHA256 values over C14N 2.0 (the standard library's), not the exclusive C14N 1.0 the elements name, so
    an XML-DSig verifier would reject them; the collector reports only that the metadata carries a signature."""
    digest = hashlib.sha256(ET.canonicalize(ET.tostring(entity, encoding="unicode")).encode()).digest()
    signature = ET.Element(DS + "Signature")
    signed_info = _element(signature, DS + "SignedInfo")
    exclusive = "http://www.w3.org/2001/10/xml-exc-c14n#"
    _element(signed_info, DS + "CanonicalizationMethod", Algorithm=exclusive)
    _element(signed_info, DS + "SignatureMethod", Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
    reference = _element(signed_info, DS + "Reference", URI=f"#{reference_id}")
    transforms = _element(reference, DS + "Transforms")
    _element(transforms, DS + "Transform", Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature")
    _element(transforms, DS + "Transform", Algorithm=exclusive)
    _element(reference, DS + "DigestMethod", Algorithm="http://www.w3.org/2001/04/xmlenc#sha256")
    _element(reference, DS + "DigestValue", base64.b64encode(digest).decode())
    assert isinstance(pair.key, rsa.RSAPrivateKey)
    value = pair.key.sign(ET.canonicalize(ET.tostring(signed_info, encoding="unicode")).encode(),
                          padding.PKCS1v15(), hashes.SHA256())
    _element(signature, DS + "SignatureValue", base64.b64encode(value).decode())
    key_info = _element(signature, DS + "KeyInfo")
    _element(_element(key_info, DS + "X509Data"), DS + "X509Certificate", pair.certificate_base64())
    entity.insert(0, signature)


def shibboleth(base: str, certs: IdpCertificates) -> ET.Element:
    valid_until = (datetime.now(UTC) + timedelta(days=14)).strftime("%Y-%m-%dT%H:%M:%SZ")
    entity = ET.Element(MD + "EntityDescriptor", entityID=f"{base}/idp/shibboleth", validUntil=valid_until)
    idp = _idp(entity)
    idp.set("protocolSupportEnumeration", f"{PROTOCOL} urn:oasis:names:tc:SAML:1.1:protocol urn:mace:shibboleth:1.0")
    _element(_element(idp, MD + "Extensions"), f"{{{SHIBMD_NS}}}Scope", "acme.test", regexp="false")
    _key_descriptor(idp, certs.shibboleth, None, wrap=True)  # no `use`: for signing and encryption alike
    _element(idp, MD + "NameIDFormat", NAMEID.format("2.0", "transient"))
    _element(idp, MD + "SingleSignOnService", Binding="urn:mace:shibboleth:1.0:profiles:AuthnRequest",
             Location=f"{base}/idp/profile/Shibboleth/SSO")
    for binding, path in (("HTTP-POST", "POST"), ("HTTP-POST-SimpleSign", "POST-SimpleSign"),
                          ("HTTP-Redirect", "Redirect")):
        _sso(idp, f"{base}/idp/profile/SAML2/{path}/SSO", binding)
    return entity


def simplesamlphp(base: str, certs: IdpCertificates) -> ET.Element:
    entity = ET.Element(MD + "EntityDescriptor", entityID=f"{base}/simplesaml/saml2/idp/metadata.php")
    idp = _idp(entity)
    _key_descriptor(idp, certs.simplesamlphp_encryption, "encryption")
    _element(idp, MD + "NameIDFormat", NAMEID.format("2.0", "transient"))
    _sso(idp, f"{base}/simplesaml/saml2/idp/SSOService.php", "HTTP-Redirect")
    return entity


def sp_metadata(base: str, certs: IdpCertificates) -> ET.Element:
    """What Mattermost's own /api/v4/saml/metadata serves: a service provider, a common mix-up."""
    entity = ET.Element(MD + "EntityDescriptor", entityID=f"{base}/login/sso/saml")
    sp = _element(entity, MD + "SPSSODescriptor", protocolSupportEnumeration=PROTOCOL)
    _element(sp, MD + "NameIDFormat", NAMEID.format("1.1", "emailAddress"))
    _element(sp, MD + "AssertionConsumerService", Binding=BINDING + "HTTP-POST", Location=f"{base}/login/sso/saml",
             index="0")
    return entity


def aggregate(base: str, certs: IdpCertificates) -> ET.Element:
    """A federation's list of many identity providers."""
    entities = ET.Element(MD + "EntitiesDescriptor", Name="https://federation.acme.test")
    entities.append(okta(base, certs))
    entities.append(shibboleth(base, certs))
    return entities


STYLES: dict[str, Callable[[str, IdpCertificates], ET.Element]] = {
    "okta": okta, "keycloak": keycloak, "adfs": adfs, "shibboleth": shibboleth, "simplesamlphp": simplesamlphp,
    "sp-metadata": sp_metadata, "aggregate": aggregate,
}
CONTENT_TYPES = {"okta": "application/xml", "keycloak": "application/xml;charset=UTF-8",
                 "simplesamlphp": "application/samlmetadata+xml", "sp-metadata": "application/xml"}
LOGIN_PAGE = ("<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body><form method=\"post\">"
              "<input name=\"username\"><input name=\"password\" type=\"password\"></form></body></html>")
ATOM_FEED = ('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
             "<title>Acme status</title><updated>2026-01-01T00:00:00Z</updated></feed>")
# A small "billion laughs": defused parsers must refuse the entity declarations without expanding anything.
ENTITY_EXPANSION = ('<?xml version="1.0"?>\n<!DOCTYPE md:EntityDescriptor [\n<!ENTITY lol "lol">\n'
                    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n]>\n'
                    f'<md:EntityDescriptor xmlns:md="{MD_NS}" entityID="&lol2;"/>')


def _base_url(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def build_app(certs: IdpCertificates) -> Starlette:
    def metadata(style: str):
        async def handle(request: Request) -> Response:
            document = STYLES[style](_base_url(request), certs)
            body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(document, encoding="utf-8",
                                                                             xml_declaration=False)
            return Response(body, media_type=CONTENT_TYPES.get(style, METADATA_TYPE))
        return handle

    async def login_page(request: Request) -> Response:
        return HTMLResponse(LOGIN_PAGE)

    async def atom_feed(request: Request) -> Response:
        return Response(ATOM_FEED, media_type="application/atom+xml")

    async def entity_expansion(request: Request) -> Response:
        return Response(ENTITY_EXPANSION, media_type=METADATA_TYPE)

    async def redirect(request: Request) -> Response:
        return RedirectResponse(PATHS["okta"], 302)

    async def oidc_discovery(request: Request) -> Response:
        base = _base_url(request)
        return JSONResponse({"issuer": base, "authorization_endpoint": f"{base}/oauth2/v1/authorize",
                             "token_endpoint": f"{base}/oauth2/v1/token", "jwks_uri": f"{base}/oauth2/v1/keys"})

    routes = [Route(path, metadata(style)) for style, path in PATHS.items()]
    routes += [
        Route(OTHER_PATHS["sp-metadata"], metadata("sp-metadata")),
        Route(OTHER_PATHS["aggregate"], metadata("aggregate")),
        Route(OTHER_PATHS["login-page"], login_page),
        Route(OTHER_PATHS["not-metadata"], atom_feed),
        Route(OTHER_PATHS["entity-expansion"], entity_expansion),
        Route(OTHER_PATHS["redirect"], redirect),
        Route(OTHER_PATHS["oidc-discovery"], oidc_discovery),
    ]
    return Starlette(routes=routes)


@dataclass
class RunningIdp:
    """A stand-in IdP serving on a real port. Use as a context manager, or call stop()."""

    certificates: IdpCertificates
    server: ThreadedServer
    _tls_dir: tempfile.TemporaryDirectory | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return self.server.url

    def metadata_url(self, style: str) -> str:
        """The URL of a metadata style (a key of PATHS) or of a wrong answer (a key of OTHER_PATHS)."""
        return self.url + (PATHS.get(style) or OTHER_PATHS[style])

    def signing_certificate(self, style: str) -> x509.Certificate | None:
        pair = self.certificates.signing_for(style)
        return pair.certificate if pair else None

    def stop(self) -> None:
        self.server.stop()
        if self._tls_dir is not None:
            self._tls_dir.cleanup()

    def __enter__(self) -> RunningIdp:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def start_saml_idp(host: str = "127.0.0.1", port: int = 0, *, tls: bool = False) -> RunningIdp:
    """Serve the metadata styles and wrong answers; return once the port accepts connections. With `tls` it serves
    HTTPS with a self-signed certificate (which a verifying client refuses)."""
    now = datetime.now(UTC)
    certs = IdpCertificates.make(now)
    tls_dir = tempfile.TemporaryDirectory(prefix="saml-idp-tls-") if tls else None
    tls_files = None
    if tls_dir is not None:
        pair = self_signed(f"CN={host}", now - timedelta(days=1), now + timedelta(days=90), key=new_key(None),
                           hosts=(host, "localhost"))
        tls_files = pair.write_pem(Path(tls_dir.name), "idp")
    try:
        server = serve_in_thread(build_app(certs), "saml-idp", host, port, tls_files=tls_files)
    except Exception:
        if tls_dir is not None:
            tls_dir.cleanup()
        raise
    return RunningIdp(certs, server, tls_dir)
