"""Self-signed certificates made when a stand-in starts: TLS for HTTPS variants, signing keys for the stand-in IdP.

Made fresh each start so validity windows (valid, expiring soon, expired) are relative to now.
"""

from __future__ import annotations

import base64
import ipaddress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class KeyPair:
    key: PrivateKey
    certificate: x509.Certificate

    def certificate_base64(self) -> str:
        """DER in base64, as an X509Certificate element of SAML metadata carries it."""
        return base64.b64encode(self.certificate.public_bytes(serialization.Encoding.DER)).decode("ascii")

    def write_pem(self, folder: Path, stem: str) -> tuple[Path, Path]:
        """Write certificate and key as PEM files (what uvicorn's TLS options take); returns both paths."""
        cert_path, key_path = folder / f"{stem}.crt", folder / f"{stem}.key"
        cert_path.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
        key_path.chmod(0o600)
        return cert_path, key_path


def new_key(rsa_bits: int | None = 2048) -> PrivateKey:
    """RSA of `rsa_bits` (~70 ms for 2048), or EC P-256 when None (instant)."""
    if rsa_bits:
        return rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    return ec.generate_private_key(ec.SECP256R1())


def self_signed(subject: str, not_before: datetime, not_after: datetime, *, key: PrivateKey | None = None,
                hosts: tuple[str, ...] = ()) -> KeyPair:
    """A certificate for the RFC 4514 `subject`, signed by its own `key` (a new RSA 2048 one when None); reusing
    a key keeps start-up fast. `hosts` (names or IP addresses) become subjectAltNames of a TLS server certificate."""
    key = key or new_key()
    name = x509.Name.from_rfc4514_string(subject)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    if hosts:
        builder = builder.add_extension(x509.SubjectAlternativeName([_general_name(h) for h in hosts]),
                                        critical=False)
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return KeyPair(key, builder.sign(key, hashes.SHA256()))


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)
