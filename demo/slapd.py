"""A real OpenLDAP server (Debian's slapd) built from scratch in a folder: a slapd.conf, `slapadd` of an LDIF, and
a throwaway CA with a server certificate for LDAPS and STARTTLS; 127.0.0.1 only, stopped by its PID.

It never depends on the database Debian's postinst creates under /etc/ldap. Used by the demo
(demo/directory.py) and by the tests (tests/servers/slapd.py).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import ldap3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from ldap3.core.exceptions import LDAPException

from demo.processes import ServerProcess, accepts

MODULE_DIR = "/usr/lib/ldap"  # Debian builds the backends as loadable modules
SCHEMA_DIR = "/etc/ldap/schema"
SCHEMAS = ("core", "cosine", "inetorgperson")
READY_TIMEOUT_S = 10.0
COMMAND_TIMEOUT_S = 120
MIN_MAP_BYTES = 64 << 20
# LMDB's map is a ceiling, but its file is that size (sparse): room for the LDIF several times over, as the
# indexes and free pages take more than the LDIF itself (the large scenario's 250,000 people: ~170 MB of map).
MAP_PER_LDIF_BYTE = 8


def find_binary(name: str) -> str | None:
    # /usr/sbin is not on every PATH (non-root shells), yet that is where Debian puts slapd.
    found = shutil.which(name) or f"/usr/sbin/{name}"
    return found if os.access(found, os.X_OK) else None


def find_binaries() -> tuple[str, str] | None:
    """(slapd, slapadd), or None when Debian's package 'slapd' (with its modules and schemas) is not installed."""
    slapd, slapadd = find_binary("slapd"), find_binary("slapadd")
    if slapd is None or slapadd is None or not os.path.isdir(MODULE_DIR) or not os.path.isdir(SCHEMA_DIR):
        return None
    return slapd, slapadd


