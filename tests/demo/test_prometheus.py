"""The demo's Prometheus: one real Prometheus per demo environment scraping its simulator, a week of history at
once, kept in the data folder and reused by the next start; the collector reads it and the rules judge.
What goes wrong on a real machine (no Prometheus, a taken port, a stale folder, a server that exits at start)
leaves the demo running and says why."""

from __future__ import annotations

import json
import shutil
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from pydantic import SecretStr

from collectors import SourceStatus, collect_all
from collectors.prometheus import query_range
from demo import processes
from demo import prometheus as demo_prometheus
from demo.prometheus_server import find_binaries
from demo.services import DemoService
from health.engine import evaluate
from health.findings import State
from health.inputs import from_snapshot
from settings import EnvironmentSettings, MattermostSettings
from simulator import RunningSimulator, start_simulator
from simulator.metrics import node_instance
from tests.servers.prometheus import require_binaries


@dataclass
class Restarted:
    first: DemoService
    first_start_s: float
    second: DemoService
    second_start_s: float
    folder: Path


@pytest.fixture(scope="module")
def degraded() -> Iterator[RunningSimulator]:
    with start_simulator("degraded") as sim:
        yield sim


@pytest.fixture(scope="module")
def restarted(tmp_path_factory, simulator_session, degraded) -> Iterator[Restarted]:
    """Production (healthy) and staging (degraded) started on a new data folder, stopped, and started again."""
    require_binaries()
    folder = tmp_path_factory.mktemp("demo")
    simulators = {"production": simulator_session, "staging": degraded}
    began = time.monotonic()
    first = demo_prometheus.start(folder, simulators)
    first_start_s = time.monotonic() - began
    first.stop()
    began = time.monotonic()
    second = demo_prometheus.start(folder, simulators)
    yield Restarted(first, first_start_s, second, time.monotonic() - began, folder)
    second.stop()


def environment(name: str, sim: RunningSimulator, service: DemoService) -> EnvironmentSettings:
    return EnvironmentSettings(name=name, label=name.title(), **service.settings[name],
                               mattermost=MattermostSettings(url=sim.url, token=SecretStr(sim.admin_token)))


def test_every_environment_gets_its_own_prometheus_with_a_week_of_history(restarted):
    part = restarted.first.part
    assert part.running and part.add_with is None
    assert "production at http://127.0.0.1:" in part.detail and "staging at http://127.0.0.1:" in part.detail
    assert part.detail.count("a week of history backfilled in") == 2
    urls = {name: s["prometheus"].url for name, s in restarted.second.settings.items()}
    assert set(urls) == {"production", "staging"} and len(set(urls.values())) == 2
    manifest = json.loads((restarted.folder / "prometheus" / "staging" / "manifest.json").read_text())
    assert manifest["scenario"] == "degraded" and manifest["layout"] == demo_prometheus.LAYOUT


def test_the_next_start_reuses_the_history_and_fills_only_the_gap(restarted):
    assert restarted.second.part.detail.count("its history reused") == 2
    assert restarted.second_start_s < 3 < restarted.first_start_s


@pytest.mark.parametrize("hours", [1, 6, 24, 168])
async def test_every_chart_range_has_data_for_every_node_at_once(restarted, degraded, hours):
    # The 1- and 6-hour charts need samples 30 s apart (rate() over four 15 s scrapes); they exist before any scrape.
    end = datetime.now(UTC)
    result = await query_range(restarted.second.settings["staging"]["prometheus"], ["http_requests_per_second"],
                               end - timedelta(hours=hours), end)
    assert result.status is SourceStatus.OK, result.error
    frame = result.data.results["http_requests_per_second"].frame
    nodes = {node_instance(n) for n in degraded.model.nodes}
    assert set(frame["instance"]) == nodes
    for _, points in frame.groupby("instance"):
        span = points["timestamp"].max() - points["timestamp"].min()
        assert span >= timedelta(hours=hours) * 0.95 and points["value"].notna().all()


async def test_the_rules_judge_what_the_collector_reads(restarted, simulator_session, degraded):
    judged = {}
    for name, sim in (("production", simulator_session), ("staging", degraded)):
        snapshot = await collect_all(environment(name, sim, restarted.second), deadline_s=20)
        assert snapshot.sources["prometheus"].status is SourceStatus.OK, snapshot.sources["prometheus"].error
        judged[name] = {(f.code, f.subject): f.state for f in evaluate(from_snapshot(snapshot))
                        if f.code.startswith("PERF_")}
    assert judged["production"] and set(judged["production"].values()) == {State.OK}
    assert State.UNKNOWN not in set(judged["staging"].values())
    assert {judged["staging"][("PERF_API_LATENCY_P99", node_instance(n))] for n in degraded.model.nodes} == {
        State.FIRING}


def short_history(monkeypatch) -> None:
    """Ten minutes of history instead of a week: the cases below are about starting, not about the history."""
    real = demo_prometheus.history_stamps
    monkeypatch.setattr(demo_prometheus, "history_stamps",
                        lambda end, after=None: real(end, after)[real(end, after) > end - 600])


