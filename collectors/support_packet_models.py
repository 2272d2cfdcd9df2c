"""Typed facts read from a Mattermost support packet, and the parsers that build them from its members.

The parsers take what YAML's base loader gives (every scalar a string, so "15.10" stays "15.10") or what JSON
gives, and never raise for a value of the wrong type or a missing field: the fact becomes None. Field names
follow the server's model.SupportPacket* types; older spellings (the v11 "erorr", the legacy job keys) are
read too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

PacketFormat = Literal["current", "legacy"]
# jobs.yaml keys of the current packet and support_packet.yaml keys of the legacy one, by job type.
JOB_LIST_KEYS = {
    "ldap_sync_jobs": "ldap_sync",
    "data_retention_jobs": "data_retention",
    "message_export_jobs": "message_export",
    "elastic_post_indexing_jobs": "elasticsearch_post_indexing",
    "elastic_post_aggregation_jobs": "elasticsearch_post_aggregation",
    "bleve_post_indexin_jobs": "bleve_post_indexing",  # sic, as legacy servers spell it
    "bleve_post_indexing_jobs": "bleve_post_indexing",
    "migration_jobs": "migrations",
    "compliance_jobs": "compliance",
}
_NULLS = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE", "yes", "on", "1"}
_FALSE = {"false", "False", "FALSE", "no", "off", "0"}


@dataclass(frozen=True)
class ServerFacts:
    version: str | None = None
    build_hash: str | None = None
    os: str | None = None
    architecture: str | None = None
    hostname: str | None = None
    cpu_cores: int | None = None
    total_memory_mb: int | None = None
    go_version: str | None = None
    installation_type: str | None = None
    started_at: datetime | None = None
    host_started_at: datetime | None = None
    process_id: int | None = None
    open_file_descriptors: int | None = None  # v12: this process's open FDs
    max_file_descriptors: int | None = None  # v12: its limit (ulimit -n)
    container_cpu_limit: float | None = None  # v12: cores the container may use
    container_memory_limit_mb: int | None = None
    goroutines: int | None = None  # counted from the node's goroutine dump (the "goroutines" member)


@dataclass(frozen=True)
class PacketLicense:
    company: str | None = None
    users: int | None = None
    sku_short_name: str | None = None
    is_trial: bool = False
    is_gov_sku: bool = False
    is_non_production: bool = False
    is_cloud: bool = False
    issued_at: datetime | None = None
    starts_at: datetime | None = None
    expires_at: datetime | None = None  # v12 (epoch ms in diagnostics.yaml)
    is_seat_count_enforced: bool | None = None
    extra_users: int | None = None


@dataclass(frozen=True)
class DatabaseFacts:
    type: str | None = None
    version: str | None = None
    schema_version: str | None = None
    master_connections: int | None = None  # open connections (in the packet's top level: all nodes together)
    replica_connections: int | None = None
    search_connections: int | None = None
    configured_replicas: int | None = None  # SqlSettings.DataSourceReplicas in the sanitized config
    configured_search_replicas: int | None = None
    max_open_conns: int | None = None
    # v12 pool and PostgreSQL statistics of this node's view (None when the server did not write them).
    master_connections_in_use: int | None = None
    master_connections_idle: int | None = None
    master_pool_wait_count: int | None = None
    master_pool_wait_duration_ms: int | None = None
    master_connections_closed_max_idle: int | None = None
    master_connections_closed_max_lifetime: int | None = None
    replica_connections_in_use: int | None = None
    replica_connections_idle: int | None = None
    replica_pool_wait_count: int | None = None
    replica_pool_wait_duration_ms: int | None = None
    replica_connections_closed_max_idle: int | None = None
    replica_connections_closed_max_lifetime: int | None = None
    cache_hit_ratio: float | None = None
    deadlocks: int | None = None
    temp_files: int | None = None
    temp_bytes_mb: int | None = None
    rollbacks: int | None = None
    idle_in_transaction_count: int | None = None
    longest_query_duration_seconds: float | None = None
    waiting_for_lock_count: int | None = None
    posts_dead_tuples: int | None = None
    posts_last_autovacuum: datetime | None = None


@dataclass(frozen=True)
class FileStoreFacts:
    driver: str | None = None
    status: str | None = None  # OK | FAIL
    error: str | None = None
    filesystem_type: str | None = None  # v12, local driver only
    total_mb: int | None = None
    available_mb: int | None = None


@dataclass(frozen=True)
class ProbeFacts:
    """A v12 connection test of the server's own (SMTP, push proxy, SAML metadata, OAuth providers)."""

    status: str  # OK | FAIL | disabled (the OAuth probes write lower case)
    error: str | None = None


