"""python -m packet build: headless packets from a configured deployment, or from local files alone."""

import json
import zipfile

import pytest

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


def test_a_config_that_is_not_json_is_recorded_by_gather_not_fatal(tmp_path):
    """The page keeps going without the configuration; only the command line refuses it up front."""
    from packet.gather import read_config_file

    (tmp_path / "config.json").write_bytes(b"{not json")
    config, problem = read_config_file(tmp_path / "config.json")
    assert config is None and "is not JSON" in problem


def _refuse(monkeypatch, tmp_path, capsys, argv, expected):
    """The command stops with exit 2 and one sentence, before settings are read or anything is gathered."""
    import packet.__main__ as cli

    isolate(monkeypatch, tmp_path)

    def no_work(*_args, **_kwargs):
        raise AssertionError("work started before the input was checked")

    monkeypatch.setattr(cli, "load_environment", no_work)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["build", *argv]) == 2
    err = capsys.readouterr().err
    assert expected in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_out_that_is_an_existing_directory(monkeypatch, tmp_path, capsys):
    (tmp_path / "existing").mkdir()
    _refuse(monkeypatch, tmp_path, capsys, ["--out", str(tmp_path / "existing")], "is a directory")


def test_out_folder_that_does_not_exist(monkeypatch, tmp_path, capsys):
    _refuse(monkeypatch, tmp_path, capsys, ["--out", str(tmp_path / "missing" / "p.zip")], "does not exist")


def test_out_folder_that_is_not_writable(monkeypatch, tmp_path, capsys):
    # /proc takes no new files, even from root (a chmod'ed folder would not stop root).
    _refuse(monkeypatch, tmp_path, capsys, ["--out", "/proc/p.zip"], "is not writable")


@pytest.mark.parametrize(("content", "expected"), [
    (None, "does not exist"),
    (b"{not json", "is not JSON"),
    (b'{"a": "' + bytes([0xFF, 0xFE]) + b'"}', "is not UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'{"a":' * 100 + b"1" + b"}" * 100, "levels deep"),
    (b"[1, 2]", "not an object"),
])
def test_config_file_that_cannot_be_used(monkeypatch, tmp_path, capsys, content, expected):
    config = tmp_path / "config.json"
    if content is not None:
        config.write_bytes(content)
    _refuse(monkeypatch, tmp_path, capsys, ["--out", str(tmp_path / "p.zip"), "--config-file", str(config)], expected)


def test_config_file_that_is_a_directory(monkeypatch, tmp_path, capsys):
    (tmp_path / "conf").mkdir()
    _refuse(monkeypatch, tmp_path, capsys, ["--out", str(tmp_path / "p.zip"), "--config-file",
                                            str(tmp_path / "conf")], "is a directory")


def test_log_file_missing_or_a_directory(monkeypatch, tmp_path, capsys):
    _refuse(monkeypatch, tmp_path, capsys, ["--out", str(tmp_path / "p.zip"), "--log-file",
                                            str(tmp_path / "nope.log")], "does not exist")
    (tmp_path / "logs").mkdir()
    _refuse(monkeypatch, tmp_path, capsys, ["--out", str(tmp_path / "p.zip"), "--log-file",
                                            str(tmp_path / "logs")], "is a directory")


def test_since_after_until(monkeypatch, tmp_path, capsys):
    _refuse(monkeypatch, tmp_path, capsys, ["--out", str(tmp_path / "p.zip"), "--since", "2026-11-23T11:00",
                                            "--until", "2026-11-23T09:00"], "is after --until")


def test_bad_dates(monkeypatch, tmp_path, capsys):
    for bad in ("yesterday-ish", "2026-13-01"):
        _refuse(monkeypatch, tmp_path, capsys, ["--out", str(tmp_path / "p.zip"), "--since", bad],
                f"--since '{bad}' is not a date and time")
    _refuse(monkeypatch, tmp_path, capsys, ["--out", str(tmp_path / "p.zip"), "--until", "noon"],
            "--until 'noon' is not a date and time")


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
