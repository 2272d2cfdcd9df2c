"""Every packet layout Mattermost has shipped, read from fixtures we own and from the simulator's packets.

The fixtures (tests/fixtures/packets/) follow the shape of upstream's testdata in
server/platform/shared/healthcheck/packet/testdata/ (standalone, ha, ha_legacy) and model.SupportPacket for the
legacy layout; the leader rule follows upstream's packet/reader.go (selectLeader).
"""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime

import pytest

from collectors.packet_layout import MAX_NODES, config_hash, differing_settings
from collectors.support_packet import PacketError, parse_packet
from simulator import build_scenario
from simulator.server_config import build_config
from simulator.support_packet import build_packet, drifted_config, process_sample
from tests.fixtures.packet_fixtures import build_fixture


def test_v12_standalone_reads_every_diagnostics_field(tmp_path):
    """server.open_file_descriptors, license.expires_at (epoch ms), database.version and the v12 probes of
    upstream's testdata/standalone/diagnostics.yaml become typed facts."""
    packet = parse_packet(build_fixture("v12_standalone", tmp_path / "p.zip"))
    assert packet.layout == "v12" and packet.format == "current"
    server = packet.server
    assert (server.version, server.hostname, server.open_file_descriptors, server.max_file_descriptors) == (
        "11.6.1", "mm.example.com", 62259, 65536)
    assert server.goroutines == 3 and server.process_id == 1 and server.total_memory_mb == 16000
    assert packet.license.expires_at == datetime(2026, 11, 30, 11, 6, 40, tzinfo=UTC)
    assert (packet.license.users, packet.license.sku_short_name) == (500, "enterprise")
    assert packet.database.version == "13.14" and packet.database.master_connections_in_use == 6
    assert packet.database.cache_hit_ratio == pytest.approx(0.998)
    assert packet.file_store.status == "FAIL" and "permission denied" in packet.file_store.error
    assert packet.file_store.available_mb == 2048
    node = packet.cluster.nodes[0]
    assert node.probes["email"].status == "FAIL" and "i/o timeout" in node.probes["email"].error
    assert "saml" in node.probes and node.probes["saml"].status == "disabled"
    assert packet.generated_at == datetime(2026, 11, 18, 11, 6, 40, tzinfo=UTC)
    assert packet.stats.registered_users == 412 and packet.jobs["ldap_sync"][0].status == "error"
    assert "com.mattermost.calls" in packet.plugin_diagnostics


def test_plugin_states_from_the_config_beside_the_running_list(tmp_path):
    """plugins.json lists a plugin as enabled only while it runs; PluginSettings.PluginStates says what the admin
    enabled (upstream's PLUGIN_NOT_RUNNING reads the two the same way)."""
    packet = parse_packet(build_fixture("v12_standalone", tmp_path / "p.zip"))
    states = {p.id: (p.enabled, p.enabled_in_config) for p in packet.plugins}
    assert states == {"playbooks": (True, True), "com.mattermost.calls": (True, True), "jira": (False, True),
                      "zoom": (False, False)}


def test_fields_and_members_we_do_not_read_are_listed(tmp_path):
    """A newer server's field is reported as not interpreted, and so is a member no reader looks at."""
    packet = parse_packet(build_fixture("v12_standalone", tmp_path / "p.zip"))
    assert packet.uninterpreted == {"diagnostics.yaml": ("server.future_field_of_v13",)}
    odd = parse_packet(build_fixture("v12_standalone", tmp_path / "odd.zip", replace={
        "plugins.json": '{"enabled": [], "disabled": [], "failed": []}', "jobs.yaml": "ldap_sync_jobs: []\nnotes: x\n",
        "stats.yaml": "posts: 3\nreactions: 9\n"}))
    assert odd.uninterpreted["plugins.json"] == ("failed",) and odd.uninterpreted["jobs.yaml"] == ("notes",)
    assert odd.uninterpreted["stats.yaml"] == ("reactions",)
    assert any(m.startswith("cpu.prof") and "not analysed" in m for m in packet.uninterpreted_members)


def test_ha_packet_takes_configuration_and_licence_from_the_leader(tmp_path):
    """upstream testdata/ha: one folder per node; the node with cluster.is_leader (app-2) speaks for the
    cluster, not app-1, which comes first by name and carries another licence and configuration."""
    packet = parse_packet(build_fixture("v12_ha", tmp_path / "p.zip"))
    assert packet.layout == "v12, HA with 3 node folders"
    assert packet.cluster.leader == "app-2.example.com" and "is_leader" in packet.cluster.leader_reason
    assert packet.license.users == 500  # app-1 says 100
    assert packet.sanitized_config["ServiceSettings"]["EnableMultifactorAuthentication"] is True
    nodes = {n.name: n for n in packet.cluster.nodes}
    assert [n.server.version for n in packet.cluster.nodes] == ["11.6.1", "11.6.1", "11.5.4"]
    assert nodes["app-1.example.com"].config_differs == ("LogSettings.FileLevel",
                                                         "ServiceSettings.EnableMultifactorAuthentication")
    assert nodes["app-3.example.com"].config_differs == ()
    assert nodes["app-3.example.com"].config_hash == nodes["app-2.example.com"].config_hash
    assert nodes["app-1.example.com"].config_hash != nodes["app-2.example.com"].config_hash
    assert packet.stats.websocket_connections == 36 and packet.database.master_connections == 60
    assert len(packet.logs) == 3


