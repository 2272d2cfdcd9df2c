"""What the rules read, in one shape whether it came from the live system or from a support packet.

Every input is a Fact: a value and where it came from, or the sentence saying why it is missing. Rules
never see a collector's raw answer, so the same rules run on live data and on an imported packet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from collectors.base import Snapshot, SourceStatus
from collectors.mattermost_models import Job, LicenseInfo, MattermostFacts, Plugin

T = TypeVar("T")


@dataclass(frozen=True)
class Fact(Generic[T]):
    value: T | None
    source: str  # the endpoint, file or query the value came from
    missing: str | None = None  # why there is no value

    @property
    def known(self) -> bool:
        return self.value is not None


def absent(source: str, why: str) -> Fact[Any]:
    return Fact(None, source, why)


@dataclass(frozen=True)
class Usage:
    registered_users: int | None = None
    active_users: int | None = None
    daily_active_users: int | None = None
    monthly_active_users: int | None = None
    posts: int | None = None
    channels: int | None = None
    teams: int | None = None
    incoming_webhooks: int | None = None
    outgoing_webhooks: int | None = None
    bot_accounts: int | None = None
    single_channel_guests: int | None = None
    websocket_connections: int | None = None
    master_db_connections: int | None = None
    replica_db_connections: int | None = None


@dataclass(frozen=True)
class Node:
    hostname: str
    id: str | None = None  # the cluster node id that plugin statuses refer to
    version: str | None = None
    os: str | None = None
    open_fds: int | None = None
    max_fds: int | None = None
    build_hash: str | None = None
    config_hash: str | None = None  # equal on two nodes exactly when their configurations are
    config_differs: tuple[str, ...] = ()  # settings that differ from the leader's (support packets only)
    is_leader: bool = False
    goroutines: int | None = None
    readable: bool = True  # False when the node's own facts could not be read (support packets)


@dataclass(frozen=True)
class Probe:
    """A connection test's outcome: OK, FAIL or disabled (Mattermost's diagnostics use the same words)."""

    status: str
    error: str | None = None


@dataclass(frozen=True)
class RuleInputs:
    origin: str  # "live" or "support packet"
    config: Fact[dict[str, Any]]
    license: Fact[LicenseInfo]
    version: Fact[str]
    latest_version: Fact[str]
    usage: Fact[Usage]
    nodes: Fact[tuple[Node, ...]]
    jobs: Fact[tuple[Job, ...]]
    plugins: Fact[tuple[Plugin, ...]]
    server_status: Fact[dict[str, Any]]  # status, database_status, filestore_status, root_status
    probes: Fact[dict[str, Probe]]  # ldap, saml, elastic, email, push, file_store
    database: Fact[Any] = field(default_factory=lambda: absent("database", "the database is not configured"))
    metrics: Fact[Any] = field(default_factory=lambda: absent("prometheus", "Prometheus is not configured"))
    ldap: Fact[Any] = field(default_factory=lambda: absent("ldap", "LDAP is not configured"))
    saml: Fact[Any] = field(default_factory=lambda: absent("saml", "SAML metadata is not configured"))
    search: Fact[Any] = field(default_factory=lambda: absent("elasticsearch", "Elasticsearch is not configured"))
    database_version: Fact[str] = field(default_factory=lambda: absent(
        "diagnostics.yaml", "only the database collector or a support packet reports the database version"))
    cluster_size: Fact[int] = field(default_factory=lambda: absent(
        "diagnostics.yaml", "only a support packet says how many nodes the cluster counts"))
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


API = "GET /api/v4"


def _mm_fact(facts: MattermostFacts, value: Any, source: str, fact_name: str) -> Fact[Any]:
    if value is None:
        return absent(source, facts.missing.get(fact_name, f"{fact_name} was not reported"))
    return Fact(value, source)


def _source_fact(snapshot: Snapshot, name: str, label: str) -> Fact[Any]:
    result = snapshot.sources.get(name)
    if result is None:
        return absent(label, f"{label} has not been read yet (slow facts are read in the background)")
    if result.data is None or result.status in (SourceStatus.ERROR, SourceStatus.NOT_CONFIGURED):
        return absent(label, result.error or f"{label} could not be read")
    return Fact(result.data, label)


def _live_usage(facts: MattermostFacts) -> Usage:
    counts = facts.counts
    return Usage(
        registered_users=counts.registered_users,
        active_users=counts.active_users,
        daily_active_users=counts.daily_active_users,
        monthly_active_users=counts.monthly_active_users,
        posts=counts.posts,
        channels=counts.channels,
        teams=counts.teams,
        incoming_webhooks=counts.incoming_webhooks,
        outgoing_webhooks=counts.outgoing_webhooks,
        websocket_connections=counts.websocket_connections,
        master_db_connections=counts.master_db_connections,
        replica_db_connections=counts.read_db_connections,
    )


def _live_probes(snapshot: Snapshot) -> dict[str, Probe]:
    """Our own connection tests stand in for Mattermost's diagnostics probes."""
    probes: dict[str, Probe] = {}
    for name, key in (("ldap", "ldap"), ("saml", "saml"), ("elasticsearch", "elastic")):
        result = snapshot.sources.get(name)
        if result is None or result.status is SourceStatus.NOT_CONFIGURED:
            continue
        ok = result.status in (SourceStatus.OK, SourceStatus.DEGRADED)
        probes[key] = Probe("OK" if ok else "FAIL", None if ok else result.error)
    return probes


