"""The scenario model: plain frozen dataclasses, so tests can compare what the API answers with the numbers
the scenario was built from, without going through HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Plugin states as reported by GET /plugins/statuses (model.PluginState*).
PLUGIN_NOT_RUNNING = 0
PLUGIN_STARTING = 1
PLUGIN_RUNNING = 2
PLUGIN_FAILED_TO_START = 3
PLUGIN_FAILED_TO_STAY_RUNNING = 4
PLUGIN_STOPPING = 5

JOB_STATUSES = ("pending", "in_progress", "success", "error", "cancel_requested", "canceled", "warning")

ROLE_SYSTEM_ADMIN = "system_admin system_user"
ROLE_SYSTEM_USER = "system_user"


@dataclass(frozen=True)
class Build:
    """What the server binary reports about itself (client config, X-Version-ID, cluster status)."""

    version: str
    build_number: str
    build_date: str
    build_hash: str
    build_hash_enterprise: str
    enterprise_ready: bool
    schema_version: str  # highest row of db_migrations


@dataclass(frozen=True)
class License:
    id: str
    sku_name: str
    sku_short_name: str
    users: int
    issued_at: int  # epoch ms
    starts_at: int
    expires_at: int
    customer_name: str
    customer_email: str
    company: str
    is_trial: bool
    is_gov_sku: bool
    features: dict[str, bool]


@dataclass(frozen=True)
class ClusterNode:
    id: str
    hostname: str
    ipaddress: str
    version: str
    schema_version: str
    config_hash: str


@dataclass(frozen=True)
class PluginSetting:
    key: str
    display_name: str
    type: str  # text, bool, dropdown, custom, ...
    default: Any = None
    secret: bool = False


@dataclass(frozen=True)
class Plugin:
    """A plugin manifest plus whether it is enabled (PluginSettings.PluginStates)."""

    id: str
    name: str
    description: str
    version: str
    min_server_version: str
    homepage_url: str
    support_url: str
    has_server: bool
    has_webapp: bool
    enabled: bool
    settings: tuple[PluginSetting, ...] = ()
    # Values stored in PluginSettings.Plugins[id]; keys lower-case as Mattermost stores them.
    config_values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PluginNodeStatus:
    plugin_id: str
    node_id: str
    state: int
    error: str = ""


@dataclass(frozen=True)
class Job:
    id: str
    type: str
    priority: int
    create_at: int
    start_at: int
    last_activity_at: int
    status: str
    progress: int
    data: dict[str, str]


@dataclass(frozen=True)
class Team:
    id: str
    name: str
    display_name: str
    description: str
    email: str
    type: str  # "O" open, "I" invite only
    invite_id: str
    allow_open_invite: bool
    create_at: int
    update_at: int
    member_count: int
    open_channels: int
    private_channels: int
    post_count: int


@dataclass(frozen=True)
class Account:
    """A real, loggable-in user; the rest of the user base exists only as counts."""

    id: str
    username: str
    email: str
    first_name: str
    last_name: str
    nickname: str
    position: str
    roles: str
    create_at: int
    update_at: int
    last_password_update: int

    @property
    def is_admin(self) -> bool:
        return "system_admin" in self.roles.split()


@dataclass(frozen=True)
class DayCount:
    day: str  # YYYY-MM-DD
    value: int


@dataclass(frozen=True)
class Usage:
    """Counts behind /users/stats and /analytics/old."""

    active_users: int  # not deleted, not bots
    inactive_users: int  # deactivated, not bots
    daily_active_users: int
    monthly_active_users: int
    websocket_connections: int
    master_db_connections: int
    read_db_connections: int
    total_posts: int
    incoming_webhooks: int
    outgoing_webhooks: int
    commands: int
    sessions: int
    file_count: int
    file_size_bytes: int
    single_channel_guests: int
    posts_per_day: tuple[DayCount, ...]  # newest first
    bot_posts_per_day: tuple[DayCount, ...]
    posters_per_day: tuple[DayCount, ...]


@dataclass(frozen=True)
class Health:
    """What /system/ping measures."""

    goroutines_ok: bool
    database_ok: bool
    filestore_ok: bool
    running_as_root: bool
    active_search_backend: str


@dataclass(frozen=True)
class Settings:
    """Scenario-specific knobs of the server config; everything else is a realistic constant."""

    site_url: str
    site_name: str
    log_level: str
    plugins_enabled: bool
    file_driver: str  # amazons3 | local
    ldap_enabled: bool
    ldap_skip_cert_verification: bool
    saml_enabled: bool
    elasticsearch_url: str
    show_email_address: bool
    max_users_for_statistics: int
    max_open_conns: int
    data_source_replicas: int
    audit_log_file: bool  # ExperimentalAuditSettings.FileEnabled
    developer_mode: bool  # a development server: developer and testing mode, plugin uploads, a mail catcher


@dataclass(frozen=True)
class Scenario:
    name: str
    now_ms: int  # the wall clock the relative dates were computed from
    diagnostic_id: str
    installation_date: int
    build: Build
    license: License | None
    settings: Settings
    health: Health
    nodes: tuple[ClusterNode, ...]
    plugins: tuple[Plugin, ...]
    plugin_statuses: tuple[PluginNodeStatus, ...]
    jobs: tuple[Job, ...]  # newest first
    teams: tuple[Team, ...]
    accounts: tuple[Account, ...]
    usage: Usage

    @property
    def admin(self) -> Account:
        return next(a for a in self.accounts if a.is_admin)

    @property
    def user(self) -> Account:
        return next(a for a in self.accounts if not a.is_admin)

    @property
    def bot_accounts(self) -> int:
        """The server's own system-bot, and one bot per enabled plugin with a server part."""
        return 1 + sum(1 for p in self.plugins if p.enabled and p.has_server)

    @property
    def open_channels(self) -> int:
        return sum(t.open_channels for t in self.teams)

    @property
    def private_channels(self) -> int:
        return sum(t.private_channels for t in self.teams)
