"""Deterministic deployments the simulator can play.

Every scenario draws from a random generator seeded with its name, so it holds the same users, teams, jobs
and numbers on every start; only dates move, because they are relative to the wall clock (a licence that
expires "in 9 days" keeps doing so, and the demo never goes stale).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from simulator import plugin_catalog
from simulator.ids import new_id
from simulator.model import (
    PLUGIN_FAILED_TO_START,
    PLUGIN_NOT_RUNNING,
    PLUGIN_RUNNING,
    ROLE_SYSTEM_ADMIN,
    ROLE_SYSTEM_USER,
    Account,
    Build,
    ClusterNode,
    DayCount,
    Health,
    Job,
    License,
    Plugin,
    PluginNodeStatus,
    Scenario,
    Settings,
    Team,
    Usage,
)

SCENARIOS = ("healthy", "degraded", "large", "development")
ADMIN_USERNAME = "sysadmin"  # every scenario's system admin, so the demo signs in as the same person everywhere

VERSION = "11.6.1"
SCHEMA_VERSION = "159"  # last migration of v11.6 (000159_deduplicate_policy_names)
MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
ANALYTICS_DAYS = 30

# Every Enterprise feature the client licence reports, in the order the server builds the map.
ENTERPRISE_FEATURES = (
    "LDAP", "LDAPGroups", "MFA", "SAML", "Cluster", "Metrics", "GoogleOAuth", "Office365OAuth", "OpenId",
    "Compliance", "MHPNS", "Announcement", "Elasticsearch", "DataRetention", "IDLoadedPushNotifications",
    "EmailNotificationContents", "MessageExport", "CustomPermissionsSchemes", "GuestAccounts",
    "GuestAccountsPermissions", "CustomTermsOfService", "LockTeammateNameDisplay", "Cloud", "SharedChannels",
    "RemoteClusterService", "OutgoingOAuthConnections",
)


def build_scenario(name: str, now_ms: int | None = None) -> Scenario:
    """The scenario called `name`, with dates relative to `now_ms` (default: the current time)."""
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; choose one of {', '.join(SCENARIOS)}")
    now = int(time.time() * 1000) if now_ms is None else now_ms
    return _BUILDERS[name](random.Random(f"mattermost-simulator/{name}"), now)


# ---------------------------------------------------------------------------------------------- helpers

def _hex(rng: random.Random, length: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(length))


def _go_date(ms: int) -> str:
    """`date -u` format, which is what Mattermost's build stamps into BuildDate."""
    dt = datetime.fromtimestamp(ms / 1000, UTC)
    return f"{dt:%a %b} {dt.day:>2} {dt:%H:%M:%S} UTC {dt:%Y}"


def _build(rng: random.Random, now: int, version: str = VERSION, age_days: int = 38) -> Build:
    return Build(
        version=version,
        build_number=version,  # release builds stamp the version as the build number
        build_date=_go_date(now - age_days * DAY_MS),
        build_hash=_hex(rng, 40),
        build_hash_enterprise=_hex(rng, 40),
        enterprise_ready=True,
        schema_version=SCHEMA_VERSION,
    )


def _license(rng: random.Random, now: int, *, users: int, started_days_ago: int, expires_in_days: int,
             company: str, contact: str, email: str, is_trial: bool = False) -> License:
    start = now - started_days_ago * DAY_MS
    return License(
        id=new_id(rng),
        sku_name="Enterprise",
        sku_short_name="enterprise",
        users=users,
        issued_at=start - 2 * DAY_MS,
        starts_at=start,
        expires_at=now + expires_in_days * DAY_MS,
        customer_name=contact,
        customer_email=email,
        company=company,
        is_trial=is_trial,
        is_gov_sku=False,
        features={f: f != "Cloud" for f in ENTERPRISE_FEATURES},
    )


def _split(total: int, weights: list[float]) -> list[int]:
    """Integers proportional to `weights` that add up to exactly `total`."""
    scale = sum(weights)
    parts = [int(total * w / scale) for w in weights]
    for i in range(total - sum(parts)):
        parts[i % len(parts)] += 1
    return parts


