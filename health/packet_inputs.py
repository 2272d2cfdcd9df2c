"""Rule inputs from a Mattermost support packet, offline or beside a live collection.

A packet made by Mattermost itself carries what the REST API does not: each node's OS, the connection tests
the server ran (file store, LDAP, search) and a few counts. Offline, it is the only source; live, it fills
the gaps of the API's answers.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from collectors.base import Snapshot
from collectors.mattermost_models import Job, LicenseInfo, Plugin
from collectors.support_packet_models import PacketFacts
from health.inputs import Fact, Node, Probe, RuleInputs, Usage, absent, from_snapshot


def _nodes(packet: PacketFacts) -> tuple[Node, ...] | None:
    """The packet's nodes; None when it does not say how many there are (legacy packets do not)."""
    nodes = packet.cluster.nodes or ()
    reported = packet.cluster.number_of_nodes
    if (reported is None and len(nodes) <= 1) or (reported is not None and reported > len(nodes)):
        return None  # the packet does not describe every node (or does not say how many there are)
    if not nodes:
        server = packet.server
        return (Node(server.hostname or "this server", version=server.version, os=server.os),)
    return tuple(Node(n.server.hostname or n.name or "node", version=n.server.version, os=n.server.os)
                 for n in nodes)


def _probes(packet: PacketFacts) -> dict[str, Probe]:
    probes: dict[str, Probe] = {}
    if packet.file_store.status:
        probes["file_store"] = Probe(packet.file_store.status, packet.file_store.error)
    if packet.ldap is not None and packet.ldap.status:
        probes["ldap"] = Probe(packet.ldap.status, packet.ldap.error)
    if packet.elasticsearch is not None and (packet.elasticsearch.version or packet.elasticsearch.error):
        probes["elastic"] = Probe("FAIL" if packet.elasticsearch.error else "OK", packet.elasticsearch.error)
    return probes


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
        return None
    licensed = bool(lic.users or lic.sku_short_name)
    return LicenseInfo(is_licensed=licensed, sku_short_name=lic.sku_short_name, seats=lic.users,
                       company=lic.company, licensee=lic.company, is_trial=lic.is_trial)


def from_packet(packet: PacketFacts, name: str) -> RuleInputs:
    """Rule inputs from a packet alone (`python -m health --packet`)."""
    origin = f"support packet {name}"

    def fact(value, member: str, why: str) -> Fact:
        if value is None or value == {} or value == ():
            return absent(member, packet.unreadable.get(member, why))
        return Fact(value, member)

    diagnostics = "diagnostics.yaml" if packet.format == "current" else "support_packet.yaml"
    stats = "stats.yaml" if packet.format == "current" else "support_packet.yaml"
    return RuleInputs(
        origin=origin,
        config=fact(packet.sanitized_config or None, "sanitized_config.json",
                    "this packet has no configuration (packets before v9.11 carry none)"),
        license=fact(_license(packet), diagnostics, "the packet does not describe the license"),
        version=fact(packet.server.version, diagnostics, "the packet does not name the server version"),
        latest_version=absent("the latest release", "a support packet does not say which release is newest"),
        usage=Fact(_usage(packet), stats),
        nodes=fact(_nodes(packet), diagnostics, "this packet does not list the cluster's nodes"),
        jobs=Fact(_jobs(packet), "jobs.yaml" if packet.format == "current" else "support_packet.yaml"),
        plugins=fact(tuple(Plugin(p.id, p.name or p.id, p.version, p.enabled) for p in packet.plugins) or None,
                     "plugins.json", "the packet lists no plugins"),
        server_status=absent("the system ping", "a support packet does not carry the ping's answer"),
        probes=Fact(_probes(packet), diagnostics),
        database=absent("database", "a support packet has no database statistics"),
        metrics=absent("Prometheus", "a support packet has no metrics history"),
        ldap=absent("LDAP", "a support packet has only the server's LDAP test, not the directory's details"),
        saml=absent("SAML IdP metadata", "a support packet does not include the IdP's metadata"),
        search=absent("Elasticsearch", "a support packet has only the search cluster's version and plugins"),
        now=packet.generated_at or datetime.now(UTC),
    )


def with_packet(inputs: RuleInputs, packet: PacketFacts) -> RuleInputs:
    """Live inputs completed by the server's own packet: node OS, its connection tests, bot counts."""
    packet_nodes = {n.hostname: n for n in _nodes(packet) or ()}
    nodes = inputs.nodes
    if nodes.value:
        nodes = Fact(tuple(dataclasses.replace(n, os=packet_nodes[n.hostname].os) if n.hostname in packet_nodes
                           else n for n in nodes.value), f"{nodes.source}, diagnostics.yaml")
    elif not nodes.known and packet_nodes:
        nodes = Fact(tuple(packet_nodes.values()), "diagnostics.yaml")
    probes = {**_probes(packet), **(inputs.probes.value or {})}  # our own tests win over the packet's
    usage = inputs.usage
    if usage.value is not None:
        usage = Fact(dataclasses.replace(usage.value, bot_accounts=packet.stats.bot_accounts,
                                         single_channel_guests=packet.stats.single_channel_guests), usage.source)
    return dataclasses.replace(inputs, nodes=nodes, probes=Fact(probes, f"{inputs.probes.source}, diagnostics.yaml"),
                               usage=usage)


def from_live(snapshot: Snapshot) -> RuleInputs:
    """Rule inputs from a live collection, completed by the server's support packet when it was read."""
    inputs = from_snapshot(snapshot)
    packet = snapshot.data("support_packet")
    return with_packet(inputs, packet) if isinstance(packet, PacketFacts) else inputs
