"""The LDAP trace: the protocol exchange with a real slapd, without the bind password."""

import zipfile

from packet.builder import PacketRequest, build_packet
from packet.form import PacketForm
from packet.ldap_trace import ldap_trace


def test_trace_shows_the_exchange_but_not_the_password(ldap_settings):
    settings = ldap_settings()
    trace = ldap_trace(settings)
    assert b"bind" in trace.lower() and b"result: ok" in trace
    assert settings.bind_password.get_secret_value().encode() not in trace


def test_a_refused_bind_is_in_the_trace_and_the_packet(ldap_settings, tmp_path):
    from pydantic import SecretStr

    settings = ldap_settings(bind_password=SecretStr("wrong-password-123"))
    trace = ldap_trace(settings)
    assert b"result: error" in trace and b"wrong-password-123" not in trace
    request = PacketRequest(environment="x", generated_by="a", generated_by_email=None,
                            form=PacketForm(issue="LDAP logins fail"), ldap_trace=trace,
                            secrets={"ldap": "wrong-password-123"})
    result = build_packet(request, tmp_path / "p.zip")
    assert result.ok
    with zipfile.ZipFile(result.path) as archive:
        assert b"result: error" in archive.read("ldap_trace.txt")
