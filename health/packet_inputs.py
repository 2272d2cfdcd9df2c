"""Rule inputs from a Mattermost support packet, offline or beside a live collection.

A packet made by Mattermost itself carries what the REST API does not: each node's OS, the connection tests
the server ran (file store, LDAP, search) and a few counts. Offline, it is the only source; live, it fills
the gaps of the API's answers.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from collectors.base import Snapshot
from collectors.mattermost_models import Job, LicenseInfo, Plugin, PluginNode
from collectors.support_packet_models import NodeFacts, PacketFacts
from health.inputs import Fact, Node, Probe, RuleInputs, Usage, absent, from_snapshot

EVERY_NODE = "every node"  # plugins.json is one list for the whole cluster


def _nodes(packet: PacketFacts) -> tuple[Node, ...] | None:
    """The packet's nodes; None when it does not say how many there are (legacy packets do not)."""
    nodes = packet.cluster.nodes or ()
    reported = packet.cluster.number_of_nodes
    if not _ha_layout(packet) and ((reported is None and len(nodes) <= 1) or (reported or 0) > len(nodes)):
        return None  # one node's files for a deployment of several (or of an unknown number)
    if not nodes:
        server = packet.server
        return (Node(server.hostname or "this server", version=server.version, os=server.os),)
    return tuple(_node(n, packet.cluster.leader) for n in nodes)


def _node(n: NodeFacts, leader: str | None) -> Node:
    hostname = n.server.hostname or n.name or "this server"
    return Node(hostname, version=n.server.version, os=n.server.os, open_fds=n.server.open_file_descriptors,
                max_fds=n.server.max_file_descriptors, build_hash=n.server.build_hash, config_hash=n.config_hash,
                config_differs=n.config_differs, is_leader=hostname == leader or (n.name or None) == leader,
                goroutines=n.server.goroutines, readable=n.server.version is not None or n.server.hostname is not None)


def _ha_layout(packet: PacketFacts) -> bool:
    """Whether the packet has a folder per node, as Mattermost writes it for a cluster."""
    return any(n.name for n in packet.cluster.nodes)


def _cluster_size(packet: PacketFacts, source: str) -> Fact[int]:
    if not _ha_layout(packet):
        return absent(source, "the packet has no folder per node, so it cannot show a node missing")
    if packet.cluster.number_of_nodes is None:
        return absent(source, "the leader's diagnostics.yaml does not say how many nodes the cluster counts")
    return Fact(packet.cluster.number_of_nodes, f"{source} (cluster.number_of_nodes of {packet.cluster.leader})")


def _probes(packet: PacketFacts) -> dict[str, Probe]:
    probes: dict[str, Probe] = {}
    if packet.file_store.status:
        probes["file_store"] = Probe(packet.file_store.status, packet.file_store.error)
    if packet.ldap is not None and packet.ldap.status:
        probes["ldap"] = Probe(packet.ldap.status, packet.ldap.error)
    search = packet.elasticsearch
    if search is not None and search.status:
        probes["elastic"] = Probe(search.status, search.error)
    elif search is not None and (search.version or search.error):
        probes["elastic"] = Probe("FAIL" if search.error else "OK", search.error)
    leader = _leader_node(packet)
    for name, probe in (leader.probes.items() if leader else ()):
        if probe.status.lower() != "disabled":
            probes[name] = Probe(probe.status.upper(), probe.error)
    return probes


def _leader_node(packet: PacketFacts) -> NodeFacts | None:
    nodes = packet.cluster.nodes
    leader = packet.cluster.leader
    return next((n for n in nodes if leader in (n.server.hostname, n.name)), nodes[0] if nodes else None)


def _usage(packet: PacketFacts) -> Usage:
    stats = packet.stats
    return Usage(
        registered_users=stats.registered_users, active_users=stats.active_users,
        daily_active_users=stats.daily_active_users, monthly_active_users=stats.monthly_active_users,
        posts=stats.posts, channels=stats.channels, teams=stats.teams, incoming_webhooks=stats.incoming_webhooks,
        outgoing_webhooks=stats.outgoing_webhooks, bot_accounts=stats.bot_accounts,
        single_channel_guests=stats.single_channel_guests, websocket_connections=stats.websocket_connections,
        master_db_connections=packet.database.master_connections,
        replica_db_connections=packet.database.replica_connections,
    )


def _jobs(packet: PacketFacts) -> tuple[Job, ...]:
    return tuple(Job(j.id, j.type, j.status or "", j.created_at, j.started_at, j.last_activity_at, j.progress,
                     j.error) for runs in packet.jobs.values() for j in runs)


def _license(packet: PacketFacts) -> LicenseInfo | None:
    lic = packet.license
    if lic is None:
        return LicenseInfo(is_licensed=False) if packet.format == "current" and packet.cluster.nodes else None
    licensed = bool(lic.users or lic.sku_short_name or lic.company)
    return LicenseInfo(is_licensed=licensed, sku_short_name=lic.sku_short_name, seats=lic.users,
                       company=lic.company, licensee=lic.company, is_trial=lic.is_trial, is_gov_sku=lic.is_gov_sku,
                       issued_at=lic.issued_at, starts_at=lic.starts_at, expires_at=lic.expires_at)