@dataclass(frozen=True)
class LdapFacts:
    status: str | None = None  # OK | FAIL (legacy packets only name the vendor when the test passed)
    vendor: str | None = None
    version: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class ElasticsearchFacts:
    backend: str | None = None
    version: str | None = None
    plugins: tuple[str, ...] = ()
    error: str | None = None
    status: str | None = None  # v12: OK | FAIL


@dataclass(frozen=True)
class LogExcerpt:
    path: str  # member name in the zip, e.g. app-1/mattermost.log
    line_count: int
    error_lines: int  # level error, fatal, critical or panic
    warn_lines: int
    first_lines: tuple[str, ...]
    last_lines: tuple[str, ...]
    invalid_utf8_lines: int = 0  # lines with bytes that are not UTF-8, shown with U+FFFD
    complete: bool = True  # False when the zip ended inside this member


@dataclass(frozen=True)
class NodeFacts:
    """One server process: its diagnostics.yaml (and, in a cluster, the directory named after its host)."""

    name: str  # the directory in the zip ("" for a standalone packet)
    server: ServerFacts = field(default_factory=ServerFacts)
    database: DatabaseFacts = field(default_factory=DatabaseFacts)
    file_store: FileStoreFacts = field(default_factory=FileStoreFacts)
    ldap: LdapFacts | None = None
    elasticsearch: ElasticsearchFacts | None = None
    websocket_connections: int | None = None
    saml_provider: str | None = None
    config_store: str | None = None
    diagnostics_version: int | None = None
    license: PacketLicense | None = None
    cluster_id: str | None = None
    number_of_nodes: int | None = None  # as this node reported it
    is_leader: bool | None = None  # v12; None when the node did not say
    probes: dict[str, ProbeFacts] = field(default_factory=dict)  # email, push, saml, oauth_<provider>
    config_hash: str | None = None  # sha256 of this node's sanitized_config.json, to compare nodes
    config_differs: tuple[str, ...] = ()  # settings (dotted paths) that differ from the leader's configuration


@dataclass(frozen=True)
class ClusterFacts:
    id: str | None = None
    number_of_nodes: int | None = None  # as the leader reported it; 0 when it runs without a cluster
    nodes: tuple[NodeFacts, ...] = ()
    leader: str | None = None  # the node whose config and licence are the cluster's
    leader_reason: str | None = None  # how the leader was chosen


@dataclass(frozen=True)
class PacketStats:
    registered_users: int | None = None
    active_users: int | None = None
    deactivated_users: int | None = None
    guests: int | None = None
    single_channel_guests: int | None = None
    bot_accounts: int | None = None
    daily_active_users: int | None = None
    monthly_active_users: int | None = None
    posts: int | None = None
    channels: int | None = None
    teams: int | None = None
    slash_commands: int | None = None
    incoming_webhooks: int | None = None
    outgoing_webhooks: int | None = None
    websocket_connections: int | None = None  # all nodes together


@dataclass(frozen=True)
class PacketJob:
    id: str
    type: str
    status: str | None
    progress: int | None
    created_at: datetime | None
    started_at: datetime | None
    last_activity_at: datetime | None
    error: str | None


@dataclass(frozen=True)
class PacketPlugin:
    id: str
    name: str | None
    version: str | None
    enabled: bool  # in plugins.json's "enabled" list: the server lists a plugin there only while it runs
    enabled_in_config: bool | None = None  # PluginSettings.PluginStates.<id>.Enable; None when not set


