"""The demo's LDAP directory: an OpenLDAP slapd per demo environment holding that environment's people.

What each directory holds follows the simulator's own LdapSettings (base DN, bind account, user filter, the
uid/mail/givenName/sn/title attributes it maps): the simulator's accounts, then generated people up to the number
of active users Mattermost reports, so the directory's user count agrees with Mattermost's; one group per team
(as many members as the team has, at most everyone) and one of the system admins.

How each environment connects follows its scenario, as a real admin's settings might: the healthy deployment
uses LDAPS and the development server STARTTLS, both with the directory's CA pinned; the degraded one binds over
plain ldap://, so its bind password crosses the network in clear text (LDAP_CLEARTEXT_BIND fires) although the
server offers STARTTLS and LDAPS.

Built afresh at each start in <demo folder>/directory/<environment> (slapadd takes well under a second for the
demo's ~1,200 people, ~3 s for the large scenario's 250,000), with a new bind password: it lives in memory as a
SecretStr and, salted and hashed, in the directory's database under the data folder, nowhere else.
"""

from __future__ import annotations

import base64
import itertools
import random
import secrets
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ldap3.utils.dn import escape_rdn
from pydantic import SecretStr

from demo.folders import Claim, claim
from demo.processes import start_each
from demo.services import DemoPart, DemoService
from demo.slapd import SlapdServer, Tree, find_binaries, ssha
from settings import LdapSettings
from simulator.model import Scenario
from simulator.server import RunningSimulator
from simulator.server_config import build_config

NAME = "LDAP directory (OpenLDAP)"
ADD_WITH = "sudo apt-get install --no-install-recommends slapd"
Security = Literal["none", "tls", "starttls"]
# How each scenario's Mattermost reaches its directory; scenarios not named here use LDAPS.
SECURITY: dict[str, Security] = {"healthy": "tls", "degraded": "none", "large": "starttls", "development": "starttls"}
CERTIFICATE_DAYS = 365
FIRST_NAMES = (
    "Alex", "Amara", "Ana", "Ben", "Carla", "Chen", "Daniel", "Elif", "Emma", "Farah", "Felix", "Grace", "Hana",
    "Ivan", "Jonas", "Julia", "Kai", "Lena", "Luis", "Maya", "Mei", "Nadia", "Noah", "Olga", "Omar", "Paula",
    "Quinn", "Rahul", "Rosa", "Sam", "Sara", "Tariq", "Tomas", "Uma", "Victor", "Wen", "Yara", "Yusuf", "Zoe",
    "Zara",
)
LAST_NAMES = (
    "Abe", "Ahmed", "Alvarez", "Becker", "Brown", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad",
    "Ito", "Jansen", "Kaur", "Kim", "Kowalski", "Larsen", "Lopez", "Mensah", "Moreau", "Murphy", "Novak", "Okafor",
    "Olsen", "Patel", "Quinn", "Rossi", "Sato", "Schmidt", "Silva", "Singh", "Smith", "Tanaka", "Torres", "Usman",
    "Varga", "Wagner", "Walsh", "Yilmaz", "Zhang",
)
TITLES = ("Engineer", "Analyst", "Coordinator", "Specialist", "Manager", "Consultant", "Technician", "Designer",
          "Administrator", "Associate")


@dataclass(frozen=True)
class Person:
    uid: str
    first_name: str
    last_name: str
    mail: str
    title: str


@dataclass(frozen=True)
class Contents:
    """One environment's directory: its tree and the facts the settings and the status line need."""

    tree: Tree
    bind_dn: str
    user_filter: str
    people: int
    groups: int


def people(scenario: Scenario) -> list[Person]:
    """The simulator's accounts, then generated people (the same ones each run) up to its active user count."""
    named = [Person(a.username, a.first_name, a.last_name, a.email, a.position) for a in scenario.accounts]
    domain = scenario.accounts[0].email.rsplit("@", 1)[-1]
    rng = random.Random(f"mattermost-directory/{scenario.name}")
    pairs = list(itertools.product(FIRST_NAMES, LAST_NAMES))
    rng.shuffle(pairs)
    taken = {person.uid for person in named}

    def generated() -> Iterator[Person]:
        for round_ in itertools.count(1):
            for first, last in pairs:
                uid = f"{first}.{last}".lower() + ("" if round_ == 1 else str(round_))
                if uid not in taken:
                    yield Person(uid, first, last, f"{uid}@{domain}", rng.choice(TITLES))

    wanted = max(scenario.usage.active_users - len(named), 0)
    return named + list(itertools.islice(generated(), wanted))


def _line(name: str, value: str) -> str:
    """An LDIF attribute line; values LDIF may not carry as they are (non-ASCII, or starting with a space, a colon
    or '<') go base64-encoded."""
    if value.isascii() and not value.startswith((" ", ":", "<")) and "\n" not in value:
        return f"{name}: {value}"
    return f"{name}:: {base64.b64encode(value.encode()).decode()}"


