"""A real Prometheus (Debian's) scraping every node of a simulator, with the simulator's history backfilled by
promtool so charts and rate()/range rules have data the moment it is ready (its first scrape comes seconds later).

Used by the demo (demo/prometheus.py) and by the tests (tests/servers/prometheus.py). The history is a pure
function of the scenario and time (simulator/metrics_model.py), so backfilled and scraped samples agree.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import yaml

from demo.processes import ServerProcess
from simulator.metrics import history_timestamps, node_instance, scrape_config, write_openmetrics_samples
from simulator.model import Scenario
from simulator.server import RunningSimulator

HISTORY_DAYS = 7
# (hours back, seconds between samples), finest first. A chart's rate() window is four scrapes or one step plus a
# scrape (collectors/prometheus_models.py), and needs two samples: with 15 s scrapes the 1- and 6-hour charts use
# 60 s windows (samples 30 s apart), the 24-hour chart ~3 min (60 s), the week's ~20 min (5 min).
HISTORY_TIERS = ((6, 30), (26, 60), (HISTORY_DAYS * 24, 300))
READY_TIMEOUT_S = 30.0
BACKFILL_TIMEOUT_S = 300
RETENTION = f"{HISTORY_DAYS + 1}d"


def find_binaries() -> tuple[str, str] | None:
    """(prometheus, promtool), or None when Debian's package 'prometheus' is not installed."""
    found = [shutil.which(name) or f"/usr/bin/{name}" for name in ("prometheus", "promtool")]
    return (found[0], found[1]) if all(Path(path).is_file() for path in found) else None


def version(prometheus: str) -> str:
    """`prometheus --version`'s first line, e.g. 'prometheus, version 2.42.0+ds (branch: debian/sid, ...)'."""
    done = subprocess.run([prometheus, "--version"], capture_output=True, text=True, timeout=30, check=False)
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else ""


def history_stamps(end: float, after: float | None = None) -> np.ndarray:
    """Whole-second sample times over HISTORY_DAYS up to `end`, denser towards `end` (HISTORY_TIERS); only those
    later than `after` when given (to fill the gap since the history last ended)."""
    parts: list[np.ndarray] = []
    edge: int | None = None
    for hours, step in HISTORY_TIERS:
        newest = int(end) if edge is None else edge - step
        tier = history_timestamps(newest, (newest - (int(end) - hours * 3600)) / 86_400, step)
        if len(tier):
            parts.append(tier)
            edge = int(tier[0])
    stamps = np.concatenate(parts[::-1])
    return stamps[stamps > after] if after is not None else stamps


def backfill(scenario: Scenario, data_dir: Path, stamps: np.ndarray, promtool: str = "promtool") -> int:
    """Write `scenario`'s samples at `stamps` as TSDB blocks into `data_dir` (which may hold a TSDB already);
    returns the sample count. Raises RuntimeError with promtool's words when it refuses."""
    data_dir.mkdir(parents=True, exist_ok=True)
    source = data_dir.parent / f"{data_dir.name}-history.om"
    try:
        with source.open("w") as out:
            samples = write_openmetrics_samples(scenario, out, stamps)
        # One block for the whole range: promtool re-reads the file once per block, and Prometheus opens fewer.
        done = subprocess.run(
            [promtool, "tsdb", "create-blocks-from", "openmetrics", f"--max-block-duration={HISTORY_DAYS * 24}h",
             str(source), str(data_dir)],
            capture_output=True, text=True, timeout=BACKFILL_TIMEOUT_S, check=False, stdin=subprocess.DEVNULL)
    finally:
        source.unlink(missing_ok=True)
    if done.returncode != 0:
        raise RuntimeError(f"promtool could not backfill the history: {done.stderr.strip()[-500:]}")
    return samples


class PrometheusServer:
    """One Prometheus whose files live in `root` (config, log; the TSDB in `data`, by default root/data), scraping
    every node of `simulator` and itself every `scrape_interval_s`. `start()`, then `stop()` (files stay)."""

    def __init__(self, root: Path, *, simulator: RunningSimulator | None, scrape_interval_s: float,
                 data: Path | None = None, binary: str = "prometheus") -> None:
        self.root = root
        self.data = data or root / "data"
        self.simulator = simulator
        self.scrape_interval_s = scrape_interval_s
        self.binary = binary
        self.process = ServerProcess("Prometheus", root / "prometheus.log")

    @property
    def port(self) -> int:
        return self.process.ports[0] if self.process.ports else 0

    @property
    def pid(self) -> int | None:
        return self.process.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def instances(self) -> set[str]:
        """The `instance` labels of the scraped Mattermost nodes."""
        return {node_instance(n) for n in self.simulator.model.nodes} if self.simulator else set()

    def start(self) -> None:
        """Raises demo.processes.ServerError (with its log's last lines) when it does not start."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.data.mkdir(parents=True, exist_ok=True)
        self.process.start(self._argv, self._ready, cwd=self.root, timeout_s=READY_TIMEOUT_S)

    def stop(self) -> None:
        self.process.stop()

    def log_tail(self) -> str:
        return self.process.log_tail()

    # -- what a variant may change (the tests' one adds basic auth) ---------------------------------------------

    def scrape_jobs(self, port: int) -> list[dict[str, Any]]:
        jobs: list[dict[str, Any]] = [{"job_name": "prometheus",
                                       "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}]
        if self.simulator is not None:
            jobs.insert(0, scrape_config(self.simulator.model, f"{self.simulator.host}:{self.simulator.port}",
                                         self.scrape_interval_s))
        return jobs

    def launch_args(self) -> list[str]:
        return []

    def client_auth(self) -> tuple[str, str] | None:
        return None

    # -- internals -------------------------------------------------------------------------------------------

    def _argv(self, ports: tuple[int, ...]) -> list[str]:
        interval = f"{self.scrape_interval_s:g}s"
        config = {"global": {"scrape_interval": interval, "evaluation_interval": interval},
                  "scrape_configs": self.scrape_jobs(ports[0])}
        (self.root / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        return [self.binary, f"--config.file={self.root / 'prometheus.yml'}", f"--storage.tsdb.path={self.data}",
                f"--web.listen-address=127.0.0.1:{ports[0]}", f"--storage.tsdb.retention.time={RETENTION}",
                "--log.level=warn", *self.launch_args()]

    def _ready(self, ports: tuple[int, ...]) -> bool:
        with contextlib.suppress(httpx.HTTPError):
            answer = httpx.get(f"http://127.0.0.1:{ports[0]}/-/ready", auth=self.client_auth(), timeout=1)
            return answer.status_code == 200
        return False
