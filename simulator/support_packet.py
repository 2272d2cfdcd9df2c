"""Mattermost's own support packet for a scenario.

`build_packet` makes the zip GET /api/v4/system/support_packet answers on v9.11 and later (metadata.yaml,
stats.yaml, jobs.yaml, plugins.json, per node diagnostics.yaml, sanitized_config.json and mattermost.log, plugin
contributions, warning.txt); `build_legacy_packet` the layout of servers 5.32 to 9.10 (support_packet.yaml), so
readers can be tested against both. Field names and layout follow the server's model.SupportPacket* types.

The facts the scenario model does not carry (hardware, versions of Go, Postgres, Elasticsearch and the LDAP
server) are fixed here, sized by the number of users.
"""

from __future__ import annotations

import io
import json
import random
import re
import time
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from simulator.api.plugins import manifest_json
from simulator.ids import new_id
from simulator.metrics_model import node_families
from simulator.model import ClusterNode, Job, Plugin, Scenario
from simulator.sanitize import sanitize_config
from simulator.server_config import build_config
from simulator.server_log import GO_VERSION, node_build_hash, node_log, node_started_ms, notifications_log

DIAGNOSTICS_VERSION = 2  # model.CurrentSupportPacketVersion in v11
METADATA_VERSION = 1
POSTGRES_VERSION = "16.4"
ELASTICSEARCH_VERSION = "8.15.3"
ELASTICSEARCH_PLUGINS = ("analysis-icu",)
LDAP_VENDOR = ("389 Project", "389-Directory/2.4.5 B2024.064.0000")
INSTALLATION_TYPE = "docker"
# A v9.5 ESR server: the last releases that wrote support_packet.yaml.
LEGACY_SERVER_VERSION = "9.5.12"
LEGACY_SCHEMA_VERSION = "117"
RECENT_JOBS = 5  # runs per job type in jobs.yaml
LEGACY_RECENT_JOBS = 2

# jobs.yaml keys (model.SupportPacketJobList) and the job type each lists.
JOB_LISTS = (
    ("ldap_sync_jobs", "ldap_sync"),
    ("data_retention_jobs", "data_retention"),
    ("message_export_jobs", "message_export"),
    ("elastic_post_indexing_jobs", "elasticsearch_post_indexing"),
    ("elastic_post_aggregation_jobs", "elasticsearch_post_aggregation"),
    ("migration_jobs", "migrations"),
)
# support_packet.yaml job keys, in the order the legacy struct declares them (the typo is Mattermost's).
LEGACY_JOB_LISTS = (
    ("data_retention_jobs", "data_retention"),
    ("message_export_jobs", "message_export"),
    ("elastic_post_indexing_jobs", "elasticsearch_post_indexing"),
    ("elastic_post_aggregation_jobs", "elasticsearch_post_aggregation"),
    ("bleve_post_indexin_jobs", "bleve_post_indexing"),
    ("ldap_sync_jobs", "ldap_sync"),
    ("migration_jobs", "migrations"),
    ("compliance_jobs", "compliance"),
)
# The "FeatureFlags" block the server adds to sanitized_config.json.
FEATURE_FLAGS: dict[str, Any] = {
    "TestFeature": "off",
    "TestBoolFeature": False,
    "EnableRemoteClusterService": False,
    "AppsEnabled": False,
    "PermalinkPreviews": False,
    "NormalizeLdapDNs": False,
    "WysiwygEditor": False,
    "OnboardingTourTips": True,
    "DeprecateCloudFree": False,
    "CloudReverseTrial": False,
    "EnableExportDirectDownload": False,
    "MoveThreadsEnabled": False,
    "StreamlinedMarketplace": True,
    "CloudIPFiltering": False,
    "ConsumePostHook": False,
    "CloudAnnualRenewals": False,
    "CloudDedicatedExportUI": False,
    "ChannelBookmarks": True,
    "WebSocketEventScope": True,
    "NotificationMonitoring": True,
    "ExperimentalAuditSettingsSystemConsoleUI": True,
    "CustomProfileAttributes": True,
    "AttributeBasedAccessControl": True,
    "ContentFlagging": False,
}
# detectSAMLProviderType: the first marker found in the lower-cased IdpDescriptorURL names the provider. Kept
# apart from collectors/saml_models.py on purpose: a test double that shared the product's table could not catch
# a mistake in it.
SAML_PROVIDERS = (
    (("login.microsoftonline.com", "sts.windows.net"), "Azure AD"),
    ((".okta.com", ".oktapreview.com"), "Okta"),
    ((".auth0.com",), "Auth0"),
    ((".onelogin.com",), "OneLogin"),
    (("accounts.google.com",), "Google Workspace"),
    (("sso.jumpcloud.com",), "JumpCloud"),
    (("duo.com/saml2",), "Duo"),
    ((".centrify.com",), "Centrify"),
    (("/realms/",), "Keycloak"),
    (("/adfs/", "/federationmetadata/"), "ADFS"),
    (("shibboleth.net", "/idp/shibboleth"), "Shibboleth"),
)
# Host sizes by active users: (up to users, CPU cores, RAM in MB), per Mattermost's scaling guidance.
HOST_SIZES = ((2_000, 4, 16_384), (20_000, 8, 32_768), (100_000, 16, 65_536))
LARGEST_HOST = (32, 131_072)
ZIP_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Host:
    cpu_cores: int
    total_memory_mb: int


