"""Mattermost's own packet files (metadata.yaml, diagnostics.yaml, stats.yaml, jobs.yaml, plugins.json), written
from what the dashboard collected, so tools that read Mattermost packets (and `python -m health --packet`) read
ours too. Field names follow the server's model.SupportPacket* types."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import yaml

from collectors.base import Snapshot
from collectors.mattermost_models import Job, MattermostFacts

# jobs.yaml keys and the job type each lists (model.SupportPacketJobList).
JOB_LISTS = {
    "ldap_sync_jobs": "ldap_sync",
    "data_retention_jobs": "data_retention",
    "message_export_jobs": "message_export",
    "elastic_post_indexing_jobs": "elasticsearch_post_indexing",
    "elastic_post_aggregation_jobs": "elasticsearch_post_aggregation",
    "migration_jobs": "migrations",
}
RECENT_JOBS = 5


def _yaml(data: dict[str, Any]) -> bytes:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode()


def _job(job: Job) -> dict[str, Any]:
    def when(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {"id": job.id, "type": job.type, "create_at": when(job.created_at), "start_at": when(job.started_at),
            "last_activity_at": when(job.last_activity_at), "status": job.status, "progress": job.progress,
            "data": {"error": job.error} if job.error else {}}


def _diagnostics(facts: MattermostFacts, snapshot: Snapshot) -> dict[str, Any]:
    lic, server, counts = facts.license, facts.server, facts.counts
    database = snapshot.data("database")
    ldap = snapshot.data("ldap")
    search = snapshot.data("elasticsearch")
    diagnostics: dict[str, Any] = {
        "version": 2,
        "license": {"company": lic.company or "", "users": lic.seats or 0, "sku_short_name": lic.sku_short_name or "",
                    "is_trial": lic.is_trial} if lic and lic.is_licensed else {},
        "server": {"version": server.version or "", "build_hash": server.build_hash or ""},
        "database": {"type": "postgres",
                     "version": database.server.text if database else "",
                     "schema_version": str(database.schema_version.version) if database and database.schema_version
                     else (server.schema_version or ""),
                     "master_connections": counts.master_db_connections or 0,
                     "replica_connections": counts.read_db_connections or 0},
        "file_store": {"file_status": "OK" if server.filestore_status == "OK" else "FAIL"},
        "websocket": {"connections": counts.websocket_connections or 0},
        "cluster": {"number_of_nodes": max(len(facts.cluster_nodes), 1)},
    }
    if ldap is not None:
        diagnostics["ldap"] = {"status": "OK", "server_name": ldap.vendor or "unknown",
                               "server_version": ldap.vendor_version or "unknown"}
    if search is not None:
        diagnostics["elastic"] = {"backend": search.distribution or "", "server_version": search.version or "",
                                  "server_plugins": sorted({p.component for p in search.plugins})}
    return diagnostics


def members(snapshot: Snapshot, generated_at: datetime) -> dict[str, bytes]:
    """The Mattermost-format files for what the snapshot holds (none when the API was not reached)."""
    facts: MattermostFacts | None = snapshot.data("mattermost")
    if facts is None:
        return {}
    counts = facts.counts
    files = {
        "metadata.yaml": _yaml({"version": 1, "type": "support-packet",
                                "generated_at": int(generated_at.timestamp() * 1000),
                                "server_version": facts.server.version or "",
                                "server_id": facts.server.diagnostic_id or ""}),
        "diagnostics.yaml": _yaml(_diagnostics(facts, snapshot)),
        "stats.yaml": _yaml({key: value for key, value in {
            "registered_users": (counts.active_users + counts.inactive_users
                                 if counts.active_users is not None and counts.inactive_users is not None else None),
            "active_users": counts.active_users, "daily_active_users": counts.daily_active_users,
            "monthly_active_users": counts.monthly_active_users, "deactivated_users": counts.inactive_users,
            "posts": counts.posts, "channels": counts.channels, "teams": counts.teams,
            "slash_commands": counts.slash_commands, "incoming_webhooks": counts.incoming_webhooks,
            "outgoing_webhooks": counts.outgoing_webhooks}.items() if value is not None}),
        "jobs.yaml": _yaml({key: [_job(j) for j in facts.jobs if j.type == kind][:RECENT_JOBS]
                            for key, kind in JOB_LISTS.items()}),
    }
    if facts.plugins:
        files["plugins.json"] = json.dumps({
            "enabled": [{"id": p.id, "name": p.name, "version": p.version} for p in facts.plugins if p.enabled],
            "disabled": [{"id": p.id, "name": p.name, "version": p.version} for p in facts.plugins if not p.enabled],
        }, indent=2).encode()
    return files
