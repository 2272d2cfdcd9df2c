"""python -m health check: a configured environment collected now and judged, for cron and CI (exit status,
text, JSON and JUnit XML), against the Mattermost simulator."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET

import pytest

from health.__main__ import main


def isolate(monkeypatch, tmp_path):
    for name in [n for n in os.environ if n.startswith("MMDASH_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("MMDASH_SECRETS_FILE", str(tmp_path / "none.toml"))
    monkeypatch.setenv("MMDASH_SQLITE_PATH", str(tmp_path / "store.sqlite3"))


def configure(monkeypatch, tmp_path, url: str, token: str) -> None:
    isolate(monkeypatch, tmp_path)
    monkeypatch.setenv("MMDASH_PRODUCTION__MATTERMOST__URL", url)
    monkeypatch.setenv("MMDASH_PRODUCTION__MATTERMOST__TOKEN", token)


def test_a_degraded_deployment_fails_the_gate(monkeypatch, tmp_path, simulator_factory, capsys):
    sim = simulator_factory("degraded")
    configure(monkeypatch, tmp_path, sim.url, sim.admin_token)
    assert main(["check", "--env", "production", "--format", "json"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["environment"] == "production" and payload["verdict"]["firing"]["critical"] >= 1
    assert payload["sources"]["mattermost"]["status"] == "ok"
    assert payload["sources"]["database"]["status"] == "not_configured"
    codes = {f["code"] for f in payload["findings"] if f["state"] == "firing"}
    assert "CLUSTER_CONFIG_MISMATCH" in codes and "CLUSTER_VERSION_SKEW" in codes  # live: /cluster/status hashes


def test_a_healthy_deployment_passes_on_critical_and_fails_on_warning(monkeypatch, tmp_path, simulator, capsys):
    configure(monkeypatch, tmp_path, simulator.url, simulator.admin_token)
    assert main(["check", "--fail-on", "critical"]) == 0
    out = capsys.readouterr().out
    assert "Environment: " in out and "mattermost: ok" in out and "Mattermost health report" in out
    assert main(["check", "--fail-on", "warning"]) == 1


def test_junit_output_marks_firing_as_failures_and_unknown_as_skipped(monkeypatch, tmp_path, simulator, capsys):
    configure(monkeypatch, tmp_path, simulator.url, simulator.admin_token)
    main(["check", "--format", "junit", "--fail-on", "never"])
    root = ET.fromstring(capsys.readouterr().out)
    cases = root.findall(".//testcase")
    assert root.tag == "testsuites" and len(cases) > 60
    failures = root.findall(".//testcase/failure")
    skipped = root.findall(".//testcase/skipped")
    assert failures and skipped
    total = sum(int(s.get("failures")) for s in root.findall("testsuite"))
    assert total == len(failures)
    assert all(s.get("message") for s in skipped)  # says why it could not judge


PACKET_ONLY = ("NODE_FD_EXHAUSTION", "ENV_UNSUPPORTED_OS", "CLUSTER_NODE_MISSING", "SMTP_UNREACHABLE")


def test_a_check_reads_the_server_packet_for_what_the_api_does_not_say(monkeypatch, tmp_path, simulator, capsys):
    """A check is one run, so it reads Mattermost's own support packet: the nodes' descriptors and OS and the
    cluster's node count come from its diagnostics.yaml (server/channels/app/support_packet.go), the SMTP test
    from the server's own notifications probe. --no-server-packet leaves it out, and those rules say why."""
    configure(monkeypatch, tmp_path, simulator.url, simulator.admin_token)
    main(["check", "--format", "json", "--fail-on", "never", "--no-history"])
    payload = json.loads(capsys.readouterr().out)
    assert payload["sources"]["support_packet"]["status"] == "ok"
    judged = {f["code"]: f for f in payload["findings"] if f["code"] in PACKET_ONLY}
    assert set(judged) == set(PACKET_ONLY) and all(f["state"] == "ok" for f in judged.values())
    assert "diagnostics.yaml" in judged["NODE_FD_EXHAUSTION"]["evidence"]
    audit = next(f for f in payload["findings"] if f["code"] == "AUDIT_LOG_OFF")  # from GET /config
    assert audit["state"] == "ok" and audit["observed"].startswith("audit log on")
    main(["check", "--format", "json", "--fail-on", "never", "--no-history", "--no-server-packet"])
    without = json.loads(capsys.readouterr().out)
    assert "support_packet" not in without["sources"]
    assert {f["code"] for f in without["findings"] if f["state"] == "unknown"} >= set(PACKET_ONLY)
    assert without["verdict"]["unknown"] > payload["verdict"]["unknown"]


