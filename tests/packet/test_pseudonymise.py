"""Pseudonyms: the same person or machine gets the same name everywhere under one key, and nothing else."""

from __future__ import annotations

import re

import pytest

from packet.pseudonymise import Pseudonymiser

KEY = b"case-4711-key-material"
LINE = ('{"level":"debug","msg":"login","user_id":"ybndrfg8ejkmcpqxot1uwisza3","username":"alice",'
        '"email":"Alice@Contoso-Health.example","ip":"10.20.30.40","peer":"[2001:db8::1]:443",'
        '"url":"https://chat.contoso-health.example/login","caller":"app/login.go:274"}')


def test_every_identity_in_a_line_is_replaced_and_the_structure_kept():
    out = Pseudonymiser(KEY).text(LINE)
    for private in ("ybndrfg8ejkmcpqxot1uwisza3", "alice", "Alice", "contoso", "10.20.30.40", "2001:db8"):
        assert private not in out
    assert re.search(r'"user_id":"user-[0-9a-f]{8}","username":"user-[0-9a-f]{8}"', out)
    assert re.search(r'"email":"user-[0-9a-f]{8}@host-[0-9a-f]{8}\.example"', out)
    assert re.search(r'"ip":"ip-[0-9a-f]{8}","peer":"\[ip-[0-9a-f]{8}\]:443"', out)
    assert re.search(r'"url":"https://host-[0-9a-f]{8}\.example/login"', out)
    assert '"level":"debug","msg":"login"' in out and '"caller":"app/login.go:274"' in out


def test_same_key_same_pseudonyms_across_instances_and_files():
    first, second = Pseudonymiser(KEY), Pseudonymiser(bytes(KEY))
    assert first.text(LINE) == second.text(LINE)
    # The host in an email, a URL, a bare name and an LDAP DN is one host.
    host = first.host("contoso-health.example")
    assert first.email("bob@contoso-health.example").endswith("@" + host)
    assert first.text("see https://contoso-health.example/x") == f"see https://{host}/x"
    assert first.text("dc=contoso-health,dc=example") == f"dc={host.removesuffix('.example')},dc=example"
    assert first.user("Alice") == first.user("alice") == first.text("@alice")[1:]


def test_another_key_gives_other_pseudonyms():
    assert Pseudonymiser(KEY).text(LINE) != Pseudonymiser(b"another-case-key-0815").text(LINE)


@pytest.mark.parametrize("text", [
    "caller app/server.go:274 wrote config.json and image.png via web_hub.go",
    "at 2026-11-20 09:06:14.810 Z took 12:34:56 from aa:bb:cc:dd:ee:ff on [::]:8065",
    "loopback 127.0.0.1 and ::1, version 11.5.4, go1.24.6",
    "push.mattermost.com s3.amazonaws.com https://github.com/mattermost",
    "@all @here @channel",
])
def test_what_identifies_nobody_is_left_alone(text):
    assert Pseudonymiser(KEY).text(text) == text


def test_pseudonymising_twice_changes_nothing_more():
    p = Pseudonymiser(KEY)
    once = p.text(LINE + " uid=carol,ou=people,dc=corp,dc=local user_id=bob @dave")
    assert p.text(once) == once


def test_config_values_by_setting_name():
    p = Pseudonymiser(KEY)
    assert p.value("SMTPUsername", "mattermost@contoso.example") == p.email("mattermost@contoso.example")
    assert p.value("Username", "mmsearch") == p.user("mmsearch")
    assert p.value("SiteURL", "https://chat.contoso.example") == f"https://{p.host('chat.contoso.example')}"


def test_the_key_is_never_shown_and_must_be_long_enough():
    assert KEY.decode() not in repr(Pseudonymiser(KEY))
    with pytest.raises(ValueError, match="16 bytes"):
        Pseudonymiser(b"short")