def _teams(rng: random.Random, now: int, names: list[tuple[str, str]], domain: str, *, members: int,
           open_channels: int, private_channels: int, posts: int) -> tuple[Team, ...]:
    weights = [rng.uniform(0.3, 3.0) for _ in names]
    member_counts = _split(members, weights)
    opens = _split(open_channels, weights)
    privates = _split(private_channels, weights)
    post_counts = _split(posts, [w * rng.uniform(0.6, 1.4) for w in weights])
    teams = []
    for i, (slug, display) in enumerate(names):
        created = now - rng.randint(90, 1400) * DAY_MS - rng.randint(0, DAY_MS)
        invite_only = rng.random() < 0.3
        teams.append(Team(
            id=new_id(rng),
            name=slug,
            display_name=display,
            description=f"Team space for {display}",
            email=f"{slug}-admins@{domain}",
            type="I" if invite_only else "O",
            invite_id=new_id(rng),
            allow_open_invite=not invite_only,
            create_at=created,
            update_at=created + rng.randint(0, 60) * DAY_MS,
            member_count=max(member_counts[i], 1),
            open_channels=max(opens[i], 1),
            private_channels=privates[i],
            post_count=post_counts[i],
        ))
    return tuple(teams)


def _accounts(rng: random.Random, now: int, domain: str, admin: tuple[str, str, str],
              people: list[tuple[str, str, str, str]]) -> tuple[Account, ...]:
    """The system admin (@sysadmin: first name, last name, position), then the plain users."""
    accounts = []
    for i, (username, first, last, position) in enumerate([(ADMIN_USERNAME, *admin), *people]):
        created = now - rng.randint(200, 1500) * DAY_MS
        accounts.append(Account(
            id=new_id(rng),
            username=username,
            email=f"{username}@{domain}",
            first_name=first,
            last_name=last,
            nickname="",
            position=position,
            roles=ROLE_SYSTEM_ADMIN if i == 0 else ROLE_SYSTEM_USER,
            create_at=created,
            update_at=created + rng.randint(1, 100) * DAY_MS,
            last_password_update=created + rng.randint(1, 100) * DAY_MS,
        ))
    return tuple(accounts)


def _daily(rng: random.Random, now: int, weekday_mean: float, weekend_factor: float = 0.3,
           jitter: float = 0.12) -> tuple[DayCount, ...]:
    """One row per UTC day for the last ANALYTICS_DAYS days, newest first (as the server orders them)."""
    today = datetime.fromtimestamp(now / 1000, UTC).date()
    rows = []
    for back in range(ANALYTICS_DAYS):
        day = today - timedelta(days=back)
        factor = weekend_factor if day.weekday() >= 5 else 1.0
        value = weekday_mean * factor * rng.uniform(1 - jitter, 1 + jitter)
        rows.append(DayCount(day.isoformat(), max(int(value), 0)))
    return tuple(rows)


def _nodes(rng: random.Random, count: int, host_prefix: str, subnet: str, *, versions: dict[int, str] | None = None,
           config_drift: set[int] | None = None) -> tuple[ClusterNode, ...]:
    config_hash = _hex(rng, 32)
    nodes = []
    for i in range(count):
        nodes.append(ClusterNode(
            id=new_id(rng),
            hostname=f"{host_prefix}-{i + 1}",
            ipaddress=f"{subnet}.{11 + i}",
            version=(versions or {}).get(i, VERSION),
            schema_version=SCHEMA_VERSION,
            config_hash=_hex(rng, 32) if i in (config_drift or set()) else config_hash,
        ))
    return tuple(nodes)


def _plugin_statuses(plugins: tuple[Plugin, ...], nodes: tuple[ClusterNode, ...],
                     failures: dict[tuple[str, int], str] | None = None) -> tuple[PluginNodeStatus, ...]:
    """One row per plugin per node; `failures` maps (plugin id, node index) to the error it failed with."""
    rows = []
    for n, node in enumerate(nodes):
        for plugin in plugins:
            error = (failures or {}).get((plugin.id, n))
            if error is not None:
                rows.append(PluginNodeStatus(plugin.id, node.id, PLUGIN_FAILED_TO_START, error))
            else:
                state = PLUGIN_RUNNING if plugin.enabled else PLUGIN_NOT_RUNNING
                rows.append(PluginNodeStatus(plugin.id, node.id, state))
    return tuple(rows)


@dataclass(frozen=True)
class _Recurring:
    """A scheduled job type: runs every `every_min` minutes and takes `runtime_s` seconds."""

    type: str
    every_min: int
    runtime_s: tuple[int, int]


@dataclass(frozen=True)
class _Override:
    """Replaces the outcome of the `runs` newest runs of a job type."""

    type: str
    runs: int
    status: str
    error: str = ""


