"""python -m health --packet: the rules on a packet made by Mattermost (here, by the simulator's builder)."""

import json
import zipfile

import pytest

from health.__main__ import main
from simulator.scenarios import build_scenario
from simulator.server_config import build_config
from simulator.support_packet import build_packet, write_legacy_packet


@pytest.fixture(scope="module")
def packets(tmp_path_factory):
    folder = tmp_path_factory.mktemp("packets")
    paths = {}
    for name in ("healthy", "degraded"):
        scenario = build_scenario(name)
        paths[name] = folder / f"{name}.zip"
        paths[name].write_bytes(build_packet(scenario, build_config(scenario)))
    paths["legacy"] = write_legacy_packet(folder / "legacy.zip", build_scenario("degraded"))
    data = paths["degraded"].read_bytes()
    paths["truncated"] = folder / "truncated.zip"
    paths["truncated"].write_bytes(data[: len(data) * 2 // 3])
    return paths


def test_text_report_on_a_degraded_packet(packets, capsys):
    assert main(["--packet", str(packets["degraded"])]) == 0
    out = capsys.readouterr().out
    assert "current format: v12, HA with 3 node folders, server 11.6.1" in out
    assert "Critical problems" in out
    assert "FILESTORE_UNREACHABLE" in out and "diagnostics.yaml" in out
    assert "LDAP_PROBE_FAILED" in out and "JOB_FAILED [ldap_sync]" in out


def test_json_report_and_fail_on(packets, capsys):
    assert main(["--packet", str(packets["degraded"]), "--format", "json", "--fail-on", "critical"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["packet_format"] == "current" and payload["verdict"]["firing"]["critical"] >= 1
    assert main(["--packet", str(packets["healthy"]), "--format", "json", "--fail-on", "critical"]) == 0


def test_legacy_packet_is_judged_on_what_it_has(packets, capsys):
    assert main(["--packet", str(packets["legacy"])]) == 0
    out = capsys.readouterr().out
    assert "legacy format" in out
    assert "FILESTORE_UNREACHABLE" in out and "support_packet.yaml" in out
    assert "CLUSTER_SINGLE_NODE" in out and "does not list the cluster's nodes" in out  # unknown, not a false alarm


def test_a_packet_without_configuration_says_why_config_rules_are_unknown(packets, tmp_path, capsys):
    stripped = tmp_path / "no-config.zip"
    with zipfile.ZipFile(packets["legacy"]) as source, zipfile.ZipFile(stripped, "w") as target:
        for item in source.infolist():
            if not item.filename.endswith("sanitized_config.json"):
                target.writestr(item, source.read(item))
    assert main(["--packet", str(stripped)]) == 0
    assert "Cannot judge: needs sanitized_config.json: sanitized_config.json is not in the packet" in (
        capsys.readouterr().out)


def test_truncated_packet_reports_what_it_could_not_read(packets, capsys):
    assert main(["--packet", str(packets["truncated"])]) == 0
    out = capsys.readouterr().out
    assert "Could not read" in out


def test_not_a_zip_is_a_clear_error(tmp_path, capsys):
    bogus = tmp_path / "packet.zip"
    bogus.write_text("<html>sign in</html>", encoding="utf-8")
    assert main(["--packet", str(bogus)]) == 2
    assert "error:" in capsys.readouterr().err
    assert zipfile.is_zipfile(bogus) is False


def test_a_zip_that_is_not_a_support_packet_exits_2(tmp_path, capsys):
    """2,000 junk files used to be judged 'healthy, score 100'; now it is refused with a sentence."""
    junk = tmp_path / "junk.zip"
    with zipfile.ZipFile(junk, "w") as archive:
        for i in range(2000):
            archive.writestr(f"file{i}.txt", "x")
    assert main(["--packet", str(junk), "--fail-on", "critical"]) == 2
    err = capsys.readouterr().err
    assert "not a Mattermost support packet" in err and "Traceback" not in err


@pytest.mark.parametrize("make", [lambda p: p, lambda p: p / "missing.zip"])
def test_a_folder_or_a_missing_file_is_refused_before_any_work(tmp_path, capsys, make):
    assert main(["--packet", str(make(tmp_path))]) == 2
    assert "error:" in capsys.readouterr().err


def test_a_packet_that_cannot_be_judged_fails_a_ci_gate(tmp_path, capsys):
    """Only metadata.yaml: most rules are unknown, so the verdict is 'not enough data', never healthy, and
    --fail-on critical fails on it (exit 1)."""
    bare = tmp_path / "bare.zip"
    with zipfile.ZipFile(bare, "w") as archive:
        archive.writestr("metadata.yaml", "version: 1\ntype: support-packet\nserver_version: 11.6.1\n")
    assert main(["--packet", str(bare), "--format", "json", "--fail-on", "critical"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["verdict"]["label"] == "not enough data"
    assert main(["--packet", str(bare)]) == 0  # without --fail-on it reports and exits 0


def test_json_report_lists_what_it_could_not_interpret(tmp_path, capsys):
    from tests.fixtures.packet_fixtures import build_fixture
    path = build_fixture("v12_standalone", tmp_path / "p.zip")
    assert main(["--packet", str(path), "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["packet_layout"] == "v12"
    assert payload["uninterpreted_fields"] == {"diagnostics.yaml": ["server.future_field_of_v13"]}
    assert any(m.startswith("cpu.prof") for m in payload["uninterpreted_members"])
