"""Tables for the directory, single sign-on and search panels of the health page (no UI library here)."""

from __future__ import annotations

import pandas as pd

from collectors.database_models import DatabaseFacts
from collectors.elasticsearch_models import SearchEngineFacts
from collectors.ldap_models import LdapFacts
from collectors.saml_models import SamlFacts

FACT_COLUMNS = ["Fact", "Value"]


def _rows(pairs: list[tuple[str, object]]) -> pd.DataFrame:
    return pd.DataFrame([(k, "unknown" if v is None or v == "" else str(v)) for k, v in pairs], columns=FACT_COLUMNS)


def _ms(value: float | None) -> str | None:
    return None if value is None else f"{value:,.0f} ms"


def size(value: int | None) -> str | None:
    if value is None:
        return None
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return None


def ldap_table(facts: LdapFacts) -> pd.DataFrame:
    vendor = " ".join(filter(None, [facts.vendor, facts.vendor_version])) or None
    return _rows([
        ("Server", facts.url), ("Security", facts.security + (f" ({facts.tls_version})" if facts.tls_version else "")),
        ("Vendor", vendor), ("LDAP versions", ", ".join(map(str, facts.supported_ldap_versions))),
        ("Naming contexts", ", ".join(facts.naming_contexts)),
        ("Base DN", facts.base_dn + ("" if facts.base_dn_exists is not False else " (not found)")),
        ("Bind", f"{facts.bind_result.value}" + (f" as {facts.bind_dn}" if facts.bind_dn else "")),
        ("Users", facts.users), ("Groups", facts.groups),
        ("Bind time", _ms(facts.bind_ms)), ("Query time", _ms(facts.query_ms)), ("Counting time", _ms(facts.count_ms)),
    ])


def saml_table(facts: SamlFacts) -> pd.DataFrame:
    return _rows([
        ("Metadata URL", facts.metadata_url), ("Provider", facts.provider_type), ("Entity ID", facts.entity_id),
        ("Sign-on bindings", ", ".join(facts.sso_bindings)),
        ("Sign-on URL", next((s.location for s in facts.sso_services if s.location), None)),
        ("Metadata signed", "yes" if facts.metadata_signed else "no"),
        ("Metadata valid until", facts.valid_until.date().isoformat() if facts.valid_until else "no limit given"),
        ("NameID formats", ", ".join(f.rsplit(":", 1)[-1] for f in facts.name_id_formats)),
    ])


def saml_certificates(facts: SamlFacts) -> pd.DataFrame:
    rows = [{"Subject": c.subject, "Issuer": "self-signed" if c.self_signed else c.issuer,
             "Expires": c.not_after.date().isoformat(), "Days left": c.days_to_expiry,
             "Key": f"{c.key_type} {c.key_size or ''}".strip(), "Signature hash": c.signature_hash or "",
             "SHA-256 fingerprint": c.sha256_fingerprint} for c in facts.signing_certificates]
    return pd.DataFrame(rows, columns=["Subject", "Issuer", "Expires", "Days left", "Key", "Signature hash",
                                       "SHA-256 fingerprint"])


def search_table(facts: SearchEngineFacts) -> pd.DataFrame:
    icu = {True: "installed", False: "missing", None: None}[facts.has_analysis_icu]
    return _rows([
        ("Server", facts.url), ("Product", " ".join(filter(None, [facts.distribution, facts.version])) or None),
        ("Cluster", facts.cluster_name), ("Health", facts.health_status),
        ("Nodes", f"{facts.nodes} ({facts.data_nodes} data)" if facts.nodes is not None else None),
        ("Unassigned shards", facts.unassigned_shards), ("analysis-icu", icu),
        ("Mattermost indexes", len(facts.indexes)), ("Documents", f"{facts.total_docs:,}" if facts.total_docs
                                                     is not None else None),
        ("Size on disk", size(facts.total_size_bytes)),
        ("JVM heap used", ", ".join(f"{h.node}: {h.heap_used_percent}%" for h in facts.heap
                                    if h.heap_used_percent is not None)),
    ])