@dataclass(frozen=True)
class _OneOff:
    type: str
    age_min: int
    status: str
    data: dict[str, str]


STANDARD_SCHEDULE = (
    _Recurring("ldap_sync", 60, (20, 240)),
    _Recurring("data_retention", 24 * 60, (30, 900)),
    _Recurring("message_export", 24 * 60, (60, 1800)),
    _Recurring("elasticsearch_post_aggregation", 24 * 60, (120, 2400)),
    _Recurring("refresh_materialized_views", 24 * 60, (5, 120)),
    _Recurring("active_users", 24 * 60, (1, 10)),
    _Recurring("product_notices", 24 * 60, (1, 5)),
    _Recurring("cleanup_desktop_tokens", 24 * 60, (1, 5)),
    _Recurring("mobile_session_metadata", 24 * 60, (2, 30)),
)


def _job(rng: random.Random, job_type: str, create_at: int, status: str, runtime_ms: int,
         data: dict[str, str]) -> Job:
    start_at = 0 if status == "pending" else create_at + rng.randint(200, 15_000)
    if status == "pending":
        last_activity, progress = create_at, 0
    elif status in ("in_progress", "cancel_requested"):
        last_activity, progress = start_at + runtime_ms // 2, rng.randint(10, 80)
    elif status == "success":
        last_activity, progress = start_at + runtime_ms, 100
    else:
        last_activity, progress = start_at + runtime_ms, rng.randint(0, 90)
    return Job(new_id(rng), job_type, 0, create_at, start_at, last_activity, status, progress, data)


def _jobs(rng: random.Random, now: int, window_days: int, schedule: tuple[_Recurring, ...],
          overrides: tuple[_Override, ...] = (), one_offs: tuple[_OneOff, ...] = ()) -> tuple[Job, ...]:
    jobs: list[Job] = []
    for rec in schedule:
        phase = rng.randint(1, rec.every_min) * MINUTE_MS
        runs = window_days * 24 * 60 // rec.every_min
        override = next((o for o in overrides if o.type == rec.type), None)
        for k in range(runs):
            create_at = now - phase - k * rec.every_min * MINUTE_MS + rng.randint(0, 999)
            runtime = rng.randint(*rec.runtime_s) * 1000
            status, data = "success", _success_data(rec.type, create_at)
            if override is not None and k < override.runs:
                status = override.status
                data = {"error": override.error} if override.error else {}
            jobs.append(_job(rng, rec.type, create_at, status, runtime, data))
    for one in one_offs:
        create_at = now - one.age_min * MINUTE_MS + rng.randint(0, 999)
        jobs.append(_job(rng, one.type, create_at, one.status, rng.randint(5, 600) * 1000, dict(one.data)))
    jobs.sort(key=lambda j: j.create_at, reverse=True)
    return tuple(jobs)


def _success_data(job_type: str, create_at: int) -> dict[str, str]:
    if job_type in ("elasticsearch_post_indexing", "elasticsearch_post_aggregation"):
        return {"start_time": str(create_at - DAY_MS), "end_time": str(create_at)}
    return {}


def _usage(rng: random.Random, now: int, *, active: int, inactive: int, dau: int, mau: int, posts: int,
           posts_per_weekday: int, nodes: int, replicas: int, files: int, avg_file_mb: float,
           webhooks: tuple[int, int, int]) -> Usage:
    return Usage(
        active_users=active,
        inactive_users=inactive,
        daily_active_users=dau,
        monthly_active_users=mau,
        websocket_connections=int(dau * rng.uniform(0.85, 0.95)),
        master_db_connections=nodes * rng.randint(18, 30),
        read_db_connections=nodes * replicas * rng.randint(10, 20),
        total_posts=posts,
        incoming_webhooks=webhooks[0],
        outgoing_webhooks=webhooks[1],
        commands=webhooks[2],
        sessions=int(active * rng.uniform(1.6, 2.1)),
        file_count=files,
        file_size_bytes=int(files * avg_file_mb * 1024 * 1024),
        single_channel_guests=0,
        posts_per_day=_daily(rng, now, posts_per_weekday),
        bot_posts_per_day=_daily(rng, now, posts_per_weekday * 0.04, weekend_factor=0.8),
        posters_per_day=_daily(rng, now, dau * 0.55, weekend_factor=0.15),
    )


