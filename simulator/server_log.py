"""The log files of one simulated node, as Mattermost's file target writes them with LogSettings.FileJson:
one JSON object per line with timestamp, level, msg and caller first.

Every line is derived from the scenario: the node's start-up (version, licence, plugins), the jobs it ran,
and what the scenario says is broken (failing file store, failed jobs, a plugin that did not start). Lines
below LogSettings.FileLevel are left out, as the server does.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from simulator.ids import new_id
from simulator.model import PLUGIN_FAILED_TO_START, ClusterNode, Job, Scenario

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
GO_VERSION = "go1.24.6"
LEVELS = ("debug", "info", "warn", "error")

# The job worker that picks up each job type; logged with every job line.
_WORKERS = {
    "ldap_sync": "EnterpriseLdapSync",
    "data_retention": "EnterpriseDataRetention",
    "message_export": "MessageExportWorker",
    "elasticsearch_post_indexing": "EnterpriseElasticsearchIndexer",
    "elasticsearch_post_aggregation": "EnterpriseElasticsearchAggregator",
    "refresh_materialized_views": "RefreshMaterializedViews",
    "active_users": "ActiveUsers",
    "product_notices": "ProductNotices",
    "cleanup_desktop_tokens": "CleanupDesktopTokens",
    "mobile_session_metadata": "MobileSessionMetadata",
    "migrations": "Migrations",
    "export_process": "ExportProcess",
}
_S3_ACCESS_DENIED = ("unable to write the file: AccessDenied: Access Denied\n\tstatus code: 403, "
                     "request id: 4Q7K2N1XG8B5R0TD")
_LINK_HOSTS = ("www.youtube.com", "docs.google.com", "github.com", "www.linkedin.com", "vimeo.com")


@dataclass(frozen=True)
class _Line:
    at_ms: int
    level: str
    msg: str
    caller: str
    fields: dict[str, Any] = field(default_factory=dict)

    def render(self) -> str:
        dt = datetime.fromtimestamp(self.at_ms / 1000, UTC)
        stamp = f"{dt:%Y-%m-%d %H:%M:%S}.{dt.microsecond // 1000:03d} Z"
        return json.dumps({"timestamp": stamp, "level": self.level, "msg": self.msg, "caller": self.caller,
                           **self.fields}, separators=(",", ":"), ensure_ascii=False)


def node_started_ms(scenario: Scenario, node: ClusterNode) -> int:
    """When the node's process started; nodes restart at different times (rolling restarts, crashes)."""
    rng = random.Random(f"{scenario.name}/{node.id}/uptime")
    return scenario.now_ms - rng.randint(30 * 60, 72 * 60) * MINUTE_MS


def node_build_hash(scenario: Scenario, node: ClusterNode) -> str:
    """The git commit a node's binary was built from: a node left on another version runs another build."""
    if node.version == scenario.build.version:
        return scenario.build.build_hash
    return hashlib.sha1(f"mattermost {node.version}".encode(), usedforsecurity=False).hexdigest()


def node_for_job(scenario: Scenario, job: Job) -> ClusterNode:
    """The node whose job server picked the job up: any node may, so spread them by id."""
    return scenario.nodes[sum(map(ord, job.id)) % len(scenario.nodes)]


def node_log(scenario: Scenario, config: dict[str, Any], node: ClusterNode, cpu_cores: int) -> bytes:
    """mattermost.log of `node`, from its last start until the scenario's clock."""
    rng = random.Random(f"{scenario.name}/{node.id}/log")
    started = node_started_ms(scenario, node)
    lines = [*_startup(scenario, config, node, started, cpu_cores, rng), *_job_lines(scenario, node, started)]
    lines += _activity(scenario, started, rng)
    level = str(config["LogSettings"]["FileLevel"]).lower()
    threshold = LEVELS.index(level) if level in LEVELS else 0  # TRACE and unknown levels keep everything
    kept = sorted((ln for ln in lines if LEVELS.index(ln.level) >= threshold), key=lambda ln: ln.at_ms)
    return "".join(ln.render() + "\n" for ln in kept).encode()


def notifications_log(scenario: Scenario, node: ClusterNode) -> bytes:
    """notifications.log (servers before v9.11 wrote it next to mattermost.log): push notifications sent."""
    rng = random.Random(f"{scenario.name}/{node.id}/notifications")
    started = node_started_ms(scenario, node)
    lines = []
    at = started + rng.randint(1, 30) * MINUTE_MS
    while at < scenario.now_ms:
        lines.append(_Line(at, "info", "Notification sent", "app/notification_push.go:534", {
            "plugin_id": "", "type": "push", "ack_id": new_id(rng), "status": "Sent",
            "device_id": f"android_rn-v2:{new_id(rng)}", "post_id": new_id(rng), "user_id": new_id(rng)}))
        at += rng.randint(5, 90) * MINUTE_MS
    return "".join(ln.render() + "\n" for ln in lines).encode()


