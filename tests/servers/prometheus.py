"""A real Prometheus for the tests: demo/prometheus_server.py's (a week of history backfilled with promtool from
the simulator's metrics model, then live scrapes of every node of a running simulator), in a temp dir with basic
auth; 127.0.0.1 only, stopped by its PID.

Prometheus scrapes for the first time a few seconds after it is ready, so tests read the backfilled history, which
is there at once.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from demo import prometheus_server as product
from demo.processes import free_port
from settings import PrometheusSettings
from simulator import RunningSimulator, start_simulator
from tests.servers.postgres import missing_server, scratch_parent

__all__ = ["SCRAPE_INTERVAL_S", "PrometheusServer", "free_port", "require_binaries"]

INSTALL_HINT = (
    "Prometheus was not found: install the Debian package 'prometheus' "
    "(apt-get install -y --no-install-recommends prometheus; keep its packaged daemon from starting)."
)
SCRAPE_INTERVAL_S = 2
USERNAME = "mmdash"


def _bcrypt(password: str) -> str:
    """Prometheus' web config wants bcrypt hashes; glibc's crypt makes them (cost 4: this is a test server)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))


class PrometheusServer(product.PrometheusServer):
    """The product's Prometheus in a temp dir, with basic auth unless `with_auth=False`: `start()`, then `stop()`
    (which also removes its files)."""

    def __init__(self, *, simulator: RunningSimulator | None = None, with_auth: bool = True) -> None:
        found = product.find_binaries()
        if found is None:
            missing_server(INSTALL_HINT)
        self.promtool = found[1]
        super().__init__(Path(tempfile.mkdtemp(prefix="mmdash-prom-", dir=scratch_parent())), simulator=simulator,
                         scrape_interval_s=SCRAPE_INTERVAL_S, binary=found[0])
        self.username = USERNAME if with_auth else None
        self.password = os.urandom(12).hex() if with_auth else None
        self.samples = 0
        self.history_end = 0.0

    def settings(self, **overrides: Any) -> PrometheusSettings:
        values: dict[str, Any] = {"url": self.url, "username": self.username, "timeout_seconds": 10.0,
                                  "password": SecretStr(self.password) if self.password else None}
        values.update(overrides)
        return PrometheusSettings(**values)

    def start(self) -> None:
        if self.simulator is not None:
            self.history_end = time.time()
            self.samples = product.backfill(self.simulator.model, self.data,
                                            product.history_stamps(self.history_end), self.promtool)
        if self.username:
            web = {"basic_auth_users": {self.username: _bcrypt(self.password or "")}}
            (self.root / "web.yml").write_text(yaml.safe_dump(web))
        super().start()

    def stop(self) -> None:
        """Stop it by PID, then delete its files. Safe to call twice."""
        super().stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def scrape_jobs(self, port: int) -> list[dict[str, Any]]:
        jobs = super().scrape_jobs(port)
        if self.username:
            for job in jobs:
                if job["job_name"] == "prometheus":
                    job["basic_auth"] = {"username": self.username, "password": self.password}
        return jobs

    def launch_args(self) -> list[str]:
        return [f"--web.config.file={self.root / 'web.yml'}"] if self.username else []

    def client_auth(self) -> tuple[str, str] | None:
        return (self.username, self.password or "") if self.username else None


def require_binaries() -> None:
    """Skip (fail under CI=true) when the Debian package 'prometheus' is missing."""
    if product.find_binaries() is None:
        missing_server(INSTALL_HINT)


@pytest.fixture(scope="session")
def prometheus_simulator() -> Iterator[RunningSimulator]:
    """The healthy two-node cluster Prometheus scrapes; its own instance, so faults set elsewhere miss it."""
    with start_simulator("healthy") as sim:
        yield sim


@pytest.fixture(scope="session")
def prometheus_server(request: pytest.FixtureRequest, prometheus_simulator: RunningSimulator) -> PrometheusServer:
    """Basic auth, a week of backfilled history and live scrapes of `prometheus_simulator`'s nodes."""
    server = PrometheusServer(simulator=prometheus_simulator)
    request.addfinalizer(server.stop)  # before start(), so a half-started server is cleaned up too
    server.start()
    return server


@pytest.fixture(scope="session")
def empty_prometheus(request: pytest.FixtureRequest) -> PrometheusServer:
    """A Prometheus that scrapes only itself: no Mattermost metrics at all."""
    server = PrometheusServer(with_auth=False)
    request.addfinalizer(server.stop)
    server.start()
    return server
