"""The packet builder end to end: gathered from the simulator, redacted, leak-checked, readable by the analyzer."""

import hashlib
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from collectors.runner import run_async
from collectors.support_packet import parse_packet
from health.__main__ import main as health_main
from packet.builder import PacketRequest, build_packet
from packet.form import PacketForm
from packet.gather import gather
from settings import EnvironmentSettings, LocalFiles, MattermostSettings
from simulator.scenarios import build_scenario
from simulator.server_config import build_config
from simulator.server_log import node_log

FORM = PacketForm(issue="File uploads fail for everyone", users_affected=300, productivity_affected_percent=40,
                  component="WebApp")


@pytest.fixture
def degraded(simulator_factory):
    return simulator_factory("degraded")


@pytest.fixture
def log_file(tmp_path) -> Path:
    scenario = build_scenario("degraded")
    path = tmp_path / "mattermost.log"
    path.write_bytes(node_log(scenario, build_config(scenario), scenario.nodes[0], 8))
    return path


def gathered_request(sim, tmp_path, log_file, **changes) -> PacketRequest:
    env = EnvironmentSettings(name="staging", label="Staging", files=LocalFiles(logs=(log_file,)),
                              mattermost=MattermostSettings(url=sim.url, token=SecretStr(sim.admin_token)))
    got = run_async(gather(env, deadline_s=20, scratch=tmp_path, test_site_and_smtp=False))
    request = PacketRequest(environment="staging", generated_by="sysadmin", generated_by_email="admin@example.com",
                            form=FORM, snapshot=got.snapshot, config=got.config, config_source=got.config_source,
                            server_packet=got.server_packet, log_files=(log_file,), checks=tuple(got.checks),
                            secrets={"mattermost.token": sim.admin_token})
    return PacketRequest(**{**request.__dict__, **changes})


def test_a_packet_from_a_live_deployment(degraded, tmp_path, log_file, capsys):
    out = tmp_path / "packet.zip"
    result = build_packet(gathered_request(degraded, tmp_path, log_file), out)
    assert result.ok, (result.leaks, result.errors)
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        for expected in ("metadata.yaml", "diagnostics.yaml", "stats.yaml", "jobs.yaml", "plugins.json",
                         "sanitized_config.json", "mattermost.log", "manifest.json", "summary.json", "README.md",
                         "errors.json", "redaction_report.json", "server_packet/mm-1/diagnostics.yaml"):
            assert expected in names, expected
        manifest = json.loads(archive.read("manifest.json"))
        for member in manifest["members"]:
            assert hashlib.sha256(archive.read(member["name"])).hexdigest() == member["sha256"]
        summary = json.loads(archive.read("summary.json"))
        readme = archive.read("README.md").decode()
        server_config = archive.read("server_packet/mm-1/sanitized_config.json").decode()
    assert summary["form"]["issue"] == FORM.issue and summary["generated_by"]["username"] == "sysadmin"
    assert summary["config_source"].startswith("GET /api/v4/config")
    assert summary["verdict"]["label"] == "critical problems"
    assert any(f["code"] == "FILESTORE_UNREACHABLE" for f in summary["findings"])
    assert "File uploads fail for everyone" in readme
    # Mattermost leaves the Elasticsearch URL's password in its own packet; ours removes it.
    assert "Winter2026!" not in server_config
    assert result.total_redactions > 0
    # The analyzer reads our packet as it reads Mattermost's.
    assert parse_packet(out).server.version == "11.6.1"
    assert health_main(["--packet", str(out)]) == 0
    assert "FILESTORE_UNREACHABLE" in capsys.readouterr().out


def test_a_known_secret_in_free_text_is_masked_by_value(degraded, tmp_path, log_file):
    secret = "zq9-unrecognisable-canary-7741"
    with log_file.open("ab") as log:
        log.write(f'{{"level":"info","msg":"note {secret}"}}\n'.encode())
    out = tmp_path / "packet.zip"
    request = gathered_request(degraded, tmp_path, log_file, secrets={"custom.secret": secret})
    result = build_packet(request, out)
    assert result.ok, result.leaks
    with zipfile.ZipFile(out) as archive:
        assert all(secret.encode() not in archive.read(name) for name in archive.namelist())
        report = json.loads(archive.read("redaction_report.json"))
    assert report["known_secrets_masked"] == {"custom.secret": 1}
    assert report["by_member"]["mattermost.log"]["known-secret"] == 1