def test_ha_packet_without_a_leader_falls_back_to_the_first_node(tmp_path):
    """upstream testdata/ha_legacy: nodes before v12 do not say who leads; the first by host name stands in,
    and the report says so."""
    packet = parse_packet(build_fixture("v11_ha_no_leader", tmp_path / "p.zip"))
    assert packet.layout == "v9.11 to v11, HA with 2 node folders"
    assert packet.cluster.leader == "app-a.example.com" and "first node by host name" in packet.cluster.leader_reason
    assert all(n.is_leader is None for n in packet.cluster.nodes)
    assert packet.server.open_file_descriptors is None  # not written before v12: unknown, never 0


def test_legacy_packet(tmp_path):
    """support_packet.yaml (model.SupportPacket, servers 5.32 to 9.10) with the API's active/inactive plugins."""
    packet = parse_packet(build_fixture("legacy", tmp_path / "p.zip"))
    assert packet.format == "legacy" and packet.layout.startswith("legacy")
    assert (packet.server.version, packet.database.version, packet.license.users) == ("9.5.12", "12.19", 300)
    assert packet.stats.registered_users == 292 and packet.jobs["migrations"][0].status == "success"
    assert {p.id: p.enabled for p in packet.plugins} == {"playbooks": True, "jira": False}


def test_a_plugin_folder_is_not_a_node(tmp_path):
    """A <plugin id>/diagnostics.yaml without a config beside it is the plugin's, as upstream's splitNodeFiles
    decides."""
    packet = parse_packet(build_fixture("v12_standalone", tmp_path / "p.zip"))
    assert [n.name for n in packet.cluster.nodes] == [""]


def test_a_node_whose_diagnostics_are_broken_is_still_listed(tmp_path):
    """One node's malformed diagnostics.yaml is reported; the other nodes are read."""
    path = build_fixture("v12_ha", tmp_path / "p.zip", replace={"app-3.example.com/diagnostics.yaml": "a: [b"})
    packet = parse_packet(path)
    assert len(packet.cluster.nodes) == 3 and "app-3.example.com/diagnostics.yaml" in packet.unreadable
    assert packet.cluster.nodes[2].server.version is None


@pytest.mark.parametrize("members", [{"readme.txt": "hello"}, {f"junk/{i}.bin": "x" for i in range(2000)}, {}])
def test_a_zip_that_is_not_a_support_packet_says_so(tmp_path, members):
    """No support_packet.yaml, metadata.yaml or diagnostics.yaml: not a packet, never a healthy verdict."""
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(PacketError, match="not a Mattermost support packet"):
        parse_packet(path)


def test_node_folders_beyond_the_cap_are_not_read(tmp_path):
    """A packet claiming more nodes than any cluster runs is read up to MAX_NODES, and says so."""
    extra = {}
    for i in range(MAX_NODES + 5):
        extra[f"node-{i:04d}/diagnostics.yaml"] = f"server:\n  hostname: node-{i:04d}\n  version: 11.6.1\n"
        extra[f"node-{i:04d}/sanitized_config.json"] = "{}"
    path = build_fixture("v12_ha", tmp_path / "p.zip", replace=extra)
    packet = parse_packet(path)
    assert len(packet.cluster.nodes) == MAX_NODES and f"more than {MAX_NODES} node folders" in packet.unreadable[
        "(zip)"]


def test_config_differences_are_dotted_paths():
    """What the per-node comparison reports: settings that changed, appeared or disappeared."""
    left = {"A": {"B": 1, "C": [1, 2]}, "D": True}
    right = {"A": {"B": 2, "C": [1, 2]}, "E": False}
    assert differing_settings(left, right) == ["A.B", "D", "E"]
    assert config_hash(left) == config_hash({"D": True, "A": {"C": [1, 2], "B": 1}})


@pytest.mark.parametrize("name", ["healthy", "degraded", "large"])
def test_a_simulator_packet_round_trips(name):
    """Every fact the simulator puts into its packet is read back: per node version, build, descriptors,
    goroutines, leader and configuration drift; the licence's expiry; the cluster size."""
    scenario = build_scenario(name)
    config = build_config(scenario)
    now = 1_795_000_000_000
    packet = parse_packet(build_packet(scenario, config, generated_at_ms=now))
    clustered = config["ClusterSettings"]["Enable"] and len(scenario.nodes) > 1
    nodes = scenario.nodes if clustered else scenario.nodes[:1]
    assert len(packet.cluster.nodes) == len(nodes)
    assert packet.cluster.leader == nodes[0].hostname
    usual = max({n.config_hash for n in nodes}, key=lambda h: sum(n.config_hash == h for n in nodes))
    for index, (sim_node, read) in enumerate(zip(nodes, packet.cluster.nodes, strict=True)):
        sample = process_sample(scenario, index, now)
        assert read.server.hostname == sim_node.hostname and read.server.version == sim_node.version
        assert (read.server.open_file_descriptors, read.server.max_file_descriptors, read.server.goroutines) == (
            sample["open_fds"], sample["max_fds"], sample["goroutines"])
        assert read.is_leader is (index == 0)
        assert bool(read.config_differs) is (sim_node.config_hash != usual)
    assert packet.license.expires_at == datetime.fromtimestamp(scenario.license.expires_at / 1000, UTC)
    assert packet.cluster.number_of_nodes == (len(nodes) if clustered else 0)
    assert packet.uninterpreted == {}


def test_the_drifted_node_differs_in_the_settings_the_simulator_changed():
    scenario = build_scenario("degraded")
    packet = parse_packet(build_packet(scenario, build_config(scenario)))
    drifted = [n for n in packet.cluster.nodes if n.config_differs]
    assert [n.name for n in drifted] == ["mm-3"]
    config = packet.sanitized_config
    assert set(drifted[0].config_differs) == set(differing_settings(config, drifted_config(config)))