@dataclass(frozen=True)
class PacketFacts:
    format: PacketFormat
    generated_at: datetime | None = None
    server_id: str | None = None
    server: ServerFacts = field(default_factory=ServerFacts)  # the first node's
    license: PacketLicense | None = None
    database: DatabaseFacts = field(default_factory=DatabaseFacts)
    file_store: FileStoreFacts = field(default_factory=FileStoreFacts)
    ldap: LdapFacts | None = None
    elasticsearch: ElasticsearchFacts | None = None
    cluster: ClusterFacts = field(default_factory=ClusterFacts)
    stats: PacketStats = field(default_factory=PacketStats)
    jobs: dict[str, tuple[PacketJob, ...]] = field(default_factory=dict)  # job type -> newest first
    plugins: tuple[PacketPlugin, ...] = ()
    plugin_diagnostics: dict[str, dict[str, Any]] = field(default_factory=dict)  # plugin id -> its diagnostics
    sanitized_config: dict[str, Any] = field(default_factory=dict)
    logs: tuple[LogExcerpt, ...] = ()
    warnings: tuple[str, ...] = ()  # warning.txt: what the server failed to put in the packet
    members: tuple[str, ...] = ()
    unreadable: dict[str, str] = field(default_factory=dict)  # member -> sentence saying what could not be read
    layout: str = ""  # legacy | v9-v11 | v12, and "HA, n nodes" when clustered
    uninterpreted: dict[str, tuple[str, ...]] = field(default_factory=dict)  # member -> fields we do not read
    uninterpreted_members: tuple[str, ...] = ()  # members no reader of ours looks at

    @property
    def missing(self) -> dict[str, str]:
        """The collector contract's name for facts that could not be read."""
        return self.unreadable

    @property
    def log(self) -> LogExcerpt | None:
        return next((lg for lg in self.logs if lg.path.endswith("mattermost.log")), None)


# ------------------------------------------------------------------------------------------ scalar readers

def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    value = str(value).strip()
    return None if value in _NULLS else value


def integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    raw = text(value)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        try:
            return int(float(raw))
        except (ValueError, OverflowError):
            return None


def flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    raw = text(value)
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    return None


def timestamp(value: Any) -> datetime | None:
    """RFC 3339 text (jobs.yaml, diagnostics.yaml) or epoch milliseconds (metadata.yaml, legacy jobs)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    raw = text(value)
    if raw is None:
        return None
    try:
        if raw.lstrip("-").isdigit():
            ms = int(raw)
            return datetime.fromtimestamp(ms / 1000, UTC) if ms > 0 else None
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None
    if parsed.year <= 1970:  # the zero time of a job that never started
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(s for s in (text(v) for v in value) if s is not None)


# --------------------------------------------------------------------------------------- member parsers

def real(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    raw = text(value)
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        return None


# The fields of model.SupportPacketDiagnostics, v1 to the newest (v12); anything else in a node's
# diagnostics.yaml is reported as uninterpreted, never dropped without a word. None: a free-form mapping.
_PROBE_FIELDS = {"status": None, "error": None, "erorr": None}
# v12's connection pool counters, per pool (database.<pool>_<counter> in diagnostics.yaml).
_POOL_COUNTS = tuple(f"{pool}_{stat}" for pool in ("master", "replica") for stat in (
    "connections_in_use", "connections_idle", "pool_wait_count", "pool_wait_duration_ms",
    "connections_closed_max_idle", "connections_closed_max_lifetime"))
DIAGNOSTICS_FIELDS: dict[str, Any] = {
    "version": None,
    "license": {k: None for k in ("company", "users", "sku_short_name", "is_trial", "is_gov_sku", "is_non_production",
                                  "is_cloud", "issued_at", "starts_at", "expires_at", "is_seat_count_enforced",
                                  "extra_users")},
    "server": {k: None for k in ("os", "architecture", "hostname", "version", "build_hash", "installation_type",
                                 "cpu_cores", "total_memory_mb", "process_id", "started_at", "host_started_at",
                                 "open_file_descriptors", "max_file_descriptors", "go_version",
                                 "container_cpu_limit", "container_memory_limit_mb")},
    "config": {"store_type": None},
    "database": {k: None for k in (
        "type", "version", "schema_version", "master_connections", "replica_connections", "search_connections",
        *_POOL_COUNTS,
        "cache_hit_ratio", "deadlocks", "temp_files", "temp_bytes_mb", "rollbacks", "idle_in_transaction_count",
        "longest_query_duration_seconds", "waiting_for_lock_count", "posts_dead_tuples", "posts_last_autovacuum")},
    "file_store": {k: None for k in ("file_status", "error", "erorr", "file_driver", "filesystem_type", "total_mb",
                                     "available_mb")},
    "websocket": {"connections": None},
    "cluster": {"id": None, "number_of_nodes": None, "is_leader": None},
    "notifications": {"email": _PROBE_FIELDS, "push": _PROBE_FIELDS},
    "ldap": {k: None for k in ("status", "error", "erorr", "server_name", "server_version")},
    "saml": {"provider_type": None, **_PROBE_FIELDS},
    "elastic": {k: None for k in ("backend", "server_version", "server_plugins", "status", "error")},
    "oauth_providers": {k: _PROBE_FIELDS for k in ("gitlab", "google", "office365", "openid")},
}


def uninterpreted_fields(raw: Any, schema: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths of the keys in `raw` that `schema` does not name."""
    found: list[str] = []
    for key, value in mapping(raw).items():
        path = f"{prefix}{key}"
        if key not in schema:
            found.append(path)
        elif isinstance(schema[key], dict) and isinstance(value, dict):
            found.extend(uninterpreted_fields(value, schema[key], path + "."))
    return found


