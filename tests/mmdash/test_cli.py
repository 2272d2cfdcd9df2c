"""The `mmdash` command: what `mmdash serve` runs, and that the other commands are the packages' own."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from mmdash import __version__, cli, logs

pytestmark = pytest.mark.usefixtures("restore_logging")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def executed(monkeypatch) -> dict:
    """Catch os.execve instead of replacing the test process with Streamlit."""
    seen: dict = {}

    def execve(path, argv, env):
        seen.update(path=path, argv=argv, env=env)
        raise SystemExit(0)

    monkeypatch.setattr(cli.os, "execve", execve)
    return seen


def options_of(argv: list[str]) -> dict[str, str]:
    return dict(arg.removeprefix("--").split("=", 1) for arg in argv if arg.startswith("--"))


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0 and capsys.readouterr().out.strip() == f"mmdash {__version__}"
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert all(f"  {command} " in out for command in ("serve", "health", "packet"))


def test_serve_runs_serve_py_with_the_projects_streamlit_config_and_server_options(executed, monkeypatch):
    monkeypatch.delenv("MMDASH_SECRETS_FILE", raising=False)
    with pytest.raises(SystemExit):
        cli.main(["serve", "--address", "0.0.0.0", "--port", "8080"])
    argv = executed["argv"]
    assert executed["path"] == sys.executable
    assert argv[:5] == [sys.executable, "-m", "streamlit", "run", str(ROOT / "serve.py")]
    options = options_of(argv[5:])
    project = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert options["theme.primaryColor"] == project["theme"]["primaryColor"]
    assert options["client.showErrorDetails"] == project["client"]["showErrorDetails"]
    assert options | {"server.address": "0.0.0.0", "server.port": "8080", "server.headless": "true",
                      "browser.gatherUsageStats": "false", "server.fileWatcherType": "none",
                      "server.runOnSave": "false"} == options
    assert "logger.hideWelcomeMessage" not in options and "secrets.files" not in options
    assert executed["env"][logs.FORMAT_VARIABLE] == "text"


def test_serve_with_json_logs_hides_the_printed_banner_and_passes_the_format_on(executed, monkeypatch):
    monkeypatch.setenv("MMDASH_SECRETS_FILE", "/etc/mmdash/secrets.toml")
    with pytest.raises(SystemExit):
        cli.main(["serve", "--log-format", "json", "--reload"])
    options = options_of(executed["argv"][5:])
    assert options["logger.hideWelcomeMessage"] == "true"
    assert options["secrets.files"] == "/etc/mmdash/secrets.toml"  # st.login reads the file the settings do
    assert options["server.fileWatcherType"] == "auto" and options["server.address"] == "127.0.0.1"
    assert executed["env"][logs.FORMAT_VARIABLE] == "json"


def test_the_global_log_format_and_the_variable_reach_serve(executed, monkeypatch):
    monkeypatch.setenv(logs.FORMAT_VARIABLE, "json")
    with pytest.raises(SystemExit):
        cli.main(["serve"])
    assert executed["env"][logs.FORMAT_VARIABLE] == "json"
    with pytest.raises(SystemExit):
        cli.main(["--log-format", "text", "serve"])
    assert executed["env"][logs.FORMAT_VARIABLE] == "text"


def test_health_and_packet_are_the_packages_own_command_lines(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(logs.FORMAT_VARIABLE, "text")
    assert cli.main(["health", "--packet", str(tmp_path / "missing.zip")]) == 2
    assert "missing.zip does not exist" in capsys.readouterr().err
    assert cli.main(["packet", "build", "--out", str(tmp_path)]) == 2  # a folder, not a zip: packet's own check
    assert "is a directory" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        cli.main(["health", "check", "--fail-on", "sometimes"])
    assert exited.value.code == 2 and "invalid choice: 'sometimes'" in capsys.readouterr().err