def host_for(scenario: Scenario) -> Host:
    for users, cores, memory in HOST_SIZES:
        if scenario.usage.active_users <= users:
            return Host(cores, memory)
    return Host(*LARGEST_HOST)


def packet_filename(scenario: Scenario, generated_at_ms: int) -> str:
    """Content-Disposition name: mm_support_packet_<company>_<YYYY-MM-DDTHH-MM>.zip."""
    company = scenario.license.company if scenario.license is not None else ""
    stamp = datetime.fromtimestamp(generated_at_ms / 1000, UTC).strftime("%Y-%m-%dT%H-%M")
    return f"mm_support_packet_{_safe_file_name(company)}_{stamp}.zip"


def build_packet(scenario: Scenario, config: dict[str, Any], *, include_logs: bool = True,
                 generated_at_ms: int | None = None) -> bytes:
    """The current-format packet, as the node answering the request (the first node) assembles it."""
    now = int(time.time() * 1000) if generated_at_ms is None else generated_at_ms
    members: dict[str, bytes] = {}
    failures: list[str] = []
    members["metadata.yaml"] = _yaml(_metadata(scenario, now))
    members["stats.yaml"] = _yaml(_stats(scenario))
    members["jobs.yaml"] = _yaml(_job_lists(scenario.jobs))
    if config["PluginSettings"]["Enable"]:
        members["plugins.json"] = _json({
            "enabled": [manifest_json(p) for p in scenario.plugins if p.enabled],
            "disabled": [manifest_json(p) for p in scenario.plugins if not p.enabled],
        })
    else:
        failures.append("failed to get plugin list for Support Packet: Plugins have been disabled. "
                        "Please check your logs for details.")
    sanitized = _packet_config(scenario, config)
    clustered = bool(config["ClusterSettings"]["Enable"]) and len(scenario.nodes) > 1
    host = host_for(scenario)
    usual_hash = max({n.config_hash for n in scenario.nodes}, key=lambda h: sum(n.config_hash == h
                                                                                 for n in scenario.nodes))
    for index, node in enumerate(scenario.nodes if clustered else scenario.nodes[:1]):
        prefix = f"{node.hostname}/" if clustered else ""
        process = process_sample(scenario, index, now)
        members[prefix + "diagnostics.yaml"] = _yaml(_diagnostics(scenario, config, node, index, host, clustered,
                                                                  process, now))
        members[prefix + "sanitized_config.json"] = _json(
            sanitized if node.config_hash == usual_hash else drifted_config(sanitized))
        members[prefix + "goroutines"] = _goroutine_dump(process["goroutines"])
        if not include_logs:
            continue
        if config["LogSettings"]["EnableFile"]:
            members[prefix + "mattermost.log"] = node_log(scenario, config, node, host.cpu_cores)
        else:
            failures.append("failed to read mattermost log file: Unable to retrieve mattermost logs because "
                            "LogSettings.EnableFile is set to false")
    for plugin in scenario.plugins:
        contribution = _plugin_diagnostics(scenario, plugin)
        if plugin.enabled and contribution is not None:
            members[f"{plugin.id}/diagnostics.yaml"] = _yaml(contribution)
    if failures:
        members["warning.txt"] = _warning(failures)
    return _zip(members, now)