def _other_sources(snapshot: Snapshot) -> dict[str, Any]:
    """The inputs that come from sources beside the Mattermost API, whatever the API answered."""
    return {
        "probes": Fact(_live_probes(snapshot), "the dashboard's own connection tests"),
        "database": _source_fact(snapshot, "database", "database"),
        "metrics": _source_fact(snapshot, "prometheus", "Prometheus"),
        "ldap": _source_fact(snapshot, "ldap", "LDAP"),
        "saml": _source_fact(snapshot, "saml", "SAML IdP metadata"),
        "search": _source_fact(snapshot, "elasticsearch", "Elasticsearch"),
        "now": snapshot.collected_at,
    }


def from_snapshot(snapshot: Snapshot) -> RuleInputs:
    """Rule inputs from a live collection."""
    mm_result = snapshot.sources.get("mattermost")
    facts: MattermostFacts | None = mm_result.data if mm_result is not None else None
    if facts is None:
        why = (mm_result.error if mm_result else None) or "the Mattermost API was not collected"
        missing = absent("Mattermost API", why)
        return RuleInputs(
            origin="live", config=missing, license=missing, version=missing, latest_version=missing,
            usage=missing, nodes=missing, jobs=missing, plugins=missing, server_status=missing,
            **_other_sources(snapshot),
        )
    server = facts.server
    nodes = tuple(Node(n.hostname, n.id, n.version, config_hash=n.config_hash or None)
                  for n in facts.cluster_nodes) if facts.cluster_nodes else None
    status = {"status": server.status, "database_status": server.database_status,
              "filestore_status": server.filestore_status, "root_status": server.running_as_root}
    return RuleInputs(
        origin="live",
        config=_mm_fact(facts, facts.config, f"{API}/config", "Configuration"),
        license=_mm_fact(facts, facts.license, f"{API}/license/client", "License"),
        version=_mm_fact(facts, server.version, f"{API}/config/client", "Version and site"),
        latest_version=_source_fact(snapshot, "latest_release", f"{API}/latest_version"),
        usage=Fact(_live_usage(facts), f"{API}/analytics/old"),
        nodes=Fact(nodes, f"{API}/cluster/status") if nodes is not None else _mm_fact(
            facts, None if "Cluster nodes" in facts.missing else (), f"{API}/cluster/status", "Cluster nodes"),
        jobs=_mm_fact(facts, None if "Recent jobs" in facts.missing else facts.jobs, f"{API}/jobs", "Recent jobs"),
        plugins=_mm_fact(facts, None if "Plugins" in facts.missing else facts.plugins,
                         f"{API}/plugins, {API}/plugins/statuses", "Plugins"),
        server_status=_mm_fact(facts, None if server.status is None else status,
                               f"{API}/system/ping?get_server_status=true", "Server status"),
        **_other_sources(snapshot),
    )