def test_an_unreachable_server_exits_3(monkeypatch, tmp_path, capsys):
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    configure(monkeypatch, tmp_path, f"http://127.0.0.1:{port}", "x" * 26)
    assert main(["check"]) == 3
    assert "could not be read" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["check", "--env", "nowhere"], ["check", "--format", "yaml"]])
def test_bad_arguments_exit_2(monkeypatch, tmp_path, capsys, argv):
    configure(monkeypatch, tmp_path, "http://127.0.0.1:9", "x" * 26)
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse's own refusal of a bad choice
        status = exit_.code
    assert status == 2
    err = capsys.readouterr().err
    assert "error" in err and "Traceback" not in err


def test_each_run_says_what_opened_and_what_healed(monkeypatch, tmp_path, simulator_factory, capsys):
    """The first run opens every firing finding; a second run of the same state changes nothing; a run where a
    problem is gone reports it healed. Kept in the SQLite store between runs."""
    degraded = simulator_factory("degraded")
    configure(monkeypatch, tmp_path, degraded.url, degraded.admin_token)
    main(["check", "--format", "json", "--fail-on", "never"])
    first = json.loads(capsys.readouterr().out)["changes"]
    assert first and {c["change"] for c in first} == {"new"}
    main(["check", "--format", "json", "--fail-on", "never"])
    assert json.loads(capsys.readouterr().out)["changes"] == []
    healthy = simulator_factory("healthy")
    configure(monkeypatch, tmp_path, healthy.url, healthy.admin_token)
    main(["check", "--fail-on", "never"])
    out = capsys.readouterr().out
    assert "Since the last run:" in out and "RESOLVED" in out


def test_a_store_that_cannot_be_used_does_not_fail_the_check(monkeypatch, tmp_path, simulator, capsys):
    configure(monkeypatch, tmp_path, simulator.url, simulator.admin_token)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("MMDASH_SQLITE_PATH", str(blocker / "store.sqlite3"))  # a file where a folder must be
    assert main(["check", "--fail-on", "critical"]) == 0
    assert "not recorded" in capsys.readouterr().err


def test_a_muted_finding_does_not_fail_the_gate(monkeypatch, tmp_path, simulator_factory, capsys):
    """Mute every critical finding of the degraded deployment with the command line: the gate passes, the report
    says who muted what and why; unmuting brings the failure back."""
    sim = simulator_factory("degraded")
    configure(monkeypatch, tmp_path, sim.url, sim.admin_token)
    main(["check", "--format", "json", "--fail-on", "never", "--no-history"])
    critical = [f for f in json.loads(capsys.readouterr().out)["findings"]
                if f["state"] == "firing" and f["severity"] == "critical"]
    assert critical
    for f in critical:
        argv = ["mute", "--env", "production", "--code", f["code"], "--by", "ana", "--why", "known, fix planned",
                "--until", "2099-01-01T00:00"] + (["--subject", f["subject"]] if f["subject"] else [])
        assert main(argv) == 0
    capsys.readouterr()
    assert main(["check", "--fail-on", "critical", "--no-history"]) == 0
    assert "muted by ana until 2099-01-01 00:00 UTC: known, fix planned" in capsys.readouterr().out
    assert main(["mutes"]) == 0 and critical[0]["code"] in capsys.readouterr().out
    first = critical[0]
    assert main(["unmute", "--code", first["code"], "--by", "ana"]
                + (["--subject", first["subject"]] if first["subject"] else [])) == 0
    assert main(["check", "--fail-on", "critical", "--no-history"]) == 1


def test_mute_command_refuses_bad_input(monkeypatch, tmp_path, capsys):
    configure(monkeypatch, tmp_path, "http://127.0.0.1:9", "x" * 26)
    assert main(["mute", "--code", "X", "--by", "ana", "--why", "w", "--until", "2000-01-01T00:00"]) == 2
    assert "not in the future" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["mute", "--code", "X", "--by", "ana", "--why", "w", "--until", "tomorrow"])
    assert exited.value.code == 2