def build_legacy_packet(scenario: Scenario, config: dict[str, Any], *, generated_at_ms: int | None = None,
                        server_version: str = LEGACY_SERVER_VERSION,
                        schema_version: str = LEGACY_SCHEMA_VERSION) -> bytes:
    """The packet of a server between 5.32 and 9.10: support_packet.yaml and the files next to it."""
    now = int(time.time() * 1000) if generated_at_ms is None else generated_at_ms
    node = scenario.nodes[0]
    host = host_for(scenario)
    members = {
        "support_packet.yaml": _yaml(_legacy_facts(scenario, config, server_version, schema_version)),
        "plugins.json": _json({
            "active": [manifest_json(p) for p in scenario.plugins if p.enabled],
            "inactive": [manifest_json(p) for p in scenario.plugins if not p.enabled],
        }),
        # Partial DSN redaction came with v11; older servers masked the whole DSN.
        "sanitized_config.json": _json({**sanitize_config(config, scenario.plugins), "FeatureFlags": FEATURE_FLAGS}),
        "mattermost.log": node_log(scenario, config, node, host.cpu_cores),
        "notifications.log": notifications_log(scenario, node),
    }
    return _zip(members, now)


def write_legacy_packet(path: Path, scenario: Scenario, config: dict[str, Any] | None = None, **options: Any) -> Path:
    """Write a legacy packet for `scenario` to `path` (options as for build_legacy_packet)."""
    path.write_bytes(build_legacy_packet(scenario, config if config is not None else build_config(scenario),
                                         **options))
    return path


def zip_chunks(data: bytes) -> list[bytes]:
    """The packet in the pieces a streamed answer sends."""
    return [data[i:i + ZIP_CHUNK] for i in range(0, len(data), ZIP_CHUNK)]


# ------------------------------------------------------------------------------------------- workspace files

def _metadata(s: Scenario, now: int) -> dict[str, Any]:
    lic = s.license
    return {
        "version": METADATA_VERSION,
        "type": "support-packet",
        "generated_at": now,
        "server_version": s.build.version,
        "server_id": s.diagnostic_id,
        "license_id": lic.id if lic is not None else "",
        "customer_id": new_id(random.Random(f"customer/{lic.company}")) if lic is not None else "",
    }


def _stats(s: Scenario) -> dict[str, Any]:
    u = s.usage
    return {
        "registered_users": u.active_users + u.inactive_users,
        "active_users": u.active_users,
        "daily_active_users": u.daily_active_users,
        "monthly_active_users": u.monthly_active_users,
        "deactivated_users": u.inactive_users,
        "guests": 0,
        "single_channel_guests": u.single_channel_guests,
        "bot_accounts": s.bot_accounts,
        "posts": u.total_posts,
        "channels": s.open_channels + s.private_channels,
        "teams": len(s.teams),
        "slash_commands": u.commands,
        "incoming_webhooks": u.incoming_webhooks,
        "outgoing_webhooks": u.outgoing_webhooks,
    }


def _job_lists(jobs: tuple[Job, ...]) -> dict[str, list[dict[str, Any]]]:
    return {key: [_job_yaml(j) for j in _newest(jobs, job_type, RECENT_JOBS)] for key, job_type in JOB_LISTS}


def _newest(jobs: tuple[Job, ...], job_type: str, count: int) -> list[Job]:
    return [j for j in jobs if j.type == job_type][:count]  # the scenario keeps jobs newest first


def _job_yaml(job: Job) -> dict[str, Any]:
    """Job.MarshalYAML: the API's epoch milliseconds become RFC 3339 times."""
    return {"id": job.id, "type": job.type, "priority": job.priority, "create_at": _rfc3339(job.create_at),
            "start_at": _rfc3339(job.start_at), "last_activity_at": _rfc3339(job.last_activity_at),
            "status": job.status, "progress": job.progress, "data": dict(job.data)}


def _packet_config(s: Scenario, config: dict[str, Any]) -> dict[str, Any]:
    return {**sanitize_config(config, s.plugins, partially_redact_data_sources=True), "FeatureFlags": FEATURE_FLAGS}


