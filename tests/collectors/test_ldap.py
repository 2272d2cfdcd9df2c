"""The LDAP collector against a real slapd: facts over plain LDAP, LDAPS and STARTTLS, and one clear sentence for
each way a Mattermost LDAP configuration goes wrong."""

import re
import socket
import subprocess
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from collectors import SourceStatus
from collectors import ldap as ldap_collector
from collectors.ldap import collect
from collectors.ldap_models import BindResult, ObjectCount, identify_vendor
from tests.servers.slapd import GROUP_COUNT, LIMITED_SIZE, USER_COUNT, find_binary, free_port


async def test_plain_ldap_gives_identity_counts_and_latency(ldap_settings, slapd_server):
    result = await collect(ldap_settings(), None)
    assert result.source == "ldap"
    assert result.status is SourceStatus.OK, result.error
    facts = result.data
    assert (facts.security, facts.tls_version) == ("none", None)
    assert facts.vendor == "OpenLDAP"
    installed = subprocess.run([find_binary("slapd"), "-VV"], capture_output=True, text=True, check=False).stderr
    assert re.fullmatch(r"\d+\.\d+\.\d+", facts.vendor_version)
    assert f"slapd {facts.vendor_version}" in installed
    assert facts.supported_ldap_versions == (3,)
    assert facts.naming_contexts == (slapd_server.base_dn,)
    assert facts.supports_paged_results
    assert facts.base_dn_exists is True
    assert (facts.bind_dn, facts.bind_result) == (slapd_server.reader_dn, BindResult.SUCCESS)
    assert facts.users == ObjectCount(USER_COUNT) and str(facts.users) == str(USER_COUNT)
    assert facts.groups == ObjectCount(GROUP_COUNT)
    assert 0 < facts.bind_ms < 1000 and 0 < facts.query_ms < 1000 and 0 < facts.count_ms < 1000
    assert facts.missing == {}


@pytest.mark.parametrize(("scheme", "security"), [("ldaps", "tls"), ("ldap", "starttls")])
async def test_tls_and_starttls_verify_against_the_ca_bundle(ldap_settings, slapd_server, scheme, security):
    url = slapd_server.ldaps_url if scheme == "ldaps" else slapd_server.ldap_url
    result = await collect(ldap_settings(url=url, security=security), None, ca_bundle=slapd_server.ca_file)
    assert result.status is SourceStatus.OK, result.error
    assert result.data.security == security
    assert result.data.tls_version.startswith("TLSv1.")
    assert result.data.users.count == USER_COUNT


async def test_ldaps_url_alone_means_tls_and_localhost_matches_the_certificate(ldap_settings, slapd_server):
    settings = ldap_settings(url=f"ldaps://localhost:{slapd_server.ldaps_port}", security="none")
    result = await collect(settings, None, ca_bundle=slapd_server.ca_file)
    assert result.status is SourceStatus.OK, result.error
    assert result.data.security == "tls"


@pytest.mark.parametrize("security", ["tls", "starttls"])
async def test_untrusted_certificate_is_one_sentence_naming_the_ca(ldap_settings, slapd_server, security):
    url = slapd_server.ldaps_url if security == "tls" else slapd_server.ldap_url
    result = await collect(ldap_settings(url=url, security=security), None)  # the system CAs do not know ours
    assert result.status is SourceStatus.ERROR and result.data is None
    assert result.error.startswith("The TLS certificate of 127.0.0.1 could not be verified (certificate verify failed")
    assert "CA certificate" in result.error


async def test_verification_can_be_switched_off(ldap_settings, slapd_server):
    result = await collect(ldap_settings(url=slapd_server.ldaps_url), None, verify_tls=False)
    assert result.status is SourceStatus.OK, result.error


async def test_ldaps_against_the_plain_port_explains_the_handshake(ldap_settings, slapd_server):
    result = await collect(ldap_settings(url=f"ldaps://127.0.0.1:{slapd_server.port}"), None,
                           ca_bundle=slapd_server.ca_file)
    assert result.status is SourceStatus.ERROR
    assert result.error.startswith(f"The TLS handshake with ldaps://127.0.0.1:{slapd_server.port} failed")
    assert "is that port serving LDAPS" in result.error


async def test_starttls_not_offered(slapd_factory, slapd_server):
    plain = slapd_factory(tls=False)
    result = await collect(plain.settings(security="starttls"), None, ca_bundle=slapd_server.ca_file)
    assert result.status is SourceStatus.ERROR
    assert result.error.startswith(f"The LDAP server at {plain.ldap_url} does not offer STARTTLS")
    assert "ldaps://" in result.error


