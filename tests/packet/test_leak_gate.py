"""The leak gate finds a known secret in any spelling, anywhere in a packet, and nothing in a clean one."""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import re
import zipfile
from urllib.parse import quote, quote_plus

import pytest

from packet.leak_gate import Leak, LeakGate, secret_forms
from packet.redact import Redactor, config_secrets
from simulator import build_scenario
from simulator.api.plugins import manifest_json
from simulator.server_config import build_config
from simulator.server_log import node_log

SECRET = 'Winter2026!/p@ss+wörd "<&>'


def _find(gate: LeakGate, data: bytes, chunk: int = 1 << 20) -> list[Leak]:
    return gate.scan("member.txt", (data[i:i + chunk] for i in range(0, len(data), chunk)))


def test_forms_are_distinct_long_enough_and_named():
    forms = secret_forms(SECRET)
    assert set(forms) >= {"plain", "url", "url-lower", "url-path", "url-plus", "json", "json-ascii", "json-html",
                          "hex", "base64@0", "base64@1", "base64@2"}
    for align in range(3):  # the URL-safe alphabet differs only where the fragment has + or /
        standard = forms[f"base64@{align}"]
        assert (f"base64url@{align}" in forms) == (b"+" in standard or b"/" in standard)
    assert len(set(forms.values())) == len(forms)
    assert all(len(form) >= 6 for form in forms.values())
    assert forms["url-plus"] == quote_plus(SECRET, safe="").encode()
    assert forms["json-html"] == b'Winter2026!/p@ss+w\xc3\xb6rd \\"\\u003c\\u0026\\u003e'
    # A simple secret has fewer spellings: those equal to another are left out.
    assert set(secret_forms("abcdef123")) == {"plain", "hex", "base64@0", "base64@1", "base64@2", "sha256-16"}
    assert rb'\\\"' in forms["json-in-json"] and rb"\\u00f6" in forms["json-in-json"]  # escaped twice
    assert len(secret_forms("abcd", min_length=4)["plain"]) == 4 and "plain" not in secret_forms("abcd")


@pytest.mark.parametrize(("form", "spelled"), [
    ("plain", SECRET.encode()),
    ("url", quote(SECRET, safe="").encode()),
    ("url-lower", re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), quote(SECRET, safe="")).encode()),
    ("url-plus", quote_plus(SECRET).encode()),
    ("json", json.dumps(SECRET, ensure_ascii=False)[1:-1].encode()),
    ("json-ascii", json.dumps(SECRET)[1:-1].encode()),
    ("hex", SECRET.encode().hex().encode()),
])
def test_each_spelling_is_found_inside_other_text(form, spelled):
    leaks = _find(LeakGate({"EmailSettings.SMTPPassword": SECRET}), b'{"level":"info","x":"' + spelled + b'"}\n')
    assert [(leak.form, leak.label, leak.offset) for leak in leaks] == [(form, "EmailSettings.SMTPPassword", 21)]


@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
@pytest.mark.parametrize("offset", [0, 1, 2, 3, 4, 5, 17])
def test_secret_inside_a_base64_blob_at_every_alignment(encode, offset):
    blob = os.urandom(offset) + SECRET.encode() + os.urandom(11)
    leaks = _find(LeakGate({"s": SECRET}), b"payload=" + encode(blob) + b"\n")
    # Where both alphabets spell the fragment alike, the standard name is the one reported.
    assert {leak.form for leak in leaks} & {f"base64@{offset % 3}", f"base64url@{offset % 3}"}


def test_secret_split_across_chunks_is_found_once_at_its_offset():
    data = os.urandom(5000).replace(b"W", b"w") + SECRET.encode() + b"tail"
    gate = LeakGate({"s": SECRET})
    for chunk in (1, 7, 8, 30, len(SECRET) - 1, 4999, 5003, 5010):
        assert [(leak.offset, leak.form) for leak in _find(gate, data, chunk)] == [(5000, "plain")], chunk


def test_member_names_are_scanned():
    gate = LeakGate({"mattermost.token": "k8rj2mqx7tnwb4lp9vz3hc6yf1"})
    assert gate.scan_name("logs/k8rj2mqx7tnwb4lp9vz3hc6yf1.log") == [
        Leak("logs/k8rj2mqx7tnwb4lp9vz3hc6yf1.log", 5, "plain", "mattermost.token", in_name=True)]


def test_short_values_and_masks_are_not_searched_and_say_so():
    gate = LeakGate({"ldap.bind_password": "abc12", "config.SplitKey": "*" * 32, "db.password": "long-enough"})
    assert _find(gate, b"abc12 ******************************** long-enough") == [
        Leak("member.txt", 39, "plain", "db.password", line=1)]
    assert any(note.startswith("ldap.bind_password: shorter than 6") for note in gate.notes)
    assert any(note.startswith("config.SplitKey") for note in gate.notes)


