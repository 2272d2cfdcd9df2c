"""The demo's Prometheus: one per demo environment (an environment's Prometheus settings are one URL, with no
label selector), scraping every node of that environment's simulator every SCRAPE_INTERVAL_S, with a week of
history so the Metrics panels and the rate()/range rules have data at once.

Its files live in <demo folder>/prometheus/<environment> and the next run reuses them while they are current
(same layout, same Prometheus, same metric model, history not older than the week shown): it then backfills only
the gap since the history last ended instead of the whole week, the slow part of a first start. Anything else
there (an older layout, another Prometheus version, files Prometheus cannot open) is removed and built anew.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from demo.folders import Claim, claim
from demo.processes import ServerError, start_each
from demo.prometheus_server import HISTORY_DAYS, PrometheusServer, backfill, find_binaries, history_stamps, version
from demo.services import DemoPart, DemoService
from settings import PrometheusSettings
from simulator.metrics import node_instance, render_exposition
from simulator.model import Scenario
from simulator.server import RunningSimulator

log = logging.getLogger("mmdash.demo.prometheus")

NAME = "Prometheus"
ADD_WITH = "sudo apt-get install --no-install-recommends prometheus"
SCRAPE_INTERVAL_S = 15  # what production setups commonly use
LAYOUT = 1  # raise when what a folder holds changes, so older folders are rebuilt instead of misread
MANIFEST = "manifest.json"
FINGERPRINT_AT = 1_750_000_000.0  # any fixed instant: the model's answer there identifies the model


def model_fingerprint(scenario: Scenario) -> str:
    """Changes when the simulator's numbers for `scenario` change, so a history made from older numbers (whose
    counters would jump where live scrapes begin) is not reused."""
    digest = hashlib.sha256()
    for index, node in enumerate(scenario.nodes):
        digest.update(node_instance(node).encode())
        digest.update(render_exposition(scenario, index, FINGERPRINT_AT).encode())
    return digest.hexdigest()[:20]


def _read_manifest(root: Path) -> dict[str, Any] | None:
    try:
        manifest = json.loads((root / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def _write_manifest(root: Path, manifest: dict[str, Any]) -> None:
    partial = root / f"{MANIFEST}.partial"
    partial.write_text(json.dumps(manifest, indent=1))
    partial.replace(root / MANIFEST)


def _blocks_readable(data: Path) -> bool:
    """Every block's meta.json parses: Prometheus would skip a block whose meta it cannot read, leaving a hole in
    the history the manifest promises."""
    try:
        for meta in data.glob("*/meta.json"):
            if not isinstance(json.loads(meta.read_text()).get("ulid"), str):
                return False
    except (OSError, ValueError, AttributeError):
        return False
    return True


def _wipe(root: Path) -> None:
    if root.is_dir() and not root.is_symlink():
        shutil.rmtree(root)
    elif root.exists() or root.is_symlink():
        root.unlink()
    root.mkdir(parents=True)


@dataclass
class History:
    """How this run got its week of history."""

    reused: bool
    samples: int
    seconds: float

    def phrase(self) -> str:
        if not self.reused:
            return f"a week of history backfilled in {self.seconds:.1f} s"
        return "its history reused" + (f" ({self.samples:,} samples added since)" if self.samples else "")


class EnvironmentPrometheus:
    """One demo environment's Prometheus, in its claimed folder."""

    def __init__(self, parent: Path, environment: str, simulator: RunningSimulator, binaries: tuple[str, str],
                 prometheus_version: str) -> None:
        self.environment = environment
        self.simulator = simulator
        self.promtool = binaries[1]
        self.expected = {"layout": LAYOUT, "prometheus": prometheus_version, "scenario": simulator.model.name,
                         "model": model_fingerprint(simulator.model)}
        self.claim: Claim = claim(parent, environment)
        self.root = self.claim.path
        self.server = PrometheusServer(self.root, simulator=simulator, scrape_interval_s=SCRAPE_INTERVAL_S,
                                       binary=binaries[0])
        self.history: History | None = None

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> None:
        try:
            reusable = self._prepare(reuse=True)
            try:
                self.server.start()
            except ServerError as exc:
                if not reusable:
                    raise
                # The kept TSDB does not open (e.g. a crash mid-compaction): start over rather than fail.
                log.warning("Prometheus for %s did not start on its kept data, rebuilding it: %s", self.environment,
                            exc)
                self._prepare(reuse=False)
                self.server.start()
        except BaseException:
            self.claim.release()
            raise

    def stop(self) -> None:
        try:
            scraped_until_now = self.server.process.running
            self.server.stop()
            manifest = _read_manifest(self.root)
            if scraped_until_now and manifest is not None:
                _write_manifest(self.root, {**manifest, "history_until": time.time()})
        finally:
            self.claim.release()

    def _prepare(self, *, reuse: bool) -> bool:
        """Make the folder current and its history end now; whether kept history was reused."""
        now = time.time()
        manifest = _read_manifest(self.root) if reuse else None
        until = manifest.get("history_until") if manifest else None
        current = (manifest is not None and all(manifest.get(k) == v for k, v in self.expected.items())
                   and isinstance(until, int | float) and now - HISTORY_DAYS * 86_400 < until <= now
                   and self.server.data.is_dir() and _blocks_readable(self.server.data))
        if not current:
            _wipe(self.root)
        stamps = history_stamps(now, after=float(until) if current and until is not None else None)
        started = time.monotonic()
        samples = backfill(self.simulator.model, self.server.data, stamps, self.promtool) if len(stamps) else 0
        self.history = History(current, samples, time.monotonic() - started)
        _write_manifest(self.root, {**self.expected, "history_until": now})
        log.info("Prometheus for %s: %s", self.environment, self.history.phrase())
        return current


def start(folder: Path, simulators: Mapping[str, RunningSimulator]) -> DemoService:
    binaries = find_binaries()
    if binaries is None:
        return DemoService(DemoPart(
            NAME, False, "Debian's Prometheus is not installed, so the Metrics panels and the rules that read "
            "Prometheus have no data.", ADD_WITH))
    prometheus_version = version(binaries[0])
    parent = folder / "prometheus"

    def start_one(environment: str) -> EnvironmentPrometheus:
        server = EnvironmentPrometheus(parent, environment, simulators[environment], binaries, prometheus_version)
        server.start()
        return server

    started, failed, stop = start_each(simulators, start_one, "Prometheus")

    return DemoService(_part(started, failed), {
        name: {"prometheus": PrometheusSettings(url=server.url)} for name, server in started.items()}, stop)


def _part(started: Mapping[str, EnvironmentPrometheus], failed: Mapping[str, str]) -> DemoPart:
    lines = [f"{name} at {server.url}, {server.history.phrase() if server.history else 'no history'}"
             + (" (in a scratch folder: another demo holds the kept one)" if server.claim.scratch else "")
             for name, server in started.items()]
    summary = f"scrapes every node every {SCRAPE_INTERVAL_S} s; " + "; ".join(lines) if lines else ""
    problems = "; ".join(f"{name} did not start: {error}" for name, error in failed.items())
    return DemoPart(NAME, bool(started), "; ".join(filter(None, [summary, problems])))
