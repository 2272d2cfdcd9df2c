"""python -m simulator: serves until SIGTERM, refuses non-loopback hosts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from simulator import RunningSimulator
from simulator.__main__ import parse_args

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _read_banner(proc: subprocess.Popen[str]) -> dict[str, str]:
    assert proc.stdout is not None
    fields: dict[str, str] = {}
    deadline = time.monotonic() + 15
    while "admin login" not in fields:
        line = proc.stdout.readline()
        if not line or time.monotonic() > deadline:
            raise AssertionError(f"no banner; exit code {proc.poll()}")
        key, sep, value = line.partition(": ")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def test_cli_serves_until_sigterm() -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--port", str(port), "--scenario", "degraded", "--latency-ms", "1"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        banner = _read_banner(proc)
        assert banner["url"] == f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {banner['admin token']}"}
        nodes = httpx.get(f"{banner['url']}/api/v4/cluster/status", headers=headers, timeout=5).json()
        assert len(nodes) == 3
        user = httpx.get(f"{banner['url']}/api/v4/users/me",
                         headers={"Authorization": f"Bearer {banner['user token']}"}, timeout=5).json()
        assert user["roles"] == "system_user"
        username, password = banner["admin login"].split(" / ")
        login = httpx.post(f"{banner['url']}/api/v4/users/login",
                           json={"login_id": username, "password": password}, timeout=5)
        assert login.status_code == 200
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()


def test_cli_refuses_remote_host() -> None:
    result = subprocess.run([sys.executable, "-m", "simulator", "--host", "0.0.0.0", "--port", "0"],
                            cwd=REPO, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "--allow-remote" in result.stderr


def test_arguments() -> None:
    args = parse_args(["--port", "9000", "--scenario", "large", "--latency-ms", "20"])
    assert (args.port, args.scenario, args.latency_ms, args.host) == (9000, "large", 20, "127.0.0.1")
    assert parse_args(["--host", "10.0.0.5", "--allow-remote"]).allow_remote
    with pytest.raises(SystemExit):
        parse_args(["--scenario", "chaotic"])
    with pytest.raises(SystemExit):
        parse_args(["--latency-ms", "-5"])


def test_cli_reports_a_busy_port(simulator: RunningSimulator) -> None:
    result = subprocess.run([sys.executable, "-m", "simulator", "--port", str(simulator.port)],
                            cwd=REPO, capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "cannot listen" in result.stderr
