"""Tables for the directory, single sign-on and search panels of the health page (no UI library here)."""

from __future__ import annotations

import pandas as pd

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