def _startup(scenario: Scenario, config: dict[str, Any], node: ClusterNode, at: int, cpu_cores: int,
             rng: random.Random) -> list[_Line]:
    b = scenario.build
    build_hash = node_build_hash(scenario, node)

    def step(level: str, msg: str, caller: str, **fields: Any) -> _Line:
        nonlocal at
        at += rng.randint(3, 400)
        return _Line(at, level, msg, caller, fields)

    lines = [
        step("info", "Server is initializing...", "app/server.go:274", go_version=GO_VERSION),
        step("info", f"Current version is {node.version} ({node.version}/{b.build_date}/{build_hash}/"
                     f"{b.build_hash_enterprise})", "app/server.go:520", current_version=node.version,
             build_number=node.version, build_date=b.build_date, build_hash=build_hash,
             build_hash_enterprise=b.build_hash_enterprise, service_environment="production"),
        step("info", "Enterprise Build", "app/server.go:530", enterprise_build=b.enterprise_ready),
        step("info", "Printing current working directory", "app/server.go:536", cwd="/mattermost"),
        step("info", "Loaded config", "app/server.go:537", source="database"),
        step("info", "Pinging SQL", "sqlstore/store.go:268", database="master"),
        step("debug", "Loaded system translations", "i18n/i18n.go:68", for_locale="en"),
        step("info", "Starting websocket hubs", "platform/web_hub.go:106", number_of_hubs=cpu_cores * 2),
    ]
    if scenario.license is not None:
        lines.append(step("info", "License key valid unlocking enterprise features.", "app/license.go:95",
                          license_id=scenario.license.id, sku_short_name=scenario.license.sku_short_name))
    if len(scenario.nodes) > 1:
        cluster = config["ClusterSettings"]
        lines.append(step("info", "Cluster is starting", "cluster/cluster.go:181",
                          cluster_name=cluster["ClusterName"], node_id=node.id, hostname=node.hostname,
                          gossip_port=cluster["GossipPort"]))
    lines.append(step("info", "Starting up plugins", "app/plugin.go:218"))
    failures = {(s.plugin_id, s.node_id): s.error for s in scenario.plugin_statuses
                if s.state == PLUGIN_FAILED_TO_START}
    for plugin in scenario.plugins:
        if not plugin.enabled:
            continue
        error = failures.get((plugin.id, node.id))
        if error is not None:
            lines.append(step("error", "Unable to activate plugin", "app/plugin.go:186", plugin_id=plugin.id,
                              error=error))
        else:
            lines.append(step("info", "Plugin activated", "plugin/environment.go:393", plugin_id=plugin.id,
                              version=plugin.version))
    lines += [
        step("info", "Starting workers", "jobs/workers.go:47"),
        step("info", "Starting schedulers.", "jobs/schedulers.go:97"),
        step("info", "Starting Server...", "app/server.go:1204"),
        step("info", "Server is listening on [::]:8065", "app/server.go:1330", address="[::]:8065"),
    ]
    return lines


def _job_lines(scenario: Scenario, node: ClusterNode, started: int) -> list[_Line]:
    lines: list[_Line] = []
    for job in scenario.jobs:
        if job.create_at < started or node_for_job(scenario, job) != node:
            continue
        fields = {"worker": _WORKERS.get(job.type, job.type), "job_id": job.id}
        lines.append(_Line(job.create_at, "debug", "Worker: Received a new candidate job.", "jobs/base_workers.go:81",
                           dict(fields)))
        if job.status == "pending":
            continue
        lines.append(_Line(job.start_at, "info", "Worker: Job is running", "jobs/base_workers.go:104", dict(fields)))
        if job.status == "success":
            lines.append(_Line(job.last_activity_at, "info", "Worker: Job is complete", "jobs/base_workers.go:117",
                               dict(fields)))
        elif job.status == "error":
            lines.append(_Line(job.last_activity_at, "error", "Worker: Job has failed", "jobs/base_workers.go:127",
                               {**fields, "error": job.data.get("error", "")}))
        elif job.status == "canceled":
            lines.append(_Line(job.last_activity_at, "info", "Worker: Job has been canceled via CancellationSignal.",
                               "jobs/base_workers.go:122", dict(fields)))
        elif job.status == "cancel_requested":
            lines.append(_Line(job.last_activity_at, "warn", "Worker: Job cancellation requested, waiting for the "
                               "worker to stop", "jobs/base_workers.go:110", dict(fields)))
    return lines


def _activity(scenario: Scenario, started: int, rng: random.Random) -> list[_Line]:
    """What a busy node logs between jobs: link previews that fail, websockets that close, and, when the
    scenario's file store is down, every upload that fails."""
    lines: list[_Line] = []
    users = [a.id for a in scenario.accounts]
    at = started + rng.randint(1, 20) * MINUTE_MS
    while at < scenario.now_ms:
        roll = rng.random()
        if roll < 0.04:
            host = rng.choice(_LINK_HOSTS)
            lines.append(_Line(at, "warn", "Failed to fetch OpenGraph data for a link preview", "app/opengraph.go:96",
                               {"request_url": f"https://{host}/", "error": "context deadline exceeded"}))
        elif not scenario.health.filestore_ok and roll < 0.12:
            lines.append(_Line(at, "error", "Unable to upload file", "app/file.go:1012", {
                "user_id": rng.choice(users), "path": f"{_day(at)}/teams/noteam/channels/{new_id(rng)}/users/"
                f"{rng.choice(users)}/{new_id(rng)}/image.png", "error": _S3_ACCESS_DENIED}))
        elif roll < 0.55:
            lines.append(_Line(at, "debug", "websocket.NextReader: client side closed socket",
                               "platform/web_conn.go:830", {"user_id": rng.choice(users), "conn_id": new_id(rng)}))
        else:
            lines.append(_Line(at, "debug", "Sending push notification", "app/notification_push.go:151",
                               {"type": "message", "ack_id": new_id(rng), "user_id": rng.choice(users)}))
        at += rng.randint(2, 9) * MINUTE_MS + rng.randint(0, MINUTE_MS)
    return lines


def _day(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, UTC).strftime("%Y%m%d")