def _plugins(packet: PacketFacts) -> tuple[Plugin, ...] | None:
    """plugins.json lists a plugin as enabled only while it runs: one enabled in the configuration but listed as
    disabled failed to start or to stay running (upstream's PLUGIN_NOT_RUNNING reads it the same way)."""
    plugins = []
    for p in packet.plugins:
        enabled = p.enabled or p.enabled_in_config is True
        if p.enabled:
            nodes = (PluginNode(EVERY_NODE, "running", None),)
        elif enabled:
            nodes = (PluginNode(EVERY_NODE, "not running",
                                "enabled in PluginSettings.PluginStates but listed as disabled in plugins.json"),)
        else:
            nodes = ()
        plugins.append(Plugin(p.id, p.name or p.id, p.version, enabled, nodes))
    return tuple(plugins) or None


def from_packet(packet: PacketFacts, name: str) -> RuleInputs:
    """Rule inputs from a packet alone (`python -m health --packet`)."""
    origin = f"support packet {name}"

    def fact(value, member: str, why: str) -> Fact:
        if value is None or value == {} or value == ():
            return absent(member, packet.unreadable.get(member, why))
        return Fact(value, member)

    diagnostics = "diagnostics.yaml" if packet.format == "current" else "support_packet.yaml"
    leader_dir = f"{packet.cluster.leader}/" if _ha_layout(packet) and packet.cluster.leader else ""
    leader_diagnostics = f"{leader_dir}{diagnostics}" + (" (the leader's)" if leader_dir else "")
    stats = "stats.yaml" if packet.format == "current" else "support_packet.yaml"
    return RuleInputs(
        origin=origin,
        config=fact(packet.sanitized_config or None, f"{leader_dir}sanitized_config.json" + (
            " (the leader's)" if leader_dir else ""), "this packet has no configuration"),
        license=fact(_license(packet), leader_diagnostics, "the packet does not describe the license"),
        version=fact(packet.server.version, diagnostics, "the packet does not name the server version"),
        latest_version=absent("the latest release", "a support packet does not say which release is newest"),
        usage=Fact(_usage(packet), stats),
        nodes=fact(_nodes(packet), diagnostics, "this packet does not list the cluster's nodes"),
        jobs=Fact(_jobs(packet), "jobs.yaml" if packet.format == "current" else "support_packet.yaml"),
        plugins=fact(_plugins(packet), "plugins.json", "the packet lists no plugins"),
        server_status=absent("the system ping", "a support packet does not carry the ping's answer"),
        probes=Fact(_probes(packet), diagnostics),
        database=absent("database", "a support packet has no database statistics"),
        metrics=absent("Prometheus", "a support packet has no metrics history"),
        ldap=absent("LDAP", "a support packet has only the server's LDAP test, not the directory's details"),
        saml=absent("SAML IdP metadata", "a support packet does not include the IdP's metadata"),
        search=absent("Elasticsearch", "a support packet has only the search cluster's version and plugins"),
        database_version=fact(packet.database.version, leader_diagnostics,
                              "the packet does not name the database version"),
        cluster_size=_cluster_size(packet, leader_diagnostics),
        now=packet.generated_at or datetime.now(UTC),
    )


def with_packet(inputs: RuleInputs, packet: PacketFacts) -> RuleInputs:
    """Live inputs completed by the server's own packet: node OS, its connection tests, bot counts."""
    packet_inputs = from_packet(packet, "from the server")
    packet_nodes = {n.hostname: n for n in packet_inputs.nodes.value or ()}
    nodes = inputs.nodes
    if nodes.value:
        nodes = Fact(tuple(_completed(n, packet_nodes[n.hostname]) if n.hostname in packet_nodes else n
                           for n in nodes.value), f"{nodes.source}, diagnostics.yaml")
    elif not nodes.known and packet_nodes:
        nodes = Fact(tuple(packet_nodes.values()), "diagnostics.yaml")
    probes = {**(packet_inputs.probes.value or {}), **(inputs.probes.value or {})}  # ours win over the packet's
    usage = inputs.usage
    if usage.value is not None:
        usage = Fact(dataclasses.replace(usage.value, bot_accounts=packet.stats.bot_accounts,
                                         single_channel_guests=packet.stats.single_channel_guests), usage.source)
    lic = inputs.license
    if lic.value is not None and lic.value.is_licensed and lic.value.expires_at is None:
        packed = packet_inputs.license.value
        if packed is not None and packed.expires_at is not None:
            lic = Fact(dataclasses.replace(lic.value, expires_at=packed.expires_at),
                       f"{lic.source}, {packet_inputs.license.source}")
    return dataclasses.replace(
        inputs, nodes=nodes, probes=Fact(probes, f"{inputs.probes.source}, diagnostics.yaml"), usage=usage,
        license=lic,
        database_version=inputs.database_version if inputs.database_version.known
        else packet_inputs.database_version,
        cluster_size=inputs.cluster_size if inputs.cluster_size.known else packet_inputs.cluster_size)


def _completed(live: Node, packed: Node) -> Node:
    """A live node with what only the packet knows of it."""
    return dataclasses.replace(live, os=packed.os, open_fds=packed.open_fds, max_fds=packed.max_fds,
                               build_hash=live.build_hash or packed.build_hash, goroutines=packed.goroutines)


def from_live(snapshot: Snapshot) -> RuleInputs:
    """Rule inputs from a live collection, completed by the server's support packet when it was read."""
    inputs = from_snapshot(snapshot)
    packet = snapshot.data("support_packet")
    return with_packet(inputs, packet) if isinstance(packet, PacketFacts) else inputs