def test_a_known_secret_masking_missed_blocks_the_packet_and_says_where(degraded, tmp_path, log_file, monkeypatch):
    import packet.builder as builder
    from packet.value_mask import ValueMasker

    monkeypatch.setattr(builder, "ValueMasker", lambda _secrets: ValueMasker({}))  # the gate is the last defence
    secret = "zq9-unrecognisable-canary-7741"
    lines = log_file.read_bytes().count(b"\n")
    with log_file.open("ab") as log:
        log.write(f'{{"level":"info","msg":"note {secret}"}}\n'.encode())
    out = tmp_path / "packet.zip"
    request = gathered_request(degraded, tmp_path, log_file, secrets={"custom.secret": secret})
    result = build_packet(request, out)
    assert not result.ok and not out.exists()
    assert {leak.member for leak in result.leaks} == {"mattermost.log"}
    assert {leak.line for leak in result.leaks} == {lines + 1}
    assert all(secret not in leak.label for leak in result.leaks)
    assert not list(tmp_path.glob(".packet-*"))  # no half-written zip left behind


def test_extra_terms_are_masked_on_rebuild(degraded, tmp_path, log_file):
    request = gathered_request(degraded, tmp_path, log_file, extra_terms=("Contoso",))
    out = tmp_path / "packet.zip"
    assert build_packet(request, out).ok
    with zipfile.ZipFile(out) as archive:
        assert all(b"Contoso" not in archive.read(name) for name in archive.namelist())


def test_log_window_comes_from_the_form(degraded, tmp_path, log_file):
    started = datetime.now(UTC) - timedelta(hours=2)
    request = gathered_request(degraded, tmp_path, log_file,
                               form=PacketForm(issue="x", started_at=started, ended_at=started + timedelta(hours=1)))
    result = build_packet(request, tmp_path / "packet.zip")
    log = next(m for m in result.members if m.name == "mattermost.log")
    assert log.source_size == log_file.stat().st_size and log.note


def test_local_files_only(tmp_path, log_file):
    config = build_config(build_scenario("healthy"))
    request = PacketRequest(environment="host", generated_by="root", generated_by_email=None, form=FORM,
                            config=config, log_files=(log_file,),
                            secrets={"SqlSettings.DataSource": config["SqlSettings"]["DataSource"]})
    out = tmp_path / "packet.zip"
    result = build_packet(request, out)
    assert result.ok, result.leaks
    with zipfile.ZipFile(out) as archive:
        redacted = json.loads(archive.read("sanitized_config.json"))
    assert redacted["SqlSettings"]["DataSource"] != config["SqlSettings"]["DataSource"]
    assert "metadata.yaml" not in result.errors


def test_a_secret_deep_in_a_large_log_is_found_on_its_line(tmp_path):
    clean = b'{"timestamp":"2026-11-23 05:00:00.000 Z","level":"info","msg":"websocket closed"}\n'
    path = tmp_path / "big.log"
    with path.open("wb") as log:
        log.write(clean * 40_000)  # about 3 MB: several blocks pass the pre-filter untouched
        log.write(b'{"level":"error","msg":"connect failed","dsn":"postgres://mm:Hunter2-secret@db/mm"}\n')
        log.write(clean * 100)
    request = PacketRequest(environment="host", generated_by="root", generated_by_email=None, form=FORM,
                            log_files=(path,), secrets={"db": "Hunter2-secret"})
    result = build_packet(request, tmp_path / "packet.zip")
    assert result.ok, result.leaks
    [found] = [r for r in result.redactions if r.member == "mattermost.log"]
    assert found.line == 40_001 and found.rule == "known-secret" and "Hunter2" not in found.context


def test_deployment_facts_support_asks_for_are_in_the_summary(degraded, tmp_path, log_file):
    result = build_packet(gathered_request(degraded, tmp_path, log_file), tmp_path / "packet.zip")
    with zipfile.ZipFile(result.path) as archive:
        deployment = json.loads(archive.read("summary.json"))["deployment"]
        readme = archive.read("README.md").decode()
    assert deployment["version"] == "11.6.1" and deployment["build_hash"]
    assert deployment["license"]["seats"] and deployment["license"]["expires_at"]
    assert deployment["plugins"] and deployment["users"]
    assert "## Deployment" in readme


