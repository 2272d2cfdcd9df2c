"""High availability: nodes, gossip, caching, configuration and rate limiting."""

from __future__ import annotations

import ipaddress

from health.findings import Severity
from health.inputs import RuleInputs
from health.rules import docs
from health.rules.base import Check, MissingInput, check, need, not_applicable, number, rule, setting

AREA = "Cluster"


def _ha(inputs: RuleInputs) -> dict | None:
    cluster = setting(need(inputs.config), "ClusterSettings")
    return cluster if cluster.get("Enable") and cluster.get("ClusterName") else None


OFF = "high availability is off"


@rule("CLUSTER_GOSSIP_UNENCRYPTED", area=AREA, severity=Severity.WARNING, title="Cluster gossip is not encrypted",
      remediation="Enable ClusterSettings.EnableExperimentalGossipEncryption so nodes' traffic is encrypted.",
      docs=docs.HIGH_AVAILABILITY)
def gossip(inputs: RuleInputs) -> Check:
    cluster = _ha(inputs)
    if cluster is None:
        return not_applicable(OFF)
    value = cluster.get("EnableExperimentalGossipEncryption", cluster.get("EnableGossipEncryption"))
    if value is None:
        raise MissingInput("the configuration has no gossip encryption setting")
    return check(not value, f"gossip encryption {'on' if value else 'off'}", "on")


@rule("CLUSTER_SINGLE_NODE", area=AREA, severity=Severity.CRITICAL, title="Clustering is on but only one node is up",
      remediation="Bring the other nodes back (a node missing from the cluster status is unhealthy), or turn "
                  "clustering off for a single-node deployment.", docs=docs.HIGH_AVAILABILITY)
def single_node(inputs: RuleInputs) -> Check:
    cluster = _ha(inputs)
    if cluster is None:
        return not_applicable(OFF)
    if inputs.cluster_size.known:  # the leader's own count, as upstream's rule reads it
        size = need(inputs.cluster_size)
        return check(size < 2, f"the leader counts {size} node(s)", "2 or more nodes")
    nodes = need(inputs.nodes)
    return check(len(nodes) < 2, f"{len(nodes)} node(s) reporting", "2 or more nodes")


@rule("CLUSTER_NODE_MISSING", area=AREA, severity=Severity.CRITICAL, title="A cluster node is missing or unreadable",
      remediation="Check the missing node (service status, its log, network to the other nodes); a node that "
                  "left the cluster serves stale data to its users. Then make a new support packet.",
      docs=docs.HIGH_AVAILABILITY)
def node_missing(inputs: RuleInputs) -> Check:
    if inputs.config.known and _ha(inputs) is None:
        return not_applicable(OFF)  # a single server has no node to miss
    size = need(inputs.cluster_size)
    nodes = need(inputs.nodes)
    unreadable = [n.hostname for n in nodes if not n.readable]
    present = len(nodes) - len(unreadable)
    observed = f"{present} of {size} node(s) described" + (
        f"; unreadable: {', '.join(unreadable)}" if unreadable else "")
    return check(present < size or bool(unreadable), observed, f"all {size} nodes")


@rule("CLUSTER_CONFIG_MISMATCH", area=AREA, severity=Severity.WARNING,
      title="Cluster nodes run with different configurations",
      remediation="Keep one configuration for the cluster (store it in the database); a node with its own "
                  "settings behaves differently from the others. Compare the settings named and align them.",
      docs=docs.HIGH_AVAILABILITY)
def config_mismatch(inputs: RuleInputs) -> list[Check]:
    nodes = need(inputs.nodes)
    hashed = [n for n in nodes if n.config_hash]
    if len(nodes) < 2:
        return [not_applicable("fewer than two nodes")]
    if len(hashed) < 2:
        raise MissingInput("the nodes' configuration hashes were not reported")
    leader = next((n for n in hashed if n.is_leader), None)
    reference = leader.config_hash if leader else max(
        {n.config_hash for n in hashed}, key=lambda h: sum(n.config_hash == h for n in hashed))
    checks = []
    for n in hashed:
        differs = n.config_hash != reference
        detail = ""
        if differs and n.config_differs:
            shown = ", ".join(n.config_differs[:5])
            more = len(n.config_differs) - 5
            detail = f": {shown}" + (f" and {more} more" if more > 0 else "")
        observed = f"configuration hash {n.config_hash}" + (f" differs{detail}" if differs else "")
        checks.append(check(differs, observed, f"{reference} like the {'leader' if leader else 'other nodes'}",
                            subject=n.hostname))
    return checks


@rule("CLUSTER_BAD_ADVERTISE", area=AREA, severity=Severity.CRITICAL,
      title="A cluster node advertises a loopback or unspecified address",
      remediation="Set ClusterSettings.AdvertiseAddress to an address the other nodes can reach, or leave it empty.",
      docs=docs.HIGH_AVAILABILITY)
