"""Fault injection as a client sees it: slow, failing, truncated and hung answers."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from simulator import RunningSimulator
from simulator.faults import Faults
from tests.servers.simulator import SimulatorFactory
from tests.simulator.conftest import client_for


def test_registry_set_replace_and_clear() -> None:
    faults = Faults()
    faults.set("/api/v4/jobs", latency_ms=100)
    faults.set("/api/v4/jobs", status=503)
    faults.set("/api/v4/plugins*", malformed_json=True)
    assert [f.pattern for f in faults.list()] == ["/api/v4/jobs", "/api/v4/plugins*"]
    assert faults.for_path("/api/v4/jobs").status == 503  # type: ignore[union-attr]
    assert faults.for_path("/api/v4/jobs").latency_ms == 0  # type: ignore[union-attr]
    faults.clear("/api/v4/jobs")
    assert faults.for_path("/api/v4/jobs") is None
    assert faults.for_path("/api/v4/plugins/statuses").malformed_json  # type: ignore[union-attr]
    faults.clear()
    assert faults.list() == []


def test_matching_faults_are_merged() -> None:
    faults = Faults()
    faults.set("*", latency_ms=50)
    faults.set("/api/v4/jobs", latency_ms=20, status=500)
    faults.set("/api/v4/*", status=502)
    merged = faults.for_path("/api/v4/jobs")
    assert merged is not None
    assert merged.latency_ms == 50
    assert merged.status == 502  # the newest status wins


@pytest.mark.parametrize("kwargs", [{"latency_ms": -1}, {"status": 200}, {"status": 600}, {"pattern": ""}])
def test_invalid_faults_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        Faults().set(**{"pattern": "*", **kwargs})


def test_hang_cap_never_exceeds_120_s() -> None:
    assert Faults(hang_cap_s=10_000).hang_cap_s == 120


def test_latency_overlaps_for_concurrent_requests(simulator: RunningSimulator) -> None:
    simulator.faults.set("/api/v4/system/ping", latency_ms=300)
    statuses: list[int] = []

    def ping() -> None:
        statuses.append(httpx.get(f"{simulator.url}/api/v4/system/ping", timeout=5).status_code)

    threads = [threading.Thread(target=ping) for _ in range(5)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    assert statuses == [200] * 5
    assert 0.3 <= elapsed < 1.0  # five 300 ms answers in parallel, not 1.5 s in a row


def test_latency_applies_only_to_matching_paths(simulator: RunningSimulator, admin: httpx.Client) -> None:
    simulator.faults.set("/api/v4/jobs", latency_ms=400)
    started = time.monotonic()
    admin.get("/system/ping")
    assert time.monotonic() - started < 0.3
    started = time.monotonic()
    assert admin.get("/jobs").status_code == 200
    assert time.monotonic() - started >= 0.4


def test_status_fault_answers_with_mattermost_error_body(simulator: RunningSimulator, anon: httpx.Client) -> None:
    simulator.faults.set("/api/v4/analytics/*", status=503)
    response = anon.get("/analytics/old")  # before auth: even an anonymous call sees the 503
    assert response.status_code == 503
    body = response.json()
    assert body["status_code"] == 503
    assert set(body) == {"id", "message", "detailed_error", "request_id", "status_code"}
    assert body["request_id"] == response.headers["x-request-id"]
    assert response.headers["x-version-id"].startswith("11.6.1.")


def test_malformed_json_is_a_truncated_200(simulator: RunningSimulator, admin: httpx.Client) -> None:
    simulator.faults.set("/api/v4/plugins", malformed_json=True)
    response = admin.get("/plugins")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert "x-version-id" not in response.headers
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    simulator.faults.clear()
    full = admin.get("/plugins").content
    assert full.startswith(response.content) and len(response.content) < len(full)


def test_hang_outlasts_the_client_timeout(simulator: RunningSimulator) -> None:
    simulator.faults.set("/api/v4/system/ping", hang=True)
    with client_for(simulator, timeout=0.3) as client, pytest.raises(httpx.ReadTimeout):
        client.get("/system/ping")
    with client_for(simulator, timeout=2) as client:
        assert client.get("/users/stats").status_code == 401  # other paths still answer


def test_hang_is_capped(simulator_factory: SimulatorFactory) -> None:
    sim = simulator_factory(hang_cap_s=0.3)
    sim.faults.set("*", hang=True)
    started = time.monotonic()
    with client_for(sim, timeout=5) as client:
        response = client.get("/system/ping")
    assert 0.3 <= time.monotonic() - started < 2
    assert response.status_code == 504
    assert "x-version-id" not in response.headers


def test_stop_releases_hung_requests(simulator_factory: SimulatorFactory) -> None:
    sim = simulator_factory()
    sim.faults.set("*", hang=True)
    outcome: list[object] = []

    def call() -> None:
        try:
            outcome.append(httpx.get(f"{sim.url}/api/v4/system/ping", timeout=10).status_code)
        except httpx.HTTPError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    time.sleep(0.2)
    started = time.monotonic()
    sim.stop()
    thread.join(5)
    assert time.monotonic() - started < 3
    assert outcome and outcome[0] != 200


def test_base_latency_from_start(simulator_factory: SimulatorFactory) -> None:
    sim = simulator_factory(latency_ms=250)
    sim.faults.clear()  # clearing faults keeps the latency the simulator was started with
    started = time.monotonic()
    with client_for(sim) as client:
        assert client.get("/system/ping").status_code == 200
    assert time.monotonic() - started >= 0.25


def test_control_api_is_exempt(simulator: RunningSimulator) -> None:
    simulator.faults.set("*", status=500)
    response = httpx.get(f"{simulator.url}/__simulator__/faults",
                         headers={"Authorization": f"Bearer {simulator.admin_token}"})
    assert response.status_code == 200