def ssha(password: str) -> str:
    """RFC 2307 {SSHA}, the scheme slapd stores by default, so binds exercise a real hash check."""
    salt = secrets.token_bytes(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def make_certificates(root: Path, *, ca_name: str, days: int) -> None:
    """A throwaway CA (root/ca.crt, its key discarded) and a server certificate for localhost and 127.0.0.1
    signed by it (root/server.crt, root/server.key)."""
    now = datetime.datetime.now(datetime.UTC)

    def name(common_name: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

    def valid(builder: x509.CertificateBuilder) -> x509.CertificateBuilder:
        return builder.not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(
            now + datetime.timedelta(days=days)).serial_number(x509.random_serial_number())

    # EC keys: generating them takes microseconds, RSA ones tens of milliseconds.
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        valid(x509.CertificateBuilder().subject_name(name(ca_name)).issuer_name(name(ca_name))
              .public_key(ca_key.public_key()))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        valid(x509.CertificateBuilder().subject_name(name("localhost")).issuer_name(ca_cert.subject)
              .public_key(server_key.public_key()))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (root / "ca.crt").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    (root / "server.crt").write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    key = root / "server.key"
    key.write_bytes(server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))
    key.chmod(0o600)


@dataclass(frozen=True)
class Tree:
    """What a server holds (`ldif`, under `suffix`) and its rules beyond read-for-everyone."""

    suffix: str
    ldif: str
    monitor_reader: str | None = None  # may read cn=Monitor, where OpenLDAP tells its version
    limits: tuple[str, ...] = ()  # slapd.conf `limits` lines, e.g. 'dn.exact="cn=x,dc=y" size=20'


def slapd_conf(root: Path, tree: Tree, *, tls: bool) -> str:
    tls_lines = (
        f"TLSCertificateFile {root / 'server.crt'}\nTLSCertificateKeyFile {root / 'server.key'}\n" if tls else ""
    )
    schemas = "\n".join(f"include {SCHEMA_DIR}/{name}.schema" for name in SCHEMAS)
    limits = "".join(f"limits {line}\n" for line in tree.limits)
    monitor = f'by dn.exact="{tree.monitor_reader}" read ' if tree.monitor_reader else ""
    return f"""{schemas}
pidfile {root / 'slapd.pid'}
argsfile {root / 'slapd.args'}
modulepath {MODULE_DIR}
moduleload back_mdb
moduleload back_monitor
{tls_lines}
# The rootDSE and the schema stay readable by anyone, as on any real server.
access to dn.base="" by * read
access to dn.base="cn=Subschema" by * read

database mdb
suffix "{tree.suffix}"
directory {root / 'data'}
maxsize {max(MIN_MAP_BYTES, MAP_PER_LDIF_BYTE * len(tree.ldif))}
{limits}access to attrs=userPassword by anonymous auth by * none
access to * by * read

database monitor
access to dn.subtree="cn=Monitor" {monitor}by * none
"""


class SlapdServer:
    """slapd serving `tree` from files in `root`: plain LDAP (STARTTLS offered) and, with `tls`, LDAPS.
    `start()` builds the database afresh; `stop()` leaves the files."""

    def __init__(self, root: Path, tree: Tree, binaries: tuple[str, str], *, tls: bool = True,
                 ca_name: str = "mmdash throwaway CA", certificate_days: int = 2) -> None:
        self.root = root
        self.tree = tree
        self.slapd, self.slapadd = binaries
        self.tls = tls
        self.ca_name = ca_name
        self.certificate_days = certificate_days
        self.process = ServerProcess("slapd", root / "slapd.log")

    @property
    def port(self) -> int:
        return self.process.ports[0] if self.process.ports else 0

    @property
    def ldaps_port(self) -> int:
        return self.process.ports[1] if len(self.process.ports) > 1 else 0

    @property
    def pid(self) -> int | None:
        return self.process.pid

    @property
    def ldap_url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.ldaps_port}"

    @property
    def ca_file(self) -> Path:
        return self.root / "ca.crt"

    def start(self) -> None:
        """Raises RuntimeError when slapadd refuses the LDIF, demo.processes.ServerError when slapd does not
        start (both with the server's own words)."""
        (self.root / "data").mkdir(parents=True)
        if self.tls:
            make_certificates(self.root, ca_name=self.ca_name, days=self.certificate_days)
        conf = self.root / "slapd.conf"
        conf.write_text(slapd_conf(self.root, self.tree, tls=self.tls))
        # The LDIF goes through stdin, so the password hashes in it land in the database only.
        loaded = subprocess.run([self.slapadd, "-q", "-f", str(conf)], input=self.tree.ldif, capture_output=True,
                                text=True, timeout=COMMAND_TIMEOUT_S, check=False)
        if loaded.returncode != 0:
            raise RuntimeError(f"slapadd could not load the directory: {loaded.stderr.strip()[-500:]}")
        self.process.start(self._argv, self._ready, ports=2 if self.tls else 1, cwd=self.root,
                           timeout_s=READY_TIMEOUT_S)

    def stop(self) -> None:
        self.process.stop(timeout_s=5)

    def log_tail(self) -> str:
        return self.process.log_tail()

    @staticmethod
    def _ready(ports: tuple[int, ...]) -> bool:
        """Every port accepts and the plain one answers LDAP: a port that accepts but stays silent is someone
        else's listener, and our slapd is about to exit for want of it."""
        if not all(accepts(port) for port in ports):
            return False
        connection = ldap3.Connection(ldap3.Server("127.0.0.1", port=ports[0], connect_timeout=1,
                                                   get_info=ldap3.NONE), receive_timeout=1)
        try:
            return bool(connection.bind())  # anonymous: any LDAP server answers it
        except LDAPException:
            return False
        finally:
            connection.unbind()

    def _argv(self, ports: tuple[int, ...]) -> list[str]:
        urls = " ".join([f"ldap://127.0.0.1:{ports[0]}/", *(f"ldaps://127.0.0.1:{p}/" for p in ports[1:])])
        # -d keeps slapd in the foreground, so the PID we hold is its own; "none" logs only what is always logged
        # (start-up errors such as a taken port), not every operation.
        return [self.slapd, "-f", str(self.root / "slapd.conf"), "-h", urls, "-d", "none"]