async def test_anonymous_bind_when_no_bind_dn(ldap_settings):
    result = await collect(ldap_settings(bind_dn=None, bind_password=None), None)
    assert result.status is SourceStatus.OK, result.error
    assert result.data.bind_result is BindResult.ANONYMOUS
    assert result.data.bind_ms is None
    assert result.data.users.count == USER_COUNT
    assert result.data.vendor_version is None  # cn=Monitor is for the reader only, as on a locked-down server


async def test_wrong_password_is_one_sentence_without_the_password(ldap_settings, slapd_server):
    wrong = "not-the-Passw0rd"
    result = await collect(ldap_settings(bind_password=SecretStr(wrong)), None)
    assert result.status is SourceStatus.ERROR
    assert result.error == (
        f"The LDAP server refused the bind for {slapd_server.reader_dn}: wrong password or locked account.")
    assert result.data.bind_result is BindResult.REFUSED
    assert result.data.vendor == "OpenLDAP"  # what the server is still shows next to the refusal
    assert result.data.users is None and "User count" in result.data.missing
    for text in (result.error, repr(result), repr(ldap_settings(bind_password=SecretStr(wrong)))):
        assert wrong not in text
    ok = await collect(ldap_settings(), None)
    assert slapd_server.reader_password not in repr(ok)


@pytest.mark.parametrize("bind_dn", ["uid=ghost,ou=people,dc=example,dc=com", "cn=reader,dc=other,dc=org"])
async def test_unknown_bind_dn(ldap_settings, bind_dn):
    result = await collect(ldap_settings(bind_dn=bind_dn), None)
    assert result.status is SourceStatus.ERROR
    assert result.error == (
        f"The LDAP server has no entry {bind_dn} to bind as (the server holds dc=example,dc=com): check ldap.bind_dn.")


async def test_malformed_bind_dn(ldap_settings):
    result = await collect(ldap_settings(bind_dn="reader at example.com"), None)
    assert result.error.startswith("ldap.bind_dn 'reader at example.com' is not a valid DN")


async def test_bind_dn_without_password(ldap_settings):
    result = await collect(ldap_settings(bind_password=None), None)
    assert result.status is SourceStatus.ERROR
    assert "ldap.bind_password is empty" in result.error


async def test_nothing_listening(ldap_settings):
    port = free_port()
    result = await collect(ldap_settings(url=f"ldap://127.0.0.1:{port}"), None)
    assert result.status is SourceStatus.ERROR and result.data is None
    assert result.error == (f"Nothing is listening at ldap://127.0.0.1:{port} (connection refused): is the LDAP "
                            "server running, and is the port in ldap.url right?")


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose kernel completes the TCP handshake but where nobody ever answers: a hung server."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


async def test_server_that_never_answers_times_out(ldap_settings, silent_port):
    result = await collect(ldap_settings(url=f"ldap://127.0.0.1:{silent_port}", timeout_seconds=1), None)
    assert result.status is SourceStatus.ERROR
    assert result.error.startswith(f"The LDAP server at ldap://127.0.0.1:{silent_port} accepted the connection "
                                   "but did not answer within 1 s")
    assert result.elapsed_ms < 4000


async def test_base_dn_not_found_names_what_the_server_holds(ldap_settings, slapd_server):
    result = await collect(ldap_settings(base_dn="ou=staff,dc=example,dc=com"), None)
    assert result.status is SourceStatus.ERROR
    assert result.error == (f"The base DN ou=staff,dc=example,dc=com does not exist on {slapd_server.ldap_url} "
                            "(it holds dc=example,dc=com): correct ldap.base_dn.")
    assert result.data.base_dn_exists is False
    assert result.data.bind_result is BindResult.SUCCESS
    assert result.data.users is None


async def test_base_dn_that_is_not_a_dn(ldap_settings):
    result = await collect(ldap_settings(base_dn="example.com"), None)
    assert result.status is SourceStatus.ERROR
    assert result.error == "ldap.base_dn 'example.com' is not a valid DN: write it like dc=example,dc=com."