# ------------------------------------------------------------------------------------------------ per node

def process_sample(s: Scenario, index: int, now_ms: int) -> dict[str, int]:
    """The node's open and maximum file descriptors and goroutines now, as its /metrics would show them."""
    wanted = {"mattermost_process_open_fds": "open_fds", "mattermost_process_max_fds": "max_fds",
              "go_goroutines": "goroutines"}
    sample: dict[str, int] = {}
    for family in node_families(s, index, [now_ms / 1000]):
        if family.name in wanted:
            sample[wanted[family.name]] = int(family.series[0].values[0])
    return sample


def drifted_config(sanitized: dict[str, Any]) -> dict[str, Any]:
    """The configuration of a node that missed the last edit: its own log level and a stale setting."""
    drifted = json.loads(json.dumps(sanitized))
    drifted["LogSettings"]["FileLevel"] = "DEBUG"
    drifted["ServiceSettings"]["MaximumPayloadSizeBytes"] = 100_000_000
    return drifted


def _goroutine_dump(count: int) -> bytes:
    """runtime/pprof's goroutine profile with debug=2: one stanza per goroutine."""
    stanza = ("goroutine {n} [select]:\ngithub.com/mattermost/mattermost/server/v8/channels/app.(*Server).Start."
              "func1()\n\t/mattermost/server/channels/app/server.go:1042 +0x1a5\n\n")
    return "".join(stanza.format(n=n + 1) for n in range(count)).encode()