def test_a_missing_prometheus_is_named_with_the_command_that_adds_it(monkeypatch, tmp_path, simulator):
    monkeypatch.setattr(demo_prometheus, "find_binaries", lambda: None)
    service = demo_prometheus.start(tmp_path, {"production": simulator})
    assert not service.part.running and service.settings == {}
    assert service.part.add_with == "sudo apt-get install --no-install-recommends prometheus"
    service.stop()


def test_a_taken_port_is_retried_on_another(monkeypatch, tmp_path, simulator):
    require_binaries()
    short_history(monkeypatch)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        offered = iter([(busy,)])
        real = processes.free_ports
        monkeypatch.setattr(processes, "free_ports", lambda count=1: next(offered, None) or real(count))
        service = demo_prometheus.start(tmp_path, {"production": simulator})
        try:
            url = service.settings["production"]["prometheus"].url
            assert service.part.running and not url.endswith(f":{busy}")
            log = (tmp_path / "prometheus" / "production" / "prometheus.log").read_text()
            assert "address already in use" in log
        finally:
            service.stop()


@pytest.mark.parametrize("stale", ["older layout", "other prometheus", "unreadable manifest", "file in the way",
                                   "unreadable block", "tsdb prometheus refuses"])
def test_a_stale_folder_is_rebuilt(monkeypatch, tmp_path, simulator, stale, caplog):
    require_binaries()
    short_history(monkeypatch)
    first = demo_prometheus.start(tmp_path, {"production": simulator})
    first.stop()
    root = tmp_path / "prometheus" / "production"
    manifest = json.loads((root / "manifest.json").read_text())
    if stale == "older layout":
        (root / "manifest.json").write_text(json.dumps({**manifest, "layout": 0}))
    elif stale == "other prometheus":
        (root / "manifest.json").write_text(json.dumps({**manifest, "prometheus": "prometheus, version 2.31.2"}))
    elif stale == "unreadable manifest":
        (root / "manifest.json").write_text("{not json")
    elif stale == "file in the way":
        for child in sorted(root.rglob("*"), reverse=True):
            child.rmdir() if child.is_dir() else child.unlink()
        root.rmdir()
        root.write_text("left by something else")
    elif stale == "unreadable block":  # Prometheus would skip it and start with a hole in the history
        for meta in (root / "data").glob("*/meta.json"):
            meta.write_text("{broken")
    else:  # a current manifest over a TSDB Prometheus refuses to open
        shutil.rmtree(root / "data" / "wal")
        (root / "data" / "wal").write_text("not a folder")
    service = demo_prometheus.start(tmp_path, {"production": simulator})
    try:
        assert service.part.running, service.part.detail
        assert "a week of history backfilled" in service.part.detail
        assert json.loads((root / "manifest.json").read_text())["layout"] == demo_prometheus.LAYOUT
        if stale == "tsdb prometheus refuses":
            assert "did not start on its kept data, rebuilding it" in caplog.text
            assert "opening storage failed" in caplog.text  # Prometheus' own words, from its log
    finally:
        service.stop()


def test_a_prometheus_that_exits_at_start_shows_its_log(monkeypatch, tmp_path, simulator):
    require_binaries()
    short_history(monkeypatch)
    fake = tmp_path / "prometheus"
    fake.write_text("#!/bin/sh\necho 'err=\"opening storage failed: no space left on device\"' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(demo_prometheus, "find_binaries", lambda: (str(fake), find_binaries()[1]))
    monkeypatch.setattr(demo_prometheus, "version", lambda binary: "prometheus, version 9.9.9")
    service = demo_prometheus.start(tmp_path / "demo", {"production": simulator})
    assert not service.part.running and service.settings == {}
    assert "production did not start: Prometheus exited at start (status 1)" in service.part.detail
    assert "no space left on device" in service.part.detail
    assert _unlocked(tmp_path / "demo")


def _unlocked(folder: Path) -> bool:
    """The failed start let go of its folder: a new claim gets the usual one, not a scratch copy."""
    from demo.folders import claim

    held = claim(folder / "prometheus", "production")
    try:
        return not held.scratch
    finally:
        held.release()


def test_a_second_demo_on_the_same_folder_gets_a_scratch_copy(monkeypatch, tmp_path, simulator):
    require_binaries()
    short_history(monkeypatch)
    first = demo_prometheus.start(tmp_path, {"production": simulator})
    try:
        second = demo_prometheus.start(tmp_path, {"production": simulator})
        try:
            assert second.part.running and "scratch folder" in second.part.detail
            scratch = [p for p in (tmp_path / "prometheus").iterdir() if p.is_dir() and p.name != "production"]
            assert len(scratch) == 1
        finally:
            second.stop()
        assert [p.name for p in (tmp_path / "prometheus").iterdir() if p.is_dir()] == ["production"]
    finally:
        first.stop()


def test_history_tiers_are_dense_near_now_and_cover_the_week():
    end = 1_800_000_000.0
    stamps = demo_prometheus.history_stamps(end)
    gaps = np.diff(stamps)
    assert stamps[-1] == end and end - stamps[0] == 7 * 86_400 and (gaps > 0).all()
    assert gaps[stamps[1:] > end - 6 * 3600].max() == 30 and gaps.max() == 300
    assert list(demo_prometheus.history_stamps(end, after=end - 65)) == [end - 60, end - 30, end]
