"""A real Prometheus for the tests: a week of history backfilled with promtool from the simulator's metrics model,
then live scrapes of every node of a running simulator; 127.0.0.1 only, stopped by its PID.

Prometheus scrapes for the first time about 5 s after it is ready, so tests read the backfilled history, which is
there at once. The history is sampled every minute for the last RECENT_HOURS (a 24-hour chart's rate() windows
need two samples each) and every five minutes before that, which keeps promtool at about 3 s.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import yaml
from pydantic import SecretStr

from settings import PrometheusSettings
from simulator import RunningSimulator, Scenario, start_simulator
from simulator.metrics import history_timestamps, node_instance, scrape_config, write_openmetrics_samples
from tests.servers.postgres import free_port, missing_server, scratch_parent

INSTALL_HINT = (
    "Prometheus was not found: install the Debian package 'prometheus' "
    "(apt-get install -y --no-install-recommends prometheus; keep its packaged daemon from starting)."
)
SCRAPE_INTERVAL_S = 2
HISTORY_DAYS = 7
RECENT_HOURS = 26
RECENT_STEP_S = 60
OLDER_STEP_S = 300
READY_TIMEOUT_S = 30
START_ATTEMPTS = 3  # a free port can be taken by someone else between our probe and Prometheus' bind
USERNAME = "mmdash"


def _bcrypt(password: str) -> str:
    """Prometheus' web config wants bcrypt hashes; glibc's crypt makes them (cost 4: this is a test server)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))


def history_stamps(end: float) -> np.ndarray:
    recent = history_timestamps(end, RECENT_HOURS / 24, RECENT_STEP_S)
    older = history_timestamps(int(recent[0]) - OLDER_STEP_S, HISTORY_DAYS - RECENT_HOURS / 24, OLDER_STEP_S)
    return np.concatenate([older, recent])


def backfill(scenario: Scenario, data_dir: Path, end: float) -> int:
    """Write a week of `scenario`'s history up to `end` into a TSDB at `data_dir`; returns the sample count."""
    source = data_dir.parent / "history.om"
    with source.open("w") as out:
        samples = write_openmetrics_samples(scenario, out, history_stamps(end))
    try:
        # One block for the week: promtool re-reads the file once per block, and Prometheus opens fewer blocks.
        done = subprocess.run(
            ["promtool", "tsdb", "create-blocks-from", "openmetrics", f"--max-block-duration={HISTORY_DAYS * 24}h",
             str(source), str(data_dir)], capture_output=True, text=True, timeout=120, check=False)
    finally:
        source.unlink()
    if done.returncode != 0:
        raise RuntimeError(f"promtool could not backfill: {done.stderr.strip()[-500:]}")
    return samples


class PrometheusServer:
    """One Prometheus in a temp dir: `start()`, then `stop()` (which also removes its files)."""

    def __init__(self, *, simulator: RunningSimulator | None = None, with_auth: bool = True) -> None:
        self.simulator = simulator
        self.username = USERNAME if with_auth else None
        self.password = os.urandom(12).hex() if with_auth else None
        self.port = 0
        self.pid: int | None = None
        self.samples = 0
        self.history_end = 0.0
        self._process: subprocess.Popen[bytes] | None = None
        self._root = Path(tempfile.mkdtemp(prefix="mmdash-prom-", dir=scratch_parent()))
        self._data = self._root / "data"
        self._log = self._root / "prometheus.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def settings(self, **overrides: Any) -> PrometheusSettings:
        values: dict[str, Any] = {"url": self.url, "username": self.username, "timeout_seconds": 10.0,
                                  "password": SecretStr(self.password) if self.password else None}
        values.update(overrides)
        return PrometheusSettings(**values)

    def instances(self) -> set[str]:
        """The `instance` labels of the scraped nodes."""
        return {node_instance(n) for n in self.simulator.model.nodes} if self.simulator else set()

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> None:
        self._data.mkdir()
        if self.simulator is not None:
            self.history_end = time.time()
            self.samples = backfill(self.simulator.model, self._data, self.history_end)
        for attempt in range(1, START_ATTEMPTS + 1):
            self.port = free_port()
            self._write_config()
            if self._launch():
                return
            if attempt == START_ATTEMPTS:
                raise RuntimeError(f"Prometheus did not start; last lines of its log:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM by PID, SIGKILL if it lingers; then delete its files. Safe to call twice."""
        if self._process is not None and self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self._process.wait(timeout=5)
            self._process = None
            self.pid = None
        shutil.rmtree(self._root, ignore_errors=True)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self._log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # -- internals -------------------------------------------------------------------------------------------

    def _write_config(self) -> None:
        own: dict[str, Any] = {"job_name": "prometheus", "static_configs": [{"targets": [f"127.0.0.1:{self.port}"]}]}
        if self.username:
            own["basic_auth"] = {"username": self.username, "password": self.password}
            web = {"basic_auth_users": {self.username: _bcrypt(self.password or "")}}
            (self._root / "web.yml").write_text(yaml.safe_dump(web))
        jobs = [own]
        if self.simulator is not None:
            jobs.insert(0, scrape_config(self.simulator.model, f"{self.simulator.host}:{self.simulator.port}",
                                         SCRAPE_INTERVAL_S))
        config = {"global": {"scrape_interval": f"{SCRAPE_INTERVAL_S}s",
                             "evaluation_interval": f"{SCRAPE_INTERVAL_S}s"},
                  "scrape_configs": jobs}
        (self._root / "prometheus.yml").write_text(yaml.safe_dump(config))

    def _launch(self) -> bool:
        argv = ["prometheus", f"--config.file={self._root / 'prometheus.yml'}",
                f"--storage.tsdb.path={self._data}", f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=30d", "--log.level=warn"]
        if self.username:
            argv.append(f"--web.config.file={self._root / 'web.yml'}")
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                             cwd=self._root)
        self.pid = self._process.pid
        auth = (self.username, self.password or "") if self.username else None
        deadline = time.monotonic() + READY_TIMEOUT_S
        with httpx.Client(auth=auth, timeout=2) as client:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:  # exited: most likely the port was taken meanwhile
                    self._process, self.pid = None, None
                    return False
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{self.url}/-/ready").status_code == 200:
                        return True
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"Prometheus was not ready within {READY_TIMEOUT_S} s:\n{self.log_tail()}")


def require_binaries() -> None:
    """Skip (fail under CI=true) when the Debian package 'prometheus' is missing."""
    if shutil.which("prometheus") is None or shutil.which("promtool") is None:
        missing_server(INSTALL_HINT)


@pytest.fixture(scope="session")
def prometheus_simulator() -> Iterator[RunningSimulator]:
    """The healthy two-node cluster Prometheus scrapes; its own instance, so faults set elsewhere miss it."""
    with start_simulator("healthy") as sim:
        yield sim


@pytest.fixture(scope="session")
def prometheus_server(request: pytest.FixtureRequest, prometheus_simulator: RunningSimulator) -> PrometheusServer:
    """Basic auth, a week of backfilled history and live scrapes of `prometheus_simulator`'s nodes."""
    require_binaries()
    server = PrometheusServer(simulator=prometheus_simulator)
    request.addfinalizer(server.stop)  # before start(), so a half-started server is cleaned up too
    server.start()
    return server


@pytest.fixture(scope="session")
def empty_prometheus(request: pytest.FixtureRequest) -> PrometheusServer:
    """A Prometheus that scrapes only itself: no Mattermost metrics at all."""
    require_binaries()
    server = PrometheusServer(with_auth=False)
    request.addfinalizer(server.stop)
    server.start()
    return server
