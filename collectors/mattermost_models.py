"""Typed facts read from the Mattermost REST API, and the parsers that build them from raw JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

PLUGIN_STATES = {
    0: "not running",
    1: "starting",
    2: "running",
    3: "failed to start",
    4: "failed to stay running",
    5: "stopping",
}
# Feature flags of /license/client worth showing; the rest stay in `features` anyway.
LICENSE_FEATURES = (
    "LDAP", "LDAPGroups", "SAML", "Cluster", "Metrics", "Elasticsearch", "DataRetention",
    "MessageExport", "Compliance", "GuestAccounts", "SharedChannels", "MFA", "GoogleOAuth", "Office365OAuth",
    "OpenId", "CustomPermissionsSchemes", "Announcement", "ThemeManagement", "EmailNotificationContents",
)


@dataclass(frozen=True)
class ServerInfo:
    version: str | None
    build_number: str | None
    build_hash: str | None
    build_hash_enterprise: str | None
    build_date: str | None
    enterprise_ready: bool
    site_name: str | None
    site_url: str | None
    diagnostic_id: str | None
    schema_version: str | None
    status: str | None  # ping: OK / UNHEALTHY
    database_status: str | None
    filestore_status: str | None
    search_backend: str | None
    running_as_root: bool | None = None


@dataclass(frozen=True)
class LicenseInfo:
    is_licensed: bool
    sku_name: str | None = None
    sku_short_name: str | None = None
    seats: int | None = None
    licensee: str | None = None
    company: str | None = None
    email: str | None = None
    issued_at: datetime | None = None
    starts_at: datetime | None = None
    expires_at: datetime | None = None
    is_trial: bool = False
    is_gov_sku: bool = False
    features: dict[str, bool] = field(default_factory=dict)

    def days_left(self, now: datetime | None = None) -> int | None:
        if not self.is_licensed or self.expires_at is None:
            return None
        now = now or datetime.now(UTC)
        return (self.expires_at - now).days


@dataclass(frozen=True)
class Counts:
    # As Mattermost counts people (server/channels/app/analytics.go, support_packet.go), bots never included:
    registered_users: int | None = None  # every account, deactivated ones too (the packet's registered_users)
    active_users: int | None = None  # not deactivated: analytics unique_user_count, what the licence counts
    inactive_users: int | None = None  # deactivated: analytics inactive_user_count
    posts: int | None = None
    teams: int | None = None
    public_channels: int | None = None
    private_channels: int | None = None
    daily_active_users: int | None = None
    monthly_active_users: int | None = None
    websocket_connections: int | None = None
    master_db_connections: int | None = None
    read_db_connections: int | None = None
    sessions: int | None = None
    incoming_webhooks: int | None = None
    outgoing_webhooks: int | None = None
    slash_commands: int | None = None
    files: int | None = None
    file_storage_bytes: int | None = None

    @property
    def channels(self) -> int | None:
        if self.public_channels is None or self.private_channels is None:
            return None
        return self.public_channels + self.private_channels


@dataclass(frozen=True)
class DailyCount:
    day: date
    value: int


@dataclass(frozen=True)
class PluginNode:
    node_id: str
    state: str
    error: str | None


@dataclass(frozen=True)
class Plugin:
    id: str
    name: str
    version: str | None
    enabled: bool
    nodes: tuple[PluginNode, ...] = ()

    @property
    def healthy(self) -> bool:
        return not self.enabled or all(node.state == "running" for node in self.nodes)


@dataclass(frozen=True)
class ClusterNode:
    id: str
    hostname: str
    ip_address: str
    version: str
    schema_version: str
    config_hash: str


@dataclass(frozen=True)
class Job:
    id: str
    type: str
    status: str
    created_at: datetime | None
    started_at: datetime | None
    last_activity_at: datetime | None
    progress: int | None
    error: str | None


@dataclass(frozen=True)
class SignedInUser:
    id: str
    username: str
    email: str | None
    roles: tuple[str, ...]

    @property
    def is_system_admin(self) -> bool:
        return "system_admin" in self.roles


@dataclass(frozen=True)
class MattermostFacts:
    url: str
    server: ServerInfo
    license: LicenseInfo | None = None
    counts: Counts = field(default_factory=Counts)
    posts_per_day: tuple[DailyCount, ...] = ()
    active_users_per_day: tuple[DailyCount, ...] = ()
    plugins: tuple[Plugin, ...] = ()
    cluster_nodes: tuple[ClusterNode, ...] = ()
    jobs: tuple[Job, ...] = ()
    signed_in_as: SignedInUser | None = None
    config: dict[str, Any] | None = None  # sanitized by Mattermost: secrets arrive as a fixed mask
    missing: dict[str, str] = field(default_factory=dict)  # fact -> why it could not be read

    @property
    def edition(self) -> str:
        if not self.server.enterprise_ready:
            return "Team Edition"
        if self.license is not None and self.license.is_licensed:
            sku = self.license.sku_name or self.license.sku_short_name or "unnamed"
            return f"Enterprise Edition ({sku} license)"
        return "Enterprise Edition (unlicensed)"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _flag(value: Any) -> bool:
    return str(value).strip().lower() == "true"


def as_int(value: Any) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def epoch_ms(value: Any) -> datetime | None:
    number = as_int(value)
    if number is None or number <= 0:
        return None
    return datetime.fromtimestamp(number / 1000, UTC)


def parse_version_header(header: str | None) -> tuple[str | None, bool | None]:
    """X-Version-ID is `<version>.<build number>.<client config hash>.<licensed>`."""
    if not header:
        return None, None
    parts = header.split(".")
    if len(parts) < 6:
        return None, None
    return ".".join(parts[:3]), parts[-1].lower() == "true"


def parse_server(client_config: dict[str, Any], ping: dict[str, Any], version_header: str | None) -> ServerInfo:
    header_version, _ = parse_version_header(version_header)
    return ServerInfo(
        version=_text(client_config.get("Version")) or header_version,
        build_number=_text(client_config.get("BuildNumber")),
        build_hash=_text(client_config.get("BuildHash")),
        build_hash_enterprise=_text(client_config.get("BuildHashEnterprise")),
        build_date=_text(client_config.get("BuildDate")),
        enterprise_ready=_flag(client_config.get("BuildEnterpriseReady")),
        site_name=_text(client_config.get("SiteName")),
        site_url=_text(client_config.get("SiteURL")),
        diagnostic_id=_text(client_config.get("DiagnosticId") or client_config.get("TelemetryId")),
        schema_version=_text(client_config.get("SchemaVersion")),
        status=_text(ping.get("status")),
        database_status=_text(ping.get("database_status")),
        filestore_status=_text(ping.get("filestore_status")),
        search_backend=_text(ping.get("ActiveSearchBackend")),
        running_as_root=ping.get("root_status") if isinstance(ping.get("root_status"), bool) else None,
    )


def parse_license(raw: dict[str, Any]) -> LicenseInfo:
    if not _flag(raw.get("IsLicensed")):
        return LicenseInfo(is_licensed=False)
    features = {name: _flag(raw[name]) for name in LICENSE_FEATURES if name in raw}
    return LicenseInfo(
        is_licensed=True,
        sku_name=_text(raw.get("SkuName")),
        sku_short_name=_text(raw.get("SkuShortName")),
        seats=as_int(raw.get("Users")),
        licensee=_text(raw.get("Name")),
        company=_text(raw.get("Company")),
        email=_text(raw.get("Email")),
        issued_at=epoch_ms(raw.get("IssuedAt")),
        starts_at=epoch_ms(raw.get("StartsAt")),
        expires_at=epoch_ms(raw.get("ExpiresAt")),
        is_trial=_flag(raw.get("IsTrial")),
        is_gov_sku=_flag(raw.get("IsGovSku")),
        features=features,
    )


def analytics_rows(rows: Any) -> dict[str, float]:
    """Analytics rows change between versions, so match them by name, never by position."""
    if not isinstance(rows, list):
        raise ValueError("analytics answer is not a list of rows")
    return {str(row["name"]): row["value"] for row in rows if isinstance(row, dict) and "name" in row}


def parse_daily(rows: Any) -> tuple[DailyCount, ...] | None:
    """Daily analytics rows, oldest first; None when the server declined to compute them (value -1)."""
    if not isinstance(rows, list):
        raise ValueError("daily analytics answer is not a list of rows")
    if any(row.get("value") == -1 for row in rows):
        return None
    days = [DailyCount(date.fromisoformat(str(row["name"])), int(row["value"])) for row in rows if row.get("name")]
    return tuple(sorted(days, key=lambda d: d.day))


def parse_counts(
    standard: dict[str, float], extra: dict[str, float], accounts_with_bots: int | None
) -> Counts:
    """Counts from the analytics rows. `accounts_with_bots` (/users/stats, asked only when the analytics are
    refused) counts activated accounts and bots alike, so it stands in for the active users only then."""
    def pick(rows: dict[str, float], name: str) -> int | None:
        value = as_int(rows.get(name))
        return None if value is None or value < 0 else value

    active, inactive = pick(standard, "unique_user_count"), pick(standard, "inactive_user_count")
    return Counts(
        registered_users=active + inactive if active is not None and inactive is not None else None,
        active_users=active if active is not None else accounts_with_bots,
        inactive_users=inactive,
        posts=pick(standard, "post_count"),
        teams=pick(standard, "team_count"),
        public_channels=pick(standard, "channel_open_count"),
        private_channels=pick(standard, "channel_private_count"),
        daily_active_users=pick(standard, "daily_active_users"),
        monthly_active_users=pick(standard, "monthly_active_users"),
        websocket_connections=pick(standard, "total_websocket_connections"),
        master_db_connections=pick(standard, "total_master_db_connections"),
        read_db_connections=pick(standard, "total_read_db_connections"),
        sessions=pick(extra, "session_count"),
        incoming_webhooks=pick(extra, "incoming_webhook_count"),
        outgoing_webhooks=pick(extra, "outgoing_webhook_count"),
        slash_commands=pick(extra, "command_count"),
        files=pick(extra, "total_file_count"),
        file_storage_bytes=pick(extra, "total_file_size"),
    )


def parse_plugins(listing: dict[str, Any], statuses: list[dict[str, Any]] | None) -> tuple[Plugin, ...]:
    by_plugin: dict[str, list[PluginNode]] = {}
    for row in statuses or []:
        state = PLUGIN_STATES.get(as_int(row.get("state")) or 0, f"unknown state {row.get('state')}")
        by_plugin.setdefault(str(row.get("plugin_id")), []).append(
            PluginNode(str(row.get("cluster_id") or "this node"), state, _text(row.get("error")))
        )
    plugins = []
    for enabled, key in ((True, "active"), (False, "inactive")):
        for manifest in listing.get(key) or []:
            plugin_id = str(manifest.get("id"))
            plugins.append(
                Plugin(
                    id=plugin_id,
                    name=_text(manifest.get("name")) or plugin_id,
                    version=_text(manifest.get("version")),
                    enabled=enabled,
                    nodes=tuple(by_plugin.get(plugin_id, ())),
                )
            )
    return tuple(sorted(plugins, key=lambda p: (not p.enabled, p.name.lower())))


def parse_cluster(rows: list[dict[str, Any]]) -> tuple[ClusterNode, ...]:
    return tuple(
        ClusterNode(
            id=str(row.get("id", "")),
            hostname=str(row.get("hostname", "")),
            ip_address=str(row.get("ipaddress", "")),
            version=str(row.get("version", "")),
            schema_version=str(row.get("schema_version", "")),
            config_hash=str(row.get("config_hash", "")),
        )
        for row in rows
    )


def parse_jobs(rows: list[dict[str, Any]]) -> tuple[Job, ...]:
    jobs = []
    for row in rows:
        data = row.get("data") if isinstance(row.get("data"), dict) else {}
        jobs.append(
            Job(
                id=str(row.get("id", "")),
                type=str(row.get("type", "")),
                status=str(row.get("status", "")),
                created_at=epoch_ms(row.get("create_at")),
                started_at=epoch_ms(row.get("start_at")),
                last_activity_at=epoch_ms(row.get("last_activity_at")),
                progress=as_int(row.get("progress")),
                error=_text(data.get("error")),
            )
        )
    return tuple(jobs)


def parse_latest_version(raw: dict[str, Any]) -> str:
    tag = _text(raw.get("tag_name"))
    if not tag:
        raise ValueError("no tag_name in the latest release")
    return tag.removeprefix("v")


def parse_user(raw: dict[str, Any]) -> SignedInUser:
    return SignedInUser(
        id=str(raw.get("id", "")),
        username=str(raw.get("username", "")),
        email=_text(raw.get("email")),
        roles=tuple(str(raw.get("roles", "")).split()),
    )