def _settings(domain_site: str, site_name: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "site_url": f"https://{domain_site}",
        "site_name": site_name,
        "log_level": "INFO",
        "plugins_enabled": True,
        "file_driver": "amazons3",
        "ldap_enabled": True,
        "ldap_skip_cert_verification": False,
        "saml_enabled": False,
        "elasticsearch_url": "https://search.internal.example.com:9200",
        "show_email_address": True,
        "max_users_for_statistics": 2500,
        "max_open_conns": 300,
        "data_source_replicas": 1,
        "audit_log_file": True,
        "developer_mode": False,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


# -------------------------------------------------------------------------------------------- scenarios

HEALTHY_TEAMS = [
    ("engineering", "Engineering"), ("customer-support", "Customer Support"), ("sales", "Sales"),
    ("marketing", "Marketing"), ("it-operations", "IT Operations"), ("finance", "Finance"),
    ("people", "People & Culture"), ("leadership", "Leadership"),
]


def _healthy(rng: random.Random, now: int) -> Scenario:
    domain = "northwind.example"
    nodes = _nodes(rng, 2, "mm-app", "10.20.0")
    plugins = plugin_catalog.select(enabled={
        "com.mattermost.calls", "playbooks", "focalboard", "com.mattermost.nps", "jira",
        "github", "com.mattermost.plugin-channel-export", "mattermost-ai",
    })
    active = 1_187
    return Scenario(
        name="healthy",
        now_ms=now,
        diagnostic_id=new_id(rng),
        installation_date=now - 2 * 365 * DAY_MS,
        build=_build(rng, now),
        license=_license(rng, now, users=2_000, started_days_ago=125, expires_in_days=240,
                         company="Northwind Logistics", contact="Dana Whitfield", email=f"it-licensing@{domain}"),
        settings=_settings("chat.northwind.example", "Northwind Chat"),
        health=Health(goroutines_ok=True, database_ok=True, filestore_ok=True, running_as_root=False,
                      active_search_backend="elasticsearch"),
        nodes=nodes,
        plugins=plugins,
        plugin_statuses=_plugin_statuses(plugins, nodes),
        jobs=_jobs(rng, now, 3, STANDARD_SCHEDULE, one_offs=(
            _OneOff("elasticsearch_post_indexing", 6 * 24 * 60, "success",
                    {"start_time": str(now - 800 * DAY_MS), "end_time": str(now - 6 * DAY_MS)}),
            _OneOff("migrations", 37 * 24 * 60, "success", {"migration_key": "migration_advanced_permissions_phase_2"}),
        )),
        teams=_teams(rng, now, HEALTHY_TEAMS, domain, members=1_460, open_channels=318, private_channels=94,
                     posts=2_134_512),
        accounts=_accounts(rng, now, domain, ("Morgan", "Hale", "Platform Administrator"), [
            ("jamie.chen", "Jamie", "Chen", "Support Engineer"),
            ("priya.nair", "Priya", "Nair", "Product Manager"),
            ("lucas.martin", "Lucas", "Martin", "Sales Lead"),
        ]),
        usage=_usage(rng, now, active=active, inactive=46, dau=742, mau=1_103, posts=2_134_512,
                     posts_per_weekday=3_400, nodes=2, replicas=1, files=48_210, avg_file_mb=1.3,
                     webhooks=(14, 3, 9)),
    )


DEGRADED_TEAMS = [
    ("clinical-ops", "Clinical Operations"), ("it-service-desk", "IT Service Desk"), ("research", "Research"),
    ("facilities", "Facilities"), ("executive", "Executive Office"),
]

LDAP_TIMEOUT = 'LDAP Result Code 200 "Network Error": dial tcp 10.30.0.40:636: i/o timeout'
ES_CIRCUIT_BREAKER = (
    "EnterpriseElasticsearch.IndexBatch: Failed to index batch of posts: elastic: Error 429 (Too Many "
    "Requests): [parent] Data too large, data for [<http_request>] would be [1031797528/984mb], which is "
    "larger than the limit of [986061209/940.3mb] [type=circuit_breaking_exception]"
)
CALLS_PORT_IN_USE = (
    "failed to start plugin: rtc: failed to create UDP connection: listen udp4 :8443: bind: address already in use"
)


def _degraded(rng: random.Random, now: int) -> Scenario:
    domain = "contoso-health.example"
    # The third node missed the last upgrade and its config edit: an older version and a different hash.
    nodes = _nodes(rng, 3, "mm", "10.30.0", versions={2: "11.5.4"}, config_drift={2})
    plugins = plugin_catalog.select(enabled={
        "com.mattermost.calls", "playbooks", "focalboard", "jira",
        "com.mattermost.plugin-channel-export",
    }, installed={
        "com.mattermost.calls", "playbooks", "focalboard", "com.mattermost.nps", "jira",
        "com.mattermost.plugin-channel-export", "zoom",
    })
    return Scenario(
        name="degraded",
        now_ms=now,
        diagnostic_id=new_id(rng),
        installation_date=now - 3 * 365 * DAY_MS,
        build=_build(rng, now),
        license=_license(rng, now, users=500, started_days_ago=356, expires_in_days=9,
                         company="Contoso Health", contact="Ravi Patel", email=f"procurement@{domain}"),
        settings=_settings(
            "mattermost.contoso-health.example", "Contoso Health Chat",
            log_level="DEBUG",
            ldap_skip_cert_verification=True,
            # Credentials in the URL: Mattermost does not mask this field, the dashboard has to.
            elasticsearch_url="https://mmsearch:Winter2026!@search.contoso-health.example:9200",
            data_source_replicas=0,
            audit_log_file=False,
        ),
        health=Health(goroutines_ok=True, database_ok=True, filestore_ok=False, running_as_root=False,
                      active_search_backend="elasticsearch"),
        nodes=nodes,
        plugins=plugins,
        plugin_statuses=_plugin_statuses(plugins, nodes, failures={("com.mattermost.calls", 1): CALLS_PORT_IN_USE}),
        jobs=_jobs(
            rng, now, 3, STANDARD_SCHEDULE,
            overrides=(
                _Override("ldap_sync", 7, "error", LDAP_TIMEOUT),
                _Override("message_export", 1, "cancel_requested"),
                _Override("data_retention", 1, "pending"),
            ),
            one_offs=(
                _OneOff("elasticsearch_post_indexing", 95, "error", {
                    "error": ES_CIRCUIT_BREAKER, "start_time": str(now - 30 * DAY_MS),
                    "original_start_time": str(now - 30 * DAY_MS), "end_time": str(now)}),
                _OneOff("elasticsearch_post_indexing", 26 * 60, "error", {
                    "error": ES_CIRCUIT_BREAKER, "start_time": str(now - 31 * DAY_MS),
                    "original_start_time": str(now - 31 * DAY_MS), "end_time": str(now - DAY_MS)}),
                _OneOff("ldap_sync", 4, "in_progress", {}),
                _OneOff("export_process", 50 * 60, "canceled", {}),
            ),
        ),
        teams=_teams(rng, now, DEGRADED_TEAMS, domain, members=702, open_channels=121, private_channels=37,
                     posts=612_004),
        accounts=_accounts(rng, now, domain, ("Ravi", "Patel", "IT Manager"), [
            ("nurse.kim", "Soo-ah", "Kim", "Charge Nurse"),
            ("owen.brooks", "Owen", "Brooks", "Research Associate"),
        ]),
        usage=_usage(rng, now, active=563, inactive=12, dau=301, mau=540, posts=612_004,
                     posts_per_weekday=1_150, nodes=3, replicas=0, files=9_877, avg_file_mb=2.1,
                     webhooks=(6, 1, 2)),
    )


LARGE_DEPARTMENTS = ("engineering", "support", "sales", "operations", "finance", "legal", "research",
                     "manufacturing", "logistics", "security")
LARGE_REGIONS = ("amer", "emea", "apac")


def _large_team_names() -> list[tuple[str, str]]:
    names = []
    for i in range(10):
        for dept in LARGE_DEPARTMENTS:
            for region in LARGE_REGIONS:
                slug = f"{dept}-{region}-{i + 1:02d}"
                names.append((slug, f"{dept.title()} {region.upper()} {i + 1:02d}"))
    return names  # 300 teams


def _large(rng: random.Random, now: int) -> Scenario:
    domain = "globex.example"
    nodes = _nodes(rng, 5, "mattermost-app", "10.40.2")
    plugins = plugin_catalog.select(enabled={
        "com.mattermost.calls", "playbooks", "focalboard", "com.mattermost.nps", "jira",
        "github", "com.mattermost.plugin-channel-export", "mattermost-ai",
        "com.github.manland.mattermost-plugin-gitlab",
    })
    active = 251_340
    return Scenario(
        name="large",
        now_ms=now,
        diagnostic_id=new_id(rng),
        installation_date=now - 5 * 365 * DAY_MS,
        build=_build(rng, now),
        license=_license(rng, now, users=300_000, started_days_ago=200, expires_in_days=530,
                         company="Globex Corporation", contact="Tomasz Nowak", email=f"licensing@{domain}"),
        settings=_settings("chat.globex.example", "Globex Chat", saml_enabled=True, show_email_address=False,
                           max_open_conns=500, data_source_replicas=2),
        health=Health(goroutines_ok=True, database_ok=True, filestore_ok=True, running_as_root=False,
                      active_search_backend="elasticsearch"),
        nodes=nodes,
        plugins=plugins,
        plugin_statuses=_plugin_statuses(plugins, nodes),
        jobs=_jobs(rng, now, 30, STANDARD_SCHEDULE),
        teams=_teams(rng, now, _large_team_names(), domain, members=402_118, open_channels=38_402,
                     private_channels=21_751, posts=41_862_930),
        accounts=_accounts(rng, now, domain, ("Elena", "Vasquez", "Collaboration Platform Owner"), [
            ("a.nakamura", "Aiko", "Nakamura", "Field Engineer"),
            ("m.okafor", "Michael", "Okafor", "Logistics Planner"),
        ]),
        usage=_usage(rng, now, active=active, inactive=18_220, dau=148_310, mau=231_077, posts=41_862_930,
                     posts_per_weekday=96_500, nodes=5, replicas=2, files=9_204_551, avg_file_mb=1.8,
                     webhooks=(412, 57, 133)),
    )


DEVELOPMENT_TEAMS = [("platform-dev", "Platform Development"), ("qa", "QA"), ("integrations", "Integrations Lab"),
                     ("sandbox", "Sandbox")]


def _development(rng: random.Random, now: int) -> Scenario:
    """Northwind's development server: one node, a few dozen engineers and testers, an Enterprise trial, and
    the settings a development server has (debug logging, developer mode, plugin uploads, local files, a mail
    catcher, the test push proxy, no audit log or export)."""
    domain = "northwind.example"
    nodes = _nodes(rng, 1, "mm-dev", "10.20.9")
    plugins = plugin_catalog.select(enabled={
        "com.mattermost.calls", "playbooks", "jira", "github", "mattermost-ai",
    }, installed={
        "com.mattermost.calls", "playbooks", "focalboard", "jira", "github", "mattermost-ai", "zoom",
    })
    return Scenario(
        name="development",
        now_ms=now,
        diagnostic_id=new_id(rng),
        installation_date=now - 160 * DAY_MS,
        build=_build(rng, now, age_days=9),
        license=_license(rng, now, users=100, started_days_ago=12, expires_in_days=18, company="Northwind Logistics",
                         contact="Morgan Hale", email=f"it-licensing@{domain}", is_trial=True),
        settings=_settings(
            "chat-dev.northwind.example", "Northwind Chat (dev)",
            log_level="DEBUG",
            file_driver="local",
            ldap_skip_cert_verification=True,  # the test directory has a self-signed certificate
            elasticsearch_url="https://search-dev.northwind.example:9200",
            max_open_conns=100,
            data_source_replicas=0,
            audit_log_file=False,
            developer_mode=True,
        ),
        health=Health(goroutines_ok=True, database_ok=True, filestore_ok=True, running_as_root=False,
                      active_search_backend="elasticsearch"),
        nodes=nodes,
        plugins=plugins,
        plugin_statuses=_plugin_statuses(plugins, nodes),
        jobs=_jobs(rng, now, 3, STANDARD_SCHEDULE),
        teams=_teams(rng, now, DEVELOPMENT_TEAMS, domain, members=71, open_channels=38, private_channels=11,
                     posts=48_306),
        accounts=_accounts(rng, now, domain, ("Morgan", "Hale", "Platform Administrator"), [
            ("devon.park", "Devon", "Park", "Software Engineer"),
            ("alex.rivera", "Alex", "Rivera", "QA Engineer"),
        ]),
        usage=_usage(rng, now, active=64, inactive=9, dau=21, mau=47, posts=48_306, posts_per_weekday=160,
                     nodes=1, replicas=0, files=1_204, avg_file_mb=0.9, webhooks=(11, 4, 6)),
    )


_BUILDERS = {"healthy": _healthy, "degraded": _degraded, "large": _large, "development": _development}