def search_indexes(facts: SearchEngineFacts, limit: int = 15) -> pd.DataFrame:
    biggest = sorted(facts.indexes, key=lambda i: i.size_bytes or 0, reverse=True)[:limit]
    rows = [{"Index": i.name, "Kind": i.kind, "Health": i.health or "", "Documents": i.docs_count,
             "Size": size(i.size_bytes) or "", "Shards": f"{i.primaries or '?'} × {1 + (i.replicas or 0)}"}
            for i in biggest]
    return pd.DataFrame(rows, columns=["Index", "Kind", "Health", "Documents", "Size", "Shards"])


def database_table(facts: DatabaseFacts) -> pd.DataFrame:
    stats = facts.statistics
    schema = facts.schema_version
    conns = facts.connections
    return _rows([
        ("Server", facts.target), ("PostgreSQL", facts.server.text), ("Connected as", facts.role),
        ("Mattermost schema", f"{schema.version} ({schema.name})" if schema else None),
        ("Database size", size(facts.size_bytes)),
        ("Connections", f"{conns.total} of {conns.usable} usable ({conns.used_ratio:.0%})" if conns else None),
        ("Cache hit ratio", f"{stats.cache_hit_ratio:.2%}" if stats.cache_hit_ratio is not None else None),
        ("Deadlocks", stats.deadlocks), ("Temporary files", f"{stats.temp_files:,} ({size(stats.temp_bytes)})"),
        ("Rollbacks", f"{stats.rollbacks:,} of {stats.commits + stats.rollbacks:,} transactions"),
        ("Active sessions (Mattermost)", f"{facts.active_sessions:,}" if facts.active_sessions is not None else None),
        ("Replication", facts.replication.summary if facts.replication else None),
    ])


def largest_tables(facts: DatabaseFacts) -> pd.DataFrame:
    rows = [{"Table": t.name, "Total size": size(t.total_bytes), "Indexes": size(t.index_bytes),
             "Rows (estimated)": t.estimated_rows} for t in facts.largest_tables]
    return pd.DataFrame(rows, columns=["Table", "Total size", "Indexes", "Rows (estimated)"])


def slow_activity(facts: DatabaseFacts) -> pd.DataFrame:
    """The longest query, lock waits and idle transactions: what an admin looks at when things are slow."""
    rows = []
    if facts.longest_query is not None:
        q = facts.longest_query
        rows.append({"What": "longest running query", "Seconds": round(q.duration_s, 1), "Who": q.application_name
                     or q.username or "", "Detail": q.query})
    for wait in facts.lock_waits or ():
        rows.append({"What": f"waiting on a lock (blocked by {', '.join(map(str, wait.blocked_by))})",
                     "Seconds": round(wait.waiting_s or 0, 1), "Who": wait.application_name or "",
                     "Detail": wait.query})
    idle = facts.idle_in_transaction
    if idle is not None and idle.count:
        rows.append({"What": f"{idle.count} idle in transaction", "Seconds": round(idle.longest_s or 0, 1),
                     "Who": idle.longest_application or "", "Detail": f"longest: pid {idle.longest_pid}"})
    return pd.DataFrame(rows, columns=["What", "Seconds", "Who", "Detail"])


def top_channels(facts: DatabaseFacts) -> pd.DataFrame:
    rows = [{"Channel": c.display_name or c.name, "Team": c.team_display_name or c.team_name,
             "Type": "public" if c.type == "O" else "private", "Messages": c.messages} for c in facts.top_channels]
    return pd.DataFrame(rows, columns=["Channel", "Team", "Type", "Messages"])


def top_teams(facts: DatabaseFacts) -> pd.DataFrame:
    rows = [{"Team": t.display_name or t.name, "Messages": t.messages, "Channels": t.channels}
            for t in facts.top_teams]
    return pd.DataFrame(rows, columns=["Team", "Messages", "Channels"])
