"""A real OpenLDAP server (slapd) for the tests: one per session, on 127.0.0.1 only, stopped by its PID at the end.

The server is built from scratch in a temp dir (a slapd.conf, ``slapadd`` of a seed LDIF), so it never depends on
the database Debian's postinst creates under /etc/ldap. It serves plain LDAP (STARTTLS offered) and LDAPS with a
throwaway CA made at start; ``ca_file`` is what a client must trust.

The seeded tree, dc=example,dc=com:
    ou=people   USER_COUNT inetOrgPerson users (uid=user01 ...)
    ou=groups   GROUP_COUNT groups: three groupOfNames and one groupOfUniqueNames
    ou=service  the bind accounts: ``reader`` (reads everything) and ``limited`` (a server-side size limit of
                LIMITED_SIZE entries, as large directories often set)
Anonymous clients may read the tree too (never passwords), as OpenLDAP's default allows.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import ipaddress
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pydantic import SecretStr

from settings import LdapSettings
from tests.servers.postgres import free_port, missing_server

INSTALL_HINT = (
    "OpenLDAP's slapd was not found: install the Debian package 'slapd' "
    "(apt-get install -y --no-install-recommends slapd; block its own daemon with a policy-rc.d that exits 101)."
)
BASE_DN = "dc=example,dc=com"
PEOPLE_DN = f"ou=people,{BASE_DN}"
GROUPS_DN = f"ou=groups,{BASE_DN}"
READER_DN = f"cn=reader,ou=service,{BASE_DN}"
LIMITED_DN = f"cn=limited,ou=service,{BASE_DN}"
USER_COUNT = 50
GROUP_COUNT = 4
LIMITED_SIZE = 20
MODULE_DIR = "/usr/lib/ldap"  # Debian builds the backends as loadable modules
SCHEMA_DIR = "/etc/ldap/schema"
START_ATTEMPTS = 3  # a free port can be taken by someone else between our probe and slapd's bind
READY_TIMEOUT_S = 10.0
COMMAND_TIMEOUT_S = 30


def find_binary(name: str) -> str | None:
    # /usr/sbin is not on every PATH (non-root shells), yet that is where Debian puts slapd.
    found = shutil.which(name) or f"/usr/sbin/{name}"
    return found if os.access(found, os.X_OK) else None


def ssha(password: str) -> str:
    """RFC 2307 {SSHA}, the scheme slapd stores by default, so binds exercise a real hash check."""
    salt = secrets.token_bytes(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def seed_ldif(reader_password: str, limited_password: str) -> str:
    entries = [
        f"dn: {BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example Inc.",
        f"dn: {PEOPLE_DN}\nobjectClass: organizationalUnit\nou: people",
        f"dn: {GROUPS_DN}\nobjectClass: organizationalUnit\nou: groups",
        f"dn: ou=service,{BASE_DN}\nobjectClass: organizationalUnit\nou: service",
    ]
    for dn, password in ((READER_DN, reader_password), (LIMITED_DN, limited_password)):
        name = dn.split(",", 1)[0].removeprefix("cn=")
        entries.append(
            f"dn: {dn}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: {name}\n"
            f"description: Mattermost LDAP sync account\nuserPassword: {ssha(password)}"
        )
    uids = [f"user{n:02d}" for n in range(1, USER_COUNT + 1)]
    for n, uid in enumerate(uids, start=1):
        entries.append(
            f"dn: uid={uid},{PEOPLE_DN}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: Test User {n}\n"
            f"givenName: Test\nsn: User {n}\nmail: {uid}@example.com\nemployeeNumber: {1000 + n}\n"
            f"userPassword: {ssha(secrets.token_urlsafe(12))}"
        )

    def members(attribute: str, chosen: list[str]) -> str:
        return "\n".join(f"{attribute}: uid={uid},{PEOPLE_DN}" for uid in chosen)

    entries += [
        f"dn: cn=mattermost-users,{GROUPS_DN}\nobjectClass: groupOfNames\ncn: mattermost-users\n"
        + members("member", uids),
        f"dn: cn=engineering,{GROUPS_DN}\nobjectClass: groupOfNames\ncn: engineering\n" + members("member", uids[:20]),
        f"dn: cn=mattermost-admins,{GROUPS_DN}\nobjectClass: groupOfNames\ncn: mattermost-admins\n"
        + members("member", uids[:3]),
        f"dn: cn=support,{GROUPS_DN}\nobjectClass: groupOfUniqueNames\ncn: support\n"
        + members("uniqueMember", uids[40:]),
    ]
    return "\n\n".join(entries) + "\n"


def slapd_conf(root: Path, *, tls: bool) -> str:
    tls_lines = (
        f"TLSCertificateFile {root / 'server.crt'}\nTLSCertificateKeyFile {root / 'server.key'}\n" if tls else ""
    )
    schemas = "\n".join(f"include {SCHEMA_DIR}/{name}.schema" for name in ("core", "cosine", "inetorgperson"))
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
suffix "{BASE_DN}"
directory {root / 'data'}
maxsize 67108864
limits dn.exact="{LIMITED_DN}" size={LIMITED_SIZE}
access to attrs=userPassword by anonymous auth by * none
access to * by * read

database monitor
access to dn.subtree="cn=Monitor" by dn.exact="{READER_DN}" read by * none
"""