def contents(scenario: Scenario, bind_password: str) -> Contents:
    """The directory the scenario's LdapSettings describe, with a bind account whose password is `bind_password`."""
    ldap = build_config(scenario)["LdapSettings"]
    base_dn, bind_dn = ldap["BaseDN"], ldap["BindUsername"]
    people_dn, groups_dn = f"ou=people,{base_dn}", f"ou=groups,{base_dn}"
    services_dn = bind_dn.split(",", 1)[1]
    top = base_dn.split(",", 1)[0].split("=", 1)[1]
    organisation = scenario.license.company if scenario.license else scenario.settings.site_name
    entries = [
        f"dn: {base_dn}\nobjectClass: dcObject\nobjectClass: organization\ndc: {top}\no: {organisation}",
        f"dn: {people_dn}\nobjectClass: organizationalUnit\nou: people",
        f"dn: {groups_dn}\nobjectClass: organizationalUnit\nou: groups",
        f"dn: {services_dn}\nobjectClass: organizationalUnit\nou: {services_dn.split(',', 1)[0].split('=', 1)[1]}",
        f"dn: {bind_dn}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
        f"cn: {bind_dn.split(',', 1)[0].split('=', 1)[1]}\ndescription: Mattermost AD/LDAP sync account\n"
        f"userPassword: {ssha(bind_password)}",
    ]
    everyone = people(scenario)
    attributes = (ldap["UsernameAttribute"], ldap["FirstNameAttribute"], ldap["LastNameAttribute"],
                  ldap["EmailAttribute"], ldap["PositionAttribute"])
    dns = [f"{attributes[0]}={escape_rdn(p.uid)},{people_dn}" for p in everyone]
    for dn, person in zip(dns, everyone, strict=True):
        values = (person.uid, person.first_name, person.last_name, person.mail, person.title)
        entries.append("\n".join([_line("dn", dn), "objectClass: inetOrgPerson",
                                  _line("cn", f"{person.first_name} {person.last_name}"),
                                  *(_line(name, value) for name, value in zip(attributes, values, strict=True))]))
    rng = random.Random(f"mattermost-directory-groups/{scenario.name}")
    groups = [("mattermost-admins", [dns[i] for i, account in enumerate(scenario.accounts) if account.is_admin])]
    groups += [(team.name, [dns[i] for i in sorted(rng.sample(range(len(dns)), min(team.member_count, len(dns))))])
               for team in scenario.teams]
    for name, members in groups:
        entries.append(f"dn: cn={name},{groups_dn}\nobjectClass: groupOfNames\ncn: {name}\n"
                       + "\n".join(f"member: {dn}" for dn in members))
    tree = Tree(base_dn, "\n\n".join(entries) + "\n", monitor_reader=bind_dn,
                # OpenLDAP stops every search at 500 entries unless told otherwise; Mattermost's sync reads all.
                limits=(f'dn.exact="{bind_dn}" size=unlimited time=unlimited',))
    return Contents(tree, bind_dn, ldap["UserFilter"] or "(objectClass=person)", len(everyone), len(groups))


class EnvironmentDirectory:
    """One demo environment's slapd, in its claimed folder, rebuilt at each start."""

    def __init__(self, parent: Path, environment: str, simulator: RunningSimulator,
                 binaries: tuple[str, str]) -> None:
        self.environment = environment
        self.security: Security = SECURITY.get(simulator.model.name, "tls")
        self._password = SecretStr(secrets.token_urlsafe(24))
        self.contents = contents(simulator.model, self._password.get_secret_value())
        self.claim: Claim = claim(parent, environment)
        self.server = SlapdServer(self.claim.path, self.contents.tree, binaries, ca_name=f"mmdash demo CA "
                                  f"({environment})", certificate_days=CERTIFICATE_DAYS)

    def start(self) -> None:
        try:
            root = self.claim.path
            if root.is_dir() and not root.is_symlink():
                shutil.rmtree(root)
            elif root.exists() or root.is_symlink():
                root.unlink()
            root.mkdir(mode=0o700, parents=True)  # the database holds the bind password's hash
            self.server.start()
        except BaseException:
            self.server.stop()
            self.claim.release()
            raise

    def stop(self) -> None:
        try:
            self.server.stop()
        finally:
            self.claim.release()

    @property
    def url(self) -> str:
        return self.server.ldaps_url if self.security == "tls" else self.server.ldap_url

    def settings(self) -> LdapSettings:
        return LdapSettings(
            url=self.url, security=self.security, bind_dn=self.contents.bind_dn, bind_password=self._password,
            base_dn=self.contents.tree.suffix, user_filter=self.contents.user_filter,
            ca_bundle=self.server.ca_file if self.security != "none" else None)

    def phrase(self) -> str:
        how = {"tls": "LDAPS", "starttls": "STARTTLS", "none": "plain LDAP: the bind password travels in clear"}
        return (f"{self.environment} at {self.url} ({how[self.security]}; {self.contents.people:,} people, "
                f"{self.contents.groups:,} groups)")


def start(folder: Path, simulators: Mapping[str, RunningSimulator]) -> DemoService:
    binaries = find_binaries()
    if binaries is None:
        return DemoService(DemoPart(
            NAME, False, "OpenLDAP's slapd is not installed, so the Directory panel and the LDAP rules have no data.",
            ADD_WITH))
    parent = folder / "directory"
    ldap_on = {name: sim for name, sim in simulators.items()
               if build_config(sim.model)["LdapSettings"].get("Enable")}

    def start_one(environment: str) -> EnvironmentDirectory:
        directory = EnvironmentDirectory(parent, environment, ldap_on[environment], binaries)
        directory.start()
        return directory

    started, failed, stop = start_each(ldap_on, start_one, "LDAP directory")

    settings: dict[str, dict[str, Any]] = {name: {"ldap": d.settings()} for name, d in started.items()}
    return DemoService(_part(started, failed, set(simulators) - set(ldap_on)), settings, stop)


def _part(started: Mapping[str, EnvironmentDirectory], failed: Mapping[str, str], off: set[str]) -> DemoPart:
    pieces = [directory.phrase() for directory in started.values()]
    pieces += [f"{name} did not start: {error}" for name, error in failed.items()]
    pieces += [f"{name} has AD/LDAP turned off" for name in sorted(off)]
    return DemoPart(NAME, bool(started), "; ".join(pieces))
