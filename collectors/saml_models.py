"""Typed facts read from a SAML identity provider's metadata: provider, entity, sign-in endpoints, certificates."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

# Mattermost's own detection (detectSAMLProviderType in the support packet): the first row whose text occurs in
# the lower-cased metadata URL names the provider. Host-based rows need the IdP's real host name.
PROVIDER_PATTERNS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("login.microsoftonline.com", "sts.windows.net"), "Azure AD"),
    ((".okta.com", ".oktapreview.com"), "Okta"),
    ((".auth0.com",), "Auth0"),
    ((".onelogin.com",), "OneLogin"),
    (("accounts.google.com",), "Google Workspace"),
    (("sso.jumpcloud.com",), "JumpCloud"),
    (("duo.com/saml2",), "Duo"),
    ((".centrify.com",), "Centrify"),
    (("/realms/",), "Keycloak"),
    (("/adfs/", "/federationmetadata/"), "ADFS"),
    (("shibboleth.net", "/idp/shibboleth"), "Shibboleth"),
)
UNKNOWN_PROVIDER = "unknown"


def provider_type(metadata_url: str) -> str:
    url = metadata_url.lower()
    for needles, provider in PROVIDER_PATTERNS:
        if any(needle in url for needle in needles):
            return provider
    return UNKNOWN_PROVIDER


@dataclass(frozen=True)
class SamlEndpoint:
    binding: str | None  # a URN such as urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect
    location: str | None

    @property
    def binding_name(self) -> str | None:
        """The binding's last part (HTTP-Redirect, HTTP-POST, ...), as admin consoles show it."""
        return self.binding.rsplit(":", 1)[-1] if self.binding else None


@dataclass(frozen=True)
class SigningCertificate:
    subject: str  # RFC 4514
    issuer: str
    serial_number: str  # hex
    not_before: datetime
    not_after: datetime
    days_to_expiry: int  # whole days from collection to not_after; negative once expired
    expired: bool
    key_type: str  # RSA | EC | Ed25519 | Ed448 | DSA
    key_size: int | None
    signature_hash: str | None  # sha256, sha1, ...; None for algorithms without a separate hash (Ed25519)
    sha256_fingerprint: str  # colon-separated hex, to compare with the certificate configured in Mattermost

    @property
    def self_signed(self) -> bool:
        return self.subject == self.issuer


@dataclass(frozen=True)
class SamlFacts:
    metadata_url: str
    provider_type: str  # from the URL, as Mattermost's support packet reports it
    entity_id: str | None
    sso_services: tuple[SamlEndpoint, ...]
    signing_certificates: tuple[SigningCertificate, ...]
    metadata_signed: bool  # carries an XML signature; the signature itself is not verified here
    valid_until: datetime | None
    name_id_formats: tuple[str, ...] = ()
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def sso_bindings(self) -> tuple[str, ...]:
        return tuple(s.binding_name for s in self.sso_services if s.binding_name)

    @property
    def soonest_expiring(self) -> SigningCertificate | None:
        return min(self.signing_certificates, key=lambda c: c.not_after, default=None)


def parse_certificate(text: str, now: datetime) -> SigningCertificate:
    """An X509Certificate element's text (base64 DER, often wrapped over lines); ValueError when unreadable."""
    try:
        der = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not base64 ({exc})") from None
    certificate = x509.load_der_x509_certificate(der)  # ValueError when not a certificate
    key_type, key_size = _key(certificate)
    try:
        hash_algorithm = certificate.signature_hash_algorithm
    except UnsupportedAlgorithm:
        hash_algorithm = None
    not_after = certificate.not_valid_after_utc
    remaining = not_after - now
    return SigningCertificate(
        subject=certificate.subject.rfc4514_string(),
        issuer=certificate.issuer.rfc4514_string(),
        serial_number=format(certificate.serial_number, "x"),
        not_before=certificate.not_valid_before_utc,
        not_after=not_after,
        days_to_expiry=int(remaining / timedelta(days=1)),
        expired=remaining < timedelta(0),
        key_type=key_type,
        key_size=key_size,
        signature_hash=hash_algorithm.name if hash_algorithm else None,
        sha256_fingerprint=certificate.fingerprint(hashes.SHA256()).hex(":").upper(),
    )


def _key(certificate: x509.Certificate) -> tuple[str, int | None]:
    try:
        key = certificate.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return "unsupported", None
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    return type(key).__name__, None
