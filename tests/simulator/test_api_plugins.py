"""/plugins and /plugins/statuses against the scenario, and the 501 when plugins are off."""

from __future__ import annotations

from dataclasses import replace

import httpx

from simulator import RunningSimulator, build_scenario
from simulator.model import PLUGIN_FAILED_TO_START, PLUGIN_RUNNING
from tests.servers.simulator import SimulatorFactory
from tests.simulator.conftest import client_for

EXPECTED = {"playbooks", "focalboard", "com.mattermost.calls", "com.mattermost.nps", "jira", "github",
            "com.mattermost.plugin-channel-export", "mattermost-ai"}


def test_active_and_inactive(simulator: RunningSimulator, admin: httpx.Client) -> None:
    body = admin.get("/plugins").json()
    active = {p["id"] for p in body["active"]}
    assert active == {p.id for p in simulator.model.plugins if p.enabled} == EXPECTED
    assert {p["id"] for p in body["inactive"]} == {p.id for p in simulator.model.plugins if not p.enabled}
    calls = next(p for p in body["active"] if p["id"] == "com.mattermost.calls")
    assert calls["version"] and calls["min_server_version"] and calls["webapp"]["bundle_path"]
    secret = [s["key"] for s in calls["settings_schema"]["settings"] if s["secret"]]
    assert secret == ["TURNStaticAuthSecret"]


def test_statuses_one_row_per_plugin_per_node(simulator: RunningSimulator, admin: httpx.Client) -> None:
    rows = admin.get("/plugins/statuses").json()
    s = simulator.model
    assert len(rows) == len(s.plugins) * len(s.nodes)
    assert {r["cluster_id"] for r in rows} == {n.id for n in s.nodes}
    assert all(r["state"] == PLUGIN_RUNNING for r in rows if r["plugin_id"] in EXPECTED)
    assert all(r["plugin_path"] == f"plugins/{r['plugin_id']}" for r in rows)


def test_degraded_plugin_failed_on_one_node(degraded: RunningSimulator) -> None:
    with client_for(degraded, degraded.admin_token) as admin:
        rows = admin.get("/plugins/statuses").json()
    failed = [r for r in rows if r["state"] == PLUGIN_FAILED_TO_START]
    assert len(failed) == 1
    assert failed[0]["plugin_id"] == "com.mattermost.calls" and "address already in use" in failed[0]["error"]
    assert failed[0]["cluster_id"] == degraded.model.nodes[1].id


def test_plugins_disabled_is_501(simulator_factory: SimulatorFactory) -> None:
    scenario = build_scenario("healthy")
    sim = simulator_factory(replace(scenario, settings=replace(scenario.settings, plugins_enabled=False)))
    with client_for(sim, sim.admin_token) as admin, client_for(sim, sim.user_token) as user:
        for client in (admin, user):  # the feature check comes before the permission check
            for path in ("/plugins", "/plugins/statuses"):
                response = client.get(path)
                assert response.status_code == 501
                assert response.json()["id"] == "app.plugin.disabled.app_error"