def _probe(raw: Any) -> ProbeFacts | None:
    block = mapping(raw)
    status = text(block.get("status"))
    if status is None:
        return None
    return ProbeFacts(status=status, error=text(block.get("error")) or text(block.get("erorr")))


def _probes(d: dict[str, Any]) -> dict[str, ProbeFacts]:
    probes: dict[str, ProbeFacts] = {}
    notifications = mapping(d.get("notifications"))
    for name in ("email", "push"):
        if (probe := _probe(notifications.get(name))) is not None:
            probes[name] = probe
    if (probe := _probe(d.get("saml"))) is not None:
        probes["saml"] = probe
    for provider, block in mapping(d.get("oauth_providers")).items():
        if (probe := _probe(block)) is not None:
            probes[f"oauth_{provider}"] = probe
    return probes


def parse_diagnostics(raw: Any, name: str) -> NodeFacts:
    """diagnostics.yaml (model.SupportPacketDiagnostics, v1 and v2, with the v12 optional fields)."""
    d = mapping(raw)
    server, database, files = mapping(d.get("server")), mapping(d.get("database")), mapping(d.get("file_store"))
    cluster = mapping(d.get("cluster"))
    ldap_raw, elastic_raw = d.get("ldap"), d.get("elastic")
    ldap = None
    if isinstance(ldap_raw, dict) and text(ldap_raw.get("status")) not in (None, "disabled"):
        ldap = LdapFacts(status=text(ldap_raw.get("status")), vendor=text(ldap_raw.get("server_name")),
                         version=text(ldap_raw.get("server_version")),
                         error=text(ldap_raw.get("error")) or text(ldap_raw.get("erorr")))
    elastic = None
    if isinstance(elastic_raw, dict) and text(elastic_raw.get("status")) != "disabled":
        elastic = ElasticsearchFacts(backend=text(elastic_raw.get("backend")),
                                     version=text(elastic_raw.get("server_version")),
                                     plugins=strings(elastic_raw.get("server_plugins")),
                                     error=text(elastic_raw.get("error")), status=text(elastic_raw.get("status")))
    return NodeFacts(
        name=name,
        server=ServerFacts(
            version=text(server.get("version")),
            build_hash=text(server.get("build_hash")),
            os=text(server.get("os")),
            architecture=text(server.get("architecture")),
            hostname=text(server.get("hostname")),
            cpu_cores=integer(server.get("cpu_cores")),
            total_memory_mb=integer(server.get("total_memory_mb")),
            go_version=text(server.get("go_version")),
            installation_type=text(server.get("installation_type")),
            started_at=timestamp(server.get("started_at")),
            host_started_at=timestamp(server.get("host_started_at")),
            process_id=integer(server.get("process_id")),
            open_file_descriptors=integer(server.get("open_file_descriptors")),
            max_file_descriptors=integer(server.get("max_file_descriptors")),
            container_cpu_limit=real(server.get("container_cpu_limit")),
            container_memory_limit_mb=integer(server.get("container_memory_limit_mb")),
        ),
        database=DatabaseFacts(
            type=text(database.get("type")),
            version=text(database.get("version")),
            schema_version=text(database.get("schema_version")),
            master_connections=integer(database.get("master_connections")),
            replica_connections=integer(database.get("replica_connections")),
            search_connections=integer(database.get("search_connections")),
            **{name: integer(database.get(name)) for name in _POOL_COUNTS},
            cache_hit_ratio=real(database.get("cache_hit_ratio")),
            deadlocks=integer(database.get("deadlocks")),
            temp_files=integer(database.get("temp_files")),
            temp_bytes_mb=integer(database.get("temp_bytes_mb")),
            rollbacks=integer(database.get("rollbacks")),
            idle_in_transaction_count=integer(database.get("idle_in_transaction_count")),
            longest_query_duration_seconds=real(database.get("longest_query_duration_seconds")),
            waiting_for_lock_count=integer(database.get("waiting_for_lock_count")),
            posts_dead_tuples=integer(database.get("posts_dead_tuples")),
            posts_last_autovacuum=timestamp(database.get("posts_last_autovacuum")),
        ),
        file_store=FileStoreFacts(
            driver=text(files.get("file_driver")),
            status=text(files.get("file_status")),
            error=text(files.get("error")) or text(files.get("erorr")),  # "erorr" up to v11
            filesystem_type=text(files.get("filesystem_type")),
            total_mb=integer(files.get("total_mb")),
            available_mb=integer(files.get("available_mb")),
        ),
        ldap=ldap,
        elasticsearch=elastic,
        websocket_connections=integer(mapping(d.get("websocket")).get("connections")),
        saml_provider=text(mapping(d.get("saml")).get("provider_type")),
        config_store=text(mapping(d.get("config")).get("store_type")),
        diagnostics_version=integer(d.get("version")),
        license=parse_license(d.get("license")),
        cluster_id=text(cluster.get("id")),
        number_of_nodes=integer(cluster.get("number_of_nodes")),
        is_leader=flag(cluster.get("is_leader")),
        probes=_probes(d),
    )