def make_certificates(root: Path) -> None:
    """A throwaway CA (ca.crt) and a server certificate for localhost and 127.0.0.1 signed by it."""
    now = datetime.datetime.now(datetime.UTC)

    def name(common_name: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

    # EC keys: generating them takes microseconds, RSA ones tens of milliseconds.
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(name("mmdash test CA"))
        .issuer_name(name("mmdash test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    (root / "ca.crt").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    (root / "server.crt").write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    (root / "server.key").write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )


class SlapdServer:
    """A throwaway slapd in a temp dir; ``start()`` then ``stop()`` (which also removes the files)."""

    def __init__(self, slapd: str, slapadd: str, *, tls: bool = True) -> None:
        self.slapd = slapd
        self.slapadd = slapadd
        self.tls = tls
        self.base_dn = BASE_DN
        self.reader_dn = READER_DN
        self.reader_password = secrets.token_urlsafe(18)
        self.limited_dn = LIMITED_DN
        self.limited_password = secrets.token_urlsafe(18)
        self.port = 0
        self.ldaps_port = 0
        self.pid: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._root = Path(tempfile.mkdtemp(prefix="mmdash-slapd-"))
        self._log = self._root / "slapd.log"

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> None:
        (self._root / "data").mkdir()
        if self.tls:
            make_certificates(self._root)
        (self._root / "slapd.conf").write_text(slapd_conf(self._root, tls=self.tls))
        (self._root / "seed.ldif").write_text(seed_ldif(self.reader_password, self.limited_password))
        loaded = subprocess.run(
            [self.slapadd, "-q", "-f", str(self._root / "slapd.conf"), "-l", str(self._root / "seed.ldif")],
            capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, stdin=subprocess.DEVNULL, check=False,
        )
        if loaded.returncode != 0:
            raise RuntimeError(f"slapadd could not load the seed LDIF: {loaded.stderr.strip()}")
        for attempt in range(1, START_ATTEMPTS + 1):
            self.port, self.ldaps_port = free_port(), free_port()
            if self._launch():
                return
            if attempt == START_ATTEMPTS:
                raise RuntimeError(f"slapd did not start; last lines of its log:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop slapd (SIGTERM, then SIGKILL, by PID) and delete its files; safe to call twice."""
        if self._process is not None and self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                self._process.wait(timeout=5)
        self._process = None
        self.pid = None
        shutil.rmtree(self._root, ignore_errors=True)

    # -- what tests use --------------------------------------------------------------------------------------

    @property
    def ldap_url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.ldaps_port}"

    @property
    def ca_file(self) -> Path:
        return self._root / "ca.crt"

    def settings(self, **overrides: Any) -> LdapSettings:
        """LdapSettings for this server, bound as the reader, plain LDAP; any field can be overridden."""
        values: dict[str, Any] = {
            "url": self.ldap_url,
            "security": "none",
            "bind_dn": self.reader_dn,
            "bind_password": SecretStr(self.reader_password),
            "base_dn": self.base_dn,
            "timeout_seconds": 5.0,
        }
        values.update(overrides)
        return LdapSettings(**values)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self._log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # -- internals -------------------------------------------------------------------------------------------

    def _launch(self) -> bool:
        urls = f"ldap://127.0.0.1:{self.port}/"
        if self.tls:
            urls += f" ldaps://127.0.0.1:{self.ldaps_port}/"
        with self._log.open("ab") as log:
            # -d 0 keeps slapd in the foreground, so the PID we hold is slapd's own.
            self._process = subprocess.Popen(
                [self.slapd, "-f", str(self._root / "slapd.conf"), "-h", urls, "-d", "0"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )
        self.pid = self._process.pid
        ports = [self.port, self.ldaps_port] if self.tls else [self.port]
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process, self.pid = None, None
                return False
            if all(_accepts(port) for port in ports):
                return True
            time.sleep(0.02)
        self._process.kill()
        self._process.wait(timeout=5)
        self._process, self.pid = None, None
        return False


def _accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _binaries() -> tuple[str, str]:
    slapd, slapadd = find_binary("slapd"), find_binary("slapadd")
    if slapd is None or slapadd is None or not os.path.isdir(MODULE_DIR) or not os.path.isdir(SCHEMA_DIR):
        missing_server(INSTALL_HINT)
    return slapd, slapadd


@pytest.fixture(scope="session")
def slapd_server(request: pytest.FixtureRequest) -> SlapdServer:
    """The shared slapd: plain LDAP with STARTTLS at ``ldap_url``, LDAPS at ``ldaps_url``, CA at ``ca_file``."""
    server = SlapdServer(*_binaries())
    # Registered before start() so a half-started server is cleaned up too.
    request.addfinalizer(server.stop)
    server.start()
    return server


@pytest.fixture
def ldap_settings(slapd_server: SlapdServer) -> Callable[..., LdapSettings]:
    """``ldap_settings(security="starttls", bind_password=SecretStr("wrong"))``: settings for the shared slapd."""
    return slapd_server.settings


@pytest.fixture
def slapd_factory() -> Iterator[Callable[..., SlapdServer]]:
    """``slapd_factory(tls=False)`` starts a dedicated slapd for this test; it is stopped when the test ends."""
    started: list[SlapdServer] = []

    def start(*, tls: bool = True) -> SlapdServer:
        server = SlapdServer(*_binaries(), tls=tls)
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.stop()
