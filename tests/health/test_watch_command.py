"""`python -m health watch` as cron and systemd run it: a real process, settings from MMDASH_* variables."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _environ(sim, tmp_path: Path, **extra: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MMDASH_")}
    return environ | {"MMDASH_SECRETS_FILE": str(tmp_path / "absent.toml"),
                      "MMDASH_SQLITE_PATH": str(tmp_path / "store.sqlite3"),
                      "MMDASH_PRODUCTION__MATTERMOST__URL": sim.url,
                      "MMDASH_PRODUCTION__MATTERMOST__TOKEN": sim.admin_token,
                      "MMDASH_HEALTH__WATCH_INTERVAL": "60", **extra}


def _watch(args: list[str], environ: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "health", "watch", *args], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=timeout)


def test_once_collects_each_environment_and_a_second_run_in_the_interval_does_not(simulator, tmp_path) -> None:
    environ = _environ(simulator, tmp_path)
    first = _watch(["--once", "--format", "json"], environ)
    assert first.returncode == 0, first.stderr
    run = json.loads(first.stdout.strip().splitlines()[-1])
    assert run["environment"] == "production" and run["status"] == "collected"
    assert run["changes"] and run["verdict"]
    second = _watch(["--once", "--format", "json"], environ)
    if json.loads(first.stdout.strip().splitlines()[-1])["slot"] == json.loads(
            second.stdout.strip().splitlines()[-1])["slot"]:
        assert json.loads(second.stdout.strip().splitlines()[-1])["status"] == "claimed_elsewhere"


def _stopped_cleanly(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_runs_until_sigterm(simulator, tmp_path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "health", "watch"], cwd=ROOT, env=_environ(simulator, tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # the first run's line
        assert "production: collected" in line
        _stopped_cleanly(proc)
    finally:
        _kill(proc)


def test_unusable_settings_exit_2_naming_the_setting(simulator, tmp_path) -> None:
    done = _watch(["--once"], _environ(simulator, tmp_path, MMDASH_HEALTH__WATCH_INTERVAL="soon"))
    assert done.returncode == 2
    assert "health.watch_interval" in done.stderr and "MMDASH_HEALTH__WATCH_INTERVAL" in done.stderr


def test_unknown_environment_exits_2(simulator, tmp_path) -> None:
    done = _watch(["--once", "--env", "nowhere"], _environ(simulator, tmp_path))
    assert done.returncode == 2 and "nowhere" in done.stderr


def test_a_store_that_cannot_be_opened_is_retried_until_stopped(simulator, tmp_path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the store's folder should be")
    environ = _environ(simulator, tmp_path, MMDASH_SQLITE_PATH=str(blocked / "store.sqlite3"))
    proc = subprocess.Popen([sys.executable, "-m", "health", "watch"], cwd=ROOT, env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        seen = ""
        while time.monotonic() < deadline and "trying again" not in seen:
            seen += proc.stderr.readline()
        assert "the store cannot be opened, trying again" in seen
        assert proc.poll() is None, "the watcher must keep trying, not exit"
        _stopped_cleanly(proc)
    finally:
        _kill(proc)