async def test_filter_that_does_not_parse_degrades_only_its_count(ldap_settings):
    result = await collect(ldap_settings(user_filter="(&(objectClass=person)(uid=*)"), None)
    assert result.status is SourceStatus.DEGRADED
    assert result.error.startswith("The user filter (&(objectClass=person)(uid=*) does not parse")
    assert "ldap.user_filter" in result.error
    assert result.data.users is None
    assert result.data.groups.count == GROUP_COUNT
    assert set(result.data.missing) == {"User count"}


async def test_configured_filters_decide_what_is_counted(ldap_settings):
    result = await collect(ldap_settings(user_filter="(&(objectClass=inetOrgPerson)(uid=user1*))",
                                         group_filter="(objectClass=groupOfUniqueNames)"), None)
    assert result.status is SourceStatus.OK, result.error
    assert (result.data.users.count, result.data.groups.count) == (10, 1)


async def test_server_size_limit_gives_at_least(ldap_settings, slapd_server):
    limited = ldap_settings(bind_dn=slapd_server.limited_dn, bind_password=SecretStr(slapd_server.limited_password))
    result = await collect(limited, None)
    assert result.status is SourceStatus.OK, result.error
    assert str(result.data.users) == f"at least {LIMITED_SIZE}"
    assert result.data.users.stopped_because == "the server's size limit for this bind DN"
    assert result.data.groups == ObjectCount(GROUP_COUNT)


async def test_counting_pages_through_the_whole_directory(ldap_settings, small_pages):
    result = await collect(ldap_settings(), None)
    assert result.data.users == ObjectCount(USER_COUNT)  # 50 users in pages of 7: every page was read


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(ldap_collector, "PAGE_SIZE", 7)


async def test_count_limit_gives_at_least(ldap_settings):
    result = await collect(ldap_settings(), None, count_limit=10)
    assert str(result.data.users) == "at least 10"
    assert result.data.users.stopped_because == "the collector counts at most 10"
    assert str(result.data.groups) == str(GROUP_COUNT)


async def test_ldaps_url_with_starttls_is_a_settings_sentence(ldap_settings, slapd_server):
    result = await collect(ldap_settings(url=slapd_server.ldaps_url, security="starttls"), None)
    assert result.status is SourceStatus.ERROR
    assert "use security = tls with ldaps://" in result.error


async def test_missing_ca_bundle_file(ldap_settings, tmp_path):
    result = await collect(ldap_settings(security="starttls"), None, ca_bundle=tmp_path / "nope.pem")
    assert result.error.startswith(f"The LDAP CA bundle {tmp_path / 'nope.pem'} does not exist")


@pytest.mark.parametrize(
    ("root_dse", "expected"),
    [
        ({"objectclass": ["top", "OpenLDAProotDSE"]}, ("OpenLDAP", None)),
        ({"forestfunctionality": ["7"], "domaincontrollerfunctionality": ["7"], "isglobalcatalogready": ["TRUE"],
          "dsservicename": ["CN=NTDS Settings,CN=DC1,CN=Servers,CN=Default-First-Site-Name,CN=Sites,..."]},
         ("Active Directory", "Windows Server 2016 functional level")),
        ({"vendorname": ["389 Project"], "vendorversion": ["389-Directory/2.4.5 B2024.017.0000"]},
         ("389 Directory Server", "2.4.5")),
        ({"netscapemdsuffix": ["cn=ldbm database,cn=plugins,cn=config"]}, ("389 Directory Server", None)),
        ({"vendorname": ["Oracle Corporation"], "vendorversion": ["Oracle Unified Directory 12.2.1.4.0"]},
         ("Oracle Unified Directory", "12.2.1.4.0")),
        ({"vendorname": ["Sun Microsystems, Inc."], "vendorversion": ["Sun-Directory-Server/7.0"]},
         ("Oracle Directory Server", "7.0")),
        ({"vendorname": ["NetIQ Corporation"], "vendorversion": ["LDAP Agent for NetIQ eDirectory 9.2.4 (40204.05)"]},
         ("NetIQ eDirectory", "9.2.4")),
        ({"vendorname": ["Apache Software Foundation"], "vendorversion": ["2.0.0.AM26"]},
         ("Apache Directory Server", "2.0.0.AM26")),
        ({"vendorname": ["Acme Directory"], "vendorversion": ["v5"]}, ("Acme Directory", "v5")),
        ({"supportedldapversion": ["3"]}, (None, None)),
    ],
)
def test_vendor_is_recognised_from_the_root_dse(root_dse, expected):
    assert identify_vendor(root_dse) == expected