def parse_license(raw: Any) -> PacketLicense | None:
    """The diagnostics' licence summary; an unlicensed server writes an empty one, which is no licence."""
    lic = mapping(raw)
    company, users, sku = text(lic.get("company")), integer(lic.get("users")), text(lic.get("sku_short_name"))
    if not (company or users or sku):
        return None
    return PacketLicense(company=company, users=users, sku_short_name=sku, is_trial=flag(lic.get("is_trial")) is True,
                         is_gov_sku=flag(lic.get("is_gov_sku")) is True,
                         is_non_production=flag(lic.get("is_non_production")) is True,
                         is_cloud=flag(lic.get("is_cloud")) is True, issued_at=timestamp(lic.get("issued_at")),
                         starts_at=timestamp(lic.get("starts_at")), expires_at=timestamp(lic.get("expires_at")),
                         is_seat_count_enforced=flag(lic.get("is_seat_count_enforced")),
                         extra_users=integer(lic.get("extra_users")))


def parse_stats(raw: Any, websocket_connections: int | None) -> PacketStats:
    s = mapping(raw)
    return PacketStats(
        registered_users=integer(s.get("registered_users")),
        active_users=integer(s.get("active_users")),
        deactivated_users=integer(s.get("deactivated_users")),
        guests=integer(s.get("guests")),
        single_channel_guests=integer(s.get("single_channel_guests")),
        bot_accounts=integer(s.get("bot_accounts")),
        daily_active_users=integer(s.get("daily_active_users")),
        monthly_active_users=integer(s.get("monthly_active_users")),
        posts=integer(s.get("posts")),
        channels=integer(s.get("channels")),
        teams=integer(s.get("teams")),
        slash_commands=integer(s.get("slash_commands")),
        incoming_webhooks=integer(s.get("incoming_webhooks")),
        outgoing_webhooks=integer(s.get("outgoing_webhooks")),
        websocket_connections=websocket_connections,
    )