def advertise(inputs: RuleInputs) -> Check:
    cluster = _ha(inputs)
    if cluster is None:
        return not_applicable(OFF)
    address = str(cluster.get("AdvertiseAddress") or "")
    if not address:
        return check(False, "AdvertiseAddress empty (detected automatically)", "a reachable address")
    try:
        ip = ipaddress.ip_address(address.split(":")[0])
        bad = ip.is_loopback or ip.is_unspecified
    except ValueError:
        bad = address.split(":")[0] == "localhost"
    return check(bad, f"AdvertiseAddress = {address}", "a reachable address")


@rule("CLUSTER_VERSION_SKEW", area=AREA, severity=Severity.WARNING, title="Cluster nodes run different versions",
      remediation="Finish the rolling upgrade: every node should run the same version.", docs=docs.HIGH_AVAILABILITY)
def version_skew(inputs: RuleInputs) -> list[Check]:
    nodes = need(inputs.nodes)
    versions = {n.version for n in nodes if n.version}
    if len(nodes) < 2:
        return [not_applicable("fewer than two nodes")]
    newest = max(versions, key=lambda v: tuple(int(p) for p in v.split(".") if p.isdigit()))
    # Same version, different builds: a hand-patched or half-replaced binary; the leader's build is the reference.
    at_newest = [n for n in nodes if n.version == newest and n.build_hash]
    leader = next((n for n in at_newest if n.is_leader), None)
    reference = leader.build_hash if leader else (
        max({n.build_hash for n in at_newest}, key=lambda b: sum(n.build_hash == b for n in at_newest))
        if at_newest else None)
    checks = []
    for n in nodes:
        other_build = n.version == newest and n.build_hash is not None and n.build_hash != reference
        observed = f"runs {n.version}" + (f" (build {n.build_hash[:12]})" if other_build else "")
        threshold = f"{newest} like the newest node" + (f", build {reference[:12]}" if other_build else "")
        checks.append(check(n.version != newest or other_build, observed, threshold, subject=n.hostname))
    return checks


@rule("CLUSTER_LRU_CACHE", area=AREA, severity=Severity.INFO, title="A large cluster uses the in-memory cache",
      remediation="From about 100,000 users, use Redis (CacheSettings.CacheType = redis) so nodes share one cache.",
      docs=docs.SCALING)
def lru_cache(inputs: RuleInputs) -> Check:
    if _ha(inputs) is None:
        return not_applicable(OFF)
    cache = setting(need(inputs.config), "CacheSettings.CacheType")
    users = need(inputs.usage).registered_users
    if users is None:
        raise MissingInput("the number of registered users was not reported")
    return check(cache == "lru" and users >= 100_000, f"CacheType {cache} with {users:,} users",
                 "redis from 100,000 users")


@rule("CLUSTER_CONFIG_WRITABLE", area=AREA, severity=Severity.WARNING,
      title="A cluster keeps a writable configuration file on each node",
      remediation="Store the configuration in the database, or set ClusterSettings.ReadOnlyConfig to true.",
      docs=docs.HIGH_AVAILABILITY)
def config_writable(inputs: RuleInputs) -> Check:
    cluster = _ha(inputs)
    if cluster is None:
        return not_applicable(OFF)
    read_only = cluster.get("ReadOnlyConfig")
    return check(read_only is False, f"ReadOnlyConfig = {read_only}", "true, or configuration in the database")


@rule("RATELIMIT_OFF_LARGE", area=AREA, severity=Severity.WARNING, title="Rate limiting is off on a large deployment",
      remediation="Enable RateLimitSettings (or rate limit at the proxy) to protect the API from runaway clients.",
      docs=docs.ENVIRONMENT)
def ratelimit_off(inputs: RuleInputs) -> Check:
    enabled = setting(need(inputs.config), "RateLimitSettings.Enable")
    users = need(inputs.usage).registered_users
    if users is None:
        raise MissingInput("the number of registered users was not reported")
    return check(not enabled and users > 500, f"rate limiting {'on' if enabled else 'off'} with {users:,} users",
                 "on above 500 users")


@rule("RATELIMIT_STORE_SMALL", area=AREA, severity=Severity.INFO, title="The rate limiter's memory store is small",
      remediation="Raise RateLimitSettings.MemoryStoreSize to at least 10,000 entries.", docs=docs.ENVIRONMENT)
def ratelimit_store(inputs: RuleInputs) -> Check:
    size = number(setting(need(inputs.config), "RateLimitSettings.MemoryStoreSize"))
    if size is None:
        raise MissingInput("RateLimitSettings.MemoryStoreSize is not a number")
    return check(size < 10_000, f"MemoryStoreSize = {size:,}", "10,000 or more")
