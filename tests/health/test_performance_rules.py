"""Performance rules over a real Prometheus holding 7 days of a simulated deployment's metrics."""

import pytest

from collectors import prometheus
from health.engine import run_rule
from health.findings import State
from health.inputs import Fact
from health.rules import RULES
from tests.health.conftest import make_inputs
from tests.servers.prometheus import PrometheusServer, require_binaries

PERFORMANCE = [r for r in RULES if r.area == "Performance"]


@pytest.fixture(scope="module")
def degraded_prometheus(simulator_factory_module):
    require_binaries()
    server = PrometheusServer(simulator=simulator_factory_module, with_auth=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def simulator_factory_module():
    from simulator import start_simulator

    sim = start_simulator("degraded")
    yield sim
    sim.stop()


def states(facts) -> dict[tuple[str, str | None], State]:
    inputs = make_inputs(metrics=Fact(facts, "Prometheus"))
    return {(f.code, f.subject): f.state for r in PERFORMANCE for f in run_rule(r, inputs)}


async def test_a_healthy_deployment_passes(prometheus_server):
    result = await prometheus.collect(prometheus_server.settings(), None)
    found = states(result.data)
    assert State.FIRING not in found.values(), [k for k, v in found.items() if v is State.FIRING]
    assert {code for code, _ in found} == {r.code for r in PERFORMANCE}


async def test_a_degraded_deployment_fires_where_it_hurts(degraded_prometheus):
    result = await prometheus.collect(degraded_prometheus.settings(), None)
    firing = {code: subject for (code, subject), state in states(result.data).items() if state is State.FIRING}
    assert {"PERF_HTTP_ERROR_RATE", "PERF_API_LATENCY_P99", "PERF_CLUSTER_HEALTH"} <= set(firing)
    assert firing["PERF_CLUSTER_HEALTH"].startswith("mm-3")


async def test_without_mattermost_metrics_every_rule_is_unknown(empty_prometheus):
    result = await prometheus.collect(empty_prometheus.settings(), None)
    found = states(result.data)
    assert set(found.values()) == {State.UNKNOWN}
