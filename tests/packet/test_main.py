"""python -m packet build: headless packets from a configured deployment, or from local files alone."""

import json
import zipfile

from packet.__main__ import main
from simulator.scenarios import build_scenario
from simulator.server_config import build_config
from simulator.server_log import node_log


def isolate(monkeypatch, tmp_path):
    for name in [n for n in __import__("os").environ if n.startswith("MMDASH_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("MMDASH_SECRETS_FILE", str(tmp_path / "none.toml"))


def test_build_from_a_configured_deployment(monkeypatch, tmp_path, simulator, capsys):
    isolate(monkeypatch, tmp_path)
    monkeypatch.setenv("MMDASH_PRODUCTION__MATTERMOST__URL", simulator.url)
    monkeypatch.setenv("MMDASH_PRODUCTION__MATTERMOST__TOKEN", simulator.admin_token)
    out = tmp_path / "packet.zip"
    code = main(["build", "--env", "production", "--out", str(out), "--issue", "Slow search", "--no-site-smtp-tests"])
    assert code == 0, capsys.readouterr().err
    with zipfile.ZipFile(out) as archive:
        summary = json.loads(archive.read("summary.json"))
        assert all(simulator.admin_token.encode() not in archive.read(n) for n in archive.namelist())
    assert summary["form"]["issue"] == "Slow search"
    assert "no known secret found" in capsys.readouterr().out


def test_build_from_local_files_only(monkeypatch, tmp_path, capsys):
    isolate(monkeypatch, tmp_path)
    scenario = build_scenario("degraded")
    config = build_config(scenario)
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    (tmp_path / "mattermost.log").write_bytes(node_log(scenario, config, scenario.nodes[0], 8))
    out = tmp_path / "packet.zip"
    code = main(["build", "--out", str(out), "--config-file", str(tmp_path / "config.json"),
                 "--log-file", str(tmp_path / "mattermost.log"), "--no-site-smtp-tests"])
    assert code == 0, capsys.readouterr().err
    smtp_password = config["EmailSettings"]["SMTPPassword"].encode()
    with zipfile.ZipFile(out) as archive:
        assert all(smtp_password not in archive.read(n) for n in archive.namelist())


def test_a_config_that_is_not_json_is_recorded_not_fatal(monkeypatch, tmp_path, capsys):
    isolate(monkeypatch, tmp_path)
    (tmp_path / "config.json").write_bytes(b"{not json\xff")
    out = tmp_path / "packet.zip"
    assert main(["build", "--out", str(out), "--config-file", str(tmp_path / "config.json"),
                 "--no-site-smtp-tests"]) == 0
    with zipfile.ZipFile(out) as archive:
        summary = json.loads(archive.read("summary.json"))
    assert any(c["name"] == "config.json" and not c["ok"] for c in summary["checks"])


def test_bad_input_is_a_clear_error(monkeypatch, tmp_path, capsys):
    isolate(monkeypatch, tmp_path)
    assert main(["build", "--out", str(tmp_path / "p.zip"), "--issue", " "]) == 2
    assert "Describe the issue" in capsys.readouterr().err


def test_ldap_trace_from_the_command_line(monkeypatch, tmp_path, ldap_settings, capsys):
    isolate(monkeypatch, tmp_path)
    ldap = ldap_settings(security="none")
    for field, value in (("URL", ldap.url), ("BASE_DN", ldap.base_dn), ("BIND_DN", ldap.bind_dn),
                         ("BIND_PASSWORD", ldap.bind_password.get_secret_value())):
        monkeypatch.setenv(f"MMDASH_HOST__LDAP__{field}", value)
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    out = tmp_path / "packet.zip"
    assert main(["build", "--env", "host", "--out", str(out), "--ldap-trace", "--no-site-smtp-tests",
                 "--config-file", str(tmp_path / "config.json")]) == 0, capsys.readouterr().err
    with zipfile.ZipFile(out) as archive:
        trace = archive.read("ldap_trace.txt")
    assert b"result: ok" in trace and ldap.bind_password.get_secret_value().encode() not in trace