def _diagnostics(s: Scenario, config: dict[str, Any], node: ClusterNode, index: int, host: Host,
                 clustered: bool, process: dict[str, int], now_ms: int) -> dict[str, Any]:
    count = len(s.nodes) if clustered else 1
    sql, files, ldap = config["SqlSettings"], config["FileSettings"], config["LdapSettings"]
    lic = s.license
    license_block: dict[str, Any] = {"company": lic.company if lic else "", "users": lic.users if lic else 0,
                                     "sku_short_name": lic.sku_short_name if lic else ""}
    if lic is not None and lic.is_trial:
        license_block["is_trial"] = True
    if lic is not None and lic.is_gov_sku:
        license_block["is_gov_sku"] = True
    if lic is not None:  # v12
        license_block.update({"is_non_production": False, "is_cloud": False, "expires_at": lic.expires_at,
                              "is_seat_count_enforced": False, "extra_users": 0})
    started = node_started_ms(s, node)
    master = _share(s.usage.master_db_connections, count, index)
    in_use = max(1, master // 4)
    diagnostics: dict[str, Any] = {
        "version": DIAGNOSTICS_VERSION,
        "license": license_block,
        "server": {
            "os": "linux",
            "architecture": "amd64",
            "cpu_cores": host.cpu_cores,
            "total_memory_mb": host.total_memory_mb,
            "hostname": node.hostname,
            "version": node.version,
            "build_hash": node_build_hash(s, node),
            "installation_type": INSTALLATION_TYPE,
            "process_id": 1,
            "go_version": GO_VERSION,
            "started_at": _rfc3339(started),
            "host_started_at": _rfc3339(started - random.Random(f"{node.id}/boot").randint(2, 90) * 86_400_000),
            "open_file_descriptors": process["open_fds"],
            "max_file_descriptors": process["max_fds"],
        },
        "config": {"store_type": "database"},
        "database": {
            "type": sql["DriverName"],
            "version": POSTGRES_VERSION,
            "schema_version": node.schema_version,
            "master_connections": master,
            "replica_connections": _share(s.usage.read_db_connections, count, index),
            "search_connections": 0,
            "master_connections_in_use": in_use,
            "master_connections_idle": master - in_use,
            "master_pool_wait_count": 0,
            "master_pool_wait_duration_ms": 0,
        },
        # v12 fixed the "erorr" key of v11.
        "file_store": {"file_status": "OK" if s.health.filestore_ok else "FAIL",
                       **({} if s.health.filestore_ok else {"error": _file_store_error(files)}),
                       "file_driver": files["DriverName"]},
        "websocket": {"connections": _share(s.usage.websocket_connections, count, index)},
        "cluster": {"id": _cluster_id(s) if clustered else "", "number_of_nodes": count if clustered else 0,
                    "is_leader": index == 0},
        "notifications": {"email": {"status": "OK" if config["EmailSettings"]["SendEmailNotifications"]
                                    else "disabled"},
                          "push": {"status": "OK" if config["EmailSettings"]["SendPushNotifications"]
                                   else "disabled"}},
    }
    if ldap["Enable"] or ldap["EnableSync"]:
        diagnostics["ldap"] = _ldap_probe(s)
    saml = config["SamlSettings"]
    diagnostics["saml"] = {"provider_type": _saml_provider(saml["IdpDescriptorURL"]) if saml["Enable"] else "",
                           "status": "OK" if saml["Enable"] else "disabled"}
    if lic is not None and lic.features.get("Elasticsearch"):
        diagnostics["elastic"] = {"backend": config["ElasticsearchSettings"]["Backend"],
                                  "server_version": ELASTICSEARCH_VERSION,
                                  "server_plugins": list(ELASTICSEARCH_PLUGINS), "status": "OK"}
    else:
        diagnostics["elastic"] = {"status": "disabled"}
    diagnostics["oauth_providers"] = {
        name: {"status": "ok" if config[section]["Enable"] else "disabled"}
        for name, section in (("gitlab", "GitLabSettings"), ("google", "GoogleSettings"),
                              ("office365", "Office365Settings"), ("openid", "OpenIdSettings"))}
    return diagnostics


def _share(total: int, parts: int, index: int) -> int:
    """Node `index`'s part of a cluster total; the parts add up to the total exactly."""
    base, extra = divmod(total, parts)
    return base + (1 if index < extra else 0)


def _cluster_id(s: Scenario) -> str:
    return new_id(random.Random(f"cluster/{s.diagnostic_id}"))


def _file_store_error(files: dict[str, Any]) -> str:
    if files["DriverName"] == "amazons3":
        return (f"unable to check if the S3 bucket exists: Access Denied (bucket {files['AmazonS3Bucket']}, "
                f"region {files['AmazonS3Region']})")
    return f"unable to write to {files['Directory']}: permission denied"


def _ldap_probe(s: Scenario) -> dict[str, Any]:
    """ldap.RunTest: fails the way the latest finished LDAP sync failed; the vendor comes from the root DSE."""
    finished = [j for j in s.jobs if j.type == "ldap_sync" and j.status in ("success", "error", "warning")]
    if finished and finished[0].status == "error":
        return {"status": "FAIL", "error": finished[0].data.get("error", "")}
    return {"status": "OK", "server_name": LDAP_VENDOR[0], "server_version": LDAP_VENDOR[1]}


def _saml_provider(url: str) -> str:
    lowered = url.lower()
    return next((name for markers, name in SAML_PROVIDERS if any(m in lowered for m in markers)), "unknown")


# ------------------------------------------------------------------------------------ plugin contributions

def _plugin_diagnostics(s: Scenario, plugin: Plugin) -> dict[str, Any] | None:
    """What the GenerateSupportData hook of the plugins that implement it returns, sized by the user base."""
    rng = random.Random(f"{s.name}/{plugin.id}/support")
    users = s.usage.active_users
    values = plugin.config_values
    if plugin.id == "playbooks":
        total = 4 + users // 250
        return {"version": plugin.version, "total_playbooks": total, "active_playbooks": max(1, total * 7 // 10),
                "total_playbook_runs": total * rng.randint(6, 20)}
    if plugin.id == "com.mattermost.calls":
        return {"version": plugin.version, "total_calls": s.usage.monthly_active_users * rng.randint(2, 6),
                "total_active_calls": rng.randint(0, 2 + users // 2000),
                "total_active_sessions": rng.randint(0, 6 + users // 500),
                "avg_duration": rng.randint(600, 2400), "avg_participants": rng.randint(2, 6)}
    if plugin.id == "jira":
        return {"version": plugin.version, "instance_count": 1, "server_instance_count": 1, "cloud_instance_count": 0,
                "subscription_count": rng.randint(5, 40 + users // 100), "connected_user_count": users // 9}
    if plugin.id in ("github", "com.github.manland.mattermost-plugin-gitlab"):
        configured = bool(values.get("githuboauthclientsecret") or values.get("gitlaboauthclientsecret"))
        return {"version": plugin.version, "connected_user_count": users // 12, "is_oauth_configured": configured}
    if plugin.id == "mattermost-ai":
        ai = values.get("config") or {}
        services = ai.get("services") or []
        return {"version": plugin.version, "total_agents": len(ai.get("bots") or []),
                "total_llm_services": len(services),
                "llm_service_types": sorted({str(svc.get("type", "")) for svc in services}),
                "mcp_enabled": False, "total_mcp_servers": 0, "enabled_mcp_servers": 0,
                "enable_llm_trace": bool(ai.get("enableLLMTrace"))}
    return None


# ------------------------------------------------------------------------------------------------- legacy

def _legacy_facts(s: Scenario, config: dict[str, Any], server_version: str, schema_version: str) -> dict[str, Any]:
    """model.SupportPacket as the v8/v9 server filled it: cluster totals from the standard analytics."""
    u, lic = s.usage, s.license
    facts: dict[str, Any] = {
        "server_os": "linux",
        "server_architecture": "amd64",
        "server_version": server_version,
        "build_hash": s.build.build_hash,
        "database_type": config["SqlSettings"]["DriverName"],
        "database_version": POSTGRES_VERSION,
        "database_schema_version": schema_version,
        "websocket_connections": u.websocket_connections,
        "master_db_connections": u.master_db_connections,
        "read_db_connections": u.read_db_connections,
        "cluster_id": _cluster_id(s) if len(s.nodes) > 1 else "",
        "file_driver": config["FileSettings"]["DriverName"],
        "file_status": "OK" if s.health.filestore_ok else "FAIL",
    }
    ldap = config["LdapSettings"]
    if (ldap["Enable"] or ldap["EnableSync"]) and _ldap_probe(s)["status"] == "OK":
        facts["ldap_vendor_name"], facts["ldap_vendor_version"] = LDAP_VENDOR
    if lic is not None and lic.features.get("Elasticsearch"):
        facts["elastic_server_version"] = ELASTICSEARCH_VERSION
        facts["elastic_server_plugins"] = list(ELASTICSEARCH_PLUGINS)
    facts["license_to"] = lic.company if lic is not None else ""
    if lic is not None:
        facts["license_supported_users"] = lic.users
        if lic.is_trial:
            facts["license_is_trial"] = True
    facts.update({
        "active_users": u.active_users,
        "daily_active_users": u.daily_active_users,
        "monthly_active_users": u.monthly_active_users,
        "inactive_user_count": u.inactive_users,
        "total_posts": u.total_posts,
        "total_channels": s.open_channels + s.private_channels,
        "total_teams": len(s.teams),
    })
    for key, job_type in LEGACY_JOB_LISTS:
        facts[key] = [_legacy_job(j) for j in _newest(s.jobs, job_type, LEGACY_RECENT_JOBS)]
    return facts


def _legacy_job(job: Job) -> dict[str, Any]:
    """model.Job before it had MarshalYAML: yaml.v3 lower-cases the Go field names, times stay epoch ms."""
    return {"id": job.id, "type": job.type, "priority": job.priority, "createat": job.create_at,
            "startat": job.start_at, "lastactivityat": job.last_activity_at, "status": job.status,
            "progress": job.progress, "data": dict(job.data)}


# ------------------------------------------------------------------------------------------------ encoding

def _yaml(value: Any) -> bytes:
    # yaml.v3 indents by four and keeps the struct's field order.
    return yaml.dump(value, Dumper=yaml.CSafeDumper, sort_keys=False, indent=4, allow_unicode=True,
                     default_flow_style=False).encode()


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=4, ensure_ascii=False).encode()


def _warning(failures: list[str]) -> bytes:
    """go-multierror's format, which the server writes to warning.txt."""
    points = "\n\t".join(f"* {f}" for f in failures)
    noun = "error" if len(failures) == 1 else "errors"
    return f"{len(failures)} {noun} occurred:\n\t{points}\n\n".encode()


def _zip(members: dict[str, bytes], now_ms: int) -> bytes:
    stamp = datetime.fromtimestamp(now_ms / 1000, UTC).timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def _rfc3339(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _safe_file_name(name: str) -> str:
    """Path separators and characters file systems refuse become underscores."""
    return re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", name).strip() or "unknown"
