"""The health page's view of a Snapshot: KPI tiles, tables and source lines, free of any UI library."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from collectors.base import Snapshot, SourceResult, SourceStatus
from collectors.mattermost_models import MattermostFacts

STATUS_WORDS = {
    SourceStatus.OK: "ok",
    SourceStatus.DEGRADED: "partly collected",
    SourceStatus.ERROR: "error",
    SourceStatus.NOT_CONFIGURED: "not configured",
    SourceStatus.FORBIDDEN: "limited rights",
}


@dataclass(frozen=True)
class Kpi:
    label: str
    value: str
    help: str | None = None
    delta: str | None = None
    delta_color: str = "normal"  # "normal" | "inverse" | "off"


def _number(value: int | None) -> str:
    return "n/a" if value is None else f"{value:,}"


def _ratio(part: int | None, whole: int | None) -> str | None:
    if part is None or not whole:
        return None
    return f"{part / whole:.0%}"


def kpis(facts: MattermostFacts, now: datetime | None = None) -> list[Kpi]:
    now = now or datetime.now(UTC)
    server, counts, lic = facts.server, facts.counts, facts.license
    build = ", ".join(filter(None, [f"build {server.build_number}" if server.build_number else None,
                                    f"hash {server.build_hash[:10]}" if server.build_hash else None]))
    tiles = [
        Kpi("Version", server.version or "unknown", help=build or None),
        Kpi("Edition", facts.edition.split(" (")[0], help=facts.edition),
    ]
    if lic is None:
        tiles.append(Kpi("License", "unknown", help=facts.missing.get("License")))
    elif not lic.is_licensed:
        tiles.append(Kpi("License", "none", help="No license is installed."))
    else:
        days = lic.days_left(now)
        expires = lic.expires_at.date().isoformat() if lic.expires_at else "unknown"
        tiles.append(Kpi(
            "License days left", "n/a" if days is None else f"{days:,}",
            help=f"{lic.sku_name or lic.sku_short_name or 'License'} for {lic.licensee or lic.company or 'unknown'}"
                 f", expires {expires}" + (" (trial)" if lic.is_trial else ""),
            delta="expired" if days is not None and days < 0 else (
                "expires soon" if days is not None and days <= 30 else None),
            delta_color="inverse",
        ))
    seats = lic.seats if lic and lic.is_licensed else None
    tiles.append(Kpi(
        "Users", _number(counts.registered_users),
        help=(f"{_number(counts.active_users)} active, {_number(counts.inactive_users)} deactivated"
              + (f"; {seats:,} licensed seats" if seats else "")),
        delta=(f"{_ratio(counts.active_users, seats)} of seats" if seats and counts.active_users else None),
        # Over the licensed seats is bad news, so the arrow turns red; under it is just information.
        delta_color="inverse" if seats and (counts.active_users or 0) > seats else "off",
    ))
    tiles.append(Kpi(
        "DAU / MAU", f"{_number(counts.daily_active_users)} / {_number(counts.monthly_active_users)}",
        help="Users active in the last day / 31 days (Status.LastActivityAt).",
        delta=(f"stickiness {_ratio(counts.daily_active_users, counts.monthly_active_users)}"
               if _ratio(counts.daily_active_users, counts.monthly_active_users) else None),
        delta_color="off",
    ))
    tiles.append(Kpi("Posts", _number(counts.posts),
                     help="From Mattermost's analytics; on v11 a materialized view refreshed by a job, so it can lag."))
    tiles.append(Kpi("Teams", _number(counts.teams)))
    tiles.append(Kpi("Channels", _number(counts.channels),
                     help=f"{_number(counts.public_channels)} public, {_number(counts.private_channels)} private"))
    return tiles


def _date(value: datetime | None) -> str:
    return value.date().isoformat() if value else "unknown"


def server_facts(facts: MattermostFacts) -> pd.DataFrame:
    server = facts.server
    rows = [
        ("Site name", server.site_name), ("Site URL", server.site_url), ("Version", server.version),
        ("Build number", server.build_number), ("Build hash", server.build_hash),
        ("Enterprise build hash", server.build_hash_enterprise), ("Build date", server.build_date),
        ("Edition", facts.edition), ("Database schema version", server.schema_version),
        ("Search backend", server.search_backend), ("Server ID", server.diagnostic_id),
    ]
    return pd.DataFrame([(k, v or "unknown") for k, v in rows], columns=["Fact", "Value"])


def license_facts(facts: MattermostFacts) -> pd.DataFrame:
    lic = facts.license
    if lic is None:
        rows = [("License", facts.missing.get("License", "unknown"))]
    elif not lic.is_licensed:
        rows = [("License", "none installed")]
    else:
        enabled = sorted(name for name, on in lic.features.items() if on)
        rows = [
            ("SKU", lic.sku_name or lic.sku_short_name or "unknown"), ("Licensed to", lic.licensee or "unknown"),
            ("Company", lic.company or "unknown"), ("Contact", lic.email or "unknown"),
            ("Seats", f"{lic.seats:,}" if lic.seats else "unknown"), ("Issued", _date(lic.issued_at)),
            ("Starts", _date(lic.starts_at)), ("Expires", _date(lic.expires_at)),
            ("Trial", "yes" if lic.is_trial else "no"),
            ("Features", ", ".join(enabled) or "none reported"),
        ]
    return pd.DataFrame(rows, columns=["Fact", "Value"])


def source_lines(snapshot: Snapshot, labels: dict[str, str]) -> list[tuple[SourceResult, str]]:
    """One line per source: its status word, timing and the sentence that says what to do."""
    lines = []
    for name, result in snapshot.sources.items():
        label = labels.get(name, name)
        text = f"**{label}**: {STATUS_WORDS[result.status]}"
        if result.status not in (SourceStatus.NOT_CONFIGURED,):
            text += f" ({result.elapsed_ms:,.0f} ms)"
        if result.error:
            text += f". {result.error}"
        lines.append((result, text))
    return lines


@dataclass(frozen=True)
class SourceSummary:
    problems: list[tuple[SourceResult, str]]  # one line each, worst first
    collected: str | None  # one line naming every source that answered fully
    not_configured: list[str]  # labels


_PROBLEM_ORDER = {SourceStatus.ERROR: 0, SourceStatus.FORBIDDEN: 1, SourceStatus.DEGRADED: 2}


def source_summary(snapshot: Snapshot, labels: dict[str, str]) -> SourceSummary:
    """Problems get a line each; healthy sources share one line, so the page leads with what needs doing."""
    lines = dict(zip(snapshot.sources, source_lines(snapshot, labels), strict=True))
    problems = sorted((lines[name] for name, r in snapshot.sources.items() if r.status in _PROBLEM_ORDER),
                      key=lambda pair: _PROBLEM_ORDER[pair[0].status])
    ok = [f"{labels.get(name, name)} ({r.elapsed_ms:,.0f} ms)" for name, r in snapshot.sources.items()
          if r.status is SourceStatus.OK]
    off = [labels.get(name, name) for name, r in snapshot.sources.items() if r.status is SourceStatus.NOT_CONFIGURED]
    return SourceSummary(problems, "**Collected**: " + " · ".join(ok) if ok else None, off)


def plugins_table(facts: MattermostFacts) -> pd.DataFrame:
    hostnames = {node.id: node.hostname for node in facts.cluster_nodes}
    rows = []
    for plugin in facts.plugins:
        running = sum(node.state == "running" for node in plugin.nodes)
        # A disabled plugin is expected not to run; only an enabled one that does not is a problem.
        problems = "; ".join(
            f"{hostnames.get(node.node_id, node.node_id)}: {node.state}" + (f" ({node.error})" if node.error else "")
            for node in plugin.nodes if plugin.enabled and node.state != "running")
        if not plugin.enabled:
            state = "disabled"
        elif not plugin.nodes:
            state = "enabled (no status reported)"
        else:
            state = f"running on {running}/{len(plugin.nodes)} nodes"
        rows.append({"Healthy": plugin.healthy, "Plugin": plugin.name, "ID": plugin.id,
                     "Version": plugin.version or "", "State": state, "Problems": problems})
    return pd.DataFrame(rows, columns=["Healthy", "Plugin", "ID", "Version", "State", "Problems"])


def cluster_table(facts: MattermostFacts) -> pd.DataFrame:
    rows = [{"Hostname": n.hostname, "IP address": n.ip_address, "Version": n.version,
             "Schema version": n.schema_version, "Config hash": n.config_hash, "Node ID": n.id}
            for n in facts.cluster_nodes]
    return pd.DataFrame(rows, columns=["Hostname", "IP address", "Version", "Schema version", "Config hash",
                                       "Node ID"])


def cluster_notes(facts: MattermostFacts) -> list[str]:
    """Facts about the node list a reader should not have to spot by eye."""
    nodes = facts.cluster_nodes
    notes = []
    if len({n.version for n in nodes}) > 1:
        notes.append("Nodes run different versions: " + ", ".join(sorted({n.version for n in nodes})) + ".")
    if len({n.config_hash for n in nodes}) > 1:
        notes.append("Nodes have different configuration hashes: their config.json files differ.")
    return notes


def jobs_table(facts: MattermostFacts) -> pd.DataFrame:
    rows = [{"Type": job.type, "Status": job.status, "Error": job.error or "", "Created": job.created_at,
             "Last activity": job.last_activity_at, "Progress %": job.progress}
            for job in facts.jobs]
    return pd.DataFrame(rows, columns=["Type", "Status", "Error", "Created", "Last activity", "Progress %"])


def server_unhealthy(facts: MattermostFacts) -> bool:
    """Mattermost's own ping says something is wrong (any status other than OK that it reported)."""
    server = facts.server
    return any(value not in (None, "OK") for value in (server.status, server.database_status,
                                                         server.filestore_status))


def server_status_line(facts: MattermostFacts) -> str:
    server = facts.server
    parts = [f"Server {server.status or 'unknown'}",
             f"database {server.database_status or 'unknown'}",
             f"file store {server.filestore_status or 'unknown'}",
             f"search backend {server.search_backend or 'unknown'}"]
    return " · ".join(parts)
