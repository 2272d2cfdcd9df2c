"""/cluster/status per scenario."""

from __future__ import annotations

import httpx

from simulator import RunningSimulator
from tests.simulator.conftest import client_for


def _nodes(sim: RunningSimulator) -> list[dict]:
    with client_for(sim, sim.admin_token) as admin:
        response = admin.get("/cluster/status")
    assert response.status_code == 200
    return response.json()


def test_healthy_nodes_agree(simulator: RunningSimulator) -> None:
    nodes = _nodes(simulator)
    assert [n["hostname"] for n in nodes] == [n.hostname for n in simulator.model.nodes]
    assert len(nodes) == 2
    assert {n["version"] for n in nodes} == {"11.6.1"}
    assert len({n["config_hash"] for n in nodes}) == 1
    assert {n["schema_version"] for n in nodes} == {"159"}


def test_degraded_node_drifted(degraded: RunningSimulator) -> None:
    nodes = _nodes(degraded)
    assert len(nodes) == 3
    odd = nodes[2]
    assert odd["version"] != nodes[0]["version"] == nodes[1]["version"]
    assert odd["config_hash"] != nodes[0]["config_hash"] == nodes[1]["config_hash"]


def test_large_has_five_nodes(large: RunningSimulator) -> None:
    assert len(_nodes(large)) == 5


def test_plain_user_is_refused(user: httpx.Client) -> None:
    assert user.get("/cluster/status").status_code == 403
