"""deploy/mmdash.service as systemd reads it: valid, hardened, and running the installed `mmdash serve` as a
dedicated user with its settings from an EnvironmentFile."""

from __future__ import annotations

import configparser
import re
import shlex
import subprocess

from mmdash import cli
from tests.deploy.conftest import DEPLOY, tool

UNIT = DEPLOY / "mmdash.service"
INSTALLED_COMMAND = "/opt/mmdash/bin/mmdash"  # where README.md's `python3 -m venv /opt/mmdash` puts it


def service() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string(UNIT.read_text())
    return parser["Service"]


def test_systemd_accepts_every_line(tmp_path):
    analyze = tool("systemd-analyze", "systemd")
    stand_in = tmp_path / "mmdash"  # verify insists that the command exists
    stand_in.write_text("#!/bin/sh\n")
    stand_in.chmod(0o755)
    unit = tmp_path / "mmdash.service"
    unit.write_text(UNIT.read_text().replace(f"ExecStart={INSTALLED_COMMAND} ", f"ExecStart={stand_in} "))
    verified = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert (verified.returncode, verified.stdout + verified.stderr) == (0, "")


def test_it_is_hardened():
    analyze = tool("systemd-analyze", "systemd")
    judged = subprocess.run([analyze, "security", "--offline=yes", "--no-pager", str(UNIT)], capture_output=True,
                            text=True, timeout=60)
    exposure = float(re.search(r"Overall exposure level for mmdash\.service: ([\d.]+)", judged.stdout).group(1))
    assert exposure <= 2.0, judged.stdout  # systemd calls up to 2 "OK"; a unit without any hardening is 9.6


def test_it_runs_mmdash_serve_on_loopback_as_its_own_user_with_an_environment_file():
    unit = service()
    command = shlex.split(unit["ExecStart"])
    assert command[:2] == [INSTALLED_COMMAND, "serve"]
    args = cli._serve_parser("text").parse_args(command[2:])
    assert (args.address, args.port) == ("127.0.0.1", cli.DEFAULT_PORT)
    assert unit["User"] == "mmdash" and unit["Restart"] == "on-failure"
    assert unit["EnvironmentFile"] == "/etc/mmdash/mmdash.env"
    assert unit["WorkingDirectory"] == f"/var/lib/{unit['StateDirectory']}"