def parse_job_lists(raw: Any) -> dict[str, tuple[PacketJob, ...]]:
    """Job lists by job type, from jobs.yaml or the job keys of support_packet.yaml. A key we do not know
    still counts when it ends in _jobs; the type then comes from the jobs themselves."""
    jobs: dict[str, tuple[PacketJob, ...]] = {}
    for key, runs in mapping(raw).items():
        if not str(key).endswith("_jobs") or not isinstance(runs, list):
            continue
        parsed = tuple(_job(run) for run in runs if isinstance(run, dict))
        job_type = JOB_LIST_KEYS.get(str(key)) or (parsed[0].type if parsed else str(key).removesuffix("_jobs"))
        jobs[job_type] = tuple(sorted(parsed, key=_newest_first))
    return jobs


def _newest_first(job: PacketJob) -> float:
    return -(job.created_at.timestamp() if job.created_at else 0.0)


def _job(raw: dict[str, Any]) -> PacketJob:
    def pick(*keys: str) -> Any:
        return next((raw[k] for k in keys if k in raw), None)

    data = mapping(raw.get("data"))
    return PacketJob(
        id=text(raw.get("id")) or "",
        type=text(raw.get("type")) or "",
        status=text(raw.get("status")),
        progress=integer(raw.get("progress")),
        # yaml.v3 lower-cased the Go field names before Job had its own MarshalYAML.
        created_at=timestamp(pick("create_at", "createat")),
        started_at=timestamp(pick("start_at", "startat")),
        last_activity_at=timestamp(pick("last_activity_at", "lastactivityat")),
        error=text(data.get("error")),
    )


def parse_plugins(raw: Any) -> tuple[PacketPlugin, ...]:
    """plugins.json: {"enabled", "disabled"} in current packets, the API's {"active", "inactive"} before."""
    listing = mapping(raw)
    plugins = []
    for enabled, keys in ((True, ("enabled", "active")), (False, ("disabled", "inactive"))):
        for key in keys:
            for manifest in listing.get(key) or []:
                if not isinstance(manifest, dict) or text(manifest.get("id")) is None:
                    continue
                plugins.append(PacketPlugin(id=text(manifest.get("id")) or "", name=text(manifest.get("name")),
                                            version=text(manifest.get("version")), enabled=enabled))
    return tuple(sorted(plugins, key=lambda p: (not p.enabled, p.id)))


def parse_legacy(raw: Any) -> tuple[NodeFacts, PacketLicense | None, PacketStats, str | None]:
    """support_packet.yaml (model.SupportPacket, servers 5.32 to 9.10): one flat mapping for the whole
    deployment, its connection counts already summed over the cluster."""
    d = mapping(raw)
    vendor = text(d.get("ldap_vendor_name"))
    ldap = LdapFacts(status="OK", vendor=vendor, version=text(d.get("ldap_vendor_version"))) if vendor else None
    elastic_version = text(d.get("elastic_server_version"))
    node = NodeFacts(
        name="",
        server=ServerFacts(version=text(d.get("server_version")), build_hash=text(d.get("build_hash")),
                           os=text(d.get("server_os")), architecture=text(d.get("server_architecture"))),
        database=DatabaseFacts(type=text(d.get("database_type")), version=text(d.get("database_version")),
                               schema_version=text(d.get("database_schema_version")),
                               master_connections=integer(d.get("master_db_connections")),
                               replica_connections=integer(d.get("read_db_connections"))),
        file_store=FileStoreFacts(driver=text(d.get("file_driver")), status=text(d.get("file_status"))),
        ldap=ldap,
        elasticsearch=ElasticsearchFacts(version=elastic_version, plugins=strings(d.get("elastic_server_plugins")))
        if elastic_version else None,
        websocket_connections=integer(d.get("websocket_connections")),
    )
    company = text(d.get("license_to"))
    license_info = PacketLicense(company=company, users=integer(d.get("license_supported_users")),
                                 is_trial=flag(d.get("license_is_trial")) is True) if company else None
    active, inactive = integer(d.get("active_users")), integer(d.get("inactive_user_count"))
    stats = PacketStats(
        registered_users=active + inactive if active is not None and inactive is not None else None,
        active_users=active,
        deactivated_users=inactive,
        daily_active_users=integer(d.get("daily_active_users")),
        monthly_active_users=integer(d.get("monthly_active_users")),
        posts=integer(d.get("total_posts")),
        channels=integer(d.get("total_channels")),
        teams=integer(d.get("total_teams")),
        websocket_connections=node.websocket_connections,
    )
    return node, license_info, stats, text(d.get("cluster_id"))
