"""A real OpenLDAP server (slapd) for the tests: demo/slapd.py's, one per session, on 127.0.0.1 only, stopped by
its PID at the end.

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

import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from demo import slapd
from demo.processes import free_port
from demo.slapd import find_binary, ssha
from settings import LdapSettings
from tests.servers.postgres import missing_server

__all__ = ["GROUP_COUNT", "LIMITED_SIZE", "USER_COUNT", "SlapdServer", "find_binary", "free_port"]

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


class SlapdServer(slapd.SlapdServer):
    """demo/slapd.py's server holding the seeded tree, in a temp dir; ``start()`` then ``stop()`` (which also
    removes the files)."""

    def __init__(self, binaries: tuple[str, str], *, tls: bool = True) -> None:
        self.base_dn = BASE_DN
        self.reader_dn = READER_DN
        self.reader_password = secrets.token_urlsafe(18)
        self.limited_dn = LIMITED_DN
        self.limited_password = secrets.token_urlsafe(18)
        tree = slapd.Tree(BASE_DN, seed_ldif(self.reader_password, self.limited_password), monitor_reader=READER_DN,
                          limits=(f'dn.exact="{LIMITED_DN}" size={LIMITED_SIZE}',))
        super().__init__(Path(tempfile.mkdtemp(prefix="mmdash-slapd-")), tree, binaries, tls=tls,
                         ca_name="mmdash test CA")

    def stop(self) -> None:
        """Stop slapd (SIGTERM, then SIGKILL, by PID) and delete its files; safe to call twice."""
        super().stop()
        shutil.rmtree(self.root, ignore_errors=True)

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


def _binaries() -> tuple[str, str]:
    found = slapd.find_binaries()
    if found is None:
        missing_server(INSTALL_HINT)
    return found


@pytest.fixture(scope="session")
def slapd_server(request: pytest.FixtureRequest) -> SlapdServer:
    """The shared slapd: plain LDAP with STARTTLS at ``ldap_url``, LDAPS at ``ldaps_url``, CA at ``ca_file``."""
    server = SlapdServer(_binaries())
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
        server = SlapdServer(_binaries(), tls=tls)
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.stop()
