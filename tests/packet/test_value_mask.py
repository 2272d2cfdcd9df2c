"""Masking by value: every known secret is masked wherever and however it appears, before the leak gate runs."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

import packet.builder as builder
from packet.builder import PacketRequest, build_packet
from packet.form import PacketForm
from packet.leak_gate import LeakGate, secret_forms
from packet.secrets import known_secrets
from packet.value_mask import REPLACEMENT, ValueMasker
from settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
FORM = PacketForm(issue="LDAP sync fails")
LDAP = "Ld4p-B1nd-Pa55w0rd"
SMTP = "Smtp-S3cret-9931"
STAMP = '{"timestamp":"2026-11-23 05:00:00.000 Z","level":"info","msg":'


def _masked(secrets: dict[str, str], data: bytes) -> bytes:
    return ValueMasker(secrets).mask(data)


def _no_form_left(secrets: dict[str, str], data: bytes) -> None:
    gate = LeakGate(secrets)
    assert gate.scan("m", [data]) == []


def test_a_password_in_a_free_text_log_line():
    line = f'{STAMP}"LDAP bind as cn=admin with {LDAP} was refused"}}\n'.encode()
    out = _masked({"config:LdapSettings.BindPassword": LDAP}, line)
    assert LDAP.encode() not in out and REPLACEMENT in out and out.endswith(b'was refused"}\n')


def test_a_password_inside_an_ldap_url_alone_and_as_the_whole_url(tmp_path):
    url = f"ldap://cn=admin:{LDAP}@ldap.example.com:389"
    settings = load_settings({"MMDASH_PRODUCTION__LDAP__URL": url, "MMDASH_PRODUCTION__LDAP__BASE_DN": "dc=x"},
                             secrets_path=tmp_path / "absent.toml")
    found = known_secrets(settings, environ={})
    assert LDAP in found.values() and url in found.values()  # the password part and the whole URL
    masker = ValueMasker(found)
    assert masker.mask(f"dial {url} failed".encode()) == b"dial " + REPLACEMENT + b" failed"
    assert masker.mask(f"password {LDAP} rejected".encode()) == b"password " + REPLACEMENT + b" rejected"


def test_a_password_in_a_json_fragment():
    fragment = json.dumps({"settings": {"note": f"old password was {SMTP}"}}).encode()
    out = _masked({"smtp": SMTP}, fragment)
    assert SMTP.encode() not in out
    json.loads(out)  # still JSON: the tag holds no quote


@pytest.mark.parametrize("secret", ['Pa"ss\\word-91', 'q\\"uote\\d-7', "naïve-Pässwort<&>"])
def test_a_password_with_quotes_and_backslashes_across_json_escaping(secret):
    once = json.dumps({"msg": f"bind failed with {secret} for admin"})
    twice = json.dumps({"msg": "request body: " + once})  # JSON inside a JSON string: escaped twice
    utf8 = json.dumps({"msg": f"bind failed with {secret} for admin"}, ensure_ascii=False)  # as Go writes it
    go_style = utf8.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    ascii_only = json.dumps({"msg": secret})
    for text in (once, twice, utf8, go_style, ascii_only):
        out = _masked({"ldap": secret}, text.encode())
        _no_form_left({"ldap": secret}, out)
        assert REPLACEMENT in out


def test_base64_of_the_secret_at_every_alignment():
    masker = ValueMasker({"smtp": SMTP})
    for prefix in (b"", b"a", b"ab", b"user:", b"AUTH PLAIN \0admin\0"):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            blob = encode(prefix + SMTP.encode() + b"\0tail")
            out = masker.mask(b"AUTH PLAIN " + blob + b"\n")
            assert REPLACEMENT in out, (prefix, encode)
            _no_form_left({"smtp": SMTP}, out)


def test_an_url_encoded_secret_with_special_characters():
    secret = "p@ss w/rd&=%+:?#é"
    masker = ValueMasker({"es": secret})
    for form in (quote(secret, safe=""), quote(secret), quote_plus(secret, safe=""),
                 quote(secret, safe="").lower()):
        out = masker.mask(f"GET /login?user=admin&password={form}&next=/ HTTP/1.1".encode())
        assert out == b"GET /login?user=admin&password=" + REPLACEMENT + b"&next=/ HTTP/1.1", form
    _no_form_left({"es": secret}, masker.mask(quote(secret, safe="").lower().encode()))


def test_every_form_the_gate_checks_is_masked():
    for secret in (LDAP, 'a"b\\c<d>&e f/g', "päss-wört-1"):
        masker = ValueMasker({"s": secret})
        for form in secret_forms(secret).values():
            assert form not in masker.mask(b"<" + form + b">"), form


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 16, 17, 100])
def test_a_secret_split_across_stream_chunks(chunk):
    data = (b"x" * 97 + LDAP.encode() + b"y" * 50 + quote(LDAP).encode() + b"z") * 3
    masker = ValueMasker({"ldap": LDAP})
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)]
    out = b"".join(masker.stream(pieces))
    assert out == masker.mask(data) and LDAP.encode() not in out and out.count(REPLACEMENT) == 6


def test_a_secret_on_the_block_boundary_of_a_streamed_log(tmp_path, monkeypatch):
    monkeypatch.setattr(builder, "CHUNK", 4096)  # small blocks: the boundary falls inside the secret
    path = tmp_path / "mattermost.log"
    head = f"{STAMP}\"padding ".encode()
    first = head + b"p" * (4096 - len(head) - 5) + f"{LDAP} end\"}}\n".encode()  # LDAP starts 5 bytes before 4096
    assert first.index(LDAP.encode()) < 4096 < first.index(LDAP.encode()) + len(LDAP)
    long_line = f"{STAMP}\"".encode() + b"q" * 20_000 + LDAP.encode() + b"\"}\n"  # a line over several blocks
    path.write_bytes(first + long_line + first)
    result = build_packet(PacketRequest(environment="t", generated_by="t", generated_by_email=None, form=FORM,
                                        log_files=(path,), secrets={"ldap": LDAP}), tmp_path / "p.zip")
    assert result.ok, result.leaks
    with zipfile.ZipFile(tmp_path / "p.zip") as archive:
        log = archive.read("mattermost.log")
        report = json.loads(archive.read("redaction_report.json"))
    assert LDAP.encode() not in log and log.count(REPLACEMENT) == 3 and log.count(b"\n") == 3
    assert report["known_secrets_masked"] == {"ldap": 3}
    assert [r.line for r in result.redactions if r.rule == "known-secret"] == [1, 2, 3]


def test_a_secret_in_a_file_name(tmp_path):
    token = "k8rj2mqx7tnwb4lp9vz3hc6yf1"
    first = tmp_path / "mattermost.log"
    first.write_bytes(f"{STAMP}\"ok\"}}\n".encode())
    named = tmp_path / f"debug-{token}.log"
    named.write_bytes(f"{STAMP}\"dumped for {token}\"}}\n".encode())
    out = tmp_path / "p.zip"
    result = build_packet(PacketRequest(environment="t", generated_by="t", generated_by_email=None, form=FORM,
                                        log_files=(first, named), secrets={"mattermost.token": token}), out)
    assert result.ok, result.leaks
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        assert all(token not in name for name in names)
        assert "logs/debug-[REDACTED:known-secret].log" in names
        assert all(token.encode() not in archive.read(name) for name in names)  # manifest.json too


def test_short_values_are_not_masked_by_value_and_the_report_says_so(tmp_path):
    path = tmp_path / "mattermost.log"
    path.write_bytes(f"{STAMP}\"pin is 42x and the salt is long-salt-value\"}}\n".encode())
    out = tmp_path / "p.zip"
    result = build_packet(PacketRequest(environment="t", generated_by="t", generated_by_email=None, form=FORM,
                                        log_files=(path,), secrets={"pin": "42x", "salt": "long-salt-value"}), out)
    assert result.ok, result.leaks
    with zipfile.ZipFile(out) as archive:
        log = archive.read("mattermost.log")
        report = json.loads(archive.read("redaction_report.json"))
    assert b"42x" in log and b"long-salt-value" not in log
    assert list(report["not_masked_by_value"]) == ["pin"]
    assert report["known_secrets_masked"] == {"salt": 1}


def _config() -> dict:
    return {
        "ServiceSettings": {"SiteURL": "https://chat.example.com"},
        "LdapSettings": {"Enable": True, "LdapServer": "ldap.example.com", "BindUsername": "cn=admin,dc=example",
                         "BindPassword": LDAP},
        "EmailSettings": {"SMTPServer": "smtp.example.com", "SMTPUsername": "mailer", "SMTPPassword": SMTP},
        "SqlSettings": {"DataSource": "postgres://mmuser:Db-Pa55-4471@db.example.com:5432/mattermost"},
    }


def test_cli_packet_with_ldap_and_smtp_passwords_in_free_log_lines(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(_config()), encoding="utf-8")
    plain_auth = base64.b64encode(b"\0mailer\0" + SMTP.encode()).decode()
    lines = [
        f"{STAMP}\"LDAP: bind with {LDAP} refused by ldap.example.com\"}}",
        f"{STAMP}\"mail: login mailer / {SMTP} rejected (535)\"}}",
        f"{STAMP}\"retrying ldap://cn=admin:{quote(LDAP, safe='')}@ldap.example.com\"}}",
        f"{STAMP}\"AUTH PLAIN {plain_auth}\"}}",
        f'{STAMP}"request body: {json.dumps(json.dumps({"password": SMTP}))[1:-1]}"}}',
        f"{STAMP}\"Database: dial with Db-Pa55-4471 failed\"}}",
    ]
    (tmp_path / "mattermost.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MMDASH_", "MM_"))}
    env["MMDASH_SECRETS_FILE"] = str(tmp_path / "absent.toml")
    out = tmp_path / "x.zip"
    done = subprocess.run([sys.executable, "-m", "packet", "build", "--config-file", str(tmp_path / "config.json"),
                           "--log-file", str(tmp_path / "mattermost.log"), "--out", str(out), "--no-site-smtp-tests"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    secrets = {"ldap": LDAP, "smtp": SMTP, "db": "Db-Pa55-4471"}
    assert LeakGate(secrets).scan_zip(out) == []  # no spelling of either secret anywhere, names included
    with zipfile.ZipFile(out) as archive:
        report = json.loads(archive.read("redaction_report.json"))
        everything = b"".join(archive.read(n) for n in archive.namelist())
    assert LDAP.encode() not in everything and SMTP.encode() not in everything
    masked = report["known_secrets_masked"]
    assert masked["config:LdapSettings.BindPassword"] == 2 and masked["config:EmailSettings.SMTPPassword"] == 3
    assert report["by_member"]["mattermost.log"]["known-secret"] >= 6
    assert list(tmp_path.glob(".packet-*")) == []


def test_known_secrets_in_every_file_of_mattermosts_own_packet(tmp_path):
    token = "k8rj2mqx7tnwb4lp9vz3hc6yf1"
    server = tmp_path / "server.zip"
    with zipfile.ZipFile(server, "w") as archive:
        archive.writestr("mm-1/diagnostics.yaml", f"note: bind with {LDAP}\n")
        archive.writestr("plugins/jira/settings.txt", f"webhook secret {quote(SMTP, safe='')}\n")
        archive.writestr(f"plugins/dump-{token}.json", json.dumps({"t": token}))
        archive.writestr("mm-1/sanitized_config.json", json.dumps({"Note": {"Text": f"old {SMTP}"}}))
    out = tmp_path / "p.zip"
    secrets = {"ldap": LDAP, "smtp": SMTP, "token": token}
    result = build_packet(PacketRequest(environment="t", generated_by="t", generated_by_email=None, form=FORM,
                                        server_packet=server, secrets=secrets), out)
    assert result.ok, result.leaks
    assert LeakGate(secrets).scan_zip(out) == []
    with zipfile.ZipFile(out) as archive:
        assert "server_packet/plugins/dump-[REDACTED:known-secret].json" in archive.namelist()
        report = json.loads(archive.read("redaction_report.json"))
    assert report["known_secrets_masked"] == {"ldap": 1, "smtp": 2, "token": 2}