def test_a_leak_never_carries_the_value():
    leaks = _find(LeakGate({"es.password": SECRET}), SECRET.encode())
    assert leaks and all(SECRET not in repr(leak) for leak in leaks)


def test_zip_members_names_gzip_and_nested_zips(tmp_path):
    secret = "gl-oauth-Client-Secret-aa41"
    nested = io.BytesIO()
    with zipfile.ZipFile(nested, "w", zipfile.ZIP_DEFLATED) as inner:
        inner.writestr("inner/config.json", json.dumps({"secret": secret}))
    path = tmp_path / "packet.zip"
    big = os.urandom(3 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("clean.txt", b"nothing to see")
        archive.writestr(f"notes-{secret}.txt", b"")
        archive.writestr("logs/old.log.gz", gzip.compress(f"token={secret}\n".encode()))
        archive.writestr("server_packet.zip", nested.getvalue())
        # Across the 1 MiB read boundary of a member bigger than the gate reads at once.
        archive.writestr("big.bin", big[:(1 << 20) - 5] + secret.encode() + big)
    leaks = LeakGate({"gitlab.secret": secret}).scan_zip(path)
    assert {(leak.member, leak.in_name) for leak in leaks} == {
        (f"notes-{secret}.txt", True), ("logs/old.log.gz!gunzip", False),
        ("server_packet.zip!inner/config.json", False), ("big.bin", False)}
    assert next(leak.offset for leak in leaks if leak.member == "big.bin") == (1 << 20) - 5


def test_unreadable_gzip_member_blocks_rather_than_passes(tmp_path):
    path = tmp_path / "packet.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("logs/broken.log.gz", gzip.compress(os.urandom(1000))[:200])
    with pytest.raises(ValueError, match=r"broken\.log\.gz: not a readable gzip stream"):
        LeakGate({"s": "secret-value"}).scan_zip(path)


def test_redacted_simulator_packet_raises_no_false_alarm(tmp_path):
    scenario = build_scenario("degraded")
    config = build_config(scenario)
    manifests = {p.id: manifest_json(p) for p in scenario.plugins}
    secrets = config_secrets(config, plugin_manifests=manifests)
    secrets.update({f"filler-{i}": os.urandom(12).hex() for i in range(30 - len(secrets))})
    redactor = Redactor()
    path = tmp_path / "packet.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        redacted, _ = redactor.redact_config(config, member="sanitized_config.json", plugin_manifests=manifests)
        archive.writestr("sanitized_config.json", json.dumps(redacted, indent=2))
        for node in scenario.nodes:
            log = node_log(scenario, config, node, 4)
            archive.writestr(f"{node.hostname}/mattermost.log", b"".join(
                redactor.redact_line(line, member=node.hostname, line_no=n)[0]
                for n, line in enumerate(log.splitlines(keepends=True), 1)))
    gate = LeakGate(secrets)
    assert gate.scan_zip(path) == []
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("raw_config.json", json.dumps(config))
    assert {leak.label for leak in gate.scan_zip(path)} >= set(config_secrets(config, plugin_manifests=manifests))


def test_a_stream_scan_finds_what_a_whole_scan_finds_at_any_block_boundary():
    gate = LeakGate({"s": SECRET})
    data = b"x" * 5000 + SECRET.encode() + b"\n" * 3 + quote_plus(SECRET, safe="").encode() + b"y" * 10
    whole = gate.scan("m", [data])
    assert len(whole) == 2
    for size in (1, 7, 30, 4999, 5003, 5010):
        scan = gate.stream("m")
        for at in range(0, len(data), size):
            scan.feed(data[at:at + size])
        assert scan.leaks == whole, size
    assert [leak.line for leak in whole] == [1, 4]


def test_a_stream_scan_skips_only_verified_blocks_after_verified_blocks():
    gate = LeakGate({"s": SECRET})
    scan = gate.stream("m")
    clean = b"z" * 1000
    scan.feed(clean, verified=True)  # the first block is always searched
    scan.feed(clean, verified=True)  # skipped
    scan.feed(clean[:-5] + SECRET.encode()[:5], verified=False)  # changed: searched, with the end before it
    scan.feed(SECRET.encode()[5:] + clean, verified=True)  # after a changed block: searched
    assert scan.searched == 1000 + 1000 + len(SECRET.encode()) - 5 + 1000  # the second block was not read
    assert [leak.offset for leak in scan.leaks] == [3000 - 5]