def test_canaries_in_every_secret_field_and_log_form_never_reach_the_zip(tmp_path):
    from packet.redact import SANITIZED_CONFIG_FIELDS

    config = build_config(build_scenario("degraded"))
    canaries = {}
    for number, path in enumerate(SANITIZED_CONFIG_FIELDS):
        *parents, leaf = path.split(".")
        node = config
        for part in parents:
            node = node.setdefault(part, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            canary = f"CANARY{number:02d}x7Qz"
            value = f"postgres://mm:{canary}@db/mm" if "DataSource" in leaf else canary
            node[leaf] = [value] if isinstance(node.get(leaf), list) else value
            canaries[path] = canary
    log = tmp_path / "mattermost.log"
    log.write_text("\n".join([
        'Authorization: Bearer CANARYLOGaa1x7Qz', 'password=CANARYLOGbb2x7Qz',
        '{"password":"CANARYLOGcc3x7Qz"}', '{\\"password\\":\\"CANARYLOGdd4x7Qz\\"}',
        'password%3DCANARYLOGee5x7Qz', 'url=https://admin:CANARYLOGff6x7Qz@es.example.com:9200',
    ]) + "\n", encoding="utf-8")
    secrets = {**{f"config:{k}": v for k, v in canaries.items()},
               **{f"log:{i}": f"CANARYLOG{c}{i}x7Qz" for i, c in enumerate(("aa", "bb", "cc", "dd", "ee", "ff"), 1)}}
    request = PacketRequest(environment="host", generated_by="root", generated_by_email=None, form=FORM,
                            config=config, log_files=(log,), secrets=secrets)
    result = build_packet(request, tmp_path / "packet.zip")
    assert result.ok, result.leaks
    with zipfile.ZipFile(result.path) as archive:
        blob = b"".join(archive.read(name) for name in archive.namelist())
    assert b"CANARY" not in blob


def test_missing_logs_and_a_dead_server_still_give_a_packet_that_says_so(simulator, tmp_path):
    simulator.faults.set("*", status=503)
    env = EnvironmentSettings(name="prod", label="Prod",
                              mattermost=MattermostSettings(url=simulator.url, token=SecretStr(simulator.admin_token)))
    got = run_async(gather(env, deadline_s=10, scratch=tmp_path, test_site_and_smtp=False))
    request = PacketRequest(environment="prod", generated_by="admin", generated_by_email=None, form=FORM,
                            snapshot=got.snapshot, config=got.config, server_packet=got.server_packet,
                            log_files=(tmp_path / "gone.log",))
    result = build_packet(request, tmp_path / "packet.zip")
    assert result.ok
    assert "mattermost.log" in result.errors and "sanitized_config.json" in result.errors
    assert any("503" in note for note in got.notes)
    with zipfile.ZipFile(result.path) as archive:
        assert json.loads(archive.read("errors.json")) == result.errors


def test_our_packet_read_back_by_the_analyzer_raises_no_false_alarm(tmp_path, simulator, capsys):
    """Our diagnostics.yaml describes the cluster as a whole: node-count rules must not misread it."""
    env = EnvironmentSettings(name="prod", label="Prod",
                              mattermost=MattermostSettings(url=simulator.url, token=SecretStr(simulator.admin_token)))
    got = run_async(gather(env, deadline_s=10, scratch=tmp_path, test_site_and_smtp=False))
    request = PacketRequest(environment="prod", generated_by="admin", generated_by_email=None, form=FORM,
                            snapshot=got.snapshot, config=got.config)
    result = build_packet(request, tmp_path / "packet.zip")
    assert health_main(["--packet", str(result.path), "--format", "json"]) == 0
    findings = {f["code"]: f for f in json.loads(capsys.readouterr().out)["findings"]}
    assert findings["CLUSTER_SINGLE_NODE"]["state"] != "firing"
    assert findings["RATELIMIT_OFF_LARGE"]["state"] != "unknown"


def test_nothing_is_written_outside_a_temporary_folder_until_the_final_rename(tmp_path, log_file, monkeypatch):
    import packet.builder as builder

    folder = tmp_path / "out"
    folder.mkdir()
    seen: list[list[str]] = []
    scan_zip = builder.LeakGate.scan_zip

    def watching(gate, path, **options):
        seen.append(sorted(p.name for p in folder.iterdir()))
        assert path.parent.parent == folder and path.parent.name.startswith(".packet-")
        return scan_zip(gate, path, **options)

    monkeypatch.setattr(builder.LeakGate, "scan_zip", watching)
    request = PacketRequest(environment="host", generated_by="root", generated_by_email=None, form=FORM,
                            log_files=(log_file,))
    assert build_packet(request, folder / "packet.zip").ok
    assert len(seen) == 1 and len(seen[0]) == 1 and seen[0][0].startswith(".packet-")
    assert sorted(p.name for p in folder.iterdir()) == ["packet.zip"]  # the temporary folder is gone too


def test_out_that_is_a_directory_is_refused_before_any_work(tmp_path):
    request = PacketRequest(environment="host", generated_by="root", generated_by_email=None, form=FORM)
    with pytest.raises(IsADirectoryError, match="is a directory"):
        build_packet(request, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_the_gate_reads_every_block_the_masker_did_not_verify(tmp_path, monkeypatch):
    import packet.builder as builder
    from packet.value_mask import ValueMasker

    monkeypatch.setattr(builder, "ValueMasker", lambda _secrets: ValueMasker({}))  # a masker that knows nothing
    clean = b'{"timestamp":"2026-11-23 05:00:00.000 Z","level":"info","msg":"websocket closed"}\n'
    path = tmp_path / "big.log"
    path.write_bytes(clean * 40_000 + b'{"msg":"canary zq9-unrecognisable-canary-7741"}\n' + clean * 100)
    request = PacketRequest(environment="host", generated_by="root", generated_by_email=None, form=FORM,
                            log_files=(path,), secrets={"c": "zq9-unrecognisable-canary-7741"})
    result = build_packet(request, tmp_path / "packet.zip")
    assert not result.ok and [leak.line for leak in result.leaks] == [40_001]
